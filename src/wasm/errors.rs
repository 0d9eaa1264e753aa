//! Errors thrown into JS: always the package's own `OtpError` class (pkg/error.js, the
//! class users import), with a stable `.code` and the fields that go with it. Every code
//! and every message is written here or in the core, never in JS.

use crate::engine::Limited;
use crate::error::{Error, ErrorCode};
use js_sys::JsString;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "../error.js")]
extern "C" {
    /// `class OtpError extends Error` of pkg/error.js. Imported by the glue with this
    /// exact specifier, so the glue and the package entries share one class.
    #[wasm_bindgen(extends = js_sys::Error)]
    pub type OtpError;

    #[wasm_bindgen(constructor)]
    fn new(code: &str, message: &str, fields: &JsValue) -> OtpError;
}

/// The fields an `OtpError` carries besides `code` and `message`; `None` is left out.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fields {
    /// The option at fault (`INVALID_CONFIG`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// The argument at fault (`INVALID_ARGUMENT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<&'static str>,
    /// Why, machine-readable where it is one of a few (`cooldown`, `issue_limit`,
    /// `locked` for `RATE_LIMITED`), else the problem in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// `RATE_LIMITED`: milliseconds until issuing is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<f64>,
    /// `ACTIVE_OTP_EXISTS`: when the active code expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<f64>,
    /// `TIMEOUT`: the limit that was reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<f64>,
}

/// A new `OtpError` as a JS value.
#[cold]
#[inline(never)]
pub(crate) fn otp_error(code: &str, message: &str, fields: Fields) -> JsValue {
    let fields = super::answers::to_js(&fields).unwrap_or(JsValue::UNDEFINED);
    OtpError::new(code, message, &fields).into()
}

/// The `OtpError` for a core error.
#[cold]
#[inline(never)]
pub(crate) fn from_core(e: &Error) -> JsValue {
    // Written out rather than through `Display` (the same words), so that no formatting
    // machinery is needed here.
    let message = match *e {
        Error::InvalidConfig { field, problem } => ["invalid ", field, ": ", problem].concat(),
        Error::InvalidArgument { argument, problem } => {
            ["invalid ", argument, ": ", problem].concat()
        }
        Error::CorruptRecord(d) => d.as_str().into(),
        _ => std::string::String::new(),
    };
    let fields = match *e {
        Error::InvalidConfig { field, problem } => Fields {
            field: Some(field),
            reason: Some(problem),
            ..Fields::default()
        },
        Error::InvalidArgument { argument, problem } => Fields {
            argument: Some(argument),
            reason: Some(problem),
            ..Fields::default()
        },
        Error::CorruptRecord(d) => Fields {
            reason: Some(d.as_str()),
            ..Fields::default()
        },
        _ => Fields::default(),
    };
    let message = match e {
        Error::EntropyUnavailable => {
            "no randomness available for a fresh salt (in Workers, call inside a request handler)"
        }
        _ => &message,
    };
    otp_error(e.code(), message, fields)
}

/// An unknown key of an options object: `INVALID_CONFIG` for the option `name`
/// (`config`), else `INVALID_ARGUMENT` for the argument `name`, with `problem` as the
/// reason. The message names the key when it is short and made of ASCII letters, digits,
/// `_` and `$` only (a long one is not copied; one with other characters, which could
/// carry a line break into a log, is not shown).
#[cold]
#[inline(never)]
pub(crate) fn unknown_key(
    config: bool,
    name: &'static str,
    problem: &'static str,
    key: &JsString,
) -> JsValue {
    let shown = (key.length() <= 40).then(|| key.as_string()).flatten();
    let plain = |k: &str| {
        k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
    };
    let message = [
        "invalid ",
        name,
        ": ",
        problem,
        ": ",
        match shown.as_deref() {
            None => "(a long key)",
            Some(k) if plain(k) => k,
            Some(_) => "(a key with other characters)",
        },
    ]
    .concat();
    let (code, field, argument) = if config {
        (ErrorCode::InvalidConfig.as_str(), Some(name), None)
    } else {
        (ErrorCode::InvalidArgument.as_str(), None, Some(name))
    };
    otp_error(
        code,
        &message,
        Fields {
            field,
            argument,
            reason: Some(problem),
            ..Fields::default()
        },
    )
}

/// `INVALID_CONFIG` for `field`.
#[cold]
#[inline(never)]
pub(crate) fn config(field: &'static str, problem: &'static str) -> JsValue {
    from_core(&Error::InvalidConfig { field, problem })
}

/// `INVALID_ARGUMENT` for `argument`.
#[cold]
#[inline(never)]
pub(crate) fn argument(argument: &'static str, problem: &'static str) -> JsValue {
    from_core(&Error::InvalidArgument { argument, problem })
}

/// `RATE_LIMITED`, with the rule that refused and the wait.
#[cold]
#[inline(never)]
pub(crate) fn rate_limited(retry_after_ms: u64, reason: Limited) -> JsValue {
    let message = match reason {
        Limited::Cooldown => "resend cooldown: wait before requesting another code",
        Limited::IssueLimit => "issue limit reached: too many codes requested",
        Limited::LockedOut => "too many failed attempts: locked out",
    };
    otp_error(
        ErrorCode::RateLimited.as_str(),
        message,
        Fields {
            reason: Some(reason.as_str()),
            retry_after_ms: Some(retry_after_ms as f64),
            ..Fields::default()
        },
    )
}

/// `ACTIVE_OTP_EXISTS` (from `generate`), with the active code's expiry.
#[cold]
#[inline(never)]
pub(crate) fn active_exists(expires_at: u64) -> JsValue {
    otp_error(
        ErrorCode::ActiveOtpExists.as_str(),
        "an active code exists; it has not expired, been used or run out of attempts",
        Fields {
            expires_at: Some(expires_at as f64),
            ..Fields::default()
        },
    )
}

/// What can go wrong in the JS storage driver (pkg/slim.js), which asks for its errors
/// here so that codes and messages are written once.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Compare-and-swap lost [`crate::MAX_TRIES`] times in a row.
    Conflict,
    /// A storage call did not settle within `timeoutMs` (the detail).
    Timeout,
    /// The operation waited for its turn on a storage key while the operation holding it
    /// made no progress for longer than this operation's `timeoutMs` (the detail).
    TurnTimeout,
    /// The storage object lacks `get`/`put` functions.
    Storage,
    /// `storage.compareAndSwap` is present but not a function.
    StorageCompareAndSwap,
    /// `storage.compareAndSwap` answered something other than `true` or `false` (a
    /// driver's result object, say, which would otherwise pass for a success).
    StorageCompareAndSwapAnswer,
    /// The operation deletes a record and the storage has no `delete` function.
    StorageDelete,
    /// The manager was disposed.
    Disposed,
}

/// The `OtpError` for a driver fault; `detail` is the timeout for [`Fault::Timeout`] and
/// [`Fault::TurnTimeout`].
#[wasm_bindgen]
pub fn fault(kind: Fault, detail: f64) -> JsValue {
    match kind {
        Fault::Conflict => otp_error(
            ErrorCode::Conflict.as_str(),
            "the record changed under every compare-and-swap attempt; try again",
            Fields::default(),
        ),
        Fault::Timeout | Fault::TurnTimeout => otp_error(
            ErrorCode::Timeout.as_str(),
            if matches!(kind, Fault::Timeout) {
                "a storage call did not settle within timeoutMs; the record is as before or as after the operation"
            } else {
                "another operation on the same storage key made no progress within timeoutMs; this operation read and wrote nothing"
            },
            Fields {
                timeout_ms: Some(detail),
                ..Fields::default()
            },
        ),
        Fault::Storage => config(
            "storage",
            "must have get(key) and put(key, value) functions of its own or of its class",
        ),
        Fault::StorageCompareAndSwap => config(
            "storage",
            "compareAndSwap must be a function when present",
        ),
        Fault::StorageCompareAndSwapAnswer => config(
            "storage",
            "compareAndSwap must answer true (written) or false (the value was not the expected one), or a Promise of one",
        ),
        Fault::StorageDelete => config(
            "storage",
            "needs a delete(key) function for this operation",
        ),
        Fault::Disposed => otp_error(
            ErrorCode::Disposed.as_str(),
            "this manager was disposed; create another",
            Fields::default(),
        ),
    }
}
