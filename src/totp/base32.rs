//! RFC 4648 base32 (the alphabet `A-Z2-7`), as authenticator apps show TOTP seeds.
//!
//! Written by hand: it is a dozen lines, and the crates that do it bring `std` or more
//! than they are worth in the shipped `.wasm`.

use alloc::string::String;
use zeroize::{Zeroize, Zeroizing};

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Upper-case base32 without `=` padding: the form `otpauth://` URIs carry.
pub(crate) fn encode(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(5) * 8));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    acc.zeroize();
    out
}

/// Decodes into `out` and returns how many bytes were written, or `None` when the text
/// is not base32 or decodes to more than `out` holds.
///
/// Tolerant where people are: lower case, ASCII spaces anywhere and `=` padding at the
/// end are accepted. Strict elsewhere: any other character, a `=` followed by anything
/// but `=`, and a length no encoder produces (1, 3 or 6 characters past a multiple of 8)
/// are rejected. Leftover bits of the last character are ignored, as most decoders do.
pub(crate) fn decode(text: &str, out: &mut [u8]) -> Option<usize> {
    let (mut acc, mut bits, mut n, mut chars) = (0u32, 0u32, 0usize, 0usize);
    let mut padding = false;
    for c in text.bytes() {
        let v = match c {
            b' ' => continue,
            b'=' => {
                padding = true;
                continue;
            }
            _ if padding => return None,
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        chars += 1;
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (acc >> bits) as u8;
            n += 1;
        }
        acc &= (1 << bits) - 1;
    }
    acc.zeroize();
    matches!(chars % 8, 0 | 2 | 4 | 5 | 7).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(text: &str) -> Option<Vec<u8>> {
        let mut buf = [0u8; 64];
        decode(text, &mut buf).map(|n| buf[..n].to_vec())
    }

    #[test]
    fn rfc_4648_test_vectors_encode_and_decode() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, b32) in vectors {
            assert_eq!(encode(plain.as_bytes()).as_str(), b32);
            assert_eq!(decoded(b32).unwrap(), plain.as_bytes(), "{b32}");
        }
    }

    #[test]
    fn decoding_accepts_lower_case_spaces_and_padding() {
        assert_eq!(decoded("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(decoded("MZXW6YQ=").unwrap(), b"foob");
        assert_eq!(
            decoded("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap(),
            b"12345678901234567890"
        );
    }

    #[test]
    fn decoding_rejects_what_no_encoder_writes() {
        for bad in [
            "M", "MZX", "MZXW6Y", "MZ1Q", "MZ8Q", "MZ=XQ", "MZXQ-", "é", "0",
        ] {
            assert_eq!(decoded(bad), None, "{bad}");
        }
    }

    #[test]
    fn decoding_refuses_more_than_the_buffer_holds() {
        let mut small = [0u8; 4];
        assert_eq!(decode("MZXW6YTB", &mut small), None);
        assert_eq!(decode("MZXW6YQ", &mut small), Some(4));
    }
}
