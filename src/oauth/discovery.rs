//! Authorization server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery),
//! one document at both well-known addresses, listing exactly what Keyward supports. (The JWKS
//! at `jwks_uri` comes from [`super::id_token::jwks`].)

use serde_json::{Value, json};

use crate::config::Settings;
use crate::scopes::SCOPES;

/// The metadata document.
pub fn metadata(settings: &Settings) -> Value {
    let base = settings.public_url.as_str().trim_end_matches('/');
    let endpoint = |path: &str| format!("{base}{path}");
    let client_auth = ["none", "client_secret_basic", "client_secret_post"];
    let mut doc = json!({
        "issuer": settings.issuer_str(),
        "authorization_endpoint": endpoint("/oauth/authorize"),
        "token_endpoint": endpoint("/oauth/token"),
        "revocation_endpoint": endpoint("/oauth/revoke"),
        "introspection_endpoint": endpoint("/oauth/introspect"),
        "userinfo_endpoint": endpoint("/oauth/userinfo"),
        "jwks_uri": endpoint("/oauth/jwks"),
        "scopes_supported": SCOPES.iter().map(|s| s.name).collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "web_message"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": client_auth,
        "revocation_endpoint_auth_methods_supported": client_auth,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr"],
        "service_documentation": endpoint("/"),
    });
    if settings.dynamic_registration {
        doc["registration_endpoint"] = endpoint("/oauth/register").into();
    }
    doc
}
