//! Authenticator (TOTP) enrollments under sequences of operations, with clock jumps
//! (backwards too), against a reference model.
//!
//! The input (built with `arbitrary`) is a policy (algorithm, 6 to 8 digits, short and
//! long periods, a window of 0 to 3 steps, a small failure budget or none, small recovery
//! sets), a start time and up to 64 steps. Each step moves the clock and runs one
//! operation on one user's stored record through `TotpEngine`.
//!
//! The model below states the contract (README, rustdoc of `TotpEngine`) on its own,
//! with the seeds in the clear, and computes the expected codes with the public `hotp`.
//! Checked at every step:
//! - no panic; the answer and whether (and what) is written are what the model predicts:
//!   enroll over none / pending / active, `replace`, `keepCurrent` (a waiting seed kept
//!   one hour, dropped by the next enroll), codes of the current and of the waiting seed
//!   at steps around now (typed with separators, Unicode spaces and dashes, and
//!   full-width digits too): verified
//!   only for a step later than the last accepted one, replayed (not a failure) for an
//!   earlier right one, a waiting seed's fresh code replacing the current seed, a wrong
//!   code spending the shared failure budget (a fixed window), locked with the exact
//!   `retry_after_ms`, an accepted code clearing the budget; recovery codes accepted once
//!   each (typed in upper case, with dashes and full-width forms, `O` read as `0`, `I` and
//!   `l` as `1`), used ones
//!   `Used`, older sets void; `status`, `pending_replacement`, `cancel_replacement` with
//!   and without its `enrolled_at` guard, `disable`;
//! - every record written decodes, is at most `MAX_RECORD_BYTES`, re-encodes to itself,
//!   and shows the model's state, enrollment time, next step, failure count and window,
//!   waiting seed's enrollment time and recovery codes left;
//! - a time at or beyond `MAX_TIME` is an argument error for every operation taking one;
//! - any record with one byte changed never panics any operation, and whatever is
//!   written from it is a valid record (then the unchanged record is kept).
#![no_main]

use arbitrary::Arbitrary;
use edge_otp::totp::{
    hotp, Algorithm, EnrollOptions, Enrollment, PendingReplacement, RecoveryCodes,
    RecoveryCodesConfig, RecoveryVerdict, TotpConfig, TotpEngine, TotpPolicy, TotpRecord,
    TotpState, TotpStatus, TotpVerdict, TotpWrite, ENROLL_ENTROPY_BYTES, MAX_RECORD_BYTES,
    RECOVERY_ALPHABET, REPLACEMENT_MS, SEED_BYTES,
};
use edge_otp::{Error, Limit, Millis, Subject, MAX_TIME};
use libfuzzer_sys::fuzz_target;

const MAX_STEPS: usize = 64;
const SECRET: &[u8] = b"totp fuzz app secret, 32 bytes!!";

// ---------------------------------------------------------------------------------
// Input

#[derive(Arbitrary, Debug)]
struct Input {
    algorithm: u8,
    digits: u8,
    period: u8,
    window: u8,
    failure_limit: Option<(u8, u16)>,
    recovery: (u8, u8),
    start: u64,
    steps: Vec<StepSpec>,
}

#[derive(Arbitrary, Debug)]
struct StepSpec {
    wait: Wait,
    op: OpSpec,
}

#[derive(Arbitrary, Debug)]
enum Wait {
    None,
    Ms(u16),
    Periods(u8),
    Seconds(u32),
    Back(u32),
}

#[derive(Arbitrary, Debug)]
enum OpSpec {
    Enroll {
        fill: u8,
        import: Import,
        replace: bool,
        keep_current: bool,
    },
    Code {
        waiting: bool,
        offset: i8,
        typing: Typing,
    },
    Number(u32),
    Garbage(String),
    Status,
    Pending,
    Cancel(Guard),
    Disable,
    NewRecovery(u8),
    Recovery {
        index: u8,
        typing: Typing,
    },
    RecoveryGarbage(String),
    Corrupt {
        at: u16,
        byte: u8,
    },
    BadNow(u32),
}

#[derive(Arbitrary, Debug)]
enum Import {
    Fresh,
    Seed(Vec<u8>),
    Current,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Typing {
    Plain,
    Spaced,
    FullWidth,
    /// TOTP: Unicode separators (ideographic space, no-break space, hyphen U+2010);
    /// recovery: upper case, with `O` for `0` and `I` or `l` for `1`.
    Variant,
}

#[derive(Arbitrary, Debug)]
enum Guard {
    None,
    Shown,
    At(u64),
}

// ---------------------------------------------------------------------------------
// The model

/// One user's enrollment as the contract describes it, seeds in the clear.
#[derive(Clone, Debug)]
struct Enr {
    active: bool,
    seed: Vec<u8>,
    /// Steps before this one are used.
    next_step: u64,
    enrolled_at: Millis,
    /// A seed enrolled with keepCurrent, and when; kept in the record until a write
    /// drops it (check drops a lapsed one when it writes).
    replacement: Option<(Vec<u8>, Millis)>,
    failures: u32,
    failures_since: Millis,
    /// The current recovery set: (code, used).
    recovery: Vec<(String, bool)>,
}

struct Ctx {
    engine: TotpEngine,
    algorithm: Algorithm,
    digits: u32,
    period_ms: u64,
    window: u64,
    limit: Option<(u32, u64)>,
    recovery_count: usize,
    recovery_length: usize,
}

impl Ctx {
    fn code(&self, seed: &[u8], step: u64) -> u32 {
        hotp(self.algorithm, seed, step, self.digits)
    }

    fn steps(&self, now: Millis) -> core::ops::RangeInclusive<u64> {
        let current = now / self.period_ms;
        current.saturating_sub(self.window)..=current + self.window
    }

    fn locked(&self, e: &Enr, now: Millis) -> Option<u64> {
        let (count, window) = self.limit?;
        let end = e.failures_since.saturating_add(window);
        (e.failures >= count && now < end).then(|| end - now)
    }

    /// Spends one unit of the budget; whether there is one (and so a write).
    fn spend(&self, e: &mut Enr, now: Millis) -> bool {
        let Some((_, window)) = self.limit else {
            return false;
        };
        if e.failures == 0 || now >= e.failures_since.saturating_add(window) {
            e.failures_since = now;
            e.failures = 1;
        } else {
            e.failures = e.failures.saturating_add(1);
        }
        true
    }

    /// The model's `check` for a code that reads as `value` (`None`: not a code of this
    /// length): the verdict, and the enrollment to write, if any.
    fn check(&self, e: &Enr, value: Option<u32>, now: Millis) -> (TotpVerdict, Option<Enr>) {
        if let Some(retry_after_ms) = self.locked(e, now) {
            return (TotpVerdict::Locked { retry_after_ms }, None);
        }
        let live = live(e, now).cloned();
        let mut replayed = false;
        if let (Some(v), Some((seed, at))) = (value, &live) {
            let fresh = self
                .steps(now)
                .filter(|&s| s >= e.next_step && self.code(seed, s) == v)
                .max();
            if let Some(s) = fresh {
                let promoted = Enr {
                    active: true,
                    seed: seed.clone(),
                    next_step: s + 1,
                    enrolled_at: *at,
                    replacement: None,
                    failures: 0,
                    ..e.clone()
                };
                return (TotpVerdict::Replaced, Some(promoted));
            }
            replayed |= self
                .steps(now)
                .any(|s| s < e.next_step && self.code(seed, s) == v);
        }
        if let Some(v) = value {
            let fresh = self
                .steps(now)
                .filter(|&s| s >= e.next_step && self.code(&e.seed, s) == v)
                .max();
            if let Some(s) = fresh {
                let verified = Enr {
                    active: true,
                    next_step: s + 1,
                    failures: 0,
                    replacement: live,
                    ..e.clone()
                };
                return (TotpVerdict::Verified, Some(verified));
            }
            replayed |= self
                .steps(now)
                .any(|s| s < e.next_step && self.code(&e.seed, s) == v);
        }
        if replayed {
            return (TotpVerdict::Replayed, None);
        }
        let mut failed = Enr {
            replacement: live,
            ..e.clone()
        };
        let wrote = self.spend(&mut failed, now);
        (TotpVerdict::Invalid, wrote.then_some(failed))
    }

    /// The model's `use_recovery_code` for a code whose canonical form is `canonical`
    /// (`None`: it has none).
    fn recovery(
        &self,
        e: &Enr,
        canonical: Option<&str>,
        now: Millis,
    ) -> (RecoveryVerdict, Option<Enr>) {
        if let Some(retry_after_ms) = self.locked(e, now) {
            return (RecoveryVerdict::Locked { retry_after_ms }, None);
        }
        if let Some(c) = canonical {
            if let Some(i) = e.recovery.iter().position(|(r, used)| r == c && !used) {
                let mut next = e.clone();
                next.recovery[i].1 = true;
                next.failures = 0;
                return (RecoveryVerdict::Accepted, Some(next));
            }
            if e.recovery.iter().any(|(r, _)| r == c) {
                return (RecoveryVerdict::Used, None);
            }
        }
        let mut failed = e.clone();
        let wrote = self.spend(&mut failed, now);
        (RecoveryVerdict::Invalid, wrote.then_some(failed))
    }
}

fn live(e: &Enr, now: Millis) -> Option<&(Vec<u8>, Millis)> {
    e.replacement
        .as_ref()
        .filter(|(_, at)| now.saturating_sub(*at) < REPLACEMENT_MS)
}

// ---------------------------------------------------------------------------------
// Helpers

fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(A[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(A[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Deterministic "random" bytes: xorshift64 from `seed` (different seeds, unrelated bytes).
fn bytes_from(seed: u64) -> impl Iterator<Item = u8> {
    let mut x = seed | 1;
    core::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 56) as u8
    })
}

fn entropy(fill: u8, salt: u64) -> [u8; ENROLL_ENTROPY_BYTES] {
    let mut b = bytes_from(0x9E37_79B9_7F4A_7C15_u64 ^ u64::from(fill) ^ salt.rotate_left(17));
    core::array::from_fn(|_| b.next().unwrap_or_default())
}

fn recovery_entropy(fill: u8, n: usize) -> Vec<u8> {
    bytes_from(0xD1B5_4A32_D192_ED03_u64 ^ u64::from(fill))
        .take(n)
        .collect()
}

/// A TOTP code as a user might type it; every form reads as the plain one.
fn typed_code(code: &str, typing: Typing) -> String {
    match typing {
        Typing::Plain => code.to_string(),
        Typing::Spaced => {
            let (a, b) = code.split_at(code.len() / 2);
            format!(" {a}-{b}\n")
        }
        Typing::Variant => {
            let (a, b) = code.split_at(code.len() / 2);
            format!("\u{3000}{a}\u{2010}\u{a0}{b}")
        }
        Typing::FullWidth => code
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
            .collect(),
    }
}

/// A recovery code as a user might type it; every form reads as the canonical one.
fn typed_recovery(code: &str, typing: Typing) -> String {
    match typing {
        Typing::Plain => code.to_string(),
        Typing::Variant => code
            .chars()
            .enumerate()
            .map(|(i, c)| match c {
                '0' => 'O',
                '1' if i % 2 == 0 => 'I',
                '1' => 'l',
                c => c.to_ascii_uppercase(),
            })
            .collect(),
        Typing::Spaced => {
            let (a, b) = code.split_at(code.len() / 2);
            format!("{a}-{b} ")
        }
        Typing::FullWidth => code
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
            .collect(),
    }
}

/// Whether a string could read as a TOTP code at all (has a character that folds to
/// an ASCII digit); one that cannot is a wrong code whatever the seeds.
fn digit_like(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c))
}

/// Whether a string could read as a recovery code (has a character that folds to an
/// ASCII letter or digit).
fn alnum_like(s: &str) -> bool {
    s.chars().any(|c| {
        let folded = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        };
        folded.is_ascii_alphanumeric()
    })
}

/// Checks a written record and answers it.
fn put(write: &TotpWrite) -> Option<String> {
    match write {
        TotpWrite::Put(s) => {
            assert!(s.len() <= MAX_RECORD_BYTES, "{} bytes", s.len());
            let r = TotpRecord::decode(s).unwrap_or_else(|e| panic!("{e:?}: {s}"));
            assert_eq!(&r.encode(), s, "the wire form is a fixed point");
            Some(s.clone())
        }
        _ => None,
    }
}

/// The record written must be the model's enrollment.
fn same_state(stored: &str, e: &Enr) {
    let r = TotpRecord::decode(stored).unwrap();
    let state = if e.active {
        TotpState::Active
    } else {
        TotpState::Pending
    };
    assert_eq!(r.state(), state, "{e:?}");
    assert_eq!(r.enrolled_at(), e.enrolled_at, "{e:?}");
    let left = e.recovery.iter().filter(|(_, used)| !used).count();
    assert_eq!(r.recovery_codes_left() as usize, left, "{e:?}");
    assert_eq!(r.next_step(), e.next_step, "{e:?}");
    assert_eq!(r.failures(), e.failures, "{e:?}");
    if e.failures > 0 {
        assert_eq!(r.failures_since(), e.failures_since, "{e:?}");
    }
    assert_eq!(
        r.replacement_enrolled_at(),
        e.replacement.as_ref().map(|(_, at)| *at),
        "{e:?}"
    );
}

fn is_bad_now(r: Result<impl core::fmt::Debug, Error>) {
    assert!(
        matches!(
            r,
            Err(Error::InvalidArgument {
                argument: "now",
                ..
            })
        ),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------
// The run

fuzz_target!(|input: Input| {
    let algorithm =
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][usize::from(input.algorithm % 3)];
    let digits = 6 + u32::from(input.digits % 3);
    let period = [1u64, 2, 30, 60, 300][usize::from(input.period % 5)];
    let window = u32::from(input.window % 4);
    let limit = input.failure_limit.map(|(c, w)| Limit {
        count: 1 + u32::from(c % 6),
        window_seconds: 1 + u64::from(w % 3600),
    });
    let recovery = RecoveryCodesConfig {
        count: 1 + u32::from(input.recovery.0 % 4),
        length: 8 + u32::from(input.recovery.1 % 9),
    };
    let mut config = TotpConfig::new(SECRET.to_vec(), "Fuzz Corp");
    config.algorithm = algorithm;
    config.digits = digits;
    config.period_seconds = period;
    config.window = window;
    config.failure_limit = limit;
    config.recovery_codes = recovery;
    let engine = TotpEngine::new(TotpPolicy::new(config).expect("an in-range policy"));
    let ctx = Ctx {
        engine,
        algorithm,
        digits,
        period_ms: period * 1000,
        window: u64::from(window),
        limit: limit.map(|l| (l.count, l.window_seconds * 1000)),
        recovery_count: recovery.count as usize,
        recovery_length: recovery.length as usize,
    };
    let subject = Subject::new("totp", "ada@example.com").unwrap();
    let mut now: Millis = input.start % (MAX_TIME / 2);
    let mut stored: Option<String> = None;
    let mut model: Option<Enr> = None;
    // Every recovery code issued so far (older sets are void).
    let mut issued: Vec<String> = Vec::new();

    for (n, step) in input.steps.iter().take(MAX_STEPS).enumerate() {
        now = match step.wait {
            Wait::None => now,
            Wait::Ms(ms) => now + u64::from(ms),
            Wait::Periods(p) => now + u64::from(p) * ctx.period_ms,
            Wait::Seconds(s) => now + u64::from(s) * 1000,
            Wait::Back(ms) => now.saturating_sub(u64::from(ms)),
        }
        .min(MAX_TIME - 1);
        let e = &ctx.engine;
        let old = stored.as_deref();
        match &step.op {
            OpSpec::Enroll {
                fill,
                import,
                replace,
                keep_current,
            } => {
                let random = entropy(*fill, n as u64);
                let seed: Vec<u8> = match import {
                    Import::Fresh => random[..SEED_BYTES].to_vec(),
                    Import::Seed(s) => s.clone(),
                    Import::Current => model
                        .as_ref()
                        .map_or(random[..SEED_BYTES].to_vec(), |m| m.seed.clone()),
                };
                let text = base32(&seed);
                let options = EnrollOptions {
                    label: None,
                    secret: (!matches!(import, Import::Fresh)).then_some(text.as_str()),
                    replace: *replace,
                    keep_current: *keep_current,
                };
                let r = e.enroll(&subject, old, now, &options, &random);
                if !(10..=64).contains(&seed.len()) {
                    assert!(
                        matches!(
                            r,
                            Err(Error::InvalidArgument {
                                argument: "secret",
                                ..
                            })
                        ),
                        "{r:?}"
                    );
                    continue;
                }
                if *keep_current && !*replace {
                    assert!(
                        matches!(
                            r,
                            Err(Error::InvalidArgument {
                                argument: "keepCurrent",
                                ..
                            })
                        ),
                        "{r:?}"
                    );
                    continue;
                }
                let step = r.unwrap();
                let active = model.as_ref().is_some_and(|m| m.active);
                if active && !*replace {
                    assert_eq!(step.answer, Enrollment::AlreadyEnrolled);
                    assert_eq!(step.write, TotpWrite::Nothing);
                    continue;
                }
                let Enrollment::Enrolled(enrolled) = &step.answer else {
                    panic!("{:?}", step.answer)
                };
                assert_eq!(enrolled.status, TotpStatus::Pending);
                assert_eq!(*enrolled.secret, text, "the seed enrolled");
                assert!(enrolled.uri.contains(&format!("secret={text}&")));
                let next = match model.take() {
                    Some(mut m) if active && *keep_current => {
                        m.replacement = Some((seed, now));
                        m
                    }
                    old => {
                        let (failures, failures_since, recovery) = old
                            .map_or((0, now, Vec::new()), |m| {
                                (m.failures, m.failures_since, m.recovery)
                            });
                        Enr {
                            active: false,
                            seed,
                            next_step: 0,
                            enrolled_at: now,
                            replacement: None,
                            failures,
                            failures_since,
                            recovery,
                        }
                    }
                };
                stored = put(&step.write);
                same_state(stored.as_deref().unwrap(), &next);
                model = Some(next);
            }
            OpSpec::Code {
                waiting,
                offset,
                typing,
            } => {
                let current = (now / ctx.period_ms) as i64;
                let s = (current + i64::from(*offset % 5)).max(0) as u64;
                let seed = model.as_ref().and_then(|m| {
                    if *waiting {
                        m.replacement.as_ref().map(|(seed, _)| seed.clone())
                    } else {
                        Some(m.seed.clone())
                    }
                });
                let Some(seed) = seed else {
                    // No such seed: a code of another.
                    check(&ctx, &subject, &mut stored, &mut model, "123456", now, n);
                    continue;
                };
                let plain = format!("{:0w$}", ctx.code(&seed, s), w = digits as usize);
                let text = typed_code(&plain, *typing);
                check(&ctx, &subject, &mut stored, &mut model, &text, now, n);
            }
            OpSpec::Number(v) => {
                let text = format!("{:0w$}", v % 10u32.pow(digits), w = digits as usize);
                check(&ctx, &subject, &mut stored, &mut model, &text, now, n);
            }
            OpSpec::Garbage(text) => {
                if digit_like(text) {
                    // Might read as any code: only the record's validity is checked,
                    // and the state is left as it was.
                    if let Ok(step) = e.check(&subject, old, text, now) {
                        put(&step.write);
                    }
                } else {
                    check(&ctx, &subject, &mut stored, &mut model, text, now, n);
                }
            }
            OpSpec::Status => {
                let status = e.status(old).unwrap();
                let expected = match &model {
                    None => TotpStatus::None,
                    Some(m) if m.active => TotpStatus::Active,
                    Some(_) => TotpStatus::Pending,
                };
                assert_eq!(status, expected);
            }
            OpSpec::Pending => {
                let shown = e.pending_replacement(old, now).unwrap();
                let expected =
                    model
                        .as_ref()
                        .and_then(|m| live(m, now))
                        .map(|(_, at)| PendingReplacement {
                            enrolled_at: *at,
                            expires_at: at + REPLACEMENT_MS,
                        });
                assert_eq!(shown, expected);
            }
            OpSpec::Cancel(guard) => {
                let held = model.as_ref().and_then(|m| m.replacement.as_ref());
                let guard = match guard {
                    Guard::None => None,
                    Guard::Shown => Some(held.map_or(now, |(_, at)| *at)),
                    Guard::At(t) => Some(*t),
                };
                let step = e.cancel_replacement(&subject, old, now, guard).unwrap();
                let waiting = model.as_ref().and_then(|m| live(m, now)).map(|(_, at)| *at);
                let kept = waiting.is_some() && guard.is_some_and(|t| Some(t) != waiting);
                match model.as_mut() {
                    Some(m) if m.replacement.is_some() && !kept => {
                        assert_eq!(step.answer, waiting.is_some());
                        m.replacement = None;
                        stored = put(&step.write);
                        same_state(stored.as_deref().unwrap(), m);
                    }
                    _ => {
                        assert!(!step.answer);
                        assert_eq!(step.write, TotpWrite::Nothing);
                    }
                }
            }
            OpSpec::Disable => {
                let step = e.disable(stored.is_some());
                assert_eq!(step.answer, stored.is_some());
                let expected = if stored.is_some() {
                    TotpWrite::Delete
                } else {
                    TotpWrite::Nothing
                };
                assert_eq!(step.write, expected);
                stored = None;
                model = None;
            }
            OpSpec::NewRecovery(fill) => {
                let bytes = recovery_entropy(*fill, ctx.recovery_count * ctx.recovery_length);
                let step = e.new_recovery_codes(&subject, old, &bytes).unwrap();
                let Some(m) = model.as_mut() else {
                    assert_eq!(step.answer, RecoveryCodes::NoEnrollment);
                    assert_eq!(step.write, TotpWrite::Nothing);
                    continue;
                };
                let alphabet = RECOVERY_ALPHABET.as_bytes();
                let codes: Vec<String> = bytes
                    .chunks(ctx.recovery_length)
                    .map(|c| {
                        c.iter()
                            .map(|&b| char::from(alphabet[usize::from(b & 31)]))
                            .collect()
                    })
                    .collect();
                assert_eq!(step.answer, RecoveryCodes::Issued(codes.clone()));
                issued.extend(codes.iter().cloned());
                m.recovery = codes.into_iter().map(|c| (c, false)).collect();
                stored = put(&step.write);
                same_state(stored.as_deref().unwrap(), m);
            }
            OpSpec::Recovery { index, typing } => {
                let code = issued
                    .get(usize::from(*index) % issued.len().max(1))
                    .cloned()
                    .unwrap_or_else(|| "0123456789".into());
                let text = typed_recovery(&code, *typing);
                recover(
                    &ctx,
                    &subject,
                    &mut stored,
                    &mut model,
                    &text,
                    Some(&code),
                    now,
                );
            }
            OpSpec::RecoveryGarbage(text) => {
                if alnum_like(text) {
                    if let Ok(step) = e.use_recovery_code(&subject, old, text, now) {
                        put(&step.write);
                    }
                } else {
                    recover(&ctx, &subject, &mut stored, &mut model, text, None, now);
                }
            }
            OpSpec::Corrupt { at, byte } => {
                let Some(text) = old else { continue };
                let mut bytes = text.as_bytes().to_vec();
                let i = usize::from(*at) % bytes.len();
                bytes[i] = *byte;
                let bad = String::from_utf8_lossy(&bytes).into_owned();
                let bad = Some(bad.as_str());
                // No panic; what is written from it is a valid record; nothing is kept.
                let _ = e.status(bad);
                let _ = e.pending_replacement(bad, now);
                for w in [
                    e.check(&subject, bad, "123456", now).map(|s| s.write),
                    e.cancel_replacement(&subject, bad, now, None)
                        .map(|s| s.write),
                    e.use_recovery_code(&subject, bad, "0123456789", now)
                        .map(|s| s.write),
                    e.enroll(
                        &subject,
                        bad,
                        now,
                        &EnrollOptions {
                            replace: true,
                            ..EnrollOptions::default()
                        },
                        &entropy(*byte, 0),
                    )
                    .map(|s| s.write),
                ]
                .iter()
                .flatten()
                {
                    put(w);
                }
            }
            OpSpec::BadNow(extra) => {
                let late = MAX_TIME + u64::from(*extra);
                is_bad_now(e.check(&subject, old, "123456", late));
                is_bad_now(e.pending_replacement(old, late));
                is_bad_now(e.cancel_replacement(&subject, old, late, None));
                is_bad_now(e.use_recovery_code(&subject, old, "0123456789", late));
                is_bad_now(e.enroll(
                    &subject,
                    old,
                    late,
                    &EnrollOptions::default(),
                    &entropy(0, 0),
                ));
            }
        }
    }
});

/// Runs `check` for `text` and compares it with the model (applying what it writes).
fn check(
    ctx: &Ctx,
    subject: &Subject<'_>,
    stored: &mut Option<String>,
    model: &mut Option<Enr>,
    text: &str,
    now: Millis,
    n: usize,
) {
    let step = ctx
        .engine
        .check(subject, stored.as_deref(), text, now)
        .unwrap_or_else(|e| panic!("step {n}: {e:?}"));
    let Some(m) = model.as_ref() else {
        assert_eq!(step.answer, TotpVerdict::NoEnrollment);
        assert_eq!(step.write, TotpWrite::Nothing);
        return;
    };
    let value = typed_value(text, ctx.digits);
    let (verdict, next) = ctx.check(m, value, now);
    assert_eq!(step.answer, verdict, "step {n}: {m:?}");
    match next {
        Some(next) => {
            *stored = put(&step.write);
            assert!(stored.is_some(), "step {n}: {verdict:?} writes");
            same_state(stored.as_deref().unwrap(), &next);
            *model = Some(next);
        }
        None => assert_eq!(step.write, TotpWrite::Nothing, "step {n}: {verdict:?}"),
    }
}

/// What the model reads in a typed TOTP code (separators dropped, full-width digits
/// folded); `None` when it is not exactly `digits` digits.
fn typed_value(text: &str, digits: u32) -> Option<u32> {
    let folded: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\n' | '\u{3000}' | '\u{2010}' | '\u{a0}'))
        .map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect();
    (folded.len() == digits as usize && folded.bytes().all(|b| b.is_ascii_digit()))
        .then(|| folded.parse().ok())
        .flatten()
}

/// Runs `use_recovery_code` for `text` (which reads as `canonical`) against the model.
fn recover(
    ctx: &Ctx,
    subject: &Subject<'_>,
    stored: &mut Option<String>,
    model: &mut Option<Enr>,
    text: &str,
    canonical: Option<&str>,
    now: Millis,
) {
    let step = ctx
        .engine
        .use_recovery_code(subject, stored.as_deref(), text, now)
        .unwrap();
    let Some(m) = model.as_ref() else {
        assert_eq!(step.answer, RecoveryVerdict::NoEnrollment);
        assert_eq!(step.write, TotpWrite::Nothing);
        return;
    };
    let (verdict, next) = ctx.recovery(m, canonical, now);
    assert_eq!(step.answer, verdict, "{m:?}");
    match next {
        Some(next) => {
            *stored = put(&step.write);
            same_state(stored.as_deref().unwrap(), &next);
            *model = Some(next);
        }
        None => assert_eq!(step.write, TotpWrite::Nothing),
    }
}
