//! The master key ring: 256-bit keys with stable ids, newest (active) first.
//!
//! A key's id is derived from the key (`mk-` + 12 hex digits of a SHA-256 over it), so a wrong
//! key can never masquerade under the right id: loading checks that every id the store depends
//! on is in the ring and stops with instructions otherwise. Nothing here ever creates a new key
//! over existing data.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::VaultError;
use crate::config::MasterKeySource;
use crate::store::Store;

/// One 256-bit master key and its id.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, redacted)", self.id)
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> MasterKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        MasterKey::from_bytes(bytes)
    }

    fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> MasterKey {
        let digest = Sha256::new()
            .chain_update(b"keyward master key id\0")
            .chain_update(bytes.as_ref())
            .finalize();
        let id = format!("mk-{}", hex(&digest[..6]));
        MasterKey { id, bytes }
    }

    /// Parses a key written as base64url (43 characters, 32 bytes).
    pub fn from_base64(text: &str) -> Result<MasterKey, VaultError> {
        let decoded = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(text.trim().trim_end_matches('='))
                .map_err(|_| VaultError::BadMasterKey("not base64url".into()))?,
        );
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| {
            VaultError::BadMasterKey(format!(
                "a master key must be 32 bytes (43 base64url characters), this one is {} bytes",
                decoded.len()
            ))
        })?;
        Ok(MasterKey::from_bytes(Zeroizing::new(bytes)))
    }

    /// The key as base64url, for writing to a key file or printing once.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.bytes.as_ref()))
    }

    /// The key's id (safe to log and store).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(super) fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }
}

/// Master keys, the first of which seals new entries; the others still open old ones.
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Vec<MasterKey>,
}

impl KeyRing {
    /// A ring from keys, newest first. Refuses an empty ring and duplicates.
    pub fn new(keys: Vec<MasterKey>) -> Result<KeyRing, VaultError> {
        if keys.is_empty() {
            return Err(VaultError::KeyRing("the master key ring is empty".into()));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(VaultError::KeyRing(format!(
                    "master key {} appears twice in the ring",
                    k.id
                )));
            }
        }
        Ok(KeyRing { keys })
    }

    /// Parses a ring: keys separated by commas or new lines, newest first; `#` starts a comment.
    pub fn parse(text: &str) -> Result<KeyRing, VaultError> {
        let keys = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default())
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(MasterKey::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        KeyRing::new(keys)
    }

    /// The key that seals new entries.
    pub fn active(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// A key by id.
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Every key id in the ring, active first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// A new ring with `key` in front as the active key.
    pub fn with_new_active(&self, key: MasterKey) -> Result<KeyRing, VaultError> {
        let mut keys = vec![key];
        keys.extend(self.keys.iter().cloned());
        KeyRing::new(keys)
    }

    /// The ring in key-file form: one key per line, active first.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::from(
            "# Keyward master key ring: one base64url key per line, the first seals new data.\n\
             # Keep this file secret and backed up: without it the vault cannot be opened.\n",
        ));
        for k in &self.keys {
            text.push_str(&k.to_base64());
            text.push('\n');
        }
        text
    }

    /// Loads the ring from its source and checks it against the store: every master key id
    /// that sealed data depends on must be present. The embedded default generates
    /// `<data-dir>/master.key` (mode 0600) only when the store holds no sealed data at all.
    pub async fn load(source: &MasterKeySource, store: &Store) -> Result<KeyRing, VaultError> {
        let in_use = store
            .master_key_ids_in_use()
            .await
            .map_err(|e| VaultError::KeyRing(format!("cannot read the store: {e}")))?;
        let ring = match source {
            MasterKeySource::Env(text) => KeyRing::parse(text).map_err(|e| {
                VaultError::KeyRing(format!("KEYWARD_MASTER_KEY is not a valid key ring: {e}"))
            })?,
            MasterKeySource::File(path) => read_ring_file(path)?,
            MasterKeySource::Generated(path) if path.exists() => read_ring_file(path)?,
            MasterKeySource::Generated(path) => {
                if !in_use.is_empty() {
                    return Err(VaultError::KeyRing(format!(
                        "the store holds data sealed under master key {} but {} does not exist. \
                         Restore that file from your backup, or pass the key with \
                         KEYWARD_MASTER_KEY or --master-key-file. Keyward will not create a new \
                         key over existing data.",
                        describe(&in_use),
                        path.display()
                    )));
                }
                let ring = KeyRing::new(vec![MasterKey::generate()])?;
                write_ring_file(path, &ring, true)?;
                tracing::info!(path = %path.display(), key_id = ring.active().id(), "generated a new master key");
                ring
            }
        };
        if in_use.iter().any(|(id, _)| ring.get(id).is_none()) {
            return Err(VaultError::KeyRing(mismatch(source, &ring, &in_use)));
        }
        Ok(ring)
    }
}

/// Why a ring cannot open the store's data: which keys are missing, what was tried (the ring's
/// source and its key ids) and which key ids the store needs; never key material.
fn mismatch(source: &MasterKeySource, ring: &KeyRing, in_use: &[(String, i64)]) -> String {
    let missing: Vec<(String, i64)> = in_use
        .iter()
        .filter(|(id, _)| ring.get(id).is_none())
        .cloned()
        .collect();
    let tried = match source {
        MasterKeySource::Env(_) => {
            "KEYWARD_MASTER_KEY (which wins over any key file) holds".to_owned()
        }
        MasterKeySource::File(p) => {
            format!("the key file {} (--master-key-file) holds", p.display())
        }
        MasterKeySource::Generated(p) => {
            format!("{} (the data directory's own key file) holds", p.display())
        }
    };
    let missing_ids: Vec<&str> = missing.iter().map(|(id, _)| id.as_str()).collect();
    // Named apart only when the ring has some of them: the first sentence names the rest.
    let needs = if missing.len() < in_use.len() {
        format!(" The store needs all of {}.", describe(in_use))
    } else {
        String::new()
    };
    format!(
        "the store holds data sealed under master key {}, which this instance does not have: \
         {tried} {}.{needs} Start it with the same master key as the instance that wrote the \
         data: the ring holding {} in KEYWARD_MASTER_KEY, or in a key file given with \
         --master-key-file.",
        describe(&missing),
        ring.ids().join(", "),
        missing_ids.join(" and "),
    )
}

fn describe(ids: &[(String, i64)]) -> String {
    ids.iter()
        .map(|(id, n)| format!("{id} ({n} item{})", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_ring_file(path: &Path) -> Result<KeyRing, VaultError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        VaultError::KeyRing(format!(
            "cannot read master key file {}: {e}",
            path.display()
        ))
    })?);
    warn_if_readable_by_others(path);
    KeyRing::parse(&text).map_err(|e| {
        VaultError::KeyRing(format!(
            "master key file {} is not valid: {e}",
            path.display()
        ))
    })
}

/// Writes a ring file with mode 0600. `create_new` refuses to overwrite (first start);
/// otherwise the file is replaced atomically through a temporary file and a rename.
pub fn write_ring_file(path: &Path, ring: &KeyRing, create_new: bool) -> Result<(), VaultError> {
    let fail = |e: std::io::Error| {
        VaultError::KeyRing(format!(
            "cannot write master key file {}: {e}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let target: PathBuf = if create_new {
        path.to_path_buf()
    } else {
        path.with_extension("key.new")
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if !create_new {
        let _ = std::fs::remove_file(&target);
    }
    let mut file = options.open(&target).map_err(fail)?;
    file.write_all(ring.to_file_text().as_bytes())
        .map_err(fail)?;
    file.sync_all().map_err(fail)?;
    if !create_new {
        std::fs::rename(&target, path).map_err(fail)?;
    }
    Ok(())
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "master key file is readable by other users; chmod 600 it");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let k = MasterKey::generate();
        let again = MasterKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(k.id(), again.id());
        assert_ne!(k.id(), MasterKey::generate().id());
        assert!(k.id().starts_with("mk-") && k.id().len() == 15);
    }

    #[test]
    fn parse_accepts_lines_commas_and_comments() {
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        let text = format!("# ring\n{}, {}\n", &*a.to_base64(), &*b.to_base64());
        let ring = KeyRing::parse(&text).unwrap();
        assert_eq!(ring.ids(), vec![a.id(), b.id()]);
        assert_eq!(ring.active().id(), a.id());
        let back = KeyRing::parse(&ring.to_file_text()).unwrap();
        assert_eq!(back.ids(), ring.ids());
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        assert!(matches!(
            MasterKey::from_base64("short"),
            Err(VaultError::BadMasterKey(_))
        ));
        assert!(matches!(
            MasterKey::from_base64("!!!"),
            Err(VaultError::BadMasterKey(_))
        ));
        assert!(KeyRing::parse("# nothing\n").is_err());
        let k = MasterKey::generate();
        let dup = format!("{},{}", &*k.to_base64(), &*k.to_base64());
        assert!(KeyRing::parse(&dup).is_err());
    }

    #[test]
    fn a_mismatch_names_what_was_tried_and_what_the_store_needs() {
        let (old, other, tried) = (
            MasterKey::generate(),
            MasterKey::generate(),
            MasterKey::generate(),
        );
        let ring = KeyRing::new(vec![tried.clone(), other.clone()]).unwrap();
        let in_use = vec![(old.id().to_owned(), 3), (other.id().to_owned(), 1)];
        let file = MasterKeySource::File(PathBuf::from("/etc/keyward/new.key"));
        let said = mismatch(&file, &ring, &in_use);
        for expected in [
            format!("sealed under master key {} (3 items), which", old.id()),
            format!(
                "the key file /etc/keyward/new.key (--master-key-file) holds {}, {}.",
                tried.id(),
                other.id()
            ),
            format!(
                "needs all of {} (3 items), {} (1 item).",
                old.id(),
                other.id()
            ),
            format!("the ring holding {} in KEYWARD_MASTER_KEY", old.id()),
        ] {
            assert!(said.contains(&expected), "{expected:?} missing: {said}");
        }
        assert!(!said.contains("original"), "{said}");
        let env = MasterKeySource::Env(Zeroizing::new(tried.to_base64().to_string()));
        let said = mismatch(&env, &ring, &in_use);
        assert!(
            said.contains(&format!(
                "KEYWARD_MASTER_KEY (which wins over any key file) holds {}",
                tried.id()
            )),
            "{said}"
        );
        for key in [&old, &other, &tried] {
            assert!(!said.contains(key.to_base64().as_str()));
        }
    }

    #[test]
    fn debug_never_shows_key_material() {
        let k = MasterKey::generate();
        let shown = format!("{k:?} {:?}", KeyRing::new(vec![k.clone()]).unwrap());
        assert!(!shown.contains(&*k.to_base64()));
    }
}
