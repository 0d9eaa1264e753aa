//! Keys of the TOTP records: the seed's encryption and the recovery codes' hashes.
//!
//! The app secret is compressed once, when the engine is built, into a 256-bit master
//! key `M = HMAC-SHA256(secret, "edge-otp/totp/1 key")`. (The OTP engine's key in
//! `code.rs` is not reused: it is a 128-bit SipHash key, and a separate HMAC label gives an
//! independent key without tying the two formats together.) Each operation derives the
//! keys of its subject from `M`:
//!
//! - seal key `HMAC-SHA256(M, "seal" || len || scope || len || user)`: the ChaCha20-Poly1305
//!   key of the seed, with associated data `"edge-otp/totp/1" || len || scope || len ||
//!   user || algorithm || digits || period`, so a record copied to another subject, or with
//!   its algorithm, digits or period altered, does not open;
//! - recovery key `HMAC-SHA256(M, "recovery" || len || scope || len || user)`: a recovery
//!   code is stored as `HMAC-SHA256(recovery key, code)[..12]`;
//! - the engine's fingerprint `HMAC-SHA256(M, "edge-otp/totp/1 fingerprint" || settings ||
//!   context)[..16]`, the one value derived from `M` that reaches JS (the driver's
//!   engine-pool key). Its input starts with the label's `e`, the subject keys' with their
//!   purpose's length (4 or 8), so no fingerprint input is a subject key's.

use super::otp::Algorithm;
use crate::engine::Subject;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// HMAC label of the master key; changing it makes every stored TOTP record unreadable.
const MASTER_LABEL: &[u8] = b"edge-otp/totp/1 key";
/// Prefix of the associated data of every sealed seed.
const AAD_DOMAIN: &[u8] = b"edge-otp/totp/1";
/// HMAC label of an engine's fingerprint.
const FINGERPRINT_LABEL: &[u8] = b"edge-otp/totp/1 fingerprint";

/// Bytes of the AEAD nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of the AEAD tag.
pub(crate) const TAG_LEN: usize = 16;
/// Shortest seed accepted, in bytes (80 bits, what older authenticator set-ups used).
pub const MIN_SEED_BYTES: usize = 10;
/// Longest seed accepted, in bytes (the 64 bytes of RFC 6238's SHA-512 test seed).
pub const MAX_SEED_BYTES: usize = 64;
/// Bytes of a stored recovery-code hash (96 bits).
pub(crate) const RECOVERY_HASH_LEN: usize = 12;
/// Longest sealed seed: nonce, ciphertext, tag.
pub(crate) const MAX_SEALED: usize = NONCE_LEN + MAX_SEED_BYTES + TAG_LEN;
/// Shortest sealed seed.
pub(crate) const MIN_SEALED: usize = NONCE_LEN + MIN_SEED_BYTES + TAG_LEN;

/// What the seed is sealed under besides the subject: the enrollment's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u16,
}

/// A decrypted seed; wiped when dropped.
pub(crate) struct Seed {
    buf: Zeroizing<[u8; MAX_SEED_BYTES]>,
    len: usize,
}

impl Seed {
    /// A seed of `MIN_SEED_BYTES..=MAX_SEED_BYTES` bytes.
    pub(crate) fn new(bytes: &[u8]) -> Option<Seed> {
        if !(MIN_SEED_BYTES..=MAX_SEED_BYTES).contains(&bytes.len()) {
            return None;
        }
        let mut buf = Zeroizing::new([0u8; MAX_SEED_BYTES]);
        buf[..bytes.len()].copy_from_slice(bytes);
        Some(Seed {
            buf,
            len: bytes.len(),
        })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The per-engine TOTP master key.
#[derive(Clone)]
pub(crate) struct TotpKeys {
    master: Zeroizing<[u8; 32]>,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    // HMAC accepts keys of any length; the error case cannot happen.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    for p in parts {
        mac.update(p);
    }
    Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()))
}

/// `len(scope) || scope || len(user) as u16 || user`: scope is at most 32 bytes and user
/// at most 256 (checked by `Subject::new`), and the prefixes keep ("ab", "c") and
/// ("a", "bc") apart.
fn subject_parts<'a>(s: &'a Subject<'a>, lens: &'a mut [u8; 3]) -> [&'a [u8]; 4] {
    lens[0] = s.scope().len() as u8;
    lens[1..].copy_from_slice(&(s.user().len() as u16).to_be_bytes());
    let (scope_len, user_len) = lens.split_at(1);
    [
        scope_len,
        s.scope().as_bytes(),
        user_len,
        s.user().as_bytes(),
    ]
}

impl TotpKeys {
    pub(crate) fn new(secret: &[u8]) -> TotpKeys {
        TotpKeys {
            master: hmac(secret, &[MASTER_LABEL]),
        }
    }

    fn subject_key(&self, purpose: &[u8], subject: &Subject<'_>) -> Zeroizing<[u8; 32]> {
        let mut lens = [0u8; 3];
        let [a, b, c, d] = subject_parts(subject, &mut lens);
        hmac(
            &*self.master,
            &[&[purpose.len() as u8], purpose, a, b, c, d],
        )
    }

    fn cipher(&self, subject: &Subject<'_>) -> ChaCha20Poly1305 {
        let key = self.subject_key(b"seal", subject);
        ChaCha20Poly1305::new(&(*key).into())
    }

    fn aad(subject: &Subject<'_>, params: Params, out: &mut [u8; 512]) -> usize {
        let mut lens = [0u8; 3];
        let parts = subject_parts(subject, &mut lens);
        let period = params.period.to_be_bytes();
        let tail = [params.algorithm.tag(), params.digits, period[0], period[1]];
        let mut n = 0;
        for p in [AAD_DOMAIN].into_iter().chain(parts).chain([&tail[..]]) {
            out[n..n + p.len()].copy_from_slice(p);
            n += p.len();
        }
        n
    }

    /// `nonce || ciphertext || tag` of `seed` for `subject` and `params`.
    pub(crate) fn seal(
        &self,
        subject: &Subject<'_>,
        params: Params,
        seed: &Seed,
        nonce: [u8; NONCE_LEN],
    ) -> alloc::vec::Vec<u8> {
        let mut aad = [0u8; 512];
        let aad_len = Self::aad(subject, params, &mut aad);
        let mut buf = Zeroizing::new([0u8; MAX_SEED_BYTES]);
        let msg = &mut buf[..seed.len];
        msg.copy_from_slice(seed.bytes());
        // ChaCha20-Poly1305 fails only for messages beyond 256 GiB.
        let tag = self
            .cipher(subject)
            .encrypt_inout_detached(&nonce.into(), &aad[..aad_len], msg.into())
            .unwrap_or_default();
        let mut out = alloc::vec::Vec::with_capacity(NONCE_LEN + seed.len + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(msg);
        out.extend_from_slice(&tag);
        out
    }

    /// The seed sealed in `sealed`, or `None` if it was not sealed for this subject and
    /// these parameters under this app secret (or was altered).
    pub(crate) fn open(
        &self,
        subject: &Subject<'_>,
        params: Params,
        sealed: &[u8],
    ) -> Option<Seed> {
        if !(MIN_SEALED..=MAX_SEALED).contains(&sealed.len()) {
            return None;
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ct, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut aad = [0u8; 512];
        let aad_len = Self::aad(subject, params, &mut aad);
        let mut buf = Zeroizing::new([0u8; MAX_SEED_BYTES]);
        let msg = &mut buf[..ct.len()];
        msg.copy_from_slice(ct);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let tag: [u8; TAG_LEN] = tag.try_into().ok()?;
        self.cipher(subject)
            .decrypt_inout_detached(&nonce.into(), &aad[..aad_len], msg.into(), &tag.into())
            .ok()?;
        Seed::new(msg)
    }

    /// 128 bits of `HMAC-SHA256(M, label || message)`: a PRF output under the master key,
    /// which reveals nothing of the secret.
    pub(crate) fn fingerprint(&self, message: &[u8]) -> [u8; 16] {
        let tag = hmac(&*self.master, &[FINGERPRINT_LABEL, message]);
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag[..16]);
        out
    }

    /// The recovery-code hasher of `subject`.
    pub(crate) fn recovery(&self, subject: &Subject<'_>) -> RecoveryHasher {
        RecoveryHasher {
            key: self.subject_key(b"recovery", subject),
        }
    }
}

/// Hashes recovery codes under a subject's recovery key.
pub(crate) struct RecoveryHasher {
    key: Zeroizing<[u8; 32]>,
}

impl RecoveryHasher {
    pub(crate) fn hash(&self, code: &[u8]) -> [u8; RECOVERY_HASH_LEN] {
        let full = hmac(&*self.key, &[code]);
        let mut out = [0u8; RECOVERY_HASH_LEN];
        out.copy_from_slice(&full[..RECOVERY_HASH_LEN]);
        out
    }
}

/// Constant-time equality of two recovery hashes.
pub(crate) fn same_hash(
    a: &[u8; RECOVERY_HASH_LEN],
    b: &[u8; RECOVERY_HASH_LEN],
) -> subtle::Choice {
    a.ct_eq(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: Params = Params {
        algorithm: Algorithm::Sha1,
        digits: 6,
        period: 30,
    };

    fn keys() -> TotpKeys {
        TotpKeys::new(b"totp keys unit-test secret")
    }

    #[test]
    fn a_sealed_seed_opens_only_for_its_subject_parameters_and_secret() {
        let ada = Subject::new("totp", "ada").unwrap();
        let seed = Seed::new(b"12345678901234567890").unwrap();
        let sealed = keys().seal(&ada, PARAMS, &seed, [9; NONCE_LEN]);
        assert_eq!(sealed.len(), NONCE_LEN + 20 + TAG_LEN);
        assert!(!sealed.windows(20).any(|w| w == seed.bytes()));
        let opened = keys().open(&ada, PARAMS, &sealed).unwrap();
        assert_eq!(opened.bytes(), seed.bytes());

        let bob = Subject::new("totp", "bob").unwrap();
        assert!(keys().open(&bob, PARAMS, &sealed).is_none());
        let other_scope = Subject::new("totp2", "ada").unwrap();
        assert!(keys().open(&other_scope, PARAMS, &sealed).is_none());
        for params in [
            Params {
                digits: 8,
                ..PARAMS
            },
            Params {
                period: 60,
                ..PARAMS
            },
            Params {
                algorithm: Algorithm::Sha256,
                ..PARAMS
            },
        ] {
            assert!(keys().open(&ada, params, &sealed).is_none(), "{params:?}");
        }
        let other = TotpKeys::new(b"another secret of 16+ bytes");
        assert!(other.open(&ada, PARAMS, &sealed).is_none());
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN] ^= 1;
        assert!(keys().open(&ada, PARAMS, &flipped).is_none());
        assert!(keys()
            .open(&ada, PARAMS, &sealed[..MIN_SEALED - 1])
            .is_none());
    }

    #[test]
    fn length_prefixes_keep_scope_and_user_apart() {
        let seed = Seed::new(&[1; 20]).unwrap();
        let ab_c = Subject::new("ab", "c").unwrap();
        let a_bc = Subject::new("a", "bc").unwrap();
        let sealed = keys().seal(&ab_c, PARAMS, &seed, [0; NONCE_LEN]);
        assert!(keys().open(&a_bc, PARAMS, &sealed).is_none());
        assert_ne!(
            keys().recovery(&ab_c).hash(b"x"),
            keys().recovery(&a_bc).hash(b"x")
        );
    }

    #[test]
    fn recovery_hashes_depend_on_code_subject_and_secret() {
        let ada = Subject::new("totp", "ada").unwrap();
        let bob = Subject::new("totp", "bob").unwrap();
        let h = keys().recovery(&ada).hash(b"abcdefghjk");
        assert_eq!(h, keys().recovery(&ada).hash(b"abcdefghjk"));
        assert_ne!(h, keys().recovery(&ada).hash(b"abcdefghjm"));
        assert_ne!(h, keys().recovery(&bob).hash(b"abcdefghjk"));
        let other = TotpKeys::new(b"another secret of 16+ bytes");
        assert_ne!(h, other.recovery(&ada).hash(b"abcdefghjk"));
    }

    #[test]
    fn seeds_outside_the_length_bounds_are_refused() {
        assert!(Seed::new(&[0; MIN_SEED_BYTES - 1]).is_none());
        assert!(Seed::new(&[0; MAX_SEED_BYTES + 1]).is_none());
        assert!(Seed::new(&[0; MIN_SEED_BYTES]).is_some());
        assert!(Seed::new(&[0; MAX_SEED_BYTES]).is_some());
    }
}
