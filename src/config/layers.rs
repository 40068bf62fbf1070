//! The layers in their order: `keyward.toml` under the `KEYWARD_*` variables and flags (which
//! clap has already layered, each variable under its flag). Built-in defaults lie under all of
//! them and are filled in by [`super::Settings::resolve`], beside the defaults derived from
//! other settings.

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::ConfigError;
use super::args::SettingsArgs;
use super::file::ConfigFile;

/// The settings given as flags or `KEYWARD_*` variables; unset ones are left out, so that
/// they do not hide the file's.
struct Given<'a>(&'a SettingsArgs);

impl Provider for Given<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named("flags or KEYWARD_* variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut given = Value::serialize(self.0)?
            .into_dict()
            .expect("settings serialize as a map");
        given.retain(|_, value| !matches!(value, Value::Empty(..)));
        Ok(Profile::Default.collect(given))
    }
}

/// Every setting from the layers above the defaults, the higher layer winning.
pub(super) fn merge(
    file: Option<&ConfigFile>,
    args: &SettingsArgs,
) -> Result<SettingsArgs, ConfigError> {
    let mut layers = Figment::new();
    if let Some(file) = file {
        layers = layers.merge(file);
    }
    let layers = layers.merge(Given(args));
    Ok(SettingsArgs {
        common: layers.extract()?,
        master_key: layers.extract()?,
        serve: layers.extract()?,
    })
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        let origin = match error.metadata.as_ref() {
            Some(Metadata {
                source: Some(figment::Source::File(path)),
                name,
                ..
            }) => format!("{name} {}", path.display()),
            Some(metadata) => metadata.name.to_string(),
            None => "settings".into(),
        };
        ConfigError::Value {
            key: error.path.join("."),
            origin,
            message: error.kind.to_string(),
        }
    }
}
