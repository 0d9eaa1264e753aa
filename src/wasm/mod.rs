//! The WebAssembly binding: the only code that touches wasm-bindgen.
//!
//! Kept as close to the metal as possible. The storage await loop lives in the JS
//! package (`pkg/slim.js`): it reads the record, makes one synchronous call into
//! [`WasmEngine::run`], and writes what the core asked to write. Measured in
//! `BENCHMARKS.md`, that is several times faster than awaiting JS promises from Rust
//! futures, and no OTP logic lives in JS: the JS side only moves strings.
//!
//! `run` returns a small integer naming the answer (see the `A_*` constants, mirrored
//! in `pkg/slim.js`); the answer's fields are then read through getters. Errors are
//! negative integers with a message from [`WasmEngine::message`]. Nothing here panics:
//! every input is checked, and a panic would abort the instance for every later caller.

use crate::engine::{Answer, Engine, Issue, Op, OtpView, Subject, Verdict};
use crate::error::Error;
use crate::policy::{Config, Limit, Policy};
use crate::time::{Millis, MAX_TIME};
use crate::SALT_LEN;
use wasm_bindgen::prelude::*;

// Answers of `run` (>= 0) and errors (< 0). Keep in step with pkg/slim.js.
const A_ISSUED: i32 = 0;
const A_RATE_LIMITED: i32 = 1;
const A_ACTIVE_EXISTS: i32 = 2;
const A_LATEST_NONE: i32 = 3;
const A_LATEST: i32 = 4;
const A_VERDICT: i32 = 10; // + verdict index, see `verdict_index`
const A_FALSE: i32 = 20;
const A_TRUE: i32 = 21;
const E_INVALID_ARGUMENT: i32 = -1;
const E_CORRUPT_RECORD: i32 = -2;
const E_ENTROPY: i32 = -3;

// Operations, as `run` takes them.
const OP_CREATE: u32 = 0;
const OP_GENERATE: u32 = 1;
const OP_LATEST: u32 = 2;
const OP_VERIFY: u32 = 3;
const OP_RESET: u32 = 4;
const OP_INVALIDATE: u32 = 5;

/// The core engine for one policy and scope, plus the outputs of the last `run`.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    core: Engine,
    scope: String,
    write: Option<String>,
    code: Option<String>,
    // created_at, expires_at, attempts, max_attempts, status / retry_after_ms ...
    nums: [f64; 5],
    message: &'static str,
}

/// A whole number in `0..=max` from a JS number, or the config error for `field`.
fn whole(v: f64, max: u64, field: &'static str) -> Result<u64, Error> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(Error::InvalidConfig {
            field,
            problem: "must be a whole number in range",
        })
    }
}

fn limit(count: f64, window: f64, field: &'static str) -> Result<Option<Limit>, Error> {
    if count < 0.0 {
        // The JS layer passes -1 for `null` (off).
        return Ok(None);
    }
    Ok(Some(Limit {
        count: whole(count, u32::MAX.into(), field)? as u32,
        window_seconds: whole(window, MAX_TIME, field)?,
    }))
}

fn message_of(e: &Error) -> String {
    match e {
        Error::InvalidConfig { field, problem } => {
            let mut s = String::from("invalid ");
            s.push_str(field);
            s.push_str(": ");
            s.push_str(problem);
            s
        }
        other => String::from(short_message(other)),
    }
}

fn short_message(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument { problem, .. } => problem,
        Error::CorruptRecord(d) => d.as_str(),
        Error::InvalidConfig { problem, .. } => problem,
        Error::EntropyUnavailable => {
            "no randomness available (in Workers, call inside a request handler)"
        }
    }
}

fn verdict_index(v: &Verdict) -> i32 {
    match v {
        Verdict::Verified => 0,
        Verdict::Invalid { .. } => 1,
        Verdict::Expired => 2,
        Verdict::Exhausted => 3,
        Verdict::Used => 4,
        Verdict::NoOtp => 5,
        Verdict::LockedOut { .. } => 6,
    }
}

fn default_now() -> Millis {
    web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Validates the policy and builds the engine. Throws a string naming the bad field
    /// (the JS layer wraps it in `OtpError` with code `INVALID_CONFIG`).
    #[allow(clippy::too_many_arguments)] // one scalar per option keeps the boundary free of serde
    #[wasm_bindgen(constructor)]
    pub fn new(
        secret: Vec<u8>,
        scope: &str,
        ttl_seconds: f64,
        max_attempts: f64,
        length: f64,
        alphabet: &str,
        resend_cooldown_seconds: f64,
        issue_count: f64,
        issue_window_seconds: f64,
        failure_count: f64,
        failure_window_seconds: f64,
    ) -> Result<WasmEngine, String> {
        let build = || -> Result<WasmEngine, Error> {
            if crate::engine::check_scope(scope).is_err() {
                return Err(Error::InvalidConfig {
                    field: "scope",
                    problem: "must be 1 to 32 characters of A-Z a-z 0-9 _ -",
                });
            }
            // Taken by value: the copy wasm-bindgen made is moved into a wiped-on-drop buffer.
            let mut config = Config::new(secret);
            config.ttl_seconds = whole(ttl_seconds, MAX_TIME, "ttlSeconds")?;
            config.max_attempts = whole(max_attempts, u32::MAX.into(), "maxAttempts")? as u32;
            config.length = whole(length, 64, "length")? as usize;
            config.alphabet = alphabet.into();
            config.resend_cooldown_seconds =
                whole(resend_cooldown_seconds, MAX_TIME, "resendCooldownSeconds")?;
            config.issue_limit = limit(issue_count, issue_window_seconds, "issueLimit")?;
            config.failure_limit = limit(failure_count, failure_window_seconds, "failureLimit")?;
            Ok(WasmEngine {
                core: Engine::new(Policy::new(config)?),
                scope: scope.into(),
                write: None,
                code: None,
                nums: [0.0; 5],
                message: "",
            })
        };
        build().map_err(|e| message_of(&e))
    }

    /// The longest span in seconds for which a record matters (lifetime, cooldown,
    /// windows): a store must keep records at least this long.
    #[wasm_bindgen(js_name = longestWindowSeconds)]
    pub fn longest_window_seconds(&self) -> f64 {
        self.core.policy().longest_window_seconds() as f64
    }

    /// Runs operation `op` for `user` on the stored record `stored` at `now` (the
    /// default clock when absent). Returns an answer code (>= 0) or an error code (< 0);
    /// the details are read with the getters below.
    pub fn run(
        &mut self,
        op: u32,
        user: &str,
        stored: Option<String>,
        now: Option<f64>,
        code: &str,
    ) -> i32 {
        self.write = None;
        self.code = None;
        let now = match now {
            None => default_now(),
            Some(t) if t.is_finite() && t >= 0.0 && t <= MAX_TIME as f64 => t as Millis,
            Some(_) => {
                self.message = "clock must return whole milliseconds between 0 and year 9999";
                return E_INVALID_ARGUMENT;
            }
        };
        let op = match op {
            OP_CREATE => Op::Create,
            OP_GENERATE => Op::Generate,
            OP_LATEST => Op::Latest,
            OP_VERIFY => Op::Verify(code),
            OP_RESET => Op::ResetAttempts,
            OP_INVALIDATE => Op::Invalidate,
            _ => {
                self.message = "unknown operation";
                return E_INVALID_ARGUMENT;
            }
        };
        let subject = match Subject::new(&self.scope, user) {
            Ok(s) => s,
            Err(e) => {
                self.message = short_message(&e);
                return E_INVALID_ARGUMENT;
            }
        };
        // Randomness is drawn only when a new cycle starts (crypto.getRandomValues costs
        // about 3 us in Node, more than the rest of a create).
        let mut draw = || {
            let mut salt = [0u8; SALT_LEN];
            getrandom::fill(&mut salt).ok().map(|()| salt)
        };
        match self
            .core
            .apply_with(op, &subject, stored.as_deref(), now, &mut draw)
        {
            Ok(out) => {
                self.write = out.write;
                self.answer(out.answer)
            }
            Err(e) => {
                self.message = short_message(&e);
                match e {
                    Error::CorruptRecord(_) => E_CORRUPT_RECORD,
                    Error::EntropyUnavailable => E_ENTROPY,
                    _ => E_INVALID_ARGUMENT,
                }
            }
        }
    }

    fn view(&mut self, v: OtpView) {
        self.code = Some(v.code.as_str().into());
        self.nums = [
            v.created_at as f64,
            v.expires_at as f64,
            f64::from(v.attempts),
            f64::from(v.max_attempts),
            match v.status {
                crate::Status::Active => 0.0,
                crate::Status::Expired => 1.0,
                crate::Status::Exhausted => 2.0,
                crate::Status::Used => 3.0,
                crate::Status::Superseded => 4.0,
            },
        ];
    }

    fn answer(&mut self, a: Answer) -> i32 {
        match a {
            Answer::Issue(Issue::Issued(v)) => {
                self.view(v);
                A_ISSUED
            }
            Answer::Issue(Issue::RateLimited {
                retry_after_ms,
                reason,
            }) => {
                self.nums[0] = retry_after_ms as f64;
                self.message = match reason {
                    crate::Limited::Cooldown => {
                        "resend cooldown: wait before requesting another code"
                    }
                    crate::Limited::IssueLimit => "issue limit reached: too many codes requested",
                    crate::Limited::LockedOut => "too many failed attempts: locked out",
                };
                A_RATE_LIMITED
            }
            Answer::Issue(Issue::ActiveOtpExists { expires_at }) => {
                self.nums[0] = expires_at as f64;
                A_ACTIVE_EXISTS
            }
            Answer::Latest(None) => A_LATEST_NONE,
            Answer::Latest(Some(v)) => {
                self.view(v);
                A_LATEST
            }
            Answer::Verdict(v) => {
                self.nums[0] = match v {
                    Verdict::Invalid { attempts_left } => f64::from(attempts_left),
                    Verdict::LockedOut { retry_after_ms } => retry_after_ms as f64,
                    _ => 0.0,
                };
                A_VERDICT + verdict_index(&v)
            }
            Answer::Flag(false) => A_FALSE,
            Answer::Flag(true) => A_TRUE,
        }
    }

    /// The record the last `run` asks to store, if any (taken: a second call gives none).
    #[wasm_bindgen(js_name = takeWrite)]
    pub fn take_write(&mut self) -> Option<String> {
        self.write.take()
    }

    /// The code of the last issuing or `latest` answer (taken).
    #[wasm_bindgen(js_name = takeCode)]
    pub fn take_code(&mut self) -> Option<String> {
        self.code.take()
    }

    /// Numeric field `i` of the last answer: for a code view 0 createdAt, 1 expiresAt,
    /// 2 attempts, 3 maxAttempts, 4 status; otherwise 0 holds retryAfterMs, expiresAt or
    /// attemptsLeft.
    pub fn num(&self, i: usize) -> f64 {
        self.nums.get(i).copied().unwrap_or(f64::NAN)
    }

    /// The message of the last error or rate-limit answer. Never contains a code or the
    /// secret.
    pub fn message(&self) -> String {
        self.message.into()
    }
}
