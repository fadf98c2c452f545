//! Secrets at rest (credentials, webhook signing keys) are sealed with XChaCha20-Poly1305 under
//! the instance's 32-byte encryption key, with a fresh random nonce each time. A sealed value is
//! `v1.` and the base64url of nonce and ciphertext; a value sealed under another key, or changed,
//! does not open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const VERSION: &str = "v1.";
const NONCE: usize = 24;
pub const KEY_BYTES: usize = 32;

pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    /// A sealer with the first 32 bytes of `key`.
    pub fn new(key: &[u8]) -> Result<Sealer, String> {
        let key = key.get(..KEY_BYTES).ok_or_else(|| format!("the encryption key needs {KEY_BYTES} bytes"))?;
        Ok(Sealer { cipher: XChaCha20Poly1305::new(key.into()) })
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption into a Vec only fails on allocation, which aborts anyway.
        let sealed = self.cipher.encrypt(&nonce, plain.as_bytes()).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn open(&self, sealed: &str) -> Result<String, String> {
        let unreadable = || "A stored secret could not be decrypted (was the encryption key changed?).".to_owned();
        let bytes = sealed.strip_prefix(VERSION).and_then(|b| URL_SAFE_NO_PAD.decode(b).ok()).ok_or_else(unreadable)?;
        if bytes.len() < NONCE {
            return Err(unreadable());
        }
        let (nonce, text) = bytes.split_at(NONCE);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), text).map_err(|_| unreadable())?;
        String::from_utf8(plain).map_err(|_| unreadable())
    }
}

/// A random token of `bytes` bytes, base64url: for secret URLs and keys.
pub fn token(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(raw)
}

/// The hex SHA-256 of `token`: what is stored of tokens that are looked up, never read back
/// (session ids, invitation and webhook tokens).
pub fn digest(token: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_unchanged() {
        let sealer = Sealer::new(&[7; 32]).expect("key");
        let sealed = sealer.seal("hunter2");
        assert!(sealed.starts_with("v1.") && !sealed.contains("hunter2"));
        assert_ne!(sealed, sealer.seal("hunter2"), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).as_deref(), Ok("hunter2"));
        let other = Sealer::new(&[8; 32]).expect("key");
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(sealer.open(&String::from_utf8(tampered).expect("ascii")).is_err());
        assert!(sealer.open("plain text").is_err());
        assert!(Sealer::new(&[1; 16]).is_err());
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let a = token(24);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, token(24));
    }
}
