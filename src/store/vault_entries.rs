//! Sealed provider keys: one JWE per user (see `crate::vault`). The plaintext never touches
//! the store.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{signing_keys, vault_entries};
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// A user's provider key, sealed.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = vault_entries)]
pub struct VaultEntry {
    pub user_id: String,
    /// Id of the master key that wraps this entry (also in the JWE header).
    pub key_id: String,
    pub jwe: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Store {
    /// Stores or replaces a user's sealed key.
    pub async fn put_vault_entry(
        &self,
        user_id: &str,
        key_id: &str,
        jwe: &str,
    ) -> Result<(), StoreError> {
        let t = now();
        let row = VaultEntry {
            user_id: user_id.to_owned(),
            key_id: key_id.to_owned(),
            jwe: jwe.to_owned(),
            created_at: t,
            updated_at: t,
        };
        with_conn!(self, conn => {
            diesel::insert_into(vault_entries::table)
                .values(&row)
                .on_conflict(vault_entries::user_id)
                .do_update()
                .set((
                    vault_entries::key_id.eq(key_id),
                    vault_entries::jwe.eq(jwe),
                    vault_entries::updated_at.eq(t),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// A user's sealed key.
    pub async fn vault_entry(&self, user_id: &str) -> Result<Option<VaultEntry>, StoreError> {
        with_conn!(self, conn => {
            Ok(vault_entries::table.find(user_id).select(VaultEntry::as_select()).first(conn).await.optional()?)
        })
    }

    /// Every sealed entry (for re-wrapping under a new master key).
    pub async fn all_vault_entries(&self) -> Result<Vec<VaultEntry>, StoreError> {
        with_conn!(self, conn => {
            Ok(vault_entries::table.select(VaultEntry::as_select()).load(conn).await?)
        })
    }

    /// Replaces an entry's JWE only if it still holds `old_jwe`, so a re-wrap never overwrites
    /// a key the person replaced meanwhile. Returns whether it was replaced.
    pub async fn rewrap_vault_entry(
        &self,
        user_id: &str,
        old_jwe: &str,
        key_id: &str,
        jwe: &str,
    ) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::update(
                vault_entries::table
                    .filter(vault_entries::user_id.eq(user_id))
                    .filter(vault_entries::jwe.eq(old_jwe)),
            )
            .set((vault_entries::key_id.eq(key_id), vault_entries::jwe.eq(jwe)))
            .execute(conn)
            .await? == 1)
        })
    }

    /// Deletes a user's sealed key.
    pub async fn delete_vault_entry(&self, user_id: &str) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::delete(vault_entries::table.find(user_id)).execute(conn).await?;
            Ok(())
        })
    }

    /// Every master key id that sealed data in the store depends on (vault entries and
    /// signing keys), with how many items use it.
    pub async fn master_key_ids_in_use(&self) -> Result<Vec<(String, i64)>, StoreError> {
        with_conn!(self, conn => {
            let mut ids: Vec<(String, i64)> = vault_entries::table
                .group_by(vault_entries::key_id)
                .select((vault_entries::key_id, diesel::dsl::count_star()))
                .load(conn)
                .await?;
            let signing: Vec<(String, i64)> = signing_keys::table
                .group_by(signing_keys::key_id)
                .select((signing_keys::key_id, diesel::dsl::count_star()))
                .load(conn)
                .await?;
            for (id, n) in signing {
                match ids.iter_mut().find(|(i, _)| *i == id) {
                    Some(entry) => entry.1 += n,
                    None => ids.push((id, n)),
                }
            }
            Ok(ids)
        })
    }
}
