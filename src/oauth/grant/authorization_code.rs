//! `grant_type=authorization_code` (RFC 6749 §4.1.3 with PKCE, RFC 7636): a code redeemed once,
//! by the client it was issued to, with the redirect URI and the verifier of its request. A
//! code presented a second time revokes every token it issued.

use super::{TokenResponse, live_grant, respond, revoke_and_refuse};
use crate::oauth::Provider;
use crate::oauth::errors::{ErrorCode, OAuthError};
use crate::oauth::id_token::{self, IdTokenClaims};
use crate::oauth::pkce;
use crate::store::clients::Client;
use crate::store::codes::CodeClaim;
use crate::token_format::{self, TokenKind};
use crate::web::form::FormFields;

/// What a replayed code is told; the tokens it issued are revoked either way (RFC 6749 §4.1.2).
const CODE_REPLAYED: &str = "the code was already used; the tokens it issued have been revoked";

/// Redeems the code in `fields` for `client` at `now`: tokens for its grant, and an ID token
/// when the grant includes `openid`.
pub async fn redeem(
    p: &Provider<'_>,
    client: &Client,
    fields: &FormFields,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let presented = fields.required("code")?;
    let redirect_uri = fields.required("redirect_uri")?;
    let verifier = fields.one("code_verifier")?;
    let invalid = || OAuthError::invalid_grant("the code is invalid or has expired");
    let hash = token_format::parse(TokenKind::Code, presented).ok_or_else(invalid)?;
    let code = match p.store.claim_auth_code(&hash, now).await? {
        CodeClaim::Claimed(code) => code,
        CodeClaim::Invalid => return Err(invalid()),
        CodeClaim::Replayed(code) => {
            tracing::warn!("authorization code replayed; revoking the tokens it issued");
            return revoke_and_refuse(p, &code.family, CODE_REPLAYED, now).await;
        }
    };
    if code.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    pkce::verify(&code.code_challenge, verifier)
        .map_err(|e| OAuthError::invalid_grant(e.to_string()))?;
    let grant = live_grant(p, &code.grant_id, now).await?;
    let mut response = respond(p, &grant, &code.family, now).await?;
    if p.store.auth_code_replayed(&hash).await? {
        tracing::warn!("authorization code replayed during its redemption; revoking its tokens");
        return revoke_and_refuse(p, &code.family, CODE_REPLAYED, now).await;
    }
    if grant.scopes.iter().any(|s| s == "openid") {
        let subject = id_token::pairwise_subject(&client.id, &grant.user_id);
        let claims = IdTokenClaims {
            issuer: p.issuer,
            subject: &subject,
            audience: &client.id,
            auth_time: code.auth_time,
            nonce: code.nonce.as_deref(),
        };
        let signed = id_token::sign(p.store, p.vault, &claims, now)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not sign an ID token");
                OAuthError::new(ErrorCode::ServerError, "could not sign the ID token")
            })?;
        response.id_token = Some(signed);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use crate::oauth::approve::CODE_TTL;
    use crate::oauth::errors::ErrorCode;
    use crate::oauth::grant::GRANT_ENDED;
    use crate::oauth::test_support::{Fixture, REDIRECT, T0, VERIFIER, form, refused};
    use crate::oauth::token_state::TokenState;

    use super::CODE_REPLAYED;

    fn invalid_grant(description: &str) -> (ErrorCode, String) {
        (ErrorCode::InvalidGrant, description.to_owned())
    }

    #[tokio::test]
    async fn a_code_works_until_the_second_its_lifetime_ends() {
        let f = Fixture::new().await;
        let grant = f.grant(&["openai.chat"], None, T0).await;
        let last_chance = f.code(&grant, T0).await;
        assert!(f.redeem(&last_chance, T0 + CODE_TTL - 1).await.is_ok());
        let too_late = f.code(&grant, T0).await;
        assert_eq!(
            refused(f.redeem(&too_late, T0 + CODE_TTL).await),
            invalid_grant("the code is invalid or has expired")
        );
    }

    #[tokio::test]
    async fn a_code_is_bound_to_its_client_and_redirect_uri() {
        let f = Fixture::new().await;
        let grant = f.grant(&["openai.chat"], None, T0).await;
        let other = f.add_client("other", None).await;
        let code = f.code(&grant, T0).await;
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            form(REDIRECT)
        );
        assert_eq!(
            refused(f.token(&other, &body, T0 + 1).await),
            invalid_grant("the code was issued to another client")
        );
        let code = f.code(&grant, T0).await;
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            form("https://app.example/other")
        );
        assert_eq!(
            refused(f.token(&f.client, &body, T0 + 1).await),
            invalid_grant("redirect_uri differs from the one in the authorization request")
        );
    }

    #[tokio::test]
    async fn a_code_needs_the_verifier_of_its_challenge() {
        let f = Fixture::new().await;
        let grant = f.grant(&["openai.chat"], None, T0).await;
        let redeem = async |verifier: Option<&str>| {
            let code = f.code(&grant, T0).await;
            let mut body = format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                form(REDIRECT)
            );
            if let Some(v) = verifier {
                body.push_str(&format!("&code_verifier={v}"));
            }
            f.token(&f.client, &body, T0 + 1).await
        };
        assert_eq!(
            refused(redeem(None).await),
            invalid_grant("code_verifier is required")
        );
        let wrong = "a".repeat(43);
        assert_eq!(
            refused(redeem(Some(&wrong)).await),
            invalid_grant("code_verifier does not match the code_challenge")
        );
        assert!(redeem(Some(VERIFIER)).await.is_ok());
    }

    #[tokio::test]
    async fn a_replayed_code_revokes_every_token_it_issued() {
        let f = Fixture::new().await;
        let grant = f.grant(&["openai.chat", "offline_access"], None, T0).await;
        let code = f.code(&grant, T0).await;
        let issued = f.redeem(&code, T0 + 1).await.expect("first redemption");
        let refresh = issued.refresh_token.expect("offline_access");
        assert_eq!(
            f.state_of(&issued.access_token, T0 + 2).await,
            TokenState::Live
        );
        assert_eq!(
            refused(f.redeem(&code, T0 + 2).await),
            invalid_grant(CODE_REPLAYED)
        );
        assert_eq!(
            f.state_of(&issued.access_token, T0 + 2).await,
            TokenState::Revoked
        );
        assert_eq!(f.state_of(&refresh, T0 + 2).await, TokenState::Revoked);
    }

    #[tokio::test]
    async fn a_code_for_an_ended_grant_issues_nothing() {
        let f = Fixture::new().await;
        let grant = f.grant(&["openai.chat"], Some(T0 + 30), T0).await;
        let code = f.code(&grant, T0).await;
        assert_eq!(
            refused(f.redeem(&code, T0 + 30).await),
            invalid_grant(GRANT_ENDED)
        );
        let code = f.code(&grant, T0).await;
        let issued = f.redeem(&code, T0 + 20).await.expect("still live");
        assert_eq!(issued.expires_in, Some(10), "counted from the request");
        assert_eq!(
            f.state_of(&issued.access_token, T0 + 29).await,
            TokenState::Live
        );
        assert_eq!(
            f.state_of(&issued.access_token, T0 + 30).await,
            TokenState::Expired
        );
    }

    #[tokio::test]
    async fn an_openid_code_gets_an_id_token_issued_at_the_request() {
        let f = Fixture::new().await;
        f.signing_key().await;
        let grant = f.grant(&["openid"], None, T0).await;
        let code = f.code(&grant, T0).await;
        let issued = f.redeem(&code, T0 + 5).await.expect("tokens");
        let id_token = issued.id_token.expect("an ID token");
        let payload = id_token.split('.').nth(1).expect("a JWS");
        let payload: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url"),
        )
        .expect("JSON");
        // NumericDate claims are integers: decoders that type them as integers reject
        // `1800000005.0`.
        for (claim, value) in [("iat", T0 + 5), ("exp", T0 + 5 + 600)] {
            assert!(payload[claim].is_i64(), "{claim}: {}", payload[claim]);
            assert_eq!(payload[claim].as_i64(), Some(value), "{claim}");
        }
        assert_eq!(payload["auth_time"], T0, "when the person approved");
        assert_eq!(payload["aud"], f.client.id.as_str());
    }
}
