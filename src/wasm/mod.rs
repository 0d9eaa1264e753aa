//! The WebAssembly binding: the only code that touches wasm-bindgen, js-sys and
//! serde-wasm-bindgen.
//!
//! Each method of the exported [`WasmEngine`] (JS `Engine`) decodes its JS arguments,
//! makes one core call and encodes the answer. The storage await loop stays in JS
//! (`pkg/slim.js`: read, one call here, write with compare-and-swap), because awaiting
//! JS promises from Rust futures costs several times more per operation
//! (`bench/driver-choice.mjs`); no OTP rule lives there.
//!
//! What crosses, and how:
//! - options: read once, with js-sys, own keys only ([`options`]);
//! - user, submitted code, stored record: wasm-bindgen strings. The user is checked on the
//!   JS string first (`checkUser`); the driver copies no stored value or code longer than
//!   [`limits`] says (a 1 MiB input never reaches linear memory): such a stored value is
//!   corrupt (`corruptRecord`), such a code arrives as `undefined`, a wrong guess;
//! - the record to write: a string, taken with `takeWrite()` right after the call;
//! - answers: serde-wasm-bindgen objects from Rust types ([`answers`]), except `verify`,
//!   `resetAttempts` and `invalidate`, whose answer is a boolean;
//! - errors: the package's `OtpError` class, built here with its code and fields
//!   ([`errors`]); an error thrown by JS code (a getter, the clock) is handed back as is;
//! - the clock: the app's `now` function when given, else web-time;
//! - salts: getrandom (`crypto.getRandomValues`), drawn only when a new cycle starts.
//!
//! Nothing here panics on any input: with `panic = "abort"` a panic would kill the
//! instance for every later caller.

mod answers;
mod errors;
mod options;

use crate::engine::{Answer, Engine, Issue, Op, Subject};
use crate::error::{DecodeError, Error};
use crate::record::ENCODED_MAX;
use crate::time::{Millis, MAX_TIME};
use crate::SALT_LEN;
use answers::{to_js, Otp, PolicyJs, VerdictJs};
use js_sys::{Function, JsString};
use serde::Serialize;
use std::string::String;
use wasm_bindgen::prelude::*;

/// Longest submitted code copied into wasm, in UTF-16 units. A longer string is still a
/// guess (a wrong one: no code of at most 10 characters plus separators is that long).
const MAX_SUBMITTED_UNITS: u32 = 256;
/// Up to this many UTF-16 units a user id cannot exceed [`crate::MAX_USER_BYTES`] of UTF-8.
const SHORT_USER_UNITS: u32 = (crate::MAX_USER_BYTES / 3) as u32;

/// The core engine for one policy and scope, plus the record to write after the last
/// operation (taken by `takeWrite`).
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    core: Engine,
    scope: String,
    write: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutOptions {
    expiration_ttl: f64,
}

/// Validates `options` (every key, once) and builds an engine for them. Answers
/// `{ engine, poolKey, keyPrefix, putOptions, timeoutMs, now, policy }`; throws
/// `OtpError` `INVALID_CONFIG`, or what a throwing getter threw.
#[wasm_bindgen]
pub fn configure(options: &JsValue) -> Result<JsValue, JsValue> {
    let o = options::read(options)?;
    let core = Engine::new(o.policy);
    let mut pool_key = String::with_capacity(32);
    for b in core.fingerprint(o.scope.as_bytes()) {
        pool_key.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        pool_key.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    let key_prefix = format!("{}{}:", o.key_prefix, o.scope);
    let policy = to_js(&PolicyJs::new(
        core.policy(),
        &o.scope,
        &o.key_prefix,
        o.retention_seconds,
        o.timeout_ms,
    ))?;
    let engine = WasmEngine {
        core,
        scope: o.scope,
        write: None,
    };
    /// `configure`'s answer.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        #[serde(with = "serde_wasm_bindgen::preserve")]
        engine: JsValue,
        pool_key: String,
        key_prefix: String,
        put_options: Option<PutOptions>,
        timeout_ms: Option<f64>,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        now: JsValue,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        policy: JsValue,
    }
    to_js(&Out {
        engine: engine.into(),
        pool_key,
        key_prefix,
        put_options: o.retention_seconds.map(|s| PutOptions {
            expiration_ttl: s as f64,
        }),
        timeout_ms: o.timeout_ms.map(|t| t as f64),
        now: o.clock.map_or(JsValue::UNDEFINED, JsValue::from),
        policy,
    })
}

/// The time of an operation: the app's clock when it gave one, else the system clock.
fn now(clock: &JsValue) -> Result<Millis, JsValue> {
    let t = if clock.is_undefined() {
        web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64)
    } else {
        // `configure` checked that the option is a function.
        let f: &Function = clock.unchecked_ref();
        f.call0(&JsValue::UNDEFINED)?
            .as_f64()
            .ok_or_else(|| errors::argument("now", "the now() option must return a number"))?
    };
    if !(t.is_finite() && t >= 0.0 && t < MAX_TIME as f64) {
        return Err(errors::argument(
            "now",
            "clock must return milliseconds between 0 and the end of year 9999",
        ));
    }
    Ok(t as Millis)
}

/// The `OtpError` for a stored value that is not a record string, or is longer than any
/// record (the driver does not copy such a value into wasm: it calls
/// `Engine.corruptRecord()` instead of the operation).
#[wasm_bindgen(js_name = corruptRecord)]
pub fn corrupt_record() -> JsValue {
    errors::from_core(&Error::CorruptRecord(DecodeError::Syntax))
}

/// What the driver copies into wasm, at most (longer values are not copied: a stored
/// value is then corrupt, a submitted code a wrong guess).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Limits {
    max_tries: usize,
    max_record_units: usize,
    max_code_units: u32,
}

/// The driver's limits: `{ maxTries, maxRecordUnits, maxCodeUnits }` (compare-and-swap
/// attempts per operation; the longest stored value and submitted code copied into wasm,
/// in UTF-16 units).
#[wasm_bindgen]
pub fn limits() -> Result<JsValue, JsValue> {
    to_js(&Limits {
        max_tries: crate::MAX_TRIES,
        max_record_units: ENCODED_MAX,
        max_code_units: MAX_SUBMITTED_UNITS,
    })
}

fn core_err(e: Error) -> JsValue {
    errors::from_core(&e)
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Checks a user id before the driver forms its storage key: a string of 1 to 256
    /// bytes of UTF-8 without lone surrogates. Throws `INVALID_ARGUMENT` (nothing is copied
    /// for a string over the limit).
    #[wasm_bindgen(js_name = checkUser)]
    pub fn check_user(&self, user: &JsValue) -> Result<(), JsValue> {
        let bad = |problem| Err(errors::argument("user", problem));
        let Some(s) = user.dyn_ref::<JsString>() else {
            return bad("must be a string");
        };
        let units = s.length();
        if units == 0 {
            return bad("must not be empty");
        }
        if units > crate::MAX_USER_BYTES as u32
            || (units > SHORT_USER_UNITS
                && s.as_string().map_or(0, |u| u.len()) > crate::MAX_USER_BYTES)
        {
            return bad("must be at most 256 bytes of utf-8");
        }
        if !s.is_well_formed() {
            return bad("must be well-formed unicode (no lone surrogates)");
        }
        Ok(())
    }

    /// Checks a submitted code before any storage call: any string is a guess; anything
    /// else throws `INVALID_ARGUMENT`.
    #[wasm_bindgen(js_name = checkCode)]
    pub fn check_code(&self, code: &JsValue) -> Result<(), JsValue> {
        if code.is_string() {
            Ok(())
        } else {
            Err(errors::argument("code", "must be a string"))
        }
    }

    /// Runs `op` for `user` on the stored value; keeps the record to write for
    /// `takeWrite`.
    fn run(
        &mut self,
        op: Op<'_>,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<Answer, JsValue> {
        self.write = None;
        let now = now(clock)?;
        let subject = Subject::new(&self.scope, user).map_err(core_err)?;
        let mut draw = || {
            let mut salt = [0u8; SALT_LEN];
            getrandom::fill(&mut salt).ok().map(|()| salt)
        };
        let (answer, write) = self
            .core
            .apply_record(op, &subject, stored.as_deref(), now, &mut draw)
            .map_err(core_err)?;
        self.write = write.map(|r| r.encode());
        Ok(answer)
    }

    fn issue(
        &mut self,
        op: Op<'_>,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<JsValue, JsValue> {
        match self.run(op, user, stored, clock)? {
            Answer::Issue(Issue::Issued(v)) => to_js(&Otp::new(&v, false)),
            Answer::Issue(Issue::RateLimited {
                retry_after_ms,
                reason,
            }) => Err(errors::rate_limited(retry_after_ms, reason)),
            Answer::Issue(Issue::ActiveOtpExists { expires_at }) => {
                Err(errors::active_exists(expires_at))
            }
            _ => Err(unexpected()),
        }
    }

    /// `create`: a new code (the previous one can never verify again), or `RATE_LIMITED`.
    pub fn create(
        &mut self,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<JsValue, JsValue> {
        self.issue(Op::Create, user, stored, clock)
    }

    /// `generate`: like `create`, but `ACTIVE_OTP_EXISTS` while a code is active.
    pub fn generate(
        &mut self,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<JsValue, JsValue> {
        self.issue(Op::Generate, user, stored, clock)
    }

    /// `getLatestOtp`: the latest code with its status, or `null`. Never writes.
    pub fn latest(
        &mut self,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<JsValue, JsValue> {
        match self.run(Op::Latest, user, stored, clock)? {
            Answer::Latest(v) => to_js(&v.as_ref().map(|v| Otp::new(v, true))),
            _ => Err(unexpected()),
        }
    }

    /// `check`: the structured verdict `{ ok, reason, attemptsLeft, retryAfterMs? }`.
    /// `code` is `undefined` when it is too long to be copied: a wrong guess.
    pub fn check(
        &mut self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let code = code.unwrap_or_default();
        match self.run(Op::Verify(&code), user, stored, clock)? {
            Answer::Verdict(v) => to_js(&VerdictJs::from(v)),
            _ => Err(unexpected()),
        }
    }

    /// `verify`: whether the code verified (the same rule as `check`, boolean answer).
    pub fn verify(
        &mut self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<bool, JsValue> {
        let code = code.unwrap_or_default();
        match self.run(Op::Verify(&code), user, stored, clock)? {
            Answer::Verdict(v) => Ok(v.is_ok()),
            _ => Err(unexpected()),
        }
    }

    /// `resetAttempts`: true if there was a current code; clears the failure budget.
    #[wasm_bindgen(js_name = resetAttempts)]
    pub fn reset_attempts(
        &mut self,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<bool, JsValue> {
        self.flag(Op::ResetAttempts, user, stored, clock)
    }

    /// `invalidate`: true if there was an active code, now revoked.
    pub fn invalidate(
        &mut self,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<bool, JsValue> {
        self.flag(Op::Invalidate, user, stored, clock)
    }

    fn flag(
        &mut self,
        op: Op<'_>,
        user: &str,
        stored: Option<String>,
        clock: &JsValue,
    ) -> Result<bool, JsValue> {
        match self.run(op, user, stored, clock)? {
            Answer::Flag(f) => Ok(f),
            _ => Err(unexpected()),
        }
    }

    /// The record the last operation asked to write, once; `undefined` when it writes
    /// nothing.
    #[wasm_bindgen(js_name = takeWrite)]
    pub fn take_write(&mut self) -> Option<String> {
        self.write.take()
    }
}

/// An answer of the wrong kind for the operation: cannot happen (`Engine::apply_record`
/// maps each operation to its answer), reported rather than panicking.
fn unexpected() -> JsValue {
    errors::otp_error(
        "INTERNAL",
        "unexpected answer kind",
        errors::Fields::default(),
    )
}

/// The global allocator. Allocation is rare and small here (option strings, the user,
/// code and record of each call, one record string per write), so a minimal free list
/// does: lol_alloc is about 2.3 KB gzip smaller than dlmalloc (std's), and the memory
/// budget (`bench/budgets.mjs`) checks that linear memory stays flat over 10^6 operations.
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
