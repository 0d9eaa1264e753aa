//! A measurement, not shipped: the wasm calls of one `verify` through `pkg/slim.js`
//! (`checkArguments(user)`, `check(user, code, record)`, `takeWrite()`), doing no work,
//! once as the package passes them (the user as a JS value to the first, then
//! wasm-bindgen `&str` in and a `String` out, as the boundary issue requires) and once
//! with numbers in their place. The difference is what the string
//! crossings alone cost per operation; `bench/crossing.mjs` sets it beside the no-crypto
//! floor.

use js_sys::JsString;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

// The package's allocator (src/wasm/mod.rs).
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

thread_local! {
    static WRITE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// `checkArguments(user)`: the user crosses as a JS value, of which only the length is
/// read (the package's check copies only a long one).
#[wasm_bindgen(js_name = argsStrings)]
pub fn args_strings(user: &JsValue) -> u32 {
    user.dyn_ref::<JsString>().map_or(0, |s| s.length())
}

/// `check(user, code, record)`: three strings cross in; the record to write is kept.
#[wasm_bindgen(js_name = checkStrings)]
pub fn check_strings(user: &str, code: &str, record: &str) -> u32 {
    WRITE.with(|w| {
        let mut w = w.borrow_mut();
        w.clear();
        w.push_str(record);
    });
    (user.len() + code.len()) as u32
}

/// `takeWrite()`: the record to write crosses out.
#[wasm_bindgen(js_name = takeStrings)]
pub fn take_strings() -> String {
    WRITE.with(|w| w.borrow().clone())
}

/// The same three calls with numbers where the strings were.
#[wasm_bindgen(js_name = argsNumbers)]
pub fn args_numbers(user: u32) -> u32 {
    user
}

/// See [`args_numbers`].
#[wasm_bindgen(js_name = checkNumbers)]
pub fn check_numbers(user: u32, code: u32, record: u32) -> u32 {
    user + code + record
}

/// See [`args_numbers`].
#[wasm_bindgen(js_name = takeNumbers)]
pub fn take_numbers() -> u32 {
    7
}
