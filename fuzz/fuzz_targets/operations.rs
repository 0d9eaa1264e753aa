//! Sequences of operations, with clock jumps, against a reference model.
//!
//! The input (built with `arbitrary`) is a policy (small code spaces are likely: small
//! alphabets, short codes; cooldown and limits on or off, short windows), optionally a
//! second policy sharing the same store, a start time and up to 64 steps. Each step
//! moves the clock and runs one operation. Every operation is run three ways: directly
//! on the `Record`, through `Engine::apply` on its wire form and through
//! `Engine::apply_with` (entropy on demand); all must agree.
//!
//! Checked at every step:
//! - no panic; the answer, and the record written, are exactly what the reference model
//!   (the contract's semantics, written out below independently of `src/engine.rs`)
//!   predicts: verify order none/locked/used/revoked/expired/exhausted/compare, attempt
//!   and failure-budget bookkeeping, cooldown/issue-limit/lockout refusals and their
//!   `retry_after_ms`, generate's active-code check (outside a lockout), reset/invalidate
//!   answers;
//! - answers that must not write do not write, and no write is a no-op;
//! - every written record round-trips through its wire form (at most 160 bytes) and is a
//!   possible state (`attempts <= max_attempts <= 1000`, `expires_at > created_at`);
//! - only the current code can verify: every code issued earlier never verifies, unless
//!   it happens to equal the current code's value (possible across cycles in a small
//!   space); a wrong code never verifies;
//! - issuing walks the permutation: index + 1 with the same salt, or a new cycle (fresh
//!   salt, index 0, or 1 when the fresh first code equals the last one); no code repeats
//!   within a cycle; consecutive codes differ;
//! - `now` at or beyond `MAX_TIME` is an argument error for every operation taking it;
//! - `apply` on an arbitrary stored string never panics, and answers `CorruptRecord` or
//!   exactly what the operation gives on the decoded record;
//! - `apply_with` (entropy on demand) gives the same result as `apply`, draws a salt
//!   exactly when a new cycle starts and at most once, and answers `EntropyUnavailable`
//!   exactly then when the source gives nothing;
//! - after a refusal, waiting exactly `retry_after_ms` is enough to be issued a code,
//!   and one millisecond less is not.
#![no_main]

use arbitrary::Arbitrary;
use edge_otp::{
    Answer, Config, DecodeError, Engine, Error, Issue, Limit, Limited, Op, OtpView, Policy, Record,
    Status, Subject, Verdict, MAX_TIME,
};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

const MAX_STEPS: usize = 64;
/// How many earlier codes are re-submitted (on a copy of the state) after each step.
const HISTORY: usize = 24;

// ---------------------------------------------------------------------------------
// Input

#[derive(Arbitrary, Debug, Clone)]
struct Input {
    main: PolicySpec,
    other: Option<PolicySpec>,
    user: UserChoice,
    start: Start,
    steps: Vec<StepSpec>,
}

#[derive(Arbitrary, Debug, Clone)]
struct PolicySpec {
    alphabet: u8,
    length: u8,
    ttl: Dur,
    max_attempts: Attempts,
    cooldown: Option<Dur>,
    issue_limit: Option<(Count, Dur)>,
    failure_limit: Option<(Count, Dur)>,
    secret: u8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Dur {
    S1,
    S2,
    S5,
    S30,
    M1,
    H1,
    D30,
    Any(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Count {
    One,
    Two,
    Three,
    Five,
    Any(u32),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Attempts {
    One,
    Two,
    Three,
    Ten,
    Any(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum UserChoice {
    Ada,
    Bob,
    Longest,
    Unicode,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Start {
    Typical,
    Zero,
    NearMax(u32),
    Any(u64),
}

#[derive(Arbitrary, Debug, Clone)]
struct StepSpec {
    jump: Jump,
    action: Action,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Jump {
    Stay,
    Ms(u16),
    Secs(u16),
    Hours(u8),
    Back(u32),
    ToMax(u32),
    Abs(u64),
    /// To within 3 ms of an edge of the stored record: its expiry, the end of its
    /// cooldown, of its issue window or of its failure window.
    Edge {
        which: u8,
        delta: i8,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum OpKind {
    Create,
    Generate,
    Latest,
    VerifyCurrent,
    VerifyWrong,
    ResetAttempts,
    Invalidate,
}

#[derive(Arbitrary, Debug, Clone)]
enum Action {
    Create {
        salt: u8,
    },
    Generate {
        salt: u8,
    },
    VerifyCurrent {
        style: u8,
    },
    VerifyWrong {
        delta: u8,
    },
    VerifyPrevious {
        back: u8,
    },
    VerifyText(String),
    Latest,
    ResetAttempts,
    Invalidate,
    /// `apply` on an arbitrary stored string; adopt it as the stored value if it decodes.
    Raw {
        op: OpKind,
        text: String,
        adopt: bool,
    },
    /// Set one numeric field of the stored wire form; adopt the result if it decodes.
    Tamper {
        field: u8,
        value: TamperValue,
    },
    /// The operation through the second engine (another policy, same store).
    Other {
        op: OpKind,
        salt: u8,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum TamperValue {
    Zero,
    One,
    Small(u8),
    Now(i16),
    MaxTime(u16),
    Any(u64),
}

// ---------------------------------------------------------------------------------
// Policies

const ALPHABETS: [&str; 9] = [
    "01",
    "012",
    "0123456789",
    "ABCDEF",
    "abc",
    "aB",
    "XYZ",
    "ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
    // 64 printable characters (quotes and backslash included), mixed case.
    "!\"#$%&'()*+,./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`a",
];

fn secs(d: Dur) -> u64 {
    match d {
        Dur::S1 => 1,
        Dur::S2 => 2,
        Dur::S5 => 5,
        Dur::S30 => 30,
        Dur::M1 => 60,
        Dur::H1 => 3600,
        Dur::D30 => 2_592_000,
        Dur::Any(n) => 1 + u64::from(n) % 2_592_000,
    }
}

fn count(c: Count) -> u32 {
    match c {
        Count::One => 1,
        Count::Two => 2,
        Count::Three => 3,
        Count::Five => 5,
        Count::Any(n) => 1 + n % 1_000_000,
    }
}

/// The policy's values as the model uses them (milliseconds).
#[derive(Debug, Clone)]
struct Params {
    ttl: u64,
    max_attempts: u32,
    length: usize,
    alphabet: &'static str,
    /// `Some(true)`: fold input to upper case; `Some(false)`: to lower; `None`: as is.
    fold_upper: Option<bool>,
    cooldown: u64,
    issue: Option<(u32, u64)>,
    failure: Option<(u32, u64)>,
    space: u64,
}

fn build(spec: &PolicySpec) -> (Engine, Params) {
    let alphabet = ALPHABETS[usize::from(spec.alphabet) % ALPHABETS.len()];
    // Short codes are far more likely: the interesting behaviour (cycles, repeats) lives
    // in small spaces.
    let length = match spec.length {
        0..=159 => 1 + usize::from(spec.length % 3),
        160..=223 => 4 + usize::from(spec.length % 3),
        _ => 1 + usize::from(spec.length % 10),
    };
    let max_attempts = match spec.max_attempts {
        Attempts::One => 1,
        Attempts::Two => 2,
        Attempts::Three => 3,
        Attempts::Ten => 10,
        Attempts::Any(n) => 1 + u32::from(n) % 1000,
    };
    let mut secret = b"fuzzing secret, 16+ bytes: ".to_vec();
    secret.push(spec.secret);
    let mut c = Config::new(secret);
    c.ttl_seconds = secs(spec.ttl);
    c.max_attempts = max_attempts;
    c.length = length;
    c.alphabet = alphabet.into();
    c.resend_cooldown_seconds = spec.cooldown.map_or(0, secs);
    c.issue_limit = spec.issue_limit.map(|(n, w)| Limit {
        count: count(n),
        window_seconds: secs(w),
    });
    c.failure_limit = spec.failure_limit.map(|(n, w)| Limit {
        count: count(n),
        window_seconds: secs(w),
    });
    let upper = alphabet.bytes().any(|b| b.is_ascii_uppercase());
    let lower = alphabet.bytes().any(|b| b.is_ascii_lowercase());
    let params = Params {
        ttl: c.ttl_seconds * 1000,
        max_attempts,
        length,
        alphabet,
        fold_upper: match (upper, lower) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        },
        cooldown: c.resend_cooldown_seconds * 1000,
        issue: c.issue_limit.map(|l| (l.count, l.window_seconds * 1000)),
        failure: c.failure_limit.map(|l| (l.count, l.window_seconds * 1000)),
        space: (alphabet.len() as u64).pow(length as u32),
    };
    let policy = Policy::new(c).expect("every generated policy is valid");
    assert_eq!(policy.code_space(), params.space);
    assert_eq!(policy.ttl_ms(), params.ttl);
    assert_eq!(policy.resend_cooldown_ms(), params.cooldown);
    (Engine::new(policy), params)
}

// ---------------------------------------------------------------------------------
// The wire form, read field by field (the record's fields are private to the crate)

#[derive(Debug, Clone, PartialEq, Eq)]
struct Wire {
    salt: String,
    index: u64,
    created: u64,
    expires: u64,
    attempts: u64,
    max: u64,
    state: u64,
    failures_since: u64,
    failures: u64,
    issues_since: u64,
    issues: u64,
}

impl Wire {
    fn of(r: &Record) -> Wire {
        let s = r.encode();
        let rest = s
            .strip_prefix("[1,\"")
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or_else(|| panic!("unexpected wire form {s}"));
        let (salt, nums) = rest.split_at(32);
        let nums = nums.strip_prefix("\",").expect("salt is 32 hex digits");
        let n: Vec<u64> = nums.split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(n.len(), 10, "{s}");
        Wire {
            salt: salt.to_string(),
            index: n[0],
            created: n[1],
            expires: n[2],
            attempts: n[3],
            max: n[4],
            state: n[5],
            failures_since: n[6],
            failures: n[7],
            issues_since: n[8],
            issues: n[9],
        }
    }

    fn fields(&self) -> [u64; 10] {
        [
            self.index,
            self.created,
            self.expires,
            self.attempts,
            self.max,
            self.state,
            self.failures_since,
            self.failures,
            self.issues_since,
            self.issues,
        ]
    }

    fn encode(salt: &str, f: [u64; 10]) -> String {
        let mut s = format!("[1,\"{salt}\"");
        for v in f {
            s.push(',');
            s.push_str(&v.to_string());
        }
        s.push(']');
        s
    }
}

fn hex(salt: &[u8; 16]) -> String {
    salt.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every record the engine hands out must be storable and possible.
fn check_record(r: &Record) {
    let wire = r.encode();
    assert!(wire.len() <= 160, "{} bytes: {wire}", wire.len());
    let back = Record::decode(&wire)
        .unwrap_or_else(|e| panic!("written record does not decode: {wire} -> {e:?}"));
    assert_eq!(&back, r, "{wire}");
    assert!(r.attempts() <= r.max_attempts(), "{wire}");
    assert!((1..=1000).contains(&r.max_attempts()), "{wire}");
    assert!(r.expires_at() > r.created_at(), "{wire}");
}

// ---------------------------------------------------------------------------------
// The reference model: the contract's semantics, written from the spec

/// A cycle is the whole space, or 2^53 issues where the space is larger (every stored
/// index stays an exact JavaScript number).
const MAX_CYCLE: u64 = 1 << 53;

fn window_left(since: u64, window: u64, now: u64) -> Option<u64> {
    let end = since.saturating_add(window);
    (now < end).then(|| end - now)
}

fn locked(p: &Params, w: &Wire, now: u64) -> Option<u64> {
    let (count, window) = p.failure?;
    if w.failures < u64::from(count) {
        return None;
    }
    window_left(w.failures_since, window, now)
}

fn status(p: &Params, w: &Wire, now: u64) -> Status {
    match w.state {
        1 => Status::Used,
        2 => Status::Superseded,
        _ if w.index >= p.space => Status::Superseded,
        _ if now >= w.expires => Status::Expired,
        _ if w.attempts >= w.max => Status::Exhausted,
        _ => Status::Active,
    }
}

fn normalize(p: &Params, submitted: &str) -> String {
    // Full-width forms fold to ASCII; white space and dashes are separators.
    submitted
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
            c => c,
        })
        .filter(|&c| {
            !(c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}'))
        })
        .map(|c| match p.fold_upper {
            Some(true) => c.to_ascii_uppercase(),
            Some(false) => c.to_ascii_lowercase(),
            None => c,
        })
        .collect()
}

/// The refusal `create` must give, if any: every rule that refuses counts and the
/// longest wait is reported (on a tie, the first of lockout, cooldown, issue limit), so
/// that waiting exactly `retry_after_ms` suffices.
fn refusal(p: &Params, w: &Wire, now: u64) -> Option<(u64, Limited)> {
    let mut rules = Vec::new();
    rules.push((locked(p, w, now), Limited::LockedOut));
    if w.state != 1 && p.cooldown > 0 {
        rules.push((window_left(w.created, p.cooldown, now), Limited::Cooldown));
    }
    if let Some((count, window)) = p.issue {
        if w.issues >= u64::from(count) {
            rules.push((
                window_left(w.issues_since, window, now),
                Limited::IssueLimit,
            ));
        }
    }
    let mut longest: Option<(u64, Limited)> = None;
    for (wait, why) in rules {
        if let Some(wait) = wait {
            if longest.is_none_or(|(l, _)| wait > l) {
                longest = Some((wait, why));
            }
        }
    }
    longest
}

/// The expected verdict of `verify`, and the expected record written. `code` is the
/// current code as text (None when the record's index is outside the space).
fn expect_verify(
    p: &Params,
    w: Option<&Wire>,
    code: Option<&str>,
    submitted: &str,
    now: u64,
) -> (Verdict, Option<Wire>) {
    let Some(w) = w else {
        return (Verdict::NoOtp, None);
    };
    if let Some(retry_after_ms) = locked(p, w, now) {
        return (Verdict::LockedOut { retry_after_ms }, None);
    }
    match status(p, w, now) {
        Status::Used => return (Verdict::Used, None),
        Status::Superseded => return (Verdict::NoOtp, None),
        Status::Expired => return (Verdict::Expired, None),
        Status::Exhausted => return (Verdict::Exhausted, None),
        Status::Active => {}
    }
    let code = code.expect("an active record's index is in the space");
    let mut next = w.clone();
    if normalize(p, submitted) == code {
        next.state = 1;
        next.failures = 0;
        return (Verdict::Verified, Some(next));
    }
    next.attempts += 1;
    if let Some((_, window)) = p.failure {
        if w.failures == 0 || window_left(w.failures_since, window, now).is_none() {
            next.failures_since = now;
            next.failures = 1;
        } else {
            next.failures = (w.failures + 1).min(u64::from(u32::MAX));
        }
    }
    // What the code allows, or fewer when the failure budget has fewer left.
    let code_left = next.max - next.attempts;
    let attempts_left = match p.failure {
        Some((count, _)) => code_left.min(u64::from(count).saturating_sub(next.failures)),
        None => code_left,
    } as u32;
    (Verdict::Invalid { attempts_left }, Some(next))
}

// ---------------------------------------------------------------------------------
// Running an operation both ways

fn op_of<'a>(kind: OpKind, right: &'a str, wrong: &'a str) -> Op<'a> {
    match kind {
        OpKind::Create => Op::Create,
        OpKind::Generate => Op::Generate,
        OpKind::Latest => Op::Latest,
        OpKind::VerifyCurrent => Op::Verify(right),
        OpKind::VerifyWrong => Op::Verify(wrong),
        OpKind::ResetAttempts => Op::ResetAttempts,
        OpKind::Invalidate => Op::Invalidate,
    }
}

type Ran = Result<(Answer, Option<Record>), Error>;

fn direct(
    e: &Engine,
    op: Op<'_>,
    s: &Subject<'_>,
    r: Option<&Record>,
    now: u64,
    salt: [u8; 16],
) -> Ran {
    Ok(match op {
        Op::Create => {
            let st = e.create(s, r, now, salt)?;
            (Answer::Issue(st.answer), st.write)
        }
        Op::Generate => {
            let st = e.generate(s, r, now, salt)?;
            (Answer::Issue(st.answer), st.write)
        }
        Op::Latest => (Answer::Latest(e.latest(s, r, now)?), None),
        Op::Verify(code) => {
            let st = e.verify(s, r, code, now)?;
            (Answer::Verdict(st.answer), st.write)
        }
        Op::ResetAttempts => {
            let st = e.reset_attempts(r);
            (Answer::Flag(st.answer), st.write)
        }
        Op::Invalidate => {
            let st = e.invalidate(r, now)?;
            (Answer::Flag(st.answer), st.write)
        }
        // The per-call forms (the generator does not produce them yet; `direct` still
        // answers them so that every operation can be compared with `apply`).
        Op::CreateWith(o) => {
            let st = e.issue(s, r, now, &mut || Some(salt), o)?;
            (Answer::Issue(st.answer), st.write)
        }
        Op::GenerateWith(o) => {
            let st = e.generate_issue(s, r, now, &mut || Some(salt), o)?;
            (Answer::Issue(st.answer), st.write)
        }
        Op::Check { code, consume } => {
            let st = e.check(s, r, code, now, consume)?;
            (Answer::Verdict(st.answer), st.write)
        }
        Op::Token(token) => {
            let st = e.verify_token(s, r, token, now)?;
            (Answer::Verdict(st.answer), st.write)
        }
    })
}

/// Runs `op` directly and through `apply` on the wire form; both must agree. Also
/// through `apply_with` with entropy on demand: the same result, the source called at
/// most once, and with a source that gives nothing, `EntropyUnavailable` exactly when it
/// was called. Returns the result and whether a fresh salt was drawn.
fn run(
    e: &Engine,
    op: Op<'_>,
    s: &Subject<'_>,
    r: Option<&Record>,
    now: u64,
    salt: [u8; 16],
) -> (Ran, bool) {
    let d = direct(e, op, s, r, now, salt);
    let wire = r.map(Record::encode);
    let a = e.apply(op, s, wire.as_deref(), now, salt);
    let mut calls = 0;
    let lazy = e.apply_with(op, s, wire.as_deref(), now, &mut || {
        calls += 1;
        Some(salt)
    });
    assert_eq!(lazy, a, "apply_with disagrees with apply ({op:?})");
    assert!(calls <= 1, "entropy drawn {calls} times");
    let drew = calls == 1;
    let dry = e.apply_with(op, s, wire.as_deref(), now, &mut || None);
    if drew {
        assert_eq!(dry, Err(Error::EntropyUnavailable), "{op:?}");
    } else {
        assert_eq!(dry, a, "no entropy needed, yet the result differs ({op:?})");
    }
    match (&d, &a) {
        (Ok((answer, write)), Ok(out)) => {
            assert_eq!(
                answer, &out.answer,
                "apply disagrees on the answer ({op:?})"
            );
            assert_eq!(
                write.as_ref().map(Record::encode),
                out.write,
                "apply disagrees on the write ({op:?})"
            );
        }
        (Err(x), Err(y)) => assert_eq!(x, y, "apply disagrees on the error ({op:?})"),
        _ => panic!("direct {d:?} vs apply {a:?} ({op:?})"),
    }
    (d, drew)
}

/// The checks that hold for any engine and any operation: errors only for `now` out
/// of range, no writes where none are allowed, no no-op writes, every write storable,
/// and the answer and write exactly as the model predicts.
#[allow(clippy::too_many_arguments)]
fn check_op(
    p: &Params,
    e: &Engine,
    s: &Subject<'_>,
    op: Op<'_>,
    before: Option<&Record>,
    now: u64,
    salt: [u8; 16],
    ran: &Ran,
    drew: bool,
) {
    let takes_now = !matches!(op, Op::ResetAttempts);
    if takes_now && now >= MAX_TIME {
        assert!(
            matches!(
                ran,
                Err(Error::InvalidArgument {
                    argument: "now",
                    ..
                })
            ),
            "now {now} at or beyond MAX_TIME accepted: {ran:?}"
        );
        return;
    }
    let (answer, write) = match ran {
        Ok(x) => x,
        Err(err) => panic!("{op:?} failed on a valid record at {now}: {err:?}"),
    };
    if !matches!(answer, Answer::Issue(Issue::Issued(_))) {
        assert!(!drew, "entropy drawn for {answer:?}");
    }
    let wb = before.map(Wire::of);
    if let Some(w) = write {
        check_record(w);
        assert_ne!(Some(w), before, "no-op write ({op:?})");
    }
    let ww = write.as_ref().map(Wire::of);
    // The current code as the engine renders it (used to predict verify's comparison).
    let current = before
        .filter(|r| Wire::of(r).index < p.space)
        .and_then(|r| e.latest(s, Some(r), now).ok().flatten())
        .map(|v| v.code.as_str().to_string());
    match (op, answer) {
        (Op::Create | Op::Generate, Answer::Issue(issue)) => {
            // generate points to an active code, except during a lockout (the code cannot
            // verify then): it is refused as create is.
            let active = wb.as_ref().is_some_and(|w| {
                status(p, w, now) == Status::Active && locked(p, w, now).is_none()
            });
            if matches!(op, Op::Generate) && active {
                let w = wb.as_ref().unwrap();
                assert_eq!(
                    issue,
                    &Issue::ActiveOtpExists {
                        expires_at: w.expires
                    }
                );
                assert!(write.is_none());
                return;
            }
            let refused = wb.as_ref().and_then(|w| refusal(p, w, now));
            match (issue, refused) {
                (
                    Issue::RateLimited {
                        retry_after_ms,
                        reason,
                    },
                    Some((wait, why)),
                ) => {
                    assert_eq!((*retry_after_ms, *reason), (wait, why));
                    assert!(*retry_after_ms > 0);
                    assert!(write.is_none(), "a refusal writes");
                    // Waiting exactly that long suffices (and a millisecond less does not).
                    if now + wait < MAX_TIME {
                        let st = e.create(s, before, now + wait, salt).unwrap();
                        assert!(
                            matches!(st.answer, Issue::Issued(_)),
                            "refused {why:?} for {wait} ms, then {:?}",
                            st.answer
                        );
                        let st = e.create(s, before, now + wait - 1, salt).unwrap();
                        assert!(
                            matches!(st.answer, Issue::RateLimited { .. }),
                            "refused for {wait} ms but issued after {} ms",
                            wait - 1
                        );
                    }
                }
                (Issue::Issued(view), None) => {
                    let w = ww.as_ref().expect("issuing writes");
                    check_issued(p, wb.as_ref(), w, view, now, salt);
                    // Entropy is drawn exactly when a new cycle starts.
                    let new_cycle = wb
                        .as_ref()
                        .is_none_or(|b| b.index + 1 >= p.space.min(MAX_CYCLE));
                    assert_eq!(
                        drew, new_cycle,
                        "salt drawn: {drew}, new cycle: {new_cycle}"
                    );
                }
                (got, want) => panic!("{op:?}: got {got:?}, model expects refusal {want:?}"),
            }
        }
        (Op::Latest, Answer::Latest(view)) => {
            assert!(write.is_none());
            match (&wb, view) {
                (None, None) => {}
                (Some(w), Some(v)) => check_view(p, w, v, now),
                _ => panic!("latest: {view:?} for {wb:?}"),
            }
        }
        (Op::Verify(submitted), Answer::Verdict(verdict)) => {
            let (want, want_write) =
                expect_verify(p, wb.as_ref(), current.as_deref(), submitted, now);
            assert_eq!(*verdict, want, "verify {submitted:?} at {now} on {wb:?}");
            assert_eq!(ww, want_write, "verify write");
            if let (Some(w), Verdict::Invalid { .. }) = (&ww, verdict) {
                if let Some((count, _)) = p.failure {
                    assert!(w.failures <= u64::from(count), "failure budget overrun");
                }
            }
        }
        (Op::ResetAttempts, Answer::Flag(flag)) => {
            let Some(w) = &wb else {
                assert!(!flag && write.is_none());
                return;
            };
            assert_eq!(*flag, w.state == 0);
            let mut next = w.clone();
            if w.state == 0 {
                next.attempts = 0;
            }
            next.failures = 0;
            let want = (next != *w).then_some(next);
            assert_eq!(ww, want, "reset_attempts write");
        }
        (Op::Invalidate, Answer::Flag(flag)) => {
            let Some(w) = &wb else {
                assert!(!flag && write.is_none());
                return;
            };
            let st = status(p, w, now);
            assert_eq!(*flag, st == Status::Active);
            let want = matches!(st, Status::Active | Status::Exhausted).then(|| {
                let mut next = w.clone();
                next.state = 2;
                next
            });
            assert_eq!(ww, want, "invalidate write");
        }
        (op, answer) => panic!("{op:?} answered {answer:?}"),
    }
}

fn check_view(p: &Params, w: &Wire, v: &OtpView, now: u64) {
    assert_eq!(v.status, status(p, w, now), "status of {w:?} at {now}");
    assert_eq!(
        (
            v.created_at,
            v.expires_at,
            u64::from(v.attempts),
            u64::from(v.max_attempts)
        ),
        (w.created, w.expires, w.attempts, w.max)
    );
    let code = v.code.as_str();
    assert_eq!(code.len(), p.length);
    assert!(code.bytes().all(|b| p.alphabet.as_bytes().contains(&b)));
}

fn check_issued(
    p: &Params,
    before: Option<&Wire>,
    w: &Wire,
    v: &OtpView,
    now: u64,
    salt: [u8; 16],
) {
    assert_eq!(v.status, Status::Active, "a new code is active");
    assert_eq!(v.attempts, 0);
    check_view(p, w, v, now);
    // The expiry is clamped so that every stored time stays within MAX_TIME.
    assert_eq!((w.created, w.expires), (now, (now + p.ttl).min(MAX_TIME)));
    assert_eq!(
        (w.attempts, w.max, w.state),
        (0, u64::from(p.max_attempts), 0)
    );
    match before {
        None => {
            assert_eq!((w.salt.as_str(), w.index), (hex(&salt).as_str(), 0));
            assert_eq!((w.failures_since, w.failures), (now, 0));
            assert_eq!((w.issues_since, w.issues), (now, 1));
        }
        Some(b) => {
            if b.index + 1 < p.space.min(MAX_CYCLE) {
                assert_eq!(
                    (&w.salt, w.index),
                    (&b.salt, b.index + 1),
                    "cycle continues"
                );
            } else {
                assert_eq!(w.salt, hex(&salt), "a new cycle takes the fresh salt");
                assert!(w.index <= 1, "a new cycle starts at 0 (or 1): {}", w.index);
            }
            assert_eq!(
                (w.failures_since, w.failures),
                (b.failures_since, b.failures)
            );
            let (since, issues) = match p.issue {
                Some((count, window)) if window_left(b.issues_since, window, now).is_some() => {
                    assert!(b.issues < u64::from(count));
                    (b.issues_since, b.issues + 1)
                }
                Some(_) => (now, 1),
                None => (b.issues_since, (b.issues + 1).min(u64::from(u32::MAX))),
            };
            assert_eq!((w.issues_since, w.issues), (since, issues));
            if let Some((count, _)) = p.issue {
                assert!(w.issues <= u64::from(count), "issue limit overrun");
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// What the harness knows about the main engine's codes

#[derive(Default, Debug)]
struct Known {
    /// The current code, when the main engine issued it (and nothing has tampered since).
    current: Option<String>,
    /// Codes issued earlier (newest last).
    earlier: Vec<String>,
    /// Codes issued in the current cycle.
    cycle: HashSet<String>,
}

impl Known {
    fn forget(&mut self) {
        *self = Known::default();
    }
}

fn wrong_code(p: &Params, code: &str, delta: u8) -> String {
    let a = p.alphabet.as_bytes();
    let mut bytes = code.as_bytes().to_vec();
    let i = usize::from(delta) % bytes.len();
    let pos = a.iter().position(|&c| c == bytes[i]).unwrap();
    let shift = 1 + usize::from(delta / 16) % (a.len() - 1);
    bytes[i] = a[(pos + shift) % a.len()];
    String::from_utf8(bytes).unwrap()
}

fn decorate(code: &str, style: u8) -> String {
    match style % 6 {
        0 => code.to_string(),
        1 => code.chars().flat_map(|c| [c, ' ']).collect(),
        2 => code.chars().flat_map(|c| ['-', c]).collect(),
        3 => code.to_ascii_lowercase(),
        4 => code.to_ascii_uppercase(),
        _ => format!(" {code}\t"),
    }
}

fn user(u: UserChoice) -> String {
    match u {
        UserChoice::Ada => "ada@example.com".into(),
        UserChoice::Bob => "bob".into(),
        UserChoice::Longest => "u".repeat(256),
        UserChoice::Unicode => "Zoë 🦀 用户".into(),
    }
}

fuzz_target!(|input: Input| {
    let (main, mp) = build(&input.main);
    let other = input.other.as_ref().map(build);
    let user = user(input.user);
    let subject = Subject::new("login", &user).unwrap();
    let mut now: u64 = match input.start {
        Start::Typical => 1_700_000_000_000,
        Start::Zero => 0,
        Start::NearMax(d) => MAX_TIME - u64::from(d),
        Start::Any(t) => t % (MAX_TIME + 1),
    };
    let mut stored: Option<Record> = None;
    let mut known = Known::default();

    for step in input.steps.iter().take(MAX_STEPS) {
        now = match step.jump {
            Jump::Stay => now,
            Jump::Ms(n) => now.saturating_add(u64::from(n)),
            Jump::Secs(n) => now.saturating_add(u64::from(n) * 1000),
            Jump::Hours(n) => now.saturating_add(u64::from(n) * 3_600_000),
            Jump::Back(n) => now.saturating_sub(u64::from(n)),
            Jump::ToMax(n) => MAX_TIME.saturating_sub(u64::from(n)),
            Jump::Abs(t) => t,
            Jump::Edge { which, delta } => match &stored {
                None => now,
                Some(r) => {
                    let w = Wire::of(r);
                    let edge = match which % 4 {
                        0 => w.expires,
                        1 => w.created + mp.cooldown,
                        2 => w.issues_since + mp.issue.map_or(0, |(_, win)| win),
                        _ => w.failures_since + mp.failure.map_or(0, |(_, win)| win),
                    };
                    edge.saturating_add_signed(i64::from(delta % 4))
                }
            },
        };
        let current = stored
            .as_ref()
            .filter(|r| Wire::of(r).index < mp.space)
            .and_then(|r| {
                main.latest(&subject, Some(r), now.min(MAX_TIME - 1))
                    .ok()
                    .flatten()
            })
            .map(|v| v.code.as_str().to_string());
        let right = current
            .clone()
            .unwrap_or_else(|| mp.alphabet[..1].repeat(mp.length));
        let wrong = wrong_code(&mp, &right, 0);

        match &step.action {
            Action::Raw { op, text, adopt } => {
                let op = op_of(*op, &right, &wrong);
                let got = main.apply(op, &subject, Some(text), now, [0x5a; 16]);
                match Record::decode(text) {
                    Err(e) => {
                        let want: Result<(), Error> = Err(Error::CorruptRecord(e));
                        assert_eq!(got.map(|_| ()), want, "corrupt {text:?}");
                    }
                    Ok(r) => {
                        let d = direct(&main, op, &subject, Some(&r), now, [0x5a; 16]);
                        match (&d, &got) {
                            (Ok((answer, write)), Ok(out)) => {
                                assert_eq!(answer, &out.answer);
                                assert_eq!(write.as_ref().map(Record::encode), out.write);
                            }
                            (Err(x), Err(y)) => assert_eq!(x, y),
                            _ => panic!("raw {text:?}: direct {d:?} vs apply {got:?}"),
                        }
                        let mut calls = 0;
                        let lazy = main.apply_with(op, &subject, Some(text), now, &mut || {
                            calls += 1;
                            Some([0x5a; 16])
                        });
                        assert_eq!(lazy, got);
                        check_op(
                            &mp,
                            &main,
                            &subject,
                            op,
                            Some(&r),
                            now,
                            [0x5a; 16],
                            &d,
                            calls == 1,
                        );
                        if *adopt {
                            stored = Some(r);
                            known.forget();
                        }
                    }
                }
                continue;
            }
            Action::Tamper { field, value } => {
                let Some(r) = &stored else { continue };
                let w = Wire::of(r);
                let mut f = w.fields();
                let i = usize::from(*field) % 10;
                f[i] = match value {
                    TamperValue::Zero => 0,
                    TamperValue::One => 1,
                    TamperValue::Small(n) => u64::from(*n),
                    TamperValue::Now(d) => now.saturating_add_signed(i64::from(*d)),
                    TamperValue::MaxTime(d) => MAX_TIME.saturating_sub(u64::from(*d)),
                    TamperValue::Any(v) => *v,
                };
                let text = Wire::encode(&w.salt, f);
                match Record::decode(&text) {
                    Ok(t) => {
                        check_record(&t);
                        stored = Some(t);
                        // Index and state decide which code is current and whether it
                        // may verify: past that, what the harness knew no longer holds.
                        if i == 0 || i == 5 {
                            known.forget();
                        }
                    }
                    Err(DecodeError::Syntax) => panic!("tampered wire form {text} is syntax"),
                    Err(_) => {}
                }
                continue;
            }
            Action::Other { op, salt } => {
                let Some((oe, op_params)) = &other else {
                    continue;
                };
                let oright = stored
                    .as_ref()
                    .filter(|r| Wire::of(r).index < op_params.space)
                    .and_then(|r| {
                        oe.latest(&subject, Some(r), now.min(MAX_TIME - 1))
                            .ok()
                            .flatten()
                    })
                    .map(|v| v.code.as_str().to_string())
                    .unwrap_or_else(|| op_params.alphabet[..1].repeat(op_params.length));
                let owrong = wrong_code(op_params, &oright, 0);
                let op = op_of(*op, &oright, &owrong);
                let fresh = [*salt; 16];
                let (ran, drew) = run(oe, op, &subject, stored.as_ref(), now, fresh);
                check_op(
                    op_params,
                    oe,
                    &subject,
                    op,
                    stored.as_ref(),
                    now,
                    fresh,
                    &ran,
                    drew,
                );
                if let Ok((_, Some(w))) = ran {
                    stored = Some(w);
                    known.forget();
                }
                continue;
            }
            _ => {}
        }

        let submitted;
        let (op, fresh) = match &step.action {
            Action::Create { salt } => (Op::Create, [*salt; 16]),
            Action::Generate { salt } => (Op::Generate, [*salt; 16]),
            Action::VerifyCurrent { style } => {
                submitted = decorate(&right, *style);
                (Op::Verify(&submitted), [0; 16])
            }
            Action::VerifyWrong { delta } => {
                submitted = wrong_code(&mp, &right, *delta);
                (Op::Verify(&submitted), [0; 16])
            }
            Action::VerifyPrevious { back } => {
                submitted = if known.earlier.is_empty() {
                    right.clone()
                } else {
                    let n = known.earlier.len();
                    known.earlier[n - 1 - usize::from(*back) % n].clone()
                };
                (Op::Verify(&submitted), [0; 16])
            }
            Action::VerifyText(t) => (Op::Verify(t), [0; 16]),
            Action::Latest => (Op::Latest, [0; 16]),
            Action::ResetAttempts => (Op::ResetAttempts, [0; 16]),
            Action::Invalidate => (Op::Invalidate, [0; 16]),
            Action::Raw { .. } | Action::Tamper { .. } | Action::Other { .. } => unreachable!(),
        };
        let (ran, drew) = run(&main, op, &subject, stored.as_ref(), now, fresh);
        check_op(
            &mp,
            &main,
            &subject,
            op,
            stored.as_ref(),
            now,
            fresh,
            &ran,
            drew,
        );
        let Ok((answer, write)) = ran else { continue };

        if let Answer::Issue(Issue::Issued(view)) = &answer {
            let code = view.code.as_str().to_string();
            let new_cycle = match (&stored, &write) {
                (Some(b), Some(w)) => {
                    Wire::of(b).salt != Wire::of(w).salt || Wire::of(w).index <= Wire::of(b).index
                }
                _ => true,
            };
            if let Some(prev) = known.current.take() {
                assert_ne!(prev, code, "consecutive codes are equal");
                known.earlier.push(prev);
                if known.earlier.len() > HISTORY {
                    known.earlier.remove(0);
                }
            }
            if new_cycle {
                known.cycle.clear();
            }
            assert!(
                known.cycle.insert(code.clone()),
                "code repeats within a cycle"
            );
            known.current = Some(code);
        }
        if write.is_some() {
            stored = write;
        }

        // Only the current code can verify: re-submit every earlier code, the current
        // one and a wrong one on a copy of the state.
        if now >= MAX_TIME {
            continue;
        }
        let Some(r) = &stored else { continue };
        let w = Wire::of(r);
        let current = (w.index < mp.space)
            .then(|| main.latest(&subject, Some(r), now).unwrap().unwrap())
            .map(|v| v.code.as_str().to_string());
        if let Some(k) = &known.current {
            assert_eq!(
                Some(k),
                current.as_ref(),
                "latest shows another code than the one issued"
            );
        }
        for c in &known.earlier {
            if Some(c) == current.as_ref() {
                continue;
            }
            let st = main.verify(&subject, Some(r), c, now).unwrap();
            assert_ne!(st.answer, Verdict::Verified, "an earlier code verified");
        }
        if let Some(c) = &current {
            let st = main.verify(&subject, Some(r), c, now).unwrap();
            let (want, _) = expect_verify(&mp, Some(&w), Some(c), c, now);
            assert_eq!(st.answer, want, "the current code at {now} on {w:?}");
            let bad = wrong_code(&mp, c, now as u8);
            let st = main.verify(&subject, Some(r), &bad, now).unwrap();
            assert_ne!(st.answer, Verdict::Verified, "a wrong code verified");
        }
    }
});
