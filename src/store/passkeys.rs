//! Passkey credentials: the serialised `webauthn_rs::prelude::Passkey` (public key, counter,
//! backup state) plus a name the person chose.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::passkeys;
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// One registered passkey.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    /// The credential id, base64url.
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// `webauthn_rs::prelude::Passkey` as JSON (public material only).
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Store {
    /// Stores a newly registered passkey.
    pub async fn insert_passkey(&self, row: &PasskeyRow) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(passkeys::table).values(row).execute(conn).await?;
            Ok(())
        })
    }

    /// A user's passkeys, oldest first.
    pub async fn passkeys_for_user(&self, user_id: &str) -> Result<Vec<PasskeyRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(passkeys::table
                .filter(passkeys::user_id.eq(user_id))
                .order(passkeys::created_at.asc())
                .select(PasskeyRow::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Records a successful use: the updated credential (counter, backup flags) and the time.
    pub async fn passkey_used(&self, id: &str, passkey_json: &str) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::update(passkeys::table.find(id))
                .set((passkeys::passkey.eq(passkey_json), passkeys::last_used_at.eq(Some(now()))))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Renames one of a user's passkeys; false when it is not theirs.
    pub async fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::update(passkeys::table.filter(passkeys::id.eq(id)).filter(passkeys::user_id.eq(user_id)))
                .set(passkeys::name.eq(name))
                .execute(conn)
                .await? == 1)
        })
    }

    /// Removes one of a user's passkeys, but never the last one. The user row is written first
    /// inside the transaction, which locks it on both backends, so two concurrent removals
    /// cannot both see the other's passkey and leave the account without a way in.
    pub async fn remove_passkey(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        use super::schema::users;
        use diesel_async::AsyncConnection as _;
        with_conn!(self, conn => {
            conn.transaction::<_, StoreError, _>(async |conn| {
                diesel::update(users::table.find(user_id))
                    .set(users::display_name.eq(users::display_name))
                    .execute(conn)
                    .await?;
                let others: i64 = passkeys::table
                    .filter(passkeys::user_id.eq(user_id))
                    .filter(passkeys::id.ne(id))
                    .count()
                    .get_result(conn)
                    .await?;
                if others == 0 {
                    return Ok(false);
                }
                Ok(diesel::delete(passkeys::table.filter(passkeys::id.eq(id)).filter(passkeys::user_id.eq(user_id)))
                    .execute(conn)
                    .await? == 1)
            }).await
        })
    }
}
