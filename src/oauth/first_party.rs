//! The apps a Keyward instance serves itself and registers as clients of its own: the demo chat
//! at `/demo` (when the demo is on). They are not origin clients — Keyward's own origin never is
//! one — but registered clients with a fixed id, shown by name and as part of this Keyward.

use crate::config::Settings;
use crate::store::clients::{Client, ClientKind};

/// The demo chat's client_id (`web/demo/demo.js` sends it).
pub const DEMO_CLIENT_ID: &str = "keyward-demo";

/// The first-party clients of the instance configured by `settings`.
pub fn clients(settings: &Settings) -> Vec<Client> {
    if !settings.demo {
        return Vec::new();
    }
    let base = settings.public_url.as_str().trim_end_matches('/');
    vec![Client {
        id: DEMO_CLIENT_ID.to_owned(),
        kind: ClientKind::FirstParty,
        name: "Keyward demo chat".to_owned(),
        logo_url: None,
        redirect_uris: vec![format!("{base}/demo")],
        secret_hash: None,
        created_at: 0,
    }]
}
