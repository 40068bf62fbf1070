//! Deleting the account, after the passkey confirms it (step-up). The store deletes the person
//! and, by cascade, their sealed key, passkeys, grants, tokens, sessions, usage and activity;
//! every instance then drops the person's cached tokens, so an access token issued before
//! gets 401 at `/v1` from the next request.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::AccountForm;
use crate::invalidation::Invalidation;
use crate::passkey::step_up::Purpose;
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::templates::Page;

/// `POST /account/delete`: the goodbye page, with the session cookie cleared.
#[tracing::instrument(name = "account.delete", skip_all)]
pub async fn delete(
    State(state): State<AppState>,
    form: AccountForm,
) -> Result<Response, PageError> {
    form.confirm(&state, &Purpose::DeleteAccount).await?;
    let AccountForm { session, user, .. } = form;
    state.store.delete_user(&user.id).await?;
    state
        .invalidator
        .publish(Invalidation::User(user.id.clone()))
        .await;
    tracing::info!("account deleted at its owner's request");
    let cleared = session.end(&state).await?;
    Ok((cleared, Page::render("goodbye.html", context! {})).into_response())
}
