//! The one-time-code binding: `configure` and the exported `Engine`, one method per
//! operation (decode, one core call, encode).

use super::answers::{to_js, Otp, PolicyJs, VerdictJs};
use super::{check_user, errors, now, options};
use crate::engine::{Answer, Engine, Issue, Op, Subject};
use crate::error::Error;
use crate::SALT_LEN;
use serde::Serialize;
use std::string::String;
use wasm_bindgen::prelude::*;

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
        check_user(user)
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
