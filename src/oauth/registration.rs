//! Registering clients: by the operator (`keyward clients add`), and by apps themselves through
//! RFC 7591 dynamic registration, for public clients only (no secret,
//! `token_endpoint_auth_method: none`) and only when the operator turns it on. Dynamically
//! registered apps are marked unverified on the consent screen. The operator can change a
//! registration later (`keyward clients update`); the same rules hold for the new values.

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
    #[error("no client {0}; `keyward clients list` shows the registered ones")]
    UnknownClient(String),
    #[error(
        "{0} is a website identified by its origin: it has no registration to change (register \
         the app with `keyward clients add` to give it a name and redirect URIs)"
    )]
    OriginClient(String),
    #[error("{uri} is not one of the client's redirect URIs ({registered})")]
    NotRegistered { uri: String, registered: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to change in a registration; `None` and empty lists leave a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    /// Redirect URIs to add (one already registered is left as it is).
    pub add_redirect_uris: Vec<String>,
    /// Redirect URIs to remove; each must be registered, and one must remain.
    pub remove_redirect_uris: Vec<String>,
    /// `Some(None)` removes the logo.
    pub logo_url: Option<Option<String>>,
}

impl ClientChanges {
    /// True when it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.add_redirect_uris.is_empty()
            && self.remove_redirect_uris.is_empty()
            && self.logo_url.is_none()
    }
}

/// The name as people will see it: trimmed, 1 to 80 characters.
fn checked_name(name: &str) -> Result<String, RegisterError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(RegisterError::Name);
    }
    Ok(name.to_owned())
}

/// At least one redirect URI, each one registrable.
fn check_redirect_uris(uris: &[String]) -> Result<(), RegisterError> {
    if uris.is_empty() {
        return Err(RegisterError::NoRedirectUri);
    }
    for uri in uris {
        redirect::check_registrable(uri).map_err(|reason| RegisterError::RedirectUri {
            uri: uri.clone(),
            reason,
        })?;
    }
    Ok(())
}

/// A logo, when there is one, is fetched by people's browsers: https only.
fn check_logo_url(logo: Option<&str>) -> Result<(), RegisterError> {
    match logo {
        Some(logo) if !url::Url::parse(logo).is_ok_and(|u| u.scheme() == "https") => {
            Err(RegisterError::LogoUrl)
        }
        _ => Ok(()),
    }
}

/// Registers a client at `now` and returns it with its secret (for confidential clients),
/// which is shown once: only its hash is stored.
pub async fn register(
    store: &Store,
    new: NewClient,
    kind: ClientKind,
    now: i64,
) -> Result<(Client, Option<String>), RegisterError> {
    let name = checked_name(&new.name)?;
    check_redirect_uris(&new.redirect_uris)?;
    check_logo_url(new.logo_url.as_deref())?;
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

/// Changes a registered (or dynamically registered) client and returns it as it now is.
/// Its client_id and secret stay the same, so the app keeps working; grants people gave it
/// stay, and a redirect URI removed here is refused at the next authorization request.
pub async fn update(
    store: &Store,
    client_id: &str,
    changes: ClientChanges,
) -> Result<Client, RegisterError> {
    let mut client = store
        .client(client_id)
        .await?
        .ok_or_else(|| RegisterError::UnknownClient(client_id.to_owned()))?;
    if client.kind == ClientKind::Origin {
        return Err(RegisterError::OriginClient(client.id));
    }
    if let Some(name) = &changes.name {
        client.name = checked_name(name)?;
    }
    for uri in &changes.remove_redirect_uris {
        let Some(i) = client.redirect_uris.iter().position(|u| u == uri) else {
            return Err(RegisterError::NotRegistered {
                uri: uri.clone(),
                registered: client.redirect_uris.join(", "),
            });
        };
        client.redirect_uris.remove(i);
    }
    for uri in changes.add_redirect_uris {
        if !client.redirect_uris.contains(&uri) {
            client.redirect_uris.push(uri);
        }
    }
    check_redirect_uris(&client.redirect_uris)?;
    if let Some(logo) = changes.logo_url {
        check_logo_url(logo.as_deref())?;
        client.logo_url = logo;
    }
    if !store.update_client(&client).await? {
        return Err(RegisterError::UnknownClient(client.id));
    }
    Ok(client)
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
