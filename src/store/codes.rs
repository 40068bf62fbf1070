//! Answered authorization requests (so a pending request, which travels sealed in the pages'
//! URLs, is answered once) and authorization codes (single-use, short-lived, hashed).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{answered_requests, auth_codes};
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// An issued authorization code (by hash) and everything the token endpoint must check.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = auth_codes)]
pub struct AuthCode {
    pub hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scopes: String,
    pub nonce: Option<String>,
    /// When the person authenticated (for the ID token's `auth_time`).
    pub auth_time: i64,
    /// The token family this code issues; revoked if the code is replayed.
    pub family: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// When the spent code was presented again, if it was.
    pub replayed_at: Option<i64>,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum CodeClaim {
    /// First use of a live code: it is now spent.
    Claimed(AuthCode),
    /// The code was spent before: a replay (the caller revokes its family).
    Replayed(AuthCode),
    /// Unknown or expired.
    Invalid,
}

impl Store {
    /// Records that the authorization request `id` (valid until `expires_at`) was answered.
    /// False when it had been already: a concurrent or replayed answer lost.
    pub async fn mark_request_answered(
        &self,
        id: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::insert_into(answered_requests::table)
                .values((answered_requests::id.eq(id), answered_requests::expires_at.eq(expires_at)))
                .on_conflict(answered_requests::id)
                .do_nothing()
                .execute(conn)
                .await? == 1)
        })
    }

    /// Whether the authorization request `id` was answered already.
    pub async fn request_answered(&self, id: &str) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            let found: Option<String> = answered_requests::table
                .find(id)
                .select(answered_requests::id)
                .first(conn)
                .await
                .optional()?;
            Ok(found.is_some())
        })
    }

    /// Stores a new authorization code.
    pub async fn insert_auth_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(auth_codes::table).values(code).execute(conn).await?;
            Ok(())
        })
    }

    /// Spends a code atomically at `now`: exactly one concurrent redeemer of a code that has not
    /// expired gets `Claimed`. Presenting a spent code marks it replayed (see
    /// [`Store::auth_code_replayed`]).
    pub async fn claim_auth_code(&self, hash: &str, now: i64) -> Result<CodeClaim, StoreError> {
        with_conn!(self, conn => {
            let claimed = diesel::update(
                auth_codes::table
                    .find(hash)
                    .filter(auth_codes::used_at.is_null())
                    .filter(auth_codes::expires_at.gt(now)),
            )
            .set(auth_codes::used_at.eq(Some(now)))
            .execute(conn)
            .await? == 1;
            if !claimed {
                diesel::update(
                    auth_codes::table
                        .find(hash)
                        .filter(auth_codes::used_at.is_not_null())
                        .filter(auth_codes::replayed_at.is_null()),
                )
                .set(auth_codes::replayed_at.eq(Some(now)))
                .execute(conn)
                .await?;
            }
            let row: Option<AuthCode> = auth_codes::table
                .find(hash)
                .select(AuthCode::as_select())
                .first(conn)
                .await
                .optional()?;
            Ok(match row {
                Some(code) if claimed => CodeClaim::Claimed(code),
                Some(code) if code.used_at.is_some() => CodeClaim::Replayed(code),
                _ => CodeClaim::Invalid,
            })
        })
    }

    /// Whether a spent code has been presented again. The redeemer asks after storing its
    /// tokens: a replay that came between its claim and that insert revoked a family that was
    /// still empty, so the redeemer revokes it again itself.
    pub async fn auth_code_replayed(&self, hash: &str) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            let replayed: Option<Option<i64>> = auth_codes::table
                .find(hash)
                .select(auth_codes::replayed_at)
                .first(conn)
                .await
                .optional()?;
            Ok(matches!(replayed, Some(Some(_))))
        })
    }

    /// Deletes expired answered-request marks, codes, sessions and ceremonies. Spent codes are
    /// kept for a day so a late replay is still recognised and its tokens revoked; a mark
    /// outlives nothing it guards (a request cannot be opened after it expires).
    pub async fn purge_expired(&self) -> Result<(), StoreError> {
        use super::schema::{ceremonies, sessions};
        let t = now();
        with_conn!(self, conn => {
            diesel::delete(answered_requests::table.filter(answered_requests::expires_at.le(t))).execute(conn).await?;
            diesel::delete(auth_codes::table.filter(auth_codes::expires_at.le(t - 86_400))).execute(conn).await?;
            diesel::delete(sessions::table.filter(sessions::expires_at.le(t))).execute(conn).await?;
            diesel::delete(ceremonies::table.filter(ceremonies::expires_at.le(t))).execute(conn).await?;
            Ok(())
        })
    }
}
