//! The answers JS receives, as serde types over the core's, serialised by
//! serde-wasm-bindgen; and their TypeScript declarations (one custom section, written
//! next to the types it describes).

use super::serialize::Answers;
use crate::engine::{OtpView, Verdict};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// An issued code (`create`, `generate`) or the latest one (`getLatestOtp`, with status).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Otp<'a> {
    code: &'a str,
    created_at: f64,
    expires_at: f64,
    attempts: u32,
    max_attempts: u32,
    attempts_left: u32,
    resend_available_at: f64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "some_word")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    /// `getLatestOtp` only: while the failure budget is spent, when it recovers.
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<f64>,
}

impl<'a> Otp<'a> {
    pub(crate) fn new(v: &'a OtpView, with_status: bool) -> Otp<'a> {
        Otp {
            code: v.code.as_str(),
            created_at: v.created_at as f64,
            expires_at: v.expires_at as f64,
            attempts: v.attempts,
            max_attempts: v.max_attempts,
            attempts_left: v.attempts_left,
            resend_available_at: v.resend_available_at as f64,
            status: with_status.then(|| v.status.as_str()),
            token: None,
            locked_until: v.locked_until.map(|t| t as f64),
        }
    }

    /// An issued code, with its link token when one was asked for.
    pub(crate) fn issued(v: &'a OtpView) -> Otp<'a> {
        Otp {
            token: v.token.as_ref().map(|t| t.as_str()),
            ..Otp::new(v, false)
        }
    }
}

/// The structured verdict of `check`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerdictJs {
    ok: bool,
    #[serde(serialize_with = "word")]
    reason: &'static str,
    attempts_left: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<f64>,
}

impl From<Verdict> for VerdictJs {
    fn from(v: Verdict) -> VerdictJs {
        VerdictJs {
            ok: v.is_ok(),
            reason: v.reason(),
            attempts_left: match v {
                Verdict::Invalid { attempts_left } => attempts_left,
                _ => 0,
            },
            retry_after_ms: match v {
                Verdict::LockedOut { retry_after_ms } => Some(retry_after_ms as f64),
                _ => None,
            },
        }
    }
}

/// Serialises a fixed word (a status, a reason, an event's type) as serde serialises an
/// enum's unit variant, so that [`Answers`] makes its JS string once and keeps it, as it
/// does for field names, rather than copying the word out of wasm memory every time.
pub(crate) fn word<S: serde::Serializer>(w: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_unit_variant("", 0, w)
}

/// [`word`] for an optional word (`None` as serde serialises it).
pub(crate) fn some_word<S: serde::Serializer>(
    w: &Option<&'static str>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match w {
        Some(w) => word(w, s),
        None => s.serialize_none(),
    }
}

/// Serialises an answer; `None` becomes `null` (not `undefined`).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    value.serialize(Answers(&serializer)).map_err(JsValue::from)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT: &'static str = include_str!("types.d.ts");
