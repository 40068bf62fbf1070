//! Access and refresh tokens, stored only as SHA-256 hashes. Tokens of one authorization form a
//! family: a replayed code or a reused refresh token revokes the whole family.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::grants::GrantRow;
use super::schema::{grants, tokens};
use super::{Store, StoreError, with_conn};
use crate::clock::now;
use crate::store::grants::Grant;

/// Which of the two token types a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredTokenKind {
    Access,
    Refresh,
}

impl StoredTokenKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// A token as stored: its hash and what it belongs to.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub hash: String,
    pub kind: String,
    pub grant_id: String,
    pub family: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl TokenRow {
    /// A new token row, issued at `now`.
    pub fn new(
        hash: String,
        kind: StoredTokenKind,
        grant_id: &str,
        family: &str,
        expires_at: Option<i64>,
        now: i64,
    ) -> TokenRow {
        TokenRow {
            hash,
            kind: kind.as_str().to_owned(),
            grant_id: grant_id.to_owned(),
            family: family.to_owned(),
            created_at: now,
            expires_at,
            used_at: None,
            revoked_at: None,
        }
    }

    /// Which kind of token this is.
    pub fn kind(&self) -> StoredTokenKind {
        if self.kind == "refresh" {
            StoredTokenKind::Refresh
        } else {
            StoredTokenKind::Access
        }
    }

    /// Not revoked, not expired at `at`.
    pub fn is_live(&self, at: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > at)
    }
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum RefreshClaim {
    /// The token was live and is now marked used: issue its successor.
    Claimed(Box<(TokenRow, Grant)>),
    /// The token had been used already: a replay. The caller revokes the family.
    Reused(TokenRow),
    /// No such token, or revoked/expired.
    Invalid,
}

impl Store {
    /// Stores tokens (an access token, and maybe a refresh token).
    pub async fn insert_tokens(&self, rows: &[TokenRow]) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            for row in rows {
                diesel::insert_into(tokens::table).values(row).execute(conn).await?;
            }
            Ok(())
        })
    }

    /// A token and its grant, by hash, whatever their state.
    pub async fn token_with_grant(
        &self,
        hash: &str,
    ) -> Result<Option<(TokenRow, Grant)>, StoreError> {
        let row: Option<(TokenRow, GrantRow)> = with_conn!(self, conn => {
            Ok::<_, StoreError>(tokens::table
                .inner_join(grants::table)
                .filter(tokens::hash.eq(hash))
                .select((TokenRow::as_select(), GrantRow::as_select()))
                .first(conn)
                .await
                .optional()?)
        })?;
        row.map(|(t, g)| Ok((t, Grant::try_from(g)?))).transpose()
    }

    /// Marks a refresh token that is live at `now` used, atomically, so two concurrent
    /// refreshes cannot both win.
    pub async fn claim_refresh_token(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<RefreshClaim, StoreError> {
        let claimed = with_conn!(self, conn => {
            Ok::<_, StoreError>(diesel::update(
                tokens::table
                    .filter(tokens::hash.eq(hash))
                    .filter(tokens::kind.eq("refresh"))
                    .filter(tokens::used_at.is_null())
                    .filter(tokens::revoked_at.is_null())
                    .filter(tokens::expires_at.is_null().or(tokens::expires_at.gt(now))),
            )
            .set(tokens::used_at.eq(Some(now)))
            .execute(conn)
            .await? == 1)
        })?;
        let Some((row, grant)) = self.token_with_grant(hash).await? else {
            return Ok(RefreshClaim::Invalid);
        };
        if row.kind() != StoredTokenKind::Refresh {
            return Ok(RefreshClaim::Invalid);
        }
        Ok(if claimed {
            RefreshClaim::Claimed(Box::new((row, grant)))
        } else if row.used_at.is_some() {
            RefreshClaim::Reused(row)
        } else {
            RefreshClaim::Invalid
        })
    }

    /// Revokes every token of a family at `now`. Returns the grant ids touched (for cache
    /// invalidation).
    pub async fn revoke_family(&self, family: &str, now: i64) -> Result<Vec<String>, StoreError> {
        with_conn!(self, conn => {
            diesel::update(tokens::table.filter(tokens::family.eq(family)).filter(tokens::revoked_at.is_null()))
                .set(tokens::revoked_at.eq(Some(now)))
                .execute(conn)
                .await?;
            Ok(tokens::table
                .filter(tokens::family.eq(family))
                .select(tokens::grant_id)
                .distinct()
                .load(conn)
                .await?)
        })
    }

    /// Revokes one token by hash (RFC 7009). Returns its row if it existed.
    pub async fn revoke_token(&self, hash: &str) -> Result<Option<TokenRow>, StoreError> {
        let t = now();
        with_conn!(self, conn => {
            diesel::update(tokens::table.find(hash).filter(tokens::revoked_at.is_null()))
                .set(tokens::revoked_at.eq(Some(t)))
                .execute(conn)
                .await?;
            Ok(tokens::table.find(hash).select(TokenRow::as_select()).first(conn).await.optional()?)
        })
    }
}
