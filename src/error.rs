//! The one error type of the crate.

use core::fmt;

/// Everything that can go wrong in edge-otp's core.
///
/// Verdicts such as "wrong code" or "rate limited" are not errors: they are answers
/// ([`crate::Verdict`], [`crate::Issue`]). An `Error` means the input could not be
/// processed at all. Two categories are kept apart:
///
/// - [`Error::InvalidConfig`] and [`Error::InvalidArgument`] are API misuse by the
///   application (bad policy, empty user id). They are never caused by stored data.
/// - [`Error::CorruptRecord`] is caused by the stored record, i.e. by whatever is in
///   the application's key-value store.
///
/// No message ever contains a code or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A policy value is out of range.
    InvalidConfig {
        /// The policy field, named as in the JS options (`ttlSeconds`, `alphabet`, ...).
        field: &'static str,
        /// What is wrong with it, in lowercase without a final period.
        problem: &'static str,
    },
    /// An argument of an operation is unusable (empty user id, bad scope, time out of range).
    InvalidArgument {
        /// The argument's name.
        argument: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The stored record cannot be decoded, or describes an impossible state.
    CorruptRecord(DecodeError),
    /// The driver's entropy source gave nothing when a fresh salt was needed.
    EntropyUnavailable,
}

/// Why a stored record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not the record syntax (a JSON array of the expected shape).
    Syntax,
    /// The version tag is a number this build does not know.
    UnknownVersion,
    /// A field has the wrong type (string where a number belongs, fraction, ...).
    WrongType,
    /// The array is shorter or longer than the version's field list.
    FieldCount,
    /// A number is larger than the field allows (timestamps beyond year 9999, ...).
    OutOfRange,
    /// The fields are well-formed but cannot occur together
    /// (attempts above the maximum, expiry before creation, ...).
    ImpossibleState,
    /// A sealed field does not open: the record was written for another user or scope,
    /// under another app secret, or altered (TOTP records).
    Unauthentic,
}

impl Error {
    /// A short, stable, machine-readable name (`"INVALID_CONFIG"`, ...), the same string
    /// the JS package puts in `OtpError.code`.
    pub fn code(&self) -> &'static str {
        // Each arm its own string (not one `.as_str()` of the match): the binding calls
        // this for any error, and a lookup over every code would keep all thirteen
        // strings in a module that throws four of them.
        match self {
            Error::InvalidConfig { .. } => ErrorCode::InvalidConfig.as_str(),
            Error::InvalidArgument { .. } => ErrorCode::InvalidArgument.as_str(),
            Error::CorruptRecord(_) => ErrorCode::CorruptRecord.as_str(),
            Error::EntropyUnavailable => ErrorCode::Entropy.as_str(),
        }
    }
}

/// Declares [`ErrorCode`], its [`ErrorCode::ALL`] and its strings, each written once.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Every `OtpError.code` the JS package throws, defined once: the core's errors
        /// ([`Error::code`]), the binding's answers that are errors (`RATE_LIMITED`, ...)
        /// and the driver's faults. The TypeScript `OtpErrorCode` union lists exactly
        /// these (a unit test checks).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }
        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: [ErrorCode; [$($name),*].len()] = [$(ErrorCode::$variant),*];
            /// The code as `OtpError.code` spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

codes! {
    /// An argument of an operation is unusable ([`Error::InvalidArgument`]).
    InvalidArgument = "INVALID_ARGUMENT",
    /// An option or the storage object is unusable ([`Error::InvalidConfig`]).
    InvalidConfig = "INVALID_CONFIG",
    /// A rule refused to issue a code (cooldown, issue limit, lock-out).
    RateLimited = "RATE_LIMITED",
    /// `generate` while a code is active.
    ActiveOtpExists = "ACTIVE_OTP_EXISTS",
    /// Compare-and-swap lost every try.
    Conflict = "CONFLICT",
    /// The stored record cannot be decoded ([`Error::CorruptRecord`]).
    CorruptRecord = "CORRUPT_RECORD",
    /// A storage call, or the wait for a turn on a key, outlasted `timeoutMs`.
    Timeout = "TIMEOUT",
    /// The manager was disposed.
    Disposed = "DISPOSED",
    /// The wasm module is not loaded yet: the one code JS makes itself (no Rust runs
    /// before the module is loaded), in pkg/engines.js.
    NotInitialized = "NOT_INITIALIZED",
    /// No randomness for a fresh salt ([`Error::EntropyUnavailable`]).
    Entropy = "ENTROPY",
    /// Anything else: a bug, never the app's input.
    Internal = "INTERNAL",
    /// TOTP `enroll` on an active enrollment without `{ replace: true }`.
    AlreadyEnrolled = "ALREADY_ENROLLED",
    /// TOTP `newRecoveryCodes` for a user who is not enrolled.
    NotEnrolled = "NOT_ENROLLED",
}

impl DecodeError {
    /// The reason in words, lowercase without a final period.
    pub fn as_str(&self) -> &'static str {
        match self {
            DecodeError::Syntax => "stored record is not valid record syntax",
            DecodeError::UnknownVersion => "stored record has an unknown version",
            DecodeError::WrongType => "stored record has a field of the wrong type",
            DecodeError::FieldCount => "stored record has the wrong number of fields",
            DecodeError::OutOfRange => "stored record has a value out of range",
            DecodeError::ImpossibleState => "stored record describes an impossible state",
            DecodeError::Unauthentic => {
                "stored record was sealed for another user or secret, or altered"
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidConfig { field, problem } => write!(f, "invalid {field}: {problem}"),
            Error::InvalidArgument { argument, problem } => {
                write!(f, "invalid {argument}: {problem}")
            }
            Error::CorruptRecord(e) => f.write_str(e.as_str()),
            Error::EntropyUnavailable => f.write_str("no randomness available for a fresh salt"),
        }
    }
}

impl core::error::Error for Error {}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::CorruptRecord(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_unpunctuated() {
        let errors = [
            Error::InvalidConfig {
                field: "ttlSeconds",
                problem: "must be at least 1",
            },
            Error::InvalidArgument {
                argument: "user",
                problem: "must not be empty",
            },
            Error::CorruptRecord(DecodeError::ImpossibleState),
        ];
        for e in errors {
            let m = e.to_string();
            assert!(!m.ends_with('.'), "{m}");
            assert_eq!(m, m.to_lowercase().replace("ttlseconds", "ttlSeconds"));
        }
        assert_eq!(errors[2].code(), "CORRUPT_RECORD");
    }
}
