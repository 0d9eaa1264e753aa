//! A small driver for Rust backends: a [`Store`] trait, an in-memory store and a
//! manager that runs the core with the system clock and OS randomness.
//!
//! This is the only module of the core besides `src/wasm/` that touches the outside
//! world (clock, randomness, storage); the state machine in [`crate::Engine`] does not.

use crate::code::SALT_LEN;
use crate::engine::{Answer, Engine, Issue, Limited, Op, OtpView, Subject, Verdict};
use crate::error::Error;
use crate::policy::Policy;
use crate::time::Millis;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::MAX_TRIES;

/// A key-value store holding one string per key.
pub trait Store {
    /// The store's own error, handed back to the caller unchanged.
    type Error;
    /// The value at `key`, or `None`.
    fn get(&self, key: &str) -> Result<Option<String>, Self::Error>;
    /// Stores `value` at `key` only if the current value is `expected` (`None`: absent).
    /// Answers whether it stored. A store without compare-and-swap may implement this as
    /// a plain write that answers `true`; attempt counting is then exact only without
    /// concurrent requests for the same user.
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, Self::Error>;
}

/// An in-process store: a `HashMap` behind a `Mutex`, with exact compare-and-swap.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every
        // mutation is a single insert), so a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    type Error = core::convert::Infallible;

    fn get(&self, key: &str) -> Result<Option<String>, Self::Error> {
        Ok(self.lock().get(key).cloned())
    }

    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, Self::Error> {
        let mut map = self.lock();
        if map.get(key).map(String::as_str) != expected {
            return Ok(false);
        }
        map.insert(key.to_owned(), value.to_owned());
        Ok(true)
    }
}

/// What a [`OtpManager`] operation can fail with.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagerError<E> {
    /// Bad argument or corrupt record (see [`Error`]).
    Otp(Error),
    /// The store failed; its error, unchanged.
    Store(E),
    /// Issuing was refused by the cooldown, the issue limit or the failure budget.
    RateLimited {
        /// Milliseconds until issuing is allowed.
        retry_after_ms: u64,
        /// Which rule refused.
        reason: Limited,
    },
    /// `generate`: the current code is still active.
    ActiveOtpExists {
        /// When it expires.
        expires_at: Millis,
    },
    /// Compare-and-swap lost [`MAX_TRIES`] times in a row.
    Conflict,
    /// The operating system gave no randomness.
    Entropy,
}

impl<E> From<Error> for ManagerError<E> {
    fn from(e: Error) -> Self {
        ManagerError::Otp(e)
    }
}

type Clock = Box<dyn Fn() -> Millis + Send + Sync>;

/// Runs the OTP operations for one scope against a [`Store`].
///
/// ```
/// use edge_otp::{Config, MemoryStore, OtpManager, Policy};
///
/// let policy = Policy::new(Config::new(b"app secret, 16 bytes or more".to_vec())).unwrap();
/// let otp = OtpManager::new(MemoryStore::new(), policy, "login").unwrap();
/// let issued = otp.create("ada@example.com").unwrap();
/// assert_eq!(issued.code.as_str().len(), 4);
/// assert!(!otp.verify("ada@example.com", "not it").unwrap());
/// assert!(otp.verify("ada@example.com", issued.code.as_str()).unwrap());
/// assert!(!otp.verify("ada@example.com", issued.code.as_str()).unwrap()); // used
/// ```
pub struct OtpManager<S> {
    engine: Engine,
    store: S,
    scope: String,
    key_prefix: String,
    clock: Clock,
}

impl<S: Store> OtpManager<S> {
    /// A manager for `scope` (`[A-Za-z0-9_-]{1,32}`) with the system clock and the
    /// key prefix [`"otp:"`](crate::driver::DEFAULT_KEY_PREFIX) (so the key of a user is `otp:<scope>:<user>`, as in the JS
    /// package).
    pub fn new(store: S, policy: Policy, scope: &str) -> Result<OtpManager<S>, Error> {
        crate::engine::check_scope(scope)?;
        Ok(OtpManager {
            engine: Engine::new(policy),
            store,
            scope: scope.to_owned(),
            key_prefix: crate::driver::DEFAULT_KEY_PREFIX.to_owned(),
            clock: Box::new(system_now),
        })
    }

    /// Replaces the clock (milliseconds since the Unix epoch), for tests and simulations.
    pub fn with_clock(mut self, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Replaces the key prefix.
    pub fn with_key_prefix(mut self, prefix: &str) -> Self {
        self.key_prefix = prefix.to_owned();
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn run(&self, user: &str, op: Op<'_>) -> Result<Answer, ManagerError<S::Error>> {
        let subject = Subject::new(&self.scope, user)?;
        let key = format!("{}{}:{}", self.key_prefix, self.scope, user);
        for _ in 0..MAX_TRIES {
            let stored = self.store.get(&key).map_err(ManagerError::Store)?;
            let mut draw = || {
                let mut salt = [0u8; SALT_LEN];
                getrandom::fill(&mut salt).ok().map(|()| salt)
            };
            let out = self
                .engine
                .apply_with(op, &subject, stored.as_deref(), (self.clock)(), &mut draw)
                .map_err(|e| match e {
                    Error::EntropyUnavailable => ManagerError::Entropy,
                    e => ManagerError::Otp(e),
                })?;
            let Some(write) = out.write else {
                return Ok(out.answer);
            };
            let stored_it = self
                .store
                .compare_and_swap(&key, stored.as_deref(), &write)
                .map_err(ManagerError::Store)?;
            if stored_it {
                return Ok(out.answer);
            }
        }
        Err(ManagerError::Conflict)
    }

    fn issue(&self, user: &str, op: Op<'_>) -> Result<OtpView, ManagerError<S::Error>> {
        match self.run(user, op)? {
            Answer::Issue(Issue::Issued(view)) => Ok(view),
            Answer::Issue(Issue::RateLimited {
                retry_after_ms,
                reason,
            }) => Err(ManagerError::RateLimited {
                retry_after_ms,
                reason,
            }),
            Answer::Issue(Issue::ActiveOtpExists { expires_at }) => {
                Err(ManagerError::ActiveOtpExists { expires_at })
            }
            _ => unreachable!("issuing operations answer with Answer::Issue"),
        }
    }

    /// Issues a new code, superseding the previous one.
    pub fn create(&self, user: &str) -> Result<OtpView, ManagerError<S::Error>> {
        self.issue(user, Op::Create)
    }

    /// Issues a new code only if there is no active one.
    pub fn generate(&self, user: &str) -> Result<OtpView, ManagerError<S::Error>> {
        self.issue(user, Op::Generate)
    }

    /// The latest code and its status, or `None`.
    pub fn latest(&self, user: &str) -> Result<Option<OtpView>, ManagerError<S::Error>> {
        match self.run(user, Op::Latest)? {
            Answer::Latest(view) => Ok(view),
            _ => unreachable!("latest answers with Answer::Latest"),
        }
    }

    /// The full verdict for a submitted code.
    pub fn check(&self, user: &str, code: &str) -> Result<Verdict, ManagerError<S::Error>> {
        match self.run(user, Op::Verify(code))? {
            Answer::Verdict(v) => Ok(v),
            _ => unreachable!("verify answers with Answer::Verdict"),
        }
    }

    /// Whether the submitted code verifies (it is then used).
    pub fn verify(&self, user: &str, code: &str) -> Result<bool, ManagerError<S::Error>> {
        Ok(self.check(user, code)?.is_ok())
    }

    fn flag(&self, user: &str, op: Op<'_>) -> Result<bool, ManagerError<S::Error>> {
        match self.run(user, op)? {
            Answer::Flag(b) => Ok(b),
            _ => unreachable!("flag operations answer with Answer::Flag"),
        }
    }

    /// Resets the current code's attempts and the failure budget.
    pub fn reset_attempts(&self, user: &str) -> Result<bool, ManagerError<S::Error>> {
        self.flag(user, Op::ResetAttempts)
    }

    /// Revokes the active code without issuing another.
    pub fn invalidate(&self, user: &str) -> Result<bool, ManagerError<S::Error>> {
        self.flag(user, Op::Invalidate)
    }
}

fn system_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
