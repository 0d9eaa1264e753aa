//! The one-time-code binding: `configure` and the exported `Engine`, one method per
//! operation (decode, one core call, encode), and the `edge-otp` module's free functions
//! (`limits`, and the checks the Durable Object client makes before its RPC).

use super::answers::{to_js, word, Otp, VerdictJs};
use super::options::{call_keys, Name};
use super::{answer, check_user, errors, now, options, submitted, Limits, Reads};
use crate::code::SaltPool;
use crate::engine::{Answer, Engine, Event, Issue, IssueOptions, Op, Subject, Verdict};
use crate::error::Error;
use crate::record::ENCODED_MAX;
use core::cell::{Cell, RefCell};
use serde::Serialize;
use std::string::String;
use wasm_bindgen::prelude::*;

/// The core engine for one policy and scope, plus what the last operation left for JS to
/// take: the record to write (`takeWrite`), its event (`takeEvent`) and its error
/// (`takeError`).
///
/// Every operation method answers one JS value and reports its own errors through
/// `takeError`: `undefined` means it failed, and `takeError()` then gives the error to
/// throw ([`answer`]). Each reads its per-call options first, then drops what the last
/// operation left (its write and event), before anything can fail. (`takeEvent`, called
/// only when the app has an `onEvent`, answers `undefined` for "no event" and still
/// throws.)
///
/// The methods take `&self`: what changes sits in cells, so that an options getter (app
/// code, run while the options are read) may call any manager sharing this engine, which
/// wasm-bindgen would refuse for a `&mut self` method ("recursive use of an object").
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    core: Engine,
    scope: String,
    write: Cell<Option<String>>,
    event: Cell<Option<Event>>,
    error: Cell<Option<JsValue>>,
    reads: Reads,
    /// Fresh salts, drawn through getrandom (`crypto.getRandomValues`) a batch at a time;
    /// borrowed only for that draw, when no app code runs.
    salts: RefCell<SaltPool>,
}

/// Which arguments `checkArguments` checks besides the user id.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub enum Arguments {
    /// The user id only.
    User,
    /// `create` / `generate`: `{ ttlSeconds?, link? }`.
    Issue,
    /// `check` / `verify`: the code and `{ consume? }`.
    Code,
    /// `checkToken` / `verifyToken`: the token.
    Token,
}

/// An event as `onEvent` receives it: the core's [`Event`] of the last operation, with
/// the scope and user (added by `takeEvent`). Never a code or token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJs<'a> {
    #[serde(rename = "type", serialize_with = "word")]
    kind: &'static str,
    scope: &'a str,
    user: &'a str,
    at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_left: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

fn boolean(v: Option<JsValue>, argument: &'static str, default: bool) -> Result<bool, JsValue> {
    match v {
        None => Ok(default),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| errors::argument(argument, "must be a boolean")),
    }
}

// The per-call option names of `create` / `generate`, and the problem for another key.
call_keys!(ISSUE_KEYS, ISSUE_UNKNOWN = ["ttlSeconds", "link"]);
// The per-call option names of `check` / `verify`, and the problem for another key.
call_keys!(CHECK_KEYS, CHECK_UNKNOWN = ["consume"]);
/// The problem for per-call options that are not an object (nor `undefined`).
const NOT_OBJECT: &str = "must be an object";

/// `{ ttlSeconds?, link? }` of `create` / `generate`, from the copy `checkArguments` made.
fn issue_options(v: &JsValue) -> Result<IssueOptions, JsValue> {
    let [ttl, link] = options::call_options(v, &ISSUE_KEYS, ISSUE_UNKNOWN)?;
    let ttl_seconds = match ttl {
        None => None,
        Some(t) => Some(
            t.as_f64()
                .filter(|n| n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n <= 1e15)
                .map(|n| n as u64)
                .ok_or_else(|| {
                    errors::argument("ttlSeconds", "must be a whole number of seconds")
                })?,
        ),
    };
    Ok(IssueOptions {
        ttl_seconds,
        link: boolean(link, "link", false)?,
    })
}

/// `{ consume? }` of `check` / `verify`, from the copy `checkArguments` made.
fn consume_option(v: &JsValue) -> Result<bool, JsValue> {
    let [consume] = options::call_options(v, &CHECK_KEYS, CHECK_UNKNOWN)?;
    boolean(consume, "consume", true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PutOptions {
    expiration_ttl: f64,
}

/// Validates `options` (every key, once) and builds an engine for them. Answers
/// `{ engine, poolKey, keyPrefix, putOptions, timeoutMs, now, onEvent, onEventError,
/// normalizeUser }`; throws
/// `OtpError` `INVALID_CONFIG`, or what a throwing getter threw.
#[wasm_bindgen]
pub fn configure(options: &JsValue) -> Result<JsValue, JsValue> {
    let o = options::read(options)?;
    let core = Engine::new(o.policy);
    let pool_key = super::pool_key(core.fingerprint(o.scope.as_bytes()));
    let key_prefix = [o.key_prefix.as_str(), &o.scope, ":"].concat();
    let longest = core.policy().longest_window_seconds();
    let engine = WasmEngine {
        core,
        scope: o.scope,
        write: Cell::new(None),
        event: Cell::new(None),
        error: Cell::new(None),
        reads: Reads::default(),
        salts: RefCell::new(SaltPool::new()),
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
        longest_window_seconds: f64,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        on_event: JsValue,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        on_event_error: JsValue,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        normalize_user: JsValue,
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
        longest_window_seconds: longest as f64,
        on_event: o.on_event.map_or(JsValue::UNDEFINED, JsValue::from),
        on_event_error: o.on_event_error.map_or(JsValue::UNDEFINED, JsValue::from),
        normalize_user: o.normalize_user.unwrap_or(JsValue::UNDEFINED),
    })
}

/// `user` through the built-in normaliser named `name` (a `normalizeUser` value the
/// options reader accepted: [`options::normalizer`]). A non-string, or a string longer
/// than any user id can become, is handed back unchanged (the user check then refuses it);
/// so is any user for a name that is not a built-in's, which the options reader never lets
/// reach here.
#[wasm_bindgen(js_name = normalizeUser)]
pub fn normalize_user(name: &str, user: JsValue) -> JsValue {
    match (
        options::normalizer(name),
        user.dyn_ref::<js_sys::JsString>(),
    ) {
        (Some(normalize), Some(s)) if s.length() <= 4 * crate::MAX_USER_BYTES as u32 => {
            normalize(s).into()
        }
        _ => user,
    }
}

fn core_err(e: Error) -> JsValue {
    errors::from_core(&e)
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// Runs an operation method's body `f` (after the method read its options): first
    /// drops what the last operation left for JS ([`begin`](Self::begin)), then answers
    /// `f`'s value, or `undefined` with its error kept for `takeError` ([`answer`]).
    fn operation(&self, f: impl FnOnce(&Self) -> Result<JsValue, JsValue>) -> JsValue {
        self.begin();
        let r = f(self);
        answer(&self.error, r)
    }

    /// The error of the last method that answered `undefined`, once (an `OtpError`, or
    /// what JS code it called threw); `undefined` once taken, or after an operation
    /// method that answered a value.
    #[wasm_bindgen(js_name = takeError)]
    pub fn take_error(&self) -> JsValue {
        self.error.take().unwrap_or(JsValue::UNDEFINED)
    }

    /// Whether app code is running inside one of this engine's methods (an options
    /// getter, which may dispose of the last manager): `free()` must wait until it is
    /// done.
    #[wasm_bindgen(getter = inUse)]
    pub fn in_use(&self) -> bool {
        self.reads.any()
    }

    /// Drops what the last operation left for JS (its write and event): every operation
    /// method starts here ([`operation`](Self::operation)), so that a call that fails
    /// early (on its options, its clock) leaves nothing of an earlier call to be written
    /// or emitted.
    #[inline(never)]
    fn begin(&self) {
        self.write.set(None);
        self.event.set(None);
    }

    /// Checks an operation's arguments before any storage call, and reads its per-call
    /// options once: for `Issue` and `Code`, the copy of the options that the operation
    /// method takes ([`options::copy`]; `null` for none), else `true`; or `undefined`
    /// with `INVALID_ARGUMENT` (or what a throwing getter threw) for `takeError`. The
    /// user id (a string of 1 to 256 bytes of UTF-8 without lone surrogates; nothing is
    /// copied for a longer one), and for `kind` the submitted code or token (any string
    /// is a guess) and the per-call options.
    #[wasm_bindgen(js_name = checkArguments)]
    pub fn check_arguments(
        &self,
        user: &JsValue,
        kind: Arguments,
        submitted: &JsValue,
        options: &JsValue,
    ) -> JsValue {
        let r = check_user(user, USER_NOT_A_STRING).and_then(|()| match kind {
            Arguments::User => Ok(JsValue::TRUE),
            Arguments::Issue => {
                let c = self
                    .reads
                    .during(|| options::copy(options, &ISSUE_KEYS, NOT_OBJECT, ISSUE_UNKNOWN))?;
                issue_options(&c)?
                    .ttl_ms(self.core.policy())
                    .map_err(core_err)?;
                Ok(c)
            }
            Arguments::Code => {
                check_submitted(submitted, "code")?;
                let c = self
                    .reads
                    .during(|| options::copy(options, &CHECK_KEYS, NOT_OBJECT, CHECK_UNKNOWN))?;
                consume_option(&c)?;
                Ok(c)
            }
            Arguments::Token => check_submitted(submitted, "token").map(|()| JsValue::TRUE),
        });
        answer(&self.error, r)
    }

    /// Runs `op` for `user` on the stored value; keeps the record to write for
    /// `takeWrite`.
    fn run(
        &self,
        op: Op<'_>,
        user: &str,
        stored: Option<String>,
        time: &JsValue,
    ) -> Result<Answer, JsValue> {
        let now = now(time)?;
        let subject = Subject::new(&self.scope, user).map_err(core_err)?;
        // No app code runs while the pool is borrowed; were it borrowed, no salt is drawn
        // (ENTROPY), rather than a panic.
        let mut draw = || {
            let mut salts = self.salts.try_borrow_mut().ok()?;
            salts.take(|bytes| getrandom::fill(bytes).is_ok())
        };
        let (answer, write) = self
            .core
            .apply_record(op, &subject, stored.as_deref(), now, &mut draw)
            .map_err(core_err)?;
        self.event.set(answer.event(&op, write.is_some(), now));
        self.write.set(write.map(|r| r.encode()));
        Ok(answer)
    }

    fn issued(
        &self,
        op: Op<'_>,
        user: &str,
        stored: Option<String>,
        time: &JsValue,
    ) -> Result<JsValue, JsValue> {
        match self.run(op, user, stored, time)? {
            Answer::Issue(Issue::Issued(v)) => to_js(&Otp::issued(&v)),
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

    /// `create(user, { ttlSeconds?, link? })` (`generate` false): a new code (the previous
    /// one can never verify again), with its link `token` when asked; or `RATE_LIMITED`.
    /// `generate(...)` (`generate` true): the same, but `ACTIVE_OTP_EXISTS` while a code
    /// is active (outside a lockout). `options`: what `checkArguments` answered for them.
    /// (`undefined`: see `takeError`.)
    pub fn issue(
        &self,
        user: &str,
        stored: Option<String>,
        time: &JsValue,
        options: &JsValue,
        generate: bool,
    ) -> JsValue {
        let o = self.reads.during(|| issue_options(options));
        self.operation(|e| {
            let o = o?;
            let op = if generate {
                Op::GenerateWith(o)
            } else {
                Op::CreateWith(o)
            };
            e.issued(op, user, stored, time)
        })
    }

    /// `getLatestOtp`: the latest code with its status, or `null`. Never writes.
    /// (`undefined`: see `takeError`.)
    pub fn latest(&self, user: &str, stored: Option<String>, time: &JsValue) -> JsValue {
        self.operation(|e| match e.run(Op::Latest, user, stored, time)? {
            Answer::Latest(v) => to_js(&v.as_ref().map(|v| Otp::new(v, true))),
            _ => Err(unexpected()),
        })
    }

    /// `check(user, code, { consume? })`: the structured verdict `{ ok, reason,
    /// attemptsLeft, retryAfterMs? }`, or with `boolean` (`verify`) whether it verified.
    /// `code` is `undefined` when it is too long to be copied: a wrong guess. `options`:
    /// what `checkArguments` answered for them. (`undefined`: see `takeError`.)
    pub fn check(
        &self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        time: &JsValue,
        options: &JsValue,
        boolean: bool,
    ) -> JsValue {
        let consume = self.reads.during(|| consume_option(options));
        self.operation(|e| {
            let consume = consume?;
            let code = submitted(code);
            let op = Op::Check {
                code: code.as_str(),
                consume,
            };
            verdict_js(e.verdict(op, user, stored, time)?, boolean)
        })
    }

    fn verdict(
        &self,
        op: Op<'_>,
        user: &str,
        stored: Option<String>,
        time: &JsValue,
    ) -> Result<Verdict, JsValue> {
        match self.run(op, user, stored, time)? {
            Answer::Verdict(v) => Ok(v),
            _ => Err(unexpected()),
        }
    }

    /// `checkToken(user, token)`: the verdict for a link token (same shape as `check`),
    /// or with `boolean` (`verifyToken`) whether it verified. `token` is `undefined` when
    /// it is too long to be copied: a wrong token. (`undefined`: see `takeError`.)
    #[wasm_bindgen(js_name = checkToken)]
    pub fn check_token(
        &self,
        user: &str,
        token: Option<String>,
        stored: Option<String>,
        time: &JsValue,
        boolean: bool,
    ) -> JsValue {
        self.operation(|e| {
            let token = submitted(token);
            verdict_js(
                e.verdict(Op::Token(token.as_str()), user, stored, time)?,
                boolean,
            )
        })
    }

    /// `forget`: whether there was a record (any value: erasure works on corrupt ones
    /// too). The driver deletes it when the answer is true. (`undefined`: see
    /// `takeError`.)
    pub fn forget(&self, user: &str, present: bool, time: &JsValue) -> JsValue {
        self.operation(|e| {
            let now = now(time)?;
            Subject::new(&e.scope, user).map_err(core_err)?;
            e.event.set(Event::forget(present, now));
            Ok(JsValue::from_bool(present))
        })
    }

    /// The last operation's event `{ type, scope, user, at, attemptsLeft?, retryAfterMs?,
    /// expiresAt? }`, once; `undefined` for reads, for operations that failed before the
    /// core decided (on their arguments, options or clock), and for `resetAttempts`,
    /// `invalidate` and `forget` that changed nothing. (`RATE_LIMITED` and
    /// `ACTIVE_OTP_EXISTS` are answers, with events.) Never a code or token. The one
    /// method that throws: its `undefined` means "no event".
    #[wasm_bindgen(js_name = takeEvent)]
    pub fn take_event(&self, user: &str) -> Result<JsValue, JsValue> {
        match self.event.take() {
            None => Ok(JsValue::UNDEFINED),
            Some(e) => to_js(&EventJs {
                kind: e.kind,
                scope: &self.scope,
                user,
                at: e.at as f64,
                attempts_left: e.attempts_left,
                retry_after_ms: e.retry_after_ms.map(|ms| ms as f64),
                expires_at: e.expires_at.map(|at| at as f64),
                reason: e.reason,
            }),
        }
    }

    /// `resetAttempts` (`invalidate` false): true if there was a current code; its
    /// attempts and the failure budget are cleared. `invalidate`: true if there was an
    /// active code, now revoked. (`undefined`: see `takeError`.)
    pub fn flag(
        &self,
        user: &str,
        stored: Option<String>,
        time: &JsValue,
        invalidate: bool,
    ) -> JsValue {
        let op = if invalidate {
            Op::Invalidate
        } else {
            Op::ResetAttempts
        };
        self.operation(|e| match e.run(op, user, stored, time)? {
            Answer::Flag(f) => Ok(JsValue::from_bool(f)),
            _ => Err(unexpected()),
        })
    }

    /// The record the last operation asked to write, once; `undefined` when it writes
    /// nothing.
    #[wasm_bindgen(js_name = takeWrite)]
    pub fn take_write(&self) -> JsValue {
        self.write
            .take()
            .map_or(JsValue::UNDEFINED, |r| JsValue::from_str(&r))
    }
}

/// A verdict as JS receives it: the object, or (`verify`) a boolean.
fn verdict_js(v: Verdict, boolean: bool) -> Result<JsValue, JsValue> {
    if boolean {
        Ok(JsValue::from_bool(v.is_ok()))
    } else {
        to_js(&VerdictJs::from(v))
    }
}

/// An answer of the wrong kind for the operation: cannot happen (`Engine::apply_record`
/// maps each operation to its answer), reported rather than panicking.
fn unexpected() -> JsValue {
    errors::otp_error(
        crate::ErrorCode::Internal.as_str(),
        "unexpected answer kind",
        errors::Fields::default(),
    )
}

// ------------------------------------------------------------------------------------
// The module's free functions: its driver limits and the checks the Durable Object client
// makes before its RPC.

/// How an `OtpDurableObject` reads an option from an env variable that is a string (a JSON
/// variable, which is not, is passed on as it is; the options reader then checks it).
#[wasm_bindgen]
#[derive(Clone, Copy)]
pub enum EnvValue {
    /// As it is.
    Text,
    /// A decimal number (`"30"`, `" 30 "`, `"1.5"`, `"-1"`, for the option's own range
    /// check); anything else (`"0x1e"`, `"1e1"`, `""`) stays the string, which the
    /// options reader refuses with the option's name.
    Number,
    /// `"COUNT/WINDOW_SECONDS"` (`"5/3600"`), `"off"` or `"null"` in any case for none,
    /// or a JSON object; anything else stays the string.
    Limit,
}

/// The options an `OtpDurableObject` takes from its env, and how: the policy, not what is
/// per client or per object (the scope, the callbacks, `timeoutMs`, `retentionSeconds`:
/// its storage has no expiry, an alarm deletes it).
const FROM_ENV: [(options::Name, EnvValue); 9] = {
    use options::Name::*;
    [
        (Secret, EnvValue::Text),
        (TtlSeconds, EnvValue::Number),
        (MaxAttempts, EnvValue::Number),
        (Length, EnvValue::Number),
        (Alphabet, EnvValue::Text),
        (KeyPrefix, EnvValue::Text),
        (ResendCooldownSeconds, EnvValue::Number),
        (IssueLimit, EnvValue::Limit),
        (FailureLimit, EnvValue::Limit),
    ]
};

/// The options an `OtpDurableObject` takes from its env: `[[option, EnvValue], ...]`
/// (the variable is `OTP_` and the option's name in upper snake case, `OTP_TTL_SECONDS`).
#[wasm_bindgen(js_name = envOptions)]
pub fn env_options() -> js_sys::Array {
    FROM_ENV
        .iter()
        .map(|&(name, value)| {
            js_sys::Array::of2(&options::KEYS[name as usize].into(), &(value as u32).into())
        })
        .collect()
}

/// The driver's limits: `{ maxTries, maxRecordUnits, maxCodeUnits }` (compare-and-swap
/// attempts per operation; the longest stored value and submitted code copied into wasm,
/// in UTF-16 units).
#[wasm_bindgen]
pub fn limits() -> Result<JsValue, JsValue> {
    to_js(&Limits::new(ENCODED_MAX))
}

/// The problem of a user id that is not a string, for the one-time-code managers (whose
/// `normalizeUser` answers the user id the engine sees).
const USER_NOT_A_STRING: &str =
    "must be a string (normalizeUser, when set, must answer one, synchronously)";

/// Checks a user id as every operation does (`INVALID_ARGUMENT`), for callers that must
/// refuse bad input before reaching an engine (the Durable Object client, before its RPC).
#[wasm_bindgen(js_name = checkUser)]
pub fn check_user_standalone(user: &JsValue) -> Result<(), JsValue> {
    check_user(user, USER_NOT_A_STRING)
}

/// Checks a submitted code as `check` and `verify` do (with `token`, a link token as
/// `checkToken` and `verifyToken` do): any string is a guess; anything else is
/// `INVALID_ARGUMENT`, for callers that must refuse it before an RPC.
#[wasm_bindgen(js_name = checkCode)]
pub fn check_code(code: &JsValue, token: bool) -> Result<(), JsValue> {
    check_submitted(code, if token { "token" } else { "code" })
}

/// A submitted code or link token (`argument`): any string, else `INVALID_ARGUMENT`.
fn check_submitted(value: &JsValue, argument: &'static str) -> Result<(), JsValue> {
    if value.is_string() {
        Ok(())
    } else {
        Err(errors::argument(argument, "must be a string"))
    }
}

/// A placeholder secret of the minimum length, only for [`check_client_options`]' probe
/// (no engine is built from them).
const PROBE_SECRET: &str = "scope-probe-0123";

/// Whether `v` has a function under `name` (own or inherited: a binding's methods live on
/// its prototype).
fn has_method(v: &JsValue, name: &str) -> bool {
    js_sys::Reflect::get(v, &name.into()).is_ok_and(|f| f.is_function())
}

/// Checks a `durableOtp` client's arguments: `namespace` must be a Durable Object
/// namespace binding (with `getByName`, or `idFromName` and `get`, and no `fetch`: not a
/// stub or a service binding), and `options`
/// (`undefined` for none) an object of own keys `scope` and `normalizeUser` only (the
/// policy is the object's), each checked exactly as that option is (it runs the options
/// reader on `{ secret, scope, normalizeUser }`). Answers `[scope, normalizeUser]`, the
/// values it checked (`undefined` where absent, and for the default scope spelled out),
/// for the client to use: each is read once. `INVALID_CONFIG` naming the field otherwise.
#[wasm_bindgen(js_name = checkClientOptions)]
pub fn check_client_options(
    namespace: &JsValue,
    options: &JsValue,
) -> Result<js_sys::Array, JsValue> {
    let binding = namespace.is_object() || namespace.is_function();
    // A stub (env.OTP.getByName(name)) or a service binding answers a function for any
    // method name (each one an RPC), but it has `fetch`, which a namespace has not.
    if !binding
        || !(has_method(namespace, "getByName")
            || has_method(namespace, "idFromName") && has_method(namespace, "get"))
        || has_method(namespace, "fetch")
    {
        return Err(errors::config(
            "namespace",
            "must be a Durable Object namespace binding (e.g. env.OTP), not a stub or a service",
        ));
    }
    let probe = js_sys::Object::new();
    js_sys::Reflect::set(&probe, &Name::Secret.key().into(), &PROBE_SECRET.into())?;
    let [scope, normalize_user] = if options.is_undefined() {
        [None, None]
    } else if options::is_record(options)? {
        options::own_values(
            options,
            &[Name::Scope.key(), Name::NormalizeUser.key()],
            "options",
            "durableOtp takes scope and normalizeUser only (the policy is the Durable Object's)",
        )?
    } else {
        return Err(errors::config("options", "must be an object"));
    };
    let [scope, normalize_user] = [scope, normalize_user].map(Option::unwrap_or_default);
    js_sys::Reflect::set(&probe, &Name::Scope.key().into(), &scope)?;
    js_sys::Reflect::set(&probe, &Name::NormalizeUser.key().into(), &normalize_user)?;
    // The default scope spelled out is no scope: one object per user, whichever way the
    // app writes it.
    if options::read(&probe)?.scope == crate::driver::DEFAULT_SCOPE {
        return Ok(js_sys::Array::of2(&JsValue::UNDEFINED, &normalize_user));
    }
    Ok(js_sys::Array::of2(&scope, &normalize_user))
}
