//! `POST /oauth/introspect` (RFC 7662), for confidential clients (an app's own backend) asking
//! about tokens issued to them. Anything else, including another client's tokens, is simply
//! `{"active": false}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::clients;
use super::errors::{OAuthError, no_store};
use super::id_token::pairwise_subject;
use crate::clock::now;
use crate::state::AppState;
use crate::store::tokens::StoredTokenKind;
use crate::token_format::{self, TokenKind};

/// The endpoint.
#[tracing::instrument(name = "oauth.introspect", skip_all, fields(client_id))]
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client, fields) = clients::authenticated_form(&state, &headers, &body).await?;
    if !client.is_confidential() {
        return Err(OAuthError::invalid_client(
            "introspection is only for confidential clients",
            false,
        ));
    }
    let presented = fields.required("token")?;
    let hash = token_format::parse(TokenKind::Access, presented)
        .or_else(|| token_format::parse(TokenKind::Refresh, presented));
    let found = match hash {
        Some(hash) => state.store.token_with_grant(&hash).await?,
        None => None,
    };
    let t = now();
    let body = match found {
        Some((row, grant))
            if row.is_live(t)
                && row.used_at.is_none()
                && grant.is_active(t)
                && grant.client_id == client.id =>
        {
            let mut body = json!({
                "active": true,
                "scope": grant.scopes.join(" "),
                "client_id": client.id,
                "sub": pairwise_subject(&client.id, &grant.user_id),
                "iss": state.settings.issuer_str(),
                "iat": row.created_at,
            });
            if let Some(exp) = row.expires_at {
                body["exp"] = exp.into();
            }
            if row.kind() == StoredTokenKind::Access {
                body["token_type"] = "Bearer".into();
            }
            body
        }
        _ => json!({ "active": false }),
    };
    Ok((no_store(), Json(body)).into_response())
}
