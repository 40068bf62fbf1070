//! Sealing and opening one vault entry as a compact JWE.
//!
//! Only `alg: A256KW` with `enc: A256GCM` is produced or accepted; `zip`, `crit`,
//! PBES2 and RSA are refused before any decryption is attempted. The owner's id travels in the
//! protected header (`uid`), which AES-GCM authenticates, so an entry opens only for its owner;
//! the master key id travels as `kid`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwe::{self, JweHeader};
use serde_json::Value;
use zeroize::Zeroizing;

use super::{KeyRing, VaultError};

/// A sealed entry and the master key id that sealed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub jwe: String,
}

impl KeyRing {
    /// Seals `plaintext` for `owner` under the active master key.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
        let key = self.active();
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        header.set_key_id(key.id());
        header
            .set_claim("uid", Some(Value::String(owner.to_owned())))
            .map_err(|e| VaultError::Seal(e.to_string()))?;
        let encrypter = jwe::A256KW
            .encrypter_from_bytes(key.bytes())
            .map_err(|e| VaultError::BadMasterKey(e.to_string()))?;
        let jwe = jwe::serialize_compact(plaintext, &header, &encrypter)
            .map_err(|e| VaultError::Seal(e.to_string()))?;
        Ok(Sealed {
            key_id: key.id().to_owned(),
            jwe,
        })
    }

    /// Opens an entry sealed for `owner`.
    pub fn open(&self, owner: &str, sealed_jwe: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let kid = checked_key_id(sealed_jwe, owner)?;
        let key = self
            .get(&kid)
            .ok_or_else(|| VaultError::UnknownKeyId(kid.clone()))?;
        let decrypter = jwe::A256KW
            .decrypter_from_bytes(key.bytes())
            .map_err(|e| VaultError::BadMasterKey(e.to_string()))?;
        let (payload, _) =
            jwe::deserialize_compact_with_selector(sealed_jwe, |_| Ok(Some(&decrypter)))
                .map_err(|_| VaultError::Tampered)?;
        Ok(Zeroizing::new(payload))
    }
}

/// Reads the protected header, enforces the pinned algorithms and the owner binding, and
/// returns the master key id.
fn checked_key_id(sealed_jwe: &str, owner: &str) -> Result<String, VaultError> {
    let encoded = sealed_jwe.split('.').next().ok_or(VaultError::Tampered)?;
    if sealed_jwe.split('.').count() != 5 {
        return Err(VaultError::Tampered);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| VaultError::Tampered)?;
    let fields: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| VaultError::Tampered)?;
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    let alg = text("alg").unwrap_or_default();
    if alg != "A256KW" {
        return Err(VaultError::RefusedAlgorithm(format!("alg {alg:?}")));
    }
    let enc = text("enc").unwrap_or_default();
    if enc != "A256GCM" {
        return Err(VaultError::RefusedAlgorithm(format!("enc {enc:?}")));
    }
    for refused in ["zip", "crit", "p2s", "p2c", "jku", "jwk", "x5u"] {
        if fields.contains_key(refused) {
            return Err(VaultError::RefusedAlgorithm(format!(
                "header parameter {refused:?}"
            )));
        }
    }
    let kid = text("kid").ok_or(VaultError::Tampered)?.to_owned();
    if text("uid") != Some(owner) {
        return Err(VaultError::WrongOwner);
    }
    Ok(kid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::MasterKey;

    fn ring() -> KeyRing {
        KeyRing::new(vec![MasterKey::generate()]).unwrap()
    }

    fn header_of(jwe: &str) -> serde_json::Map<String, Value> {
        let h = jwe.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
    }

    fn with_header(jwe: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut h = header_of(jwe);
        edit(&mut h);
        let rest: Vec<&str> = jwe.split('.').skip(1).collect();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h).unwrap()),
            rest.join(".")
        )
    }

    #[test]
    fn round_trip_names_key_and_owner() {
        let r = ring();
        let s = r.seal("user-1", b"sk-secret").unwrap();
        assert_eq!(s.key_id, r.active().id());
        let h = header_of(&s.jwe);
        assert_eq!(h["alg"], "A256KW");
        assert_eq!(h["enc"], "A256GCM");
        assert_eq!(h["kid"], r.active().id());
        assert_eq!(h["uid"], "user-1");
        assert!(!s.jwe.contains("sk-secret"));
        assert_eq!(&r.open("user-1", &s.jwe).unwrap()[..], b"sk-secret");
    }

    #[test]
    fn another_owner_cannot_open() {
        let r = ring();
        let s = r.seal("user-1", b"sk-secret").unwrap();
        assert!(matches!(
            r.open("user-2", &s.jwe),
            Err(VaultError::WrongOwner)
        ));
        // Rewriting the owner in the header breaks the authentication tag.
        let forged = with_header(&s.jwe, |h| {
            h.insert("uid".into(), "user-2".into());
        });
        assert!(matches!(
            r.open("user-2", &forged),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn tampering_is_detected() {
        let r = ring();
        let s = r.seal("u", b"sk-secret").unwrap();
        let mut parts: Vec<String> = s.jwe.split('.').map(str::to_owned).collect();
        let mut ct = URL_SAFE_NO_PAD.decode(&parts[3]).unwrap();
        ct[0] ^= 1;
        parts[3] = URL_SAFE_NO_PAD.encode(ct);
        assert!(matches!(
            r.open("u", &parts.join(".")),
            Err(VaultError::Tampered)
        ));
        assert!(matches!(
            r.open("u", "not a jwe"),
            Err(VaultError::Tampered)
        ));
    }

    #[test]
    fn unknown_key_id_is_named() {
        let s = ring().seal("u", b"k").unwrap();
        match ring().open("u", &s.jwe) {
            Err(VaultError::UnknownKeyId(id)) => assert_eq!(id, s.key_id),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refused_algorithms_never_reach_decryption() {
        let r = ring();
        let s = r.seal("u", b"k").unwrap();
        for (name, value) in [
            ("alg", "PBES2-HS512+A256KW"),
            ("alg", "RSA1_5"),
            ("alg", "dir"),
            ("enc", "A128CBC-HS256"),
            ("zip", "DEF"),
            ("p2c", "1000000000"),
        ] {
            let forged = with_header(&s.jwe, |h| {
                h.insert(name.into(), value.into());
            });
            assert!(
                matches!(r.open("u", &forged), Err(VaultError::RefusedAlgorithm(_))),
                "{name}={value} was not refused"
            );
        }
    }
}
