//! The `keyward.toml` layer: read, checked for keys Keyward does not know, and split into the
//! settings (a figment provider, so that errors name the file) and the price table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map};
use figment::{Metadata, Profile, Provider, Source};
use serde::Deserialize;

use super::ConfigError;
use super::args::SettingsArgs;
use crate::metering::prices::Price;

/// A config file that was found and parsed.
pub(super) struct ConfigFile {
    path: PathBuf,
    settings: toml::Table,
    /// `[prices."model"]` tables: USD per million tokens.
    pub prices: BTreeMap<String, Price>,
}

/// The one table that is not a setting.
#[derive(Deserialize)]
struct PriceSection {
    #[serde(default)]
    prices: BTreeMap<String, Price>,
}

impl ConfigFile {
    /// Reads `explicit`, which must exist, or else `./keyward.toml` when it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Option<ConfigFile>, ConfigError> {
        let (path, required) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("keyward.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        };
        let mut settings: toml::Table = toml::from_str(&text).map_err(parse_error)?;
        let PriceSection { prices } = toml::from_str(&text).map_err(parse_error)?;
        settings.remove("prices");
        let known = SettingsArgs::file_keys();
        if let Some(key) = settings.keys().find(|k| !known.contains(k)) {
            return Err(ConfigError::UnknownKey {
                path,
                hint: hint_for(key, &known),
                key: key.clone(),
            });
        }
        Ok(Some(ConfigFile {
            path,
            settings,
            prices,
        }))
    }
}

/// Names the `known` setting `key` is probably a typo of, or the page that lists them all.
fn hint_for(key: &str, known: &[String]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(
            || "; docs/configuration.md lists them all".into(),
            |(_, k)| format!(" (did you mean `{k}`?)"),
        )
}

impl Provider for ConfigFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("config file", Source::File(self.path.clone()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        figment::providers::Serialized::defaults(&self.settings).data()
    }
}
