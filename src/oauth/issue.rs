//! Minting tokens for a grant: an access token (the app's long-lived `apiKey`) and, where the
//! grant includes `offline_access`, a rotating refresh token. Used by the token endpoint (code
//! and refresh grants) and by tests that need a token without the browser flow.

use crate::store::grants::Grant;
use crate::store::tokens::{StoredTokenKind, TokenRow};
use crate::store::{Store, StoreError};
use crate::token_format::{self, TokenKind};

/// Freshly minted tokens; the plaintexts exist only here and in the response to the app.
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires; `None` when it lives until revoked.
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IssuedTokens {{ expires_in: {:?}, refresh: {} }}",
            self.expires_in,
            self.refresh_token.is_some()
        )
    }
}

/// Mints and stores tokens for `grant` in token family `family`, issued at `now`. Both tokens
/// expire with the grant's lifetime.
pub async fn issue_tokens(
    store: &Store,
    grant: &Grant,
    family: &str,
    now: i64,
) -> Result<IssuedTokens, StoreError> {
    let access = token_format::issue(TokenKind::Access);
    let expires_at = grant.limits.expires_at;
    let mut rows = vec![TokenRow::new(
        access.hash.clone(),
        StoredTokenKind::Access,
        &grant.id,
        family,
        expires_at,
        now,
    )];
    let refresh = grant
        .scopes
        .iter()
        .any(|s| s == "offline_access")
        .then(|| token_format::issue(TokenKind::Refresh));
    if let Some(r) = &refresh {
        rows.push(TokenRow::new(
            r.hash.clone(),
            StoredTokenKind::Refresh,
            &grant.id,
            family,
            expires_at,
            now,
        ));
    }
    store.insert_tokens(&rows).await?;
    Ok(IssuedTokens {
        access_token: access.plaintext,
        refresh_token: refresh.map(|r| r.plaintext),
        expires_in: expires_at.map(|e| (e - now).max(0)),
    })
}
