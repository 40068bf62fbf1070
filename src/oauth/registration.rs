//! `POST /oauth/register`: RFC 7591 dynamic registration, for public clients only (no secret,
//! `token_endpoint_auth_method: none`), and only when the operator turns it on. Dynamically
//! registered apps are marked unverified on the consent screen.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::clients::{self, NewClient, RegisterError};
use super::errors::{ErrorCode, OAuthError, no_store};
use crate::state::AppState;
use crate::store::clients::ClientKind;

/// The metadata Keyward reads from a registration request; other fields are ignored.
#[derive(Debug, Deserialize)]
struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    logo_uri: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
}

/// The endpoint.
#[tracing::instrument(name = "oauth.register", skip_all)]
pub async fn register(State(state): State<AppState>, body: Bytes) -> Result<Response, OAuthError> {
    let metadata_error = |d: &'static str| OAuthError::new(ErrorCode::InvalidClientMetadata, d);
    let req: RegistrationRequest = serde_json::from_slice(&body)
        .map_err(|_| metadata_error("the body must be a JSON object of client metadata"))?;
    if req
        .token_endpoint_auth_method
        .as_deref()
        .is_some_and(|m| m != "none")
    {
        return Err(metadata_error(
            "only public clients can register: token_endpoint_auth_method must be none",
        ));
    }
    let grant_types = req
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if grant_types
        .iter()
        .any(|g| g != "authorization_code" && g != "refresh_token")
    {
        return Err(metadata_error(
            "grant_types may only contain authorization_code and refresh_token",
        ));
    }
    let response_types = req.response_types.unwrap_or_else(|| vec!["code".into()]);
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata_error("response_types may only contain code"));
    }
    let new = NewClient {
        name: req.client_name.unwrap_or_else(|| "Unnamed app".into()),
        redirect_uris: req.redirect_uris,
        logo_url: req.logo_uri,
        confidential: false,
    };
    let (client, _) = clients::register(&state.store, new, ClientKind::Dynamic)
        .await
        .map_err(|e| match e {
            RegisterError::RedirectUri { .. } | RegisterError::NoRedirectUri => {
                OAuthError::new(ErrorCode::InvalidRedirectUri, e.to_string())
            }
            RegisterError::Store(e) => OAuthError::from(e),
            other => OAuthError::new(ErrorCode::InvalidClientMetadata, other.to_string()),
        })?;
    tracing::info!(client_id = %client.id, "client registered dynamically");
    let mut body = json!({
        "client_id": client.id,
        "client_id_issued_at": client.created_at,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": "none",
        "grant_types": grant_types,
        "response_types": response_types,
    });
    if let Some(logo) = client.logo_url {
        body["logo_uri"] = logo.into();
    }
    Ok((StatusCode::CREATED, no_store(), Json(body)).into_response())
}
