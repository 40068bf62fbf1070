//! OIDC ID tokens signed ES256, and the JWKS that publishes their keys.

/// The vault owner label under which a signing key's private half is sealed.
pub fn signing_key_owner(kid: &str) -> String {
    format!("signing-key:{kid}")
}
