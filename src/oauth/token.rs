//! `POST /oauth/token`: the authorization-code grant (RFC 6749 §4.1.3 with PKCE) and the
//! refresh-token grant with rotation (RFC 9700 §4.14.2).
//!
//! A code is claimed atomically before anything else is checked, so it is spent even by a
//! failed attempt; a code presented a second time revokes every token it issued. A refresh
//! token is single-use too: its successor is issued in the same family, and presenting a used
//! one revokes the whole family, whichever party (the app or a thief) comes second.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::clients;
use super::errors::{ErrorCode, OAuthError, no_store};
use super::id_token::{self, IdTokenClaims};
use super::issue::issue_tokens;
use super::pkce;
use super::revoke::revoke_family;
use crate::clock::now;
use crate::state::AppState;
use crate::store::clients::Client;
use crate::store::codes::CodeClaim;
use crate::store::grants::Grant;
use crate::store::tokens::RefreshClaim;
use crate::token_format::{self, TokenKind};
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

/// The endpoint.
#[tracing::instrument(name = "oauth.token", skip_all, fields(grant_type, client_id))]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client, fields) = clients::authenticated_form(&state, &headers, &body).await?;
    let span = tracing::Span::current();
    let grant_type = fields.required("grant_type")?;
    span.record("grant_type", grant_type);
    let response = match grant_type {
        "authorization_code" => authorization_code(&state, &client, &fields).await?,
        "refresh_token" => refresh_token(&state, &client, &fields).await?,
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code or refresh_token",
            ));
        }
    };
    tracing::info!("tokens issued");
    Ok((no_store(), Json(response)).into_response())
}

/// What a replayed code is told; the tokens it issued are revoked either way (RFC 6749 §4.1.2).
const CODE_REPLAYED: &str = "the code was already used; the tokens it issued have been revoked";

/// Revokes a misused token family (replayed code, reused or stolen refresh token) and refuses
/// the request with `invalid_grant`.
async fn revoke_and_refuse<T>(
    state: &AppState,
    family: &str,
    description: &'static str,
) -> Result<T, OAuthError> {
    revoke_family(state, family).await?;
    Err(OAuthError::invalid_grant(description))
}

async fn authorization_code(
    state: &AppState,
    client: &Client,
    fields: &FormFields,
) -> Result<TokenResponse, OAuthError> {
    let presented = fields.required("code")?;
    let redirect_uri = fields.required("redirect_uri")?;
    let verifier = fields.one("code_verifier")?;
    let invalid = || OAuthError::invalid_grant("the code is invalid or has expired");
    let hash = token_format::parse(TokenKind::Code, presented).ok_or_else(invalid)?;
    let code = match state.store.claim_auth_code(&hash).await? {
        CodeClaim::Claimed(code) => code,
        CodeClaim::Invalid => return Err(invalid()),
        CodeClaim::Replayed(code) => {
            tracing::warn!("authorization code replayed; revoking the tokens it issued");
            return revoke_and_refuse(state, &code.family, CODE_REPLAYED).await;
        }
    };
    if code.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    pkce::verify(&code.code_challenge, verifier)
        .map_err(|e| OAuthError::invalid_grant(e.to_string()))?;
    let grant = live_grant(state, &code.grant_id).await?;
    let mut response = respond(state, &grant, &code.family).await?;
    if state.store.auth_code_replayed(&hash).await? {
        tracing::warn!("authorization code replayed during its redemption; revoking its tokens");
        return revoke_and_refuse(state, &code.family, CODE_REPLAYED).await;
    }
    if grant.scopes.iter().any(|s| s == "openid") {
        let subject = id_token::pairwise_subject(&client.id, &grant.user_id);
        let claims = IdTokenClaims {
            issuer: state.settings.issuer_str(),
            subject: &subject,
            audience: &client.id,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
        };
        let signed = id_token::sign(&state.store, &state.vault, &claims)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not sign an ID token");
                OAuthError::new(ErrorCode::ServerError, "could not sign the ID token")
            })?;
        response.id_token = Some(signed);
    }
    Ok(response)
}

async fn refresh_token(
    state: &AppState,
    client: &Client,
    fields: &FormFields,
) -> Result<TokenResponse, OAuthError> {
    let presented = fields.required("refresh_token")?;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let hash = token_format::parse(TokenKind::Refresh, presented).ok_or_else(invalid)?;
    let (row, grant) = match state.store.claim_refresh_token(&hash).await? {
        RefreshClaim::Claimed(claimed) => *claimed,
        RefreshClaim::Invalid => return Err(invalid()),
        RefreshClaim::Reused(row) => {
            tracing::warn!("refresh token reused; revoking its token family");
            return revoke_and_refuse(
                state,
                &row.family,
                "the refresh token was already used; every token of this authorization has been revoked",
            )
            .await;
        }
    };
    if grant.client_id != client.id {
        tracing::warn!("refresh token presented by another client; revoking its token family");
        return revoke_and_refuse(
            state,
            &row.family,
            "the refresh token was issued to another client",
        )
        .await;
    }
    if !grant.is_active(now()) {
        return Err(OAuthError::invalid_grant(
            "the person revoked this app's access, or it expired",
        ));
    }
    if let Some(scope) = fields.one("scope")? {
        let mut asked: Vec<&str> = scope.split_whitespace().collect();
        let mut granted: Vec<&str> = grant.scopes.iter().map(String::as_str).collect();
        asked.sort_unstable();
        asked.dedup();
        granted.sort_unstable();
        if asked != granted {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "a refresh returns the scopes the person granted; omit scope or send exactly those",
            ));
        }
    }
    respond(state, &grant, &row.family).await
}

/// The grant a code or token refers to, if the person has not revoked it and it has not ended.
async fn live_grant(state: &AppState, grant_id: &str) -> Result<Grant, OAuthError> {
    state
        .store
        .grant(grant_id)
        .await?
        .filter(|g| g.is_active(now()))
        .ok_or_else(|| {
            OAuthError::invalid_grant("the person revoked this app's access, or it expired")
        })
}

async fn respond(
    state: &AppState,
    grant: &Grant,
    family: &str,
) -> Result<TokenResponse, OAuthError> {
    let issued = issue_tokens(&state.store, grant, family).await?;
    Ok(TokenResponse {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: grant.scopes.join(" "),
        refresh_token: issued.refresh_token,
        base_url: state.settings.proxy_base_url(),
        id_token: None,
    })
}
