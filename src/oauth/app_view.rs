//! How the sign-in, consent and account pages present an app: its name, where it answers, and
//! whether an operator vouched for it.

use serde::Serialize;

use crate::store::clients::{Client, ClientKind};

/// How the sign-in and consent pages present an app.
#[derive(Debug, Serialize)]
pub struct AppView {
    pub name: String,
    /// Shown only for verified apps: an unverified one could borrow a famous logo.
    pub logo_url: Option<String>,
    /// Where the response goes: the origin, or the redirect URI's host (or scheme for native
    /// apps).
    pub host: String,
    /// Registered by the operator, or part of this Keyward.
    pub verified: bool,
    /// Who vouches for a verified app, as its badge says.
    pub badge: &'static str,
    /// What "unverified" means for this kind of client.
    pub unverified_note: &'static str,
}

impl AppView {
    /// The view of `client` answering at `redirect_uri`.
    pub fn new(client: &Client, redirect_uri: &str) -> AppView {
        let host = url::Url::parse(redirect_uri)
            .ok()
            .map(|u| match u.host_str() {
                Some(_) => u.origin().ascii_serialization(),
                None => format!("{}:", u.scheme()),
            })
            .unwrap_or_else(|| client.id.clone());
        let verified = client.kind.is_vouched_for();
        AppView {
            name: client.name.clone(),
            logo_url: client.logo_url.clone().filter(|_| verified),
            host,
            verified,
            badge: match client.kind {
                ClientKind::FirstParty => "Part of this Keyward",
                _ => "Registered by this Keyward's operator",
            },
            unverified_note: match client.kind {
                ClientKind::Origin => "It identifies itself only by its web address.",
                _ => "It registered itself and chose its own name.",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_apps_show_no_logo_and_their_real_host() {
        let client = Client {
            id: "https://app.example".into(),
            kind: ClientKind::Origin,
            name: "app.example".into(),
            logo_url: Some("https://cdn.example/famous.png".into()),
            redirect_uris: vec![],
            secret_hash: None,
            created_at: 0,
        };
        let view = AppView::new(&client, "https://app.example/cb");
        assert!(!view.verified);
        assert_eq!(view.logo_url, None);
        assert_eq!(view.host, "https://app.example");
    }
}
