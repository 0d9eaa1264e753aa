//! A measurement, not shipped: the storage await loop of `pkg/slim.js` written in Rust.
//!
//! `AsyncEngine` runs the package's own core (`edge_otp::Engine::apply_with`, the same
//! code `src/wasm/mod.rs` calls) but drives the store itself: it calls `storage.get(key)`
//! through `js_sys::Reflect` + `Function::call`, awaits the result through `JsFuture`
//! when it is a Promise (a plain value is used as it is, without an await), runs the
//! core, and awaits `compareAndSwap` (or `put`) the same way, retrying on conflict.
//! Each exported method is an `async fn`, so every call goes through
//! wasm-bindgen-futures (a JS Promise plus its executor), which is what this crate is
//! here to measure. `bench/driver-choice.mjs` compares it with the shipped JS driver.
//!
//! Only the operations the comparison needs are here (verify, check, latest); issuing
//! would need randomness and is left to the shipped package (records are
//! interchangeable: same key scheme, same wire format).

use edge_otp::{Answer, Config, Engine, Error, Limit, Op, Policy, Status, Subject, Verdict};
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Compare-and-swap conflicts tolerated per operation (as `MAX_TRIES` in pkg/slim.js).
const MAX_TRIES: usize = 16;
/// Longest stored value accepted (as in pkg/slim.js).
const MAX_RECORD_CHARS: usize = 1024;
/// Longest submitted code accepted.
const MAX_CODE_UNITS: usize = 256;
/// End of year 9999 in ms.
const MAX_TIME: f64 = 253_402_300_799_999.0;

/// An `Error` with a `code` property, like `OtpError` in the package.
fn otp_error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    let _ = Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(code));
    e.into()
}

fn error_of(e: &Error) -> JsValue {
    let code = match e {
        Error::InvalidArgument { .. } => "INVALID_ARGUMENT",
        Error::CorruptRecord(_) => "CORRUPT_RECORD",
        Error::InvalidConfig { .. } => "INVALID_CONFIG",
        Error::EntropyUnavailable => "ENTROPY",
        _ => "INTERNAL",
    };
    // Static messages only, as in src/wasm/mod.rs: no formatting machinery in the size.
    let message = match e {
        Error::InvalidArgument { problem, .. } | Error::InvalidConfig { problem, .. } => problem,
        Error::CorruptRecord(d) => d.as_str(),
        Error::EntropyUnavailable => "no randomness available",
        _ => "internal error",
    };
    otp_error(code, message)
}

/// Awaits `v` if it is a Promise or a thenable; a plain value (string, null, boolean,
/// undefined) is returned as it is, without an await.
async fn settle(v: JsValue, then: &JsValue) -> Result<JsValue, JsValue> {
    if !(v.is_object() || v.is_function()) {
        return Ok(v);
    }
    if let Some(p) = v.dyn_ref::<Promise>() {
        return JsFuture::from(p.clone()).await;
    }
    if Reflect::get(&v, then).is_ok_and(|t| t.is_function()) {
        return JsFuture::from(Promise::resolve(&v)).await;
    }
    Ok(v)
}

fn method(storage: &JsValue, name: &JsValue) -> Result<Option<Function>, JsValue> {
    let f = Reflect::get(storage, name)?;
    if f.is_undefined() {
        return Ok(None);
    }
    f.dyn_into::<Function>()
        .map(Some)
        .map_err(|_| otp_error("INVALID_CONFIG", "storage methods must be functions"))
}

fn set(o: &Object, k: &JsValue, v: &JsValue) {
    let _ = Reflect::set(o, k, v);
}

fn limit(count: f64, window: f64) -> Option<Limit> {
    (count >= 0.0).then_some(Limit {
        count: count as u32,
        window_seconds: window as u64,
    })
}

/// Property names, made into JS strings once (each `JsValue::from_str` is a crossing
/// plus a UTF-8 decode).
struct Names {
    get: JsValue,
    put: JsValue,
    cas: JsValue,
    then: JsValue,
    code: JsValue,
    created_at: JsValue,
    expires_at: JsValue,
    attempts: JsValue,
    max_attempts: JsValue,
    status: JsValue,
    statuses: [JsValue; 5],
    ok: JsValue,
    reason: JsValue,
    attempts_left: JsValue,
    retry_after_ms: JsValue,
}

impl Names {
    fn new() -> Names {
        let s = JsValue::from_str;
        Names {
            get: s("get"),
            put: s("put"),
            cas: s("compareAndSwap"),
            then: s("then"),
            code: s("code"),
            created_at: s("createdAt"),
            expires_at: s("expiresAt"),
            attempts: s("attempts"),
            max_attempts: s("maxAttempts"),
            status: s("status"),
            statuses: [
                s("active"),
                s("expired"),
                s("exhausted"),
                s("used"),
                s("superseded"),
            ],
            ok: s("ok"),
            reason: s("reason"),
            attempts_left: s("attemptsLeft"),
            retry_after_ms: s("retryAfterMs"),
        }
    }
}

/// The core engine for one policy and scope, with the storage loop in Rust.
#[wasm_bindgen]
pub struct AsyncEngine {
    core: Engine,
    scope: String,
    prefix: String,
    names: Names,
}

#[wasm_bindgen]
impl AsyncEngine {
    /// Same scalars as the package's `Engine` constructor, plus the key prefix
    /// (the storage key is `keyPrefix + scope + ":" + user`). A negative count turns a
    /// limit off. Validation beyond the core's own is not repeated here.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(constructor)]
    pub fn new(
        secret: Vec<u8>,
        scope: &str,
        key_prefix: &str,
        ttl_seconds: f64,
        max_attempts: f64,
        length: f64,
        alphabet: &str,
        resend_cooldown_seconds: f64,
        issue_count: f64,
        issue_window_seconds: f64,
        failure_count: f64,
        failure_window_seconds: f64,
    ) -> Result<AsyncEngine, JsValue> {
        edge_otp::check_scope(scope).map_err(|e| error_of(&e))?;
        let mut config = Config::new(secret);
        config.ttl_seconds = ttl_seconds as u64;
        config.max_attempts = max_attempts as u32;
        config.length = length as usize;
        config.alphabet = alphabet.into();
        config.resend_cooldown_seconds = resend_cooldown_seconds as u64;
        config.issue_limit = limit(issue_count, issue_window_seconds);
        config.failure_limit = limit(failure_count, failure_window_seconds);
        let policy = Policy::new(config).map_err(|e| error_of(&e))?;
        let mut prefix = String::from(key_prefix);
        prefix.push_str(scope);
        prefix.push(':');
        Ok(AsyncEngine {
            core: Engine::new(policy),
            scope: scope.into(),
            prefix,
            names: Names::new(),
        })
    }

    /// Whether `code` verifies for `user` (it is then used up): `Promise<boolean>`.
    pub async fn verify(
        &self,
        user: String,
        code: String,
        storage: JsValue,
    ) -> Result<JsValue, JsValue> {
        let verdict = self.verdict(&user, &code, &storage).await?;
        Ok(JsValue::from_bool(verdict.is_ok()))
    }

    /// The full verdict, `{ ok, reason, attemptsLeft, retryAfterMs? }`, as `check` in the
    /// package.
    pub async fn check(
        &self,
        user: String,
        code: String,
        storage: JsValue,
    ) -> Result<JsValue, JsValue> {
        let v = self.verdict(&user, &code, &storage).await?;
        let n = &self.names;
        let o = Object::new();
        set(&o, &n.ok, &JsValue::from_bool(v.is_ok()));
        set(&o, &n.reason, &JsValue::from_str(v.reason()));
        let left = match v {
            Verdict::Invalid { attempts_left } => f64::from(attempts_left),
            _ => 0.0,
        };
        set(&o, &n.attempts_left, &JsValue::from_f64(left));
        if let Verdict::LockedOut { retry_after_ms } = v {
            set(
                &o,
                &n.retry_after_ms,
                &JsValue::from_f64(retry_after_ms as f64),
            );
        }
        Ok(o.into())
    }

    /// The latest code with its status, or `null`, as `getLatestOtp` in the package.
    pub async fn latest(&self, user: String, storage: JsValue) -> Result<JsValue, JsValue> {
        match self.run(Op::Latest, &user, &storage).await? {
            Answer::Latest(None) => Ok(JsValue::NULL),
            Answer::Latest(Some(v)) => {
                let n = &self.names;
                let o = Object::new();
                set(&o, &n.code, &JsValue::from_str(v.code.as_str()));
                set(&o, &n.created_at, &JsValue::from_f64(v.created_at as f64));
                set(&o, &n.expires_at, &JsValue::from_f64(v.expires_at as f64));
                set(&o, &n.attempts, &JsValue::from_f64(f64::from(v.attempts)));
                set(
                    &o,
                    &n.max_attempts,
                    &JsValue::from_f64(f64::from(v.max_attempts)),
                );
                let status = match v.status {
                    Status::Active => 0,
                    Status::Expired => 1,
                    Status::Exhausted => 2,
                    Status::Used => 3,
                    Status::Superseded => 4,
                };
                set(&o, &n.status, &n.statuses[status]);
                Ok(o.into())
            }
            _ => Err(otp_error("INTERNAL", "unexpected answer")),
        }
    }
}

impl AsyncEngine {
    async fn verdict(&self, user: &str, code: &str, storage: &JsValue) -> Result<Verdict, JsValue> {
        if code.encode_utf16().count() > MAX_CODE_UNITS {
            return Err(otp_error(
                "INVALID_ARGUMENT",
                "code must be at most 256 characters",
            ));
        }
        match self.run(Op::Verify(code), user, storage).await? {
            Answer::Verdict(v) => Ok(v),
            _ => Err(otp_error("INTERNAL", "unexpected answer")),
        }
    }

    /// The driver loop of pkg/slim.js `#run`: read, one core call, write (CAS when the
    /// store has it, retried on conflict).
    async fn run(&self, op: Op<'_>, user: &str, storage: &JsValue) -> Result<Answer, JsValue> {
        let subject = Subject::new(&self.scope, user).map_err(|e| error_of(&e))?;
        let mut key = self.prefix.clone();
        key.push_str(user);
        let key = JsValue::from_str(&key);
        let n = &self.names;
        let get = method(storage, &n.get)?
            .ok_or_else(|| otp_error("INVALID_CONFIG", "storage must have get and put"))?;
        let cas = method(storage, &n.cas)?;
        let put = match cas {
            Some(_) => None,
            None => Some(
                method(storage, &n.put)?
                    .ok_or_else(|| otp_error("INVALID_CONFIG", "storage must have get and put"))?,
            ),
        };
        // Issuing is not exported here, so the core never asks for a salt.
        let mut no_entropy = || None;
        for _ in 0..MAX_TRIES {
            let stored = settle(get.call1(storage, &key)?, &n.then).await?;
            let stored = if stored.is_undefined() {
                JsValue::NULL
            } else {
                stored
            };
            let record = if stored.is_null() {
                None
            } else {
                match stored.as_string() {
                    Some(s) if s.len() <= MAX_RECORD_CHARS => Some(s),
                    _ => {
                        return Err(otp_error(
                            "CORRUPT_RECORD",
                            "stored value is not a record string",
                        ))
                    }
                }
            };
            let now = js_sys::Date::now();
            if !(0.0..=MAX_TIME).contains(&now) {
                return Err(otp_error("INVALID_ARGUMENT", "clock out of range"));
            }
            let out = self
                .core
                .apply_with(op, &subject, record.as_deref(), now as u64, &mut no_entropy)
                .map_err(|e| error_of(&e))?;
            let Some(write) = out.write else {
                return Ok(out.answer);
            };
            let write = JsValue::from_str(&write);
            if let Some(cas) = &cas {
                let swapped = settle(cas.call3(storage, &key, &stored, &write)?, &n.then).await?;
                if swapped.is_truthy() {
                    return Ok(out.answer);
                }
            } else if let Some(put) = &put {
                settle(put.call2(storage, &key, &write)?, &n.then).await?;
                return Ok(out.answer);
            }
        }
        Err(otp_error(
            "CONFLICT",
            "the record changed under 16 attempts in a row; try again",
        ))
    }
}
