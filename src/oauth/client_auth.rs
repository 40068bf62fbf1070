//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post`, or `none` (a public client naming itself with
//! `client_id`). A confidential client must authenticate; a public one has no secret to send.

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::Provider;
use super::client_lookup;
use super::errors::OAuthError;
use crate::store::clients::Client;
use crate::token_format::{self, constant_time_eq};
use crate::web::form::FormFields;

/// The credentials a request carries. Deliberately not `Debug`: it holds the secret.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    /// They came as HTTP Basic (a failure then answers with a Basic challenge).
    pub basic: bool,
}

impl ClientCredentials {
    /// Reads the credentials from `Authorization: Basic` or the form's `client_id` and
    /// `client_secret`; using both methods at once is refused.
    pub fn read(headers: &HeaderMap, fields: &FormFields) -> Result<Self, OAuthError> {
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
        Ok(ClientCredentials {
            client_id,
            secret,
            basic: used_basic,
        })
    }
}

/// The client the credentials prove, at `now`: its secret must match (compared in constant
/// time), and a public client must send none.
pub async fn authenticate(
    p: &Provider<'_>,
    credentials: ClientCredentials,
    now: i64,
) -> Result<Client, OAuthError> {
    let ClientCredentials {
        client_id,
        secret,
        basic,
    } = credentials;
    let unknown = || OAuthError::invalid_client("client authentication failed", basic);
    let client = client_lookup::resolve(p, &client_id, now)
        .await?
        .ok_or_else(unknown)?;
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
            basic,
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
}
