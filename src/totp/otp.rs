//! HOTP (RFC 4226) and TOTP (RFC 6238) values.

use hmac::{KeyInit, Mac};
use zeroize::Zeroize;

/// The HMAC hash of a TOTP enrollment, as the `algorithm=` parameter of the key URI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1, what authenticator apps assume when nothing is said. The default.
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// `INVALID_CONFIG` reason for an `algorithm` option that names none of [`Algorithm::ALL`].
pub const ALGORITHM_PROBLEM: &str = "must be \"SHA1\", \"SHA256\" or \"SHA512\"";

impl Algorithm {
    /// Every algorithm (the matches below name each; a unit test round-trips them, and
    /// checks that this list has every variant).
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512];

    /// The name in key URIs and in the JS options: `"SHA1"`, `"SHA256"`, `"SHA512"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// The algorithm named `name` (exactly as [`Algorithm::as_str`] writes it). A match,
    /// not a search of [`Algorithm::ALL`]: 43 B smaller in the gzip TOTP module.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "SHA1" => Some(Algorithm::Sha1),
            "SHA256" => Some(Algorithm::Sha256),
            "SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The number stored in records.
    pub(crate) fn tag(self) -> u8 {
        match self {
            Algorithm::Sha1 => 1,
            Algorithm::Sha256 => 2,
            Algorithm::Sha512 => 3,
        }
    }

    pub(crate) fn from_tag(tag: u64) -> Option<Algorithm> {
        match tag {
            1 => Some(Algorithm::Sha1),
            2 => Some(Algorithm::Sha256),
            3 => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// HMAC of `msg` under `key` into `out`; returns the tag length.
fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8], out: &mut [u8; 64]) -> usize {
    // HMAC accepts keys of any length; the error case cannot happen.
    let mut m = <M as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <M as KeyInit>::new(&Default::default()));
    m.update(msg);
    let tag = m.finalize().into_bytes();
    let n = tag.len().min(64);
    out[..n].copy_from_slice(&tag[..n]);
    n
}

/// The HOTP value (RFC 4226 §5.3) of `key` at `counter`: dynamic truncation of the HMAC,
/// reduced modulo `10^digits`. `digits` is clamped to `1..=9`; show the value
/// zero-padded to `digits` places.
pub fn hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> u32 {
    let msg = counter.to_be_bytes();
    let mut buf = [0u8; 64];
    let n = match algorithm {
        Algorithm::Sha1 => mac::<hmac::Hmac<sha1::Sha1>>(key, &msg, &mut buf),
        Algorithm::Sha256 => mac::<hmac::Hmac<sha2::Sha256>>(key, &msg, &mut buf),
        Algorithm::Sha512 => mac::<hmac::Hmac<sha2::Sha512>>(key, &msg, &mut buf),
    };
    // The low nibble of the last byte picks 4 bytes; n >= 20, so offset + 4 <= 19 < n.
    let offset = usize::from(buf[n - 1] & 0x0f);
    let word = [
        buf[offset],
        buf[offset + 1],
        buf[offset + 2],
        buf[offset + 3],
    ];
    let value = u32::from_be_bytes(word) & 0x7fff_ffff;
    buf.zeroize();
    value % 10u32.pow(digits.clamp(1, 9))
}

/// The TOTP time step (RFC 6238 §4, `T0 = 0`) that `now_ms` falls in.
pub(crate) fn step(now_ms: u64, period_seconds: u64) -> u64 {
    now_ms / 1000 / period_seconds
}

/// The TOTP value of `key` at `now_ms` (milliseconds since the Unix epoch).
pub fn totp(
    algorithm: Algorithm,
    key: &[u8],
    now_ms: u64,
    period_seconds: u64,
    digits: u32,
) -> u32 {
    hotp(algorithm, key, step(now_ms, period_seconds.max(1)), digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED20: &[u8] = b"12345678901234567890";

    #[test]
    fn hotp_matches_rfc_4226_appendix_d() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(Algorithm::Sha1, SEED20, counter as u64, 6), want);
        }
    }

    #[test]
    fn totp_matches_rfc_6238_appendix_b_for_every_algorithm_and_time() {
        // The RFC's seeds: "12345678901234567890" repeated to the hash's output length.
        let seed = |len: usize| SEED20.iter().copied().cycle().take(len).collect::<Vec<_>>();
        let (s1, s256, s512) = (seed(20), seed(32), seed(64));
        let table: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in table {
            let now = t * 1000;
            let code = |alg, key: &[u8]| format!("{:08}", totp(alg, key, now, 30, 8));
            assert_eq!(code(Algorithm::Sha1, &s1), sha1, "SHA1 at {t}");
            assert_eq!(code(Algorithm::Sha256, &s256), sha256, "SHA256 at {t}");
            assert_eq!(code(Algorithm::Sha512, &s512), sha512, "SHA512 at {t}");
        }
    }

    #[test]
    fn algorithm_names_round_trip_and_are_exact() {
        // ALL lists every variant: a new one stops this match compiling, and a tag
        // from_tag knows but ALL lacks fails the loop after it.
        for a in Algorithm::ALL {
            match a {
                Algorithm::Sha1 | Algorithm::Sha256 | Algorithm::Sha512 => {}
            }
        }
        for tag in 0..=255 {
            if let Some(a) = Algorithm::from_tag(tag) {
                assert!(Algorithm::ALL.contains(&a), "{a:?}");
            }
        }
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(a.as_str()), Some(a));
            assert_eq!(Algorithm::from_tag(u64::from(a.tag())), Some(a));
        }
        assert_eq!(Algorithm::from_name("sha1"), None);
        assert_eq!(Algorithm::from_name("SHA-1"), None);
        assert_eq!(Algorithm::from_tag(0), None);
    }
}
