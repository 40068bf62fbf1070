//! The authorization server's protocol endpoints, written directly over the async store:
//! oxide-auth's endpoint flows cannot carry `iss` (RFC 9207), `web_message`, origin clients,
//! refresh-family reuse revocation, per-grant limits or `base_url` without rewriting every
//! response, and its primitives are small enough to own (see [`pkce`] and [`redirect`]).

pub mod authorize;
pub mod clients;
pub mod discovery;
pub mod errors;
pub mod id_token;
pub mod introspect;
pub mod issue;
pub mod pkce;
pub mod redirect;
pub mod registration;
pub mod response;
pub mod revoke;
pub mod token;
pub mod userinfo;

use std::time::Duration;

use axum::Router;
use axum::http::{Method, header};
use axum::routing::{get, post};
use tower_http::cors::{Any, CorsLayer};

use crate::config::Settings;
use crate::ip_throttle::Throttle;
use crate::state::AppState;
use crate::store::Store;

/// The OAuth and OIDC endpoints. Those a browser app calls from its own origin (token,
/// revocation, userinfo, metadata, JWKS, registration) allow any origin: they take explicit
/// credentials, never cookies, so CORS grants no ambient authority. Token, revocation,
/// introspection and registration are limited per client IP by `throttle`.
pub fn routes(settings: &Settings, throttle: &Throttle) -> Router<AppState> {
    let mut limited = Router::new()
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke));
    if settings.dynamic_registration {
        limited = limited.route("/oauth/register", post(registration::register));
    }
    let cross_origin = throttle
        .oauth(limited)
        .route(
            "/oauth/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/oauth/jwks", get(discovery::serve_jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::serve_metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::serve_metadata),
        );
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/oauth/authorize", get(authorize::authorize))
        .merge(
            throttle.oauth(Router::new().route("/oauth/introspect", post(introspect::introspect))),
        )
        .merge(cross_origin.layer(cors))
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
