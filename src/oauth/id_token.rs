//! OIDC ID tokens signed ES256 (josekit), the JWKS that publishes their keys, and the pairwise
//! subject identifiers they carry.
//!
//! Signing keys live in the store: the private half sealed by the vault (owner
//! [`vault_owner`]), the public half as a JWK. Every instance signs with the newest key
//! and publishes all of them, so rotation (`keyward signing-key rotate`) takes effect everywhere
//! at once while tokens signed earlier keep verifying. Two instances starting at the same time
//! may both create a first key; both are published and the newest wins, so nothing breaks.

use base64::Engine as _;
use josekit::jwk::Jwk;
use josekit::jwk::KeyPair as _;
use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use sha2::{Digest as _, Sha256};

use crate::store::signing_keys::{SigningKeyRow, vault_owner};
use crate::store::{Store, StoreError, new_id};
use crate::vault::{Vault, VaultError};

/// How long an ID token is valid: it proves a sign-in that just happened.
const ID_TOKEN_TTL: i64 = 10 * 60;

/// Authentication methods (RFC 8176) of every Keyward sign-in: a passkey is a hardware-bound
/// key (`hwk`) unlocked by user verification (`user`), two factors (`mfa`).
pub const AMR: &[&str] = &["hwk", "user", "mfa"];

/// Why a key could not be made, loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("signing key: {0}")]
    Jose(String),
    #[error("no signing key in the store")]
    NoKey,
}

impl From<josekit::JoseError> for SigningError {
    fn from(e: josekit::JoseError) -> Self {
        SigningError::Jose(e.to_string())
    }
}

/// Creates the first signing key if the store has none.
pub async fn ensure_signing_key(store: &Store, vault: &Vault) -> Result<(), SigningError> {
    if store.signing_keys().await?.is_empty() {
        let kid = create_key(store, vault).await?;
        tracing::info!(kid, "created the ID token signing key");
    }
    Ok(())
}

/// Adds a new signing key, used by every instance from now on; older keys stay published.
pub async fn rotate_signing_key(store: &Store, vault: &Vault) -> Result<String, SigningError> {
    create_key(store, vault).await
}

async fn create_key(store: &Store, vault: &Vault) -> Result<String, SigningError> {
    // Creation times are whole seconds; a kid that starts with the creation time in
    // milliseconds keeps "newest key" well defined for keys created within one second.
    let millis = crate::clock::now_millis();
    let kid = format!("{millis:012x}{}", &new_id().replace('-', "")[..8]);
    let pair = ES256.generate_key_pair()?;
    let mut private = pair.to_jwk_key_pair();
    private.set_key_id(&kid);
    let mut public = pair.to_jwk_public_key();
    public.set_key_id(&kid);
    public.set_algorithm("ES256");
    public.set_key_use("sig");
    let sealed = vault.seal(
        &vault_owner(&kid),
        zeroize::Zeroizing::new(private.to_string()).as_bytes(),
    )?;
    store
        .insert_signing_key(&SigningKeyRow {
            kid: kid.clone(),
            key_id: sealed.key_id,
            private_jwe: sealed.jwe,
            public_jwk: public.to_string(),
            created_at: crate::clock::now(),
            retired_at: None,
        })
        .await?;
    Ok(kid)
}

/// The JSON Web Key Set: every signing key's public half.
pub async fn jwks(store: &Store) -> Result<serde_json::Value, SigningError> {
    let keys = store
        .signing_keys()
        .await?
        .iter()
        .map(|k| serde_json::from_str(&k.public_jwk))
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|e| SigningError::Jose(format!("stored public key: {e}")))?;
    Ok(serde_json::json!({ "keys": keys }))
}

/// What an ID token says.
#[derive(Debug)]
pub struct IdTokenClaims<'a> {
    pub issuer: &'a str,
    /// The pairwise subject (see [`pairwise_subject`]).
    pub subject: &'a str,
    /// The client the token is for.
    pub audience: &'a str,
    /// When the person authenticated with their passkey.
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
}

/// Signs an ID token issued at `now` with the newest key.
pub async fn sign(
    store: &Store,
    vault: &Vault,
    claims: &IdTokenClaims<'_>,
    now: i64,
) -> Result<String, SigningError> {
    let key = store
        .signing_keys()
        .await?
        .into_iter()
        .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
        .ok_or(SigningError::NoKey)?;
    let private = vault.open(&vault_owner(&key.kid), &key.private_jwe)?;
    let signer = ES256.signer_from_jwk(&Jwk::from_bytes(&*private)?)?;

    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(&key.kid);
    let mut payload = JwtPayload::new();
    payload.set_issuer(claims.issuer);
    payload.set_subject(claims.subject);
    payload.set_audience(vec![claims.audience]);
    // NumericDate claims as JSON integers: josekit's `set_issued_at` writes a float
    // (`1796172994.0`), which decoders that type NumericDate as an integer reject.
    payload.set_claim("iat", Some(now.into()))?;
    payload.set_claim("exp", Some((now + ID_TOKEN_TTL).into()))?;
    payload.set_claim("auth_time", Some(claims.auth_time.into()))?;
    payload.set_claim("amr", Some(AMR.into()))?;
    if let Some(nonce) = claims.nonce {
        payload.set_claim("nonce", Some(nonce.into()))?;
    }
    Ok(jwt::encode_with_signer(&payload, &header, &signer)?)
}

/// The subject identifier a client sees for a person: stable for that client, different for
/// every other client, and not computable without the person's internal (random) user id, so
/// apps cannot link their users across each other (OIDC Core §8.1, sector = client_id).
pub fn pairwise_subject(client_id: &str, user_id: &str) -> String {
    let mut hash = Sha256::new();
    for part in ["keyward-pairwise-v1", client_id, user_id] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_subjects_differ_per_client_and_are_stable() {
        let a = pairwise_subject("https://a.example", "user-1");
        assert_eq!(a, pairwise_subject("https://a.example", "user-1"));
        assert_ne!(a, pairwise_subject("https://b.example", "user-1"));
        assert_ne!(a, pairwise_subject("https://a.example", "user-2"));
        // Length-prefixed: shifting characters between the parts changes the result.
        assert_ne!(pairwise_subject("ab", "c"), pairwise_subject("a", "bc"));
    }
}
