//! Signed-in browser sessions, stored server-side so any instance can serve any request. The
//! cookie holds a random id; the store holds only its hash. Visitors who have not signed in
//! have no row (see [`crate::web::session`]).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::sessions;
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// A signed-in browser session.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: String,
    /// The passkey (credential id) that signed the person in: removing it ends the session
    /// (the foreign key cascades).
    pub passkey_id: String,
    /// When the person authenticated with that passkey.
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Stores a session.
    pub async fn insert_session(&self, row: &SessionRow) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(sessions::table).values(row).execute(conn).await?;
            Ok(())
        })
    }

    /// A live session by id hash.
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let t = now();
        with_conn!(self, conn => {
            Ok(sessions::table
                .find(id_hash)
                .filter(sessions::expires_at.gt(t))
                .select(SessionRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::delete(sessions::table.find(id_hash)).execute(conn).await?;
            Ok(())
        })
    }
}
