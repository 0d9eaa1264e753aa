//! Authenticator-app codes (TOTP, RFC 6238) with recovery codes: the pure core.
//!
//! Like [`crate::Engine`], [`TotpEngine`] does no I/O: it never reads a clock, never
//! draws randomness and never calls a store. Every operation takes the stored record in
//! its wire form (or none), `now` in milliseconds and, where it needs them, fresh random
//! bytes, and returns its answer plus what to do with the record ([`TotpWrite`]).
//!
//! ## What is stored
//!
//! One record per (scope, user) (see [`TotpRecord`] for the wire form). The seed is kept
//! only encrypted, with ChaCha20-Poly1305 under a key derived from the app secret and
//! bound to the scope and the user, which are also its associated data, together with
//! the enrollment's algorithm, digits and period. Encryption rather than derivation,
//! because imported seeds (made by another system) must be supported. Recovery codes are
//! kept only as keyed hashes (HMAC-SHA256 under a per-user key, 96 bits). Reading the
//! store reveals no seed and no code, and a record copied to another user does not open
//! there ([`DecodeError::Unauthentic`]).
//!
//! The counters (last accepted step, failure budget, used recovery codes) are not
//! authenticated: whoever can write the store can reset them, as with OTP records.
//!
//! ## Example
//!
//! ```
//! use edge_otp::totp::{
//!     hotp, EnrollOptions, Enrollment, TotpConfig, TotpEngine, TotpPolicy, TotpVerdict,
//!     TotpWrite,
//! };
//! use edge_otp::Subject;
//!
//! let config = TotpConfig::new(b"app secret, 16 bytes or more".to_vec(), "Acme");
//! let totp = TotpEngine::new(TotpPolicy::new(config)?);
//! let ada = Subject::new("totp", "ada@example.com")?;
//! let now = 1_700_000_000_000;
//!
//! // Enroll: 32 random bytes in (20 for the seed, 12 for the nonce).
//! let step = totp.enroll(&ada, None, now, &EnrollOptions::default(), &[7; 32])?;
//! let Enrollment::Enrolled(enrolled) = step.answer else { unreachable!() };
//! assert!(enrolled.uri.starts_with("otpauth://totp/Acme:ada%40example.com?secret="));
//! let TotpWrite::Put(stored) = step.write else { unreachable!() };
//!
//! // The user's app computes the code from the seed; the first right one activates.
//! let seed = [7u8; 20];
//! let code = format!("{:06}", hotp(Default::default(), &seed, now / 30_000, 6));
//! let step = totp.check(&ada, Some(&stored), &code, now)?;
//! assert_eq!(step.answer, TotpVerdict::Verified);
//! let TotpWrite::Put(stored) = step.write else { unreachable!() };
//!
//! // The same code again is a replay: not a failure, nothing written.
//! let step = totp.check(&ada, Some(&stored), &code, now + 1000)?;
//! assert_eq!((step.answer, step.write), (TotpVerdict::Replayed, TotpWrite::Nothing));
//! # Ok::<(), edge_otp::Error>(())
//! ```

mod base32;
mod keys;
mod otp;
mod record;

pub use keys::{MAX_SEED_BYTES, MIN_SEED_BYTES, NONCE_LEN};
pub use otp::{hotp, totp, Algorithm, ALGORITHM_PROBLEM};
pub use record::{
    Replacement, TotpRecord, TotpState, MAX_RECORD_BYTES, MAX_RECOVERY_CODES, TOTP_VERSION,
    TOTP_VERSION_REPLACING,
};

use crate::engine::Subject;
use crate::error::{DecodeError, Error};
use crate::policy::{self, Limit, WindowLimit, MAX_SECRET_BYTES, MIN_SECRET_BYTES};
use crate::time::{Millis, MAX_TIME};
use alloc::string::String;
use alloc::vec::Vec;
use keys::{Params, Seed, TotpKeys};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

/// Bytes of a new seed (160 bits, RFC 4226's recommendation).
pub const SEED_BYTES: usize = 20;
/// Random bytes [`TotpEngine::enroll`] takes: a new seed, then the AEAD nonce.
pub const ENROLL_ENTROPY_BYTES: usize = SEED_BYTES + NONCE_LEN;
/// The characters of recovery codes: Crockford's base32 in lower case (no `i`, `l`, `o`,
/// `u`). On input, `o` reads as `0`, `i` and `l` as `1`, case is folded, white space and
/// dashes are ignored and full-width forms read as ASCII.
pub const RECOVERY_ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";
/// Longest issuer, in characters.
pub const MAX_ISSUER_CHARS: usize = 64;
/// `INVALID_CONFIG` reason for an `issuer` option that is absent, not a string or longer
/// than [`MAX_ISSUER_CHARS`] (what the JS options reader says before the policy checks).
pub const ISSUER_PROBLEM: &str = "must be a string of 1 to 64 characters";
/// How long a seed enrolled with `keepCurrent` waits for its first code (one hour, in
/// ms): after that `check` ignores it (and drops it when it next writes the record), as
/// if it had never been enrolled.
pub const REPLACEMENT_MS: Millis = 3_600_000;
/// Longest label, in UTF-8 bytes.
pub const MAX_LABEL_BYTES: usize = 256;
/// `INVALID_ARGUMENT` reason for a label that is empty, too long or has control characters.
pub const LABEL_PROBLEM: &str = "must be 1 to 256 bytes of utf-8 without control characters";
/// `INVALID_ARGUMENT` reason for an imported seed that is not base32 of a seed's length.
pub const SEED_PROBLEM: &str = "must be base32 (rfc 4648) of 10 to 64 bytes";
/// Shortest code of an enrollment, in digits.
pub const MIN_DIGITS: u32 = 6;
/// Longest code of an enrollment, in digits.
pub const MAX_DIGITS: u32 = 8;
/// Longest time step, in seconds.
pub const MAX_PERIOD_SECONDS: u64 = 300;
/// Most steps accepted either side of now.
pub const MAX_WINDOW: u32 = 10;
/// Shortest recovery code, in characters (40 bits).
pub const MIN_RECOVERY_LENGTH: usize = 8;
/// Longest recovery code, in characters.
pub const MAX_RECOVERY_LENGTH: usize = 16;

/// How many recovery codes a set has and how long each is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryCodesConfig {
    /// Codes per set, `1..=20`. Default 10.
    pub count: u32,
    /// Characters per code, `8..=16`. Default 10 (50 bits).
    pub length: u32,
}

/// The unvalidated TOTP settings, named as the JS options. Every field has the
/// documented default except the secret and the issuer.
#[derive(Clone)]
pub struct TotpConfig {
    /// The app's secret, 16 to 1024 bytes: the seeds' encryption and the recovery codes'
    /// hashes are keyed from it.
    pub secret: Zeroizing<Vec<u8>>,
    /// The name authenticator apps show: 1 to 64 characters, no `:`, no control characters.
    pub issuer: String,
    /// The HMAC hash of new enrollments. Default [`Algorithm::Sha1`].
    pub algorithm: Algorithm,
    /// Code length of new enrollments, `6..=8`. Default 6.
    pub digits: u32,
    /// Time step of new enrollments in seconds, `1..=300`. Default 30.
    pub period_seconds: u64,
    /// Steps accepted either side of now, `0..=10`. Default 1.
    pub window: u32,
    /// Wrong codes (TOTP and recovery together) per user per window; when spent, checks
    /// answer locked and nothing is compared. `None` = off. Default 5 per 900 s.
    pub failure_limit: Option<Limit>,
    /// The recovery code sets. Default 10 codes of 10 characters.
    pub recovery_codes: RecoveryCodesConfig,
}

impl TotpConfig {
    /// The defaults, with the given secret and issuer.
    pub fn new(secret: Vec<u8>, issuer: &str) -> TotpConfig {
        TotpConfig {
            secret: Zeroizing::new(secret),
            issuer: issuer.into(),
            algorithm: Algorithm::Sha1,
            digits: 6,
            period_seconds: 30,
            window: 1,
            failure_limit: Some(Limit {
                count: 5,
                window_seconds: 900,
            }),
            recovery_codes: RecoveryCodesConfig {
                count: 10,
                length: 10,
            },
        }
    }
}

impl core::fmt::Debug for TotpConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TotpConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period_seconds", &self.period_seconds)
            .field("window", &self.window)
            .field("failure_limit", &self.failure_limit)
            .field("recovery_codes", &self.recovery_codes)
            .finish()
    }
}

/// Validated TOTP settings. Built only by [`TotpPolicy::new`], so every one is in range.
#[derive(Clone)]
pub struct TotpPolicy {
    secret: Zeroizing<Vec<u8>>,
    issuer: String,
    params: Params,
    window: u32,
    failure_limit: Option<WindowLimit>,
    recovery_count: usize,
    recovery_length: usize,
}

impl core::fmt::Debug for TotpPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TotpPolicy")
            .field("issuer", &self.issuer)
            .field("algorithm", &self.params.algorithm)
            .field("digits", &self.params.digits)
            .field("period_seconds", &self.params.period)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

fn bad(field: &'static str, problem: &'static str) -> Error {
    Error::InvalidConfig { field, problem }
}

fn bad_argument(argument: &'static str, problem: &'static str) -> Error {
    Error::InvalidArgument { argument, problem }
}

impl TotpPolicy {
    /// Checks every value of `config` and builds the policy. Errors name the JS option
    /// (`secret`, `issuer`, `digits`, `periodSeconds`, `window`, `failureLimit`,
    /// `recoveryCodes`).
    pub fn new(config: TotpConfig) -> Result<TotpPolicy, Error> {
        if config.secret.len() < MIN_SECRET_BYTES {
            return Err(bad("secret", "must be at least 16 bytes"));
        }
        if config.secret.len() > MAX_SECRET_BYTES {
            return Err(bad("secret", "must be at most 1024 bytes"));
        }
        let issuer = &config.issuer;
        if issuer.is_empty() || issuer.chars().count() > MAX_ISSUER_CHARS {
            return Err(bad("issuer", "must be 1 to 64 characters"));
        }
        if issuer.chars().any(|c| c == ':' || c.is_control()) {
            return Err(bad("issuer", "must not contain ':' or control characters"));
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&config.digits) {
            return Err(bad("digits", "must be 6, 7 or 8"));
        }
        if !(1..=MAX_PERIOD_SECONDS).contains(&config.period_seconds) {
            return Err(bad(
                "periodSeconds",
                "must be a whole number between 1 and 300",
            ));
        }
        if config.window > MAX_WINDOW {
            return Err(bad("window", "must be a whole number between 0 and 10"));
        }
        let failure_limit = policy::limit(config.failure_limit, "failureLimit")?;
        let r = config.recovery_codes;
        if !(1..=MAX_RECOVERY_CODES as u32).contains(&r.count) {
            return Err(bad(
                "recoveryCodes",
                "count must be a whole number between 1 and 20",
            ));
        }
        if !(MIN_RECOVERY_LENGTH as u32..=MAX_RECOVERY_LENGTH as u32).contains(&r.length) {
            return Err(bad(
                "recoveryCodes",
                "length must be a whole number between 8 and 16",
            ));
        }
        Ok(TotpPolicy {
            issuer: config.issuer,
            params: Params {
                algorithm: config.algorithm,
                digits: config.digits as u8,
                period: config.period_seconds as u16,
            },
            window: config.window,
            failure_limit,
            recovery_count: r.count as usize,
            recovery_length: r.length as usize,
            secret: config.secret,
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The algorithm of new enrollments.
    pub fn algorithm(&self) -> Algorithm {
        self.params.algorithm
    }

    /// The code length of new enrollments.
    pub fn digits(&self) -> u32 {
        u32::from(self.params.digits)
    }

    /// The time step of new enrollments, in seconds.
    pub fn period_seconds(&self) -> u64 {
        u64::from(self.params.period)
    }

    /// Steps accepted either side of now.
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Random bytes [`TotpEngine::new_recovery_codes`] takes: one per character.
    pub fn recovery_entropy_bytes(&self) -> usize {
        self.recovery_count * self.recovery_length
    }

    /// The longest span, in seconds, for which a record's failure budget still matters.
    /// Enrollments themselves never expire: a store must keep TOTP records until
    /// [`TotpEngine::disable`].
    pub fn failure_window_seconds(&self) -> u64 {
        self.failure_limit.map_or(0, |l| l.window / 1000)
    }
}

/// What the driver must do with the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum TotpWrite {
    /// Write nothing.
    Nothing,
    /// Store this record (compare-and-swap against the one passed in, where the store
    /// offers it) before reporting the answer.
    Put(String),
    /// Delete the record (compare-and-delete against the one passed in, where the store
    /// offers it) before reporting the answer.
    Delete,
}

/// An operation's answer and what to do with the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TotpStep<T> {
    /// What to tell the caller.
    pub answer: T,
    /// What to do with the stored record.
    pub write: TotpWrite,
}

impl<T> TotpStep<T> {
    fn read_only(answer: T) -> TotpStep<T> {
        TotpStep {
            answer,
            write: TotpWrite::Nothing,
        }
    }

    fn put(answer: T, record: &TotpRecord) -> TotpStep<T> {
        TotpStep {
            answer,
            write: TotpWrite::Put(record.encode()),
        }
    }
}

/// Where a user's enrollment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpStatus {
    /// Not enrolled (or disabled).
    None,
    /// Enrolled; no code accepted yet.
    Pending,
    /// A code has been accepted.
    Active,
}

impl TotpStatus {
    /// The name in the JS API: `"none"`, `"pending"`, `"active"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TotpStatus::None => "none",
            TotpStatus::Pending => "pending",
            TotpStatus::Active => "active",
        }
    }
}

impl EnrollOptions<'_> {
    /// `keep_current` without `replace` is [`Error::InvalidArgument`] (checked by
    /// [`TotpEngine::enroll`]; the binding checks it before any storage call).
    pub fn check_flags(&self) -> Result<(), Error> {
        if self.keep_current && !self.replace {
            return Err(bad_argument("keepCurrent", "needs replace: true"));
        }
        Ok(())
    }
}

/// A seed enrolled with `keepCurrent`, waiting for its first code
/// ([`TotpEngine::pending_replacement`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingReplacement {
    /// When it was enrolled (ms since the Unix epoch).
    pub enrolled_at: Millis,
    /// When it becomes void if no code of it has verified ([`REPLACEMENT_MS`] after).
    pub expires_at: Millis,
}

/// Options of [`TotpEngine::enroll`], as the JS `enroll(user, { label, secret, replace,
/// keepCurrent })`. Its `Debug` form does not show an imported seed.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct EnrollOptions<'a> {
    /// The account name authenticator apps show; default the user id. 1 to 256 bytes, no
    /// control characters.
    pub label: Option<&'a str>,
    /// An existing seed to import, in base32 (case, spaces and `=` padding are ignored),
    /// 10 to 64 bytes; default a new 160-bit seed from the entropy argument.
    pub secret: Option<&'a str>,
    /// Enroll over an active enrollment.
    pub replace: bool,
    /// With `replace`, over an active enrollment: keep it working until a code of the new
    /// one verifies (which then takes its place), instead of revoking it at once.
    pub keep_current: bool,
}

impl core::fmt::Debug for EnrollOptions<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EnrollOptions")
            .field("label", &self.label)
            .field("secret", &self.secret.map(|_| "<redacted>"))
            .field("replace", &self.replace)
            .field("keep_current", &self.keep_current)
            .finish()
    }
}

/// A new enrollment, to show the user once (as a QR code of `uri`, and `secret` for
/// typing in). Its `Debug` form shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The `otpauth://totp/...` key URI.
    pub uri: Zeroizing<String>,
    /// The seed in base32: upper case, no padding.
    pub secret: Zeroizing<String>,
    /// Always [`TotpStatus::Pending`]: the first right code activates it.
    pub status: TotpStatus,
}

impl core::fmt::Debug for Enrolled {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Enrolled")
            .field("uri", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("status", &self.status)
            .finish()
    }
}

/// The answer of [`TotpEngine::enroll`].
///
/// Refusing to enroll over an active enrollment is an answer, not an [`Error`]: it is
/// caused by the stored state, not by a bad argument. The JS layer turns it into
/// `OtpError` with code [`ErrorCode::AlreadyEnrolled`](crate::ErrorCode::AlreadyEnrolled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// Enrolled (replacing a pending enrollment, or an active one with `replace`).
    Enrolled(Enrolled),
    /// The user has an active enrollment and `replace` was not given; nothing written.
    AlreadyEnrolled,
}

/// The answer of [`TotpEngine::check`]. JS `verify` is [`TotpVerdict::is_ok`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum TotpVerdict {
    /// The code was right for a step later than any accepted before; a pending
    /// enrollment is now active.
    Verified,
    /// The code was the first of a [`Replacement`] kept waiting, which is now the
    /// enrollment (the seed it replaced no longer works). JS: `reason: "verified"` and
    /// `replaced: true`.
    Replaced,
    /// The code was wrong, or not `digits` ASCII digits; the failure budget was spent.
    Invalid,
    /// The code was right, but for the last accepted step or an earlier one (or, for a
    /// waiting [`Replacement`], for a step that starts before the current seed's last
    /// accepted one ended). Not a failure; nothing written.
    Replayed,
    /// The user is not enrolled.
    NoEnrollment,
    /// The failure budget is spent; nothing was compared.
    Locked {
        /// Milliseconds until checking is allowed again.
        retry_after_ms: u64,
    },
}

impl TotpVerdict {
    /// The JS `reason`: `"verified"`, `"invalid"`, `"replayed"`, `"none"`, `"locked"`.
    pub fn reason(&self) -> &'static str {
        match self {
            TotpVerdict::Verified | TotpVerdict::Replaced => "verified",
            TotpVerdict::Invalid => "invalid",
            TotpVerdict::Replayed => "replayed",
            TotpVerdict::NoEnrollment => "none",
            TotpVerdict::Locked { .. } => "locked",
        }
    }

    /// `true` only for [`TotpVerdict::Verified`] and [`TotpVerdict::Replaced`].
    pub fn is_ok(&self) -> bool {
        matches!(self, TotpVerdict::Verified | TotpVerdict::Replaced)
    }

    /// The JS `replaced`: `true` for [`TotpVerdict::Replaced`], else absent.
    pub fn replaced(&self) -> bool {
        matches!(self, TotpVerdict::Replaced)
    }

    /// The JS `retryAfterMs`, for [`TotpVerdict::Locked`].
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            TotpVerdict::Locked { retry_after_ms } => Some(*retry_after_ms),
            _ => None,
        }
    }
}

/// The answer of [`TotpEngine::new_recovery_codes`]. Its `Debug` form shows how many
/// codes, not the codes.
#[derive(Clone, PartialEq, Eq)]
pub enum RecoveryCodes {
    /// The new set, to show the user once; every earlier code is void.
    Issued(Vec<String>),
    /// The user is not enrolled; nothing written.
    NoEnrollment,
}

impl core::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecoveryCodes::Issued(codes) => write!(f, "Issued(<{} codes redacted>)", codes.len()),
            RecoveryCodes::NoEnrollment => f.write_str("NoEnrollment"),
        }
    }
}

/// The answer of [`TotpEngine::use_recovery_code`]. JS `useRecoveryCode` is
/// [`RecoveryVerdict::is_ok`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum RecoveryVerdict {
    /// The code was one of the set and unused; it is now used.
    Accepted,
    /// The code is not in the set (or not code-shaped); the failure budget was spent.
    Invalid,
    /// The code was in the set but already used. Not a failure; nothing written.
    Used,
    /// The user is not enrolled.
    NoEnrollment,
    /// The failure budget is spent; nothing was compared.
    Locked {
        /// Milliseconds until trying is allowed again.
        retry_after_ms: u64,
    },
}

impl RecoveryVerdict {
    /// `"accepted"`, `"invalid"`, `"used"`, `"none"`, `"locked"`.
    pub fn reason(&self) -> &'static str {
        match self {
            RecoveryVerdict::Accepted => "accepted",
            RecoveryVerdict::Invalid => "invalid",
            RecoveryVerdict::Used => "used",
            RecoveryVerdict::NoEnrollment => "none",
            RecoveryVerdict::Locked { .. } => "locked",
        }
    }

    /// `true` only for [`RecoveryVerdict::Accepted`].
    pub fn is_ok(&self) -> bool {
        matches!(self, RecoveryVerdict::Accepted)
    }

    /// The JS `retryAfterMs`, for [`RecoveryVerdict::Locked`].
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            RecoveryVerdict::Locked { retry_after_ms } => Some(*retry_after_ms),
            _ => None,
        }
    }
}

/// The TOTP state machine for one policy. Deterministic: no clock, no randomness, no I/O.
#[derive(Clone)]
pub struct TotpEngine {
    policy: TotpPolicy,
    keys: TotpKeys,
}

impl core::fmt::Debug for TotpEngine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TotpEngine")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn check_now(now: Millis) -> Result<Millis, Error> {
    if now >= MAX_TIME {
        return Err(bad_argument("now", crate::time::NOW_PROBLEM));
    }
    Ok(now)
}

/// Milliseconds left in a window that opened at `since`, if it is still open at `now`.
fn window_left(since: Millis, window: Millis, now: Millis) -> Option<u64> {
    let end = since.saturating_add(window);
    (now < end).then(|| end - now)
}

/// The submitted TOTP code as a number: separators are dropped and full-width digits
/// folded (`crate::code::fold_submitted`), the rest must be exactly `digits` ASCII
/// digits.
fn parse_code(code: &str, digits: u8) -> Option<u32> {
    let (mut value, mut n) = (0u32, 0u8);
    for b in crate::code::submitted_bytes(code) {
        let b = b?;
        if !b.is_ascii_digit() || n == digits {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
        n += 1;
    }
    (n == digits).then_some(value)
}

/// The submitted recovery code in canonical form (see [`RECOVERY_ALPHABET`]).
fn normalize_recovery(code: &str, out: &mut [u8; MAX_RECOVERY_LENGTH]) -> Option<usize> {
    let mut n = 0;
    for b in crate::code::submitted_bytes(code) {
        let c = match b?.to_ascii_lowercase() {
            b'o' => b'0',
            b'i' | b'l' => b'1',
            c => c,
        };
        if !RECOVERY_ALPHABET.as_bytes().contains(&c) || n == MAX_RECOVERY_LENGTH {
            return None;
        }
        out[n] = c;
        n += 1;
    }
    (n >= MIN_RECOVERY_LENGTH).then_some(n)
}

/// Appends `s` percent-encoded: everything but RFC 3986's unreserved characters.
fn push_percent(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// The record's waiting replacement, unless it is void at `now` ([`REPLACEMENT_MS`]
/// after its enroll).
fn live(r: &TotpRecord, now: Millis) -> Option<&Replacement> {
    r.replacement
        .as_ref()
        .filter(|n| now.saturating_sub(n.enrolled_at) < REPLACEMENT_MS)
}

fn params_of(r: &TotpRecord) -> Params {
    Params {
        algorithm: r.algorithm,
        digits: r.digits,
        period: r.period,
    }
}

/// What [`TotpEngine::matching`] found: whether a code of a step later than the last
/// accepted one matched (and the latest such step), and whether an earlier one did.
struct Matching {
    fresh: Choice,
    replayed: Choice,
    step: u64,
}

impl Matching {
    /// Nothing matched (also the answer for a code that is not of the seed's length).
    fn none() -> Matching {
        Matching {
            fresh: Choice::from(0),
            replayed: Choice::from(0),
            step: 0,
        }
    }
}

impl TotpEngine {
    /// An engine for `policy`.
    pub fn new(policy: TotpPolicy) -> TotpEngine {
        let keys = TotpKeys::new(&policy.secret);
        TotpEngine { policy, keys }
    }

    /// The policy.
    pub fn policy(&self) -> &TotpPolicy {
        &self.policy
    }

    /// An identifier of this engine's behaviour: engines built from the same secret and
    /// policy (and the same `context`, such as a scope) have the same fingerprint, any
    /// other difference gives another one. It is a PRF output under the engine's master
    /// key, so it reveals nothing about the secret; drivers use it to share one engine.
    pub fn fingerprint(&self, context: &[u8]) -> [u8; 16] {
        let p = &self.policy;
        let (limit_count, limit_window) = p
            .failure_limit
            .map_or((0, 0), |l| (u64::from(l.count) + 1, l.window));
        let mut m = Vec::with_capacity(128 + context.len());
        m.extend_from_slice(&(p.issuer.len() as u64).to_be_bytes());
        m.extend_from_slice(p.issuer.as_bytes());
        m.extend_from_slice(&[p.params.algorithm.tag(), p.params.digits]);
        for n in [
            u64::from(p.params.period),
            u64::from(p.window),
            limit_count,
            limit_window,
            p.recovery_count as u64,
            p.recovery_length as u64,
        ] {
            m.extend_from_slice(&n.to_be_bytes());
        }
        m.extend_from_slice(context);
        self.keys.fingerprint(&m)
    }

    /// Decodes the stored record and opens its seed for `subject`.
    fn load(
        &self,
        subject: &Subject<'_>,
        stored: Option<&str>,
    ) -> Result<Option<(TotpRecord, Seed)>, Error> {
        let Some(text) = stored else { return Ok(None) };
        let r = TotpRecord::decode(text)?;
        let seed = self
            .keys
            .open(subject, params_of(&r), &r.sealed)
            .ok_or(Error::CorruptRecord(DecodeError::Unauthentic))?;
        Ok(Some((r, seed)))
    }

    /// Compares `given` with the codes of `seed` for every step within the window of
    /// now's step, in constant time (every candidate computed and compared, no early exit;
    /// ascending, so that the latest matching step later than `next_step` wins).
    fn matching(
        &self,
        p: Params,
        seed: &Seed,
        given: u32,
        now: Millis,
        next_step: u64,
    ) -> Matching {
        let current = otp::step(now, u64::from(p.period));
        let window = u64::from(self.policy.window);
        let mut m = Matching::none();
        for s in current.saturating_sub(window)..=current + window {
            let expected = hotp(p.algorithm, seed.bytes(), s, u32::from(p.digits));
            let same = given.ct_eq(&expected);
            let later = Choice::from(u8::from(s >= next_step));
            m.step.conditional_assign(&s, same & later);
            m.fresh |= same & later;
            m.replayed |= same & !later;
        }
        m
    }

    /// Milliseconds until the failure budget recovers, if it is spent at `now`.
    fn locked_for(&self, r: &TotpRecord, now: Millis) -> Option<u64> {
        let WindowLimit { count, window } = self.policy.failure_limit?;
        if r.failures < count {
            return None;
        }
        window_left(r.failures_since, window, now)
    }

    /// Spends one unit of the failure budget (a fixed window opened by the first failure
    /// after the previous window closed). `false` when the budget is off.
    fn spend_failure(&self, r: &mut TotpRecord, now: Millis) -> bool {
        let Some(l) = self.policy.failure_limit else {
            return false;
        };
        if r.failures == 0 || window_left(r.failures_since, l.window, now).is_none() {
            r.failures_since = now;
            r.failures = 1;
        } else {
            r.failures = r.failures.saturating_add(1);
        }
        true
    }

    fn failed<T>(&self, mut r: TotpRecord, now: Millis, answer: T) -> TotpStep<T> {
        if self.spend_failure(&mut r, now) {
            TotpStep::put(answer, &r)
        } else {
            TotpStep::read_only(answer)
        }
    }

    /// Enrolls `subject`: a new pending enrollment with a new seed drawn from `entropy`
    /// (its first [`SEED_BYTES`]) or the imported `options.secret`, sealed under a nonce
    /// taken from its last [`NONCE_LEN`] bytes. Pass [`ENROLL_ENTROPY_BYTES`] random bytes.
    ///
    /// Over a pending enrollment it enrolls anew; over an active one it answers
    /// [`Enrollment::AlreadyEnrolled`] and writes nothing unless `options.replace`. The
    /// failure budget and the recovery codes carry over to the new enrollment. With
    /// `options.keep_current` (and `replace`) over an active enrollment, that one stays,
    /// and the new one is kept as its [`Replacement`] until a code of it verifies
    /// ([`TotpEngine::check`]); a replacement already waiting is dropped.
    ///
    /// Errors: [`Error::InvalidArgument`] for a bad `secret` (not base32, or not 10 to 64
    /// bytes), a bad `label` or `now`, `keep_current` without `replace`; [`Error::CorruptRecord`] for a stored record that
    /// does not decode or does not belong to `subject`.
    pub fn enroll(
        &self,
        subject: &Subject<'_>,
        stored: Option<&str>,
        now: Millis,
        options: &EnrollOptions<'_>,
        entropy: &[u8; ENROLL_ENTROPY_BYTES],
    ) -> Result<TotpStep<Enrollment>, Error> {
        let now = check_now(now)?;
        let label = options.label.unwrap_or(subject.user());
        if label.is_empty() || label.len() > MAX_LABEL_BYTES || label.chars().any(char::is_control)
        {
            return Err(bad_argument(
                "label",
                if options.label.is_some() {
                    LABEL_PROBLEM
                } else {
                    // The caller passed no label: the user id is the default one.
                    "the user id is the default label and has control characters: pass options.label"
                },
            ));
        }
        let seed = match options.secret {
            Some(text) => {
                let mut buf = Zeroizing::new([0u8; MAX_SEED_BYTES]);
                base32::decode(text, &mut *buf)
                    .and_then(|n| Seed::new(&buf[..n]))
                    .ok_or(bad_argument("secret", SEED_PROBLEM))?
            }
            None => Seed::new(&entropy[..SEED_BYTES]).ok_or(Error::EntropyUnavailable)?,
        };
        options.check_flags()?;
        let old = self.load(subject, stored)?.map(|(r, _)| r);
        let active = old.as_ref().is_some_and(|r| r.state == TotpState::Active);
        if active && !options.replace {
            return Ok(TotpStep::read_only(Enrollment::AlreadyEnrolled));
        }
        let params = self.policy.params;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&entropy[SEED_BYTES..]);
        let sealed = self.keys.seal(subject, params, &seed, nonce);
        let record = match old {
            // The active enrollment stays; the new one waits for its first code (a
            // replacement waiting already is dropped).
            Some(r) if active && options.keep_current => TotpRecord {
                replacement: Some(Replacement {
                    algorithm: params.algorithm,
                    digits: params.digits,
                    period: params.period,
                    enrolled_at: now,
                    sealed,
                }),
                ..r
            },
            old => {
                let (failures_since, failures, recovery, recovery_used) = match old {
                    Some(r) => (r.failures_since, r.failures, r.recovery, r.recovery_used),
                    None => (now, 0, Vec::new(), 0),
                };
                TotpRecord {
                    state: TotpState::Pending,
                    algorithm: params.algorithm,
                    digits: params.digits,
                    period: params.period,
                    enrolled_at: now,
                    next_step: 0,
                    failures_since,
                    failures,
                    sealed,
                    recovery,
                    recovery_used,
                    replacement: None,
                }
            }
        };
        let secret = base32::encode(seed.bytes());
        let mut uri = Zeroizing::new(String::with_capacity(160 + secret.len()));
        uri.push_str("otpauth://totp/");
        push_percent(&mut uri, &self.policy.issuer);
        uri.push(':');
        push_percent(&mut uri, label);
        uri.push_str("?secret=");
        uri.push_str(&secret);
        uri.push_str("&issuer=");
        push_percent(&mut uri, &self.policy.issuer);
        uri.push_str("&algorithm=");
        uri.push_str(params.algorithm.as_str());
        uri.push_str("&digits=");
        uri.push(char::from(b'0' + params.digits));
        uri.push_str("&period=");
        push_percent(&mut uri, itoa(u64::from(params.period), &mut [0; 20]));
        let answer = Enrollment::Enrolled(Enrolled {
            uri,
            secret,
            status: TotpStatus::Pending,
        });
        Ok(TotpStep::put(answer, &record))
    }

    /// Checks a submitted code (JS `check`; JS `verify` is its [`TotpVerdict::is_ok`]).
    ///
    /// White space and dashes are ignored and full-width digits read as ASCII; anything
    /// but exactly `digits` digits is a wrong
    /// code. Codes of the steps within `window` of now's step are computed and compared
    /// in constant time; a code is accepted only for a step later than the last accepted
    /// one. A code of a waiting [`Replacement`] makes it the enrollment
    /// ([`TotpVerdict::Replaced`]) when its step does not start before the current seed's
    /// last accepted one ended; for an earlier step it is [`TotpVerdict::Replayed`].
    /// Writes on [`TotpVerdict::Verified`] (the step is recorded, a pending enrollment
    /// becomes active, the failure budget is cleared) and on
    /// [`TotpVerdict::Invalid`] (one unit of the budget spent, when there is a budget).
    pub fn check(
        &self,
        subject: &Subject<'_>,
        stored: Option<&str>,
        code: &str,
        now: Millis,
    ) -> Result<TotpStep<TotpVerdict>, Error> {
        let now = check_now(now)?;
        let Some((mut r, seed)) = self.load(subject, stored)? else {
            return Ok(TotpStep::read_only(TotpVerdict::NoEnrollment));
        };
        if let Some(retry_after_ms) = self.locked_for(&r, now) {
            return Ok(TotpStep::read_only(TotpVerdict::Locked { retry_after_ms }));
        }
        if live(&r, now).is_none() {
            r.replacement = None;
        }
        // A replacement waiting for its first code: a code of it (of its own length) for a
        // step that does not start before the current seed's last accepted one ended
        // makes it the enrollment. A right code of it for an earlier step is replayed, as
        // for the current seed: not a failure (the user who has just signed in with the
        // old device types the new one's code within the same step).
        let mut replayed = Choice::from(0);
        if let Some(next) = &r.replacement {
            let params = Params {
                algorithm: next.algorithm,
                digits: next.digits,
                period: next.period,
            };
            let next_seed = self
                .keys
                .open(subject, params, &next.sealed)
                .ok_or(Error::CorruptRecord(DecodeError::Unauthentic))?;
            if let Some(given) = parse_code(code, next.digits) {
                let after = (r.next_step * u64::from(r.period)).div_ceil(u64::from(next.period));
                let m = self.matching(params, &next_seed, given, now, after);
                if bool::from(m.fresh) {
                    let promoted = TotpRecord {
                        state: TotpState::Active,
                        algorithm: next.algorithm,
                        digits: next.digits,
                        period: next.period,
                        enrolled_at: next.enrolled_at,
                        next_step: m.step + 1,
                        failures: 0,
                        sealed: next.sealed.clone(),
                        replacement: None,
                        ..r
                    };
                    return Ok(TotpStep::put(TotpVerdict::Replaced, &promoted));
                }
                replayed = m.replayed;
            }
        }
        // A code not of the current seed's length (perhaps of the replacement's) matches
        // none of its steps.
        let m = match parse_code(code, r.digits) {
            Some(given) => self.matching(params_of(&r), &seed, given, now, r.next_step),
            None => Matching::none(),
        };
        let (fresh, replayed, step) = (m.fresh, m.replayed | replayed, m.step);
        if bool::from(fresh) {
            let mut next = r;
            next.state = TotpState::Active;
            next.next_step = step + 1;
            next.failures = 0;
            return Ok(TotpStep::put(TotpVerdict::Verified, &next));
        }
        if bool::from(replayed) {
            return Ok(TotpStep::read_only(TotpVerdict::Replayed));
        }
        Ok(self.failed(r, now, TotpVerdict::Invalid))
    }

    /// Where the stored enrollment stands. Never writes. (It only decodes: it does not
    /// check that the record belongs to a given user.)
    pub fn status(&self, stored: Option<&str>) -> Result<TotpStatus, Error> {
        Ok(match stored.map(TotpRecord::decode).transpose()? {
            None => TotpStatus::None,
            Some(r) if r.state == TotpState::Pending => TotpStatus::Pending,
            Some(_) => TotpStatus::Active,
        })
    }

    /// The seed enrolled with `keepCurrent` that is waiting for its first code at `now`,
    /// if there is one: when it was enrolled and when it becomes void
    /// ([`REPLACEMENT_MS`] later). Never writes. (It only decodes, as
    /// [`TotpEngine::status`] does.)
    pub fn pending_replacement(
        &self,
        stored: Option<&str>,
        now: Millis,
    ) -> Result<Option<PendingReplacement>, Error> {
        let now = check_now(now)?;
        let Some(r) = stored.map(TotpRecord::decode).transpose()? else {
            return Ok(None);
        };
        Ok(live(&r, now).map(|n| PendingReplacement {
            enrolled_at: n.enrolled_at,
            expires_at: n.enrolled_at.saturating_add(REPLACEMENT_MS),
        }))
    }

    /// Drops the seed enrolled with `keepCurrent` that is waiting for its first code (a
    /// user who abandons moving to a new device): answers whether one was waiting at
    /// `now` and was dropped. The current seed, its used steps, the failure budget and
    /// the recovery codes stay as they were. Writes only when the record holds a
    /// replacement (one already void is dropped too, answering `false`).
    ///
    /// `enrolled_at`: the [`PendingReplacement::enrolled_at`] of the seed to drop (the
    /// one a settings page showed). A waiting seed enrolled at another time (another
    /// `enroll` since) stays, answering `false` and writing nothing; `None` drops
    /// whichever seed waits.
    ///
    /// Errors: [`Error::CorruptRecord`] for a stored record that does not decode or does
    /// not belong to `subject`; [`Error::InvalidArgument`] for a bad `now`.
    pub fn cancel_replacement(
        &self,
        subject: &Subject<'_>,
        stored: Option<&str>,
        now: Millis,
        enrolled_at: Option<Millis>,
    ) -> Result<TotpStep<bool>, Error> {
        let now = check_now(now)?;
        let Some((mut r, _)) = self.load(subject, stored)? else {
            return Ok(TotpStep::read_only(false));
        };
        if r.replacement.is_none() {
            return Ok(TotpStep::read_only(false));
        }
        let waiting = live(&r, now).map(|n| n.enrolled_at);
        if waiting.is_some() && enrolled_at.is_some_and(|t| waiting != Some(t)) {
            return Ok(TotpStep::read_only(false));
        }
        r.replacement = None;
        Ok(TotpStep::put(waiting.is_some(), &r))
    }

    /// Removes the enrollment, its recovery codes and its failure budget: answers whether
    /// there was a stored value (`present`), and [`TotpWrite::Delete`] if there was. The
    /// value is not read, so that `disable` also clears a corrupt one (any value at all).
    pub fn disable(&self, present: bool) -> TotpStep<bool> {
        if present {
            TotpStep {
                answer: true,
                write: TotpWrite::Delete,
            }
        } else {
            TotpStep::read_only(false)
        }
    }

    /// A new set of recovery codes, replacing the previous set (used or not). Pass
    /// [`TotpPolicy::recovery_entropy_bytes`] random bytes: code `i` is made from bytes
    /// `i * length .. (i + 1) * length`, one character each.
    pub fn new_recovery_codes(
        &self,
        subject: &Subject<'_>,
        stored: Option<&str>,
        entropy: &[u8],
    ) -> Result<TotpStep<RecoveryCodes>, Error> {
        if entropy.len() != self.policy.recovery_entropy_bytes() {
            return Err(bad_argument(
                "entropy",
                "must be recoveryCodes.count * recoveryCodes.length bytes",
            ));
        }
        let Some((mut r, _)) = self.load(subject, stored)? else {
            return Ok(TotpStep::read_only(RecoveryCodes::NoEnrollment));
        };
        let hasher = self.keys.recovery(subject);
        let alphabet = RECOVERY_ALPHABET.as_bytes();
        let mut codes = Vec::with_capacity(self.policy.recovery_count);
        r.recovery.clear();
        r.recovery_used = 0;
        for chunk in entropy.chunks(self.policy.recovery_length) {
            let code: String = chunk
                .iter()
                .map(|&b| char::from(alphabet[usize::from(b & 31)]))
                .collect();
            r.recovery.push(hasher.hash(code.as_bytes()));
            codes.push(code);
        }
        Ok(TotpStep::put(RecoveryCodes::Issued(codes), &r))
    }

    /// Spends a recovery code: [`RecoveryVerdict::Accepted`] once per code (written as
    /// used; the failure budget is cleared). A wrong code spends the failure budget shared
    /// with [`TotpEngine::check`]; a used one answers [`RecoveryVerdict::Used`] and writes
    /// nothing. White space, dashes, full-width forms and case are read as typed (see
    /// [`RECOVERY_ALPHABET`]); the
    /// code's hash is compared with every stored one in constant time.
    pub fn use_recovery_code(
        &self,
        subject: &Subject<'_>,
        stored: Option<&str>,
        code: &str,
        now: Millis,
    ) -> Result<TotpStep<RecoveryVerdict>, Error> {
        let now = check_now(now)?;
        let Some((r, _)) = self.load(subject, stored)? else {
            return Ok(TotpStep::read_only(RecoveryVerdict::NoEnrollment));
        };
        if let Some(retry_after_ms) = self.locked_for(&r, now) {
            return Ok(TotpStep::read_only(RecoveryVerdict::Locked {
                retry_after_ms,
            }));
        }
        let mut buf = Zeroizing::new([0u8; MAX_RECOVERY_LENGTH]);
        let Some(n) = normalize_recovery(code, &mut buf) else {
            return Ok(self.failed(r, now, RecoveryVerdict::Invalid));
        };
        let given = self.keys.recovery(subject).hash(&buf[..n]);
        let (mut unused, mut used, mut index) = (Choice::from(0), Choice::from(0), 0u32);
        for (i, h) in r.recovery.iter().enumerate() {
            let same = keys::same_hash(&given, h);
            let spent = Choice::from(((r.recovery_used >> i) & 1) as u8);
            index.conditional_assign(&(i as u32), same & !spent);
            unused |= same & !spent;
            used |= same & spent;
        }
        if bool::from(unused) {
            let mut next = r;
            next.recovery_used |= 1 << index;
            next.failures = 0;
            return Ok(TotpStep::put(RecoveryVerdict::Accepted, &next));
        }
        if bool::from(used) {
            return Ok(TotpStep::read_only(RecoveryVerdict::Used));
        }
        Ok(self.failed(r, now, RecoveryVerdict::Invalid))
    }
}

/// `v` in decimal, written at the end of `buf`.
fn itoa(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    core::str::from_utf8(&buf[i..]).unwrap_or_default()
}

#[cfg(test)]
mod tests;
