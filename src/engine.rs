//! The operations: each takes the stored record (or none), `now` and any entropy it
//! needs, and returns its answer plus the record to write, or nothing to write.

use crate::code::{self, Code, KeyDeriver, Permutation, SALT_LEN};
use crate::error::Error;
use crate::policy::{Policy, WindowLimit};
use crate::record::{CodeState, Record};
use crate::time::{Millis, MAX_TIME};

/// Longest user id, in UTF-8 bytes.
pub const MAX_USER_BYTES: usize = 256;
/// Longest scope, in bytes.
pub const MAX_SCOPE_BYTES: usize = 32;

/// Who a code is for: a scope (purpose, such as `"login"` or `"reset"`) and a user id.
/// Each pair has its own record and its own, independent codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    scope: &'a str,
    user: &'a str,
}

impl<'a> Subject<'a> {
    /// Checks both parts: the scope is 1 to 32 characters of `[A-Za-z0-9_-]`, the user id
    /// is 1 to 256 bytes of UTF-8.
    pub fn new(scope: &'a str, user: &'a str) -> Result<Subject<'a>, Error> {
        check_scope(scope)?;
        if user.is_empty() {
            return Err(Error::InvalidArgument {
                argument: "user",
                problem: "must not be empty",
            });
        }
        if user.len() > MAX_USER_BYTES {
            return Err(Error::InvalidArgument {
                argument: "user",
                problem: "must be at most 256 bytes of utf-8",
            });
        }
        Ok(Subject { scope, user })
    }

    /// The scope.
    pub fn scope(&self) -> &'a str {
        self.scope
    }

    /// The user id.
    pub fn user(&self) -> &'a str {
        self.user
    }
}

/// Checks a scope name: 1 to 32 characters of `[A-Za-z0-9_-]`.
pub fn check_scope(scope: &str) -> Result<(), Error> {
    let ok = (1..=MAX_SCOPE_BYTES).contains(&scope.len())
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            argument: "scope",
            problem: "must be 1 to 32 characters of A-Z a-z 0-9 _ -",
        })
    }
}

fn check_now(now: Millis) -> Result<Millis, Error> {
    if now > MAX_TIME {
        return Err(Error::InvalidArgument {
            argument: "now",
            problem: "must be at most 253402300799999 (year 9999)",
        });
    }
    Ok(now)
}

/// Where the latest code stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It verifies if submitted now.
    Active,
    /// Its lifetime is over.
    Expired,
    /// Its wrong guesses are used up.
    Exhausted,
    /// It was verified.
    Used,
    /// It was revoked (or issued under a policy whose code space no longer holds it).
    Superseded,
}

impl Status {
    /// The lowercase name used by the JS API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Expired => "expired",
            Status::Exhausted => "exhausted",
            Status::Used => "used",
            Status::Superseded => "superseded",
        }
    }
}

/// The latest code of a subject, as `latest` and the issuing operations report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpView {
    /// The code itself.
    pub code: Code,
    /// When it was issued.
    pub created_at: Millis,
    /// When it stops verifying.
    pub expires_at: Millis,
    /// Wrong guesses spent on it.
    pub attempts: u32,
    /// Wrong guesses allowed.
    pub max_attempts: u32,
    /// Where it stands at `now`.
    pub status: Status,
}

/// Why issuing was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    /// The previous unused code is younger than the resend cooldown.
    Cooldown,
    /// The issue limit for the window is spent.
    IssueLimit,
    /// The failure budget is spent: the subject is locked out.
    LockedOut,
}

/// The answer of `create` and `generate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A new code; the previous one can never verify again.
    Issued(OtpView),
    /// Nothing issued: try again in `retry_after_ms` (waiting exactly that long suffices).
    RateLimited {
        /// Milliseconds until issuing is allowed.
        retry_after_ms: u64,
        /// Which rule refused.
        reason: Limited,
    },
    /// `generate` only: the current code is still active.
    ActiveOtpExists {
        /// When the active code expires.
        expires_at: Millis,
    },
}

/// The answer of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// The code was right; it is now used.
    Verified,
    /// The code was wrong (or not even code-shaped); one attempt was spent.
    Invalid {
        /// Wrong guesses still allowed on this code.
        attempts_left: u32,
    },
    /// The code's lifetime is over.
    Expired,
    /// The code's attempts are used up.
    Exhausted,
    /// The code was already verified.
    Used,
    /// There is no code to check (never issued, or revoked).
    NoOtp,
    /// The failure budget is spent; nothing is checked until it recovers.
    LockedOut {
        /// Milliseconds until verification is allowed again.
        retry_after_ms: u64,
    },
}

impl Verdict {
    /// The lowercase reason used by the JS API (`"verified"`, `"invalid"`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Invalid { .. } => "invalid",
            Verdict::Expired => "expired",
            Verdict::Exhausted => "exhausted",
            Verdict::Used => "used",
            Verdict::NoOtp => "none",
            Verdict::LockedOut { .. } => "locked",
        }
    }

    /// `true` only for [`Verdict::Verified`].
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Verified)
    }
}

/// An operation's answer and the record to store, if anything changed.
///
/// When `write` is `Some`, the driver must store it (with compare-and-swap against the
/// record it passed in, where the store offers it) before reporting `answer`; when it is
/// `None`, nothing may be written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Step<T> {
    /// What to tell the caller.
    pub answer: T,
    /// What to store.
    pub write: Option<Record>,
}

impl<T> Step<T> {
    fn read_only(answer: T) -> Step<T> {
        Step {
            answer,
            write: None,
        }
    }
}

/// The OTP state machine for one policy. Deterministic: no clock, no randomness, no I/O.
#[derive(Clone)]
pub struct Engine {
    policy: Policy,
    keys: KeyDeriver,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Milliseconds left in a window that opened at `since`, if it is still open at `now`.
fn window_left(since: Millis, window: Millis, now: Millis) -> Option<u64> {
    let end = since.saturating_add(window);
    (now < end).then(|| end - now)
}

impl Engine {
    /// An engine for `policy`.
    pub fn new(policy: Policy) -> Engine {
        let keys = KeyDeriver::new(&policy.secret);
        Engine { policy, keys }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn permutation(&self, subject: &Subject<'_>, salt: &[u8; SALT_LEN]) -> Permutation {
        self.keys
            .permutation(&self.policy, subject.scope, subject.user, salt)
    }

    /// The code index of the record's current code, if the policy's space holds it.
    fn code_index(&self, subject: &Subject<'_>, r: &Record) -> Option<u64> {
        (r.index < self.policy.space).then(|| self.permutation(subject, &r.salt).apply(r.index))
    }

    fn status(&self, r: &Record, now: Millis) -> Status {
        match r.state {
            CodeState::Used => Status::Used,
            CodeState::Revoked => Status::Superseded,
            CodeState::Active if r.index >= self.policy.space => Status::Superseded,
            CodeState::Active if now >= r.expires_at => Status::Expired,
            CodeState::Active if r.attempts >= r.max_attempts => Status::Exhausted,
            CodeState::Active => Status::Active,
        }
    }

    /// Milliseconds until the failure budget recovers, if it is spent at `now`.
    fn locked_for(&self, r: &Record, now: Millis) -> Option<u64> {
        let WindowLimit { count, window } = self.policy.failure_limit?;
        if r.failures < count {
            return None;
        }
        window_left(r.failures_since, window, now)
    }

    /// Issues a new code unless a limit forbids it. The previous code, if any, can never
    /// verify again. `fresh_salt` is used only when a new cycle starts (first issue, or
    /// every code of the current permutation has been issued); pass 16 random bytes.
    pub fn create(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: [u8; SALT_LEN],
    ) -> Result<Step<Issue>, Error> {
        let now = check_now(now)?;
        let p = &self.policy;
        let limited = |retry_after_ms, reason| {
            Ok(Step::read_only(Issue::RateLimited {
                retry_after_ms,
                reason,
            }))
        };
        let (salt, index, failures_since, failures, issues_since, issues) = match stored {
            None => (fresh_salt, 0, now, 0, now, 1),
            Some(r) => {
                if let Some(wait) = self.locked_for(r, now) {
                    return limited(wait, Limited::LockedOut);
                }
                if r.state != CodeState::Used && p.cooldown > 0 {
                    if let Some(wait) = window_left(r.created_at, p.cooldown, now) {
                        return limited(wait, Limited::Cooldown);
                    }
                }
                let (issues_since, issues) = match p.issue_limit {
                    Some(l) if window_left(r.issues_since, l.window, now).is_some() => {
                        if r.issues >= l.count {
                            let wait = window_left(r.issues_since, l.window, now).unwrap_or(0);
                            return limited(wait, Limited::IssueLimit);
                        }
                        (r.issues_since, r.issues + 1)
                    }
                    Some(_) => (now, 1),
                    None => (r.issues_since, r.issues.saturating_add(1)),
                };
                let (salt, index) = self.next_index(subject, r, fresh_salt);
                (
                    salt,
                    index,
                    r.failures_since,
                    r.failures,
                    issues_since,
                    issues,
                )
            }
        };
        let record = Record {
            salt,
            index,
            created_at: now,
            expires_at: now + p.ttl,
            attempts: 0,
            max_attempts: p.max_attempts,
            state: CodeState::Active,
            failures_since,
            failures,
            issues_since,
            issues,
        };
        let view = self.view(subject, &record, now);
        Ok(Step {
            answer: Issue::Issued(view),
            write: Some(record),
        })
    }

    /// The next position: the following index of the same permutation, or index 0 of a
    /// fresh one when the cycle is complete. The first code of a new cycle is skipped if
    /// it equals the last code of the old one, so consecutive codes always differ.
    fn next_index(
        &self,
        subject: &Subject<'_>,
        r: &Record,
        fresh_salt: [u8; SALT_LEN],
    ) -> ([u8; SALT_LEN], u64) {
        if r.index + 1 < self.policy.space {
            return (r.salt, r.index + 1);
        }
        let first = self.permutation(subject, &fresh_salt).apply(0);
        let start = match self.code_index(subject, r) {
            Some(last) if code::same_code(first, last) => 1,
            _ => 0,
        };
        (fresh_salt, start)
    }

    /// Like [`Engine::create`], but when the current code is still active (not expired,
    /// not used, attempts left) answers [`Issue::ActiveOtpExists`] and writes nothing.
    pub fn generate(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: [u8; SALT_LEN],
    ) -> Result<Step<Issue>, Error> {
        let now = check_now(now)?;
        if let Some(r) = stored {
            if self.status(r, now) == Status::Active {
                return Ok(Step::read_only(Issue::ActiveOtpExists {
                    expires_at: r.expires_at,
                }));
            }
        }
        self.create(subject, stored, now, fresh_salt)
    }

    fn view(&self, subject: &Subject<'_>, r: &Record, now: Millis) -> OtpView {
        // A record whose index lies outside the current space (the policy shrank) has no
        // code under this policy; it is reported as superseded with a placeholder-free
        // code of index 0 never shown as active.
        let index = self.code_index(subject, r).unwrap_or(0);
        OtpView {
            code: code::render(&self.policy, index),
            created_at: r.created_at,
            expires_at: r.expires_at,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            status: self.status(r, now),
        }
    }

    /// The latest code of the subject, with its status at `now`; `None` if it never had
    /// one. Never writes.
    pub fn latest(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
    ) -> Result<Option<OtpView>, Error> {
        let now = check_now(now)?;
        Ok(stored.map(|r| self.view(subject, r, now)))
    }

    /// Checks a submitted code. Spaces and hyphens are ignored; a code of the wrong
    /// length or with characters outside the alphabet is a wrong guess. Only
    /// [`Verdict::Verified`] (the code becomes used) and [`Verdict::Invalid`] (one
    /// attempt and one unit of the failure budget spent) write.
    pub fn verify(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        submitted: &str,
        now: Millis,
    ) -> Result<Step<Verdict>, Error> {
        let now = check_now(now)?;
        let Some(r) = stored else {
            return Ok(Step::read_only(Verdict::NoOtp));
        };
        if let Some(retry_after_ms) = self.locked_for(r, now) {
            return Ok(Step::read_only(Verdict::LockedOut { retry_after_ms }));
        }
        match self.status(r, now) {
            Status::Used => return Ok(Step::read_only(Verdict::Used)),
            Status::Superseded => return Ok(Step::read_only(Verdict::NoOtp)),
            Status::Expired => return Ok(Step::read_only(Verdict::Expired)),
            Status::Exhausted => return Ok(Step::read_only(Verdict::Exhausted)),
            Status::Active => {}
        }
        let expected = self.code_index(subject, r);
        let right = match (code::parse(&self.policy, submitted), expected) {
            (Some(given), Some(expected)) => code::same_code(given, expected),
            _ => false,
        };
        let mut next = r.clone();
        if right {
            next.state = CodeState::Used;
            // A success proves the user holds the channel: their earlier typos no longer
            // count against them.
            next.failures = 0;
            return Ok(Step {
                answer: Verdict::Verified,
                write: Some(next),
            });
        }
        next.attempts += 1;
        if let Some(l) = self.policy.failure_limit {
            if r.failures == 0 || window_left(r.failures_since, l.window, now).is_none() {
                next.failures_since = now;
                next.failures = 1;
            } else {
                next.failures = r.failures.saturating_add(1);
            }
        }
        Ok(Step {
            answer: Verdict::Invalid {
                attempts_left: next.max_attempts - next.attempts,
            },
            write: Some(next),
        })
    }

    /// An operator's unlock: the current code's attempts go back to 0 (an exhausted code
    /// that is neither expired nor used verifies again) and the failure budget is
    /// cleared. Answers whether there was a current code (issued, not used, not revoked).
    /// Writes only if something changed.
    pub fn reset_attempts(&self, stored: Option<&Record>) -> Step<bool> {
        let Some(r) = stored else {
            return Step::read_only(false);
        };
        let current = r.state == CodeState::Active;
        let mut next = r.clone();
        if current {
            next.attempts = 0;
        }
        next.failures = 0;
        let write = (next != *r).then_some(next);
        Step {
            answer: current,
            write,
        }
    }

    /// Runs one operation on a stored record in its wire form: decodes it, calls the
    /// operation and encodes the record to write. This is the single entry point the
    /// drivers (the native [`crate::OtpManager`] and the wasm binding) use, so that the
    /// read-decide-write cycle is written once.
    pub fn apply(
        &self,
        op: Op<'_>,
        subject: &Subject<'_>,
        stored: Option<&str>,
        now: Millis,
        fresh_salt: [u8; SALT_LEN],
    ) -> Result<Outcome, Error> {
        let record = stored.map(Record::decode).transpose()?;
        let r = record.as_ref();
        let (answer, write) = match op {
            Op::Create => split(self.create(subject, r, now, fresh_salt)?, Answer::Issue),
            Op::Generate => split(self.generate(subject, r, now, fresh_salt)?, Answer::Issue),
            Op::Latest => (Answer::Latest(self.latest(subject, r, now)?), None),
            Op::Verify(code) => split(self.verify(subject, r, code, now)?, Answer::Verdict),
            Op::ResetAttempts => split(self.reset_attempts(r), Answer::Flag),
            Op::Invalidate => split(self.invalidate(r, now)?, Answer::Flag),
        };
        Ok(Outcome {
            answer,
            write: write.map(|w| w.encode()),
        })
    }

    /// Revokes the current code without issuing another. Answers whether there was an
    /// active code. An exhausted but unexpired code is revoked too (so a later
    /// `reset_attempts` cannot revive it), though the answer is `false` for it.
    pub fn invalidate(&self, stored: Option<&Record>, now: Millis) -> Result<Step<bool>, Error> {
        let now = check_now(now)?;
        let Some(r) = stored else {
            return Ok(Step::read_only(false));
        };
        let status = self.status(r, now);
        if !matches!(status, Status::Active | Status::Exhausted) {
            return Ok(Step::read_only(false));
        }
        let mut next = r.clone();
        next.state = CodeState::Revoked;
        Ok(Step {
            answer: status == Status::Active,
            write: Some(next),
        })
    }
}

fn split<T>(step: Step<T>, wrap: fn(T) -> Answer) -> (Answer, Option<Record>) {
    (wrap(step.answer), step.write)
}

/// An operation for [`Engine::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// [`Engine::create`].
    Create,
    /// [`Engine::generate`].
    Generate,
    /// [`Engine::latest`].
    Latest,
    /// [`Engine::verify`] with the submitted code.
    Verify(&'a str),
    /// [`Engine::reset_attempts`].
    ResetAttempts,
    /// [`Engine::invalidate`].
    Invalidate,
}

impl Op<'_> {
    /// Whether the operation may need a fresh salt (only issuing does).
    pub fn issues(&self) -> bool {
        matches!(self, Op::Create | Op::Generate)
    }
}

/// The answer of any operation run through [`Engine::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// From `create` and `generate`.
    Issue(Issue),
    /// From `latest`.
    Latest(Option<OtpView>),
    /// From `verify`.
    Verdict(Verdict),
    /// From `reset_attempts` and `invalidate`.
    Flag(bool),
}

/// What [`Engine::apply`] returns: the answer, and the encoded record to store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Outcome {
    /// What to tell the caller.
    pub answer: Answer,
    /// The record to store, in wire form; `None` means write nothing.
    pub write: Option<String>,
}
