//! The authenticator-app (TOTP) binding: `configureTotp` and the exported `TotpEngine`,
//! one method per operation (decode, one core call, encode), for the `edge-otp/totp`
//! module (feature `totp-binding`, built without the one-time-code engine).
//!
//! The same conventions as the one-time-code binding: options read once with js-sys (own
//! keys only, unknown keys refused, `null` never a default), strings in, serde answers
//! out, `OtpError` with codes written here, the app's clock or web-time, and randomness
//! (seeds, nonces, recovery codes) from getrandom inside wasm. `takeWrite()` answers
//! `undefined` (write nothing), a record string (put), or `null` (delete the record);
//! pkg/totp-slim.js maps `null` to pkg/driver.js's `DELETE`.

use super::answers::{to_js, word};
use super::options::{
    call_keys, call_options, copy, is_record, limit, option_names, own_values, read_clock,
    read_key_prefix, read_scope, read_timeout_ms, secret, short_string, short_text, whole,
};
use super::{answer, check_user, errors, now, submitted, Reads};
use crate::engine::Subject;
use crate::error::Error;
use crate::policy::Limit;
use crate::totp::{
    Algorithm, EnrollOptions, Enrollment, RecoveryCodes, RecoveryCodesConfig, TotpConfig,
    TotpEngine, TotpPolicy, TotpStatus, TotpStep, TotpVerdict, TotpWrite, ENROLL_ENTROPY_BYTES,
    MAX_ISSUER_CHARS, MAX_LABEL_BYTES, MAX_RECORD_BYTES,
};
use crate::{Millis, MAX_TIME};
use core::cell::Cell;
use serde::Serialize;
use std::string::String;
use std::vec::Vec;
use wasm_bindgen::prelude::*;
use zeroize::{Zeroize, Zeroizing};

/// Longest base32 seed text copied into wasm (64 bytes are 103 characters, plus spaces).
const MAX_SEED_TEXT_UNITS: u32 = 256;

option_names!(KEYS, Name {
    Secret = "secret",
    Issuer = "issuer",
    Scope = "scope",
    Algorithm = "algorithm",
    Digits = "digits",
    PeriodSeconds = "periodSeconds",
    Window = "window",
    FailureLimit = "failureLimit",
    RecoveryCodes = "recoveryCodes",
    KeyPrefix = "keyPrefix",
    RetentionSeconds = "retentionSeconds",
    Now = "now",
    TimeoutMs = "timeoutMs",
});

/// The core TOTP engine for one policy and scope, plus what the last operation left for
/// JS to take: what to do with the record (`takeWrite`) and its error (`takeError`).
///
/// As the one-time-code engine's, every operation method answers one JS value and reports
/// its own errors through `takeError`: `undefined` means it failed, and `takeError()`
/// then gives the error ([`answer`]). Its methods take `&self` for the same reason: an
/// options getter may call any manager sharing the engine.
#[wasm_bindgen(js_name = TotpEngine)]
pub struct WasmTotpEngine {
    core: TotpEngine,
    scope: String,
    write: Cell<TotpWrite>,
    error: Cell<Option<JsValue>>,
    reads: Reads,
}

/// `totp.policy`: every option with its value, defaults filled in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TotpPolicyJs<'a> {
    scope: &'a str,
    key_prefix: &'a str,
    issuer: &'a str,
    algorithm: &'static str,
    digits: u32,
    period_seconds: f64,
    window: u32,
    failure_limit: Option<LimitJs>,
    recovery_codes: RecoveryJs,
    retention_seconds: Option<f64>,
    timeout_ms: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LimitJs {
    count: u32,
    window_seconds: f64,
}

#[derive(Serialize)]
struct RecoveryJs {
    count: u32,
    length: u32,
}

fn whole_u32(v: &JsValue, field: &'static str) -> Result<u32, JsValue> {
    Ok(u32::try_from(whole(v, field)?).unwrap_or(u32::MAX))
}

/// Validates `options` (every key, once) and builds a TOTP engine for them. Answers
/// `{ engine, poolKey, keyPrefix, putOptions, timeoutMs, now, policy }`; throws
/// `OtpError` `INVALID_CONFIG`, or what a throwing getter threw.
#[wasm_bindgen(js_name = configureTotp)]
pub fn configure_totp(options: &JsValue) -> Result<JsValue, JsValue> {
    if !is_record(options)? {
        return Err(errors::config(
            "options",
            "must be an object with at least a secret and an issuer",
        ));
    }
    let mut values = own_values(
        options,
        &KEYS,
        "options",
        "unknown key (options are camelCase: periodSeconds, failureLimit, ...)",
    )?;
    let mut take = |name: Name| values[name as usize].take();
    let mut c = TotpConfig::new(Vec::new(), "");
    c.secret = secret(take(Name::Secret), Name::Secret.key())?;
    let issuer_problem = crate::totp::ISSUER_PROBLEM;
    c.issuer = match take(Name::Issuer) {
        None => return Err(errors::config(Name::Issuer.key(), issuer_problem)),
        Some(v) => short_string(
            &v,
            2 * MAX_ISSUER_CHARS as u32,
            Name::Issuer.key(),
            issuer_problem,
        )?,
    };
    if let Some(v) = take(Name::Algorithm) {
        let problem = crate::totp::ALGORITHM_PROBLEM;
        let name = short_string(&v, 8, Name::Algorithm.key(), problem)?;
        c.algorithm = Algorithm::from_name(&name)
            .ok_or_else(|| errors::config(Name::Algorithm.key(), problem))?;
    }
    if let Some(v) = take(Name::Digits) {
        c.digits = whole_u32(&v, Name::Digits.key())?;
    }
    if let Some(v) = take(Name::PeriodSeconds) {
        c.period_seconds = whole(&v, Name::PeriodSeconds.key())?;
    }
    if let Some(v) = take(Name::Window) {
        c.window = whole_u32(&v, Name::Window.key())?;
    }
    c.failure_limit = limit(
        take(Name::FailureLimit),
        c.failure_limit,
        Name::FailureLimit.key(),
    )?;
    if let Some(v) = take(Name::RecoveryCodes) {
        let problem = "must be { count, length }";
        if !is_record(&v)? {
            return Err(errors::config(Name::RecoveryCodes.key(), problem));
        }
        call_keys!(RECOVERY_KEYS, RECOVERY_UNKNOWN = ["count", "length"]);
        let [count, length] = own_values(
            &v,
            &RECOVERY_KEYS,
            Name::RecoveryCodes.key(),
            RECOVERY_UNKNOWN,
        )?;
        let mut r = c.recovery_codes;
        if let Some(n) = count {
            r.count = whole_u32(&n, Name::RecoveryCodes.key())?;
        }
        if let Some(n) = length {
            r.length = whole_u32(&n, Name::RecoveryCodes.key())?;
        }
        c.recovery_codes = r;
    }
    // What the `policy` answer shows as the app wrote it (the policy keeps the failure
    // window in milliseconds); the config itself, secret included, moves into the policy.
    let (failure_limit, recovery_codes) = (c.failure_limit, c.recovery_codes);
    let policy = TotpPolicy::new(c).map_err(|e| errors::from_core(&e))?;

    let scope = read_scope(
        take(Name::Scope),
        Name::Scope.key(),
        crate::driver::DEFAULT_TOTP_SCOPE,
    )?;
    let key_prefix = read_key_prefix(take(Name::KeyPrefix), Name::KeyPrefix.key())?;
    // Enrollments never expire: a record written with a TTL would silently unenroll a
    // user who does not sign in for that long (a replayed or locked check writes nothing,
    // so the TTL would not even be refreshed). Only "no expiry" is accepted.
    if take(Name::RetentionSeconds).is_some_and(|v| !v.is_null()) {
        return Err(errors::config(
            Name::RetentionSeconds.key(),
            "must be null: TOTP enrollments are kept until disable()",
        ));
    }
    let timeout_ms = read_timeout_ms(take(Name::TimeoutMs), Name::TimeoutMs.key())?;
    let clock =
        read_clock(take(Name::Now), Name::Now.key())?.map_or(JsValue::UNDEFINED, JsValue::from);

    let full_prefix = format!("{key_prefix}{scope}:");
    let policy_js = to_js(&TotpPolicyJs {
        scope: &scope,
        key_prefix: &key_prefix,
        issuer: policy.issuer(),
        algorithm: policy.algorithm().as_str(),
        digits: policy.digits(),
        period_seconds: policy.period_seconds() as f64,
        window: policy.window(),
        failure_limit: failure_limit.map(|l: Limit| LimitJs {
            count: l.count,
            window_seconds: l.window_seconds as f64,
        }),
        recovery_codes: {
            let RecoveryCodesConfig { count, length } = recovery_codes;
            RecoveryJs { count, length }
        },
        retention_seconds: None,
        timeout_ms: timeout_ms.map(|t| t as f64),
    })?;
    let core = TotpEngine::new(policy);
    let pool_key = super::pool_key(core.fingerprint(scope.as_bytes()));
    let engine = WasmTotpEngine {
        core,
        scope,
        write: Cell::new(TotpWrite::Nothing),
        error: Cell::new(None),
        reads: Reads::default(),
    };
    /// `configureTotp`'s answer.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        #[serde(with = "serde_wasm_bindgen::preserve")]
        engine: JsValue,
        pool_key: String,
        key_prefix: String,
        put_options: Option<()>,
        timeout_ms: Option<f64>,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        now: JsValue,
        #[serde(with = "serde_wasm_bindgen::preserve")]
        policy: JsValue,
    }
    to_js(&Out {
        engine: engine.into(),
        pool_key,
        key_prefix: full_prefix,
        put_options: None,
        timeout_ms: timeout_ms.map(|t| t as f64),
        now: clock,
        policy: policy_js,
    })
}

/// The TOTP driver's limits: `{ maxTries, maxRecordUnits, maxCodeUnits }`.
#[wasm_bindgen(js_name = totpLimits)]
pub fn totp_limits() -> Result<JsValue, JsValue> {
    to_js(&super::Limits::new(MAX_RECORD_BYTES))
}

/// The answer of `enroll`.
#[derive(Serialize)]
struct EnrolledJs<'a> {
    uri: &'a str,
    secret: &'a str,
    #[serde(serialize_with = "word")]
    status: &'static str,
}

/// The structured verdict of `check` and `checkRecoveryCode`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TotpVerdictJs {
    ok: bool,
    #[serde(serialize_with = "word")]
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<f64>,
    /// `check`: the code was the first of a seed kept waiting (`keepCurrent`), which now
    /// replaces the old one.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    replaced: bool,
}

/// `pendingReplacement`'s answer: a seed enrolled with `keepCurrent`, waiting.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PendingJs {
    enrolled_at: f64,
    expires_at: f64,
}

fn core_err(e: Error) -> JsValue {
    errors::from_core(&e)
}

/// Reads `enroll`'s options object (own keys `label`, `secret`, `replace`,
/// `keepCurrent`); `undefined` is no options. Anything wrong is `INVALID_ARGUMENT`.
struct EnrollArgs {
    label: Option<String>,
    secret: Option<Zeroizing<String>>,
    replace: bool,
    keep_current: bool,
}

// `enroll`'s option names, and the problems for another key and for a non-object.
call_keys!(
    ENROLL_KEYS,
    ENROLL_UNKNOWN,
    ENROLL_NOT_OBJECT = ["label", "secret", "replace", "keepCurrent"]
);

// `cancelReplacement`'s option names, and the problems for another key and for a
// non-object.
call_keys!(
    CANCEL_KEYS,
    CANCEL_UNKNOWN,
    CANCEL_NOT_OBJECT = ["enrolledAt"]
);

/// The `enrolledAt` of the copy of `cancelReplacement`'s options that
/// `checkCancelOptions` made (`null`: none): a time as `pendingReplacement` answers it.
fn cancel_args(options: &JsValue) -> Result<Option<Millis>, JsValue> {
    let [enrolled_at] = call_options(options, &CANCEL_KEYS, CANCEL_UNKNOWN)?;
    enrolled_at
        .map(|v| {
            v.as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0 && *t < MAX_TIME as f64 && t.fract() == 0.0)
                .map(|t| t as Millis)
                .ok_or_else(|| {
                    errors::argument(
                        "enrolledAt",
                        "must be the enrolledAt pendingReplacement answered (whole milliseconds)",
                    )
                })
        })
        .transpose()
}

/// Reads the copy of `enroll`'s options that `checkEnrollOptions` made (`null`: none).
fn enroll_args(options: &JsValue) -> Result<EnrollArgs, JsValue> {
    let [label, secret, replace, keep_current] =
        call_options(options, &ENROLL_KEYS, ENROLL_UNKNOWN)?;
    let label = match label {
        None => None,
        Some(v) => Some(short_text(
            &v,
            MAX_LABEL_BYTES as u32,
            "label",
            crate::totp::LABEL_PROBLEM,
            errors::argument,
        )?),
    };
    let secret = match secret {
        None => None,
        Some(v) => Some(Zeroizing::new(short_text(
            &v,
            MAX_SEED_TEXT_UNITS,
            "secret",
            crate::totp::SEED_PROBLEM,
            errors::argument,
        )?)),
    };
    let flag = |v: Option<JsValue>, argument| match v {
        None => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| errors::argument(argument, "must be a boolean")),
    };
    let (replace, keep_current) = (
        flag(replace, "replace")?,
        flag(keep_current, "keepCurrent")?,
    );
    let flags = EnrollOptions {
        replace,
        keep_current,
        ..EnrollOptions::default()
    };
    flags.check_flags().map_err(core_err)?;
    Ok(EnrollArgs {
        label,
        secret,
        replace,
        keep_current,
    })
}

fn draw(buf: &mut [u8]) -> Result<(), JsValue> {
    getrandom::fill(buf).map_err(|_| core_err(Error::EntropyUnavailable))
}

#[wasm_bindgen(js_class = TotpEngine)]
impl WasmTotpEngine {
    /// Runs an operation method's body `f`: first drops what the last operation asked to
    /// do with the record, before anything can fail, then answers `f`'s value, or
    /// `undefined` with its error kept for `takeError` ([`answer`]).
    fn operation(&self, f: impl FnOnce(&Self) -> Result<JsValue, JsValue>) -> JsValue {
        self.write.set(TotpWrite::Nothing);
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

    /// Whether app code is running inside one of this engine's methods (an `enroll`
    /// options getter): `free()` must wait until it is done (as the OTP engine's).
    #[wasm_bindgen(getter = inUse)]
    pub fn in_use(&self) -> bool {
        self.reads.any()
    }

    /// Checks a user id before the driver forms its storage key (as the OTP engine):
    /// `true`, or `undefined` with `INVALID_ARGUMENT` for `takeError`.
    #[wasm_bindgen(js_name = checkUser)]
    pub fn check_user(&self, user: &JsValue) -> JsValue {
        answer(
            &self.error,
            check_user(user, "must be a string").map(|()| JsValue::TRUE),
        )
    }

    /// Checks a submitted code (TOTP or recovery) before any storage call: any string is
    /// a guess (`true`); anything else is `INVALID_ARGUMENT` (`undefined`, see
    /// `takeError`).
    #[wasm_bindgen(js_name = checkCode)]
    pub fn check_code(&self, code: &JsValue) -> JsValue {
        let r = if code.is_string() {
            Ok(JsValue::TRUE)
        } else {
            Err(errors::argument("code", "must be a string"))
        };
        answer(&self.error, r)
    }

    /// Reads `enroll`'s options once, before any storage call, and checks them: the copy
    /// that `enroll` takes ([`copy`]; `null` for none), or `undefined` (see
    /// `takeError`).
    #[wasm_bindgen(js_name = checkEnrollOptions)]
    pub fn check_enroll_options(&self, options: &JsValue) -> JsValue {
        self.checked_copy(
            options,
            &ENROLL_KEYS,
            ENROLL_NOT_OBJECT,
            ENROLL_UNKNOWN,
            enroll_args,
        )
    }

    /// A per-call options object read once ([`copy`] of its `keys`, made while the app's
    /// getters may run) and checked by `args` on that copy, as the operation will read
    /// it: the copy, or `undefined` (see `takeError`).
    fn checked_copy<T>(
        &self,
        options: &JsValue,
        keys: &[&'static str],
        not_object: &'static str,
        unknown: &'static str,
        args: fn(&JsValue) -> Result<T, JsValue>,
    ) -> JsValue {
        let r = self
            .reads
            .during(|| copy(options, keys, not_object, unknown))
            .and_then(|c| args(&c).map(|_| c));
        answer(&self.error, r)
    }

    fn keep<T>(&self, step: TotpStep<T>) -> T {
        self.write.set(step.write);
        step.answer
    }

    /// `enroll`: `{ uri, secret, status: "pending" }`, or `ALREADY_ENROLLED`
    /// (`undefined`: see `takeError`). `options`: what `checkEnrollOptions` answered.
    pub fn enroll(
        &self,
        user: &str,
        options: &JsValue,
        stored: Option<String>,
        time: &JsValue,
    ) -> JsValue {
        let args = self.reads.during(|| enroll_args(options));
        self.operation(|e| e.enrolled(user, args?, stored, time))
    }

    fn enrolled(
        &self,
        user: &str,
        args: EnrollArgs,
        stored: Option<String>,
        time: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let now = now(time)?;
        let subject = Subject::new(&self.scope, user).map_err(core_err)?;
        let mut entropy = Zeroizing::new([0u8; ENROLL_ENTROPY_BYTES]);
        draw(&mut entropy[..])?;
        let opts = EnrollOptions {
            label: args.label.as_deref(),
            secret: args.secret.as_deref().map(|s| s.as_str()),
            replace: args.replace,
            keep_current: args.keep_current,
        };
        let step = self
            .core
            .enroll(&subject, stored.as_deref(), now, &opts, &entropy)
            .map_err(core_err)?;
        match self.keep(step) {
            Enrollment::Enrolled(e) => to_js(&EnrolledJs {
                uri: &e.uri,
                secret: &e.secret,
                status: e.status.as_str(),
            }),
            Enrollment::AlreadyEnrolled => Err(errors::otp_error(
                crate::ErrorCode::AlreadyEnrolled.as_str(),
                "the user has an active enrollment; pass { replace: true } to replace it",
                errors::Fields::default(),
            )),
        }
    }

    /// Runs a core operation on a submitted code (`undefined` when it was too long to be
    /// copied: the empty, wrong guess) and keeps its write.
    fn guess<T>(
        &self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        time: &JsValue,
        op: impl FnOnce(
            &TotpEngine,
            &Subject<'_>,
            Option<&str>,
            &str,
            Millis,
        ) -> Result<TotpStep<T>, Error>,
    ) -> Result<T, JsValue> {
        let now = now(time)?;
        let subject = Subject::new(&self.scope, user).map_err(core_err)?;
        let code = submitted(code);
        let step = op(&self.core, &subject, stored.as_deref(), &code, now).map_err(core_err)?;
        Ok(self.keep(step))
    }

    fn verdict(
        &self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        time: &JsValue,
    ) -> Result<TotpVerdict, JsValue> {
        self.guess(
            user,
            code,
            stored,
            time,
            |core, subject, stored, code, now| core.check(subject, stored, code, now),
        )
    }

    /// `check`: `{ ok, reason, retryAfterMs? }`. `code` is `undefined` when it is too
    /// long to be copied: a wrong guess. (`undefined`: see `takeError`.)
    pub fn check(
        &self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        time: &JsValue,
    ) -> JsValue {
        self.operation(|e| {
            let v = e.verdict(user, code, stored, time)?;
            to_js(&TotpVerdictJs {
                ok: v.is_ok(),
                reason: v.reason(),
                retry_after_ms: v.retry_after_ms().map(|t| t as f64),
                replaced: v.replaced(),
            })
        })
    }

    /// `verify`: whether the code verified (the rule of `check`, boolean answer).
    /// (`undefined`: see `takeError`.)
    pub fn verify(
        &self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        time: &JsValue,
    ) -> JsValue {
        self.operation(|e| {
            Ok(JsValue::from_bool(
                e.verdict(user, code, stored, time)?.is_ok(),
            ))
        })
    }

    /// `status`: `"none"`, `"pending"` or `"active"`. Never writes. (`undefined`: see
    /// `takeError`.)
    pub fn status(&self, _user: &str, stored: Option<String>) -> JsValue {
        self.operation(|e| {
            let s: TotpStatus = e.core.status(stored.as_deref()).map_err(core_err)?;
            Ok(JsValue::from_str(s.as_str()))
        })
    }

    /// `pendingReplacement`: `{ enrolledAt, expiresAt }` of the seed enrolled with
    /// `keepCurrent` that waits for its first code, or `null`. Never writes.
    /// (`undefined`: see `takeError`.)
    #[wasm_bindgen(js_name = pendingReplacement)]
    pub fn pending_replacement(&self, stored: Option<String>, time: &JsValue) -> JsValue {
        self.operation(|e| {
            let waiting = e
                .core
                .pending_replacement(stored.as_deref(), now(time)?)
                .map_err(core_err)?;
            to_js(&waiting.map(|w| PendingJs {
                enrolled_at: w.enrolled_at as f64,
                expires_at: w.expires_at as f64,
            }))
        })
    }

    /// `cancelReplacement`'s options `{ enrolledAt }`, checked and copied (own keys
    /// read once, as `checkEnrollOptions` does): the copy is `cancelReplacement`'s
    /// `options`. (`undefined`: see `takeError`.)
    #[wasm_bindgen(js_name = checkCancelOptions)]
    pub fn check_cancel_options(&self, options: &JsValue) -> JsValue {
        self.checked_copy(
            options,
            &CANCEL_KEYS,
            CANCEL_NOT_OBJECT,
            CANCEL_UNKNOWN,
            cancel_args,
        )
    }

    /// `cancelReplacement`: drops the seed enrolled with `keepCurrent` that waits for its
    /// first code (with `{ enrolledAt }`, only the one enrolled then); true if it was
    /// waiting. `options`: what `checkCancelOptions` answered. (`undefined`: see
    /// `takeError`.)
    #[wasm_bindgen(js_name = cancelReplacement)]
    pub fn cancel_replacement(
        &self,
        user: &str,
        options: &JsValue,
        stored: Option<String>,
        time: &JsValue,
    ) -> JsValue {
        let enrolled_at = self.reads.during(|| cancel_args(options));
        self.operation(|e| {
            let subject = Subject::new(&e.scope, user).map_err(core_err)?;
            let step = e
                .core
                .cancel_replacement(&subject, stored.as_deref(), now(time)?, enrolled_at?)
                .map_err(core_err)?;
            Ok(JsValue::from_bool(e.keep(step)))
        })
    }

    /// `disable`: true if there was a stored value (`present`: an enrollment, or any
    /// corrupt value, which the driver hands over uncopied), which is deleted.
    pub fn disable(&self, present: bool) -> JsValue {
        self.operation(|e| {
            let step = e.core.disable(present);
            Ok(JsValue::from_bool(e.keep(step)))
        })
    }

    /// `newRecoveryCodes`: a new set (every earlier code void), or `NOT_ENROLLED`
    /// (`undefined`: see `takeError`).
    #[wasm_bindgen(js_name = newRecoveryCodes)]
    pub fn new_recovery_codes(&self, user: &str, stored: Option<String>) -> JsValue {
        self.operation(|e| e.recovery_codes(user, stored))
    }

    fn recovery_codes(&self, user: &str, stored: Option<String>) -> Result<JsValue, JsValue> {
        let subject = Subject::new(&self.scope, user).map_err(core_err)?;
        let mut entropy = Zeroizing::new(vec![0u8; self.core.policy().recovery_entropy_bytes()]);
        draw(&mut entropy)?;
        let step = self
            .core
            .new_recovery_codes(&subject, stored.as_deref(), &entropy)
            .map_err(core_err)?;
        match self.keep(step) {
            RecoveryCodes::Issued(mut codes) => {
                let shown: js_sys::Array = codes.iter().map(|c| JsValue::from_str(c)).collect();
                // JS has its copies: none is left behind in wasm memory.
                codes.zeroize();
                Ok(shown.into())
            }
            RecoveryCodes::NoEnrollment => Err(errors::otp_error(
                crate::ErrorCode::NotEnrolled.as_str(),
                "the user is not enrolled; enroll first",
                errors::Fields::default(),
            )),
        }
    }

    /// `checkRecoveryCode`: `{ ok, reason, retryAfterMs? }` (reason `accepted`,
    /// `invalid`, `used`, `none` or `locked`), or with `boolean` (`useRecoveryCode`)
    /// whether it was accepted; either way an accepted code is spent. `code` is
    /// `undefined` when it is too long to be copied: a wrong guess. (`undefined`: see
    /// `takeError`.)
    #[wasm_bindgen(js_name = useRecoveryCode)]
    pub fn use_recovery_code(
        &self,
        user: &str,
        code: Option<String>,
        stored: Option<String>,
        time: &JsValue,
        boolean: bool,
    ) -> JsValue {
        self.operation(|e| {
            let r = e.guess(
                user,
                code,
                stored,
                time,
                |core, subject, stored, code, now| {
                    core.use_recovery_code(subject, stored, code, now)
                },
            )?;
            if boolean {
                return Ok(JsValue::from_bool(r.is_ok()));
            }
            to_js(&TotpVerdictJs {
                ok: r.is_ok(),
                reason: r.reason(),
                retry_after_ms: r.retry_after_ms().map(|t| t as f64),
                replaced: false,
            })
        })
    }

    /// What the last operation asked to do with the record, once: `undefined` (nothing),
    /// the record string (put) or `null` (delete).
    #[wasm_bindgen(js_name = takeWrite)]
    pub fn take_write(&self) -> JsValue {
        match self.write.replace(TotpWrite::Nothing) {
            TotpWrite::Nothing => JsValue::UNDEFINED,
            TotpWrite::Put(record) => JsValue::from_str(&record),
            TotpWrite::Delete => JsValue::NULL,
        }
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT_TOTP: &'static str = include_str!("types-totp.d.ts");
