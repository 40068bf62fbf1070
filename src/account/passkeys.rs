//! The person's passkeys on the dashboard: listed with when they were added and last used,
//! renamed, and removed — never the last one (the store refuses that atomically, so two
//! removals at once cannot leave the account without a way in). Removing one needs a passkey
//! (step-up): a borrowed session must not be able to lock the person out, or keep a stolen
//! device in while the person removes it. Removing it ends every session it opened, on every
//! device (the store's cascade), this one included. Adding one is a WebAuthn ceremony: see
//! [`crate::passkey::add`].

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::{AccountForm, Done};
use crate::passkey::clean_name;
use crate::passkey::step_up::Purpose;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::audit::NewAuditEvent;
use crate::store::passkeys::PasskeyRow;
use crate::store::users::User;
use crate::web::error::PageError;
use crate::web::session::clear_cookie;

/// One passkey as listed (no key material: the public key stays in the store).
#[derive(Debug, Serialize)]
pub struct PasskeyView {
    /// The credential id (base64url), the forms' target.
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// It signed this browser in (removing it signs this browser out).
    pub this_session: bool,
}

/// The person's passkeys, oldest first; `signed_in_with` is the one this browser's session
/// was opened with.
pub async fn list(
    state: &AppState,
    user_id: &str,
    signed_in_with: Option<&str>,
) -> Result<Vec<PasskeyView>, StoreError> {
    Ok(state
        .store
        .passkeys_for_user(user_id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            this_session: signed_in_with == Some(p.id.as_str()),
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect())
}

/// The person's passkey `id`, or [`PageError::NotFound`].
async fn owned_passkey(state: &AppState, user: &User, id: &str) -> Result<PasskeyRow, PageError> {
    state
        .store
        .passkeys_for_user(&user.id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(PageError::NotFound)
}

/// `POST /account/passkeys/{passkey_id}/rename`.
#[tracing::instrument(name = "account.passkey_rename", skip_all)]
pub async fn rename(
    State(state): State<AppState>,
    Path(passkey_id): Path<String>,
    form: AccountForm,
) -> Result<Response, PageError> {
    let AccountForm { user, fields, .. } = form;
    let name = clean_name(fields.one("name").ok().flatten()).ok_or_else(|| {
        PageError::InvalidForm("Give the passkey a name of up to 64 characters".into())
    })?;
    let old = owned_passkey(&state, &user, &passkey_id).await?;
    if !state.store.rename_passkey(&user.id, &old.id, &name).await? {
        return Err(PageError::NotFound);
    }
    let detail = format!("renamed passkey “{}” to “{name}”", old.name);
    state
        .store
        .record_audit(&NewAuditEvent::new(&user.id, "passkey_renamed", &detail))
        .await?;
    Ok(Done::PasskeyRenamed.redirect())
}

/// `POST /account/passkeys/{passkey_id}/remove`: after the step-up; the sessions the passkey
/// opened end with it, and if this browser's was one, it lands signed out on the sign-in page.
#[tracing::instrument(name = "account.passkey_remove", skip_all)]
pub async fn remove(
    State(state): State<AppState>,
    Path(passkey_id): Path<String>,
    form: AccountForm,
) -> Result<Response, PageError> {
    let passkeys = state.store.passkeys_for_user(&form.user.id).await?;
    let passkey = passkeys
        .iter()
        .find(|p| p.id == passkey_id)
        .ok_or(PageError::NotFound)?;
    // Asking for a passkey to do what the store will refuse would help nobody.
    if passkeys.len() < 2 {
        return Err(PageError::LastPasskey);
    }
    form.confirm(&state, &Purpose::RemovePasskey(passkey.id.clone()))
        .await?;
    let AccountForm { session, user, .. } = form;
    if !state.store.remove_passkey(&user.id, &passkey.id).await? {
        return Err(PageError::LastPasskey);
    }
    let detail = format!("removed passkey “{}”", passkey.name);
    state
        .store
        .record_audit(&NewAuditEvent::new(&user.id, "passkey_removed", &detail))
        .await?;
    tracing::info!("passkey removed; the sessions it opened ended");
    if session.passkey_id.as_deref() == Some(passkey.id.as_str()) {
        return Ok((clear_cookie(&state), Redirect::to("/signin")).into_response());
    }
    Ok(Done::PasskeyRemoved.redirect())
}
