//! Registering clients: by the operator (`keyward clients add`), and by apps themselves through
//! RFC 7591 dynamic registration, for public clients only (no secret,
//! `token_endpoint_auth_method: none`) and only when the operator turns it on. Dynamically
//! registered apps are marked unverified on the consent screen.

use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{ErrorCode, OAuthError};
use super::redirect::{self, RedirectError};
use crate::store::clients::{Client, ClientKind};
use crate::store::{Store, StoreError, new_id};
use crate::token_format::{self, TokenKind};

/// An app to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub logo_url: Option<String>,
    /// Give it a secret for the token endpoint (a server-side app).
    pub confidential: bool,
}

/// Why a client could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{uri}: {reason}")]
    RedirectUri { uri: String, reason: RedirectError },
    #[error("at least one redirect URI is required")]
    NoRedirectUri,
    #[error("the name must be 1 to 80 characters")]
    Name,
    #[error("the logo URL must be an https URL")]
    LogoUrl,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers a client at `now` and returns it with its secret (for confidential clients),
/// which is shown once: only its hash is stored.
pub async fn register(
    store: &Store,
    new: NewClient,
    kind: ClientKind,
    now: i64,
) -> Result<(Client, Option<String>), RegisterError> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(RegisterError::Name);
    }
    if new.redirect_uris.is_empty() {
        return Err(RegisterError::NoRedirectUri);
    }
    for uri in &new.redirect_uris {
        redirect::check_registrable(uri).map_err(|reason| RegisterError::RedirectUri {
            uri: uri.clone(),
            reason,
        })?;
    }
    if let Some(logo) = &new.logo_url
        && !url::Url::parse(logo).is_ok_and(|u| u.scheme() == "https")
    {
        return Err(RegisterError::LogoUrl);
    }
    let secret = new
        .confidential
        .then(|| token_format::issue(TokenKind::ClientSecret));
    let client = Client {
        id: format!("kwc_{}", new_id().replace('-', "")),
        kind,
        name,
        logo_url: new.logo_url,
        redirect_uris: new.redirect_uris,
        secret_hash: secret.as_ref().map(|s| s.hash.clone()),
        created_at: now,
    };
    store.insert_client(&client).await?;
    Ok((client, secret.map(|s| s.plaintext)))
}

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

/// RFC 7591: registers the public client a JSON metadata document describes, at `now`, and
/// returns the client information response.
pub async fn register_dynamic(store: &Store, body: &[u8], now: i64) -> Result<Value, OAuthError> {
    let metadata_error = |d: &'static str| OAuthError::new(ErrorCode::InvalidClientMetadata, d);
    let req: RegistrationRequest = serde_json::from_slice(body)
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
    let (client, _) = register(store, new, ClientKind::Dynamic, now)
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
    Ok(body)
}
