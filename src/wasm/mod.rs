//! The WebAssembly binding: the only code that touches wasm-bindgen.
//!
//! Kept as close to the metal as possible. The storage await loop lives in the JS
//! package (`pkg/slim.js`): it reads the record, makes one synchronous call into
//! [`WasmEngine::run`], and writes what the core asked to write. Measured in
//! `BENCHMARKS.md`, that is several times faster than awaiting JS promises from Rust
//! futures, and no OTP rule lives in JS: the JS side only moves bytes.
//!
//! Strings do not cross as JS strings. Each engine owns one fixed buffer in linear
//! memory (see the `IO_*` offsets, mirrored in `pkg/slim.js`); JS writes the user, the
//! submitted code and the stored record into it, calls `run` with their lengths and the
//! time, and reads the answer's numbers, the record to write and the code from it. That
//! is one call with numbers only: no allocation, no `TextEncoder`/`TextDecoder` for the
//! ASCII that records and codes are made of, and no import from JS: the clock and
//! randomness are the caller's (`run` returns [`E_NEED_SALT`] when it needs 16 fresh
//! bytes, and JS calls again with them in the buffer).
//!
//! `run` returns a small integer naming the answer (see the `A_*` constants); errors are
//! negative, with their message written into the buffer (`IO_MSG`). Nothing here panics: every
//! input is checked, and a panic would abort the instance for every later caller.

use crate::engine::{Answer, Engine, Issue, Op, OtpView, Subject, Verdict};
use crate::error::Error;
use crate::policy::{Config, Limit, Policy};
use crate::record::ENCODED_MAX;
use crate::time::{Millis, MAX_TIME};
use crate::SALT_LEN;
use alloc::boxed::Box;
use alloc::string::String;
use wasm_bindgen::prelude::*;
use zeroize::Zeroize;

// Answers of `run` (>= 0) and errors (< 0). Keep in step with pkg/slim.js.
const A_ISSUED: i32 = 0;
const A_RATE_LIMITED: i32 = 1;
const A_ACTIVE_EXISTS: i32 = 2;
const A_LATEST_NONE: i32 = 3;
const A_LATEST: i32 = 4;
const A_VERDICT: i32 = 10; // + verdict index, see `verdict_index`
const A_FALSE: i32 = 20;
const A_TRUE: i32 = 21;
const E_INVALID_ARGUMENT: i32 = -1;
const E_CORRUPT_RECORD: i32 = -2;
/// `run` needs a fresh salt: write 16 random bytes at `IO_SALT` and call again with
/// `salt_given` set.
const E_NEED_SALT: i32 = -3;

// The I/O buffer: inputs, then outputs. Keep in step with pkg/slim.js.
/// The user id, UTF-8, at most [`crate::MAX_USER_BYTES`].
const IO_USER: usize = 0;
/// The submitted code, UTF-8; a single 0 byte when its UTF-8 does not fit.
const IO_CODE: usize = 256;
/// The stored record, UTF-8; a single 0 byte when its UTF-8 does not fit. Records
/// are ASCII and codes come from an ASCII alphabet, so both stand-ins are simply
/// "not a record" and "not this code", as the original text was.
const IO_STORED: usize = 512;
/// Fresh salt, when `run` asked for it.
const IO_SALT: usize = 1536;
/// Output: length of the record to write (u16 LE, 0 = none), then length of the code
/// (u8), then length of the message (u8).
const IO_WRITE_LEN: usize = 1552;
const IO_CODE_LEN: usize = 1554;
const IO_MSG_LEN: usize = 1555;
/// Output: the answer's numbers, five f64 LE.
const IO_NUMS: usize = 1560;
/// Output: the record to write.
const IO_WRITE: usize = 1600;
/// Output: the code.
const IO_CODE_OUT: usize = 1856;
/// Output: the message of the last error or rate limit (ASCII), its length at `IO_MSG_LEN`.
const IO_MSG: usize = 1920;
/// Size of the buffer.
const IO_LEN: usize = 2048;
// Inputs of `configure`, overlapping the per-operation inputs.
const CFG_SECRET: usize = 0;
const CFG_SCOPE: usize = 1024;
const CFG_ALPHABET: usize = 1056;
const CFG_END: usize = 1120;
const MAX_CODE_BYTES: usize = IO_STORED - IO_CODE;
const MAX_STORED_BYTES: usize = IO_SALT - IO_STORED;

// The layout holds the largest value of every field (checked when compiling).
const _: () = {
    assert!(IO_CODE - IO_USER >= crate::MAX_USER_BYTES);
    assert!(IO_WRITE_LEN - IO_SALT >= SALT_LEN);
    assert!(IO_WRITE_LEN + 2 == IO_CODE_LEN && IO_CODE_LEN + 1 == IO_MSG_LEN);
    assert!(IO_MSG_LEN < IO_NUMS && IO_NUMS + 5 * 8 <= IO_WRITE);
    assert!(IO_CODE_OUT - IO_WRITE == ENCODED_MAX);
    assert!(IO_MSG - IO_CODE_OUT >= crate::policy::MAX_LENGTH);
    assert!(IO_LEN - IO_MSG >= 100 && IO_LEN - IO_MSG <= 255);
    assert!(CFG_SCOPE - CFG_SECRET >= 1024);
    assert!(CFG_ALPHABET - CFG_SCOPE >= crate::MAX_SCOPE_BYTES);
    assert!(CFG_END - CFG_ALPHABET >= crate::policy::MAX_ALPHABET);
};

// Operations, as `run` takes them.
const OP_CREATE: u32 = 0;
const OP_GENERATE: u32 = 1;
const OP_LATEST: u32 = 2;
const OP_VERIFY: u32 = 3;
const OP_RESET: u32 = 4;
const OP_INVALIDATE: u32 = 5;

/// The core engine for one policy and scope, plus the outputs of the last `run`.
#[wasm_bindgen(js_name = Engine)]
pub struct WasmEngine {
    core: Option<Engine>,
    scope: String,
    io: Box<[u8; IO_LEN]>,
}

/// A whole number in `0..=max` from a JS number, or the config error for `field`.
fn whole(v: f64, max: u64, field: &'static str) -> Result<u64, Error> {
    // In range first, so the round trip through u64 is exact for whole numbers.
    if v.is_finite() && v >= 0.0 && v <= max as f64 && (v as u64) as f64 == v {
        Ok(v as u64)
    } else {
        Err(Error::InvalidConfig {
            field,
            problem: "must be a whole number in range",
        })
    }
}

fn limit(count: f64, window: f64, field: &'static str) -> Result<Option<Limit>, Error> {
    if count < 0.0 {
        // The JS layer passes -1 for `null` (off).
        return Ok(None);
    }
    Ok(Some(Limit {
        count: whole(count, u32::MAX.into(), field)? as u32,
        window_seconds: whole(window, MAX_TIME, field)?,
    }))
}

fn short_message(e: &Error) -> &'static str {
    match e {
        Error::InvalidArgument { problem, .. } => problem,
        Error::CorruptRecord(d) => d.as_str(),
        Error::InvalidConfig { problem, .. } => problem,
        Error::EntropyUnavailable => {
            "no randomness available (in Workers, call inside a request handler)"
        }
    }
}

fn verdict_index(v: &Verdict) -> i32 {
    match v {
        Verdict::Verified => 0,
        Verdict::Invalid { .. } => 1,
        Verdict::Expired => 2,
        Verdict::Exhausted => 3,
        Verdict::Used => 4,
        Verdict::NoOtp => 5,
        Verdict::LockedOut { .. } => 6,
    }
}

#[wasm_bindgen(js_class = Engine)]
impl WasmEngine {
    /// An engine with no policy yet; [`WasmEngine::configure`] gives it one. Two steps,
    /// so that the secret, the scope and the alphabet cross through the I/O buffer like
    /// everything else (and the secret's bytes there are wiped right after).
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)] // a JS constructor, not a Rust API
    pub fn new() -> WasmEngine {
        WasmEngine {
            core: None,
            scope: String::new(),
            io: Box::new([0; IO_LEN]),
        }
    }

    /// Validates the policy and builds the core: the secret, the scope and the
    /// alphabet are read from the I/O buffer at `CFG_SECRET`, `CFG_SCOPE` and
    /// `CFG_ALPHABET`, with the given lengths. Returns 0, or -1 with the problem in
    /// the message (the JS layer throws `INVALID_CONFIG`). The buffer's configuration
    /// bytes are zeroed either way.
    #[allow(clippy::too_many_arguments)] // one scalar per option keeps the boundary free of serde
    pub fn configure(
        &mut self,
        secret_len: u32,
        scope_len: u32,
        alphabet_len: u32,
        ttl_seconds: f64,
        max_attempts: f64,
        length: f64,
        resend_cooldown_seconds: f64,
        issue_count: f64,
        issue_window_seconds: f64,
        failure_count: f64,
        failure_window_seconds: f64,
    ) -> i32 {
        let built = self.build(
            [secret_len, scope_len, alphabet_len],
            [
                ttl_seconds,
                max_attempts,
                length,
                resend_cooldown_seconds,
                issue_count,
                issue_window_seconds,
                failure_count,
                failure_window_seconds,
            ],
        );
        self.io[..CFG_END].zeroize();
        match built {
            Ok(()) => 0,
            Err(e) => {
                self.set_error(&e);
                -1
            }
        }
    }

    fn build(&mut self, lens: [u32; 3], n: [f64; 8]) -> Result<(), Error> {
        let [secret_len, scope_len, alphabet_len] = lens.map(|l| l as usize);
        let text = |at: usize, len: usize, max: usize, field, problem| {
            if len > max {
                return Err(Error::InvalidConfig { field, problem });
            }
            core::str::from_utf8(&self.io[at..at + len])
                .map_err(|_| Error::InvalidConfig { field, problem })
        };
        let scope_problem = "must be 1 to 32 characters of A-Z a-z 0-9 _ -";
        let scope = text(
            CFG_SCOPE,
            scope_len,
            crate::MAX_SCOPE_BYTES,
            "scope",
            scope_problem,
        )?;
        if crate::engine::check_scope(scope).is_err() {
            return Err(Error::InvalidConfig {
                field: "scope",
                problem: scope_problem,
            });
        }
        let alphabet = text(
            CFG_ALPHABET,
            alphabet_len,
            CFG_END - CFG_ALPHABET,
            "alphabet",
            "must have between 2 and 64 characters",
        )?;
        if secret_len > CFG_SCOPE - CFG_SECRET {
            return Err(Error::InvalidConfig {
                field: "secret",
                problem: "must be at most 1024 bytes",
            });
        }
        // Copied straight into the policy's wiped-on-drop buffer.
        let mut config = Config::new(self.io[CFG_SECRET..CFG_SECRET + secret_len].to_vec());
        config.ttl_seconds = whole(n[0], MAX_TIME, "ttlSeconds")?;
        config.max_attempts = whole(n[1], u32::MAX.into(), "maxAttempts")? as u32;
        config.length = whole(n[2], 64, "length")? as usize;
        config.alphabet = alphabet.into();
        config.resend_cooldown_seconds = whole(n[3], MAX_TIME, "resendCooldownSeconds")?;
        config.issue_limit = limit(n[4], n[5], "issueLimit")?;
        config.failure_limit = limit(n[6], n[7], "failureLimit")?;
        self.scope = scope.into();
        self.core = Some(Engine::new(Policy::new(config)?));
        Ok(())
    }

    /// Writes the message of `e` into the buffer.
    fn set_error(&mut self, e: &Error) {
        match e {
            Error::InvalidConfig { field, problem } => {
                self.set_message(&["invalid ", field, ": ", problem])
            }
            other => self.set_message(&[short_message(other)]),
        }
    }

    /// Writes a message into the buffer (`IO_MSG`, length at `IO_MSG_LEN`), truncated
    /// to the region.
    fn set_message(&mut self, parts: &[&str]) {
        let mut n = 0;
        for part in parts {
            let bytes = part.as_bytes();
            let take = bytes.len().min(IO_LEN - IO_MSG - n);
            self.io[IO_MSG + n..IO_MSG + n + take].copy_from_slice(&bytes[..take]);
            n += take;
        }
        self.io[IO_MSG_LEN] = n as u8;
    }

    /// The longest span in seconds for which a record matters (lifetime, cooldown,
    /// windows): a store must keep records at least this long.
    #[wasm_bindgen(js_name = longestWindowSeconds)]
    pub fn longest_window_seconds(&self) -> f64 {
        self.core
            .as_ref()
            .map_or(0.0, |c| c.policy().longest_window_seconds() as f64)
    }

    /// Where the I/O buffer starts in linear memory (it never moves).
    #[wasm_bindgen(js_name = ioPtr)]
    pub fn io_ptr(&self) -> u32 {
        self.io.as_ptr() as usize as u32
    }

    /// Runs operation `op` at `now` (ms since the epoch) on the inputs in the I/O buffer:
    /// `user_len` bytes of user id, `code_len` bytes of submitted code, `stored_len`
    /// bytes of stored record (negative: no record), and the salt when `salt_given`.
    /// Returns an answer code (>= 0) or an error code (< 0); the answer's numbers, the
    /// record to write and the code are in the buffer's output half.
    pub fn run(
        &mut self,
        op: u32,
        user_len: u32,
        code_len: u32,
        stored_len: i32,
        now: f64,
        salt_given: bool,
    ) -> i32 {
        self.io[IO_WRITE_LEN..IO_MSG_LEN + 1].fill(0);
        match self.run_inner(op, user_len, code_len, stored_len, now, salt_given) {
            Ok(answer) => answer,
            Err(e) => {
                self.set_error(&e);
                match e {
                    Error::CorruptRecord(_) => E_CORRUPT_RECORD,
                    Error::EntropyUnavailable => E_NEED_SALT,
                    _ => E_INVALID_ARGUMENT,
                }
            }
        }
    }

    fn run_inner(
        &mut self,
        op: u32,
        user_len: u32,
        code_len: u32,
        stored_len: i32,
        now: f64,
        salt_given: bool,
    ) -> Result<i32, Error> {
        let bad = |problem| Error::InvalidArgument {
            argument: "input",
            problem,
        };
        if !(now.is_finite() && now >= 0.0 && now <= MAX_TIME as f64) {
            return Err(bad(
                "clock must return milliseconds between 0 and year 9999",
            ));
        }
        let now = now as Millis;
        let (user_len, code_len) = (user_len as usize, code_len as usize);
        if user_len > crate::MAX_USER_BYTES || code_len > MAX_CODE_BYTES {
            return Err(bad("input too long"));
        }
        let io = &self.io;
        let user = core::str::from_utf8(&io[IO_USER..IO_USER + user_len])
            .map_err(|_| bad("user must be well-formed unicode"))?;
        // Not UTF-8 cannot happen (JS encodes); should it, it is simply a wrong code.
        let code = core::str::from_utf8(&io[IO_CODE..IO_CODE + code_len]).unwrap_or("\0");
        let stored = match usize::try_from(stored_len) {
            Err(_) => None,
            Ok(n) if n <= MAX_STORED_BYTES => Some(
                core::str::from_utf8(&io[IO_STORED..IO_STORED + n])
                    .map_err(|_| Error::CorruptRecord(crate::DecodeError::Syntax))?,
            ),
            Ok(_) => return Err(Error::CorruptRecord(crate::DecodeError::Syntax)),
        };
        let op = match op {
            OP_CREATE => Op::Create,
            OP_GENERATE => Op::Generate,
            OP_LATEST => Op::Latest,
            OP_VERIFY => Op::Verify(code),
            OP_RESET => Op::ResetAttempts,
            OP_INVALIDATE => Op::Invalidate,
            _ => return Err(bad("unknown operation")),
        };
        let core = self.core.as_ref().ok_or(bad("engine not configured"))?;
        let subject = Subject::new(&self.scope, user)?;
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&io[IO_SALT..IO_SALT + SALT_LEN]);
        // Randomness is asked for only when a new cycle starts (crypto.getRandomValues
        // costs about 3 us in Node, more than the rest of a create).
        let mut draw = || salt_given.then_some(salt);
        let (answer, write) = core.apply_record(op, &subject, stored, now, &mut draw)?;
        if let Some(record) = write {
            // Encoded in place: the region is exactly the encoder's worst case.
            let region: &mut [u8; ENCODED_MAX] = (&mut self.io[IO_WRITE..IO_CODE_OUT])
                .try_into()
                .map_err(|_| bad("buffer layout"))?;
            let n = record.encode_into(region);
            self.io[IO_WRITE_LEN..IO_WRITE_LEN + 2].copy_from_slice(&(n as u16).to_le_bytes());
        }
        Ok(self.answer(answer))
    }

    fn set_nums(&mut self, nums: &[f64]) {
        for (i, v) in nums.iter().enumerate() {
            let at = IO_NUMS + 8 * i;
            self.io[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    fn view(&mut self, v: OtpView) {
        let code = v.code.as_str().as_bytes();
        let n = code.len().min(IO_LEN - IO_CODE_OUT);
        self.io[IO_CODE_OUT..IO_CODE_OUT + n].copy_from_slice(&code[..n]);
        self.io[IO_CODE_LEN] = n as u8;
        self.set_nums(&[
            v.created_at as f64,
            v.expires_at as f64,
            f64::from(v.attempts),
            f64::from(v.max_attempts),
            match v.status {
                crate::Status::Active => 0.0,
                crate::Status::Expired => 1.0,
                crate::Status::Exhausted => 2.0,
                crate::Status::Used => 3.0,
                crate::Status::Superseded => 4.0,
            },
        ]);
    }

    fn answer(&mut self, a: Answer) -> i32 {
        match a {
            Answer::Issue(Issue::Issued(v)) => {
                self.view(v);
                A_ISSUED
            }
            Answer::Issue(Issue::RateLimited {
                retry_after_ms,
                reason,
            }) => {
                self.set_nums(&[retry_after_ms as f64]);
                let message = match reason {
                    crate::Limited::Cooldown => {
                        "resend cooldown: wait before requesting another code"
                    }
                    crate::Limited::IssueLimit => "issue limit reached: too many codes requested",
                    crate::Limited::LockedOut => "too many failed attempts: locked out",
                };
                self.set_message(&[message]);
                A_RATE_LIMITED
            }
            Answer::Issue(Issue::ActiveOtpExists { expires_at }) => {
                self.set_nums(&[expires_at as f64]);
                A_ACTIVE_EXISTS
            }
            Answer::Latest(None) => A_LATEST_NONE,
            Answer::Latest(Some(v)) => {
                self.view(v);
                A_LATEST
            }
            Answer::Verdict(v) => {
                self.set_nums(&[match v {
                    Verdict::Invalid { attempts_left } => f64::from(attempts_left),
                    Verdict::LockedOut { retry_after_ms } => retry_after_ms as f64,
                    _ => 0.0,
                }]);
                A_VERDICT + verdict_index(&v)
            }
            Answer::Flag(false) => A_FALSE,
            Answer::Flag(true) => A_TRUE,
        }
    }
}

/// The wasm build is `no_std`. Allocation is rare (engine set-up, one short record
/// string per writing operation), so a minimal free-list allocator does: lol_alloc is
/// 2.3 KB gzip smaller than dlmalloc (std's), measured no slower here, and the memory
/// budget (`bench/budgets.mjs`) checks linear memory stays flat over 10^6 operations.
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Nothing in this crate is meant to panic (every input is checked); should something
/// still panic, trap at once. No message is formatted, so none of core's formatting code
/// is linked in.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}
