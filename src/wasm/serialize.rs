//! The serde [`Serializer`](ser::Serializer) every answer goes through: serde-wasm-bindgen's,
//! except that structs become plain JS objects here, with their field names' JS strings
//! kept in a short list, and so are the unit variants' names (the fixed words of the
//! answers: statuses, reasons, event types; `answers::word`).
//!
//! serde-wasm-bindgen's own struct serialiser keeps those strings in a `HashMap` keyed by
//! the name's address (`static_str_to_js`), and that map's code (hashbrown) was 1.9 KB of
//! the 42 KB gzip Worker bundle, more than any feature of the engine. The package has a
//! few dozen field names, so a list scanned by address does the same job. Every other value
//! (numbers, strings, booleans, `null`, the JS values passed through
//! `serde_wasm_bindgen::preserve`, sequences) is still serialised by serde-wasm-bindgen.
//! Keeping the words' strings made `check`'s verdict 12 % and `getLatestOtp` 9 % faster,
//! and setting each field with the kept name rather than a clone of it `getLatestOtp` 3-13 %
//! (`bench/compare-calls.mjs`, session 7).
//!
//! Sequences, maps and newtypes are handed to serde-wasm-bindgen whole, so a struct inside
//! one of them (a `Vec` of structs, say) would be serialised by serde-wasm-bindgen's own
//! struct serialiser, and its hash map would come back (the answers have none such; the
//! size budget in `bench/budgets.mjs` would show it).

use core::cell::RefCell;
use js_sys::JsString;
use serde::ser::{self, Serialize};
use serde_wasm_bindgen::{Error, Serializer};
use std::vec::Vec;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Any JS object, for `object[key] = value` (no `Reflect.set` call, no exception
    /// handling: the objects are fresh plain objects).
    type Target;

    #[wasm_bindgen(method, indexing_setter)]
    fn set(this: &Target, key: &JsString, value: JsValue);
}

std::thread_local! {
    /// The JS string of each field name serialised so far, by the name's address and
    /// length (field names are `&'static str`s).
    static NAMES: RefCell<Vec<(usize, usize, JsString)>> = const { RefCell::new(Vec::new()) };
}

/// The JS string for a field name, created once.
fn name(key: &'static str) -> JsString {
    let id = (key.as_ptr() as usize, key.len());
    let cached = NAMES.try_with(|names| {
        let mut names = names.try_borrow_mut().ok()?;
        if let Some((_, _, s)) = names.iter().find(|(a, l, _)| (*a, *l) == id) {
            return Some(s.clone());
        }
        let s = JsString::from(key);
        names.push((id.0, id.1, s.clone()));
        Some(s)
    });
    // Not reachable on wasm32 (one thread, no re-entry), but never a panic.
    cached.ok().flatten().unwrap_or_else(|| JsString::from(key))
}

/// `target[key] = value`, with the field name's JS string from the list (borrowed, not
/// cloned: a clone is one more externref-table slot taken and given back per field).
fn set_field(target: &Target, key: &'static str, value: JsValue) {
    let id = (key.as_ptr() as usize, key.len());
    let mut value = Some(value);
    let _ = NAMES.try_with(|names| {
        let Ok(mut names) = names.try_borrow_mut() else {
            return;
        };
        let i = match names.iter().position(|(a, l, _)| (*a, *l) == id) {
            Some(i) => i,
            None => {
                names.push((id.0, id.1, JsString::from(key)));
                names.len() - 1
            }
        };
        if let Some(v) = value.take() {
            target.set(&names[i].2, v);
        }
    });
    // Not reachable on wasm32 (one thread, no re-entry), but never a panic.
    if let Some(v) = value {
        target.set(&JsString::from(key), v);
    }
}

/// serde-wasm-bindgen's serializer, with structs built by [`Object`].
#[derive(Clone, Copy)]
pub(crate) struct Answers<'s>(pub &'s Serializer);

type Inner<'s> = &'s Serializer;
type Out = Result<JsValue, Error>;

/// Methods handed to serde-wasm-bindgen as they are (answering a value, or what it
/// answers after `->`).
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        $(fn $method(self, $($arg: $ty),*) -> forward!(@ret $($ret)?) {
            ser::Serializer::$method(self.0, $($arg),*)
        })*
    };
    (@ret) => { Out };
    (@ret $ret:ty) => { Result<$ret, Error> };
}

impl<'s> ser::Serializer for Answers<'s> {
    type Ok = JsValue;
    type Error = Error;
    type SerializeSeq = <Inner<'s> as ser::Serializer>::SerializeSeq;
    type SerializeTuple = <Inner<'s> as ser::Serializer>::SerializeTuple;
    type SerializeTupleStruct = <Inner<'s> as ser::Serializer>::SerializeTupleStruct;
    type SerializeTupleVariant = <Inner<'s> as ser::Serializer>::SerializeTupleVariant;
    type SerializeMap = <Inner<'s> as ser::Serializer>::SerializeMap;
    type SerializeStruct = Object<'s>;
    type SerializeStructVariant = <Inner<'s> as ser::Serializer>::SerializeStructVariant;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(len: usize) -> Self::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize)
            -> Self::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize)
            -> Self::SerializeStructVariant;
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Out {
        Ok(name(variant).into())
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Out {
        value.serialize(self)
    }

    // `serde_wasm_bindgen::preserve` is a newtype struct that serde-wasm-bindgen knows.
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Out {
        self.0.serialize_newtype_struct(name, value)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Out {
        self.0
            .serialize_newtype_variant(name, index, variant, value)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Object<'s>, Error> {
        Ok(Object {
            serializer: self,
            target: js_sys::Object::new().unchecked_into(),
        })
    }
}

/// A struct being serialised: a plain JS object, one property per serialised field.
pub(crate) struct Object<'s> {
    serializer: Answers<'s>,
    target: Target,
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = JsValue;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let value = value.serialize(self.serializer)?;
        set_field(&self.target, key, value);
        Ok(())
    }

    fn end(self) -> Out {
        Ok(self.target.into())
    }
}
