//! The answers JS receives, as serde types over the core's, serialised by
//! serde-wasm-bindgen; and their TypeScript declarations (one custom section, written
//! next to the types it describes).

use crate::engine::{OtpView, Verdict};
use crate::policy::{Limit, Policy};
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
    resend_available_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

impl<'a> Otp<'a> {
    pub(crate) fn new(v: &'a OtpView, with_status: bool) -> Otp<'a> {
        Otp {
            code: v.code.as_str(),
            created_at: v.created_at as f64,
            expires_at: v.expires_at as f64,
            attempts: v.attempts,
            max_attempts: v.max_attempts,
            resend_available_at: v.resend_available_at as f64,
            status: with_status.then(|| v.status.as_str()),
        }
    }
}

/// The structured verdict of `check`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerdictJs {
    ok: bool,
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LimitJs {
    count: u32,
    window_seconds: f64,
}

fn limit(l: Option<Limit>) -> Option<LimitJs> {
    l.map(|l| LimitJs {
        count: l.count,
        window_seconds: l.window_seconds as f64,
    })
}

/// The effective settings of a manager (`otp.policy`): every option with its value,
/// defaults filled in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyJs<'a> {
    scope: &'a str,
    key_prefix: &'a str,
    ttl_seconds: f64,
    max_attempts: u32,
    length: usize,
    alphabet: &'a str,
    code_space: f64,
    resend_cooldown_seconds: f64,
    issue_limit: Option<LimitJs>,
    failure_limit: Option<LimitJs>,
    retention_seconds: Option<f64>,
    timeout_ms: Option<f64>,
}

impl<'a> PolicyJs<'a> {
    pub(crate) fn new(
        p: &'a Policy,
        scope: &'a str,
        key_prefix: &'a str,
        retention_seconds: Option<u64>,
        timeout_ms: Option<u64>,
    ) -> PolicyJs<'a> {
        PolicyJs {
            scope,
            key_prefix,
            ttl_seconds: (p.ttl_ms() / 1000) as f64,
            max_attempts: p.max_attempts(),
            length: p.length(),
            alphabet: p.alphabet(),
            code_space: p.code_space() as f64,
            resend_cooldown_seconds: (p.resend_cooldown_ms() / 1000) as f64,
            issue_limit: limit(p.issue_limit()),
            failure_limit: limit(p.failure_limit()),
            retention_seconds: retention_seconds.map(|s| s as f64),
            timeout_ms: timeout_ms.map(|t| t as f64),
        }
    }
}

/// Serialises an answer; `None` becomes `null` (not `undefined`).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true))
        .map_err(JsValue::from)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPESCRIPT: &'static str = include_str!("types.d.ts");
