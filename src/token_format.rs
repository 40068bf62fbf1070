//! Bearer secrets Keyward hands out: access tokens (`kw_at_…`), refresh tokens (`kw_rt_…`),
//! authorization codes (`kw_ac_…`) and confidential clients' secrets (`kw_cs_…`).
//!
//! Each carries 256 random bits in base62 plus a CRC-32 checksum, like GitHub's tokens, so
//! secret scanners can recognise a real one and typos are rejected without a store lookup.
//! Only a SHA-256 hash of a token is ever stored; lookups go by hash, so neither the store
//! nor timing reveals the token.

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// The kinds of secret, each with its own prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
    Code,
    /// A confidential client's secret, shown once by `keyward clients add`.
    ClientSecret,
}

impl TokenKind {
    /// The prefix that tells a scanner (and a person) what the secret is.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Access => "kw_at_",
            Self::Refresh => "kw_rt_",
            Self::Code => "kw_ac_",
            Self::ClientSecret => "kw_cs_",
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 32 random bytes need 43 base62 digits.
const BODY_LEN: usize = 43;
/// A CRC-32 needs 6 base62 digits.
const CHECK_LEN: usize = 6;

/// A freshly issued secret: the plaintext to hand out once, and the hash to store.
pub struct Issued {
    pub plaintext: String,
    pub hash: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Issued {{ hash: {} }}", self.hash)
    }
}

/// Makes a new secret of the given kind.
pub fn issue(kind: TokenKind) -> Issued {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let mut plaintext = String::with_capacity(kind.prefix().len() + BODY_LEN + CHECK_LEN);
    plaintext.push_str(kind.prefix());
    plaintext.push_str(&base62(&random, BODY_LEN));
    let check = crc32fast::hash(plaintext.as_bytes());
    plaintext.push_str(&base62(&check.to_be_bytes(), CHECK_LEN));
    let hash = hash(&plaintext);
    Issued { plaintext, hash }
}

/// Checks a presented secret's shape and checksum; returns its hash for lookup, or `None`
/// when it cannot be a secret of this kind.
pub fn parse(kind: TokenKind, presented: &str) -> Option<String> {
    let body = presented.strip_prefix(kind.prefix())?;
    if body.len() != BODY_LEN + CHECK_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (signed, check) = presented.split_at(presented.len() - CHECK_LEN);
    let expected = base62(&crc32fast::hash(signed.as_bytes()).to_be_bytes(), CHECK_LEN);
    if !constant_time_eq(check.as_bytes(), expected.as_bytes()) {
        return None;
    }
    Some(hash(presented))
}

/// SHA-256 of a secret, hex: the only form in which secrets are stored.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A random value for sessions, CSRF tokens and ids that are secrets but not bearer tokens:
/// 32 bytes, base64url.
pub fn random_secret() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Big-endian bytes in base62, left-padded with zeros to `width` digits.
fn base62(bytes: &[u8], width: usize) -> String {
    let mut num = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while num.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for byte in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            rem = acc % 62;
        }
        digits.push(BASE62[rem as usize]);
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base62 is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_have_prefix_length_and_checksum() {
        let t = issue(TokenKind::Access);
        assert!(t.plaintext.starts_with("kw_at_"));
        assert_eq!(t.plaintext.len(), 6 + BODY_LEN + CHECK_LEN);
        assert_eq!(parse(TokenKind::Access, &t.plaintext), Some(t.hash.clone()));
        assert_eq!(t.hash, hash(&t.plaintext));
        assert_ne!(issue(TokenKind::Access).plaintext, t.plaintext);
        assert!(!format!("{t:?}").contains(&t.plaintext));
    }

    #[test]
    fn wrong_kind_typo_or_garbage_is_rejected() {
        let t = issue(TokenKind::Refresh);
        assert_eq!(parse(TokenKind::Access, &t.plaintext), None);
        let mut typo = t.plaintext.clone().into_bytes();
        let i = 10;
        typo[i] = if typo[i] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            parse(TokenKind::Refresh, std::str::from_utf8(&typo).unwrap()),
            None
        );
        assert_eq!(parse(TokenKind::Access, "kw_at_"), None);
        assert_eq!(parse(TokenKind::Access, "sk-proj-abc"), None);
        let long = format!("{}x", t.plaintext);
        assert_eq!(parse(TokenKind::Refresh, &long), None);
    }

    #[test]
    fn base62_is_fixed_width_and_exact() {
        assert_eq!(base62(&[0, 0], 3), "000");
        assert_eq!(base62(&[0, 61], 2), "0z");
        assert_eq!(base62(&[0, 62], 2), "10");
        assert_eq!(base62(&[0xff; 32], BODY_LEN).len(), BODY_LEN);
        assert_eq!(base62(&u32::MAX.to_be_bytes(), CHECK_LEN).len(), CHECK_LEN);
    }
}
