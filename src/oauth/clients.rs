//! Who is asking: resolving a `client_id` to a client (registered by an operator, registered
//! dynamically, or a website identified by its origin), checking its redirect URI, presenting
//! it on the consent screen, authenticating it at the token endpoints, and registering new ones.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use serde::Serialize;

use super::errors::OAuthError;
use super::redirect::{self, RedirectError};
use crate::clock::now;
use crate::state::AppState;
use crate::store::clients::{Client, ClientKind};
use crate::store::{Store, StoreError, new_id};
use crate::token_format::{self, TokenKind, constant_time_eq};
use crate::web::form::FormFields;

/// The client behind `client_id`, if this server accepts it. An origin client exists as soon as
/// a website asks (when `origin_clients` is on); its row is written at first consent.
pub async fn resolve(state: &AppState, client_id: &str) -> Result<Option<Client>, StoreError> {
    let origin_clients = state.settings.origin_clients;
    if let Some(client) = state.store.client(client_id).await? {
        let allowed = client.kind != ClientKind::Origin || origin_clients;
        return Ok(allowed.then_some(client));
    }
    if !origin_clients {
        return Ok(None);
    }
    Ok(redirect::origin_client(client_id).map(|url| Client {
        id: client_id.to_owned(),
        kind: ClientKind::Origin,
        name: url.host_str().unwrap_or(client_id).to_owned(),
        logo_url: None,
        redirect_uris: Vec::new(),
        secret_hash: None,
        created_at: now(),
    }))
}

/// Checks that the client may receive responses at `redirect_uri`.
pub fn check_redirect(client: &Client, redirect_uri: &str) -> Result<(), RedirectError> {
    match client.kind {
        ClientKind::Origin => redirect::check_on_origin(&client.id, redirect_uri),
        ClientKind::Registered | ClientKind::Dynamic => client
            .redirect_uris
            .iter()
            .any(|r| redirect::matches_registered(r, redirect_uri))
            .then_some(())
            .ok_or(RedirectError::NotRegistered),
    }
}

/// How the sign-in and consent pages present an app.
#[derive(Debug, Serialize)]
pub struct AppView {
    pub name: String,
    /// Shown only for verified apps: an unverified one could borrow a famous logo.
    pub logo_url: Option<String>,
    /// Where the response goes: the origin, or the redirect URI's host (or scheme for native
    /// apps).
    pub host: String,
    /// Registered by the operator.
    pub verified: bool,
    /// What "unverified" means for this kind of client.
    pub unverified_note: &'static str,
}

impl AppView {
    /// The view of `client` answering at `redirect_uri`.
    pub fn new(client: &Client, redirect_uri: &str) -> AppView {
        let host = url::Url::parse(redirect_uri)
            .ok()
            .map(|u| match u.host_str() {
                Some(_) => u.origin().ascii_serialization(),
                None => format!("{}:", u.scheme()),
            })
            .unwrap_or_else(|| client.id.clone());
        let verified = client.kind == ClientKind::Registered;
        AppView {
            name: client.name.clone(),
            logo_url: client.logo_url.clone().filter(|_| verified),
            host,
            verified,
            unverified_note: match client.kind {
                ClientKind::Origin => "It identifies itself only by its web address.",
                _ => "It registered itself and chose its own name.",
            },
        }
    }
}

/// Token requests are forms (RFC 6749 §3.2).
fn require_form(headers: &HeaderMap) -> Result<(), OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ))
    }
}

/// A client-authenticated form POST, as the token, revocation and introspection endpoints take
/// them: the body must be a form, the client authenticates (RFC 6749 §2.3), and its id is
/// recorded on the request's span (the handler's span declares a `client_id` field).
pub async fn authenticated_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Client, FormFields), OAuthError> {
    require_form(headers)?;
    let fields = FormFields::parse(body);
    let client = authenticate(state, headers, &fields).await?;
    tracing::Span::current().record("client_id", client.id.as_str());
    Ok((client, fields))
}

/// Authenticates the client making a token, revocation or introspection request:
/// `client_secret_basic`, `client_secret_post`, or `none` (a public client naming itself with
/// `client_id`). A confidential client must authenticate; a public one has no secret to send.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    fields: &FormFields,
) -> Result<Client, OAuthError> {
    let basic = basic_credentials(headers)?;
    let body_id = fields.one("client_id")?;
    let body_secret = fields.one("client_secret")?;
    let used_basic = basic.is_some();
    let (client_id, secret) = match (basic, body_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not both Basic and client_secret",
            ));
        }
        (Some((id, secret)), None) => {
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            (id, Some(secret))
        }
        (None, secret) => {
            let id = body_id
                .ok_or_else(|| OAuthError::invalid_client("client_id is required", false))?;
            (id.to_owned(), secret.map(str::to_owned))
        }
    };
    let unknown = || OAuthError::invalid_client("client authentication failed", used_basic);
    let client = resolve(state, &client_id).await?.ok_or_else(unknown)?;
    match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => {
            if constant_time_eq(token_format::hash(&secret).as_bytes(), hash.as_bytes()) {
                Ok(client)
            } else {
                Err(unknown())
            }
        }
        (Some(_), None) => Err(OAuthError::invalid_client(
            "this client is confidential: authenticate with client_secret_basic or client_secret_post",
            false,
        )),
        (None, Some(_)) => Err(OAuthError::invalid_client(
            "this client is public and has no secret; send only client_id",
            used_basic,
        )),
        (None, None) => Ok(client),
    }
}

/// `Authorization: Basic` credentials, form-decoded as RFC 6749 §2.3.1 asks.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("malformed Basic credentials", true);
    let value = value.to_str().map_err(|_| bad())?;
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Err(bad());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

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

/// Registers a client and returns it with its secret (for confidential clients), which is
/// shown once: only its hash is stored.
pub async fn register(
    store: &Store,
    new: NewClient,
    kind: ClientKind,
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
        created_at: now(),
    };
    store.insert_client(&client).await?;
    Ok((client, secret.map(|s| s.plaintext)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let raw = base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {raw}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("my app".into(), "s:cret".into()))
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(basic_credentials(&h).is_err());
    }

    #[test]
    fn unverified_apps_show_no_logo_and_their_real_host() {
        let client = Client {
            id: "https://app.example".into(),
            kind: ClientKind::Origin,
            name: "app.example".into(),
            logo_url: Some("https://cdn.example/famous.png".into()),
            redirect_uris: vec![],
            secret_hash: None,
            created_at: 0,
        };
        let view = AppView::new(&client, "https://app.example/cb");
        assert!(!view.verified);
        assert_eq!(view.logo_url, None);
        assert_eq!(view.host, "https://app.example");
    }
}
