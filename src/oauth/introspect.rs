//! Token introspection (RFC 7662), for confidential clients (an app's own backend) asking about
//! tokens issued to them. Anything else, including another client's tokens, is simply
//! `{"active": false}`.

use serde_json::{Value, json};

use super::Provider;
use super::errors::OAuthError;
use super::id_token::pairwise_subject;
use super::token_state::{TokenFacts, TokenState, classify};
use crate::store::clients::Client;
use crate::store::tokens::StoredTokenKind;
use crate::token_format::{self, TokenKind};
use crate::web::form::FormFields;

/// What `client` may learn at `now` about the token in `fields`.
pub async fn introspect(
    p: &Provider<'_>,
    client: &Client,
    fields: &FormFields,
    now: i64,
) -> Result<Value, OAuthError> {
    if !client.is_confidential() {
        return Err(OAuthError::invalid_client(
            "introspection is only for confidential clients",
            false,
        ));
    }
    let presented = fields.required("token")?;
    let hash = token_format::parse(TokenKind::Access, presented)
        .or_else(|| token_format::parse(TokenKind::Refresh, presented));
    let found = match hash {
        Some(hash) => p.store.token_with_grant(&hash).await?,
        None => None,
    };
    Ok(match found {
        Some((row, grant))
            if classify(TokenFacts::from(&row), &grant, now) == TokenState::Live
                && grant.client_id == client.id =>
        {
            let mut body = json!({
                "active": true,
                "scope": grant.scopes.join(" "),
                "client_id": client.id,
                "sub": pairwise_subject(&client.id, &grant.user_id),
                "iss": p.issuer,
                "iat": row.created_at,
            });
            if let Some(exp) = row.expires_at {
                body["exp"] = exp.into();
            }
            if row.kind() == StoredTokenKind::Access {
                body["token_type"] = "Bearer".into();
            }
            body
        }
        _ => json!({ "active": false }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::errors::ErrorCode;
    use crate::oauth::test_support::{Fixture, T0};

    #[tokio::test]
    async fn a_token_is_active_for_its_own_confidential_client_until_its_end() {
        let f = Fixture::new().await;
        let backend = f.add_client("backend", Some("s3cret")).await;
        let grant = f
            .grant_to(&backend, &["openai.chat"], Some(T0 + 100), T0)
            .await;
        let issued = f.tokens(&grant, T0).await;
        let fields = FormFields::parse(format!("token={}", issued.access_token).as_bytes());
        let p = f.provider();
        let at = |now| introspect(&p, &backend, &fields, now);
        let answer = at(T0 + 99).await.expect("answer");
        assert_eq!(answer["active"], true);
        assert_eq!(answer["exp"], T0 + 100);
        assert_eq!(answer["iat"], T0);
        assert_eq!(answer["token_type"], "Bearer");
        assert_eq!(
            at(T0 + 100).await.expect("answer"),
            json!({"active": false})
        );

        let other = f.add_client("other-backend", Some("t0ps3cret")).await;
        let answer = introspect(&p, &other, &fields, T0 + 1)
            .await
            .expect("answer");
        assert_eq!(answer, json!({"active": false}), "another client's token");
        let public = &f.client;
        let refused = introspect(&p, public, &fields, T0 + 1).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidClient);
    }
}
