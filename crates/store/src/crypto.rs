//! Sealing of personal values (ID numbers, phones) at rest: ChaCha20-Poly1305 with a random
//! 96-bit nonce per value. A sealed value is `v1:` and the base64 of nonce || ciphertext || tag;
//! the version prefix leaves room to change the cipher or rotate keys later.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, Generate, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::{StoreError, StoreResult};

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The data key's cipher. Cloning is cheap (the expanded key only).
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl Sealer {
    pub(crate) fn new(key: &[u8; 32]) -> Sealer {
        Sealer { cipher: ChaCha20Poly1305::new(&Key::from(*key)) }
    }

    pub(crate) fn seal(&self, value: &str) -> String {
        // 2^32 random nonces per key stay far below the collision bound; a county has ~10^6.
        let nonce = Nonce::generate();
        let sealed = self.cipher.encrypt(&nonce, value.as_bytes()).expect("messages this small always encrypt");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        let mut out = String::with_capacity(PREFIX.len() + bytes.len().div_ceil(3) * 4);
        out.push_str(PREFIX);
        B64.encode_string(&bytes, &mut out);
        out
    }

    pub(crate) fn open(&self, sealed: &str) -> StoreResult<String> {
        // Not a caller's mistake: a sealed value that does not open means a wrong data key or
        // altered rows, which the operator must see.
        let fail = || StoreError::Config("a sealed value does not open: wrong data key, or the row was altered".into());
        let body = sealed.strip_prefix(PREFIX).ok_or_else(fail)?;
        let bytes = B64.decode(body).map_err(|_| fail())?;
        if bytes.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| fail())?;
        let clear = self.cipher.decrypt(&nonce, ciphertext).map_err(|_| fail())?;
        String::from_utf8(clear).map_err(|_| fail())
    }
}

/// Maps `f` over `items` on every core, in order: sealing a county's million values one after
/// the other would hold up its bulk load.
pub(crate) fn par_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<U>>())).collect();
        parts.into_iter().flat_map(|p| p.join().expect("a sealing thread panicked")).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip() {
        let s = Sealer::new(&KEY);
        for v in ["350322199001011234", "13812345678", "", "0594-8251825", "名字"] {
            let sealed = s.seal(v);
            assert!(sealed.starts_with("v1:"));
            assert!(!sealed.contains(v) || v.is_empty());
            assert_eq!(s.open(&sealed).unwrap(), v);
        }
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let s = Sealer::new(&KEY);
        let (a, b) = (s.seal("13812345678"), s.seal("13812345678"));
        assert_ne!(a, b);
        assert_eq!(s.open(&a).unwrap(), s.open(&b).unwrap());
    }

    #[test]
    fn tampering_is_detected() {
        let s = Sealer::new(&KEY);
        let sealed = s.seal("350322199001011234");
        let mut bytes = B64.decode(&sealed[3..]).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let altered = format!("v1:{}", B64.encode(&bytes));
            assert!(matches!(s.open(&altered), Err(StoreError::Config(_))), "byte {i}");
            bytes[i] ^= 1;
        }
        // Truncated, unprefixed and malformed values are refused too.
        assert!(s.open(&sealed[..sealed.len() - 4]).is_err());
        assert!(s.open(&sealed[3..]).is_err());
        assert!(s.open("v1:!!").is_err());
        assert!(s.open("v1:").is_err());
        assert!(s.open("350322199001011234").is_err());
    }

    #[test]
    fn par_map_keeps_the_order() {
        let items: Vec<usize> = (0..1001).collect();
        assert_eq!(par_map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(par_map(&[] as &[usize], |i| *i).is_empty());
    }

    #[test]
    fn a_wrong_key_fails() {
        let sealed = Sealer::new(&KEY).seal("13812345678");
        let mut other = KEY;
        other[31] ^= 1;
        assert!(Sealer::new(&other).open(&sealed).is_err());
    }
}
