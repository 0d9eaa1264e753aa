//! Property tests: random sequences of operations and clock jumps under random policies,
//! checked step by step against a small reference model and a list of invariants; and
//! the never-repeat guarantee, checked exhaustively over whole cycles.

use edge_otp::{
    CodeState, Config, Engine, Issue, Limit, Limited, Millis, OtpView, Policy, Record, Status,
    Subject, Verdict, SALT_LEN,
};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::HashSet;

/// 2023-11-14T22:13:20Z.
const T0: Millis = 1_700_000_000_000;
const SECRET: &[u8] = b"property tests secret, 16+ bytes";

fn subject() -> Subject<'static> {
    Subject::new("login", "ada@example.com").unwrap()
}

fn salt_of(n: u64) -> [u8; SALT_LEN] {
    let mut s = [0u8; SALT_LEN];
    s[..8].copy_from_slice(&n.to_be_bytes());
    s
}

/// The numbers of a record's wire form:
/// `[index, createdAt, expiresAt, attempts, maxAttempts, state, failuresSince, failures,
/// issuesSince, issues]`, and the salt.
fn wire(r: &Record) -> (String, [u64; 10]) {
    let text = r.encode();
    let inner = text.strip_prefix('[').unwrap().strip_suffix(']').unwrap();
    let fields: Vec<&str> = inner.split(',').collect();
    assert_eq!(fields.len(), 12, "{text}");
    let mut n = [0u64; 10];
    for (slot, f) in n.iter_mut().zip(&fields[2..]) {
        *slot = f.parse().unwrap();
    }
    (fields[1].trim_matches('"').to_owned(), n)
}

// ---- the reference model ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Used,
    Revoked,
}

/// What the stored record must say, computed from the rules as the contract states them.
#[derive(Debug, Clone)]
struct Model {
    code: String,
    state: State,
    created_at: Millis,
    expires_at: Millis,
    attempts: u32,
    max_attempts: u32,
    failures_since: Millis,
    failures: u32,
    issues_since: Millis,
    issues: u32,
}

/// The policy's numbers in milliseconds, for the model.
#[derive(Debug, Clone)]
struct Rules {
    ttl: u64,
    max_attempts: u32,
    cooldown: u64,
    issue_limit: Option<(u32, u64)>,
    failure_limit: Option<(u32, u64)>,
    alphabet: String,
    length: usize,
}

impl Rules {
    fn of(c: &Config) -> Rules {
        let ms = |l: Option<Limit>| l.map(|l| (l.count, l.window_seconds * 1000));
        Rules {
            ttl: c.ttl_seconds * 1000,
            max_attempts: c.max_attempts,
            cooldown: c.resend_cooldown_seconds * 1000,
            issue_limit: ms(c.issue_limit),
            failure_limit: ms(c.failure_limit),
            alphabet: c.alphabet.clone(),
            length: c.length,
        }
    }

    fn space(&self) -> u64 {
        (self.alphabet.len() as u64).pow(self.length as u32)
    }

    /// The submitted text as the engine compares it: without spaces and hyphens, case
    /// folded when the alphabet has letters of one case only.
    fn normalize(&self, s: &str) -> String {
        let upper = self.alphabet.bytes().any(|b| b.is_ascii_uppercase());
        let lower = self.alphabet.bytes().any(|b| b.is_ascii_lowercase());
        // Full-width forms fold to ASCII; white space and dashes are separators.
        s.chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
                c => c,
            })
            .filter(|&c| {
                !(c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}'))
            })
            .map(|c| match (upper, lower) {
                (true, false) => c.to_ascii_uppercase(),
                (false, true) => c.to_ascii_lowercase(),
                _ => c,
            })
            .collect()
    }

    fn locked_for(&self, m: &Model, now: Millis) -> Option<u64> {
        let (count, window) = self.failure_limit?;
        let end = m.failures_since + window;
        (m.failures >= count && now < end).then(|| end - now)
    }

    fn status(&self, m: &Model, now: Millis) -> Status {
        match m.state {
            State::Used => Status::Used,
            State::Revoked => Status::Superseded,
            State::Active if now >= m.expires_at => Status::Expired,
            State::Active if m.attempts >= m.max_attempts => Status::Exhausted,
            State::Active => Status::Active,
        }
    }

    /// The expected refusal of `create`, if any: when several rules refuse, the longest
    /// wait (the first rule of lockout, cooldown, issue limit among equal waits).
    fn refusal(&self, m: &Model, now: Millis) -> Option<(u64, Limited)> {
        let mut refusals = Vec::new();
        if let Some(wait) = self.locked_for(m, now) {
            refusals.push((wait, Limited::LockedOut));
        }
        if m.state != State::Used && self.cooldown > 0 && now < m.created_at + self.cooldown {
            refusals.push((m.created_at + self.cooldown - now, Limited::Cooldown));
        }
        if let Some((count, window)) = self.issue_limit {
            let end = m.issues_since + window;
            if now < end && m.issues >= count {
                refusals.push((end - now, Limited::IssueLimit));
            }
        }
        refusals
            .into_iter()
            .reduce(|best, r| if r.0 > best.0 { r } else { best })
    }

    /// The model after issuing `code` at `now` (the refusal was checked before).
    fn issued(&self, m: Option<&Model>, code: String, now: Millis) -> Model {
        let (failures_since, failures, issues_since, issues) = match m {
            None => (now, 0, now, 1),
            Some(m) => {
                let (since, n) = match self.issue_limit {
                    Some((_, window)) if now < m.issues_since + window => {
                        (m.issues_since, m.issues + 1)
                    }
                    Some(_) => (now, 1),
                    None => (m.issues_since, m.issues + 1),
                };
                (m.failures_since, m.failures, since, n)
            }
        };
        Model {
            code,
            state: State::Active,
            created_at: now,
            expires_at: now + self.ttl,
            attempts: 0,
            max_attempts: self.max_attempts,
            failures_since,
            failures,
            issues_since,
            issues,
        }
    }

    /// The expected verdict, and the model after it.
    fn verify(&self, m: Option<&Model>, submitted: &str, now: Millis) -> (Verdict, Option<Model>) {
        let Some(m) = m else {
            return (Verdict::NoOtp, None);
        };
        if let Some(retry_after_ms) = self.locked_for(m, now) {
            return (Verdict::LockedOut { retry_after_ms }, None);
        }
        match self.status(m, now) {
            Status::Used => return (Verdict::Used, None),
            Status::Superseded => return (Verdict::NoOtp, None),
            Status::Expired => return (Verdict::Expired, None),
            Status::Exhausted => return (Verdict::Exhausted, None),
            Status::Active => {}
        }
        let mut next = m.clone();
        if self.normalize(submitted) == m.code {
            next.state = State::Used;
            next.failures = 0;
            return (Verdict::Verified, Some(next));
        }
        next.attempts += 1;
        if let Some((_, window)) = self.failure_limit {
            if m.failures == 0 || now >= m.failures_since + window {
                next.failures_since = now;
                next.failures = 1;
            } else {
                next.failures += 1;
            }
        }
        // What the code allows, or fewer when the failure budget has fewer left.
        let code_left = next.max_attempts - next.attempts;
        let attempts_left = match self.failure_limit {
            Some((count, _)) => code_left.min(count.saturating_sub(next.failures)),
            None => code_left,
        };
        (Verdict::Invalid { attempts_left }, Some(next))
    }
}

// ---- the simulation ----

#[derive(Debug, Clone, Copy)]
enum Boundary {
    Expiry,
    CooldownEnd,
    IssueWindowEnd,
    FailureWindowEnd,
    LastRetryAfter,
}

#[derive(Debug, Clone)]
enum Action {
    Create,
    Generate,
    VerifyRight,
    /// The right code as pasted or typed: with a separator or in full-width digits (or,
    /// one form in six, with an underscore, which is no separator).
    VerifyPasted(u8),
    VerifyWrong,
    /// A code issued earlier (any of them), submitted again.
    VerifyOld(Index),
    VerifyGarbage(String),
    Latest,
    ResetAttempts,
    Invalidate,
    /// Let time pass, in milliseconds.
    Wait(u64),
    /// Jump to a boundary, or 1 ms before or after it (`-1`, `0`, `1`), if it is ahead.
    ToBoundary(Boundary, i8),
}

struct Run {
    engine: Engine,
    rules: Rules,
    record: Option<Record>,
    model: Option<Model>,
    now: Millis,
    salts: u64,
    /// Every code issued so far, in order.
    issued: Vec<String>,
    /// When the last refusal or lockout said to retry, for `LastRetryAfter`.
    retry_at: Option<Millis>,
}

impl Run {
    fn new(config: Config) -> Run {
        let rules = Rules::of(&config);
        Run {
            engine: Engine::new(Policy::new(config).unwrap()),
            rules,
            record: None,
            model: None,
            now: T0,
            salts: 0,
            issued: Vec::new(),
            retry_at: None,
        }
    }

    fn fresh_salt(&mut self) -> [u8; SALT_LEN] {
        self.salts += 1;
        salt_of(self.salts)
    }

    fn current(&self) -> Option<&str> {
        self.model.as_ref().map(|m| m.code.as_str())
    }

    /// A code of the policy that is not the current one.
    fn wrong(&self) -> String {
        let alphabet = self.rules.alphabet.as_bytes();
        let mut code = match self.current() {
            Some(c) => c.as_bytes().to_vec(),
            None => vec![alphabet[0]; self.rules.length],
        };
        let last = code.last_mut().unwrap();
        let i = alphabet.iter().position(|a| a == last).unwrap();
        *last = alphabet[(i + 1) % alphabet.len()];
        String::from_utf8(code).unwrap()
    }

    /// Stores a write, checking that it survives the wire form.
    fn store(&mut self, write: Option<Record>) -> Result<bool, TestCaseError> {
        let Some(w) = write else { return Ok(false) };
        let text = w.encode();
        prop_assert!(text.len() <= 160, "{} bytes: {}", text.len(), text);
        let decoded = Record::decode(&text);
        prop_assert_eq!(decoded.as_ref(), Ok(&w), "{}", text);
        self.record = Some(w);
        Ok(true)
    }

    fn issue(&mut self, generate: bool) -> Result<(), TestCaseError> {
        let salt = self.fresh_salt();
        let (s, r, now) = (subject(), self.record.as_ref(), self.now);
        let step = if generate {
            self.engine.generate(&s, r, now, salt)
        } else {
            self.engine.create(&s, r, now, salt)
        }
        .unwrap();
        // generate points to an active code, except during a lockout (it cannot verify
        // then): it is refused as create is.
        let active = self.model.as_ref().filter(|m| {
            self.rules.status(m, now) == Status::Active && self.rules.locked_for(m, now).is_none()
        });
        if let (true, Some(m)) = (generate, active) {
            let expected = Issue::ActiveOtpExists {
                expires_at: m.expires_at,
            };
            prop_assert_eq!(&step.answer, &expected);
            prop_assert!(step.write.is_none(), "ActiveOtpExists wrote");
            return Ok(());
        }
        let refusal = self.model.as_ref().and_then(|m| self.rules.refusal(m, now));
        if let Some((wait, reason)) = refusal {
            let expected = Issue::RateLimited {
                retry_after_ms: wait,
                reason,
            };
            prop_assert_eq!(&step.answer, &expected);
            prop_assert!(step.write.is_none(), "RateLimited wrote");
            self.retry_at = Some(now + wait);
            // Waiting exactly the reported time suffices.
            let later = self
                .engine
                .create(&s, r, now + wait, salt_of(u64::MAX))
                .unwrap();
            let issued = matches!(later.answer, Issue::Issued(_));
            prop_assert!(issued, "after {} ms: {:?}", wait, later.answer);
            return Ok(());
        }
        let Issue::Issued(view) = step.answer else {
            return Err(TestCaseError::fail(format!(
                "expected Issued, got {:?}",
                step.answer
            )));
        };
        let code = view.code.as_str().to_owned();
        prop_assert_eq!(code.len(), self.rules.length);
        prop_assert!(code.chars().all(|c| self.rules.alphabet.contains(c)));
        if let Some(previous) = self.current() {
            prop_assert_ne!(previous, code.as_str(), "consecutive codes repeat");
        }
        let before = self.record.as_ref().map(|r| wire(r).1);
        prop_assert!(self.store(step.write)?, "Issued did not write");
        if let Some(before) = before {
            let after = wire(self.record.as_ref().unwrap()).1;
            // A new code does not reset the failure budget.
            prop_assert_eq!((after[6], after[7]), (before[6], before[7]));
        }
        let next = self.rules.issued(self.model.as_ref(), code.clone(), now);
        prop_assert_eq!(view.created_at, next.created_at);
        prop_assert_eq!(view.expires_at, next.expires_at);
        prop_assert_eq!((view.attempts, view.max_attempts), (0, next.max_attempts));
        prop_assert_eq!(view.status, Status::Active);
        self.model = Some(next);
        self.issued.push(code);
        Ok(())
    }

    fn verify(&mut self, submitted: &str) -> Result<(), TestCaseError> {
        let step = self
            .engine
            .verify(&subject(), self.record.as_ref(), submitted, self.now)
            .unwrap();
        let (expected, next) = self.rules.verify(self.model.as_ref(), submitted, self.now);
        prop_assert_eq!(step.answer, expected, "submitted {:?}", submitted);
        prop_assert_eq!(step.write.is_some(), next.is_some(), "{:?}", step.answer);
        if let Verdict::LockedOut { retry_after_ms } = step.answer {
            self.retry_at = Some(self.now + retry_after_ms);
            let later = self
                .engine
                .verify(
                    &subject(),
                    self.record.as_ref(),
                    submitted,
                    self.now + retry_after_ms,
                )
                .unwrap();
            let still_locked = matches!(later.answer, Verdict::LockedOut { .. });
            prop_assert!(!still_locked, "still locked after {} ms", retry_after_ms);
        }
        self.store(step.write)?;
        if next.is_some() {
            self.model = next;
        }
        Ok(())
    }

    fn latest(&self) -> Result<Option<OtpView>, TestCaseError> {
        let view = self
            .engine
            .latest(&subject(), self.record.as_ref(), self.now)
            .unwrap();
        match (&view, &self.model) {
            (None, None) => {}
            (Some(v), Some(m)) => {
                prop_assert_eq!(v.code.as_str(), m.code.as_str());
                prop_assert_eq!(v.status, self.rules.status(m, self.now));
                prop_assert_eq!((v.created_at, v.expires_at), (m.created_at, m.expires_at));
                prop_assert_eq!((v.attempts, v.max_attempts), (m.attempts, m.max_attempts));
            }
            _ => return Err(TestCaseError::fail("latest disagrees about existence")),
        }
        Ok(view)
    }

    fn reset_attempts(&mut self) -> Result<(), TestCaseError> {
        let step = self.engine.reset_attempts(self.record.as_ref());
        let Some(m) = self.model.as_mut() else {
            prop_assert!(!step.answer && step.write.is_none());
            return Ok(());
        };
        let current = m.state == State::Active;
        let changed = (current && m.attempts != 0) || m.failures != 0;
        prop_assert_eq!(step.answer, current);
        prop_assert_eq!(step.write.is_some(), changed, "write iff something changed");
        if current {
            m.attempts = 0;
        }
        m.failures = 0;
        self.store(step.write)?;
        Ok(())
    }

    fn invalidate(&mut self) -> Result<(), TestCaseError> {
        let step = self
            .engine
            .invalidate(self.record.as_ref(), self.now)
            .unwrap();
        let status = self.model.as_ref().map(|m| self.rules.status(m, self.now));
        let revokes = matches!(status, Some(Status::Active | Status::Exhausted));
        prop_assert_eq!(step.answer, status == Some(Status::Active));
        prop_assert_eq!(step.write.is_some(), revokes);
        if revokes {
            self.model.as_mut().unwrap().state = State::Revoked;
        }
        self.store(step.write)?;
        Ok(())
    }

    fn boundary(&self, b: Boundary) -> Option<Millis> {
        let m = self.model.as_ref();
        match b {
            Boundary::Expiry => m.map(|m| m.expires_at),
            Boundary::CooldownEnd => m.map(|m| m.created_at + self.rules.cooldown),
            Boundary::IssueWindowEnd => {
                let (_, window) = self.rules.issue_limit?;
                m.map(|m| m.issues_since + window)
            }
            Boundary::FailureWindowEnd => {
                let (_, window) = self.rules.failure_limit?;
                m.map(|m| m.failures_since + window)
            }
            Boundary::LastRetryAfter => self.retry_at,
        }
    }

    fn act(&mut self, action: &Action) -> Result<(), TestCaseError> {
        match action {
            Action::Create => self.issue(false)?,
            Action::Generate => self.issue(true)?,
            Action::VerifyRight => {
                let code = self
                    .current()
                    .map(str::to_owned)
                    .unwrap_or_else(|| self.wrong());
                self.verify(&code)?
            }
            Action::VerifyPasted(form) => {
                let code = self
                    .current()
                    .map(str::to_owned)
                    .unwrap_or_else(|| self.wrong());
                let (head, tail) = code.split_at(code.len() / 2);
                let pasted = match form % 6 {
                    0 => format!("{code}\r\n"),
                    1 => format!("\t{code}"),
                    2 => format!("{head}\u{a0}{tail}"),
                    3 => format!("{head}\u{2013}{tail}"),
                    4 => code
                        .chars()
                        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
                        .collect(),
                    _ => format!("{head}_{tail}"),
                };
                self.verify(&pasted)?
            }
            Action::VerifyWrong => self.verify(&self.wrong())?,
            Action::VerifyOld(i) => {
                let code = if self.issued.is_empty() {
                    self.wrong()
                } else {
                    self.issued[i.index(self.issued.len())].clone()
                };
                self.verify(&code)?
            }
            Action::VerifyGarbage(g) => self.verify(g)?,
            Action::Latest => drop(self.latest()?),
            Action::ResetAttempts => self.reset_attempts()?,
            Action::Invalidate => self.invalidate()?,
            Action::Wait(ms) => self.now += ms,
            Action::ToBoundary(b, delta) => {
                if let Some(t) = self.boundary(*b) {
                    let t = t.saturating_add_signed(i64::from(*delta));
                    if t > self.now {
                        self.now = t;
                    }
                }
            }
        }
        Ok(())
    }

    /// The invariants that hold after every step, checked on copies of the state.
    fn check_invariants(&self) -> Result<(), TestCaseError> {
        let view = self.latest()?;
        let Some(r) = &self.record else {
            return Ok(());
        };
        prop_assert!(r.attempts() <= r.max_attempts());
        let (_, n) = wire(r);
        prop_assert_eq!(n[3], u64::from(r.attempts()));
        let m = self.model.as_ref().unwrap();
        let state = match m.state {
            State::Active => CodeState::Active,
            State::Used => CodeState::Used,
            State::Revoked => CodeState::Revoked,
        };
        prop_assert_eq!(r.state(), state);
        let counters = [m.failures_since, u64::from(m.failures)];
        prop_assert_eq!(&n[6..8], &counters[..], "failure budget");
        let counters = [m.issues_since, u64::from(m.issues)];
        prop_assert_eq!(&n[8..10], &counters[..], "issue window");

        // At most one code verifies now: the current one, and only while it is active
        // and the subject is not locked out. A used, superseded, invalidated, expired or
        // exhausted code never verifies, and neither does any earlier code.
        let status = view.unwrap().status;
        let may_verify = status == Status::Active && self.rules.locked_for(m, self.now).is_none();
        let verifies = |code: &str| {
            let step = self
                .engine
                .verify(&subject(), Some(r), code, self.now)
                .unwrap();
            step.answer == Verdict::Verified
        };
        prop_assert_eq!(verifies(&m.code), may_verify, "current code, {:?}", status);
        let mut candidates: HashSet<String> = HashSet::new();
        if self.rules.space() <= 10 {
            let alphabet = self.rules.alphabet.as_bytes();
            for v in 0..self.rules.space() {
                let mut code = vec![0u8; self.rules.length];
                let mut v = v as usize;
                for slot in code.iter_mut().rev() {
                    *slot = alphabet[v % alphabet.len()];
                    v /= alphabet.len();
                }
                candidates.insert(String::from_utf8(code).unwrap());
            }
        } else {
            candidates.extend(self.issued.iter().rev().take(6).cloned());
        }
        for code in candidates.iter().filter(|c| **c != m.code) {
            prop_assert!(
                !verifies(code),
                "{:?} verifies but is not the current code",
                code
            );
        }
        Ok(())
    }
}

// ---- strategies ----

fn config() -> impl Strategy<Value = Config> {
    let spaces = prop_oneof![
        Just(("01", 1usize)),
        Just(("012", 2)),
        Just(("0123456789", 1)),
        Just(("0123456789", 2)),
        Just(("AB", 3)),
        Just(("0123456789", 4)),
    ];
    let limit = |counts: std::ops::RangeInclusive<u32>| {
        proptest::option::of(
            (counts, 1u64..=600).prop_map(|(count, window_seconds)| Limit {
                count,
                window_seconds,
            }),
        )
    };
    let small = (
        1u64..=120,
        1u32..=4,
        spaces,
        prop_oneof![Just(0u64), 1u64..=30],
        limit(1..=4),
        limit(1..=5),
    )
        .prop_map(|(ttl, max, (alphabet, length), cooldown, issue, failure)| {
            let mut c = Config::new(SECRET.to_vec());
            c.ttl_seconds = ttl;
            c.max_attempts = max;
            c.alphabet = alphabet.into();
            c.length = length;
            c.resend_cooldown_seconds = cooldown;
            c.issue_limit = issue;
            c.failure_limit = failure;
            c
        });
    prop_oneof![
        1 => Just(Config::new(SECRET.to_vec())),
        2 => small,
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let boundary = prop_oneof![
        Just(Boundary::Expiry),
        Just(Boundary::CooldownEnd),
        Just(Boundary::IssueWindowEnd),
        Just(Boundary::FailureWindowEnd),
        Just(Boundary::LastRetryAfter),
    ];
    prop_oneof![
        4 => Just(Action::Create),
        2 => Just(Action::Generate),
        3 => Just(Action::VerifyRight),
        2 => any::<u8>().prop_map(Action::VerifyPasted),
        4 => Just(Action::VerifyWrong),
        2 => any::<Index>().prop_map(Action::VerifyOld),
        // ASCII, and what pasting and East Asian keyboards add: a tab, a line break, a
        // no-break space, an en dash, full-width digits.
        1 => "[0-9A-Bab x\t\n\u{a0}\u{2013}\u{ff10}-\u{ff19}-]{0,6}".prop_map(Action::VerifyGarbage),
        1 => Just(Action::Latest),
        1 => Just(Action::ResetAttempts),
        1 => Just(Action::Invalidate),
        3 => (0u64..2_000).prop_map(Action::Wait),
        2 => (0u64..7_200_000).prop_map(Action::Wait),
        3 => (boundary, -1i8..=1).prop_map(|(b, d)| Action::ToBoundary(b, d)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_step_agrees_with_the_model_and_keeps_the_invariants(
        config in config(),
        actions in prop::collection::vec(action(), 1..80),
    ) {
        let mut run = Run::new(config);
        for action in &actions {
            run.act(action)?;
            run.check_invariants()?;
        }
    }
}

// ---- never repeat ----

fn unlimited(alphabet: &str, length: usize) -> Engine {
    let mut c = Config::new(SECRET.to_vec());
    c.alphabet = alphabet.into();
    c.length = length;
    c.resend_cooldown_seconds = 0;
    c.issue_limit = None;
    c.failure_limit = None;
    Engine::new(Policy::new(c).unwrap())
}

/// Issues `count` codes in a row for one user; returns `(salt, code)` for each.
fn issue_many(engine: &Engine, count: usize) -> Vec<(String, String)> {
    let s = subject();
    let mut record: Option<Record> = None;
    let mut out = Vec::with_capacity(count);
    for i in 0..count as u64 {
        let step = engine
            .create(&s, record.as_ref(), T0 + i, salt_of(i))
            .unwrap();
        let Issue::Issued(view) = step.answer else {
            panic!("issue {i} refused: {:?}", step.answer)
        };
        let r = step.write.unwrap();
        out.push((wire(&r).0, view.code.as_str().to_owned()));
        record = Some(r);
    }
    out
}

/// Splits issued codes into cycles (runs with one salt) and checks the guarantee: no
/// code repeats within a cycle, a complete cycle covers the whole space (but for the
/// one code skipped so as not to repeat the previous cycle's last code), and
/// consecutive codes always differ. Answers the number of cycles.
fn check_cycles(codes: &[(String, String)], space: usize) -> usize {
    for pair in codes.windows(2) {
        assert_ne!(pair[0].1, pair[1].1, "consecutive codes repeat");
    }
    let mut cycles: Vec<Vec<&str>> = Vec::new();
    let mut salt = "";
    for (s, code) in codes {
        if s != salt {
            cycles.push(Vec::new());
            salt = s;
        }
        cycles.last_mut().unwrap().push(code);
    }
    for (i, cycle) in cycles.iter().enumerate() {
        let distinct: HashSet<&str> = cycle.iter().copied().collect();
        assert_eq!(distinct.len(), cycle.len(), "cycle {i} repeats a code");
        let complete = i + 1 < cycles.len();
        if i == 0 && complete {
            assert_eq!(cycle.len(), space, "the first cycle issues the whole space");
        } else if complete {
            assert!(
                cycle.len() == space || cycle.len() == space - 1,
                "cycle {i} has {} codes",
                cycle.len()
            );
            if cycle.len() == space - 1 {
                let previous_last = *cycles[i - 1].last().unwrap();
                assert!(!distinct.contains(previous_last));
            }
        }
    }
    cycles.len()
}

#[test]
fn all_ten_thousand_default_codes_are_issued_once_before_any_repeats_then_a_new_cycle() {
    let engine = unlimited("0123456789", 4);
    // Two whole cycles and the start of a third.
    let codes = issue_many(&engine, 2 * 10_000 + 5);
    let first: HashSet<&str> = codes[..10_000].iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(first.len(), 10_000, "every code of the space, each once");
    assert!(codes[..10_000].iter().all(|(s, _)| *s == codes[0].0));
    assert_ne!(
        codes[10_000].0, codes[0].0,
        "the second cycle has a fresh salt"
    );
    assert_eq!(check_cycles(&codes, 10_000), 3);
}

#[test]
fn a_two_digit_space_never_repeats_within_any_of_several_cycles() {
    let engine = unlimited("0123456789", 2);
    let codes = issue_many(&engine, 100 * 6 + 37);
    assert!(check_cycles(&codes, 100) >= 7);
}

#[test]
fn a_one_character_binary_space_alternates_through_many_cycles() {
    let engine = unlimited("01", 1);
    let codes = issue_many(&engine, 200);
    let cycles = check_cycles(&codes, 2);
    assert!(cycles >= 100, "{cycles} cycles");
    for pair in codes.windows(2) {
        assert_ne!(pair[0].1, pair[1].1);
    }
}
