//! The vault: provider keys (and ID token signing keys) sealed as JWE under a master key ring.
//!
//! * [`keyring`] loads the ring (env, key file, or the generated embedded default) and refuses
//!   to start when the store holds entries sealed under keys the ring lacks.
//! * [`jwe`] seals and opens entries: A256KW + A256GCM only, owner bound in the protected header.
//! * [`rotate`] re-wraps every entry under the ring's active key.

pub mod jwe;
pub mod keyring;
pub mod rotate;

pub use jwe::Sealed;
pub use keyring::{KeyRing, MasterKey};

/// Why an entry could not be sealed or opened, or the ring could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The entry is sealed for another user: it was copied to a row it does not belong to.
    #[error("vault entry belongs to another owner")]
    WrongOwner,
    /// The entry names a master key id this instance does not have.
    #[error(
        "vault entry is sealed under master key id {0:?}, which is not in this instance's key ring"
    )]
    UnknownKeyId(String),
    /// The ciphertext, tag or header was altered, or the entry is not a JWE we produce.
    #[error("vault entry failed integrity checks (tampered or corrupt)")]
    Tampered,
    /// The entry uses an algorithm outside the pinned set (A256KW + A256GCM, no zip).
    #[error("vault entry uses a refused algorithm: {0}")]
    RefusedAlgorithm(String),
    /// A master key is malformed or unusable.
    #[error("bad master key: {0}")]
    BadMasterKey(String),
    /// The ring cannot be loaded; the message says how to fix it.
    #[error("{0}")]
    KeyRing(String),
    /// Encryption itself failed (should not happen with a valid key).
    #[error("sealing failed: {0}")]
    Seal(String),
}

/// A provider API key in memory. Wiped on drop; `Debug` never prints it.
#[derive(Clone)]
pub struct ProviderKey(zeroize::Zeroizing<String>);

impl ProviderKey {
    /// Wraps a key (trimmed of surrounding white space, as pasted).
    pub fn new(key: &str) -> ProviderKey {
        ProviderKey(zeroize::Zeroizing::new(key.trim().to_owned()))
    }

    /// The key itself, for the upstream `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderKey(redacted)")
    }
}

/// The running instance's vault: the key ring plus where it came from. When an entry names a
/// key id the ring lacks and the ring lives in a file, the file is read again once, so a
/// `keyward vault rotate` run beside a serving instance takes effect without a restart.
pub struct Vault {
    ring: std::sync::RwLock<std::sync::Arc<KeyRing>>,
    source: crate::config::MasterKeySource,
}

impl Vault {
    /// Wraps a loaded ring.
    pub fn new(ring: KeyRing, source: crate::config::MasterKeySource) -> Vault {
        Vault {
            ring: std::sync::RwLock::new(std::sync::Arc::new(ring)),
            source,
        }
    }

    /// The current ring.
    pub fn ring(&self) -> std::sync::Arc<KeyRing> {
        self.ring.read().expect("vault lock").clone()
    }

    /// Seals data for `owner` under the active key.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<Sealed, VaultError> {
        self.ring().seal(owner, plaintext)
    }

    /// Opens data sealed for `owner`, re-reading a file-based ring once on an unknown key id.
    pub fn open(&self, owner: &str, jwe: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, VaultError> {
        match self.ring().open(owner, jwe) {
            Err(VaultError::UnknownKeyId(id)) => {
                let path = match &self.source {
                    crate::config::MasterKeySource::File(p)
                    | crate::config::MasterKeySource::Generated(p) => p,
                    crate::config::MasterKeySource::Env(_) => {
                        return Err(VaultError::UnknownKeyId(id));
                    }
                };
                let text = std::fs::read_to_string(path)
                    .map_err(|_| VaultError::UnknownKeyId(id.clone()))?;
                let fresh = KeyRing::parse(&text)?;
                if fresh.get(&id).is_none() {
                    return Err(VaultError::UnknownKeyId(id));
                }
                tracing::info!(key_id = %id, "reloaded the master key ring from its file");
                *self.ring.write().expect("vault lock") = std::sync::Arc::new(fresh);
                self.ring().open(owner, jwe)
            }
            other => other,
        }
    }

    /// Seals a person's provider key for the store.
    pub fn seal_provider_key(
        &self,
        user_id: &str,
        key: &ProviderKey,
    ) -> Result<Sealed, VaultError> {
        self.seal(user_id, key.expose().as_bytes())
    }

    /// Opens a person's provider key.
    pub fn open_provider_key(&self, user_id: &str, jwe: &str) -> Result<ProviderKey, VaultError> {
        let bytes = self.open(user_id, jwe)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| VaultError::Tampered)?;
        Ok(ProviderKey::new(text))
    }
}
