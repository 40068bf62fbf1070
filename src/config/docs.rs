//! The settings table of `docs/configuration.md`, generated from the declaration in
//! [`super::args`], so the page lists exactly the settings there are.

use super::args::{CONFIG_FLAG, SettingsArgs};
use super::master_key::{MASTER_KEY_ENV, MASTER_KEY_ENV_MEANING};

/// One setting's help text, split into its default (the `[default: …]` of its first
/// paragraph) and the rest, which reads as one paragraph.
struct Help {
    default: Option<String>,
    meaning: String,
}

impl Help {
    fn of(arg: &clap::Arg) -> Help {
        let text = arg
            .get_long_help()
            .or(arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut paragraphs: Vec<String> = text
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let (summary, default) = match paragraphs[0].rsplit_once(" [default: ") {
            Some((summary, default)) => (
                summary.to_owned(),
                Some(default.trim_end_matches(']').to_owned()),
            ),
            None => (paragraphs[0].clone(), None),
        };
        paragraphs[0] = summary;
        let meaning = paragraphs
            .iter()
            .map(|p| match p.ends_with('.') {
                true => p.clone(),
                false => format!("{p}."),
            })
            .collect::<Vec<_>>()
            .join(" ");
        Help { default, meaning }
    }
}

/// The table of every setting: flag, variable, `keyward.toml` key, default and meaning.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| flag | environment | `keyward.toml` key | default | meaning |\n|---|---|---|---|---|\n",
    );
    let code = |s: &str| format!("`{s}`");
    for arg in SettingsArgs::declared() {
        let id = arg.get_id().as_str();
        let help = Help::of(&arg);
        let default = match help.default.as_deref() {
            // Derived defaults are prose ("the public URL"); values are code.
            Some(d) if !d.contains(char::is_whitespace) && d != "none" => code(d),
            Some(d) => d.to_owned(),
            None => "—".to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {default} | {} |\n",
            arg.get_long()
                .map_or("—".into(), |l| code(&format!("--{l}"))),
            arg.get_env()
                .map_or("—".into(), |e| code(&e.to_string_lossy())),
            if id == CONFIG_FLAG {
                "—".into()
            } else {
                code(id)
            },
            help.meaning,
        ));
    }
    out.push_str(&format!(
        "| — | `{MASTER_KEY_ENV}` | — | — | {MASTER_KEY_ENV_MEANING}. |\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches as _;

    use super::*;
    use crate::config::Settings;

    #[test]
    fn docs_list_the_same_table() {
        let docs = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/configuration.md"
        ))
        .expect("docs/configuration.md exists");
        assert!(
            docs.contains(&markdown_table()),
            "docs/configuration.md is out of date; paste in config::markdown_table():\n{}",
            markdown_table()
        );
    }

    #[test]
    fn declaration_is_a_valid_command_line() {
        <SettingsArgs as clap::Args>::augment_args(clap::Command::new("keyward")).debug_assert();
    }

    /// Each default that `--help` and the docs state as a value is the one Keyward uses:
    /// giving it explicitly changes nothing.
    #[test]
    fn stated_defaults_are_the_real_defaults() {
        // Parse flags only, whatever KEYWARD_* variables the developer's shell has.
        let command = <SettingsArgs as clap::Args>::augment_args(clap::Command::new("keyward"))
            .mut_args(|a| a.env(None));
        let defaults = format!(
            "{:?}",
            Settings::resolve(&SettingsArgs::default(), None).unwrap()
        );
        let mut derived = Vec::new();
        for arg in SettingsArgs::declared() {
            let id = arg.get_id().as_str();
            let default = Help::of(&arg)
                .default
                .unwrap_or_else(|| panic!("{id} states no [default: …]"));
            if id == CONFIG_FLAG
                || default == "none"
                || default.contains(char::is_whitespace)
                || default.contains('<')
            {
                derived.push(id.to_owned());
                continue;
            }
            let flag = format!("--{}", arg.get_long().unwrap());
            let matches = command
                .clone()
                .try_get_matches_from(["keyward", &flag, &default])
                .unwrap_or_else(|e| panic!("{flag} {default}: {e}"));
            let given = SettingsArgs::from_arg_matches(&matches).unwrap();
            assert_eq!(
                format!("{:?}", Settings::resolve(&given, None).unwrap()),
                defaults,
                "{flag} {default} is not the default"
            );
        }
        assert_eq!(
            derived,
            [
                "config",
                "database_url",
                "master_key_file",
                "public_url",
                "issuer",
                "redis_url",
                "trusted_proxies"
            ],
            "only defaults derived from other settings (or none) go unchecked"
        );
    }
}
