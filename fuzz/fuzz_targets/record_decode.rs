//! `Record::decode` on arbitrary input.
//!
//! Properties, for every input:
//! - decoding never panics (non-UTF-8 bytes are decoded lossily, so they still exercise
//!   the parser: a store can hand back any string);
//! - a decoded record re-encodes to at most 160 bytes, and decoding that gives the same
//!   record back; encoding is then a fixed point;
//! - a decoded record is possible: `attempts <= max_attempts`, `1 <= max_attempts <= 1000`,
//!   `expires_at > created_at`, every timestamp at most `MAX_TIME`;
//! - the wire form is canonical: an input without whitespace that decodes is exactly the
//!   encoding of what it decodes to (no two spellings of one record without whitespace).
#![no_main]

use edge_otp::{Record, MAX_TIME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match std::str::from_utf8(data) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(data),
    };
    let Ok(record) = Record::decode(&text) else {
        return;
    };
    check(&record);
    let wire = record.encode();
    assert!(wire.len() <= 160, "{} bytes: {wire}", wire.len());
    assert!(wire.is_ascii(), "{wire}");
    let again = Record::decode(&wire).unwrap_or_else(|e| panic!("{wire} -> {e:?}"));
    assert_eq!(again, record, "{wire}");
    assert_eq!(again.encode(), wire);
    let has_ws = text
        .bytes()
        .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if !has_ws {
        assert_eq!(wire, text, "two spellings of one record");
    }
});

fn check(r: &Record) {
    assert!(r.attempts() <= r.max_attempts(), "{r:?}");
    assert!((1..=1000).contains(&r.max_attempts()), "{r:?}");
    assert!(r.expires_at() > r.created_at(), "{r:?}");
    assert!(r.expires_at() <= MAX_TIME, "{r:?}");
}
