//! Whether an access or refresh token can be used at a given moment: the one answer the
//! proxy, introspection and userinfo share. A token is only as good as its grant: revoking or
//! ending the grant ends every token under it.

use crate::store::grants::Grant;
use crate::store::tokens::TokenRow;

/// What a token is at a moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    /// Usable.
    Live,
    /// The token, its family or its grant was revoked.
    Revoked,
    /// The token or its grant reached its end.
    Expired,
    /// A refresh token that was exchanged already (single use).
    Spent,
}

/// What the classifier needs to know about a stored token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenFacts {
    pub revoked: bool,
    /// Exchanged already (refresh tokens only).
    pub spent: bool,
    /// When it ends (Unix seconds); `None` lasts until revoked.
    pub expires_at: Option<i64>,
}

impl From<&TokenRow> for TokenFacts {
    fn from(row: &TokenRow) -> Self {
        TokenFacts {
            revoked: row.revoked_at.is_some(),
            spent: row.used_at.is_some(),
            expires_at: row.expires_at,
        }
    }
}

/// The state at `now` of a token with `grant`. Revocation wins over expiry, and a token (or
/// grant, see [`Grant::is_active`]) ends at its `expires_at`: at that second it is expired.
pub fn classify(token: TokenFacts, grant: &Grant, now: i64) -> TokenState {
    if token.revoked || grant.revoked_at.is_some() {
        TokenState::Revoked
    } else if token.expires_at.is_some_and(|e| e <= now) || !grant.is_active(now) {
        TokenState::Expired
    } else if token.spent {
        TokenState::Spent
    } else {
        TokenState::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::grants::Limits;

    const NOW: i64 = 1_800_000_000;

    fn live() -> TokenFacts {
        TokenFacts {
            revoked: false,
            spent: false,
            expires_at: None,
        }
    }

    fn grant(expires_at: Option<i64>) -> Grant {
        Grant::new(
            "u",
            "c",
            vec![],
            Limits {
                expires_at,
                ..Limits::default()
            },
            NOW - 100,
        )
    }

    #[test]
    fn tokens_end_at_their_expiry_second() {
        let token = |expires_at| TokenFacts {
            expires_at: Some(expires_at),
            ..live()
        };
        let g = grant(None);
        assert_eq!(classify(token(NOW + 1), &g, NOW), TokenState::Live);
        assert_eq!(classify(token(NOW), &g, NOW), TokenState::Expired);
        assert_eq!(classify(token(NOW - 1), &g, NOW), TokenState::Expired);
        assert_eq!(classify(live(), &g, NOW), TokenState::Live, "no end");
    }

    #[test]
    fn grants_end_their_tokens_at_the_same_second() {
        assert_eq!(
            classify(live(), &grant(Some(NOW + 1)), NOW),
            TokenState::Live
        );
        assert_eq!(
            classify(live(), &grant(Some(NOW)), NOW),
            TokenState::Expired
        );
    }

    #[test]
    fn revocation_of_token_or_grant_wins_over_expiry() {
        let revoked = TokenFacts {
            revoked: true,
            expires_at: Some(NOW - 10),
            ..live()
        };
        assert_eq!(classify(revoked, &grant(None), NOW), TokenState::Revoked);
        let mut g = grant(Some(NOW - 10));
        g.revoked_at = Some(NOW - 20);
        assert_eq!(classify(live(), &g, NOW), TokenState::Revoked);
    }

    #[test]
    fn a_spent_refresh_token_is_not_live_but_ending_says_more() {
        let spent = TokenFacts {
            spent: true,
            ..live()
        };
        assert_eq!(classify(spent, &grant(None), NOW), TokenState::Spent);
        assert_eq!(classify(spent, &grant(Some(NOW)), NOW), TokenState::Expired);
    }
}
