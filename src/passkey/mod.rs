//! Passkeys (WebAuthn, webauthn-rs): sign-up with an OpenAI key, usernameless sign-in, the
//! step-up assertion that approves an app or a sensitive account change, adding another
//! passkey, and sign-out. The relying party ID is the public
//! URL's host, so it must be a domain name (`localhost` in development), never an IP address.

pub mod add;
pub mod ceremony;
pub mod signin;
pub mod signup;
pub mod step_up;

use axum::Router;
use axum::routing::{get, post};
use base64::Engine as _;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, CredentialID, Passkey, PasskeyRegistration,
    Url, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::{
    AuthenticatorSelectionCriteria, ResidentKeyRequirement, UserVerificationPolicy,
};

use crate::config::Settings;
use crate::ip_throttle::Throttle;
use crate::state::AppState;
use crate::store::passkeys::PasskeyRow;
use crate::web::error::PageError;

/// The sign-up, sign-in, step-up, add-a-passkey and sign-out routes; the key check and the
/// ceremonies are limited per client IP by `throttle`.
pub fn routes(throttle: &Throttle) -> Router<AppState> {
    let key_check = Router::new().route("/signup", get(signup::page).post(signup::start));
    let ceremonies = Router::new()
        .route("/passkey/register/finish", post(signup::finish))
        .route("/passkey/signin/start", post(signin::start))
        .route("/passkey/signin/finish", post(signin::finish))
        .route("/passkey/step-up/start", post(step_up::start))
        .route("/passkey/add/start", post(add::start))
        .route("/passkey/add/finish", post(add::finish));
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

/// Starts registering a discoverable passkey with user verification (so sign-in needs no user
/// name) for the account with WebAuthn user handle `user_handle`; `exclude` lists the
/// credentials it already has, so an authenticator holding one declines to make another.
fn start_registration(
    settings: &Settings,
    user_handle: Uuid,
    name: &str,
    exclude: Option<Vec<CredentialID>>,
) -> Result<(CreationChallengeResponse, PasskeyRegistration), PageError> {
    let (mut options, registration) = webauthn(settings)?
        .start_passkey_registration(user_handle, name, name, exclude)
        .map_err(|e| PageError::Internal(format!("webauthn start: {e}")))?;
    options.public_key.authenticator_selection = Some(AuthenticatorSelectionCriteria {
        authenticator_attachment: None,
        resident_key: Some(ResidentKeyRequirement::Required),
        require_resident_key: true,
        user_verification: UserVerificationPolicy::Required,
    });
    Ok((options, registration))
}

/// A stored passkey, decoded.
fn decode(row: &PasskeyRow) -> Result<Passkey, PageError> {
    serde_json::from_str(&row.passkey)
        .map_err(|e| PageError::Internal(format!("stored passkey: {e}")))
}

/// Saves the credential's new counter and backup state, and when it was used.
async fn record_use(
    state: &AppState,
    row: &PasskeyRow,
    passkey: &mut Passkey,
    result: &AuthenticationResult,
) -> Result<(), PageError> {
    passkey.update_credential(result);
    let json =
        serde_json::to_string(passkey).map_err(|e| PageError::Internal(format!("passkey: {e}")))?;
    state.store.passkey_used(&row.id, &json).await?;
    Ok(())
}

/// A name the person typed (for the account or a passkey): trimmed, control characters
/// dropped, at most 64 characters; `None` when nothing is left.
pub fn clean_name(raw: Option<&str>) -> Option<String> {
    let name: String = raw?
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(64)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A credential id as stored (base64url).
fn credential_id(raw: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Where a person goes after signing in or up: back to the pending authorization request, or
/// to their account. Only ever a path on this site.
fn after_sign_in(request: Option<&str>) -> String {
    match request {
        Some(sealed) => format!("/consent?request={sealed}"),
        None => "/account".to_owned(),
    }
}

/// The answer to a finished sign-in or sign-up with the passkey `passkey_id`: a new session id
/// bound to the person and that passkey (never the anonymous one, against session fixation)
/// and where the page goes next.
async fn signed_in(
    state: &AppState,
    session: &crate::web::session::Session,
    user_id: &str,
    passkey_id: &str,
    request: Option<&str>,
) -> Result<axum::response::Response, crate::web::error::ApiError> {
    use axum::response::IntoResponse as _;
    let session =
        crate::web::session::Session::sign_in(state, session, user_id, passkey_id).await?;
    let redirect = after_sign_in(request);
    Ok((
        session.cookie(),
        axum::Json(serde_json::json!({ "redirect": redirect })),
    )
        .into_response())
}
