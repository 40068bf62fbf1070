//! Passkeys (WebAuthn, webauthn-rs): sign-up with an OpenAI key, usernameless sign-in, the
//! step-up assertion that approves an app, and sign-out. The relying party ID is the public
//! URL's host, so it must be a domain name (`localhost` in development), never an IP address.

pub mod ceremony;
pub mod keycheck;
pub mod signin;
pub mod signup;

use axum::Router;
use axum::routing::{get, post};
use base64::Engine as _;
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::app::AppState;
use crate::config::Settings;
use crate::throttle::Throttle;
use crate::web::error::PageError;

/// The sign-up, sign-in and sign-out routes; the key check and the ceremonies are limited
/// per client IP by `throttle`.
pub fn routes(throttle: &Throttle) -> Router<AppState> {
    let key_check = Router::new().route("/signup", get(signup::page).post(signup::start));
    let ceremonies = Router::new()
        .route("/passkey/register/finish", post(signup::finish))
        .route("/passkey/signin/start", post(signin::start))
        .route("/passkey/signin/finish", post(signin::finish))
        .route("/passkey/step-up/start", post(signin::step_up_start));
    Router::new()
        .route("/signin", get(signin::page))
        .route("/signout", post(signin::sign_out))
        .merge(throttle.pages(key_check))
        .merge(throttle.scripts(ceremonies))
}

/// The relying party, from the public URL.
pub fn relying_party(settings: &Settings) -> Result<Webauthn, String> {
    let origin: &Url = &settings.public_url;
    let rp_id = origin.domain().ok_or_else(|| {
        format!(
            "passkeys need a domain name in the public URL, not an IP address ({origin}); \
             use http://localhost:PORT for local use"
        )
    })?;
    WebauthnBuilder::new(rp_id, origin)
        .and_then(|b| b.rp_name("Keyward").build())
        .map_err(|e| format!("passkey relying party for {origin}: {e}"))
}

/// [`relying_party`] for handlers (the setting was checked at start).
fn webauthn(settings: &Settings) -> Result<Webauthn, PageError> {
    relying_party(settings).map_err(PageError::Internal)
}

/// A credential id as stored (base64url).
fn credential_id(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Where a person goes after signing in or up: back to the pending authorization request, or
/// to their account. Only ever a path on this site.
fn after_sign_in(request: Option<&str>) -> String {
    match request {
        Some(id) => format!("/consent?request={id}"),
        None => "/account".to_owned(),
    }
}
