//! The WebAssembly binding: the only code that touches wasm-bindgen, js-sys and
//! serde-wasm-bindgen.
//!
//! Each method of the exported [`WasmEngine`] (JS `Engine`) decodes its JS arguments,
//! makes one core call and encodes the answer. The storage await loop stays in JS
//! (`pkg/slim.js`: read, one call here, write with compare-and-swap), because awaiting
//! JS promises from Rust futures costs several times more per operation
//! (`bench/driver-choice.mjs`); no OTP rule lives there.
//!
//! What crosses, and how:
//! - options: read once, with js-sys, own keys only ([`options`]);
//! - user, submitted code, stored record: wasm-bindgen strings. The user is checked on the
//!   JS string first (`checkUser`); the driver copies no stored value or code longer than
//!   [`limits`] says (a 1 MiB input never reaches linear memory): such a stored value is
//!   corrupt (`corruptRecord`), such a code arrives as `undefined`, a wrong guess;
//! - the record to write: a string, taken with `takeWrite()` right after the call;
//! - answers: objects from Rust types with serde ([`answers`]), serialised by
//!   serde-wasm-bindgen with structs built as plain objects by [`serialize`], except
//!   `verify`, `resetAttempts` and `invalidate`, whose answer is a boolean;
//! - errors: the package's `OtpError` class, built here with its code and fields
//!   ([`errors`]); an error thrown by JS code (a getter) is handed back as is.
//!   The engines' operation methods answer one value and report their own errors
//!   through the engine: `undefined` means failure, and `takeError()` hands over the
//!   error ([`answer`]);
//! - the clock: the time the app's `now` function answered when given (JS calls it
//!   outside wasm, so a clock may call back into its manager), else web-time;
//! - salts: getrandom (`crypto.getRandomValues`), drawn only when a new cycle starts.
//!
//! Nothing here panics on any input: with `panic = "abort"` a panic would kill the
//! instance for every later caller.

// The TOTP module (`--no-default-features --features totp-binding`) uses only part of these.
#[cfg_attr(not(feature = "binding"), allow(dead_code))]
mod answers;
#[cfg_attr(not(feature = "binding"), allow(dead_code))]
mod errors;
#[cfg_attr(not(feature = "binding"), allow(dead_code))]
mod options;
mod serialize;
// The one-time-code binding (`Engine`, `configure`): the `edge-otp` module.
#[cfg(feature = "binding")]
mod otp;
// The authenticator-app binding (`TotpEngine`, `configureTotp`): the `edge-otp/totp` module.
#[cfg(feature = "totp-binding")]
mod totp;

use crate::driver::MAX_SUBMITTED_UNITS;
use crate::error::{DecodeError, Error};
use crate::time::{Millis, MAX_TIME};
use core::cell::Cell;
use js_sys::JsString;
use serde::Serialize;
use wasm_bindgen::prelude::*;

// An exception thrown through a wasm method leaves its engine borrowed ("recursive use of
// an object") for every manager sharing it, and leaks shadow stack and externref-table
// slots until the instance fails as a whole: what the engines call in JS must not throw.
#[wasm_bindgen]
extern "C" {
    /// A JS string, for its `String.prototype` methods declared here.
    type Text;
    /// `String.prototype.isWellFormed`: ES2024, absent before Safari 16.4, Chrome 111 and
    /// Firefox 119, where calling it throws ([`well_formed`]).
    #[wasm_bindgen(method, js_name = isWellFormed)]
    fn is_well_formed(this: &Text) -> bool;
    /// The same, caught: [`well_formed`]'s first call, which finds out whether the
    /// runtime has it.
    #[wasm_bindgen(catch, method, js_name = isWellFormed)]
    fn try_is_well_formed(this: &Text) -> Result<bool, JsValue>;
    /// `encodeURIComponent`, which throws a `URIError` exactly for a lone surrogate.
    #[wasm_bindgen(catch, js_name = encodeURIComponent)]
    fn encode_uri_component(s: &JsString) -> Result<JsValue, JsValue>;
}

std::thread_local! {
    /// Whether the runtime has `String.prototype.isWellFormed`, once [`well_formed`] knows.
    static HAS_IS_WELL_FORMED: core::cell::Cell<Option<bool>> = const { core::cell::Cell::new(None) };
}

/// Whether `s` has no lone surrogates: `isWellFormed()` where the runtime has it, else
/// whether `encodeURIComponent` takes it (every runtime has that one).
pub(crate) fn well_formed(s: &JsString) -> bool {
    let text: &Text = s.unchecked_ref();
    match HAS_IS_WELL_FORMED
        .try_with(core::cell::Cell::get)
        .ok()
        .flatten()
    {
        Some(true) => text.is_well_formed(),
        Some(false) => encode_uri_component(s).is_ok(),
        None => {
            let r = text.try_is_well_formed();
            let _ = HAS_IS_WELL_FORMED.try_with(|h| h.set(Some(r.is_ok())));
            r.unwrap_or_else(|_| encode_uri_component(s).is_ok())
        }
    }
}

/// Up to this many UTF-16 units a user id cannot exceed [`crate::MAX_USER_BYTES`] of UTF-8.
const SHORT_USER_UNITS: u32 = (crate::MAX_USER_BYTES / 3) as u32;

/// The time of an operation: `time`, what the app's `now` option answered (JS calls it
/// before the engine call, so a clock may use its own manager; a clock's `undefined`
/// arrives as `null`), or, `undefined` when the app gave no clock, the system clock.
///
/// The system clock is read by web-time, which calls `Date.now()` and panics on a negative
/// answer (fake timers can set one). So `Date.now()` is first read here: a clock web-time
/// cannot read is refused (`INVALID_ARGUMENT`, as a bad `now` option is). A replaced
/// `Date.now` that answers 0 or more here and less on web-time's read still panics
/// (SECURITY.md §6: app code that replaces built-ins is trusted).
fn now(time: &JsValue) -> Result<Millis, JsValue> {
    let t = if time.is_undefined() {
        if js_sys::Date::now() >= 0.0 {
            web_time::SystemTime::now()
                .duration_since(web_time::UNIX_EPOCH)
                .map_or(0.0, |d| {
                    d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_millis())
                })
        } else {
            f64::NAN // a negative Date.now() or NaN: refused below
        }
    } else {
        time.as_f64()
            .ok_or_else(|| errors::argument("now", "the now() option must return a number"))?
    };
    if !(t.is_finite() && t >= 0.0 && t < MAX_TIME as f64) {
        return Err(errors::argument("now", crate::time::NOW_PROBLEM));
    }
    Ok(t as Millis)
}

/// How many reads of per-call options are under way in an engine's methods: app code
/// (getters, Proxy traps) runs during them, and may dispose of the engine's last manager.
/// While one is, the engine's `inUse` is true and pkg/engines.js frees it only once the
/// running JS code is done.
#[derive(Default)]
pub(crate) struct Reads(Cell<u32>);

impl Reads {
    /// `read()`, counted.
    pub(crate) fn during<T>(&self, read: impl FnOnce() -> T) -> T {
        self.0.set(self.0.get().saturating_add(1));
        let r = read();
        self.0.set(self.0.get().saturating_sub(1));
        r
    }

    /// Whether a read is under way.
    pub(crate) fn any(&self) -> bool {
        self.0.get() != 0
    }
}

/// An engine method's answer (both engines' operation methods answer one JS value and
/// report their own errors through `takeError()`): `r`'s value, with `error` cleared, or
/// `undefined` after keeping its error in `error`. One return value crosses, not a
/// `Result`'s two or three slots, which wasm-bindgen's glue reads back through a
/// `DataView` (on Node 20, whose `ArrayBuffer` has no `detached`, each read also asks the
/// memory for its buffer) between two stack-pointer calls.
#[inline(never)]
pub(crate) fn answer(error: &Cell<Option<JsValue>>, r: Result<JsValue, JsValue>) -> JsValue {
    match r {
        Ok(v) => {
            error.set(None);
            v
        }
        Err(e) => {
            error.set(Some(e));
            JsValue::UNDEFINED
        }
    }
}

/// The `OtpError` for a stored value that is not a record string, or is longer than any
/// record (the driver does not copy such a value into wasm: it calls
/// `Engine.corruptRecord()` instead of the operation).
#[wasm_bindgen(js_name = corruptRecord)]
pub fn corrupt_record() -> JsValue {
    errors::from_core(&Error::CorruptRecord(DecodeError::Syntax))
}

/// What a driver copies into wasm, at most (longer values are not copied: a stored value
/// is then corrupt, a submitted code a wrong guess): `{ maxTries, maxRecordUnits,
/// maxCodeUnits }`. JS numbers (u32: serde's u64 path would bring in number formatting
/// for its out-of-range error).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Limits {
    max_tries: u32,
    max_record_units: u32,
    max_code_units: u32,
}

impl Limits {
    /// The limits of a module whose longest stored record is `max_record_units` long.
    pub(crate) fn new(max_record_units: usize) -> Limits {
        let small = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Limits {
            max_tries: small(crate::MAX_TRIES),
            max_record_units: small(max_record_units),
            max_code_units: MAX_SUBMITTED_UNITS,
        }
    }
}

/// An engine fingerprint as the key of pkg/engines.js's pool: 32 lowercase hex digits.
pub(crate) fn pool_key(fingerprint: [u8; 16]) -> String {
    let mut out = String::with_capacity(32);
    for b in fingerprint {
        out.push(char::from(crate::record::HEX[usize::from(b >> 4)]));
        out.push(char::from(crate::record::HEX[usize::from(b & 15)]));
    }
    out
}

/// A submitted code or token as the engines hold it: wiped when dropped (a right guess is
/// the code), and the empty, wrong guess when it was too long to be copied (`None`).
pub(crate) fn submitted(guess: Option<String>) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(guess.unwrap_or_default())
}

/// The problem of a string argument or option with a lone surrogate.
pub(crate) const NOT_WELL_FORMED: &str = "must be well-formed unicode (no lone surrogates)";

/// Checks a user id: a string of 1 to 256 bytes of UTF-8 without lone surrogates, or
/// `INVALID_ARGUMENT` (nothing is copied for a string over the limit); `not_a_string`:
/// the problem when it is not a string.
pub(crate) fn check_user(user: &JsValue, not_a_string: &'static str) -> Result<(), JsValue> {
    let bad = |problem| Err(errors::argument("user", problem));
    let Some(s) = user.dyn_ref::<JsString>() else {
        return bad(not_a_string);
    };
    let units = s.length();
    if units == 0 {
        return bad("must not be empty");
    }
    if units > crate::MAX_USER_BYTES as u32
        || (units > SHORT_USER_UNITS
            && s.as_string().map_or(0, |u| u.len()) > crate::MAX_USER_BYTES)
    {
        return bad(crate::engine::USER_TOO_LONG);
    }
    if !well_formed(s) {
        return bad(NOT_WELL_FORMED);
    }
    Ok(())
}

/// The global allocator. Allocation is rare and small here (option strings, the user,
/// code and record of each call, one record string per write), so a minimal free list
/// does: lol_alloc is about 2.3 KB gzip smaller than dlmalloc (std's), and the memory
/// budget (`bench/budgets.mjs`) checks that linear memory stays flat over 10^6 operations.
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
