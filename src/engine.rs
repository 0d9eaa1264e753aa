//! The operations: each takes the stored record (or none), `now` and any entropy it
//! needs, and returns its answer plus the record to write, or nothing to write.

use crate::code::{self, Code, KeyDeriver, Permutation, Token, SALT_LEN};
use crate::error::Error;
use crate::policy::{Policy, WindowLimit};
use crate::record::{CodeState, Record};
use crate::time::{Millis, MAX_TIME, MS_PER_S};
use alloc::string::String;

/// Largest index a stored record may hold (2^53 - 1, exact in JavaScript).
const MAX_SAFE_INDEX: u64 = (1 << 53) - 1;

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
                problem: USER_TOO_LONG,
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

/// `INVALID_ARGUMENT` reason for a user id longer than [`MAX_USER_BYTES`].
pub const USER_TOO_LONG: &str = "must be at most 256 bytes of utf-8";

/// `INVALID_ARGUMENT` / `INVALID_CONFIG` reason for a scope [`check_scope`] refuses.
pub const SCOPE_PROBLEM: &str = "must be 1 to 32 characters of A-Z a-z 0-9 _ -";

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
            problem: SCOPE_PROBLEM,
        })
    }
}

fn check_now(now: Millis) -> Result<Millis, Error> {
    if now >= MAX_TIME {
        return Err(Error::InvalidArgument {
            argument: "now",
            problem: crate::time::NOW_PROBLEM,
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
    /// When issuing another code is allowed: the end of the resend cooldown (none once
    /// the code is used), of a spent issue limit or of a lockout, whichever is latest;
    /// `created_at` when none applies. `create` is refused exactly while `now` is before
    /// it. It may lie in the past (then a new code can be issued now).
    pub resend_available_at: Millis,
    /// The link token of this issuance, when it was asked for ([`IssueOptions::link`]).
    pub token: Option<Token>,
    /// Wrong guesses a check at the time of the view could still spend on this code: the
    /// code's attempts left, or fewer when the failure budget has fewer left (as a
    /// verdict's `attempts_left` counts); 0 when the code is not active or the budget is
    /// spent.
    pub attempts_left: u32,
    /// When the spent failure budget recovers, while it is spent at the time of the view:
    /// until then every check answers [`Verdict::LockedOut`] and `create` is refused. `None`
    /// when checks are allowed (the code's own attempts may still be spent: its status says
    /// so).
    pub locked_until: Option<Millis>,
}

/// Per-call choices of `create` and `generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IssueOptions {
    /// This code's lifetime in seconds, `1..=` the policy's `ttl_seconds`; `None`: the
    /// policy's.
    pub ttl_seconds: Option<u64>,
    /// Also answer the issuance's link token (see [`Engine::verify_token`]).
    pub link: bool,
}

impl IssueOptions {
    /// The code lifetime these choices give under `policy`, in milliseconds, or
    /// [`Error::InvalidArgument`] for one longer than the policy's (or 0).
    pub fn ttl_ms(&self, policy: &Policy) -> Result<Millis, Error> {
        match self.ttl_seconds {
            None => Ok(policy.ttl),
            Some(s) if s >= 1 && s.saturating_mul(MS_PER_S) <= policy.ttl => Ok(s * MS_PER_S),
            Some(_) => Err(Error::InvalidArgument {
                argument: "ttlSeconds",
                problem: "must be a whole number from 1 to the policy's ttlSeconds",
            }),
        }
    }
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

impl Limited {
    /// The lowercase name used by the JS API (`OtpError.reason` of `RATE_LIMITED`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Limited::Cooldown => "cooldown",
            Limited::IssueLimit => "issue_limit",
            Limited::LockedOut => "locked",
        }
    }
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
        /// Wrong guesses still allowed: the smaller of what this code allows and what
        /// the failure budget allows (with 0 the next check is refused, as exhausted or
        /// locked out, unless the failure window or the code's lifetime ends first).
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

    /// An identifier of this engine's behaviour: engines built from the same secret and
    /// policy (and the same `context`, such as a scope) have the same fingerprint, any
    /// other difference gives another one. It is a PRF output under the engine key, so it
    /// reveals nothing about the secret; drivers use it to share one engine.
    pub fn fingerprint(&self, context: &[u8]) -> [u8; 16] {
        let p = &self.policy;
        let limit = |l: Option<WindowLimit>| {
            l.map_or([0u8; 12], |l| {
                let mut b = [0u8; 12];
                b[..4].copy_from_slice(&l.count.to_be_bytes());
                b[4..].copy_from_slice(&l.window.to_be_bytes());
                b
            })
        };
        let mut m = alloc::vec::Vec::with_capacity(128 + context.len());
        m.extend_from_slice(&p.ttl.to_be_bytes());
        m.extend_from_slice(&p.max_attempts.to_be_bytes());
        m.extend_from_slice(&(p.length as u64).to_be_bytes());
        m.extend_from_slice(&p.cooldown.to_be_bytes());
        m.extend_from_slice(&limit(p.issue_limit));
        m.extend_from_slice(&limit(p.failure_limit));
        m.push(p.alphabet.len() as u8);
        m.extend_from_slice(&p.alphabet);
        m.extend_from_slice(context);
        self.keys.fingerprint(&m)
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

    /// Why issuing is refused at `now`, and for how long: every rule that refuses is
    /// considered and the longest wait reported, so that waiting exactly that long always
    /// suffices. `None`: issuing is allowed.
    fn refusal(&self, r: &Record, now: Millis) -> Option<(u64, Limited)> {
        let p = &self.policy;
        let mut refusal: Option<(u64, Limited)> = None;
        let mut refuse = |wait: Option<u64>, why: Limited| {
            if let Some(wait) = wait {
                if refusal.is_none_or(|(longest, _)| wait > longest) {
                    refusal = Some((wait, why));
                }
            }
        };
        refuse(self.locked_for(r, now), Limited::LockedOut);
        if r.state != CodeState::Used && p.cooldown > 0 {
            refuse(
                window_left(r.created_at, p.cooldown, now),
                Limited::Cooldown,
            );
        }
        if let Some(l) = p.issue_limit {
            if r.issues >= l.count {
                refuse(
                    window_left(r.issues_since, l.window, now),
                    Limited::IssueLimit,
                );
            }
        }
        refusal
    }

    /// When the last rule that would refuse a `create` on `r` stops refusing (possibly
    /// in the past; `r.created_at` when no rule applies): `create` is refused exactly
    /// while `now` is before it. Independent of `now`.
    fn resend_available_at(&self, r: &Record) -> Millis {
        let p = &self.policy;
        let mut at = r.created_at;
        if r.state != CodeState::Used {
            at = at.max(r.created_at.saturating_add(p.cooldown));
        }
        if let Some(l) = p.issue_limit {
            if r.issues >= l.count {
                at = at.max(r.issues_since.saturating_add(l.window));
            }
        }
        if let Some(l) = p.failure_limit {
            if r.failures >= l.count {
                at = at.max(r.failures_since.saturating_add(l.window));
            }
        }
        at
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
        self.create_with(subject, stored, now, &mut || Some(fresh_salt))
    }

    /// [`Engine::create`] with entropy on demand: `fresh_salt` is called only when a new
    /// cycle starts, so that drivers draw randomness (a slow call on some runtimes) only
    /// when it is used. `None` from it gives [`Error::EntropyUnavailable`].
    pub fn create_with(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
    ) -> Result<Step<Issue>, Error> {
        self.issue(subject, stored, now, fresh_salt, IssueOptions::default())
    }

    /// [`Engine::create_with`] with per-call choices: a shorter lifetime for this code
    /// (longer than the policy's is [`Error::InvalidArgument`]), and the link token.
    pub fn issue(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
        options: IssueOptions,
    ) -> Result<Step<Issue>, Error> {
        let now = check_now(now)?;
        let p = &self.policy;
        let ttl = options.ttl_ms(p)?;
        let (salt, index, failures_since, failures, issues_since, issues) = match stored {
            None => (draw(fresh_salt)?, 0, now, 0, now, 1),
            Some(r) => {
                if let Some((retry_after_ms, reason)) = self.refusal(r, now) {
                    return Ok(Step::read_only(Issue::RateLimited {
                        retry_after_ms,
                        reason,
                    }));
                }
                let (issues_since, issues) = match p.issue_limit {
                    Some(l) if window_left(r.issues_since, l.window, now).is_some() => {
                        (r.issues_since, r.issues + 1)
                    }
                    Some(_) => (now, 1),
                    None => (r.issues_since, r.issues.saturating_add(1)),
                };
                let (salt, index) = self.next_index(subject, r, fresh_salt)?;
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
            // Clamped so that every stored time stays within MAX_TIME (`now < MAX_TIME`).
            expires_at: (now + ttl).min(MAX_TIME),
            attempts: 0,
            max_attempts: p.max_attempts,
            state: CodeState::Active,
            failures_since,
            failures,
            issues_since,
            issues,
        };
        let mut view = self.view(subject, &record, now);
        if options.link {
            view.token = Some(self.token(subject, &record));
        }
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
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
    ) -> Result<([u8; SALT_LEN], u64), Error> {
        // A cycle is the whole space, or 2^53 issues where the space is larger, so that
        // every stored index stays an exact JavaScript number.
        let cycle = self.policy.space.min(MAX_SAFE_INDEX + 1);
        if r.index + 1 < cycle {
            return Ok((r.salt, r.index + 1));
        }
        let salt = draw(fresh_salt)?;
        let first = self.permutation(subject, &salt).apply(0);
        let start = match self.code_index(subject, r) {
            Some(last) if code::same_code(first, last) => 1,
            _ => 0,
        };
        Ok((salt, start))
    }

    /// Like [`Engine::create`], but when the current code is still active (not expired,
    /// not used, attempts left) answers [`Issue::ActiveOtpExists`] and writes nothing.
    /// During a lockout it answers as [`Engine::create`] does ([`Issue::RateLimited`]):
    /// the active code cannot verify until the lockout ends, so pointing the user to it
    /// would be wrong.
    pub fn generate(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: [u8; SALT_LEN],
    ) -> Result<Step<Issue>, Error> {
        self.generate_with(subject, stored, now, &mut || Some(fresh_salt))
    }

    /// [`Engine::generate`] with entropy on demand, as in [`Engine::create_with`].
    pub fn generate_with(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
    ) -> Result<Step<Issue>, Error> {
        self.generate_issue(subject, stored, now, fresh_salt, IssueOptions::default())
    }

    /// [`Engine::generate_with`] with per-call choices, as in [`Engine::issue`].
    #[inline(never)] // see `apply_record`
    pub fn generate_issue(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
        options: IssueOptions,
    ) -> Result<Step<Issue>, Error> {
        let now = check_now(now)?;
        if let Some(r) = stored {
            if self.status(r, now) == Status::Active && self.locked_for(r, now).is_none() {
                return Ok(Step::read_only(Issue::ActiveOtpExists {
                    expires_at: r.expires_at,
                }));
            }
        }
        self.issue(subject, stored, now, fresh_salt, options)
    }

    /// The link token of the record's current issuance.
    fn token(&self, subject: &Subject<'_>, r: &Record) -> Token {
        self.keys
            .token(subject.scope, subject.user, &r.salt, r.index)
    }

    fn view(&self, subject: &Subject<'_>, r: &Record, now: Millis) -> OtpView {
        // A record whose index lies outside the current space (the policy shrank) has no
        // code under this policy; it is reported as superseded with a placeholder-free
        // code of index 0 never shown as active.
        let index = self.code_index(subject, r).unwrap_or(0);
        let status = self.status(r, now);
        OtpView {
            code: code::render(&self.policy, index),
            created_at: r.created_at,
            expires_at: r.expires_at,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            status,
            resend_available_at: self.resend_available_at(r),
            token: None,
            attempts_left: match status {
                Status::Active => self.attempts_left(r, now),
                _ => 0,
            },
            locked_until: self.locked_for(r, now).map(|left| now.saturating_add(left)),
        }
    }

    /// The latest code of the subject, with its status at `now`; `None` if it never had
    /// one. Never writes.
    #[inline(never)] // see `apply_record`
    pub fn latest(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        now: Millis,
    ) -> Result<Option<OtpView>, Error> {
        let now = check_now(now)?;
        Ok(stored.map(|r| self.view(subject, r, now)))
    }

    /// Checks a submitted code. White space and dashes are ignored and full-width forms
    /// read as ASCII (`code::fold_submitted`); a code of the wrong
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
        self.check(subject, stored, submitted, now, true)
    }

    /// [`Engine::verify`], with `consume: false` leaving a right code active (the answer
    /// is [`Verdict::Verified`] and nothing is written; a later consuming check still
    /// succeeds once). A wrong code spends an attempt either way.
    pub fn check(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        submitted: &str,
        now: Millis,
        consume: bool,
    ) -> Result<Step<Verdict>, Error> {
        let now = check_now(now)?;
        let r = match self.checkable(stored, now) {
            Ok(r) => r,
            Err(refused) => return Ok(Step::read_only(refused)),
        };
        let expected = self.code_index(subject, r);
        let right = match (code::parse(&self.policy, submitted), expected) {
            (Some(given), Some(expected)) => code::same_code(given, expected),
            _ => false,
        };
        match (right, consume) {
            (true, true) => Ok(self.used(r)),
            (true, false) => Ok(Step::read_only(Verdict::Verified)),
            (false, _) => {
                let mut next = r.clone();
                next.attempts += 1;
                self.count_failure(&mut next, r, now);
                Ok(Step {
                    answer: Verdict::Invalid {
                        attempts_left: self.attempts_left(&next, now),
                    },
                    write: Some(next),
                })
            }
        }
    }

    /// Checks a link token of the current issuance ([`IssueOptions::link`]): the same
    /// verdicts and the same issuance as the code, so using either makes both used and a
    /// newer issuance supersedes both. A wrong token spends the failure budget but not the
    /// code's attempts (its chance of being right is 2^-128). Compared in constant time.
    #[inline(never)] // see `apply_record`
    pub fn verify_token(
        &self,
        subject: &Subject<'_>,
        stored: Option<&Record>,
        submitted: &str,
        now: Millis,
    ) -> Result<Step<Verdict>, Error> {
        let now = check_now(now)?;
        let r = match self.checkable(stored, now) {
            Ok(r) => r,
            Err(refused) => return Ok(Step::read_only(refused)),
        };
        if self.token(subject, r).matches(submitted) {
            return Ok(self.used(r));
        }
        let mut next = r.clone();
        self.count_failure(&mut next, r, now);
        let answer = Verdict::Invalid {
            attempts_left: self.attempts_left(&next, now),
        };
        let write = (next != *r).then_some(next);
        Ok(Step { answer, write })
    }

    /// The record if it can be checked at `now`, else the verdict that refuses.
    fn checkable<'r>(
        &self,
        stored: Option<&'r Record>,
        now: Millis,
    ) -> Result<&'r Record, Verdict> {
        let Some(r) = stored else {
            return Err(Verdict::NoOtp);
        };
        if let Some(retry_after_ms) = self.locked_for(r, now) {
            return Err(Verdict::LockedOut { retry_after_ms });
        }
        match self.status(r, now) {
            Status::Used => Err(Verdict::Used),
            Status::Superseded => Err(Verdict::NoOtp),
            Status::Expired => Err(Verdict::Expired),
            Status::Exhausted => Err(Verdict::Exhausted),
            Status::Active => Ok(r),
        }
    }

    /// A right code or token: the issuance becomes used.
    fn used(&self, r: &Record) -> Step<Verdict> {
        let mut next = r.clone();
        next.state = CodeState::Used;
        // A success proves the user holds the channel: their earlier typos no longer
        // count against them.
        next.failures = 0;
        Step {
            answer: Verdict::Verified,
            write: Some(next),
        }
    }

    /// Wrong guesses `r` still allows at `now`: the code's attempts left, or fewer when
    /// the failure budget has fewer left in its window (a closed window has all of it).
    /// Not inlined: in the verdicts and the views, inlined copies cost 89 B gzip.
    #[inline(never)]
    fn attempts_left(&self, r: &Record, now: Millis) -> u32 {
        let code = r.max_attempts.saturating_sub(r.attempts);
        match self.policy.failure_limit {
            Some(l) if window_left(r.failures_since, l.window, now).is_some() => {
                code.min(l.count.saturating_sub(r.failures))
            }
            _ => code,
        }
    }

    /// One unit of the failure budget spent at `now` (a fixed window opened by the first
    /// failure after the previous one closed).
    fn count_failure(&self, next: &mut Record, r: &Record, now: Millis) {
        if let Some(l) = self.policy.failure_limit {
            if r.failures == 0 || window_left(r.failures_since, l.window, now).is_none() {
                next.failures_since = now;
                next.failures = 1;
            } else {
                next.failures = r.failures.saturating_add(1);
            }
        }
    }

    /// An operator's unlock: the current code's attempts go back to 0 (an exhausted code
    /// that is neither expired nor used verifies again) and the failure budget is
    /// cleared. Answers whether there was a current code (issued, not used, not revoked).
    /// Writes only if something changed.
    #[inline(never)] // see `apply_record`
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
        self.apply_with(op, subject, stored, now, &mut || Some(fresh_salt))
    }

    /// [`Engine::apply`] with entropy on demand, as in [`Engine::create_with`].
    pub fn apply_with(
        &self,
        op: Op<'_>,
        subject: &Subject<'_>,
        stored: Option<&str>,
        now: Millis,
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
    ) -> Result<Outcome, Error> {
        let (answer, write) = self.apply_record(op, subject, stored, now, fresh_salt)?;
        Ok(Outcome {
            answer,
            write: write.map(|w| w.encode()),
        })
    }

    /// [`Engine::apply_with`], leaving the record to write unencoded (the wasm binding
    /// encodes it straight into its I/O buffer).
    ///
    /// The operations it dispatches to (and [`Record::decode`]) are `#[inline(never)]`
    /// where they would otherwise be inlined here: a JS engine compiles a wasm function
    /// whole on its first call, so every operation inlined into this one would be compiled
    /// by the first operation of each instance, whichever it is (with `wasm-opt
    /// --one-caller-inline-max-function-size=100` in `.ci/build`, a first create compiles
    /// 17 KB of wasm instead of 20.5 KB; the module is 190 B gzip smaller too).
    pub(crate) fn apply_record(
        &self,
        op: Op<'_>,
        subject: &Subject<'_>,
        stored: Option<&str>,
        now: Millis,
        fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>,
    ) -> Result<(Answer, Option<Record>), Error> {
        let record = stored.map(Record::decode).transpose()?;
        let r = record.as_ref();
        let (answer, write) = match op {
            Op::Create => split(
                self.create_with(subject, r, now, fresh_salt)?,
                Answer::Issue,
            ),
            Op::Generate => split(
                self.generate_with(subject, r, now, fresh_salt)?,
                Answer::Issue,
            ),
            Op::Latest => (Answer::Latest(self.latest(subject, r, now)?), None),
            Op::Verify(code) => split(self.verify(subject, r, code, now)?, Answer::Verdict),
            Op::CreateWith(o) => split(self.issue(subject, r, now, fresh_salt, o)?, Answer::Issue),
            Op::GenerateWith(o) => split(
                self.generate_issue(subject, r, now, fresh_salt, o)?,
                Answer::Issue,
            ),
            Op::Check { code, consume } => {
                split(self.check(subject, r, code, now, consume)?, Answer::Verdict)
            }
            Op::Token(token) => split(self.verify_token(subject, r, token, now)?, Answer::Verdict),
            Op::ResetAttempts => split(self.reset_attempts(r), Answer::Flag),
            Op::Invalidate => split(self.invalidate(r, now)?, Answer::Flag),
        };
        Ok((answer, write))
    }

    /// Revokes the current code without issuing another. Answers whether there was an
    /// active code. An exhausted but unexpired code is revoked too (so a later
    /// `reset_attempts` cannot revive it), though the answer is `false` for it.
    #[inline(never)] // see `apply_record`
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

fn draw(fresh_salt: &mut dyn FnMut() -> Option<[u8; SALT_LEN]>) -> Result<[u8; SALT_LEN], Error> {
    fresh_salt().ok_or(Error::EntropyUnavailable)
}

fn split<T>(step: Step<T>, wrap: fn(T) -> Answer) -> (Answer, Option<Record>) {
    (wrap(step.answer), step.write)
}

/// An operation for [`Engine::apply`]. Its `Debug` form does not show a submitted code
/// or token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// [`Engine::create`].
    Create,
    /// [`Engine::generate`].
    Generate,
    /// [`Engine::latest`].
    Latest,
    /// [`Engine::verify`] with the submitted code.
    Verify(&'a str),
    /// [`Engine::issue`] with per-call choices.
    CreateWith(IssueOptions),
    /// [`Engine::generate_issue`] with per-call choices.
    GenerateWith(IssueOptions),
    /// [`Engine::check`]: the submitted code, and whether a right one is used up.
    Check {
        /// The submitted code.
        code: &'a str,
        /// `false`: a right code stays active.
        consume: bool,
    },
    /// [`Engine::verify_token`] with the submitted link token.
    Token(&'a str),
    /// [`Engine::reset_attempts`].
    ResetAttempts,
    /// [`Engine::invalidate`].
    Invalidate,
}

impl core::fmt::Debug for Op<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        const HIDDEN: &str = "<redacted>";
        match self {
            Op::Create => f.write_str("Create"),
            Op::Generate => f.write_str("Generate"),
            Op::Latest => f.write_str("Latest"),
            Op::Verify(_) => f.debug_tuple("Verify").field(&HIDDEN).finish(),
            Op::CreateWith(o) => f.debug_tuple("CreateWith").field(o).finish(),
            Op::GenerateWith(o) => f.debug_tuple("GenerateWith").field(o).finish(),
            Op::Check { consume, .. } => f
                .debug_struct("Check")
                .field("code", &HIDDEN)
                .field("consume", consume)
                .finish(),
            Op::Token(_) => f.debug_tuple("Token").field(&HIDDEN).finish(),
            Op::ResetAttempts => f.write_str("ResetAttempts"),
            Op::Invalidate => f.write_str("Invalidate"),
        }
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

/// What an operation did, for an app's audit log or metrics (the JS `onEvent`). Never
/// holds a code or token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// `issued`, `rate_limited`, `active_exists`, a verdict's reason (`verified`,
    /// `invalid`, `expired`, `locked`, ...), `reset`, `invalidated`, or `forgotten`
    /// ([`Event::forget`]).
    pub kind: &'static str,
    /// When it happened (the operation's `now`).
    pub at: Millis,
    /// `invalid`: wrong guesses left on the code.
    pub attempts_left: Option<u32>,
    /// `rate_limited` and `locked`: when to try again.
    pub retry_after_ms: Option<u64>,
    /// `issued` and `active_exists`: when the code expires.
    pub expires_at: Option<Millis>,
    /// `rate_limited`: the rule that refused (`cooldown`, `issue_limit`, `locked`), as
    /// the error's `reason`.
    pub reason: Option<&'static str>,
}

impl Event {
    /// The event of a driver's `forget` at `at` (it deletes the record without asking
    /// the engine): `forgotten` when there was a record (any value, corrupt ones too);
    /// none when there was nothing to erase.
    pub fn forget(present: bool, at: Millis) -> Option<Event> {
        present.then(|| Event::new("forgotten", at))
    }

    fn new(kind: &'static str, at: Millis) -> Event {
        Event {
            kind,
            at,
            attempts_left: None,
            retry_after_ms: None,
            expires_at: None,
            reason: None,
        }
    }
}

impl Answer {
    /// The event of `op`'s answer at `now`; `None` for reads (`latest`) and for a
    /// `reset_attempts` or `invalidate` that changed nothing (`wrote`: whether the
    /// operation writes). One that answers false but writes still has its event:
    /// `reset_attempts` without a current code clears the failure budget, `invalidate`
    /// revokes an exhausted code.
    pub fn event(&self, op: &Op<'_>, wrote: bool, now: Millis) -> Option<Event> {
        let e = |kind| Event::new(kind, now);
        Some(match self {
            Answer::Issue(Issue::Issued(v)) => Event {
                expires_at: Some(v.expires_at),
                ..e("issued")
            },
            Answer::Issue(Issue::RateLimited {
                retry_after_ms,
                reason,
            }) => Event {
                retry_after_ms: Some(*retry_after_ms),
                reason: Some(reason.as_str()),
                ..e("rate_limited")
            },
            Answer::Issue(Issue::ActiveOtpExists { expires_at }) => Event {
                expires_at: Some(*expires_at),
                ..e("active_exists")
            },
            Answer::Latest(_) => return None,
            Answer::Verdict(v) => match *v {
                Verdict::Invalid { attempts_left } => Event {
                    attempts_left: Some(attempts_left),
                    ..e("invalid")
                },
                Verdict::LockedOut { retry_after_ms } => Event {
                    retry_after_ms: Some(retry_after_ms),
                    ..e("locked")
                },
                other => e(other.reason()),
            },
            // Nothing reset or revoked: nothing happened, as for a read.
            Answer::Flag(false) if !wrote => return None,
            Answer::Flag(_) => match op {
                Op::ResetAttempts => e("reset"),
                _ => e("invalidated"),
            },
        })
    }
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

#[cfg(test)]
mod tests {
    //! Unit tests of the state machine: one test per rule, named as the rule.

    use super::*;
    use crate::policy::{Config, Limit};
    use crate::record::Record;

    /// 2023-11-14T22:13:20Z.
    const T0: Millis = 1_700_000_000_000;
    const S: Millis = 1000;
    const SECRET: &[u8] = b"engine unit-test secret";

    fn engine_with(tune: impl FnOnce(&mut Config)) -> Engine {
        let mut c = Config::new(SECRET.to_vec());
        tune(&mut c);
        Engine::new(Policy::new(c).unwrap())
    }

    fn engine() -> Engine {
        engine_with(|_| {})
    }

    /// No cooldown, no issue limit, no failure budget.
    fn unlimited(c: &mut Config) {
        c.resend_cooldown_seconds = 0;
        c.issue_limit = None;
        c.failure_limit = None;
    }

    fn ada() -> Subject<'static> {
        Subject::new("login", "ada@example.com").unwrap()
    }

    fn salt(now: Millis) -> [u8; SALT_LEN] {
        let mut s = [0u8; SALT_LEN];
        s[..8].copy_from_slice(&now.to_be_bytes());
        s
    }

    /// Issues a code for ada at `now`; panics unless it is issued and written.
    fn issue(e: &Engine, stored: Option<&Record>, now: Millis) -> (String, Record) {
        let step = e.create(&ada(), stored, now, salt(now)).unwrap();
        match step.answer {
            Issue::Issued(view) => {
                let record = step.write.expect("issuing writes");
                assert_eq!(view.status, Status::Active);
                assert_eq!(view.created_at, now);
                assert_eq!(record.created_at, now);
                (view.code.as_str().to_owned(), record)
            }
            other => panic!("expected Issued, got {other:?}"),
        }
    }

    /// A code of the policy that is not `code`.
    fn wrong(e: &Engine, code: &str) -> String {
        let p = e.policy();
        let v = code::parse(p, code).unwrap();
        code::render(p, (v + 1) % p.space).as_str().to_owned()
    }

    /// Verifies and applies the write, as a driver would.
    fn check(e: &Engine, r: &mut Record, code: &str, now: Millis) -> Verdict {
        let step = e.verify(&ada(), Some(r), code, now).unwrap();
        if let Some(w) = step.write {
            *r = w;
        }
        step.answer
    }

    /// Verifies and asserts that nothing is written.
    fn check_read_only(e: &Engine, r: &Record, code: &str, now: Millis) -> Verdict {
        let step = e.verify(&ada(), Some(r), code, now).unwrap();
        assert_eq!(step.write, None, "{:?} must not write", step.answer);
        step.answer
    }

    fn refused(e: &Engine, r: &Record, now: Millis) -> (u64, Limited) {
        let step = e.create(&ada(), Some(r), now, salt(now)).unwrap();
        assert_eq!(step.write, None, "a refusal must not write");
        match step.answer {
            Issue::RateLimited {
                retry_after_ms,
                reason,
            } => (retry_after_ms, reason),
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    fn status(e: &Engine, r: &Record, now: Millis) -> Status {
        e.latest(&ada(), Some(r), now).unwrap().unwrap().status
    }

    // ---- verdicts ----

    #[test]
    fn op_debug_shows_no_submitted_code_or_token() {
        for (op, secret) in [
            (Op::Verify("482913"), "482913"),
            (
                Op::Check {
                    code: "482913",
                    consume: false,
                },
                "482913",
            ),
            (
                Op::Token("S671m4Oyat6H5a67QN04Cg"),
                "S671m4Oyat6H5a67QN04Cg",
            ),
        ] {
            let shown = format!("{op:?}");
            assert!(
                !shown.contains(secret) && shown.contains("<redacted>"),
                "{shown}"
            );
        }
        assert_eq!(format!("{:?}", Op::Latest), "Latest");
    }

    #[test]
    fn the_right_code_is_verified_and_only_its_state_changes_to_used() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        let step = e.verify(&ada(), Some(&r), &code, T0 + 1).unwrap();
        assert_eq!(step.answer, Verdict::Verified);
        assert!(step.answer.is_ok());
        assert_eq!(step.answer.reason(), "verified");
        let expected = Record {
            state: CodeState::Used,
            ..r.clone()
        };
        assert_eq!(step.write, Some(expected));
    }

    #[test]
    fn a_wrong_code_is_invalid_and_spends_one_attempt_and_one_unit_of_the_failure_budget() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        let step = e
            .verify(&ada(), Some(&r), &wrong(&e, &code), T0 + 5)
            .unwrap();
        assert_eq!(step.answer, Verdict::Invalid { attempts_left: 2 });
        assert_eq!(step.answer.reason(), "invalid");
        assert!(!step.answer.is_ok());
        let w = step.write.expect("a wrong guess writes");
        assert_eq!((w.attempts, w.failures, w.failures_since), (1, 1, T0 + 5));
        assert_eq!(w.state, CodeState::Active);
        assert_eq!(
            Record {
                attempts: 0,
                failures: 0,
                failures_since: r.failures_since,
                ..w
            },
            r
        );
    }

    #[test]
    fn input_that_is_not_code_shaped_is_a_wrong_guess() {
        let e = engine();
        let (_, r) = issue(&e, None, T0);
        for garbage in [
            "",
            "   ",
            "12345",
            "123",
            "12a4",
            "٠١٢٣",
            "💥💥💥💥",
            "1 2 3 4 5",
        ] {
            let step = e.verify(&ada(), Some(&r), garbage, T0 + 1).unwrap();
            assert_eq!(
                step.answer,
                Verdict::Invalid { attempts_left: 2 },
                "{garbage:?}"
            );
            assert_eq!(step.write.map(|w| w.attempts), Some(1), "{garbage:?}");
        }
    }

    #[test]
    fn spaces_and_hyphens_in_the_submitted_code_are_ignored() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        let spaced = format!(" {}-{} ", &code[..2], &code[2..]);
        assert_eq!(
            e.verify(&ada(), Some(&r), &spaced, T0 + 1).unwrap().answer,
            Verdict::Verified
        );
    }

    #[test]
    fn letters_are_case_folded_when_the_alphabet_has_one_case() {
        let e = engine_with(|c| {
            c.alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ".into();
            c.length = 6;
        });
        let (code, r) = issue(&e, None, T0);
        let lower = code.to_lowercase();
        assert_eq!(
            e.verify(&ada(), Some(&r), &lower, T0 + 1).unwrap().answer,
            Verdict::Verified
        );
    }

    #[test]
    fn an_expired_code_answers_expired_without_a_write() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        assert_eq!(r.expires_at, T0 + 3600 * S);
        assert_eq!(
            check_read_only(&e, &r, &code, r.expires_at),
            Verdict::Expired
        );
        assert_eq!(
            check_read_only(&e, &r, &wrong(&e, &code), r.expires_at + 1),
            Verdict::Expired
        );
        assert_eq!(Verdict::Expired.reason(), "expired");
        let step = e.verify(&ada(), Some(&r), &code, r.expires_at - 1).unwrap();
        assert_eq!(step.answer, Verdict::Verified);
    }

    #[test]
    fn an_exhausted_code_answers_exhausted_even_for_the_right_code() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        let bad = wrong(&e, &code);
        for left in [2, 1, 0] {
            assert_eq!(
                check(&e, &mut r, &bad, T0 + 1),
                Verdict::Invalid {
                    attempts_left: left
                }
            );
        }
        assert_eq!(r.attempts, 3);
        assert_eq!(check_read_only(&e, &r, &code, T0 + 2), Verdict::Exhausted);
        assert_eq!(check_read_only(&e, &r, &bad, T0 + 2), Verdict::Exhausted);
        assert_eq!(Verdict::Exhausted.reason(), "exhausted");
        assert_eq!(status(&e, &r, T0 + 2), Status::Exhausted);
    }

    #[test]
    fn a_used_code_answers_used_without_a_write() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        assert_eq!(check(&e, &mut r, &code, T0 + 1), Verdict::Verified);
        assert_eq!(check_read_only(&e, &r, &code, T0 + 2), Verdict::Used);
        assert_eq!(
            check_read_only(&e, &r, &wrong(&e, &code), T0 + 2),
            Verdict::Used
        );
        assert_eq!(Verdict::Used.reason(), "used");
        assert_eq!(status(&e, &r, T0 + 2), Status::Used);
    }

    #[test]
    fn no_record_and_a_revoked_code_answer_no_otp_without_a_write() {
        let e = engine();
        let step = e.verify(&ada(), None, "1234", T0).unwrap();
        assert_eq!((step.answer, step.write), (Verdict::NoOtp, None));
        assert_eq!(Verdict::NoOtp.reason(), "none");
        let (code, r) = issue(&e, None, T0);
        let revoked = e.invalidate(Some(&r), T0 + 1).unwrap().write.unwrap();
        assert_eq!(check_read_only(&e, &revoked, &code, T0 + 2), Verdict::NoOtp);
    }

    #[test]
    fn a_spent_failure_budget_answers_locked_out_before_checking_the_code() {
        let e = engine_with(|c| {
            c.failure_limit = Some(Limit {
                count: 2,
                window_seconds: 600,
            })
        });
        let (code, mut r) = issue(&e, None, T0);
        let bad = wrong(&e, &code);
        // The code allows 3 guesses, the budget 2: attemptsLeft counts down the budget.
        assert_eq!(
            check(&e, &mut r, &bad, T0 + S),
            Verdict::Invalid { attempts_left: 1 }
        );
        assert_eq!(
            check(&e, &mut r, &bad, T0 + 2 * S),
            Verdict::Invalid { attempts_left: 0 }
        );
        let locked = check_read_only(&e, &r, &code, T0 + 3 * S);
        assert_eq!(
            locked,
            Verdict::LockedOut {
                retry_after_ms: 598 * S
            }
        );
        assert_eq!(locked.reason(), "locked");
        assert_eq!(
            check_read_only(&e, &r, &code, T0 + 600 * S),
            Verdict::LockedOut { retry_after_ms: S }
        );
        // The latest view says until when, and only while it lasts.
        let latest = |r: &Record, now| e.latest(&ada(), Some(r), now).unwrap().unwrap();
        assert_eq!(latest(&r, T0 + 3 * S).locked_until, Some(T0 + 601 * S));
        assert_eq!(
            latest(&r, T0 + 3 * S).status,
            Status::Active,
            "the code itself is not spent"
        );
        assert_eq!(latest(&r, T0 + 601 * S).locked_until, None);
        // Its attemptsLeft is what a check could still spend: none while locked, the
        // code's own once the window has closed.
        assert_eq!(latest(&r, T0 + 3 * S).attempts_left, 0);
        assert_eq!(latest(&r, T0 + 601 * S).attempts_left, 1);
        // And it lifts when the window that opened at the first failure closes.
        assert_eq!(check(&e, &mut r, &code, T0 + 601 * S), Verdict::Verified);
    }

    #[test]
    fn used_comes_before_expired_and_expired_before_exhausted() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        let mut used = r.clone();
        assert_eq!(check(&e, &mut used, &code, T0 + 1), Verdict::Verified);
        assert_eq!(
            check_read_only(&e, &used, &code, used.expires_at + 1),
            Verdict::Used
        );
        let mut spent = r;
        for _ in 0..3 {
            let _ = check(&e, &mut spent, &wrong(&e, &code), T0 + 1);
        }
        assert_eq!(
            check_read_only(&e, &spent, &code, T0 + 2),
            Verdict::Exhausted
        );
        assert_eq!(
            check_read_only(&e, &spent, &code, spent.expires_at),
            Verdict::Expired
        );
    }

    // ---- issue answers ----

    #[test]
    fn the_first_create_issues_index_zero_of_a_fresh_salt_with_fresh_counters() {
        let e = engine();
        let step = e.create(&ada(), None, T0, [9; SALT_LEN]).unwrap();
        let Issue::Issued(view) = step.answer else {
            panic!("expected Issued")
        };
        let r = step.write.unwrap();
        assert_eq!((r.salt, r.index), ([9; SALT_LEN], 0));
        assert_eq!((r.created_at, r.expires_at), (T0, T0 + 3600 * S));
        assert_eq!(
            (r.attempts, r.max_attempts, r.state),
            (0, 3, CodeState::Active)
        );
        assert_eq!((r.failures, r.failures_since), (0, T0));
        assert_eq!((r.issues, r.issues_since), (1, T0));
        assert_eq!(view.code.as_str().len(), 4);
        assert!(view.code.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            (
                view.created_at,
                view.expires_at,
                view.attempts,
                view.max_attempts
            ),
            (T0, T0 + 3600 * S, 0, 3)
        );
        assert_eq!(view.status, Status::Active);
        assert_eq!(e.latest(&ada(), Some(&r), T0).unwrap(), Some(view));
    }

    #[test]
    fn a_create_within_the_cooldown_is_rate_limited_without_a_write() {
        let e = engine();
        let (_, r) = issue(&e, None, T0);
        assert_eq!(refused(&e, &r, T0 + 10 * S), (20 * S, Limited::Cooldown));
        let (_, next) = issue(&e, Some(&r), T0 + 30 * S);
        assert_eq!(next.index, 1);
        assert_eq!(next.salt, r.salt);
    }

    #[test]
    fn the_cooldown_does_not_apply_once_the_code_was_used() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        assert_eq!(check(&e, &mut r, &code, T0 + S), Verdict::Verified);
        let (next, _) = issue(&e, Some(&r), T0 + 2 * S);
        assert_ne!(next, code);
    }

    #[test]
    fn the_cooldown_applies_to_an_unused_code_even_if_revoked_expired_or_exhausted() {
        let e = engine_with(|c| c.ttl_seconds = 10);
        let (code, r) = issue(&e, None, T0);
        let revoked = e.invalidate(Some(&r), T0 + S).unwrap().write.unwrap();
        assert_eq!(
            refused(&e, &revoked, T0 + 2 * S),
            (28 * S, Limited::Cooldown)
        );
        assert_eq!(status(&e, &r, T0 + 20 * S), Status::Expired);
        assert_eq!(refused(&e, &r, T0 + 20 * S), (10 * S, Limited::Cooldown));
        let mut spent = r;
        for _ in 0..3 {
            let _ = check(&e, &mut spent, &wrong(&e, &code), T0 + S);
        }
        assert_eq!(refused(&e, &spent, T0 + 2 * S), (28 * S, Limited::Cooldown));
    }

    #[test]
    fn the_issue_limit_counts_codes_in_a_fixed_window_opened_by_the_first_issue() {
        let e = engine_with(|c| {
            c.resend_cooldown_seconds = 0;
            c.issue_limit = Some(Limit {
                count: 3,
                window_seconds: 100,
            });
        });
        let (_, r) = issue(&e, None, T0);
        let (_, r) = issue(&e, Some(&r), T0 + 10 * S);
        let (_, r) = issue(&e, Some(&r), T0 + 20 * S);
        assert_eq!((r.issues, r.issues_since), (3, T0));
        assert_eq!(refused(&e, &r, T0 + 30 * S), (70 * S, Limited::IssueLimit));
        assert_eq!(refused(&e, &r, T0 + 100 * S - 1), (1, Limited::IssueLimit));
        let (_, r) = issue(&e, Some(&r), T0 + 100 * S);
        assert_eq!((r.issues, r.issues_since), (1, T0 + 100 * S));
    }

    #[test]
    fn fingerprints_are_equal_exactly_for_equal_secrets_policies_and_contexts() {
        let a = engine().fingerprint(b"login");
        assert_eq!(a, engine().fingerprint(b"login"));
        assert_ne!(a, engine().fingerprint(b"reset"));
        assert_ne!(a, engine_with(|c| c.max_attempts = 4).fingerprint(b"login"));
        assert_ne!(
            a,
            engine_with(|c| c.failure_limit = None).fingerprint(b"login")
        );
        let mut other = Config::new(b"another engine secret".to_vec());
        other.max_attempts = 3;
        assert_ne!(
            a,
            Engine::new(Policy::new(other).unwrap()).fingerprint(b"login")
        );
    }

    fn issue_with(
        e: &Engine,
        stored: Option<&Record>,
        now: Millis,
        o: IssueOptions,
    ) -> (OtpView, Record) {
        let step = e
            .issue(&ada(), stored, now, &mut || Some(salt(now)), o)
            .unwrap();
        match step.answer {
            Issue::Issued(view) => (view, step.write.unwrap()),
            other => panic!("expected Issued, got {other:?}"),
        }
    }

    #[test]
    fn a_per_call_lifetime_shortens_the_code_and_cannot_exceed_the_policy() {
        let e = engine();
        let (view, r) = issue_with(
            &e,
            None,
            T0,
            IssueOptions {
                ttl_seconds: Some(60),
                link: false,
            },
        );
        assert_eq!(view.expires_at, T0 + 60 * S);
        assert_eq!(status(&e, &r, T0 + 60 * S - 1), Status::Active);
        assert_eq!(status(&e, &r, T0 + 60 * S), Status::Expired);
        for bad in [0, 3601] {
            let err = e
                .issue(
                    &ada(),
                    None,
                    T0,
                    &mut || Some(salt(T0)),
                    IssueOptions {
                        ttl_seconds: Some(bad),
                        link: false,
                    },
                )
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidArgument {
                        argument: "ttlSeconds",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        let (view, _) = issue_with(
            &e,
            None,
            T0,
            IssueOptions {
                ttl_seconds: Some(3600),
                link: false,
            },
        );
        assert_eq!(view.expires_at, T0 + 3600 * S);
    }

    #[test]
    fn a_check_that_does_not_consume_leaves_a_right_code_active_and_counts_a_wrong_one() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        let step = e.check(&ada(), Some(&r), &code, T0 + S, false).unwrap();
        assert_eq!((step.answer, step.write), (Verdict::Verified, None));
        let step = e
            .check(&ada(), Some(&r), &wrong(&e, &code), T0 + S, false)
            .unwrap();
        assert_eq!(step.answer, Verdict::Invalid { attempts_left: 2 });
        let r = step.write.expect("a wrong guess is counted");
        assert_eq!(r.attempts, 1);
        let mut r = r;
        assert_eq!(check(&e, &mut r, &code, T0 + 2 * S), Verdict::Verified);
        assert_eq!(check(&e, &mut r, &code, T0 + 3 * S), Verdict::Used);
    }

    #[test]
    fn code_and_token_are_one_issuance_either_uses_both() {
        let e = engine();
        let link = IssueOptions {
            ttl_seconds: None,
            link: true,
        };
        let (view, r) = issue_with(&e, None, T0, link);
        let token = view.token.clone().expect("asked for a link");
        assert_eq!(token.as_str().len(), crate::TOKEN_LEN);
        // The token uses the issuance: the code is used after it, and the token again.
        let step = e
            .verify_token(&ada(), Some(&r), token.as_str(), T0 + S)
            .unwrap();
        assert_eq!(step.answer, Verdict::Verified);
        let used = step.write.unwrap();
        assert_eq!(
            e.verify(&ada(), Some(&used), view.code.as_str(), T0 + S)
                .unwrap()
                .answer,
            Verdict::Used
        );
        assert_eq!(
            e.verify_token(&ada(), Some(&used), token.as_str(), T0 + S)
                .unwrap()
                .answer,
            Verdict::Used
        );
        // The code uses the issuance: the token is used after it.
        let (view, r) = issue_with(&e, Some(&used), T0 + 60 * S, link);
        let mut after = r.clone();
        assert_eq!(
            check(&e, &mut after, view.code.as_str(), T0 + 61 * S),
            Verdict::Verified
        );
        let t = view.token.clone().unwrap();
        assert_eq!(
            e.verify_token(&ada(), Some(&after), t.as_str(), T0 + 61 * S)
                .unwrap()
                .answer,
            Verdict::Used
        );
        // A newer issuance supersedes the old token.
        let (newer, r2) = issue_with(&e, Some(&r), T0 + 120 * S, link);
        assert_ne!(newer.token.as_ref().unwrap().as_str(), t.as_str());
        let step = e
            .verify_token(&ada(), Some(&r2), t.as_str(), T0 + 121 * S)
            .unwrap();
        assert!(matches!(step.answer, Verdict::Invalid { .. }));
    }

    #[test]
    fn a_wrong_token_spends_the_failure_budget_but_not_the_codes_attempts() {
        let e = engine();
        let (view, r) = issue_with(
            &e,
            None,
            T0,
            IssueOptions {
                ttl_seconds: None,
                link: true,
            },
        );
        let step = e
            .verify_token(&ada(), Some(&r), "AAAAAAAAAAAAAAAAAAAAAA", T0 + S)
            .unwrap();
        assert_eq!(step.answer, Verdict::Invalid { attempts_left: 3 });
        let next = step.write.expect("the failure is counted");
        assert_eq!((next.attempts, next.failures), (0, 1));
        // Not even a token-shaped string: still a failure, the code still verifies.
        let step = e.verify_token(&ada(), Some(&next), "", T0 + S).unwrap();
        let mut next = step.write.unwrap();
        assert_eq!(next.failures, 2);
        assert_eq!(
            check(&e, &mut next, view.code.as_str(), T0 + 2 * S),
            Verdict::Verified
        );
    }

    proptest::proptest! {
        /// Random sequences of issue / code / token / check-without-consuming: a used
        /// issuance never verifies again by either credential, and a superseded token
        /// never verifies.
        #[test]
        fn code_and_token_are_never_both_usable_after_one_is_used(ops in proptest::collection::vec(0u8..5, 1..40)) {
            let e = engine_with(unlimited);
            let link = IssueOptions { ttl_seconds: None, link: true };
            let mut now = T0;
            let (mut view, mut r) = issue_with(&e, None, now, link);
            let mut used = false;
            let mut old_tokens: alloc::vec::Vec<String> = alloc::vec::Vec::new();
            for op in ops {
                now += S;
                let token = view.token.clone().unwrap();
                let step = match op {
                    0 => {
                        old_tokens.push(token.as_str().into());
                        let (v, nr) = issue_with(&e, Some(&r), now, link);
                        view = v;
                        r = nr;
                        used = false;
                        continue;
                    }
                    1 => e.verify(&ada(), Some(&r), view.code.as_str(), now).unwrap(),
                    2 => e.verify_token(&ada(), Some(&r), token.as_str(), now).unwrap(),
                    3 => e.check(&ada(), Some(&r), view.code.as_str(), now, false).unwrap(),
                    _ => {
                        for old in &old_tokens {
                            let s = e.verify_token(&ada(), Some(&r), old, now).unwrap();
                            proptest::prop_assert_ne!(s.answer, Verdict::Verified);
                        }
                        continue;
                    }
                };
                if used {
                    proptest::prop_assert_eq!(step.answer, Verdict::Used);
                } else {
                    proptest::prop_assert_eq!(step.answer, Verdict::Verified);
                    if op != 3 {
                        used = true;
                    }
                }
                if let Some(w) = step.write {
                    r = w;
                }
            }
        }
    }

    #[test]
    fn resend_available_at_is_when_create_stops_refusing() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        let latest = |r: &Record, now| e.latest(&ada(), Some(r), now).unwrap().unwrap();
        // Unused: the cooldown (30 s) decides, and create agrees at both edges.
        assert_eq!(latest(&r, T0 + S).resend_available_at, T0 + 30 * S);
        assert_eq!(refused(&e, &r, T0 + 30 * S - 1).0, 1);
        assert!(e
            .create(&ada(), Some(&r), T0 + 30 * S, salt(0))
            .unwrap()
            .write
            .is_some());
        assert_eq!(latest(&r, T0 + 40 * S).resend_available_at, T0 + 30 * S);
        // Used: no cooldown, available at once.
        assert_eq!(check(&e, &mut r, &code, T0 + S), Verdict::Verified);
        assert_eq!(latest(&r, T0 + 2 * S).resend_available_at, T0);
        // The fifth issue of the hour spends the issue limit: the window's end decides.
        let mut now = T0;
        for _ in 0..4 {
            now += 31 * S;
            r = issue(&e, Some(&r), now).1;
        }
        let view = latest(&r, now + 31 * S);
        assert_eq!(view.resend_available_at, T0 + 3600 * S);
        assert_eq!(
            refused(&e, &r, now + 31 * S),
            (T0 + 3600 * S - now - 31 * S, Limited::IssueLimit)
        );
    }

    #[test]
    fn the_issue_limit_can_be_turned_off() {
        let e = engine_with(unlimited);
        let (_, mut r) = issue(&e, None, T0);
        for i in 1..50 {
            r = issue(&e, Some(&r), T0 + i).1;
        }
        assert_eq!(r.issues, 50);
    }

    #[test]
    fn a_spent_failure_budget_refuses_create_as_well_as_verify() {
        let e = engine_with(|c| {
            c.resend_cooldown_seconds = 0;
            c.failure_limit = Some(Limit {
                count: 2,
                window_seconds: 600,
            });
        });
        let (code, mut r) = issue(&e, None, T0);
        let bad = wrong(&e, &code);
        let _ = check(&e, &mut r, &bad, T0 + 100 * S);
        let _ = check(&e, &mut r, &bad, T0 + 200 * S);
        assert_eq!(r.failures_since, T0 + 100 * S);
        assert_eq!(refused(&e, &r, T0 + 300 * S), (400 * S, Limited::LockedOut));
        assert_eq!(
            check_read_only(&e, &r, &code, T0 + 300 * S),
            Verdict::LockedOut {
                retry_after_ms: 400 * S
            }
        );
        // Generate is refused the same way, although the code is still active: it cannot
        // verify until the lockout ends, so generate does not point the user to it.
        let step = e.generate(&ada(), Some(&r), T0 + 300 * S, salt(0)).unwrap();
        assert_eq!(
            step.answer,
            Issue::RateLimited {
                retry_after_ms: 400 * S,
                reason: Limited::LockedOut
            }
        );
        assert_eq!(step.write, None);
        // Once the lockout is over, the code that is still active is pointed to again.
        let step = e.generate(&ada(), Some(&r), T0 + 700 * S, salt(0)).unwrap();
        assert_eq!(
            step.answer,
            Issue::ActiveOtpExists {
                expires_at: r.expires_at
            }
        );
        let (_, r) = issue(&e, Some(&r), T0 + 700 * S);
        assert_eq!((r.failures, r.failures_since), (2, T0 + 100 * S));
    }

    #[test]
    fn a_new_code_does_not_reset_the_failure_budget() {
        let e = engine_with(|c| {
            c.resend_cooldown_seconds = 0;
            c.failure_limit = Some(Limit {
                count: 3,
                window_seconds: 600,
            });
        });
        let (code, mut r) = issue(&e, None, T0);
        let _ = check(&e, &mut r, &wrong(&e, &code), T0 + S);
        let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 2 * S);
        let (code, mut r) = issue(&e, Some(&r), T0 + 3 * S);
        assert_eq!((r.attempts, r.failures, r.failures_since), (0, 2, T0 + S));
        // The views say so: the fresh code allows 3 guesses, the budget one.
        let view = e.latest(&ada(), Some(&r), T0 + 3 * S).unwrap().unwrap();
        assert_eq!(
            (view.attempts, view.max_attempts, view.attempts_left),
            (0, 3, 1)
        );
        let Issue::Issued(again) = e
            .create(&ada(), Some(&r), T0 + 3 * S, [9; 16])
            .unwrap()
            .answer
        else {
            panic!("issued")
        };
        assert_eq!(again.attempts_left, 1, "an issued code's view too");
        // The fresh code allows 3 guesses, the budget had one left: 0 left now.
        assert_eq!(
            check(&e, &mut r, &wrong(&e, &code), T0 + 4 * S),
            Verdict::Invalid { attempts_left: 0 }
        );
        assert_eq!(
            check_read_only(&e, &r, &code, T0 + 5 * S),
            Verdict::LockedOut {
                retry_after_ms: 596 * S
            }
        );
    }

    #[test]
    fn a_success_clears_the_failure_budget() {
        let e = engine_with(|c| {
            c.resend_cooldown_seconds = 0;
            c.failure_limit = Some(Limit {
                count: 3,
                window_seconds: 600,
            });
        });
        let (code, mut r) = issue(&e, None, T0);
        let _ = check(&e, &mut r, &wrong(&e, &code), T0 + S);
        let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 2 * S);
        assert_eq!(r.failures, 2);
        assert_eq!(check(&e, &mut r, &code, T0 + 3 * S), Verdict::Verified);
        assert_eq!(r.failures, 0);
        // The next code gets the whole budget: two failures do not lock out.
        let (code, mut r) = issue(&e, Some(&r), T0 + 4 * S);
        for _ in 0..2 {
            let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 5 * S);
        }
        assert_eq!((r.failures, r.failures_since), (2, T0 + 5 * S));
        assert_eq!(check(&e, &mut r, &code, T0 + 6 * S), Verdict::Verified);
    }

    #[test]
    fn the_failure_window_restarts_at_the_first_failure_after_it_closed() {
        let e = engine_with(|c| {
            c.max_attempts = 10;
            c.failure_limit = Some(Limit {
                count: 3,
                window_seconds: 100,
            });
        });
        let (code, mut r) = issue(&e, None, T0);
        let bad = wrong(&e, &code);
        // attemptsLeft follows the budget (3), not the code's 10.
        assert_eq!(
            check(&e, &mut r, &bad, T0),
            Verdict::Invalid { attempts_left: 2 }
        );
        assert_eq!(
            check(&e, &mut r, &bad, T0 + 100 * S - 1),
            Verdict::Invalid { attempts_left: 1 }
        );
        assert_eq!((r.failures, r.failures_since), (2, T0));
        // The window closed: this failure opens a new one, with 2 left in it.
        assert_eq!(
            check(&e, &mut r, &bad, T0 + 100 * S),
            Verdict::Invalid { attempts_left: 2 }
        );
        assert_eq!((r.failures, r.failures_since), (1, T0 + 100 * S));
    }

    #[test]
    fn without_a_failure_limit_failures_are_not_counted() {
        let e = engine_with(unlimited);
        let (code, mut r) = issue(&e, None, T0);
        let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 1);
        assert_eq!((r.attempts, r.failures), (1, 0));
    }

    // ---- reset_attempts ----

    #[test]
    fn reset_attempts_revives_an_exhausted_unexpired_code_and_clears_the_budget() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        for _ in 0..3 {
            let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 1);
        }
        assert_eq!((r.attempts, r.failures), (3, 3));
        let step = e.reset_attempts(Some(&r));
        assert!(step.answer);
        let mut r = step.write.expect("reset writes");
        assert_eq!((r.attempts, r.failures), (0, 0));
        assert_eq!(status(&e, &r, T0 + 2), Status::Active);
        assert_eq!(check(&e, &mut r, &code, T0 + 2), Verdict::Verified);
    }

    #[test]
    fn reset_attempts_writes_only_when_something_changes() {
        let e = engine();
        assert_eq!(e.reset_attempts(None), Step::read_only(false));
        let (code, r) = issue(&e, None, T0);
        assert_eq!(e.reset_attempts(Some(&r)), Step::read_only(true));
        // An expired code is still the current one: true, and its attempts are cleared.
        let mut spent = r.clone();
        let _ = check(&e, &mut spent, &wrong(&e, &code), T0 + 1);
        let step = e.reset_attempts(Some(&spent));
        assert!(step.answer);
        assert_eq!(step.write.map(|w| w.attempts), Some(0));
        // A used code is not current.
        let mut used = r.clone();
        let _ = check(&e, &mut used, &code, T0 + 1);
        assert_eq!(e.reset_attempts(Some(&used)), Step::read_only(false));
        // A revoked code is not current, but the failure budget is still cleared.
        let revoked = e.invalidate(Some(&spent), T0 + 2).unwrap().write.unwrap();
        let step = e.reset_attempts(Some(&revoked));
        assert!(!step.answer);
        let w = step.write.expect("clearing the failure budget writes");
        assert_eq!(
            (w.failures, w.state, w.attempts),
            (0, CodeState::Revoked, 1)
        );
    }

    // ---- invalidate ----

    #[test]
    fn invalidate_revokes_an_active_code_which_then_answers_no_otp_and_shows_superseded() {
        let e = engine();
        let (code, r) = issue(&e, None, T0);
        let step = e.invalidate(Some(&r), T0 + 1).unwrap();
        assert!(step.answer);
        let revoked = step.write.expect("revoking writes");
        assert_eq!(
            revoked,
            Record {
                state: CodeState::Revoked,
                ..r
            }
        );
        assert_eq!(check_read_only(&e, &revoked, &code, T0 + 2), Verdict::NoOtp);
        assert_eq!(status(&e, &revoked, T0 + 2), Status::Superseded);
        assert_eq!(
            e.invalidate(Some(&revoked), T0 + 3).unwrap(),
            Step::read_only(false)
        );
        assert_eq!(e.reset_attempts(Some(&revoked)), Step::read_only(false));
    }

    #[test]
    fn invalidate_revokes_an_exhausted_code_so_reset_cannot_revive_it_but_answers_false() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        for _ in 0..3 {
            let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 1);
        }
        let step = e.invalidate(Some(&r), T0 + 2).unwrap();
        assert!(!step.answer);
        let revoked = step.write.expect("an exhausted code is revoked too");
        assert_eq!(revoked.state, CodeState::Revoked);
        let reset = e.reset_attempts(Some(&revoked));
        assert!(!reset.answer);
        let after = reset.write.unwrap_or(revoked);
        assert_eq!(check_read_only(&e, &after, &code, T0 + 3), Verdict::NoOtp);
    }

    #[test]
    fn invalidate_leaves_absent_expired_and_used_codes_alone() {
        let e = engine();
        assert_eq!(e.invalidate(None, T0).unwrap(), Step::read_only(false));
        let (code, r) = issue(&e, None, T0);
        assert_eq!(
            e.invalidate(Some(&r), r.expires_at).unwrap(),
            Step::read_only(false)
        );
        let mut used = r;
        let _ = check(&e, &mut used, &code, T0 + 1);
        assert_eq!(
            e.invalidate(Some(&used), T0 + 2).unwrap(),
            Step::read_only(false)
        );
    }

    // ---- generate ----

    #[test]
    fn generate_answers_active_otp_exists_without_a_write() {
        let e = engine_with(unlimited);
        let (_, r) = issue(&e, None, T0);
        let step = e.generate(&ada(), Some(&r), T0 + 1, salt(1)).unwrap();
        assert_eq!(
            step,
            Step::read_only(Issue::ActiveOtpExists {
                expires_at: r.expires_at
            })
        );
    }

    #[test]
    fn generate_issues_when_there_is_no_active_code() {
        let e = engine_with(unlimited);
        let step = e.generate(&ada(), None, T0, salt(0)).unwrap();
        assert!(matches!(step.answer, Issue::Issued(_)));
        let (code, r) = issue(&e, None, T0);
        let mut used = r.clone();
        let _ = check(&e, &mut used, &code, T0 + 1);
        let mut spent = r.clone();
        for _ in 0..3 {
            let _ = check(&e, &mut spent, &wrong(&e, &code), T0 + 1);
        }
        let revoked = e.invalidate(Some(&r), T0 + 1).unwrap().write.unwrap();
        for (what, rec, now) in [
            ("expired", &r, r.expires_at),
            ("used", &used, T0 + 2),
            ("exhausted", &spent, T0 + 2),
            ("revoked", &revoked, T0 + 2),
        ] {
            let step = e.generate(&ada(), Some(rec), now, salt(now)).unwrap();
            assert!(matches!(step.answer, Issue::Issued(_)), "{what}");
            assert!(step.write.is_some(), "{what}");
        }
    }

    #[test]
    fn generate_is_subject_to_the_limits_once_the_code_is_not_active() {
        let e = engine();
        let (code, mut r) = issue(&e, None, T0);
        for _ in 0..3 {
            let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 1);
        }
        let step = e.generate(&ada(), Some(&r), T0 + S, salt(1)).unwrap();
        assert_eq!(
            step,
            Step::read_only(Issue::RateLimited {
                retry_after_ms: 29 * S,
                reason: Limited::Cooldown
            })
        );
    }

    // ---- no write for read-only answers ----

    #[test]
    fn operations_that_change_nothing_return_no_write_through_apply() {
        let e = engine();
        let s = ada();
        let (code, r) = issue(&e, None, T0);
        let wire = r.encode();
        let run = |op, stored: Option<&str>, now| e.apply(op, &s, stored, now, salt(now)).unwrap();
        let read_only = [
            (Op::Latest, None, T0),
            (Op::Latest, Some(wire.as_str()), T0 + 1),
            (Op::Verify(&code), None, T0),
            (Op::Verify(&code), Some(wire.as_str()), r.expires_at),
            (Op::Create, Some(wire.as_str()), T0 + 1),
            (Op::Generate, Some(wire.as_str()), T0 + 1),
            (Op::ResetAttempts, None, T0),
            (Op::ResetAttempts, Some(wire.as_str()), T0 + 1),
            (Op::Invalidate, None, T0),
            (Op::Invalidate, Some(wire.as_str()), r.expires_at),
        ];
        for (op, stored, now) in read_only {
            let out = run(op, stored, now);
            assert_eq!(out.write, None, "{op:?} at {now} answered {:?}", out.answer);
        }
        assert_eq!(run(Op::Latest, None, T0).answer, Answer::Latest(None));
        for op in [Op::Create, Op::Verify(&code), Op::Invalidate] {
            let out = run(op, Some(wire.as_str()), T0 + 31 * S);
            let written = out.write.expect("this operation writes");
            assert_eq!(Record::decode(&written).unwrap().encode(), written);
        }
    }

    #[test]
    fn events_say_what_happened_and_reads_and_no_ops_have_none() {
        let e = engine();
        let s = ada();
        let run = |op, stored: Option<&str>, now| {
            let out = e.apply(op, &s, stored, now, salt(now)).unwrap();
            (out.answer.event(&op, out.write.is_some(), now), out.write)
        };
        let (code, r) = issue(&e, None, T0);
        let wire = r.encode();
        let (issued, _) = run(Op::Create, None, T0);
        let issued = issued.expect("an issue is an event");
        assert_eq!((issued.kind, issued.at), ("issued", T0));
        assert!(issued.expires_at.is_some_and(|at| at > T0));
        let (limited, _) = run(Op::Create, Some(&wire), T0 + 1);
        let limited = limited.expect("a refused issue is an event");
        assert_eq!(
            (limited.kind, limited.reason),
            ("rate_limited", Some("cooldown"))
        );
        assert!(limited.retry_after_ms.is_some());
        assert_eq!(run(Op::Latest, Some(&wire), T0 + 1).0, None, "a read");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (invalid, after_wrong) = run(Op::Verify(wrong), Some(&wire), T0 + 1);
        let invalid = invalid.expect("a wrong guess is an event");
        assert_eq!(invalid.kind, "invalid");
        assert_eq!(invalid.attempts_left, Some(e.policy().max_attempts() - 1));
        let after_wrong = after_wrong.unwrap();
        assert_eq!(
            run(Op::ResetAttempts, Some(&after_wrong), T0 + 2)
                .0
                .map(|e| e.kind),
            Some("reset")
        );
        assert_eq!(
            run(Op::ResetAttempts, None, T0 + 2).0,
            None,
            "nothing to reset"
        );
        assert_eq!(
            run(Op::Verify(&code), Some(&wire), T0 + 2)
                .0
                .map(|e| e.kind),
            Some("verified")
        );
        assert_eq!(
            run(Op::Invalidate, Some(&wire), T0 + 2).0.map(|e| e.kind),
            Some("invalidated")
        );
        assert_eq!(
            run(Op::Invalidate, None, T0 + 2).0,
            None,
            "nothing to revoke"
        );
        assert_eq!(
            Event::forget(true, T0).map(|e| (e.kind, e.at)),
            Some(("forgotten", T0))
        );
        assert_eq!(Event::forget(false, T0), None, "nothing to erase");
    }

    #[test]
    fn apply_rejects_a_corrupt_record_and_never_overwrites_it() {
        let e = engine();
        for op in [
            Op::Create,
            Op::Generate,
            Op::Latest,
            Op::Verify("1234"),
            Op::ResetAttempts,
            Op::Invalidate,
        ] {
            let got = e.apply(op, &ada(), Some("[1,\"oops\"]"), T0, salt(0));
            assert!(matches!(got, Err(Error::CorruptRecord(_))), "{op:?}");
        }
    }

    // ---- subjects and policy changes ----

    #[test]
    fn scopes_and_users_have_independent_codes() {
        let e = engine_with(|c| c.length = 8);
        let login = Subject::new("login", "ada").unwrap();
        let reset = Subject::new("reset", "ada").unwrap();
        let bob = Subject::new("login", "bob").unwrap();
        let step = e.create(&login, None, T0, [1; SALT_LEN]).unwrap();
        let Issue::Issued(view) = step.answer else {
            panic!("expected Issued")
        };
        let r = step.write.unwrap();
        for other in [reset, bob] {
            // The same record read for another subject holds another code...
            let theirs = e.latest(&other, Some(&r), T0).unwrap().unwrap().code;
            assert_ne!(theirs, view.code);
            // ...so ada's login code does not verify there.
            let step = e.verify(&other, Some(&r), view.code.as_str(), T0).unwrap();
            assert!(matches!(step.answer, Verdict::Invalid { .. }));
        }
        let step = e.verify(&login, Some(&r), view.code.as_str(), T0).unwrap();
        assert_eq!(step.answer, Verdict::Verified);
    }

    #[test]
    fn subjects_reject_bad_scopes_and_users() {
        for scope in ["", "a b", "ü", &"s".repeat(33)] {
            assert!(Subject::new(scope, "ada").is_err(), "{scope:?}");
        }
        assert!(Subject::new("a-Z_0", "ada").is_ok());
        assert!(Subject::new("login", "").is_err());
        assert!(Subject::new("login", &"u".repeat(257)).is_err());
        let long = "u".repeat(256);
        let s = Subject::new("login", &long).unwrap();
        assert_eq!((s.scope(), s.user().len()), ("login", 256));
    }

    #[test]
    fn a_now_at_or_beyond_max_time_is_an_invalid_argument() {
        let e = engine();
        let arg = |r: Result<(), Error>| match r {
            Err(Error::InvalidArgument { argument, .. }) => argument,
            other => panic!("expected InvalidArgument, got {other:?}"),
        };
        for late in [MAX_TIME, MAX_TIME + 1, u64::MAX] {
            assert_eq!(arg(e.create(&ada(), None, late, salt(0)).map(drop)), "now");
            assert_eq!(
                arg(e.generate(&ada(), None, late, salt(0)).map(drop)),
                "now"
            );
            assert_eq!(arg(e.verify(&ada(), None, "1", late).map(drop)), "now");
            assert_eq!(arg(e.latest(&ada(), None, late).map(drop)), "now");
            assert_eq!(arg(e.invalidate(None, late).map(drop)), "now");
        }
        assert!(e.latest(&ada(), None, MAX_TIME - 1).is_ok());
    }

    #[test]
    fn changing_max_attempts_keeps_the_stored_codes_maximum() {
        let three = engine_with(unlimited);
        let five = engine_with(|c| {
            unlimited(c);
            c.max_attempts = 5;
        });
        let (code, mut r) = issue(&three, None, T0);
        let bad = wrong(&five, &code);
        for left in [2, 1, 0] {
            assert_eq!(
                check(&five, &mut r, &bad, T0 + 1),
                Verdict::Invalid {
                    attempts_left: left
                }
            );
        }
        assert_eq!(
            check_read_only(&five, &r, &code, T0 + 2),
            Verdict::Exhausted
        );
        assert_eq!(
            five.latest(&ada(), Some(&r), T0)
                .unwrap()
                .unwrap()
                .max_attempts,
            3
        );
        // The next code is issued under the new policy.
        let (_, next) = issue(&five, Some(&r), T0 + 3);
        assert_eq!(next.max_attempts, 5);
        // Lowering the maximum does not shorten a stored code either.
        let one = engine_with(|c| {
            unlimited(c);
            c.max_attempts = 1;
        });
        let mut r = next;
        assert_eq!(
            check(&one, &mut r, &bad, T0 + 4),
            Verdict::Invalid { attempts_left: 4 }
        );
    }

    #[test]
    fn shrinking_the_code_space_makes_the_record_superseded() {
        let six = engine_with(|c| {
            unlimited(c);
            c.length = 6;
        });
        let four = engine_with(unlimited);
        let (code6, mut r) = issue(&six, None, T0);
        r.index = 123_456; // a position that only the 6-digit space holds
        let view = four.latest(&ada(), Some(&r), T0 + 1).unwrap().unwrap();
        assert_eq!(view.status, Status::Superseded);
        let code4 = view.code.as_str().to_owned();
        for submitted in [code6.as_str(), &code6[..4], code4.as_str()] {
            assert_eq!(
                check_read_only(&four, &r, submitted, T0 + 1),
                Verdict::NoOtp
            );
        }
        assert_eq!(
            four.invalidate(Some(&r), T0 + 1).unwrap(),
            Step::read_only(false)
        );
        // Generate does not see an active code; the next code starts a fresh cycle.
        let step = four
            .generate(&ada(), Some(&r), T0 + 2, [7; SALT_LEN])
            .unwrap();
        assert!(matches!(step.answer, Issue::Issued(_)));
        let next = step.write.unwrap();
        assert_eq!(next.salt, [7; SALT_LEN]);
        assert!(next.index <= 1);
    }

    #[test]
    fn a_complete_cycle_continues_with_a_fresh_salt_and_a_different_code() {
        let e = engine_with(|c| {
            unlimited(c);
            c.alphabet = "01".into();
            c.length = 1;
        });
        let (mut code, mut r) = issue(&e, None, T0);
        let mut salts = vec![r.salt];
        for i in 1..40u64 {
            let (next, rec) = issue(&e, Some(&r), T0 + i);
            assert_ne!(next, code, "issue {i} repeats the previous code");
            if rec.salt != r.salt {
                salts.push(rec.salt);
                assert!(rec.index <= 1);
            } else {
                assert_eq!(rec.index, r.index + 1);
            }
            (code, r) = (next, rec);
        }
        assert!(
            salts.len() >= 20,
            "a 2-code space starts a cycle every 1-2 issues"
        );
    }

    // ---- retry_after when limits stack ----

    /// `Issue::RateLimited` promises that waiting exactly `retry_after_ms` suffices, also
    /// when more than one rule refuses: the longest wait is reported, not the first.
    #[test]
    fn waiting_the_reported_retry_after_suffices_when_cooldown_and_issue_limit_stack() {
        let e = engine_with(|c| {
            c.issue_limit = Some(Limit {
                count: 2,
                window_seconds: 3600,
            })
        });
        let (_, r) = issue(&e, None, T0);
        let (_, r) = issue(&e, Some(&r), T0 + 30 * S);
        let (wait, _) = refused(&e, &r, T0 + 40 * S);
        let step = e
            .create(&ada(), Some(&r), T0 + 40 * S + wait, salt(1))
            .unwrap();
        assert!(
            matches!(step.answer, Issue::Issued(_)),
            "waited {wait} ms as told, then: {:?}",
            step.answer
        );
    }

    #[test]
    fn waiting_the_reported_retry_after_suffices_when_lockout_and_cooldown_stack() {
        let e = engine_with(|c| {
            c.max_attempts = 10;
            c.failure_limit = Some(Limit {
                count: 2,
                window_seconds: 60,
            })
        });
        let (code, r) = issue(&e, None, T0);
        let mut r = r;
        let _ = check(&e, &mut r, &wrong(&e, &code), T0);
        let (code, mut r) = issue(&e, Some(&r), T0 + 50 * S);
        let _ = check(&e, &mut r, &wrong(&e, &code), T0 + 55 * S);
        // Locked out for 5 s more, and in the cooldown for 25 s: the longer wait counts.
        let (wait, reason) = refused(&e, &r, T0 + 55 * S);
        assert_eq!((wait, reason), (25 * S, Limited::Cooldown));
        let step = e
            .create(&ada(), Some(&r), T0 + 55 * S + wait, salt(1))
            .unwrap();
        assert!(
            matches!(step.answer, Issue::Issued(_)),
            "waited {wait} ms as told, then: {:?}",
            step.answer
        );
    }

    // ---- the end of time ----

    /// A code issued just before `MAX_TIME` expires at `MAX_TIME` at the latest, so the
    /// record it is stored in decodes (every stored time is at most `MAX_TIME`), and it
    /// verifies until then.
    #[test]
    fn a_code_issued_just_before_max_time_is_stored_in_a_record_that_decodes() {
        let e = engine();
        for now in [MAX_TIME - 3_600_000, MAX_TIME - 1000, MAX_TIME - 1] {
            let out = e.apply(Op::Create, &ada(), None, now, salt(0)).unwrap();
            let written = out.write.expect("issuing writes");
            let r = Record::decode(&written)
                .unwrap_or_else(|err| panic!("written record {written} does not decode: {err:?}"));
            assert_eq!(r.expires_at, MAX_TIME, "{written}");
            let Answer::Issue(Issue::Issued(view)) = out.answer else {
                panic!("expected Issued")
            };
            let step = e.verify(&ada(), Some(&r), view.code.as_str(), MAX_TIME - 1);
            assert_eq!(step.unwrap().answer, Verdict::Verified);
        }
        assert!(e.create(&ada(), None, MAX_TIME, salt(0)).is_err());
    }
}
