//! The scope table: each scope's name, the plain words the consent screen shows, and the `/v1`
//! endpoint families ([`crate::endpoints`]) it opens. `docs/scopes.md` is generated from the
//! same table (see the test that keeps them equal); an endpoint no scope covers is refused
//! with 403. [`ScopeSet`] compares what was asked with what was granted.

use std::collections::BTreeSet;

use axum::http::Method;

use crate::endpoints::{self as e, Family, Traits};

/// One OAuth scope.
#[derive(Debug)]
pub struct Scope {
    pub name: &'static str,
    /// Short title on the consent screen.
    pub title: &'static str,
    /// What the app may do, in plain words, for the consent screen.
    pub description: &'static str,
    /// The `/v1` endpoint families this scope opens; empty for identity scopes.
    pub endpoints: &'static [Family],
    /// Whether requests under this scope spend money (shown as a warning on consent).
    pub spends: bool,
}

/// Every scope Keyward understands, in consent-screen order.
pub const SCOPES: &[Scope] = &[
    Scope {
        name: "openai.chat",
        title: "Generate text",
        description: "Send prompts and get answers with your OpenAI key (chat completions, the Responses API, completions).",
        endpoints: &[e::CHAT_COMPLETIONS, e::RESPONSES, e::COMPLETIONS],
        spends: true,
    },
    Scope {
        name: "openai.embeddings",
        title: "Create embeddings",
        description: "Turn text into embeddings with your key.",
        endpoints: &[e::EMBEDDINGS],
        spends: true,
    },
    Scope {
        name: "openai.images",
        title: "Create images",
        description: "Generate and edit images with your key.",
        endpoints: &[e::IMAGES],
        spends: true,
    },
    Scope {
        name: "openai.audio",
        title: "Speech and transcription",
        description: "Turn speech into text and text into speech with your key.",
        endpoints: &[e::AUDIO],
        spends: true,
    },
    Scope {
        name: "openai.moderations",
        title: "Check content",
        description: "Run OpenAI's moderation checks on text and images.",
        endpoints: &[e::MODERATIONS],
        spends: false,
    },
    Scope {
        name: "openai.models",
        title: "See available models",
        description: "List the models the app may use.",
        endpoints: &[e::MODELS],
        spends: false,
    },
    Scope {
        name: "openai.files",
        title: "Upload and read files",
        description: "Upload files to your OpenAI account and read the files there. Files are shared by every app with this scope.",
        endpoints: &[e::FILES, e::UPLOADS],
        spends: false,
    },
    Scope {
        name: "openai.batches",
        title: "Run batch jobs",
        description: "Start and follow batch jobs on your account.",
        endpoints: &[e::BATCHES],
        spends: true,
    },
    Scope {
        name: "openid",
        title: "Know it is you",
        description: "Learn a stable, app-specific identifier for your Keyward account (no name or email).",
        endpoints: &[],
        spends: false,
    },
    Scope {
        name: "offline_access",
        title: "Stay connected",
        description: "Keep access after you close the app, until the lifetime you choose ends or you revoke it.",
        endpoints: &[],
        spends: false,
    },
];

/// Looks a scope up by name.
pub fn find(name: &str) -> Option<&'static Scope> {
    SCOPES.iter().find(|s| s.name == name)
}

/// What a `/v1` request is: the scope that opens it, the endpoint family it falls in, and what
/// the proxy must know about it.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub scope: &'static Scope,
    pub family: &'static Family,
    pub traits: Traits,
}

/// Classifies a `method` request to `path` (below `/v1/`, without the prefix): the one lookup
/// that decides a request's scope, its metrics route and how the proxy treats it. `None` when
/// no scope opens the path.
pub fn endpoint(method: &Method, path: &str) -> Option<Endpoint> {
    SCOPES.iter().find_map(|scope| {
        let family = scope.endpoints.iter().find(|f| f.contains(path))?;
        Some(Endpoint {
            scope,
            family,
            traits: family.traits(method, path),
        })
    })
}

/// Parses a space-separated scope string, keeping known scopes in table order without
/// duplicates; returns the unknown names separately.
pub fn parse(requested: &str) -> (Vec<&'static Scope>, Vec<String>) {
    let names: Vec<&str> = requested.split_whitespace().collect();
    let known = SCOPES.iter().filter(|s| names.contains(&s.name)).collect();
    let unknown = names
        .iter()
        .filter(|n| find(n).is_none())
        .map(|n| (*n).to_owned())
        .collect();
    (known, unknown)
}

/// A set of scope names, compared as a set: order and repeats do not matter. Names outside the
/// table are kept, so a set holding one never equals a set without it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// The names in a space-separated scope string (RFC 6749 §3.3).
    pub fn parse(space_separated: &str) -> ScopeSet {
        space_separated.split_whitespace().collect()
    }
}

impl<S: AsRef<str>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(names: I) -> Self {
        ScopeSet(names.into_iter().map(|n| n.as_ref().to_owned()).collect())
    }
}

/// The scope table as Markdown, for `docs/scopes.md`.
pub fn markdown_table() -> String {
    let mut out = String::from("| scope | consent screen says | opens `/v1/…` |\n|---|---|---|\n");
    for s in SCOPES {
        let endpoints = if s.endpoints.is_empty() {
            "— (identity)".to_owned()
        } else {
            s.endpoints
                .iter()
                .map(|e| format!("`{}`", e.prefix))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | **{}.** {} | {} |\n",
            s.name, s.title, s.description, endpoints
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scope that opens `path` (the same for every method).
    fn required_for(path: &str) -> Option<&'static Scope> {
        endpoint(&Method::GET, path).map(|e| e.scope)
    }

    #[test]
    fn paths_map_to_scopes_segment_wise() {
        assert_eq!(
            required_for("chat/completions").unwrap().name,
            "openai.chat"
        );
        assert_eq!(
            required_for("chat/completions/abc").unwrap().name,
            "openai.chat"
        );
        assert_eq!(
            required_for("responses/resp_1/cancel").unwrap().name,
            "openai.chat"
        );
        assert_eq!(required_for("completions").unwrap().name, "openai.chat");
        assert_eq!(required_for("models/gpt-4o").unwrap().name, "openai.models");
        assert_eq!(
            required_for("audio/transcriptions").unwrap().name,
            "openai.audio"
        );
        assert!(required_for("embeddingsX").is_none());
        assert!(required_for("fine_tuning/jobs").is_none());
        assert!(required_for("organization/admin_api_keys").is_none());
        assert!(required_for("").is_none());
    }

    #[test]
    fn one_lookup_gives_scope_family_and_traits() {
        let e = endpoint(&Method::POST, "images/edits").unwrap();
        assert_eq!((e.scope.name, e.family.prefix), ("openai.images", "images"));
        assert_eq!(e.traits.model, crate::endpoints::ModelSource::Form);
        let e = endpoint(&Method::GET, "models/gpt-4o").unwrap();
        assert_eq!(e.family.prefix, "models");
    }

    #[test]
    fn parse_keeps_order_and_reports_unknown() {
        let (known, unknown) = parse("openai.models openid  openai.chat bogus openai.chat");
        let names: Vec<_> = known.iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["openai.chat", "openai.models", "openid"]);
        assert_eq!(unknown, vec!["bogus"]);
    }

    #[test]
    fn scope_sets_ignore_order_and_repeats_but_not_names() {
        let granted: ScopeSet = ["openai.chat", "offline_access"].into_iter().collect();
        assert_eq!(
            ScopeSet::parse(" offline_access  openai.chat openai.chat"),
            granted
        );
        assert_ne!(ScopeSet::parse("openai.chat"), granted);
        assert_ne!(
            ScopeSet::parse("openai.chat offline_access bogus"),
            granted,
            "an unknown name is not dropped"
        );
        assert_eq!(ScopeSet::parse(""), ScopeSet::default());
    }

    #[test]
    fn docs_list_the_same_table() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scopes.md"))
            .expect("docs/scopes.md exists");
        assert!(
            docs.contains(&markdown_table()),
            "docs/scopes.md is out of date; paste in scopes::markdown_table():\n{}",
            markdown_table()
        );
    }
}
