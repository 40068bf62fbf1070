//! `GET|POST /oauth/userinfo` (OIDC Core §5.3) for access tokens with the `openid` scope. It
//! answers only `sub`: Keyward knows no name or email, and the subject is pairwise per app.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::errors::{ErrorCode, OAuthError, no_store};
use super::id_token::pairwise_subject;
use crate::clock::now;
use crate::state::AppState;
use crate::store::tokens::StoredTokenKind;
use crate::token_format::{self, TokenKind};

/// The endpoint.
#[tracing::instrument(name = "oauth.userinfo", skip_all)]
pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid");
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(invalid)?;
    let hash = token_format::parse(TokenKind::Access, presented.trim()).ok_or_else(invalid)?;
    let (row, grant) = state
        .store
        .token_with_grant(&hash)
        .await?
        .ok_or_else(invalid)?;
    let t = now();
    if row.kind() != StoredTokenKind::Access || !row.is_live(t) || !grant.is_active(t) {
        return Err(invalid());
    }
    if !grant.scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token lacks the openid scope",
        ));
    }
    let sub = pairwise_subject(&grant.client_id, &grant.user_id);
    Ok((no_store(), Json(serde_json::json!({ "sub": sub }))).into_response())
}
