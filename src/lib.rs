//! # edge-otp
//!
//! A one-time-code (OTP) engine: issue a short code for a user, check it later, with
//! expiry, attempt limits, a resend cooldown, an issue limit and a failure budget.
//! The same core runs natively and, through `src/wasm/`, as the npm package `edge-otp`
//! in Node.js, browsers and Cloudflare Workers.
//!
//! ## What it does not do
//!
//! The core ([`Engine`]) is deterministic and does no I/O: it never reads a clock, never
//! draws randomness and never calls a store. Every operation takes the stored record
//! (or none), `now` in milliseconds and, when it issues, 16 bytes of fresh entropy, and
//! returns its answer plus the record to write, or nothing to write. Delivering codes
//! (email, SMS) is the application's job.
//!
//! ## What is stored
//!
//! Never a code, not even hashed. A record holds a salt and an index; the code is the
//! index pushed through a keyed permutation whose key is derived from the app's secret,
//! the scope, the user and the salt (see the `code` module source). Reading the store
//! without the secret reveals no code, and since a permutation cannot repeat, no code
//! repeats for a user until the whole code space has been issued.
//!
//! ## Example
//!
//! ```
//! use edge_otp::{Config, Engine, Issue, Policy, Subject, Verdict};
//!
//! let engine = Engine::new(Policy::new(Config::new(b"app secret, 16 bytes or more".to_vec()))?);
//! let ada = Subject::new("login", "ada@example.com")?;
//! let now = 1_700_000_000_000; // the caller's clock, ms since the epoch
//!
//! // Issue: no record yet; the engine returns the code and the record to store.
//! let step = engine.create(&ada, None, now, [7; 16])?;
//! let Issue::Issued(otp) = step.answer else { unreachable!() };
//! let stored = step.write.expect("issuing writes");
//!
//! // Verify a minute later against the stored record.
//! let step = engine.verify(&ada, Some(&stored), otp.code.as_str(), now + 60_000)?;
//! assert_eq!(step.answer, Verdict::Verified);
//! let stored = step.write.expect("verifying marks the code used");
//!
//! // A used code never verifies again, and that answer writes nothing.
//! let step = engine.verify(&ada, Some(&stored), otp.code.as_str(), now + 61_000)?;
//! assert_eq!((step.answer, step.write), (Verdict::Used, None));
//! # Ok::<(), edge_otp::Error>(())
//! ```
//!
//! For a ready driver with a store, a clock and randomness, see `OtpManager`
//! (not on wasm, where the npm package is the driver).
//!
//! ## Authenticator apps
//!
//! The [`totp`] module is the same kind of core for authenticator-app codes (TOTP,
//! RFC 6238) with recovery codes: replay protection by the last accepted time step, the
//! failure budget, and seeds encrypted at rest, over the same one-record-per-user stores.
#![forbid(unsafe_code)]

extern crate alloc;

mod code;
mod engine;
mod error;
mod policy;
mod record;
mod time;
pub mod totp;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "binding", feature = "totp-binding")
))]
mod wasm;

pub use code::{Code, SaltPool, Token, ROUNDS, SALTS_PER_DRAW, SALT_LEN, TOKEN_LEN};
pub use engine::{
    check_scope, Answer, Engine, Event, Issue, IssueOptions, Limited, Op, OtpView, Outcome, Status,
    Step, Subject, Verdict, MAX_SCOPE_BYTES, MAX_USER_BYTES,
};
pub use error::{DecodeError, Error, ErrorCode};
pub use policy::{Config, Limit, Policy, MAX_RETENTION_SECONDS, MIN_RETENTION_SECONDS};
pub use record::{CodeState, Record, VERSION};
pub use time::{Millis, MAX_TIME, MS_PER_S};

#[cfg(not(target_arch = "wasm32"))]
pub use native::{ManagerError, MemoryStore, OtpManager, Store};

/// How often a driver re-reads the record and retries when compare-and-swap reports a
/// conflict, before giving up with a conflict error (the native [`OtpManager`] and the
/// npm package's storage driver).
pub const MAX_TRIES: usize = 16;

/// The drivers' settings besides the policy (the JS managers' `scope`, `keyPrefix` and
/// `timeoutMs` options; the native [`OtpManager`] uses the key prefix), defined here so
/// that the TypeScript docs and the messages are checked against them natively.
pub mod driver {
    /// Default `scope` of one-time-code managers.
    pub const DEFAULT_SCOPE: &str = "default";
    /// Default `scope` of TOTP managers (with the default key prefix, keys are
    /// `otp:totp:<user>`).
    pub const DEFAULT_TOTP_SCOPE: &str = "totp";
    /// Default `keyPrefix`: a user's key is `keyPrefix + scope + ":" + user`.
    pub const DEFAULT_KEY_PREFIX: &str = "otp:";
    /// Longest `keyPrefix`, in UTF-16 units.
    pub const MAX_KEY_PREFIX: u32 = 64;
    /// `INVALID_CONFIG` reason for a `keyPrefix` that is not a string or too long.
    pub const KEY_PREFIX_PROBLEM: &str = "must be a string of at most 64 characters";
    /// `INVALID_CONFIG` reason for an absent `secret` (an `OtpDurableObject` adds the env
    /// variable it reads the secret from).
    pub const SECRET_REQUIRED: &str = "is required: a string or a Uint8Array of 16 to 1024 bytes";
    /// `INVALID_CONFIG` reason for an `alphabet` option that is not a string or too long
    /// (what the JS options reader says before the policy checks).
    pub const ALPHABET_TEXT_PROBLEM: &str = "must be a string of 2 to 64 characters";
    /// `INVALID_CONFIG` reason for a `secret` that is neither a well-formed string nor a
    /// `Uint8Array`, or of the wrong length.
    pub const SECRET_PROBLEM: &str =
        "must be a well-formed string or a Uint8Array of 16 to 1024 bytes";
    /// Longest submitted code a driver reads (copies into wasm), in UTF-16 units. A
    /// longer string is still a guess, answered as a wrong one without being read (a
    /// right code buried in more than 240 separators included: no one types or pastes
    /// that).
    pub const MAX_SUBMITTED_UNITS: u32 = 256;
    /// Default `timeoutMs`: how long one storage call may take before the operation fails.
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
    /// Longest `timeoutMs`: one less than the largest delay `setTimeout` takes (2^31 - 1
    /// ms; a longer one fires at once), because a waiting operation's timer runs
    /// `timeoutMs + 1`.
    pub const MAX_TIMEOUT_MS: u64 = 2_147_483_646;
    const _: () = assert!(MAX_TIMEOUT_MS + 1 == (1 << 31) - 1);
    /// `INVALID_CONFIG` reason for a `timeoutMs` out of range.
    pub const TIMEOUT_PROBLEM: &str =
        "must be a whole number between 1 and 2147483646, or null for none";

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_messages_state_the_limits() {
            use crate::policy::{MAX_SECRET_BYTES, MIN_SECRET_BYTES};
            let secret = std::format!("{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes");
            assert!(SECRET_PROBLEM.contains(&secret));
            assert!(SECRET_REQUIRED.contains(&secret));
            let alphabet = std::format!("2 to {} characters", crate::policy::MAX_ALPHABET);
            assert!(ALPHABET_TEXT_PROBLEM.contains(&alphabet));
            let scope = std::format!("1 to {} characters", crate::MAX_SCOPE_BYTES);
            assert!(crate::engine::SCOPE_PROBLEM.contains(&scope));
            assert!(KEY_PREFIX_PROBLEM.contains(&std::format!("at most {MAX_KEY_PREFIX} ")));
            assert!(TIMEOUT_PROBLEM.contains(&std::format!("between 1 and {MAX_TIMEOUT_MS},")));
        }
    }
}

/// Whether `text` states `says` whole: followed by its end, a space or a comma, so that
/// "between 1 and 10" does not pass for "between 1 and 100" (the message tests).
#[cfg(test)]
pub(crate) fn states(text: &str, says: &str) -> bool {
    text.ends_with(says)
        || [" ", ","]
            .iter()
            .any(|end| text.contains(&(says.to_owned() + end)))
}

#[cfg(test)]
mod typescript_tests {
    //! The TypeScript declarations (src/wasm/types.d.ts, the binding's
    //! `typescript_custom_section`) state the defaults in their docs: they must be the
    //! core's.
    use crate::{Config, Verdict};

    const TS: &str = include_str!("wasm/types.d.ts");

    /// One verdict of each kind.
    const VERDICTS: [Verdict; 7] = [
        Verdict::Verified,
        Verdict::Invalid { attempts_left: 0 },
        Verdict::Expired,
        Verdict::Exhausted,
        Verdict::Used,
        Verdict::NoOtp,
        Verdict::LockedOut { retry_after_ms: 0 },
    ];

    #[test]
    fn the_typescript_docs_state_the_cores_defaults() {
        let c = Config::new(b"0123456789abcdef".to_vec());
        let issue = c.issue_limit.unwrap();
        let failure = c.failure_limit.unwrap();
        let claims = [
            ("ttlSeconds", c.ttl_seconds.to_string()),
            ("maxAttempts", c.max_attempts.to_string()),
            ("length", c.length.to_string()),
            ("alphabet", format!("\"{}\"", c.alphabet)),
            (
                "resendCooldownSeconds",
                c.resend_cooldown_seconds.to_string(),
            ),
            (
                "issueLimit",
                format!(
                    "{{ count: {}, windowSeconds: {} }}",
                    issue.count, issue.window_seconds
                ),
            ),
            (
                "failureLimit",
                format!(
                    "{{ count: {}, windowSeconds: {} }}",
                    failure.count, failure.window_seconds
                ),
            ),
        ]
        .map(|(option, default)| (option, format!("Default {default}.")));
        assert_docs_say(TS, claims);
    }

    /// The doc comment line above `option`'s first declaration (`  option?:` or
    /// `  option:`); panics when there is none.
    pub(crate) fn doc<'a>(ts: &'a str, option: &str) -> &'a str {
        let lines: std::vec::Vec<&str> = ts.lines().collect();
        let at = lines
            .iter()
            .position(|l| {
                l.contains(&format!("  {option}?:")) || l.contains(&format!("  {option}:"))
            })
            .unwrap_or_else(|| panic!("no declaration of {option} in the .d.ts"));
        lines[at.saturating_sub(1)]
    }

    /// Each option's [`doc`] line in `ts` says what its claim says.
    pub(crate) fn assert_docs_say<'a>(
        ts: &str,
        claims: impl IntoIterator<Item = (&'a str, String)>,
    ) {
        for (option, says) in claims {
            let line = doc(ts, option);
            assert!(line.contains(&says), "{option}: {line:?} lacks {says:?}");
        }
    }

    /// The READMEs state the drivers' numbers as they are.
    #[test]
    fn the_readmes_state_the_drivers_limits() {
        let security = include_str!("../SECURITY.md").replace('\n', " ");
        let conflict = format!("`CONFLICT` after {} lost swaps", crate::MAX_TRIES);
        assert!(security.contains(&conflict), "{conflict:?}");
        for readme in [
            include_str!("../README.md"),
            include_str!("../pkg/README.md"),
        ] {
            // as read, line breaks and all
            let flat = readme.replace('\n', " ");
            for says in [
                format!(
                    "A submitted code is read up to {} characters",
                    crate::driver::MAX_SUBMITTED_UNITS
                ),
                format!(
                    "retried (up to {} times, then `CONFLICT`)",
                    crate::MAX_TRIES
                ),
                format!("{} URL-safe", crate::TOKEN_LEN),
            ] {
                assert!(flat.contains(&says), "{says:?}");
            }
        }
    }

    /// The README's "Defaults, and why" table states the same defaults.
    #[test]
    fn the_readme_defaults_table_states_the_cores_defaults() {
        const README: &str = include_str!("../README.md");
        let c = Config::new(b"0123456789abcdef".to_vec());
        let default_of = |option: &str| {
            README
                .lines()
                .find(|l| l.starts_with(&format!("| `{option}` |")))
                .and_then(|l| l.split('|').nth(2))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no README row for {option}"))
        };
        let per_hour = |l: Option<crate::Limit>| {
            let l = l.unwrap();
            assert_eq!(l.window_seconds, 3600, "the table says per hour");
            format!("{} per hour", l.count)
        };
        assert_eq!(default_of("ttlSeconds"), c.ttl_seconds.to_string());
        assert_eq!(default_of("maxAttempts"), c.max_attempts.to_string());
        assert_eq!(
            default_of("length` / `alphabet"),
            format!("{} / digits", c.length)
        );
        assert_eq!(c.alphabet, "0123456789");
        assert_eq!(
            default_of("resendCooldownSeconds"),
            c.resend_cooldown_seconds.to_string()
        );
        assert_eq!(default_of("issueLimit"), per_hour(c.issue_limit));
        assert_eq!(default_of("failureLimit"), per_hour(c.failure_limit));
        let scope = format!("`\"{}\"`", crate::driver::DEFAULT_SCOPE);
        assert_eq!(default_of("scope"), scope);
        assert_eq!(
            default_of("timeoutMs"),
            crate::driver::DEFAULT_TIMEOUT_MS.to_string()
        );
    }

    #[test]
    fn the_typescript_docs_state_the_limits_and_the_drivers_defaults() {
        use crate::driver::*;
        use crate::policy::*;
        let claims = [
            (
                "secret",
                format!("{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"),
            ),
            ("ttlSeconds", format!("1..{MAX_WINDOW_SECONDS}.")),
            ("maxAttempts", format!("1..{MAX_ATTEMPTS}.")),
            ("length", format!("1..{MAX_LENGTH}.")),
            ("alphabet", format!("2..{MAX_ALPHABET} ")),
            ("scope", format!("{{1,{}}}", crate::MAX_SCOPE_BYTES)),
            ("scope", format!("Default \"{DEFAULT_SCOPE}\".")),
            ("keyPrefix", format!("At most {MAX_KEY_PREFIX} characters")),
            ("keyPrefix", format!("Default \"{DEFAULT_KEY_PREFIX}\".")),
            ("retentionSeconds", format!(">= {MIN_RETENTION_SECONDS} ")),
            ("timeoutMs", format!("1 to {MAX_TIMEOUT_MS}, null")),
            ("timeoutMs", format!("Default {DEFAULT_TIMEOUT_MS}.")),
            ("token", format!("({} URL-safe", crate::TOKEN_LEN)),
        ];
        assert_docs_say(TS, claims);
    }

    #[test]
    fn the_typescript_event_union_is_exactly_the_kinds_the_core_names() {
        use crate::{Answer, Engine, Event, Issue, Limited, Op, Policy, Subject};
        use std::collections::BTreeSet;
        let union = union(TS, "OtpEventType");
        let engine = Engine::new(Policy::new(Config::new(b"0123456789abcdef".to_vec())).unwrap());
        let subject = Subject::new("login", "ada").unwrap();
        let issued = engine
            .apply(Op::Create, &subject, None, 1_700_000_000_000, [7; 16])
            .unwrap()
            .answer;
        let mut answers = std::vec![
            (Op::Create, issued),
            (
                Op::Create,
                Answer::Issue(Issue::RateLimited {
                    retry_after_ms: 1,
                    reason: Limited::Cooldown,
                }),
            ),
            (
                Op::Generate,
                Answer::Issue(Issue::ActiveOtpExists { expires_at: 1 }),
            ),
            (Op::ResetAttempts, Answer::Flag(true)),
            (Op::Invalidate, Answer::Flag(true)),
        ];
        for v in VERDICTS {
            answers.push((Op::Verify("0"), Answer::Verdict(v)));
        }
        let mut kinds: BTreeSet<&str> = answers
            .iter()
            .filter_map(|(op, a)| a.event(op, true, 0))
            .map(|e| e.kind)
            .collect();
        kinds.extend(Event::forget(true, 0).map(|e| e.kind));
        assert_eq!(union, kinds);
    }

    #[test]
    fn the_typescript_unions_are_exactly_the_cores_reasons_and_statuses() {
        use crate::{Limited, Status};
        // A new variant stops these matches compiling: a reminder to add it to the list.
        let reasons = VERDICTS.map(|v| {
            match v {
                Verdict::Verified
                | Verdict::Invalid { .. }
                | Verdict::Expired
                | Verdict::Exhausted
                | Verdict::Used
                | Verdict::NoOtp
                | Verdict::LockedOut { .. } => {}
            }
            v.reason()
        });
        assert_eq!(union(TS, "VerdictReason"), reasons.into());
        let statuses = [
            Status::Active,
            Status::Expired,
            Status::Exhausted,
            Status::Used,
            Status::Superseded,
        ]
        .map(|s| {
            match s {
                Status::Active
                | Status::Expired
                | Status::Exhausted
                | Status::Used
                | Status::Superseded => {}
            }
            s.as_str()
        });
        assert_eq!(union(TS, "OtpStatus"), statuses.into());
        let limited = [Limited::Cooldown, Limited::IssueLimit, Limited::LockedOut].map(|l| {
            match l {
                Limited::Cooldown | Limited::IssueLimit | Limited::LockedOut => {}
            }
            l.as_str()
        });
        assert_eq!(union(TS, "RateLimitReason"), limited.into());
    }

    /// The members of the string-literal union `name` in `ts` (`export type X = | "a" | "b";`,
    /// over several lines, with `//` comments).
    pub(crate) fn union<'a>(ts: &'a str, name: &str) -> std::collections::BTreeSet<&'a str> {
        let rest = ts
            .split(&format!("export type {name} ="))
            .nth(1)
            .unwrap_or_else(|| panic!("{name} in the .d.ts"));
        rest.lines()
            // comments left out, up to the `;` that ends the type
            .map(|l| l.split("//").next().unwrap_or_default())
            .scan(false, |ended, l| {
                let was = *ended;
                *ended |= l.contains(';');
                (!was).then(|| l.split(';').next().unwrap_or_default())
            })
            .flat_map(|l| l.split('|'))
            .map(|k| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty())
            .collect()
    }

    #[test]
    fn the_typescript_error_codes_are_exactly_the_codes_rust_defines() {
        use crate::ErrorCode;
        let codes: std::collections::BTreeSet<&str> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(union(TS, "OtpErrorCode"), codes);
        // edge-otp/totp's own codes: the TOTP ones of that list.
        let totp = union(include_str!("wasm/types-totp.d.ts"), "TotpErrorCode");
        let totp_codes =
            [ErrorCode::AlreadyEnrolled, ErrorCode::NotEnrolled].map(ErrorCode::as_str);
        assert_eq!(totp, totp_codes.into_iter().collect());
        // The core's errors are among them.
        for e in [
            crate::Error::EntropyUnavailable,
            crate::Error::CorruptRecord(crate::DecodeError::Syntax),
        ] {
            assert!(codes.contains(e.code()), "{}", e.code());
        }
    }
}
