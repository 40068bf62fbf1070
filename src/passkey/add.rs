//! Adding another passkey to a signed-in account (a second device, a password manager). The
//! person first proves it is them with a passkey they already have (step-up): a new passkey is
//! a new way into the account, so a borrowed session alone must not be enough to add one.
//! Registration then excludes the credentials the account has, so an authenticator that holds
//! one declines instead of making a duplicate.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use webauthn_rs::prelude::{
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Uuid,
};

use super::ceremony::{self, Kind};
use super::step_up::{self, Purpose};
use super::{clean_name, credential_id, decode, webauthn};
use crate::clock::now;
use crate::state::AppState;
use crate::store::audit::NewAuditEvent;
use crate::store::passkeys::PasskeyRow;
use crate::web::csrf::CsrfJson;
use crate::web::done::Done;
use crate::web::error::{ApiError, PageError};

/// Body of `POST /passkey/add/start`: the step-up proof and the new passkey's name.
#[derive(Deserialize)]
pub struct StartBody {
    ceremony: String,
    assertion: PublicKeyCredential,
    name: Option<String>,
}

/// `POST /passkey/add/start`: checks the step-up, then returns registration options for the
/// signed-in account that exclude its existing passkeys.
#[tracing::instrument(name = "passkey_add.start", skip_all)]
pub async fn start(
    State(state): State<AppState>,
    request: CsrfJson<StartBody>,
) -> Result<Response, ApiError> {
    let CsrfJson { session, body } = request;
    let user = session.user(&state).await?;
    step_up::verify(
        &state,
        &session,
        &user.id,
        &Purpose::AddPasskey,
        &body.ceremony,
        &body.assertion,
    )
    .await?;
    let existing = state
        .store
        .passkeys_for_user(&user.id)
        .await?
        .iter()
        .map(|row| decode(row).map(|p| p.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let handle = Uuid::parse_str(&user.webauthn_id)
        .map_err(|e| PageError::Internal(format!("stored WebAuthn user handle: {e}")))?;
    let (options, registration) =
        super::start_registration(&state.settings, handle, &user.display_name, Some(existing))?;
    let name = clean_name(body.name.as_deref())
        .unwrap_or_else(|| format!("Passkey added {}", crate::web::templates::utc_date(now())));
    let id = ceremony::save(
        &state,
        Kind::AddPasskey,
        &session,
        Some(&user.id),
        &registration,
        &name,
    )
    .await?;
    Ok(ceremony::started(id, options))
}

/// `POST /passkey/add/finish`: verifies the new credential and stores it for the account.
#[tracing::instrument(name = "passkey_add.finish", skip_all)]
pub async fn finish(
    State(state): State<AppState>,
    request: CsrfJson<ceremony::Finish<RegisterPublicKeyCredential>>,
) -> Result<Response, ApiError> {
    let CsrfJson { session, body } = request;
    let user = session.user(&state).await?;
    let taken = ceremony::take::<PasskeyRegistration, String>(
        &state,
        Kind::AddPasskey,
        &body.ceremony,
        &session,
    )
    .await?;
    if taken.user_id.as_deref() != Some(user.id.as_str()) {
        tracing::warn!("add-passkey ceremony finished for another person; refused");
        return Err(PageError::CeremonyExpired.into());
    }
    let passkey = webauthn(&state.settings)?
        .finish_passkey_registration(&body.credential, &taken.state)
        .map_err(|e| {
            tracing::info!(error = %e, "added passkey refused");
            PageError::PasskeyFailed
        })?;
    let row = PasskeyRow {
        id: credential_id(passkey.cred_id()),
        user_id: user.id.clone(),
        name: taken.data,
        passkey: serde_json::to_string(&passkey)
            .map_err(|e| PageError::Internal(format!("passkey: {e}")))?,
        created_at: now(),
        last_used_at: None,
    };
    state.store.insert_passkey(&row).await?;
    let detail = format!("added passkey “{}”", row.name);
    state
        .store
        .record_audit(&NewAuditEvent::new(&user.id, "passkey_added", &detail))
        .await?;
    tracing::info!("passkey added");
    Ok(Json(serde_json::json!({ "redirect": Done::PasskeyAdded.location() })).into_response())
}
