//! The token endpoint's grants (RFC 6749 §4.1.3 and §6), one file per grant type, and what
//! they share: the token response, minting tokens for a live grant, and revoking a misused
//! token family.
//!
//! Codes and refresh tokens are single-use and claimed atomically once the request's form is
//! well formed, before anything else is checked, so a failed attempt spends them too;
//! presenting one a second time revokes every token it issued (RFC 9700 §4.14.2), including
//! tokens the first presentation stores after that revocation (both grants look again).

pub mod authorization_code;
pub mod refresh_token;

use serde::Serialize;

use super::Provider;
use super::errors::{ErrorCode, OAuthError};
use super::issue::issue_tokens;
use super::revoke::revoke_family;
use crate::store::clients::Client;
use crate::store::grants::Grant;
use crate::web::form::FormFields;

/// The successful token response (RFC 6749 §5.1) plus `base_url`, where the token works.
/// Deliberately not `Debug`: it holds the tokens.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    /// The lifetime the person chose; absent when the grant lasts until revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The OpenAI-compatible base URL to use the access token with (`baseURL` in the SDKs).
    pub base_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// A token request from the authenticated `client` at `now`, by its `grant_type` (recorded on
/// the request's span, which declares a `grant_type` field).
pub async fn exchange(
    p: &Provider<'_>,
    client: &Client,
    fields: &FormFields,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = fields.required("grant_type")?;
    tracing::Span::current().record("grant_type", grant_type);
    match grant_type {
        "authorization_code" => authorization_code::redeem(p, client, fields, now).await,
        "refresh_token" => refresh_token::refresh(p, client, fields, now).await,
        _ => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be authorization_code or refresh_token",
        )),
    }
}

/// What a request for an ended grant is told.
const GRANT_ENDED: &str = "the person revoked this app's access, or it expired";

/// Revokes a misused token family (replayed code, reused or stolen refresh token) and refuses
/// the request with `invalid_grant`.
async fn revoke_and_refuse<T>(
    p: &Provider<'_>,
    family: &str,
    description: &'static str,
    now: i64,
) -> Result<T, OAuthError> {
    revoke_family(p, family, now).await?;
    Err(OAuthError::invalid_grant(description))
}

/// The grant a code refers to, if the person has not revoked it and it has not ended by `now`.
async fn live_grant(p: &Provider<'_>, grant_id: &str, now: i64) -> Result<Grant, OAuthError> {
    p.store
        .grant(grant_id)
        .await?
        .filter(|g| g.is_active(now))
        .ok_or_else(|| OAuthError::invalid_grant(GRANT_ENDED))
}

/// Mints the tokens of `grant` in `family` at `now` and builds the response.
async fn respond(
    p: &Provider<'_>,
    grant: &Grant,
    family: &str,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let issued = issue_tokens(p.store, grant, family, now).await?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: grant.scopes.join(" "),
        refresh_token: issued.refresh_token,
        base_url: p.proxy_base_url.clone(),
        id_token: None,
    })
}
