//! Resolving a `client_id` to the client behind it: one of the instance's own apps, registered
//! by an operator, registered dynamically, or a website identified by its origin.

use super::Provider;
use super::redirect;
use crate::store::StoreError;
use crate::store::clients::{Client, ClientKind};

/// The client behind `client_id`, if this server accepts it. An origin client exists as soon as
/// a website asks (when `origin_clients` is on) — any website but Keyward's own origin, whose
/// pages are not an app asking for a person's key; its row is written at first consent, so one
/// resolved at `now` carries `now` as its creation time. First-party clients come from the
/// settings, whatever the store remembers of them.
pub async fn resolve(
    p: &Provider<'_>,
    client_id: &str,
    now: i64,
) -> Result<Option<Client>, StoreError> {
    if client_id == p.own_origin {
        return Ok(None);
    }
    if let Some(own) = p.first_party.iter().find(|c| c.id == client_id) {
        return Ok(Some(Client {
            created_at: now,
            ..own.clone()
        }));
    }
    if let Some(client) = p.store.client(client_id).await? {
        let allowed = match client.kind {
            ClientKind::Origin => p.origin_clients,
            // Switched off (no demo) since it was recorded.
            ClientKind::FirstParty => false,
            ClientKind::Registered | ClientKind::Dynamic => true,
        };
        return Ok(allowed.then_some(client));
    }
    if !p.origin_clients {
        return Ok(None);
    }
    Ok(redirect::origin_client(client_id).map(|url| Client {
        id: client_id.to_owned(),
        kind: ClientKind::Origin,
        name: url.host_str().unwrap_or(client_id).to_owned(),
        logo_url: None,
        redirect_uris: Vec::new(),
        secret_hash: None,
        created_at: now,
    }))
}
