//! Bearer token → the grant it belongs to, through the [`super::cache`]: checks the token's
//! format and checksum first (no store access for garbage), then its state and its grant's.

use std::sync::Arc;

use axum::http::{HeaderMap, header};

use super::cache::CachedToken;
use super::errors::ProxyError;
use crate::oauth::token_state::{self, TokenFacts, TokenState};
use crate::state::AppState;
use crate::store::tokens::StoredTokenKind;
use crate::token_format::{self, TokenKind};

/// Finds the grant behind the request's access token, live at `at` (Unix seconds).
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    at: i64,
) -> Result<Arc<CachedToken>, ProxyError> {
    let presented = bearer(headers).ok_or(ProxyError::MissingToken)?;
    let hash = token_format::parse(TokenKind::Access, presented).ok_or(ProxyError::InvalidToken)?;
    let cache = &state.proxy.cache;
    let found = match cache.get(&hash) {
        Some(hit) => {
            state.metrics.token_cache(true);
            hit
        }
        None => {
            state.metrics.token_cache(false);
            let generation = cache.generation();
            let fresh = Arc::new(lookup(state, &hash).await?);
            cache.insert(hash, fresh.clone(), generation);
            fresh
        }
    };
    check(&found, at)?;
    Ok(found)
}

/// Reads a token, its grant and the owner's sealed key from the store.
async fn lookup(state: &AppState, hash: &str) -> Result<CachedToken, ProxyError> {
    let (token, grant) = state
        .store
        .token_with_grant(hash)
        .await?
        .ok_or(ProxyError::InvalidToken)?;
    if token.kind() != StoredTokenKind::Access {
        return Err(ProxyError::InvalidToken);
    }
    let vault = state.store.vault_entry(&grant.user_id).await?;
    Ok(CachedToken {
        token_expires_at: token.expires_at,
        token_revoked: token.revoked_at.is_some(),
        vault_jwe: vault.map(|v| v.jwe),
        grant,
    })
}

/// The token and its grant are usable at `at` (see [`token_state::classify`]).
fn check(found: &CachedToken, at: i64) -> Result<(), ProxyError> {
    let token = TokenFacts {
        revoked: found.token_revoked,
        spent: false,
        expires_at: found.token_expires_at,
    };
    match token_state::classify(token, &found.grant, at) {
        TokenState::Live => {}
        TokenState::Revoked | TokenState::Spent => return Err(ProxyError::Revoked),
        TokenState::Expired => return Err(ProxyError::Expired),
    }
    if found.vault_jwe.is_none() {
        return Err(ProxyError::NoProviderKey);
    }
    Ok(())
}

/// The token in `Authorization: Bearer …` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
