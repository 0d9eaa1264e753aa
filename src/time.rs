//! Time as the core sees it: plain milliseconds since the Unix epoch, always passed in.

/// Milliseconds since the Unix epoch (or a span in milliseconds).
pub type Millis = u64;

/// Milliseconds per second.
pub const MS_PER_S: u64 = 1000;

/// The latest instant the core accepts: 9999-12-31T23:59:59.999Z. Every stored timestamp
/// and every `now` must be at most this, so `now + window` never overflows and every
/// value stays an exact JavaScript number.
pub const MAX_TIME: Millis = 253_402_300_799_999;
