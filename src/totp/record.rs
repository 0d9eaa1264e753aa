//! The stored TOTP record: one per (scope, user), versioned, compact, seed-free.
//!
//! Wire form (version `"t1"`), a JSON array like the OTP record, so that any store and
//! any tool can hold it, without spaces:
//!
//! ```text
//! ["t1",state,algorithm,digits,period,enrolledAt,nextStep,failuresSince,failures,
//!  "<sealed seed: base64url>","<recovery hashes: base64url>",recoveryUsed]
//! ```
//!
//! Version `"t2"`, written only while an active enrollment has a replacement waiting for
//! its first code (`enroll(user, { replace: true, keepCurrent: true })`), adds the
//! replacement's fields at the end:
//!
//! ```text
//! ["t2",...the t1 fields...,nextAlgorithm,nextDigits,nextPeriod,nextEnrolledAt,
//!  "<next sealed seed: base64url>"]
//! ```
//!
//! - `state`: 0 pending (no code accepted yet), 1 active.
//! - `algorithm` 1 SHA1, 2 SHA256, 3 SHA512; `digits` 6..=8; `period` in seconds, 1..=300:
//!   the enrollment's own parameters, so that a later policy change does not break it.
//! - `enrolledAt`: ms since the Unix epoch. `nextStep`: the lowest TOTP time step that may
//!   still be accepted (last accepted step + 1; 0 while pending). `failuresSince`,
//!   `failures`: the failure budget's fixed window, as in the OTP record.
//! - sealed seed: `nonce (12) || ChaCha20-Poly1305 ciphertext (10..=64) || tag (16)`,
//!   unpadded base64url (see `keys.rs`).
//! - recovery hashes: 12 bytes per code (16 base64url characters each), 0 to 20 codes;
//!   `recoveryUsed`: a bit mask, bit `i` set when code `i` has been used.
//!
//! The decoder is strict: exact field order and count, no whitespace, integers without
//! leading zeros, canonical base64url, every value in range and consistent, at most
//! [`MAX_RECORD_BYTES`]. It never panics (a property test feeds it arbitrary input).

use super::keys::{MAX_SEALED, MIN_SEALED, RECOVERY_HASH_LEN};
use super::otp::Algorithm;
use crate::error::DecodeError;
use crate::record::safe_integer;
use crate::time::{Millis, MAX_TIME};
use alloc::string::String;
use alloc::vec::Vec;

/// The version tag this build writes for a record without a replacement (it reads it and
/// [`TOTP_VERSION_REPLACING`]).
pub const TOTP_VERSION: &str = "t1";
/// The version tag of a record with a [`Replacement`].
pub const TOTP_VERSION_REPLACING: &str = "t2";
/// Longest record the decoder accepts (the longest one [`TotpRecord::encode`] writes is
/// about 680 bytes: 20 recovery codes, a 64-byte seed and a 64-byte replacement seed).
pub const MAX_RECORD_BYTES: usize = 760;
/// Most recovery codes a record holds.
pub const MAX_RECOVERY_CODES: usize = 20;

/// Where an enrollment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpState {
    /// Enrolled, no code accepted yet.
    Pending,
    /// At least one code accepted.
    Active,
}

/// The state of one (scope, user)'s authenticator enrollment. It holds the seed only
/// sealed, and recovery codes only as keyed hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    pub(crate) state: TotpState,
    pub(crate) algorithm: Algorithm,
    pub(crate) digits: u8,
    pub(crate) period: u16,
    pub(crate) enrolled_at: Millis,
    pub(crate) next_step: u64,
    pub(crate) failures_since: Millis,
    pub(crate) failures: u32,
    pub(crate) sealed: Vec<u8>,
    pub(crate) recovery: Vec<[u8; RECOVERY_HASH_LEN]>,
    pub(crate) recovery_used: u32,
    pub(crate) replacement: Option<Replacement>,
}

/// A new enrollment waiting for its first code while the active one keeps working
/// (`enroll(user, { replace: true, keepCurrent: true })`): a code of it makes it the
/// enrollment, with its own parameters and sealed seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub(crate) algorithm: Algorithm,
    pub(crate) digits: u8,
    pub(crate) period: u16,
    pub(crate) enrolled_at: Millis,
    pub(crate) sealed: Vec<u8>,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub(super) fn b64_encode(bytes: &[u8], out: &mut String) {
    for chunk in bytes.chunks(3) {
        let mut w = [0u8; 3];
        w[..chunk.len()].copy_from_slice(chunk);
        let v = (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((v >> (18 - 6 * i)) & 63) as usize]));
        }
    }
}

fn b64_value(c: u8) -> Result<u32, DecodeError> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return Err(DecodeError::Syntax),
    };
    Ok(u32::from(v))
}

/// Canonical unpadded base64url: no `=`, no length of 1 mod 4, unused low bits zero.
fn b64_decode(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if text.len() % 4 == 1 {
        return Err(DecodeError::Syntax);
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut v = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            v |= b64_value(c)? << (18 - 6 * i);
        }
        let bytes = v.to_be_bytes();
        let n = chunk.len() - 1;
        if v & (0x00ff_ffff >> (8 * n)) != 0 {
            return Err(DecodeError::Syntax);
        }
        out.extend_from_slice(&bytes[1..=n]);
    }
    Ok(out)
}

fn push_number(out: &mut String, v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

impl TotpRecord {
    /// Where the enrollment stands.
    pub fn state(&self) -> TotpState {
        self.state
    }

    /// The algorithm the enrollment was made with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The code length the enrollment was made with.
    pub fn digits(&self) -> u32 {
        u32::from(self.digits)
    }

    /// The time step, in seconds, the enrollment was made with.
    pub fn period_seconds(&self) -> u64 {
        u64::from(self.period)
    }

    /// When the enrollment was made (ms since the Unix epoch).
    pub fn enrolled_at(&self) -> Millis {
        self.enrolled_at
    }

    /// Recovery codes still unused.
    pub fn recovery_codes_left(&self) -> u32 {
        self.recovery.len() as u32 - self.recovery_used.count_ones()
    }

    /// The first step a code may be accepted for (every earlier one is used or too old).
    pub fn next_step(&self) -> u64 {
        self.next_step
    }

    /// Wrong codes counted in the failure window that opened at
    /// [`TotpRecord::failures_since`].
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the current failure window opened (ms since the Unix epoch).
    pub fn failures_since(&self) -> Millis {
        self.failures_since
    }

    /// When the seed enrolled with `keepCurrent` that the record holds was enrolled, if
    /// it holds one (also one already void: it stays until the next write drops it).
    pub fn replacement_enrolled_at(&self) -> Option<Millis> {
        self.replacement.as_ref().map(|r| r.enrolled_at)
    }

    /// The wire form. Deterministic: equal records encode to equal strings, which is what
    /// compare-and-swap stores compare.
    pub fn encode(&self) -> String {
        let mut out =
            String::with_capacity(80 + self.sealed.len() * 4 / 3 + self.recovery.len() * 16);
        out.push_str("[\"");
        out.push_str(match self.replacement {
            None => TOTP_VERSION,
            Some(_) => TOTP_VERSION_REPLACING,
        });
        out.push('"');
        let state = match self.state {
            TotpState::Pending => 0,
            TotpState::Active => 1,
        };
        let numbers = [
            state,
            u64::from(self.algorithm.tag()),
            u64::from(self.digits),
            u64::from(self.period),
            self.enrolled_at,
            self.next_step,
            self.failures_since,
            u64::from(self.failures),
        ];
        for v in numbers {
            out.push(',');
            push_number(&mut out, v);
        }
        out.push_str(",\"");
        b64_encode(&self.sealed, &mut out);
        out.push_str("\",\"");
        for h in &self.recovery {
            b64_encode(h, &mut out);
        }
        out.push_str("\",");
        push_number(&mut out, u64::from(self.recovery_used));
        if let Some(next) = &self.replacement {
            let numbers = [
                u64::from(next.algorithm.tag()),
                u64::from(next.digits),
                u64::from(next.period),
                next.enrolled_at,
            ];
            for v in numbers {
                out.push(',');
                push_number(&mut out, v);
            }
            out.push_str(",\"");
            b64_encode(&next.sealed, &mut out);
            out.push('"');
        }
        out.push(']');
        out
    }

    /// Parses and checks a stored record. Never panics, whatever the input.
    pub fn decode(text: &str) -> Result<TotpRecord, DecodeError> {
        if text.len() > MAX_RECORD_BYTES {
            return Err(DecodeError::Syntax);
        }
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        p.expect(b'[')?;
        let version = p.string()?;
        let replacing = if version == TOTP_VERSION.as_bytes() {
            false
        } else if version == TOTP_VERSION_REPLACING.as_bytes() {
            true
        } else {
            return Err(DecodeError::UnknownVersion);
        };
        let mut n = [0u64; 8];
        for slot in n.iter_mut() {
            p.comma()?;
            *slot = p.number()?;
        }
        p.comma()?;
        let sealed = b64_decode(p.string()?)?;
        p.comma()?;
        let hashes = p.string()?;
        p.comma()?;
        let used = p.number()?;
        let mut next = None;
        if replacing {
            let mut m = [0u64; 4];
            for slot in m.iter_mut() {
                p.comma()?;
                *slot = p.number()?;
            }
            p.comma()?;
            next = Some((m, b64_decode(p.string()?)?));
        }
        match p.peek() {
            Some(b']') => p.i += 1,
            Some(b',') => return Err(DecodeError::FieldCount),
            _ => return Err(DecodeError::Syntax),
        }
        if p.i != p.s.len() {
            return Err(DecodeError::Syntax);
        }

        let [state, algorithm, digits, period, enrolled_at, next_step, failures_since, failures] =
            n;
        let state = match state {
            0 => TotpState::Pending,
            1 => TotpState::Active,
            _ => return Err(DecodeError::OutOfRange),
        };
        let (algorithm, digits, period) = parameters(algorithm, digits, period)?;
        if enrolled_at > MAX_TIME || failures_since > MAX_TIME || next_step > MAX_TIME / 1000 + 1 {
            return Err(DecodeError::OutOfRange);
        }
        let failures = u32::try_from(failures).map_err(|_| DecodeError::OutOfRange)?;
        if !(MIN_SEALED..=MAX_SEALED).contains(&sealed.len()) {
            return Err(DecodeError::OutOfRange);
        }
        let replacement = match next {
            None => None,
            Some(([algorithm, digits, period, enrolled_at], sealed)) => {
                let (algorithm, digits, period) = parameters(algorithm, digits, period)?;
                if enrolled_at > MAX_TIME || !(MIN_SEALED..=MAX_SEALED).contains(&sealed.len()) {
                    return Err(DecodeError::OutOfRange);
                }
                // Only an active enrollment is kept while its replacement waits.
                if state != TotpState::Active {
                    return Err(DecodeError::ImpossibleState);
                }
                Some(Replacement {
                    algorithm,
                    digits,
                    period,
                    enrolled_at,
                    sealed,
                })
            }
        };
        if hashes.len() % 16 != 0 {
            return Err(DecodeError::Syntax);
        }
        if hashes.len() / 16 > MAX_RECOVERY_CODES {
            return Err(DecodeError::OutOfRange);
        }
        let mut recovery = Vec::with_capacity(hashes.len() / 16);
        for chunk in hashes.chunks(16) {
            let bytes = b64_decode(chunk)?;
            let mut h = [0u8; RECOVERY_HASH_LEN];
            h.copy_from_slice(&bytes);
            recovery.push(h);
        }
        // Bits only for codes that exist; nothing accepted while pending.
        if used >> recovery.len() != 0 || (state == TotpState::Pending && next_step != 0) {
            return Err(DecodeError::ImpossibleState);
        }
        Ok(TotpRecord {
            state,
            algorithm,
            digits,
            period,
            enrolled_at,
            next_step,
            failures_since,
            failures,
            sealed,
            recovery,
            recovery_used: used as u32,
            replacement,
        })
    }
}

/// An enrollment's algorithm tag, digits and period, checked.
fn parameters(
    algorithm: u64,
    digits: u64,
    period: u64,
) -> Result<(Algorithm, u8, u16), DecodeError> {
    let algorithm = Algorithm::from_tag(algorithm).ok_or(DecodeError::OutOfRange)?;
    let digits_ok = (u64::from(super::MIN_DIGITS)..=u64::from(super::MAX_DIGITS)).contains(&digits);
    if !digits_ok || !(1..=super::MAX_PERIOD_SECONDS).contains(&period) {
        return Err(DecodeError::OutOfRange);
    }
    Ok((algorithm, digits as u8, period as u16))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), DecodeError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(DecodeError::Syntax)
        }
    }

    /// The separator before another field: `]` here means the record ended early.
    fn comma(&mut self) -> Result<(), DecodeError> {
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(())
            }
            Some(b']') => Err(DecodeError::FieldCount),
            _ => Err(DecodeError::Syntax),
        }
    }

    /// A non-negative integer of at most 2^53 - 1, without leading zeros.
    fn number(&mut self) -> Result<u64, DecodeError> {
        let start = self.i;
        match self.peek() {
            Some(b'0'..=b'9') => {}
            Some(b'-' | b'"' | b't' | b'f' | b'n' | b'[' | b'{') => {
                return Err(DecodeError::WrongType)
            }
            _ => return Err(DecodeError::Syntax),
        }
        let (v, end) = safe_integer(self.s, start)?;
        self.i = end;
        Ok(v)
    }

    /// A string of printable ASCII without escapes; returns its contents.
    fn string(&mut self) -> Result<&'a [u8], DecodeError> {
        match self.peek() {
            Some(b'"') => self.i += 1,
            Some(b'0'..=b'9' | b'-' | b't' | b'f' | b'n' | b'[' | b'{') => {
                return Err(DecodeError::WrongType)
            }
            _ => return Err(DecodeError::Syntax),
        }
        let start = self.i;
        loop {
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') | None => return Err(DecodeError::Syntax),
                Some(c) if !(0x20..0x7f).contains(&c) => return Err(DecodeError::Syntax),
                Some(_) => self.i += 1,
            }
        }
        let s: &'a [u8] = self.s;
        let out = &s[start..self.i];
        self.i += 1;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> TotpRecord {
        TotpRecord {
            state: TotpState::Active,
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            enrolled_at: 1_700_000_000_000,
            next_step: 56_666_667,
            failures_since: 1_700_000_100_000,
            failures: 2,
            sealed: (0..48).collect(),
            recovery: (0..10u8).map(|i| [i; RECOVERY_HASH_LEN]).collect(),
            recovery_used: 0b101,
            replacement: None,
        }
    }

    fn replacing() -> TotpRecord {
        TotpRecord {
            replacement: Some(Replacement {
                algorithm: Algorithm::Sha256,
                digits: 8,
                period: 60,
                enrolled_at: 1_700_000_200_000,
                sealed: (100..148).collect(),
            }),
            ..sample()
        }
    }

    #[test]
    fn records_round_trip_through_the_wire_form() {
        let r = sample();
        let s = r.encode();
        assert!(
            s.starts_with("[\"t1\",1,1,6,30,1700000000000,56666667,"),
            "{s}"
        );
        assert_eq!(TotpRecord::decode(&s).unwrap(), r);
        let mut empty = sample();
        empty.recovery.clear();
        empty.recovery_used = 0;
        empty.state = TotpState::Pending;
        empty.next_step = 0;
        assert_eq!(TotpRecord::decode(&empty.encode()).unwrap(), empty);
        let r = replacing();
        let s = r.encode();
        assert!(
            s.starts_with("[\"t2\",1,1,6,30,1700000000000,56666667,"),
            "{s}"
        );
        assert!(s.contains("\",5,2,8,60,1700000200000,\""), "{s}");
        assert_eq!(TotpRecord::decode(&s).unwrap(), r);
    }

    #[test]
    fn the_largest_record_fits_the_decoders_bound() {
        let mut r = sample();
        r.sealed = vec![0xff; MAX_SEALED];
        r.recovery = vec![[0xff; RECOVERY_HASH_LEN]; MAX_RECOVERY_CODES];
        r.recovery_used = (1 << MAX_RECOVERY_CODES) - 1;
        r.enrolled_at = MAX_TIME;
        r.failures_since = MAX_TIME;
        r.next_step = MAX_TIME / 1000 + 1;
        r.failures = u32::MAX;
        r.period = 300;
        r.replacement = Some(Replacement {
            algorithm: Algorithm::Sha512,
            digits: 8,
            period: 300,
            enrolled_at: MAX_TIME,
            sealed: vec![0xff; MAX_SEALED],
        });
        let s = r.encode();
        assert!(s.len() <= MAX_RECORD_BYTES, "{} bytes", s.len());
        assert!(
            s.len() > MAX_RECORD_BYTES - 120,
            "bound is loose: {} bytes",
            s.len()
        );
        assert_eq!(TotpRecord::decode(&s).unwrap(), r);
    }

    fn decode_err(s: &str) -> DecodeError {
        TotpRecord::decode(s).expect_err(s)
    }

    #[test]
    fn malformed_records_are_rejected_with_their_reason() {
        let good = sample().encode();
        let next = replacing().encode();
        let cases: [(String, DecodeError); 27] = [
            (String::new(), DecodeError::Syntax),
            ("[]".into(), DecodeError::Syntax),
            (
                good.replacen("\"t1\"", "\"t3\"", 1),
                DecodeError::UnknownVersion,
            ),
            // A t2 record has the replacement's fields; a t1 record has none.
            (
                good.replacen("\"t1\"", "\"t2\"", 1),
                DecodeError::FieldCount,
            ),
            (
                next.replacen("\"t2\"", "\"t1\"", 1),
                DecodeError::FieldCount,
            ),
            (
                next.replacen(",5,2,8,60,", ",5,4,8,60,", 1),
                DecodeError::OutOfRange,
            ),
            (
                next.replacen(",5,2,8,60,", ",5,2,9,60,", 1),
                DecodeError::OutOfRange,
            ),
            (
                next.replacen(",5,2,8,60,", ",5,2,8,0,", 1),
                DecodeError::OutOfRange,
            ),
            (
                next.replacen(",1700000200000,", ",253402300800000,", 1),
                DecodeError::OutOfRange,
            ),
            (
                next.replacen("[\"t2\",1,", "[\"t2\",0,", 1)
                    .replacen(",56666667,", ",0,", 1),
                DecodeError::ImpossibleState,
            ),
            (good.replacen("\"t1\"", "1", 1), DecodeError::WrongType),
            (
                good.replacen("[\"t1\",1,", "[\"t1\",2,", 1),
                DecodeError::OutOfRange,
            ),
            (
                good.replacen(",1,6,30,", ",4,6,30,", 1),
                DecodeError::OutOfRange,
            ),
            (
                good.replacen(",1,6,30,", ",1,9,30,", 1),
                DecodeError::OutOfRange,
            ),
            (
                good.replacen(",1,6,30,", ",1,6,301,", 1),
                DecodeError::OutOfRange,
            ),
            (
                good.replacen(",1,6,30,", ",1,6,0,", 1),
                DecodeError::OutOfRange,
            ),
            (
                good.replacen(",1,6,30,", ",1,06,30,", 1),
                DecodeError::Syntax,
            ),
            (
                good.replacen(",1,6,30,", ",1,6.0,30,", 1),
                DecodeError::WrongType,
            ),
            (
                good.replacen(",1,6,30,", ", 1,6,30,", 1),
                DecodeError::Syntax,
            ),
            (good.replacen(",5]", "]", 1), DecodeError::FieldCount),
            (good.replacen(",5]", ",5,5]", 1), DecodeError::FieldCount),
            (format!("{good} "), DecodeError::Syntax),
            (
                good.replacen("AAECAwQF", "AAECAwQ=", 1),
                DecodeError::Syntax,
            ),
            (
                good.replacen("AAECAwQF", "AAEC\\wQF", 1),
                DecodeError::Syntax,
            ),
            (
                good.replacen(",5]", ",1024]", 1),
                DecodeError::ImpossibleState,
            ),
            (
                good.replacen(",5]", ",9007199254740992]", 1),
                DecodeError::OutOfRange,
            ),
            (
                format!("{good}{}", " ".repeat(MAX_RECORD_BYTES)),
                DecodeError::Syntax,
            ),
        ];
        for (text, want) in cases {
            assert_eq!(decode_err(&text), want, "{text}");
        }
    }

    #[test]
    fn impossible_combinations_are_rejected() {
        let mut r = sample();
        r.state = TotpState::Pending;
        assert_eq!(decode_err(&r.encode()), DecodeError::ImpossibleState);
        let mut r = sample();
        r.sealed.truncate(MIN_SEALED - 1);
        assert_eq!(decode_err(&r.encode()), DecodeError::OutOfRange);
        let mut r = sample();
        r.enrolled_at = MAX_TIME + 1;
        assert_eq!(decode_err(&r.encode()), DecodeError::OutOfRange);
        let mut r = sample();
        r.recovery = vec![[0; RECOVERY_HASH_LEN]; MAX_RECOVERY_CODES + 1];
        assert_eq!(decode_err(&r.encode()), DecodeError::OutOfRange);
        // A recovery string that is not whole hashes.
        let s = sample().encode().replacen("\",5]", "AA\",5]", 1);
        assert_eq!(decode_err(&s), DecodeError::Syntax);
    }

    #[test]
    fn base64url_is_canonical() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
            let mut s = String::new();
            b64_encode(&bytes, &mut s);
            assert_eq!(b64_decode(s.as_bytes()).unwrap(), bytes);
        }
        assert_eq!(b64_decode(b"AB"), Err(DecodeError::Syntax));
        assert_eq!(b64_decode(b"A"), Err(DecodeError::Syntax));
        assert_eq!(b64_decode(b"AA+A"), Err(DecodeError::Syntax));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoding_arbitrary_text_never_panics(s in "\\PC{0,700}") {
            let _ = TotpRecord::decode(&s);
        }

        #[test]
        fn decoding_a_mutated_record_never_panics(
            cut in 0usize..560,
            at in 0usize..560,
            byte in proptest::char::range(' ', '~'),
        ) {
            for good in [sample().encode(), replacing().encode()] {
                let cut = cut.min(good.len());
                let _ = TotpRecord::decode(&good[..cut]);
                let mut bytes = good.into_bytes();
                let at = at % bytes.len();
                bytes[at] = byte as u8;
                if let Ok(text) = String::from_utf8(bytes) {
                    let _ = TotpRecord::decode(&text);
                }
            }
        }
    }
}
