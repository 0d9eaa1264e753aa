//! Policy: the validated settings that every operation runs under.

use crate::error::Error;
use crate::time::{Millis, MS_PER_S};
use alloc::string::String;
use alloc::vec::Vec;
use zeroize::Zeroizing;

/// Longest code lifetime and longest rate-limit window: 30 days.
pub const MAX_WINDOW_SECONDS: u64 = 30 * 24 * 3600;
/// Largest `maxAttempts`.
pub const MAX_ATTEMPTS: u32 = 1000;
/// Longest code.
pub const MAX_LENGTH: usize = 10;
/// Largest alphabet.
pub const MAX_ALPHABET: usize = 64;
/// Largest count of a rate limit.
pub const MAX_LIMIT_COUNT: u32 = 1_000_000;
/// Shortest secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;
/// Longest secret, in bytes (a longer one is a mistake, not more security).
pub const MAX_SECRET_BYTES: usize = 1024;

/// Shortest retention a driver may ask a store for, in seconds.
pub const MIN_RETENTION_SECONDS: u64 = 60;
/// Longest retention, in seconds (10 years).
pub const MAX_RETENTION_SECONDS: u64 = 315_360_000;

/// "At most `count` events per `window_seconds`", counted in a fixed window that opens
/// at the first event after the previous window closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Events allowed per window, `1..=1_000_000`.
    pub count: u32,
    /// Window length in seconds, `1..=2_592_000` (30 days).
    pub window_seconds: u64,
}

/// The unvalidated settings. Every field has the documented default except the secret.
///
/// ```
/// use edge_otp::{Config, Policy};
/// let mut config = Config::new(b"an app secret of 16+ bytes".to_vec());
/// config.length = 6;
/// let policy = Policy::new(config).unwrap();
/// assert_eq!(policy.code_space(), 1_000_000);
/// ```
#[derive(Clone)]
pub struct Config {
    /// The app's secret, at least 16 bytes. Codes are derived from it; without it the
    /// stored records reveal nothing.
    pub secret: Zeroizing<Vec<u8>>,
    /// Code lifetime in seconds, `1..=2_592_000`. Default 3600.
    pub ttl_seconds: u64,
    /// Wrong guesses allowed per code, `1..=1000`. Default 3.
    pub max_attempts: u32,
    /// Code length in characters, `1..=10`. Default 4.
    pub length: usize,
    /// The characters codes are drawn from: 2 to 64 distinct printable ASCII
    /// characters, no space and no hyphen. Default `"0123456789"`.
    pub alphabet: String,
    /// Seconds before another code may be issued while the previous one is unused,
    /// `0..=2_592_000`, 0 = off. Default 30.
    pub resend_cooldown_seconds: u64,
    /// Codes issued per user and scope per window, `None` = unlimited. Default 5 per 3600 s.
    pub issue_limit: Option<Limit>,
    /// Failed verifications per user and scope per window, across all codes; when spent,
    /// verification answers locked-out and issuance is refused. `None` = off.
    /// Default 10 per 3600 s.
    pub failure_limit: Option<Limit>,
}

impl Config {
    /// The defaults, with the given secret.
    pub fn new(secret: Vec<u8>) -> Self {
        Config {
            secret: Zeroizing::new(secret),
            ttl_seconds: 3600,
            max_attempts: 3,
            length: 4,
            alphabet: "0123456789".into(),
            resend_cooldown_seconds: 30,
            issue_limit: Some(Limit {
                count: 5,
                window_seconds: 3600,
            }),
            failure_limit: Some(Limit {
                count: 10,
                window_seconds: 3600,
            }),
        }
    }
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("secret", &"<redacted>")
            .field("ttl_seconds", &self.ttl_seconds)
            .field("max_attempts", &self.max_attempts)
            .field("length", &self.length)
            .field("alphabet", &self.alphabet)
            .field("resend_cooldown_seconds", &self.resend_cooldown_seconds)
            .field("issue_limit", &self.issue_limit)
            .field("failure_limit", &self.failure_limit)
            .finish()
    }
}

/// A limit in milliseconds, as the operations use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowLimit {
    pub count: u32,
    pub window: Millis,
}

impl WindowLimit {
    fn to_limit(self) -> Limit {
        Limit {
            count: self.count,
            window_seconds: self.window / MS_PER_S,
        }
    }
}

/// Validated settings. Built only by [`Policy::new`], so every `Policy` is in range.
#[derive(Clone)]
pub struct Policy {
    pub(crate) secret: Zeroizing<Vec<u8>>,
    pub(crate) ttl: Millis,
    pub(crate) max_attempts: u32,
    pub(crate) length: usize,
    pub(crate) alphabet: Vec<u8>,
    /// `Some(true)`: letters are upper case only, fold input to upper; `Some(false)`:
    /// lower case only; `None`: no letters or both cases, input is taken as it is.
    pub(crate) fold_upper: Option<bool>,
    pub(crate) cooldown: Millis,
    pub(crate) issue_limit: Option<WindowLimit>,
    pub(crate) failure_limit: Option<WindowLimit>,
    pub(crate) space: u64,
}

impl core::fmt::Debug for Policy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Policy")
            .field("ttl_ms", &self.ttl)
            .field("max_attempts", &self.max_attempts)
            .field("length", &self.length)
            .field("code_space", &self.space)
            .finish_non_exhaustive()
    }
}

fn bad(field: &'static str, problem: &'static str) -> Error {
    Error::InvalidConfig { field, problem }
}

pub(crate) fn limit(l: Option<Limit>, field: &'static str) -> Result<Option<WindowLimit>, Error> {
    let Some(l) = l else { return Ok(None) };
    if !(1..=MAX_LIMIT_COUNT).contains(&l.count) {
        return Err(bad(
            field,
            "count must be a whole number between 1 and 1000000",
        ));
    }
    if !(1..=MAX_WINDOW_SECONDS).contains(&l.window_seconds) {
        return Err(bad(
            field,
            "windowSeconds must be a whole number between 1 and 2592000",
        ));
    }
    Ok(Some(WindowLimit {
        count: l.count,
        window: l.window_seconds * MS_PER_S,
    }))
}

impl Policy {
    /// Checks every value of `config` and builds the policy.
    pub fn new(config: Config) -> Result<Policy, Error> {
        if config.secret.len() < MIN_SECRET_BYTES {
            return Err(bad("secret", "must be at least 16 bytes"));
        }
        if config.secret.len() > MAX_SECRET_BYTES {
            return Err(bad("secret", "must be at most 1024 bytes"));
        }
        if !(1..=MAX_WINDOW_SECONDS).contains(&config.ttl_seconds) {
            return Err(bad(
                "ttlSeconds",
                "must be a whole number between 1 and 2592000",
            ));
        }
        if !(1..=MAX_ATTEMPTS).contains(&config.max_attempts) {
            return Err(bad(
                "maxAttempts",
                "must be a whole number between 1 and 1000",
            ));
        }
        if !(1..=MAX_LENGTH).contains(&config.length) {
            return Err(bad("length", "must be a whole number between 1 and 10"));
        }
        let alphabet = config.alphabet.as_bytes().to_vec();
        if !(2..=MAX_ALPHABET).contains(&alphabet.len()) {
            return Err(bad("alphabet", "must have between 2 and 64 characters"));
        }
        for (i, &c) in alphabet.iter().enumerate() {
            if !(0x21..=0x7e).contains(&c) || c == b'-' {
                return Err(bad(
                    "alphabet",
                    "must be printable ascii without space or hyphen",
                ));
            }
            if alphabet[..i].contains(&c) {
                return Err(bad("alphabet", "must not repeat a character"));
            }
        }
        let upper = alphabet.iter().any(u8::is_ascii_uppercase);
        let lower = alphabet.iter().any(u8::is_ascii_lowercase);
        let fold_upper = match (upper, lower) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        if config.resend_cooldown_seconds > MAX_WINDOW_SECONDS {
            return Err(bad(
                "resendCooldownSeconds",
                "must be a whole number between 0 and 2592000",
            ));
        }
        // 64^10 = 2^60: the product cannot overflow within the checked ranges.
        let space = (alphabet.len() as u64).pow(config.length as u32);
        Ok(Policy {
            ttl: config.ttl_seconds * MS_PER_S,
            max_attempts: config.max_attempts,
            length: config.length,
            alphabet,
            fold_upper,
            cooldown: config.resend_cooldown_seconds * MS_PER_S,
            issue_limit: limit(config.issue_limit, "issueLimit")?,
            failure_limit: limit(config.failure_limit, "failureLimit")?,
            space,
            secret: config.secret,
        })
    }

    /// How many distinct codes exist: `alphabet.len() ^ length`.
    pub fn code_space(&self) -> u64 {
        self.space
    }

    /// Code lifetime in milliseconds.
    pub fn ttl_ms(&self) -> u64 {
        self.ttl
    }

    /// Wrong guesses allowed per code.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Code length in characters.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The characters codes are made of.
    pub fn alphabet(&self) -> &str {
        // Checked to be printable ASCII by `Policy::new`.
        core::str::from_utf8(&self.alphabet).unwrap_or_default()
    }

    /// The issue limit, `None` = unlimited.
    pub fn issue_limit(&self) -> Option<Limit> {
        self.issue_limit.map(WindowLimit::to_limit)
    }

    /// The failure budget, `None` = off.
    pub fn failure_limit(&self) -> Option<Limit> {
        self.failure_limit.map(WindowLimit::to_limit)
    }

    /// Resend cooldown in milliseconds (0 = off).
    pub fn resend_cooldown_ms(&self) -> u64 {
        self.cooldown
    }

    /// Checks a retention (how long a store with expiry keeps each record): at least
    /// [`MIN_RETENTION_SECONDS`], at least [`Policy::longest_window_seconds`] (a store
    /// that forgot a record earlier would forget attempts and limits), at most
    /// [`MAX_RETENTION_SECONDS`].
    pub fn check_retention(&self, seconds: u64) -> Result<u64, Error> {
        let floor = self.longest_window_seconds().max(MIN_RETENTION_SECONDS);
        if seconds < floor || seconds > MAX_RETENTION_SECONDS {
            return Err(bad(
                "retentionSeconds",
                "must be a whole number, at least 60, at least the longest of ttl, cooldown and limit windows, and at most 315360000",
            ));
        }
        Ok(seconds)
    }

    /// The longest span, in seconds, for which a record still matters: the code's
    /// lifetime, the cooldown and the rate-limit windows. A store that drops records
    /// earlier than this forgets attempts and limits.
    pub fn longest_window_seconds(&self) -> u64 {
        let windows = [
            Some(self.ttl),
            Some(self.cooldown),
            self.issue_limit.map(|l| l.window),
            self.failure_limit.map(|l| l.window),
        ];
        windows.into_iter().flatten().max().unwrap_or(0) / MS_PER_S
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::new(b"0123456789abcdef".to_vec())
    }

    /// The `INVALID_CONFIG` that `r` must be: `(field, problem)`.
    fn refusal(r: Result<impl core::fmt::Debug, Error>) -> (&'static str, &'static str) {
        match r {
            Err(Error::InvalidConfig { field, problem }) => (field, problem),
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    fn problem_of(c: Config) -> &'static str {
        refusal(Policy::new(c)).1
    }

    /// Each message that states a limit states the constant's value.
    #[test]
    fn the_messages_state_the_limits() {
        let with = |f: fn(&mut Config)| {
            let mut c = config();
            f(&mut c);
            c
        };
        let limit = |l: Limit| refusal(limit(Some(l), "issueLimit")).1;
        // Each with its context ("and 10", not "10"), and stated whole (`states`).
        let between = |n: u64| std::format!("and {n}");
        let window = between(MAX_WINDOW_SECONDS);
        for (problem, says) in [
            (
                problem_of(with(|c| c.secret = Zeroizing::new(std::vec![1; 15]))),
                std::format!("at least {MIN_SECRET_BYTES} bytes"),
            ),
            (
                problem_of(with(|c| c.secret = Zeroizing::new(std::vec![1; 1025]))),
                std::format!("at most {MAX_SECRET_BYTES} bytes"),
            ),
            (problem_of(with(|c| c.ttl_seconds = 0)), window.clone()),
            (
                problem_of(with(|c| c.max_attempts = 0)),
                between(MAX_ATTEMPTS.into()),
            ),
            (
                problem_of(with(|c| c.length = 0)),
                between(MAX_LENGTH as u64),
            ),
            (
                problem_of(with(|c| c.alphabet = "0".into())),
                std::format!("and {MAX_ALPHABET} characters"),
            ),
            (
                problem_of(with(|c| c.resend_cooldown_seconds = MAX_WINDOW_SECONDS + 1)),
                window.clone(),
            ),
            (
                limit(Limit {
                    count: 0,
                    window_seconds: 1,
                }),
                between(MAX_LIMIT_COUNT.into()),
            ),
            (
                limit(Limit {
                    count: 1,
                    window_seconds: 0,
                }),
                window,
            ),
        ] {
            assert!(crate::states(problem, &says), "{problem:?} lacks {says}");
        }
        let retention = refusal(Policy::new(config()).unwrap().check_retention(0)).1;
        for says in [
            std::format!("at least {MIN_RETENTION_SECONDS},"),
            std::format!("at most {MAX_RETENTION_SECONDS}"),
        ] {
            assert!(retention.contains(&says), "{retention:?} lacks {says}");
        }
    }

    fn field_of(c: Config) -> &'static str {
        refusal(Policy::new(c)).0
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = Policy::new(config()).unwrap();
        assert_eq!(p.ttl_ms(), 3_600_000);
        assert_eq!(p.max_attempts(), 3);
        assert_eq!(p.code_space(), 10_000);
        assert_eq!(p.resend_cooldown_ms(), 30_000);
        assert_eq!(
            p.issue_limit,
            Some(WindowLimit {
                count: 5,
                window: 3_600_000
            })
        );
        assert_eq!(
            p.failure_limit,
            Some(WindowLimit {
                count: 10,
                window: 3_600_000
            })
        );
        assert_eq!(p.longest_window_seconds(), 3600);
    }

    #[test]
    fn each_out_of_range_value_names_its_field() {
        let mut c = config();
        c.secret = Zeroizing::new(b"short".to_vec());
        assert_eq!(field_of(c), "secret");
        let mut c = config();
        c.ttl_seconds = 0;
        assert_eq!(field_of(c), "ttlSeconds");
        let mut c = config();
        c.ttl_seconds = MAX_WINDOW_SECONDS + 1;
        assert_eq!(field_of(c), "ttlSeconds");
        let mut c = config();
        c.max_attempts = 0;
        assert_eq!(field_of(c), "maxAttempts");
        let mut c = config();
        c.max_attempts = 1001;
        assert_eq!(field_of(c), "maxAttempts");
        let mut c = config();
        c.length = 0;
        assert_eq!(field_of(c), "length");
        let mut c = config();
        c.length = 11;
        assert_eq!(field_of(c), "length");
        for a in ["0", "0123 45", "01-2", "0120", "abcé", &"x".repeat(65)] {
            let mut c = config();
            c.alphabet = a.into();
            assert_eq!(field_of(c), "alphabet", "{a:?}");
        }
        let mut c = config();
        c.resend_cooldown_seconds = MAX_WINDOW_SECONDS + 1;
        assert_eq!(field_of(c), "resendCooldownSeconds");
        let mut c = config();
        c.issue_limit = Some(Limit {
            count: 0,
            window_seconds: 10,
        });
        assert_eq!(field_of(c), "issueLimit");
        let mut c = config();
        c.failure_limit = Some(Limit {
            count: 1,
            window_seconds: 0,
        });
        assert_eq!(field_of(c), "failureLimit");
    }

    #[test]
    fn retention_must_outlive_every_window() {
        let p = Policy::new(config()).unwrap();
        assert_eq!(p.check_retention(3600), Ok(3600));
        assert!(p.check_retention(3599).is_err());
        assert!(p.check_retention(MAX_RETENTION_SECONDS + 1).is_err());
        let mut c = config();
        c.ttl_seconds = 10;
        c.resend_cooldown_seconds = 0;
        c.issue_limit = None;
        c.failure_limit = None;
        let p = Policy::new(c).unwrap();
        assert!(p.check_retention(59).is_err());
        assert_eq!(p.check_retention(60), Ok(60));
    }

    #[test]
    fn limits_and_cooldown_can_be_turned_off() {
        let mut c = config();
        c.issue_limit = None;
        c.failure_limit = None;
        c.resend_cooldown_seconds = 0;
        let p = Policy::new(c).unwrap();
        assert!(p.issue_limit.is_none() && p.failure_limit.is_none());
        assert_eq!(p.resend_cooldown_ms(), 0);
    }

    #[test]
    fn single_case_alphabets_fold_input_case() {
        let mut c = config();
        c.alphabet = "ABCDEF23".into();
        assert_eq!(Policy::new(c).unwrap().fold_upper, Some(true));
        let mut c = config();
        c.alphabet = "abc".into();
        assert_eq!(Policy::new(c).unwrap().fold_upper, Some(false));
        let mut c = config();
        c.alphabet = "aB".into();
        assert_eq!(Policy::new(c).unwrap().fold_upper, None);
    }

    #[test]
    fn largest_space_fits() {
        let mut c = config();
        c.alphabet = (0x21u8..0x7f)
            .filter(|&b| b != b'-')
            .take(64)
            .map(char::from)
            .collect();
        c.length = 10;
        assert_eq!(Policy::new(c).unwrap().code_space(), 1 << 60);
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let c = config();
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        let p = Policy::new(c).unwrap();
        assert!(!format!("{p:?}").contains("0123456789abcdef"));
    }
}
