//! Time as the core sees it: plain milliseconds since the Unix epoch, always passed in.

/// Milliseconds since the Unix epoch (or a span in milliseconds).
pub type Millis = u64;

/// Milliseconds per second.
pub const MS_PER_S: u64 = 1000;

/// The end of time for the core: 9999-12-31T23:59:59.999Z. Every stored timestamp is at
/// most this and every `now` strictly before it (expiries are clamped to it), so sums
/// never overflow and every value stays an exact JavaScript number.
pub const MAX_TIME: Millis = 253_402_300_799_999;

/// `INVALID_ARGUMENT` reason for a time (`now`, the app's clock) outside `0..MAX_TIME`.
pub const NOW_PROBLEM: &str =
    "must be milliseconds from 0, before 253402300799999 (the end of year 9999)";

#[cfg(test)]
mod tests {
    #[test]
    fn the_message_states_the_end_of_time() {
        assert!(crate::states(
            super::NOW_PROBLEM,
            &std::format!("before {}", super::MAX_TIME)
        ));
    }
}
