//! Reads the JS options object of `new OtpManager(storage, options)` into the core's
//! [`Config`] plus the driver's settings. The only place options are validated.
//!
//! Guards (checked by tests/js/hostile.test.mjs): only the object's own enumerable keys
//! are read (a polluted `Object.prototype` changes nothing), an unknown key is refused,
//! `null` is never "the default" for a number, and no string longer than its limit is
//! copied into wasm memory (lengths are read from the JS string first). A getter that
//! throws hands its own error back.
//!
//! The readers used several times are `#[inline(never)]`: the options are read once per
//! engine, and at the crate's opt-level 2 each call site got its own copy (715 B of wasm,
//! 72 B gzip, session 7). The readers of the options both managers take (`read_scope`,
//! `read_key_prefix`, `read_timeout_ms`, `read_clock`) have one call site per module and
//! are `#[inline(always)]`: as calls, the Worker bundle measured 60 to 130 B gzip bigger.

use super::errors::config;
use crate::driver::{
    ALPHABET_TEXT_PROBLEM, DEFAULT_KEY_PREFIX, DEFAULT_SCOPE, DEFAULT_TIMEOUT_MS,
    KEY_PREFIX_PROBLEM, MAX_KEY_PREFIX, MAX_TIMEOUT_MS, SECRET_PROBLEM, SECRET_REQUIRED,
    TIMEOUT_PROBLEM,
};
use crate::policy::{Config, Limit, Policy, MAX_ALPHABET, MAX_SECRET_BYTES};
use crate::{MAX_SCOPE_BYTES, MAX_TIME};
use js_sys::{Array, Function, JsString, Object, Reflect, Uint8Array};
use std::string::String;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use zeroize::Zeroizing;

/// Declares the names of an options object's keys, as JS spells them, once: `$keys`, their
/// array (what [`own_values`] reads), and `$key`, an enum whose variant `as usize` is a
/// name's index in it. A reader keeps [`own_values`]' array and takes each value out
/// where it uses it (`values[Name::TtlSeconds as usize].take()`): destructured into one
/// local per value up front, every early return (each `?`) dropped each value still held
/// on its own, 480 B of wasm in the manager's options reader.
macro_rules! option_names {
    ($vis:vis $keys:ident, $key:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        #[derive(Clone, Copy)]
        $vis enum $key {
            $($variant),*
        }
        $vis const $keys: [&str; [$($name),*].len()] = [$($name),*];
        impl $key {
            /// The key as JS spells it (what an error's `field` names).
            #[inline(always)]
            $vis const fn key(self) -> &'static str {
                $keys[self as usize]
            }
        }
    };
}
#[cfg(feature = "totp-binding")]
pub(super) use option_names;

/// Declares the keys a call's options object may have, once: `$keys`, their array, and
/// `$unknown`, the problem for any other key ("unknown key (only a, b and c)"); with
/// `$not_object`, also the problem for options that are not an object ("must be an
/// object { a, b, c } or undefined").
macro_rules! call_keys {
    ($vis:vis $keys:ident, $unknown:ident = [$($name:literal),+ $(,)?]) => {
        $vis const $keys: [&str; [$($name),+].len()] = [$($name),+];
        $vis const $unknown: &str =
            concat!("unknown key (only ", call_keys!(@words $($name),+), ")");
    };
    ($vis:vis $keys:ident, $unknown:ident, $not_object:ident = [$($name:literal),+ $(,)?]) => {
        call_keys!($vis $keys, $unknown = [$($name),+]);
        $vis const $not_object: &str =
            concat!("must be an object { ", call_keys!(@commas $($name),+), " } or undefined");
    };
    (@words $a:literal) => { $a };
    (@words $a:literal, $b:literal) => { concat!($a, " and ", $b) };
    (@words $a:literal, $($rest:literal),+) => { concat!($a, ", ", call_keys!(@words $($rest),+)) };
    (@commas $a:literal) => { $a };
    (@commas $a:literal, $($rest:literal),+) => { concat!($a, ", ", call_keys!(@commas $($rest),+)) };
}
pub(super) use call_keys;

option_names!(pub(super) KEYS, Name {
    Secret = "secret",
    TtlSeconds = "ttlSeconds",
    MaxAttempts = "maxAttempts",
    Length = "length",
    Alphabet = "alphabet",
    Scope = "scope",
    KeyPrefix = "keyPrefix",
    ResendCooldownSeconds = "resendCooldownSeconds",
    IssueLimit = "issueLimit",
    FailureLimit = "failureLimit",
    RetentionSeconds = "retentionSeconds",
    Now = "now",
    TimeoutMs = "timeoutMs",
    OnEvent = "onEvent",
    OnEventError = "onEventError",
    NormalizeUser = "normalizeUser",
});

/// Everything the options say: the core policy and what the JS driver needs.
pub(crate) struct Options {
    pub policy: Policy,
    pub scope: String,
    pub key_prefix: String,
    pub retention_seconds: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub clock: Option<Function>,
    pub on_event: Option<Function>,
    pub on_event_error: Option<Function>,
    /// A function, or the name of a built-in normaliser (`"email"`).
    pub normalize_user: Option<JsValue>,
}

/// The built-in user normaliser that `normalizeUser` names, if `name` is one: `"email"`
/// applies Unicode NFKC, trims and lower-cases (with the JS engine's own Unicode tables,
/// so the wasm carries none).
pub(crate) fn normalizer(name: &str) -> Option<fn(&JsString) -> JsString> {
    match name {
        // NFKC before the trim: NFKC can turn a character into a space and a combining
        // mark ("\u{a8}" is " \u{308}"), and a trim after it keeps the normaliser
        // idempotent (a client and its Durable Object both apply it).
        "email" => Some(|s| s.normalize("NFKC").trim().to_lower_case()),
        _ => None,
    }
}

#[inline(never)]
fn function(
    v: Option<JsValue>,
    field: &'static str,
    problem: &'static str,
) -> Result<Option<Function>> {
    match v {
        None => Ok(None),
        Some(v) => v
            .dyn_into::<Function>()
            .map(Some)
            .map_err(|_| config(field, problem)),
    }
}

type Result<T> = core::result::Result<T, JsValue>;

// `Array.isArray` and `Object.keys` throw for a Proxy whose traps throw (a revoked one
// throws on every trap). js-sys declares them as not throwing, and a JS exception that
// unwinds through a wasm method leaves its engine borrowed for good ("recursive use of
// an object"), for every manager sharing it. Declared here with `catch`, the error is
// handed back instead, as a throwing getter's is.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array(v: &JsValue) -> Result<bool>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(v: &JsValue) -> Result<Array>;
    // `new Uint8Array(v)`. For a real typed array the copy is made from its internal
    // slots, so no app code runs (a subclass's `length` getter is not called); anything
    // else is read as an array-like, through its getters, whose throw is handed back.
    #[wasm_bindgen(js_name = Uint8Array)]
    type SecretCopy;
    #[wasm_bindgen(catch, constructor, js_class = "Uint8Array")]
    fn of(v: &Uint8Array) -> Result<SecretCopy>;
}

/// The JS `typeof v === "object"` (so not a function), not null, not an array (or what a
/// Proxy's trap threw).
pub(super) fn is_record(v: &JsValue) -> Result<bool> {
    Ok(v.is_object() && !is_array(v)?)
}

/// Own enumerable keys of `obj`, each checked against `allowed`; the values of the
/// allowed ones that are present and not `undefined`, in `allowed`'s order. An unknown
/// key is `INVALID_CONFIG` for `field`, with `unknown` as the reason.
pub(super) fn own_values<const N: usize>(
    obj: &JsValue,
    allowed: &[&'static str; N],
    field: &'static str,
    unknown: &'static str,
) -> Result<[Option<JsValue>; N]> {
    own_keys(obj, allowed, true, field, unknown)
}

/// An operation's per-call options as the app passed them, read once, before any
/// storage call: a copy (null prototype, one data property per key present) that the
/// operation then reads with [`call_options`], so that the app's getters and Proxy traps
/// run once per call, not again in the operation nor on a compare-and-swap retry. `null`
/// for `undefined` (none); not an object is `INVALID_ARGUMENT` with `not_object`, an
/// unknown key `INVALID_ARGUMENT` for `options` with `unknown`.
#[inline(never)]
pub(super) fn copy(
    v: &JsValue,
    allowed: &[&'static str],
    not_object: &'static str,
    unknown: &'static str,
) -> Result<JsValue> {
    if v.is_undefined() {
        return Ok(JsValue::NULL);
    }
    if !is_record(v)? {
        return Err(super::errors::argument("options", not_object));
    }
    // Room for the longest list of per-call options (enroll's four); a longer `allowed`
    // would leave its last keys unknown.
    let mut values: [Option<JsValue>; 4] = Default::default();
    debug_assert!(allowed.len() <= values.len(), "copy: too many allowed keys");
    own_keys_into(v, allowed, false, "options", unknown, &mut values)?;
    // No prototype: an inherited setter (a polluted Object.prototype) cannot take a key.
    let copy: Object = Object::create(JsValue::NULL.unchecked_ref());
    for (key, value) in allowed.iter().zip(values) {
        if let Some(value) = value {
            Reflect::set(&copy, &JsValue::from_str(key), &value)?;
        }
    }
    Ok(copy.into())
}

/// The values of a [`copy`] of per-call options, in `allowed`'s order (`null`: none).
/// Anything else is read with the same guards (own keys only, unknown keys refused).
pub(super) fn call_options<const N: usize>(
    v: &JsValue,
    allowed: &[&'static str; N],
    unknown: &'static str,
) -> Result<[Option<JsValue>; N]> {
    if v.is_null() || v.is_undefined() {
        return Ok(core::array::from_fn(|_| None));
    }
    if !is_record(v)? {
        return Err(super::errors::argument("options", "must be an object"));
    }
    own_keys(v, allowed, false, "options", unknown)
}

fn own_keys<const N: usize>(
    obj: &JsValue,
    allowed: &[&'static str; N],
    config: bool,
    name: &'static str,
    unknown: &'static str,
) -> Result<[Option<JsValue>; N]> {
    let mut out: [Option<JsValue>; N] = core::array::from_fn(|_| None);
    own_keys_into(obj, allowed, config, name, unknown, &mut out)?;
    Ok(out)
}

/// [`own_keys`]'s body, for any number of keys (one copy in the module): `out[i]` gets
/// the value of `allowed[i]` (`out` is as long as `allowed`).
#[inline(never)]
fn own_keys_into(
    obj: &JsValue,
    allowed: &[&'static str],
    config: bool,
    name: &'static str,
    unknown: &'static str,
    out: &mut [Option<JsValue>],
) -> Result<()> {
    let obj: &Object = obj.unchecked_ref();
    for key in object_keys(obj)?.iter() {
        let key_name: &JsString = key.unchecked_ref();
        // A key longer than every option name is unknown; it is not copied.
        let slot = (key_name.length() <= 32)
            .then(|| key_name.as_string())
            .flatten()
            .and_then(|k| allowed.iter().position(|a| *a == k))
            .and_then(|i| out.get_mut(i));
        let Some(slot) = slot else {
            return Err(super::errors::unknown_key(config, name, unknown, key_name));
        };
        let v = Reflect::get(obj, &key)?;
        if !v.is_undefined() {
            *slot = Some(v);
        }
    }
    Ok(())
}

/// What [`whole`] answers for a JS number that is not a whole number of `0..=MAX_TIME`:
/// outside every option's range, so the range check each caller makes next reports the
/// field's own rule ("must be a whole number between 1 and 2592000") for NaN, 1.5 or -1
/// as for 0.
const NOT_WHOLE: u64 = u64::MAX;

/// A JS number as a whole number for `field`'s range check ([`NOT_WHOLE`] when it is not
/// one). Anything but a number (`null`, strings, BigInts) is `INVALID_CONFIG` here.
#[inline(never)]
pub(super) fn whole(v: &JsValue, field: &'static str) -> Result<u64> {
    let n = v
        .as_f64()
        .ok_or_else(|| config(field, "must be a number"))?;
    if !(n.is_finite() && n >= 0.0 && n <= MAX_TIME as f64 && n.fract() == 0.0) {
        return Ok(NOT_WHOLE);
    }
    Ok(n as u64)
}

/// A string of at most `max` UTF-16 units, well-formed; copied only when short enough.
/// `INVALID_CONFIG` for `field`: `problem` when it is not a string or too long;
/// [`super::NOT_WELL_FORMED`] when it has a lone surrogate.
#[inline(never)]
pub(super) fn short_string(
    v: &JsValue,
    max: u32,
    field: &'static str,
    problem: &'static str,
) -> Result<String> {
    short_text(v, max, field, problem, config)
}

/// [`short_string`] with the error `refuse(name, problem)` makes (`errors::argument` for
/// a per-call argument, as TOTP enroll's label and secret).
#[inline(never)]
pub(super) fn short_text(
    v: &JsValue,
    max: u32,
    name: &'static str,
    problem: &'static str,
    refuse: fn(&'static str, &'static str) -> JsValue,
) -> Result<String> {
    match v.dyn_ref::<JsString>() {
        Some(s) if s.length() <= max => {
            if !super::well_formed(s) {
                return Err(refuse(name, super::NOT_WELL_FORMED));
            }
            s.as_string().ok_or_else(|| refuse(name, problem))
        }
        _ => Err(refuse(name, problem)),
    }
}

/// The `secret` option of both managers.
#[inline(never)]
pub(super) fn secret(
    v: Option<JsValue>,
    field: &'static str,
) -> Result<Zeroizing<std::vec::Vec<u8>>> {
    let problem = SECRET_PROBLEM;
    let v = v.ok_or_else(|| config(field, SECRET_REQUIRED))?;
    if let Some(bytes) = v.dyn_ref::<Uint8Array>() {
        // `instanceof` also holds for a Proxy of one, whose traps would run (and throw,
        // or answer a length of 10^9): only a real view is read, and only its copy.
        if !js_sys::ArrayBuffer::is_view(&v) {
            return Err(config(field, problem));
        }
        // A detached buffer (or one shrunk under the view) cannot be copied: no secret.
        let copy: Uint8Array = SecretCopy::of(bytes)
            .map_err(|_| config(field, problem))?
            .unchecked_into();
        if copy.length() as usize > MAX_SECRET_BYTES {
            return Err(config(field, problem));
        }
        return Ok(Zeroizing::new(copy.to_vec()));
    }
    // Units <= bytes, so a string over the limit in units is over it in bytes.
    let text = Zeroizing::new(short_string(&v, MAX_SECRET_BYTES as u32, field, problem)?);
    Ok(Zeroizing::new(text.as_bytes().to_vec()))
}

pub(super) fn limit(
    v: Option<JsValue>,
    default: Option<Limit>,
    field: &'static str,
) -> Result<Option<Limit>> {
    let Some(v) = v else { return Ok(default) };
    if v.is_null() {
        return Ok(None);
    }
    if !is_record(&v)? {
        return Err(config(field, "must be { count, windowSeconds } or null"));
    }
    call_keys!(LIMIT_KEYS, LIMIT_UNKNOWN = ["count", "windowSeconds"]);
    let [count, window] = own_values(&v, &LIMIT_KEYS, field, LIMIT_UNKNOWN)?;
    let need = |v: Option<JsValue>| {
        v.ok_or_else(|| config(field, "needs both count and windowSeconds"))
            .and_then(|v| whole(&v, field))
    };
    Ok(Some(Limit {
        count: u32::try_from(need(count)?).unwrap_or(u32::MAX),
        window_seconds: need(window)?,
    }))
}

/// The `scope` option (both managers'): 1 to 32 characters of `A-Z a-z 0-9 _ -`;
/// `default` when absent.
#[inline(always)]
pub(super) fn read_scope(v: Option<JsValue>, field: &'static str, default: &str) -> Result<String> {
    let problem = crate::engine::SCOPE_PROBLEM;
    let scope = match v {
        None => default.into(),
        Some(v) => short_string(&v, MAX_SCOPE_BYTES as u32, field, problem)?,
    };
    crate::check_scope(&scope).map_err(|_| config(field, problem))?;
    Ok(scope)
}

/// The `keyPrefix` option (both managers'): at most 64 characters; `"otp:"` when absent.
#[inline(always)]
pub(super) fn read_key_prefix(v: Option<JsValue>, field: &'static str) -> Result<String> {
    match v {
        None => Ok(DEFAULT_KEY_PREFIX.into()),
        Some(v) => short_string(&v, MAX_KEY_PREFIX, field, KEY_PREFIX_PROBLEM),
    }
}

/// The `timeoutMs` option (both managers'): `1..=MAX_TIMEOUT_MS`, [`DEFAULT_TIMEOUT_MS`]
/// when absent, `null` for none.
#[inline(always)]
pub(super) fn read_timeout_ms(v: Option<JsValue>, field: &'static str) -> Result<Option<u64>> {
    match v {
        None => Ok(Some(DEFAULT_TIMEOUT_MS)),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => match whole(&v, field)? {
            t @ 1..=MAX_TIMEOUT_MS => Ok(Some(t)),
            _ => Err(config(field, TIMEOUT_PROBLEM)),
        },
    }
}

/// The `now` option (both managers'): a function answering milliseconds since the epoch.
#[inline(always)]
pub(super) fn read_clock(v: Option<JsValue>, field: &'static str) -> Result<Option<Function>> {
    match v {
        None => Ok(None),
        Some(v) => Ok(Some(v.dyn_into::<Function>().map_err(|_| {
            config(
                field,
                "must be a function returning milliseconds since the epoch",
            )
        })?)),
    }
}

/// Reads and validates every option.
pub(crate) fn read(options: &JsValue) -> Result<Options> {
    if !is_record(options)? {
        return Err(config(
            "options",
            "must be an object with at least a secret",
        ));
    }
    let mut values = own_values(
        options,
        &KEYS,
        "options",
        "unknown key (options are camelCase: ttlSeconds, maxAttempts, ...)",
    )?;
    let mut take = |name: Name| values[name as usize].take();

    let mut c = Config::new(std::vec::Vec::new());
    c.secret = secret(take(Name::Secret), Name::Secret.key())?;
    if let Some(v) = take(Name::TtlSeconds) {
        c.ttl_seconds = whole(&v, Name::TtlSeconds.key())?;
    }
    if let Some(v) = take(Name::MaxAttempts) {
        c.max_attempts = u32::try_from(whole(&v, Name::MaxAttempts.key())?).unwrap_or(u32::MAX);
    }
    if let Some(v) = take(Name::Length) {
        c.length = usize::try_from(whole(&v, Name::Length.key())?).unwrap_or(usize::MAX);
    }
    if let Some(v) = take(Name::Alphabet) {
        c.alphabet = short_string(
            &v,
            MAX_ALPHABET as u32,
            Name::Alphabet.key(),
            ALPHABET_TEXT_PROBLEM,
        )?;
    }
    if let Some(v) = take(Name::ResendCooldownSeconds) {
        c.resend_cooldown_seconds = whole(&v, Name::ResendCooldownSeconds.key())?;
    }
    c.issue_limit = limit(
        take(Name::IssueLimit),
        c.issue_limit,
        Name::IssueLimit.key(),
    )?;
    c.failure_limit = limit(
        take(Name::FailureLimit),
        c.failure_limit,
        Name::FailureLimit.key(),
    )?;
    let policy = Policy::new(c).map_err(|e| super::errors::from_core(&e))?;

    let scope = read_scope(take(Name::Scope), Name::Scope.key(), DEFAULT_SCOPE)?;
    let key_prefix = read_key_prefix(take(Name::KeyPrefix), Name::KeyPrefix.key())?;
    let retention_seconds = match take(Name::RetentionSeconds) {
        Some(v) if !v.is_null() => Some(
            policy
                .check_retention(whole(&v, Name::RetentionSeconds.key())?)
                .map_err(|e| super::errors::from_core(&e))?,
        ),
        _ => None,
    };
    let timeout_ms = read_timeout_ms(take(Name::TimeoutMs), Name::TimeoutMs.key())?;
    let clock = read_clock(take(Name::Now), Name::Now.key())?;
    let on_event = function(
        take(Name::OnEvent),
        Name::OnEvent.key(),
        "must be a function taking the event",
    )?;
    let on_event_error = function(
        take(Name::OnEventError),
        Name::OnEventError.key(),
        "must be a function taking (error, event)",
    )?;
    let normalize_user = match take(Name::NormalizeUser) {
        None => None,
        Some(v) if v.is_function() => Some(v),
        Some(v) => {
            let known = v
                .dyn_ref::<JsString>()
                .filter(|s| s.length() <= 16)
                .and_then(|s| s.as_string())
                .is_some_and(|s| normalizer(&s).is_some());
            if !known {
                return Err(config(
                    Name::NormalizeUser.key(),
                    "must be a function (user) => string, or \"email\"",
                ));
            }
            Some(v)
        }
    };
    Ok(Options {
        policy,
        scope,
        key_prefix,
        retention_seconds,
        timeout_ms,
        clock,
        on_event,
        on_event_error,
        normalize_user,
    })
}
