//! Where the master key ring comes from. The key itself is never a flag or a `keyward.toml`
//! key: command lines are visible to every user of the machine, and config files get copied.

use std::path::PathBuf;

/// The environment variable that carries the master key ring itself.
pub const MASTER_KEY_ENV: &str = "KEYWARD_MASTER_KEY";

/// What `docs/configuration.md` says of [`MASTER_KEY_ENV`].
pub(super) const MASTER_KEY_ENV_MEANING: &str = "The master key ring itself: base64url keys, \
    comma separated, newest first. It wins over any key file, and is deliberately not a flag: \
    command lines are visible to every user of the machine";

/// The three places a master key ring can come from, in the order they are looked at.
#[derive(Clone)]
pub enum MasterKeySource {
    /// `KEYWARD_MASTER_KEY`: one or more comma-separated base64url keys, newest first.
    Env(zeroize::Zeroizing<String>),
    /// An operator-managed key file (`--master-key-file`), one key per line, newest first.
    File(PathBuf),
    /// The embedded default: `<data-dir>/master.key`, generated on first start.
    Generated(PathBuf),
}

impl MasterKeySource {
    /// Picks the source: a non-blank `KEYWARD_MASTER_KEY`, else the key file, else the
    /// generated file in the data directory.
    pub(super) fn pick(
        env: Option<String>,
        file: Option<PathBuf>,
        data_dir: &std::path::Path,
    ) -> MasterKeySource {
        match (env.filter(|k| !k.trim().is_empty()), file) {
            (Some(keys), _) => Self::Env(zeroize::Zeroizing::new(keys)),
            (None, Some(path)) => Self::File(path),
            (None, None) => Self::Generated(data_dir.join("master.key")),
        }
    }
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(_) => f.write_str("Env(KEYWARD_MASTER_KEY, redacted)"),
            Self::File(p) => write!(f, "File({})", p.display()),
            Self::Generated(p) => write!(f, "Generated({})", p.display()),
        }
    }
}
