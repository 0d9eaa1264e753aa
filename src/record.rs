//! The stored record: one per (scope, user), versioned, compact, code-free.
//!
//! Wire form (version 1), a JSON array so that any store and any tool can hold it:
//!
//! ```text
//! [1,"<salt: 32 hex>",index,createdAt,expiresAt,attempts,maxAttempts,state,
//!  failuresSince,failures,issuesSince,issues]
//! ```
//!
//! `index` is the position of the current code in the salt's permutation; with the
//! app's secret it gives the code, without it nothing. `state` is 0 (active),
//! 1 (used) or 2 (revoked). Times are milliseconds since the Unix epoch.
//!
//! The codec is written by hand rather than with serde_json: the record is one flat
//! array of integers and a hex string, and the JSON machinery would more than double the
//! shipped `.wasm`. The decoder is strict (exact field count, integers only, no
//! duplicates possible) and fuzzed.

use crate::code::SALT_LEN;
use crate::error::DecodeError;
use crate::policy::MAX_ATTEMPTS;
use crate::time::{Millis, MAX_TIME};
use alloc::string::String;

/// Room [`Record::encode_into`] needs.
pub(crate) const ENCODED_MAX: usize = 256;

/// The version this build writes and reads.
pub const VERSION: u64 = 1;
const FIELDS: usize = 12;

/// What became of the current code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    /// Issued and not yet used or revoked (it may still be expired or out of attempts).
    Active,
    /// Verified once; it never verifies again.
    Used,
    /// Revoked by `invalidate` without a replacement.
    Revoked,
}

/// The state of one (scope, user): the current code's bookkeeping and the rate-limit
/// counters. It never holds a code, nor anything a code can be computed from without
/// the app's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub(crate) salt: [u8; SALT_LEN],
    pub(crate) index: u64,
    pub(crate) created_at: Millis,
    pub(crate) expires_at: Millis,
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
    pub(crate) state: CodeState,
    pub(crate) failures_since: Millis,
    pub(crate) failures: u32,
    pub(crate) issues_since: Millis,
    pub(crate) issues: u32,
}

impl Record {
    /// When the current code was issued.
    pub fn created_at(&self) -> Millis {
        self.created_at
    }
    /// When the current code stops verifying (it verifies while `now < expires_at`).
    pub fn expires_at(&self) -> Millis {
        self.expires_at
    }
    /// Wrong guesses spent on the current code.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
    /// Wrong guesses allowed for the current code.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    /// What became of the current code.
    pub fn state(&self) -> CodeState {
        self.state
    }

    /// The wire form. Deterministic: equal records encode to equal strings, which is what
    /// compare-and-swap stores compare.
    pub fn encode(&self) -> String {
        let mut out = [0u8; ENCODED_MAX];
        let n = self.encode_into(&mut out);
        // Only ASCII was written.
        String::from(core::str::from_utf8(&out[..n]).unwrap_or_default())
    }

    /// [`Record::encode`] into a caller's buffer, without allocating; returns the length.
    /// 256 bytes hold even ten `u64::MAX` fields (249), so no record can index past it.
    pub(crate) fn encode_into(&self, out: &mut [u8; ENCODED_MAX]) -> usize {
        let mut n = 0;
        let mut put = |bytes: &[u8]| {
            out[n..n + bytes.len()].copy_from_slice(bytes);
            n += bytes.len();
        };
        put(b"[1,\"");
        for b in self.salt {
            put(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        put(b"\"");
        let state = match self.state {
            CodeState::Active => 0,
            CodeState::Used => 1,
            CodeState::Revoked => 2,
        };
        let numbers = [
            self.index,
            self.created_at,
            self.expires_at,
            u64::from(self.attempts),
            u64::from(self.max_attempts),
            state,
            self.failures_since,
            u64::from(self.failures),
            self.issues_since,
            u64::from(self.issues),
        ];
        let mut digits = [0u8; 21];
        for v in numbers {
            digits[0] = b',';
            let len = decimal(v, &mut digits[1..]);
            put(&digits[..1]);
            put(&digits[21 - len..]);
        }
        put(b"]");
        n
    }

    /// Parses and checks a stored record. Never panics, whatever the input.
    #[inline(never)] // see `Engine::apply_record`
    pub fn decode(text: &str) -> Result<Record, DecodeError> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        p.expect(b'[')?;
        let version = p.number()?;
        if version != VERSION {
            return Err(DecodeError::UnknownVersion);
        }
        p.expect(b',')?;
        let salt = p.salt()?;
        let mut n = [0u64; FIELDS - 2];
        for slot in n.iter_mut() {
            p.skip_ws();
            match p.peek() {
                Some(b',') => p.i += 1,
                Some(b']') => return Err(DecodeError::FieldCount),
                _ => return Err(DecodeError::Syntax),
            }
            *slot = p.number()?;
        }
        p.skip_ws();
        match p.peek() {
            Some(b']') => p.i += 1,
            Some(b',') => return Err(DecodeError::FieldCount),
            _ => return Err(DecodeError::Syntax),
        }
        p.skip_ws();
        if p.i != p.s.len() {
            return Err(DecodeError::Syntax);
        }
        let [index, created_at, expires_at, attempts, max_attempts, state, failures_since, failures, issues_since, issues] =
            n;
        let small = |v: u64| u32::try_from(v).map_err(|_| DecodeError::OutOfRange);
        for t in [created_at, expires_at, failures_since, issues_since] {
            if t > MAX_TIME {
                return Err(DecodeError::OutOfRange);
            }
        }
        let state = match state {
            0 => CodeState::Active,
            1 => CodeState::Used,
            2 => CodeState::Revoked,
            _ => return Err(DecodeError::OutOfRange),
        };
        let record = Record {
            salt,
            index,
            created_at,
            expires_at,
            attempts: small(attempts)?,
            max_attempts: small(max_attempts)?,
            state,
            failures_since,
            failures: small(failures)?,
            issues_since,
            issues: small(issues)?,
        };
        if record.max_attempts == 0
            || record.max_attempts > MAX_ATTEMPTS
            || record.attempts > record.max_attempts
            || record.expires_at <= record.created_at
            || record.index >= 1 << 60
        {
            return Err(DecodeError::ImpossibleState);
        }
        Ok(record)
    }
}

/// Lowercase hex digits (record fields; the wasm binding's engine-pool keys).
pub(crate) const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `v` in decimal at the end of `buf` (20 bytes) and returns how many digits.
fn decimal(mut v: u64, buf: &mut [u8]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return buf.len() - i;
        }
    }
}

/// Largest integer a JavaScript number holds exactly; no stored number may exceed it.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

/// The digits of a JSON number starting at `s[start]` (a digit), read as a safe integer:
/// no leading zero, no fraction or exponent, at most 2^53 - 1. Answers the value and the
/// index after its last digit. Both record codecs (this one and the TOTP record's) use it.
#[inline(always)]
pub(crate) fn safe_integer(s: &[u8], start: usize) -> Result<(u64, usize), DecodeError> {
    let mut i = start;
    let mut v: u64 = 0;
    while let Some(&c @ b'0'..=b'9') = s.get(i) {
        // 16 digits always fit in u64 without checks (and without the 128-bit multiply a
        // checked one costs on wasm32); more cannot be a safe integer.
        if i - start == 16 {
            return Err(DecodeError::OutOfRange);
        }
        v = v * 10 + u64::from(c - b'0');
        i += 1;
    }
    if s[start] == b'0' && i - start > 1 {
        return Err(DecodeError::Syntax);
    }
    if matches!(s.get(i), Some(b'.' | b'e' | b'E')) {
        return Err(DecodeError::WrongType);
    }
    if v > MAX_SAFE_INTEGER {
        return Err(DecodeError::OutOfRange);
    }
    Ok((v, i))
}

impl Parser<'_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), DecodeError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(DecodeError::Syntax)
        }
    }

    /// A JSON number that must be a non-negative integer of at most 2^53 - 1.
    fn number(&mut self) -> Result<u64, DecodeError> {
        self.skip_ws();
        let start = self.i;
        match self.peek() {
            Some(b'0'..=b'9') => {}
            Some(b'-' | b'.') => return Err(DecodeError::WrongType),
            Some(b'"' | b't' | b'f' | b'n' | b'[' | b'{') => return Err(DecodeError::WrongType),
            _ => return Err(DecodeError::Syntax),
        }
        let (v, end) = safe_integer(self.s, start)?;
        self.i = end;
        Ok(v)
    }

    fn salt(&mut self) -> Result<[u8; SALT_LEN], DecodeError> {
        self.skip_ws();
        match self.peek() {
            Some(b'"') => self.i += 1,
            Some(b'0'..=b'9' | b'-' | b't' | b'f' | b'n' | b'[' | b'{') => {
                return Err(DecodeError::WrongType)
            }
            _ => return Err(DecodeError::Syntax),
        }
        let mut salt = [0u8; SALT_LEN];
        for byte in salt.iter_mut() {
            let hi = self.hex()?;
            let lo = self.hex()?;
            *byte = (hi << 4) | lo;
        }
        if self.peek() != Some(b'"') {
            return Err(DecodeError::Syntax);
        }
        self.i += 1;
        Ok(salt)
    }

    #[inline(always)]
    fn hex(&mut self) -> Result<u8, DecodeError> {
        let v = match self.peek() {
            Some(c @ b'0'..=b'9') => c - b'0',
            Some(c @ b'a'..=b'f') => c - b'a' + 10,
            _ => return Err(DecodeError::Syntax),
        };
        self.i += 1;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_matches_std_formatting_at_every_split() {
        let mut values = vec![
            0,
            9,
            10,
            99_999_999,
            100_000_000,
            100_000_001,
            1_795_486_529_357,
        ];
        values.extend([
            u64::from(u32::MAX) - 1,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
        ]);
        values.extend([
            MAX_TIME,
            MAX_SAFE_INTEGER,
            10_000_000_000_000_000,
            u64::MAX - 1,
            u64::MAX,
        ]);
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        for v in values {
            let mut buf = [0u8; 20];
            let n = decimal(v, &mut buf);
            assert_eq!(&buf[20 - n..], v.to_string().as_bytes(), "{v}");
        }
    }

    fn sample() -> Record {
        Record {
            salt: [0xab; SALT_LEN],
            index: 9_999,
            created_at: 1_732_406_400_000,
            expires_at: 1_732_410_000_000,
            attempts: 2,
            max_attempts: 3,
            state: CodeState::Active,
            failures_since: 1_732_406_400_000,
            failures: 10,
            issues_since: 1_732_406_400_000,
            issues: 5,
        }
    }

    /// The stored text of a known record. Instances of two versions read each other's
    /// records during a rolling deploy, so the format changes only with a new version
    /// number (the first field), which older instances refuse as `UnknownVersion`.
    #[test]
    fn encodes_a_known_record_as_it_always_has() {
        let text = "[1,\"abababababababababababababababab\",9999,1732406400000,1732410000000,2,3,0,1732406400000,10,1732406400000,5]";
        assert_eq!(sample().encode(), text);
        assert_eq!(Record::decode(text).unwrap(), sample());
    }

    #[test]
    fn round_trips_and_stays_compact() {
        let r = sample();
        let s = r.encode();
        assert!(s.len() <= 160, "{} bytes: {s}", s.len());
        assert_eq!(Record::decode(&s).unwrap(), r);
        let spaced = s.replace(',', " , ").replace('[', "[ ");
        assert_eq!(Record::decode(&spaced).unwrap(), r);
    }

    #[test]
    fn worst_case_record_fits_the_budget() {
        let mut r = sample();
        r.index = (1 << 53) - 1;
        for t in [
            &mut r.created_at,
            &mut r.failures_since,
            &mut r.issues_since,
        ] {
            *t = MAX_TIME - 1;
        }
        r.expires_at = MAX_TIME;
        r.max_attempts = MAX_ATTEMPTS;
        r.attempts = MAX_ATTEMPTS;
        r.failures = 1_000_000;
        r.issues = 1_000_000;
        let s = r.encode();
        assert!(s.len() <= 160, "{} bytes", s.len());
        assert_eq!(Record::decode(&s).unwrap(), r);
    }

    fn decode_err(s: &str) -> DecodeError {
        Record::decode(s).expect_err(s)
    }

    #[test]
    fn rejects_every_malformed_shape() {
        let good = sample().encode();
        assert_eq!(decode_err(""), DecodeError::Syntax);
        assert_eq!(decode_err("{}"), DecodeError::Syntax);
        assert_eq!(decode_err("null"), DecodeError::Syntax);
        assert_eq!(
            decode_err(&good.replacen("[1,", "[2,", 1)),
            DecodeError::UnknownVersion
        );
        assert_eq!(
            decode_err(&good.replacen("[1,", "[0,", 1)),
            DecodeError::UnknownVersion
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",\"2\",3,", 1)),
            DecodeError::WrongType
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",2.5,3,", 1)),
            DecodeError::WrongType
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",-2,3,", 1)),
            DecodeError::WrongType
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",2e0,3,", 1)),
            DecodeError::WrongType
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",02,3,", 1)),
            DecodeError::Syntax
        );
        assert_eq!(
            decode_err(&good.replacen(",5]", "]", 1)),
            DecodeError::FieldCount
        );
        assert_eq!(
            decode_err(&good.replacen(",5]", ",5,5]", 1)),
            DecodeError::FieldCount
        );
        assert_eq!(decode_err(&format!("{good}x")), DecodeError::Syntax);
        assert_eq!(decode_err(&good[..good.len() - 1]), DecodeError::Syntax);
        assert_eq!(
            decode_err(&good.replacen("abab", "ABAB", 1)),
            DecodeError::Syntax
        );
        assert_eq!(
            decode_err(&good.replacen("\"abab", "\"ab", 1)),
            DecodeError::Syntax
        );
        assert_eq!(
            decode_err(&good.replacen("[1,\"", "[1,7", 1)),
            DecodeError::WrongType
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",99999999999999999999,3,", 1)),
            DecodeError::OutOfRange
        );
        assert_eq!(
            decode_err(&good.replacen(",2,3,", ",9007199254740992,3,", 1)),
            DecodeError::OutOfRange
        );
    }

    #[test]
    fn rejects_impossible_states() {
        let cases: [fn(&mut Record); 5] = [
            |r| r.attempts = 4,
            |r| r.max_attempts = 0,
            |r| r.max_attempts = MAX_ATTEMPTS + 1,
            |r| r.expires_at = r.created_at,
            |r| r.expires_at = r.created_at - 1,
        ];
        for (i, break_it) in cases.iter().enumerate() {
            let mut r = sample();
            break_it(&mut r);
            let attempts_over = r.attempts > r.max_attempts && r.max_attempts > 0;
            assert_eq!(
                decode_err(&r.encode()),
                DecodeError::ImpossibleState,
                "case {i} (attempts over max: {attempts_over})"
            );
        }
        let mut r = sample();
        r.created_at = MAX_TIME + 1;
        r.expires_at = MAX_TIME + 2;
        assert_eq!(decode_err(&r.encode()), DecodeError::OutOfRange);
        let bad_state = sample().encode().replacen(",3,0,", ",3,3,", 1);
        assert_eq!(decode_err(&bad_state), DecodeError::OutOfRange);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics() {
        let good = sample().encode();
        for cut in 0..good.len() {
            let _ = Record::decode(&good[..cut]);
        }
        for s in [
            "[",
            "[1",
            "[1,",
            "[1,\"",
            "[1,\"\"]",
            "[\u{0}]",
            "[1,\"é\"]",
        ] {
            assert!(Record::decode(s).is_err());
        }
    }
}
