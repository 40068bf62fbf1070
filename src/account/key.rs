//! Replacing the OpenAI key: one place to change it for every app. The passkey is asked for
//! first (step-up), then the new key is checked upstream exactly as at sign-up, sealed and
//! stored over the old one. Apps keep their grants and tokens; from their next request the
//! proxy opens the new key (every instance drops the person's cached entries).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AccountForm;
use crate::invalidation::Invalidation;
use crate::passkey::step_up::Purpose;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::audit::NewAuditEvent;
use crate::upstream::key_check;
use crate::vault::ProviderKey;
use crate::web::done::Done;
use crate::web::error::PageError;

/// What the dashboard says about the stored key: only when it was stored. Nothing about the
/// key itself (not even its last characters) leaves the vault.
#[derive(Debug, Serialize)]
pub struct KeyView {
    /// When the current key was stored (at sign-up or by the last replacement).
    pub stored_at: i64,
}

/// The person's key, as [`KeyView`]; `None` if the vault holds none.
pub async fn view(state: &AppState, user_id: &str) -> Result<Option<KeyView>, StoreError> {
    Ok(state.store.vault_entry(user_id).await?.map(|e| KeyView {
        stored_at: e.updated_at,
    }))
}

/// `POST /account/key`: step-up, upstream check, seal, store, tell every instance.
#[tracing::instrument(name = "account.replace_key", skip_all)]
pub async fn replace(
    State(state): State<AppState>,
    form: AccountForm,
) -> Result<Response, PageError> {
    form.confirm(&state, &Purpose::ReplaceKey).await?;
    let AccountForm {
        session,
        user,
        fields,
    } = form;
    let key = ProviderKey::new(fields.one("key").ok().flatten().unwrap_or_default());
    if let Err(problem) = key_check::check(&state, &key).await {
        tracing::info!(problem = %problem, "replacement key refused; the stored key is unchanged");
        let page = super::render(&state, &session, &user, None, Some(&problem)).await?;
        return Ok(page.status(problem.status()).into_response());
    }
    let sealed = state.vault.seal_provider_key(&user.id, &key)?;
    drop(key);
    state
        .store
        .put_vault_entry(&user.id, &sealed.key_id, &sealed.jwe)
        .await?;
    state
        .invalidator
        .publish(Invalidation::User(user.id.clone()))
        .await;
    state
        .store
        .record_audit(&NewAuditEvent::new(
            &user.id,
            "key_replaced",
            "OpenAI key replaced; every app now uses the new key",
        ))
        .await?;
    tracing::info!("provider key replaced");
    Ok(Done::KeyReplaced.redirect())
}
