//! The native driver: `OtpManager` over `MemoryStore` with an injected clock, its
//! compare-and-swap under concurrency, and how store failures reach the caller.

use edge_otp::{
    Config, DecodeError, Error, Limit, Limited, ManagerError, MemoryStore, Millis, OtpManager,
    Policy, Status, Store, Verdict, MAX_TRIES,
};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

const T0: Millis = 1_700_000_000_000;
const S: Millis = 1000;
const THREADS: usize = 8;

fn policy(tune: impl FnOnce(&mut Config)) -> Policy {
    let mut c = Config::new(b"native manager tests secret".to_vec());
    tune(&mut c);
    Policy::new(c).unwrap()
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct Clock(Arc<AtomicU64>);

impl Clock {
    fn new() -> Clock {
        Clock(Arc::new(AtomicU64::new(T0)))
    }
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
    fn set(&self, t: Millis) {
        self.0.store(t, Ordering::SeqCst)
    }
    fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

/// A store shared between managers and the test, counting reads and writes.
#[derive(Clone, Default)]
struct Shared {
    inner: Arc<MemoryStore>,
    gets: Arc<AtomicUsize>,
    writes: Arc<AtomicUsize>,
}

impl Shared {
    fn value(&self, key: &str) -> Option<String> {
        self.inner.get(key).unwrap()
    }
    fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

impl Store for Shared {
    type Error = core::convert::Infallible;
    fn get(&self, key: &str) -> Result<Option<String>, Self::Error> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, Self::Error> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.compare_and_swap(key, expected, value)
    }
}

fn manager(store: Shared, clock: &Clock, tune: impl FnOnce(&mut Config)) -> OtpManager<Shared> {
    let c = clock.clone();
    OtpManager::new(store, policy(tune), "login")
        .unwrap()
        .with_clock(move || c.now())
}

fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

#[test]
fn issue_and_verify_run_on_the_injected_clock() {
    let clock = Clock::new();
    let store = Shared::default();
    let otp = manager(store.clone(), &clock, |_| {});
    let issued = otp.create("ada").unwrap();
    assert_eq!(
        (issued.created_at, issued.expires_at, issued.attempts),
        (T0, T0 + 3600 * S, 0)
    );
    assert_eq!(issued.max_attempts, 3);
    assert_eq!(issued.status, Status::Active);
    assert!(store.value("otp:login:ada").is_some());
    let latest = otp.latest("ada").unwrap().unwrap();
    assert_eq!(latest.code, issued.code);
    clock.set(issued.expires_at - 1);
    let code = issued.code.as_str();
    assert_eq!(
        otp.check("ada", &wrong(code)).unwrap(),
        Verdict::Invalid { attempts_left: 2 }
    );
    assert!(otp.verify("ada", code).unwrap());
    assert_eq!(otp.check("ada", code).unwrap(), Verdict::Used);
}

#[test]
fn the_injected_clock_drives_expiry_and_the_cooldown() {
    let clock = Clock::new();
    let otp = manager(Shared::default(), &clock, |_| {});
    let issued = otp.create("ada").unwrap();
    clock.advance(10 * S);
    assert_eq!(
        otp.create("ada").unwrap_err(),
        ManagerError::RateLimited {
            retry_after_ms: 20 * S,
            reason: Limited::Cooldown
        }
    );
    assert_eq!(
        otp.generate("ada").unwrap_err(),
        ManagerError::ActiveOtpExists {
            expires_at: issued.expires_at
        }
    );
    clock.set(issued.expires_at);
    assert_eq!(
        otp.check("ada", issued.code.as_str()).unwrap(),
        Verdict::Expired
    );
    assert_eq!(otp.latest("ada").unwrap().unwrap().status, Status::Expired);
    let next = otp.generate("ada").unwrap();
    assert_ne!(next.code, issued.code);
    assert_eq!(next.created_at, issued.expires_at);
}

#[test]
fn reset_attempts_and_invalidate_answer_as_documented() {
    let clock = Clock::new();
    let otp = manager(Shared::default(), &clock, |_| {});
    assert!(!otp.reset_attempts("ada").unwrap());
    assert!(!otp.invalidate("ada").unwrap());
    assert_eq!(otp.latest("ada").unwrap(), None);
    assert_eq!(otp.check("ada", "1234").unwrap(), Verdict::NoOtp);
    let issued = otp.create("ada").unwrap();
    let code = issued.code.as_str();
    for _ in 0..3 {
        let _ = otp.check("ada", &wrong(code)).unwrap();
    }
    assert_eq!(otp.check("ada", code).unwrap(), Verdict::Exhausted);
    assert!(otp.reset_attempts("ada").unwrap());
    assert!(otp.invalidate("ada").unwrap());
    assert_eq!(otp.check("ada", code).unwrap(), Verdict::NoOtp);
    assert_eq!(
        otp.latest("ada").unwrap().unwrap().status,
        Status::Superseded
    );
}

#[test]
fn operations_that_change_nothing_do_not_write() {
    let clock = Clock::new();
    let store = Shared::default();
    let otp = manager(store.clone(), &clock, |_| {});
    let _ = otp.latest("ada").unwrap();
    let _ = otp.check("ada", "1234").unwrap();
    let _ = otp.reset_attempts("ada").unwrap();
    let _ = otp.invalidate("ada").unwrap();
    assert_eq!(store.writes(), 0);
    let issued = otp.create("ada").unwrap();
    assert_eq!(store.writes(), 1);
    let _ = otp.latest("ada").unwrap();
    let _ = otp.create("ada").unwrap_err();
    let _ = otp.generate("ada").unwrap_err();
    let _ = otp.reset_attempts("ada").unwrap();
    clock.set(issued.expires_at);
    let _ = otp.check("ada", issued.code.as_str()).unwrap();
    let _ = otp.invalidate("ada").unwrap();
    assert_eq!(store.writes(), 1);
}

#[test]
fn keys_are_prefix_scope_and_user_and_scopes_are_independent() {
    let clock = Clock::new();
    let store = Shared::default();
    let login = manager(store.clone(), &clock, |c| c.length = 8);
    let c = clock.clone();
    let reset = OtpManager::new(store.clone(), policy(|c| c.length = 8), "reset")
        .unwrap()
        .with_clock(move || c.now());
    let custom = manager(store.clone(), &clock, |_| {}).with_key_prefix("app/");
    let a = login.create("ada").unwrap();
    assert!(store.value("otp:login:ada").is_some());
    assert_eq!(store.value("otp:reset:ada"), None);
    assert_eq!(reset.check("ada", a.code.as_str()).unwrap(), Verdict::NoOtp);
    let b = reset.create("ada").unwrap();
    assert_ne!(a.code, b.code);
    assert!(!reset.verify("ada", a.code.as_str()).unwrap());
    assert!(login.verify("ada", a.code.as_str()).unwrap());
    assert!(reset.verify("ada", b.code.as_str()).unwrap());
    custom.create("ada").unwrap();
    assert!(store.value("app/login:ada").is_some());
}

#[test]
fn the_stored_value_holds_no_code() {
    let clock = Clock::new();
    let store = Shared::default();
    let otp = manager(store.clone(), &clock, |c| {
        c.alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ".into();
        c.length = 8;
    });
    let issued = otp.create("ada").unwrap();
    let value = store.value("otp:login:ada").unwrap();
    assert!(!value.contains(issued.code.as_str()), "{value}");
    assert!(
        !value.to_uppercase().contains(issued.code.as_str()),
        "{value}"
    );
}

#[test]
fn bad_arguments_and_corrupt_records_are_errors_that_write_nothing() {
    let clock = Clock::new();
    let store = Shared::default();
    let otp = manager(store.clone(), &clock, |_| {});
    assert!(matches!(
        otp.create(""),
        Err(ManagerError::Otp(Error::InvalidArgument {
            argument: "user",
            ..
        }))
    ));
    assert!(matches!(
        otp.verify(&"u".repeat(257), "1234"),
        Err(ManagerError::Otp(Error::InvalidArgument { .. }))
    ));
    assert!(OtpManager::new(MemoryStore::new(), policy(|_| {}), "not a scope").is_err());
    assert!(store
        .inner
        .compare_and_swap("otp:login:ada", None, "[1,\"nope\"]")
        .unwrap());
    for result in [
        otp.create("ada").map(drop),
        otp.generate("ada").map(drop),
        otp.latest("ada").map(drop),
        otp.verify("ada", "1234").map(drop),
        otp.reset_attempts("ada").map(drop),
        otp.invalidate("ada").map(drop),
    ] {
        assert_eq!(
            result,
            Err(ManagerError::Otp(Error::CorruptRecord(DecodeError::Syntax)))
        );
    }
    assert_eq!(
        store.value("otp:login:ada").as_deref(),
        Some("[1,\"nope\"]")
    );
    clock.set(edge_otp::MAX_TIME + 1);
    assert!(matches!(
        otp.latest("bob"),
        Err(ManagerError::Otp(Error::InvalidArgument {
            argument: "now",
            ..
        }))
    ));
}

#[test]
fn without_an_injected_clock_the_system_clock_is_used() {
    let otp = OtpManager::new(MemoryStore::new(), policy(|_| {}), "login").unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis;
    let issued = otp.create("ada").unwrap();
    assert!(issued.created_at >= before && issued.created_at < before + 60 * S);
    assert!(otp.store().get("otp:login:ada").unwrap().is_some());
}

// ---- concurrency ----

/// Runs `f` on `THREADS` threads that start together; collects the results.
fn race<T: Send>(f: impl Fn() -> T + Sync) -> Vec<T> {
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    f()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn concurrent_wrong_guesses_spend_exactly_max_attempts() {
    let clock = Clock::new();
    let otp = manager(Shared::default(), &clock, |c| c.failure_limit = None);
    let issued = otp.create("ada").unwrap();
    let bad = wrong(issued.code.as_str());
    let verdicts: Vec<Verdict> = race(|| {
        (0..40)
            .map(|_| otp.check("ada", &bad).unwrap())
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let invalid = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Invalid { .. }))
        .count();
    assert_eq!(invalid, 3, "exactly max_attempts wrong guesses are counted");
    let mut left: Vec<u32> = verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Invalid { attempts_left } => Some(*attempts_left),
            _ => None,
        })
        .collect();
    left.sort_unstable();
    assert_eq!(left, [0, 1, 2], "each attempt was counted once");
    assert!(verdicts
        .iter()
        .all(|v| matches!(v, Verdict::Invalid { .. } | Verdict::Exhausted)));
    assert_eq!(otp.latest("ada").unwrap().unwrap().attempts, 3);
    assert_eq!(
        otp.check("ada", issued.code.as_str()).unwrap(),
        Verdict::Exhausted
    );
}

#[test]
fn concurrent_right_guesses_verify_exactly_once() {
    let clock = Clock::new();
    let otp = manager(Shared::default(), &clock, |_| {});
    let issued = otp.create("ada").unwrap();
    let results = race(|| otp.verify("ada", issued.code.as_str()).unwrap());
    assert_eq!(results.iter().filter(|&&ok| ok).count(), 1, "{results:?}");
    assert_eq!(otp.latest("ada").unwrap().unwrap().status, Status::Used);
}

#[test]
fn concurrent_creates_respect_the_issue_limit_exactly() {
    let clock = Clock::new();
    let otp = manager(Shared::default(), &clock, |c| {
        c.resend_cooldown_seconds = 0;
        c.issue_limit = Some(Limit {
            count: 5,
            window_seconds: 3600,
        });
    });
    let results = race(|| otp.create("ada"));
    let issued = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(issued, 5, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(
            r,
            Err(ManagerError::RateLimited {
                reason: Limited::IssueLimit,
                ..
            })
        ));
    }
}

// ---- failing stores ----

/// A store whose compare-and-swap always loses, as if another writer always won.
#[derive(Default)]
struct AlwaysConflicts {
    gets: AtomicUsize,
}

impl Store for AlwaysConflicts {
    type Error = String;
    fn get(&self, _key: &str) -> Result<Option<String>, String> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        Ok(None)
    }
    fn compare_and_swap(&self, _: &str, _: Option<&str>, _: &str) -> Result<bool, String> {
        Ok(false)
    }
}

#[test]
fn a_store_whose_compare_and_swap_always_fails_gives_conflict_after_max_tries() {
    let otp = OtpManager::new(AlwaysConflicts::default(), policy(|_| {}), "login").unwrap();
    assert_eq!(otp.create("ada").unwrap_err(), ManagerError::Conflict);
    assert_eq!(otp.store().gets.load(Ordering::SeqCst), MAX_TRIES);
    // Operations that write nothing never meet the conflict.
    assert_eq!(otp.latest("ada").unwrap(), None);
    assert_eq!(otp.check("ada", "1234").unwrap(), Verdict::NoOtp);
}

/// A store that fails reads, or writes, with its own error.
struct Broken {
    reads: bool,
}

impl Store for Broken {
    type Error = String;
    fn get(&self, _key: &str) -> Result<Option<String>, String> {
        if self.reads {
            Err("read failed: disk on fire".into())
        } else {
            Ok(None)
        }
    }
    fn compare_and_swap(&self, _: &str, _: Option<&str>, _: &str) -> Result<bool, String> {
        Err("write failed: disk full".into())
    }
}

#[test]
fn a_store_error_reaches_the_caller_unchanged() {
    let reads = OtpManager::new(Broken { reads: true }, policy(|_| {}), "login").unwrap();
    let read_failed = ManagerError::Store("read failed: disk on fire".to_owned());
    assert_eq!(reads.create("ada").unwrap_err(), read_failed);
    assert_eq!(reads.latest("ada").unwrap_err(), read_failed);
    assert_eq!(reads.verify("ada", "1234").unwrap_err(), read_failed);
    let writes = OtpManager::new(Broken { reads: false }, policy(|_| {}), "login").unwrap();
    assert_eq!(
        writes.create("ada").unwrap_err(),
        ManagerError::Store("write failed: disk full".to_owned())
    );
    assert_eq!(writes.latest("ada").unwrap(), None);
}
