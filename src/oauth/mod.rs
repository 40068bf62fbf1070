//! The authorization server's protocol, written directly over the async store: oxide-auth's
//! endpoint flows cannot carry `iss` (RFC 9207), `web_message`, origin clients, refresh-family
//! reuse revocation, per-grant limits or `base_url` without rewriting every response, and its
//! primitives are small enough to own (see [`pkce`] and [`redirect`]).
//!
//! Two layers, as in kanidm (`idm/oauth2.rs` under `https/oauth2.rs`): the rules — authorize,
//! approve, the grants, revoke, introspect, userinfo — are functions of a [`Provider`], the
//! request's parameters and an explicit `now` (Unix seconds), so tests run them at fixed times
//! without HTTP; [`http`] holds the axum handlers, which only read the request, call a rule with
//! the clock read once, and turn the result into a response. Rules never import a page module
//! (`passkey`, `consent`, `account`); the pages call [`pending`] and [`approve`].

pub mod app_view;
pub mod approve;
pub mod authorize;
pub mod client_auth;
pub mod client_lookup;
pub mod discovery;
pub mod errors;
pub mod first_party;
pub mod grant;
pub mod http;
pub mod id_token;
pub mod introspect;
pub mod issue;
pub mod pending;
pub mod pkce;
pub mod redirect;
pub mod registration;
pub mod response;
pub mod revoke;
pub mod token_state;
pub mod userinfo;

#[cfg(test)]
mod test_support;

use std::time::Duration;

use crate::invalidation::Invalidator;
use crate::store::Store;
use crate::vault::Vault;

pub use http::routes;

/// The authorization server as its rules see it: the store, the vault (ID token signing keys),
/// the announcer that tells every instance's caches about revocations, and the settings the
/// rules read. Handlers build one per request from the shared state ([`Provider::of`]); tests
/// build one directly.
pub struct Provider<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub invalidator: &'a Invalidator,
    /// This server's issuer identifier (`iss`).
    pub issuer: &'a str,
    /// Where access tokens work (`base_url` in token responses).
    pub proxy_base_url: String,
    /// Whether websites may act as clients identified by their origin.
    pub origin_clients: bool,
    /// Keyward's own origin, which is never an origin client.
    pub own_origin: String,
    /// The apps this instance serves itself ([`first_party`]).
    pub first_party: Vec<crate::store::clients::Client>,
}

/// Deletes expired authorization requests, codes, sessions and ceremonies every few minutes.
pub fn spawn_housekeeping(store: Store) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(300));
        loop {
            every.tick().await;
            if let Err(e) = store.purge_expired().await {
                tracing::warn!(error = %e, "could not purge expired requests and sessions");
            }
        }
    });
}
