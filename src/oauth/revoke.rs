//! `POST /oauth/revoke` (RFC 7009). Revoking either token of an authorization ends its whole
//! token family (the app signed out); the person's grant stays, so the app can ask again and get
//! a one-click "continue". Unknown, malformed or foreign tokens get the same 200 as a success,
//! so the endpoint tells nobody whether a token existed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::clients;
use super::errors::{OAuthError, no_store};
use crate::invalidation::Invalidation;
use crate::state::AppState;
use crate::store::StoreError;
use crate::token_format::{self, TokenKind};

/// The endpoint.
#[tracing::instrument(name = "oauth.revoke", skip_all, fields(client_id))]
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client, fields) = clients::authenticated_form(&state, &headers, &body).await?;
    let presented = fields.required("token")?;
    let hash = token_format::parse(TokenKind::Access, presented)
        .or_else(|| token_format::parse(TokenKind::Refresh, presented));
    if let Some(hash) = hash
        && let Some((row, grant)) = state.store.token_with_grant(&hash).await?
        && grant.client_id == client.id
    {
        revoke_family(&state, &row.family).await?;
        tracing::info!("token family revoked at the app's request");
    }
    Ok((StatusCode::OK, no_store()).into_response())
}

/// Revokes every token of a family and tells every instance's caches.
pub async fn revoke_family(state: &AppState, family: &str) -> Result<(), StoreError> {
    for grant_id in state.store.revoke_family(family).await? {
        state
            .invalidator
            .publish(Invalidation::Grant(grant_id))
            .await;
    }
    Ok(())
}
