//! Token revocation (RFC 7009). Revoking either token of an authorization ends its whole token
//! family (the app signed out); the person's grant stays, so the app can ask again and get a
//! one-click "continue". Unknown, malformed or foreign tokens are treated as a success, so the
//! endpoint tells nobody whether a token existed.

use super::Provider;
use super::errors::OAuthError;
use crate::invalidation::Invalidation;
use crate::store::StoreError;
use crate::store::clients::Client;
use crate::token_format::{self, TokenKind};
use crate::web::form::FormFields;

/// Revokes, at `now`, the family of the token in `fields` if it was issued to `client`.
pub async fn revoke(
    p: &Provider<'_>,
    client: &Client,
    fields: &FormFields,
    now: i64,
) -> Result<(), OAuthError> {
    let presented = fields.required("token")?;
    let hash = token_format::parse(TokenKind::Access, presented)
        .or_else(|| token_format::parse(TokenKind::Refresh, presented));
    if let Some(hash) = hash
        && let Some((row, grant)) = p.store.token_with_grant(&hash).await?
        && grant.client_id == client.id
    {
        revoke_family(p, &row.family, now).await?;
        tracing::info!("token family revoked at the app's request");
    }
    Ok(())
}

/// Revokes every token of a family at `now` and tells every instance's caches.
pub async fn revoke_family(p: &Provider<'_>, family: &str, now: i64) -> Result<(), StoreError> {
    for grant_id in p.store.revoke_family(family, now).await? {
        p.invalidator.publish(Invalidation::Grant(grant_id)).await;
    }
    Ok(())
}
