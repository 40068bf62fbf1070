//! Master key rotation: put a new key in front of the ring, then re-wrap every sealed item
//! (provider keys and signing keys) under it. Items under older ids keep opening throughout,
//! because the old keys stay in the ring until the operator removes them.

use super::keyring::write_ring_file;
use super::{KeyRing, MasterKey, VaultError};
use crate::config::MasterKeySource;
use crate::store::{Store, StoreError, signing_keys};

/// What a rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// The key that now seals everything.
    pub active_key_id: String,
    /// True when a new key was generated and written to the key file.
    pub added_key: bool,
    pub rewrapped_vault_entries: usize,
    pub rewrapped_signing_keys: usize,
    /// Entries that changed while we worked (e.g. a key replaced meanwhile); they were sealed
    /// under the active key by whoever changed them.
    pub skipped: usize,
}

/// Why a rotation stopped. Nothing is lost: each item is replaced only after its new wrap
/// is written, and only if it still holds the wrap we opened.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `keyward vault rotate`: with a key file (generated or given), adds a new active key to it;
/// with `KEYWARD_MASTER_KEY`, uses the ring as given (the operator put the new key first).
/// Then re-wraps everything under the active key.
pub async fn rotate(
    source: &MasterKeySource,
    store: &Store,
) -> Result<RotationReport, RotateError> {
    let ring = KeyRing::load(source, store).await?;
    let (ring, added_key) = match source {
        MasterKeySource::File(path) | MasterKeySource::Generated(path) => {
            let ring = ring.with_new_active(MasterKey::generate())?;
            write_ring_file(path, &ring, false)?;
            (ring, true)
        }
        MasterKeySource::Env(_) => (ring, false),
    };
    let mut report = rewrap_all(&ring, store).await?;
    report.added_key = added_key;
    Ok(report)
}

/// Re-wraps every item not yet under the ring's active key.
pub async fn rewrap_all(ring: &KeyRing, store: &Store) -> Result<RotationReport, RotateError> {
    let active = ring.active().id().to_owned();
    let mut report = RotationReport {
        active_key_id: active.clone(),
        ..Default::default()
    };
    for entry in store.all_vault_entries().await? {
        if entry.key_id == active {
            continue;
        }
        let plain = ring.open(&entry.user_id, &entry.jwe)?;
        let sealed = ring.seal(&entry.user_id, &plain)?;
        if store
            .rewrap_vault_entry(&entry.user_id, &entry.jwe, &sealed.key_id, &sealed.jwe)
            .await?
        {
            report.rewrapped_vault_entries += 1;
        } else {
            report.skipped += 1;
        }
    }
    for key in store.signing_keys().await? {
        if key.key_id == active {
            continue;
        }
        let owner = signing_keys::vault_owner(&key.kid);
        let plain = ring.open(&owner, &key.private_jwe)?;
        let sealed = ring.seal(&owner, &plain)?;
        store
            .rewrap_signing_key(&key.kid, &sealed.key_id, &sealed.jwe)
            .await?;
        report.rewrapped_signing_keys += 1;
    }
    Ok(report)
}
