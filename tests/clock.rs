//! Deterministic clock tests: every time boundary of the engine, checked at the last
//! millisecond before it and at the boundary itself.
//!
//! [`Sim`] owns simulated time, the stored record and a deterministic salt counter, and
//! applies each operation's write the way a driver does, checking on the way that every
//! written record round-trips through the wire form and that refusals write nothing.

use edge_otp::{
    Config, Engine, Issue, Limit, Limited, Millis, OtpView, Policy, Record, Status, Subject,
    Verdict, SALT_LEN,
};

/// 2023-11-14T22:13:20Z.
const T0: Millis = 1_700_000_000_000;
const S: Millis = 1000;

/// An engine, one subject's stored record, and the clock.
struct Sim {
    engine: Engine,
    record: Option<Record>,
    now: Millis,
    salts: u64,
}

impl Sim {
    /// The default policy, tuned by `tune`, at `T0` with nothing stored.
    fn new(tune: impl FnOnce(&mut Config)) -> Sim {
        let mut config = Config::new(b"clock tests secret, 16+ bytes".to_vec());
        tune(&mut config);
        Sim {
            engine: Engine::new(Policy::new(config).unwrap()),
            record: None,
            now: T0,
            salts: 0,
        }
    }

    fn subject(&self) -> Subject<'static> {
        Subject::new("login", "ada@example.com").unwrap()
    }

    fn at(&mut self, t: Millis) -> &mut Sim {
        assert!(t >= self.now, "time runs forward");
        self.now = t;
        self
    }

    fn wait(&mut self, ms: Millis) -> &mut Sim {
        self.now += ms;
        self
    }

    fn salt(&mut self) -> [u8; SALT_LEN] {
        self.salts += 1;
        let mut s = [0u8; SALT_LEN];
        s[..8].copy_from_slice(&self.salts.to_be_bytes());
        s
    }

    fn store(&mut self, write: Option<Record>) -> bool {
        let Some(w) = write else { return false };
        let wire = w.encode();
        assert!(wire.len() <= 160, "{wire}");
        assert_eq!(Record::decode(&wire).as_ref(), Ok(&w), "{wire}");
        self.record = Some(w);
        true
    }

    fn issue_with(&mut self, generate: bool) -> Issue {
        let salt = self.salt();
        let (s, r) = (self.subject(), self.record.as_ref());
        let step = if generate {
            self.engine.generate(&s, r, self.now, salt)
        } else {
            self.engine.create(&s, r, self.now, salt)
        }
        .unwrap();
        let wrote = self.store(step.write);
        let issued = matches!(step.answer, Issue::Issued(_));
        assert_eq!(wrote, issued, "{:?}", step.answer);
        step.answer
    }

    fn create(&mut self) -> Issue {
        self.issue_with(false)
    }

    fn generate(&mut self) -> Issue {
        self.issue_with(true)
    }

    /// Creates and returns the code; panics if refused.
    fn issue(&mut self) -> String {
        match self.create() {
            Issue::Issued(view) => view.code.as_str().to_owned(),
            other => panic!("expected Issued at {}, got {other:?}", self.now),
        }
    }

    /// Creates, expecting a refusal; returns its wait and reason.
    fn refused(&mut self) -> (u64, Limited) {
        match self.create() {
            Issue::RateLimited {
                retry_after_ms,
                reason,
            } => (retry_after_ms, reason),
            other => panic!("expected RateLimited at {}, got {other:?}", self.now),
        }
    }

    fn verify(&mut self, code: &str) -> Verdict {
        let s = self.subject();
        let step = self
            .engine
            .verify(&s, self.record.as_ref(), code, self.now)
            .unwrap();
        let wrote = self.store(step.write);
        let writes = matches!(step.answer, Verdict::Verified | Verdict::Invalid { .. });
        assert_eq!(wrote, writes, "{:?}", step.answer);
        step.answer
    }

    fn latest(&self) -> Option<OtpView> {
        self.engine
            .latest(&self.subject(), self.record.as_ref(), self.now)
            .unwrap()
    }

    fn status(&self) -> Status {
        self.latest().expect("a code was issued").status
    }

    fn reset_attempts(&mut self) -> bool {
        let step = self.engine.reset_attempts(self.record.as_ref());
        self.store(step.write);
        step.answer
    }

    fn invalidate(&mut self) -> bool {
        let step = self
            .engine
            .invalidate(self.record.as_ref(), self.now)
            .unwrap();
        self.store(step.write);
        step.answer
    }

    fn record(&self) -> &Record {
        self.record.as_ref().expect("a record is stored")
    }

    /// A code of the default alphabet that is not the current one (its last digit + 1).
    fn wrong(&self) -> String {
        let code = self.latest().expect("a code was issued").code;
        let mut digits = code.as_str().as_bytes().to_vec();
        let last = digits.last_mut().unwrap();
        *last = b'0' + (*last - b'0' + 1) % 10;
        String::from_utf8(digits).unwrap()
    }

    /// `(failures_since, failures, issues_since, issues)`, read from the wire form.
    fn counters(&self) -> (u64, u64, u64, u64) {
        let wire = self.record().encode();
        let n: Vec<u64> = wire
            .trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .skip(2)
            .map(|f| f.parse().unwrap())
            .collect();
        (n[6], n[7], n[8], n[9])
    }
}

fn no_limits(c: &mut Config) {
    c.resend_cooldown_seconds = 0;
    c.issue_limit = None;
    c.failure_limit = None;
}

// ---- expiry ----

#[test]
fn verify_one_ms_before_expires_at_is_verified() {
    let mut sim = Sim::new(|_| {});
    let code = sim.issue();
    let expires_at = sim.record().expires_at();
    assert_eq!(expires_at, T0 + 3600 * S);
    assert_eq!(sim.at(expires_at - 1).verify(&code), Verdict::Verified);
}

#[test]
fn verify_at_exactly_expires_at_is_expired_without_a_write() {
    let mut sim = Sim::new(|_| {});
    let code = sim.issue();
    let before = sim.record().clone();
    let expires_at = before.expires_at();
    assert_eq!(sim.at(expires_at).verify(&code), Verdict::Expired);
    assert_eq!(sim.record(), &before);
}

#[test]
fn a_wrong_guess_one_ms_before_expiry_still_counts_and_one_at_expiry_does_not() {
    let mut sim = Sim::new(|_| {});
    sim.issue();
    let expires_at = sim.record().expires_at();
    let bad = sim.wrong();
    assert_eq!(
        sim.at(expires_at - 1).verify(&bad),
        Verdict::Invalid { attempts_left: 2 }
    );
    assert_eq!(sim.at(expires_at).verify(&bad), Verdict::Expired);
    assert_eq!(sim.record().attempts(), 1);
}

#[test]
fn latest_turns_from_active_to_expired_exactly_at_expires_at() {
    let mut sim = Sim::new(|c| c.ttl_seconds = 1);
    sim.issue();
    assert_eq!(sim.record().expires_at(), T0 + S);
    assert_eq!(sim.at(T0 + S - 1).status(), Status::Active);
    assert_eq!(sim.at(T0 + S).status(), Status::Expired);
}

#[test]
fn generate_one_ms_before_expiry_answers_active_otp_exists_and_issues_at_expiry() {
    let mut sim = Sim::new(no_limits);
    sim.issue();
    let expires_at = sim.record().expires_at();
    assert_eq!(
        sim.at(expires_at - 1).generate(),
        Issue::ActiveOtpExists { expires_at }
    );
    assert!(matches!(sim.at(expires_at).generate(), Issue::Issued(_)));
}

#[test]
fn reset_attempts_one_ms_before_expiry_revives_a_code_that_still_verifies() {
    let mut sim = Sim::new(|_| {});
    let code = sim.issue();
    let bad = sim.wrong();
    for _ in 0..3 {
        let _ = sim.verify(&bad);
    }
    let expires_at = sim.record().expires_at();
    assert_eq!(sim.at(expires_at - 1).verify(&code), Verdict::Exhausted);
    assert!(sim.reset_attempts());
    assert_eq!(sim.verify(&code), Verdict::Verified);
}

#[test]
fn invalidate_at_expires_at_finds_nothing_to_revoke() {
    let mut sim = Sim::new(|_| {});
    sim.issue();
    let expires_at = sim.record().expires_at();
    let before = sim.record().clone();
    assert!(!sim.at(expires_at).invalidate());
    assert_eq!(sim.record(), &before);
    let mut sim = Sim::new(|_| {});
    sim.issue();
    assert!(sim.at(expires_at - 1).invalidate());
}

// ---- cooldown ----

#[test]
fn create_one_ms_before_the_cooldown_ends_is_rate_limited_for_one_ms() {
    let mut sim = Sim::new(|_| {});
    sim.issue();
    let created = sim.record().created_at();
    assert_eq!(
        sim.at(created + 30 * S - 1).refused(),
        (1, Limited::Cooldown)
    );
}

#[test]
fn create_at_exactly_the_end_of_the_cooldown_issues() {
    let mut sim = Sim::new(|_| {});
    let first = sim.issue();
    let created = sim.record().created_at();
    let second = sim.at(created + 30 * S).issue();
    assert_ne!(first, second);
    assert_eq!(sim.record().created_at(), created + 30 * S);
}

#[test]
fn waiting_exactly_the_reported_retry_after_lifts_the_cooldown() {
    for into_cooldown in [0, 1, 7_321, 29_999] {
        let mut sim = Sim::new(|_| {});
        sim.issue();
        let (wait, reason) = sim.wait(into_cooldown).refused();
        assert_eq!((wait, reason), (30 * S - into_cooldown, Limited::Cooldown));
        sim.wait(wait).issue();
    }
}

#[test]
fn the_cooldown_ends_at_once_when_the_code_is_used() {
    let mut sim = Sim::new(|_| {});
    let code = sim.issue();
    assert_eq!(sim.wait(1).verify(&code), Verdict::Verified);
    sim.issue();
}

// ---- issue limit ----

fn three_per_100_s(c: &mut Config) {
    c.resend_cooldown_seconds = 0;
    c.issue_limit = Some(Limit {
        count: 3,
        window_seconds: 100,
    });
}

#[test]
fn the_issue_window_refuses_until_its_last_ms_and_opens_anew_at_its_end() {
    let mut sim = Sim::new(three_per_100_s);
    sim.issue();
    sim.at(T0 + 40 * S).issue();
    sim.at(T0 + 99 * S).issue();
    let (_, _, issues_since, issues) = sim.counters();
    assert_eq!((issues_since, issues), (T0, 3));
    assert_eq!(sim.at(T0 + 100 * S - 1).refused(), (1, Limited::IssueLimit));
    sim.at(T0 + 100 * S).issue();
    let (_, _, issues_since, issues) = sim.counters();
    assert_eq!((issues_since, issues), (T0 + 100 * S, 1));
    // The new window runs from its first issue: 3 more until T0 + 200 s.
    sim.at(T0 + 150 * S).issue();
    sim.at(T0 + 199 * S).issue();
    assert_eq!(sim.at(T0 + 200 * S - 1).refused(), (1, Limited::IssueLimit));
    sim.at(T0 + 200 * S).issue();
}

#[test]
fn a_window_that_closed_unfilled_restarts_at_the_next_issue_not_at_its_end() {
    let mut sim = Sim::new(three_per_100_s);
    sim.issue();
    sim.at(T0 + 250 * S).issue();
    let (_, _, issues_since, issues) = sim.counters();
    assert_eq!((issues_since, issues), (T0 + 250 * S, 1));
}

#[test]
fn waiting_exactly_the_reported_retry_after_lifts_the_issue_limit() {
    for refused_at in [T0 + 2 * S, T0 + 60 * S, T0 + 100 * S - 1] {
        let mut sim = Sim::new(three_per_100_s);
        for _ in 0..3 {
            sim.issue();
            sim.wait(1);
        }
        let (wait, reason) = sim.at(refused_at).refused();
        assert_eq!(
            (wait, reason),
            (T0 + 100 * S - refused_at, Limited::IssueLimit)
        );
        sim.wait(wait).issue();
    }
}

// ---- failure budget ----

fn two_failures_per_60_s(c: &mut Config) {
    c.max_attempts = 10;
    c.failure_limit = Some(Limit {
        count: 2,
        window_seconds: 60,
    });
}

#[test]
fn a_failure_at_the_last_ms_of_the_window_counts_in_it_and_locks_out() {
    let mut sim = Sim::new(two_failures_per_60_s);
    let code = sim.issue();
    let bad = sim.wrong();
    assert!(matches!(sim.verify(&bad), Verdict::Invalid { .. }));
    assert!(matches!(
        sim.at(T0 + 60 * S - 1).verify(&bad),
        Verdict::Invalid { .. }
    ));
    let (failures_since, failures, _, _) = sim.counters();
    assert_eq!((failures_since, failures), (T0, 2));
    assert_eq!(sim.verify(&code), Verdict::LockedOut { retry_after_ms: 1 });
    assert_eq!(sim.refused(), (1, Limited::LockedOut));
}

#[test]
fn a_failure_exactly_at_the_end_of_the_window_opens_a_new_window() {
    let mut sim = Sim::new(two_failures_per_60_s);
    let code = sim.issue();
    let bad = sim.wrong();
    let _ = sim.verify(&bad);
    let _ = sim.at(T0 + 60 * S).verify(&bad);
    let (failures_since, failures, _, _) = sim.counters();
    assert_eq!((failures_since, failures), (T0 + 60 * S, 1));
    assert_eq!(sim.verify(&code), Verdict::Verified);
}

#[test]
fn the_lockout_lifts_exactly_at_the_end_of_the_failure_window() {
    let mut sim = Sim::new(two_failures_per_60_s);
    let code = sim.issue();
    let bad = sim.wrong();
    let _ = sim.at(T0 + 10 * S).verify(&bad);
    let _ = sim.at(T0 + 20 * S).verify(&bad);
    assert_eq!(
        sim.at(T0 + 70 * S - 1).verify(&code),
        Verdict::LockedOut { retry_after_ms: 1 }
    );
    assert_eq!(sim.at(T0 + 70 * S).verify(&code), Verdict::Verified);
}

#[test]
fn waiting_exactly_the_reported_retry_after_lifts_the_lockout_for_verify() {
    for locked_at in [T0 + 20 * S, T0 + 45 * S, T0 + 70 * S - 1] {
        let mut sim = Sim::new(two_failures_per_60_s);
        let code = sim.issue();
        let bad = sim.wrong();
        let _ = sim.at(T0 + 10 * S).verify(&bad);
        let _ = sim.at(T0 + 20 * S).verify(&bad);
        let Verdict::LockedOut { retry_after_ms } = sim.at(locked_at).verify(&code) else {
            panic!("expected LockedOut")
        };
        assert_eq!(retry_after_ms, T0 + 70 * S - locked_at);
        assert_eq!(sim.wait(retry_after_ms).verify(&code), Verdict::Verified);
    }
}

#[test]
fn waiting_exactly_the_reported_retry_after_lifts_the_lockout_for_create() {
    for locked_at in [T0 + 40 * S, T0 + 69 * S, T0 + 70 * S - 1] {
        let mut sim = Sim::new(two_failures_per_60_s);
        sim.issue();
        let bad = sim.wrong();
        let _ = sim.at(T0 + 10 * S).verify(&bad);
        let _ = sim.at(T0 + 20 * S).verify(&bad);
        let (wait, reason) = sim.at(locked_at).refused();
        assert_eq!(
            (wait, reason),
            (T0 + 70 * S - locked_at, Limited::LockedOut)
        );
        sim.wait(wait).issue();
    }
}

#[test]
fn a_new_code_keeps_the_failure_window_it_inherited() {
    let mut sim = Sim::new(|c| {
        two_failures_per_60_s(c);
        c.resend_cooldown_seconds = 0;
    });
    sim.issue();
    let bad = sim.wrong();
    let _ = sim.at(T0 + 10 * S).verify(&bad);
    let code = sim.at(T0 + 30 * S).issue();
    let bad = sim.wrong();
    let _ = sim.at(T0 + 40 * S).verify(&bad);
    assert_eq!(
        sim.verify(&code),
        Verdict::LockedOut {
            retry_after_ms: 30 * S
        }
    );
}

// ---- the ends of the time range ----

#[test]
fn time_zero_is_a_valid_now() {
    let mut sim = Sim::new(|_| {});
    sim.now = 0;
    let code = sim.issue();
    assert_eq!(sim.record().expires_at(), 3600 * S);
    assert_eq!(sim.at(3600 * S - 1).verify(&code), Verdict::Verified);
}

#[test]
fn the_last_valid_now_is_one_ms_before_max_time() {
    let mut sim = Sim::new(|_| {});
    let code = sim.issue();
    sim.at(edge_otp::MAX_TIME - 1);
    assert_eq!(sim.verify(&code), Verdict::Expired);
    assert_eq!(sim.status(), Status::Expired);
    sim.issue();
    assert_eq!(sim.record().expires_at(), edge_otp::MAX_TIME);
    let s = sim.subject();
    let at_max = sim
        .engine
        .verify(&s, sim.record.as_ref(), &code, edge_otp::MAX_TIME);
    assert!(at_max.is_err());
}

#[test]
fn a_code_issued_within_its_lifetime_of_max_time_expires_at_max_time() {
    let mut sim = Sim::new(|_| {});
    sim.now = edge_otp::MAX_TIME - 10 * S;
    let code = sim.issue();
    assert_eq!(sim.record().expires_at(), edge_otp::MAX_TIME);
    assert_eq!(
        sim.at(edge_otp::MAX_TIME - 1).verify(&code),
        Verdict::Verified
    );
}
