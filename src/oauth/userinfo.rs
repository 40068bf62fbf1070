//! The UserInfo answer (OIDC Core §5.3) for access tokens with the `openid` scope. It holds only
//! `sub`: Keyward knows no name or email, and the subject is pairwise per app.

use serde_json::{Value, json};

use super::Provider;
use super::errors::{ErrorCode, OAuthError};
use super::id_token::pairwise_subject;
use super::token_state::{TokenFacts, TokenState, classify};
use crate::store::tokens::StoredTokenKind;
use crate::token_format::{self, TokenKind};

/// The claims for the access token in an `Authorization: Bearer` header value, at `now`.
pub async fn userinfo(
    p: &Provider<'_>,
    authorization: Option<&str>,
    now: i64,
) -> Result<Value, OAuthError> {
    let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid");
    let presented = authorization
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(invalid)?;
    let hash = token_format::parse(TokenKind::Access, presented.trim()).ok_or_else(invalid)?;
    let (row, grant) = p.store.token_with_grant(&hash).await?.ok_or_else(invalid)?;
    if row.kind() != StoredTokenKind::Access
        || classify(TokenFacts::from(&row), &grant, now) != TokenState::Live
    {
        return Err(invalid());
    }
    if !grant.scopes.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            ErrorCode::InsufficientScope,
            "the token lacks the openid scope",
        ));
    }
    Ok(json!({ "sub": pairwise_subject(&grant.client_id, &grant.user_id) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::test_support::{Fixture, T0};

    #[tokio::test]
    async fn userinfo_answers_for_a_live_openid_token_only() {
        let f = Fixture::new().await;
        let grant = f.grant(&["openid"], Some(T0 + 100), T0).await;
        let bearer = format!("Bearer {}", f.tokens(&grant, T0).await.access_token);
        let p = f.provider();
        let claims = userinfo(&p, Some(&bearer), T0 + 99).await.expect("claims");
        assert_eq!(
            claims,
            json!({ "sub": pairwise_subject(&f.client.id, &f.user.id) })
        );
        let ended = userinfo(&p, Some(&bearer), T0 + 100).await.unwrap_err();
        assert_eq!(ended.code, ErrorCode::InvalidToken);
        assert_eq!(
            userinfo(&p, None, T0).await.unwrap_err().code,
            ErrorCode::InvalidToken
        );

        let chat = f.grant(&["openai.chat"], None, T0).await;
        let bearer = format!("Bearer {}", f.tokens(&chat, T0).await.access_token);
        let refused = userinfo(&p, Some(&bearer), T0).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::InsufficientScope);
    }
}
