//! Answering an approved authorization request with a code (RFC 6749 §4.1.2): single-use,
//! short-lived, stored only as a hash, and bound to the client, the redirect URI and the PKCE
//! challenge of the request, to the grant the person just gave, and to a fresh token family
//! that a replay of the code revokes.

use super::pending::AuthRequest;
use crate::store::codes::AuthCode;
use crate::store::grants::Grant;
use crate::store::{Store, StoreError, new_id};
use crate::token_format::{self, TokenKind};

/// How long an authorization code lives (RFC 9700 asks for a short lifetime).
pub const CODE_TTL: i64 = 60;

/// A freshly minted authorization code; the plaintext exists only here and in the response to
/// the app. Deliberately not `Debug`.
pub struct IssuedCode(String);

impl IssuedCode {
    /// The code as the app receives it.
    pub fn plaintext(&self) -> &str {
        &self.0
    }
}

/// Mints and stores the code answering `request`, which the person approved at `now` (their
/// passkey assertion, the ID token's `auth_time`) with `grant`.
pub async fn issue_code(
    store: &Store,
    request: &AuthRequest,
    grant: &Grant,
    now: i64,
) -> Result<IssuedCode, StoreError> {
    let code = token_format::issue(TokenKind::Code);
    store
        .insert_auth_code(&AuthCode {
            hash: code.hash,
            grant_id: grant.id.clone(),
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scopes: request.scopes.clone(),
            nonce: request.nonce.clone(),
            auth_time: now,
            family: new_id(),
            created_at: now,
            expires_at: now + CODE_TTL,
            used_at: None,
            replayed_at: None,
        })
        .await?;
    Ok(IssuedCode(code.plaintext))
}
