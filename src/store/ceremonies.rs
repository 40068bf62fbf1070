//! WebAuthn ceremony state between the "start" and "finish" requests. Kept in the store with a
//! short TTL so any instance can finish a ceremony another began, and taken (deleted) on first
//! use so a replayed challenge finds nothing.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::ceremonies;
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// A ceremony in progress.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = ceremonies)]
pub struct Ceremony {
    pub id: String,
    /// `register`, `authenticate`, `step_up` or `add_passkey`.
    pub kind: String,
    /// The user the ceremony is for, when known at start.
    pub user_id: Option<String>,
    /// The webauthn-rs state, serialised.
    pub state: String,
    /// Extra data carried to the finish step (e.g. the sealed provider key at sign-up).
    pub payload: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Stores a ceremony's state.
    pub async fn insert_ceremony(&self, c: &Ceremony) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(ceremonies::table).values(c).execute(conn).await?;
            Ok(())
        })
    }

    /// Deletes and returns a ceremony of the given kind, if it exists and has not expired.
    /// Only one caller can ever take a given ceremony.
    pub async fn take_ceremony(
        &self,
        id: &str,
        kind: &str,
    ) -> Result<Option<Ceremony>, StoreError> {
        let taken: Option<Ceremony> = with_conn!(self, conn => {
            Ok::<_, StoreError>(diesel::delete(ceremonies::table.find(id).filter(ceremonies::kind.eq(kind)))
                .returning(Ceremony::as_returning())
                .get_result(conn)
                .await
                .optional()?)
        })?;
        Ok(taken.filter(|c| c.expires_at > now()))
    }
}
