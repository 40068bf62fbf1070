//! `grant_type=refresh_token` with rotation (RFC 6749 §6, RFC 9700 §4.14.2): a refresh token is
//! single-use; its successor is issued in the same family, and presenting a used one revokes
//! the whole family, whichever party (the app or a thief) comes second.
//!
//! The form is checked before the token is claimed, so a malformed request spends nothing. A
//! reuse can land between the winner's claim and the insert of its successor, revoking a family
//! that does not hold the successor yet; so, as the code grant does, the winner looks again
//! after storing its tokens and revokes them itself if the token it claimed was revoked since.

use super::{GRANT_ENDED, TokenResponse, respond, revoke_and_refuse};
use crate::oauth::Provider;
use crate::oauth::errors::{ErrorCode, OAuthError};
use crate::scopes::ScopeSet;
use crate::store::clients::Client;
use crate::store::grants::Grant;
use crate::store::tokens::{RefreshClaim, TokenRow};
use crate::token_format::{self, TokenKind};
use crate::web::form::FormFields;

/// What a reused refresh token (or the rotation it raced) is told.
const REUSED: &str =
    "the refresh token was already used; every token of this authorization has been revoked";

/// Rotates the refresh token in `fields` for `client` at `now`: new tokens with the scopes the
/// person granted (a `scope` parameter may only repeat them).
pub async fn refresh(
    p: &Provider<'_>,
    client: &Client,
    fields: &FormFields,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let claimed = claim(p, client, fields, now).await?;
    rotate(p, claimed, now).await
}

/// A refresh token this request spent, with its grant.
struct Claimed {
    row: TokenRow,
    grant: Grant,
}

/// Checks the form, then spends the presented token: from here on the request either gets the
/// successor or nothing.
async fn claim(
    p: &Provider<'_>,
    client: &Client,
    fields: &FormFields,
    now: i64,
) -> Result<Claimed, OAuthError> {
    let presented = fields.required("refresh_token")?;
    let requested_scope = fields.one("scope")?.map(ScopeSet::parse);
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let hash = token_format::parse(TokenKind::Refresh, presented).ok_or_else(invalid)?;
    let (row, grant) = match p.store.claim_refresh_token(&hash, now).await? {
        RefreshClaim::Claimed(claimed) => *claimed,
        RefreshClaim::Invalid => return Err(invalid()),
        RefreshClaim::Reused(row) => {
            tracing::warn!("refresh token reused; revoking its token family");
            return revoke_and_refuse(p, &row.family, REUSED, now).await;
        }
    };
    if grant.client_id != client.id {
        tracing::warn!("refresh token presented by another client; revoking its token family");
        return revoke_and_refuse(
            p,
            &row.family,
            "the refresh token was issued to another client",
            now,
        )
        .await;
    }
    if !grant.is_active(now) {
        return Err(OAuthError::invalid_grant(GRANT_ENDED));
    }
    if requested_scope.is_some_and(|s| s != grant.scopes.iter().collect()) {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "a refresh returns the scopes the person granted; omit scope or send exactly those",
        ));
    }
    Ok(Claimed { row, grant })
}

/// Issues the successor of a claimed token, unless a reuse revoked the family meanwhile.
async fn rotate(p: &Provider<'_>, claimed: Claimed, now: i64) -> Result<TokenResponse, OAuthError> {
    let Claimed { row, grant } = claimed;
    let response = respond(p, &grant, &row.family, now).await?;
    let revoked_since = p
        .store
        .token_with_grant(&row.hash)
        .await?
        .is_none_or(|(now_row, _)| now_row.revoked_at.is_some());
    if revoked_since {
        tracing::warn!("refresh token reused during its rotation; revoking its token family");
        return revoke_and_refuse(p, &row.family, REUSED, now).await;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::{REUSED, claim, rotate};
    use crate::oauth::errors::ErrorCode;
    use crate::oauth::grant::TokenResponse;
    use crate::oauth::test_support::{Fixture, T0, refused};
    use crate::oauth::token_state::TokenState;
    use crate::web::form::FormFields;

    const SCOPES: &[&str] = &["openai.chat", "offline_access"];

    /// Tokens from a code redeemed at `T0` for a grant ending at `expires_at`.
    async fn first_tokens(f: &Fixture, expires_at: Option<i64>) -> TokenResponse {
        let grant = f.grant(SCOPES, expires_at, T0).await;
        let code = f.code(&grant, T0).await;
        f.redeem(&code, T0).await.expect("tokens")
    }

    #[tokio::test]
    async fn a_refresh_rotates_the_refresh_token() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, None).await;
        let old = first.refresh_token.expect("offline_access");
        let next = f.refresh(&old, T0 + 100).await.expect("rotated");
        let new = next.refresh_token.expect("a successor");
        assert_ne!(new, old);
        assert_eq!(next.scope, "openai.chat offline_access");
        assert_eq!(f.state_of(&old, T0 + 100).await, TokenState::Spent);
        assert_eq!(f.state_of(&new, T0 + 100).await, TokenState::Live);
        assert_eq!(
            f.state_of(&next.access_token, T0 + 100).await,
            TokenState::Live
        );
        assert!(
            f.refresh(&new, T0 + 200).await.is_ok(),
            "the successor works"
        );
    }

    #[tokio::test]
    async fn a_reused_refresh_token_revokes_its_family() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, None).await;
        let old = first.refresh_token.expect("offline_access");
        let next = f.refresh(&old, T0 + 100).await.expect("rotated");
        assert_eq!(
            refused(f.refresh(&old, T0 + 200).await),
            (
                ErrorCode::InvalidGrant,
                "the refresh token was already used; every token of this authorization has been revoked"
                    .into()
            )
        );
        for token in [
            first.access_token,
            next.access_token,
            next.refresh_token.expect("successor"),
        ] {
            assert_eq!(f.state_of(&token, T0 + 200).await, TokenState::Revoked);
        }
    }

    #[tokio::test]
    async fn a_refresh_token_presented_by_another_client_revokes_its_family() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, None).await;
        let refresh = first.refresh_token.expect("offline_access");
        let thief = f.add_client("thief", None).await;
        let body = format!("grant_type=refresh_token&refresh_token={refresh}");
        assert_eq!(
            refused(f.token(&thief, &body, T0 + 1).await),
            (
                ErrorCode::InvalidGrant,
                "the refresh token was issued to another client".into()
            )
        );
        assert_eq!(
            f.state_of(&first.access_token, T0 + 1).await,
            TokenState::Revoked
        );
    }

    #[tokio::test]
    async fn refresh_tokens_end_with_their_grant() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, Some(T0 + 1000)).await;
        let next = f
            .refresh(&first.refresh_token.expect("offline_access"), T0 + 999)
            .await
            .expect("a second before the end");
        assert_eq!(next.expires_in, Some(1));
        let last = next.refresh_token.expect("successor");
        assert_eq!(f.state_of(&last, T0 + 1000).await, TokenState::Expired);
        assert_eq!(
            refused(f.refresh(&last, T0 + 1000).await),
            (
                ErrorCode::InvalidGrant,
                "the refresh token is invalid, expired or revoked".into()
            )
        );
    }

    #[tokio::test]
    async fn a_malformed_refresh_request_spends_nothing() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, None).await;
        let refresh = first.refresh_token.expect("offline_access");
        let body = format!(
            "grant_type=refresh_token&refresh_token={refresh}&scope=openai.chat&scope=offline_access"
        );
        assert_eq!(
            refused(f.token(&f.client, &body, T0 + 1).await),
            (
                ErrorCode::InvalidRequest,
                "the scope parameter was sent more than once".into()
            )
        );
        assert_eq!(f.state_of(&refresh, T0 + 1).await, TokenState::Live);
        assert!(
            f.refresh(&refresh, T0 + 2).await.is_ok(),
            "the refused request did not spend the token"
        );
    }

    #[tokio::test]
    async fn a_reuse_racing_the_rotation_revokes_what_the_rotation_issues() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, None).await;
        let old = first.refresh_token.expect("offline_access");
        let fields =
            FormFields::parse(format!("grant_type=refresh_token&refresh_token={old}").as_bytes());
        // The winner claims the token; before it stores its successor, the same token comes
        // again (the thief, or the app retrying) and revokes the family as it stands.
        let p = f.provider();
        let won = claim(&p, &f.client, &fields, T0 + 1)
            .await
            .expect("claimed");
        assert_eq!(
            refused(f.refresh(&old, T0 + 1).await),
            (ErrorCode::InvalidGrant, REUSED.into())
        );
        // The winner's tokens, stored after that revocation, must not survive it.
        assert_eq!(
            refused(rotate(&p, won, T0 + 1).await),
            (ErrorCode::InvalidGrant, REUSED.into())
        );
        assert_eq!(
            f.state_of(&first.access_token, T0 + 2).await,
            TokenState::Revoked
        );
    }

    #[tokio::test]
    async fn a_refresh_may_repeat_the_granted_scopes_but_not_narrow_them() {
        let f = Fixture::new().await;
        let first = first_tokens(&f, None).await;
        let refresh = first.refresh_token.expect("offline_access");
        let body = format!(
            "grant_type=refresh_token&refresh_token={refresh}&scope=offline_access+openai.chat"
        );
        let next = f.token(&f.client, &body, T0 + 1).await.expect("same set");
        let refresh = next.refresh_token.expect("successor");
        let body = format!("grant_type=refresh_token&refresh_token={refresh}&scope=openai.chat");
        assert_eq!(
            refused(f.token(&f.client, &body, T0 + 2).await).0,
            ErrorCode::InvalidScope
        );
    }
}
