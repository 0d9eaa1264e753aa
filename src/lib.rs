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
pub use error::{DecodeError, Error};
pub use policy::{Config, Limit, Policy, MAX_RETENTION_SECONDS, MIN_RETENTION_SECONDS};
pub use record::{CodeState, Record, VERSION};
pub use time::{Millis, MAX_TIME, MS_PER_S};

#[cfg(not(target_arch = "wasm32"))]
pub use native::{ManagerError, MemoryStore, OtpManager, Store};

/// How often a driver re-reads the record and retries when compare-and-swap reports a
/// conflict, before giving up with a conflict error (the native [`OtpManager`] and the
/// npm package's storage driver).
pub const MAX_TRIES: usize = 16;

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
        for (option, default) in [
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
        ] {
            let line = TS
                .lines()
                .take_while(|l| !l.contains(&format!("  {option}?:")))
                .last()
                .unwrap_or_default();
            assert!(
                line.contains(&format!("Default {default}.")),
                "{option}: {line}"
            );
        }
    }

    #[test]
    fn the_typescript_event_union_is_exactly_the_kinds_the_core_names() {
        use crate::{Answer, Engine, Event, Issue, Limited, Op, Policy, Subject};
        use std::collections::BTreeSet;
        let union: BTreeSet<&str> = TS
            .split("export type OtpEventType =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("OtpEventType in types.d.ts")
            .split('|')
            .map(|k| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty())
            .collect();
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
    fn the_typescript_unions_list_every_reason_and_status() {
        use crate::Status;
        for v in VERDICTS {
            assert!(
                TS.contains(&format!("\"{}\"", v.reason())),
                "{}",
                v.reason()
            );
        }
        for s in [
            Status::Active,
            Status::Expired,
            Status::Exhausted,
            Status::Used,
            Status::Superseded,
        ] {
            assert!(
                TS.contains(&format!("\"{}\"", s.as_str())),
                "{}",
                s.as_str()
            );
        }
        for e in [
            "INVALID_CONFIG",
            "INVALID_ARGUMENT",
            "CORRUPT_RECORD",
            "ENTROPY",
        ] {
            assert!(TS.contains(&format!("\"{e}\"")), "{e}");
        }
    }
}
