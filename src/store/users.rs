//! People. A user is created at sign-up with their first passkey and their provider key.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::passkeys::PasskeyRow;
use super::schema::{passkeys, users, vault_entries};
use super::vault_entries::VaultEntry;
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// A person with an account.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    /// The opaque user handle given to authenticators (not the row id, so it reveals nothing).
    pub webauthn_id: String,
    pub display_name: String,
    pub created_at: i64,
}

impl Store {
    /// Inserts a new user.
    pub async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(users::table).values(user).execute(conn).await?;
            Ok(())
        })
    }

    /// Creates an account in one transaction: the user, their first passkey and their sealed
    /// provider key (already sealed for `user.id`). Fails as a whole if the passkey's credential
    /// id is registered already.
    pub async fn create_account(
        &self,
        user: &User,
        passkey: &PasskeyRow,
        key_id: &str,
        jwe: &str,
    ) -> Result<(), StoreError> {
        use diesel_async::AsyncConnection as _;
        let t = now();
        let entry = VaultEntry {
            user_id: user.id.clone(),
            key_id: key_id.to_owned(),
            jwe: jwe.to_owned(),
            created_at: t,
            updated_at: t,
        };
        with_conn!(self, conn => {
            conn.transaction::<_, StoreError, _>(async |conn| {
                diesel::insert_into(users::table).values(user).execute(conn).await?;
                diesel::insert_into(passkeys::table).values(passkey).execute(conn).await?;
                diesel::insert_into(vault_entries::table).values(&entry).execute(conn).await?;
                Ok(())
            }).await
        })
    }

    /// Looks a user up by id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        with_conn!(self, conn => {
            Ok(users::table.find(id).select(User::as_select()).first(conn).await.optional()?)
        })
    }

    /// Looks a user up by the WebAuthn user handle an authenticator returned.
    pub async fn user_by_webauthn_id(&self, handle: &str) -> Result<Option<User>, StoreError> {
        with_conn!(self, conn => {
            Ok(users::table
                .filter(users::webauthn_id.eq(handle))
                .select(User::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// Deletes a user; the schema cascades to passkeys, vault entry, grants, tokens, sessions,
    /// usage and audit events.
    pub async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::delete(users::table.find(id)).execute(conn).await? == 1)
        })
    }
}
