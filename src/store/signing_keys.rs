//! ID token signing keys (ES256). The private half is sealed under the master key ring like a
//! provider key; the public half is published in the JWKS.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::signing_keys;
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// A signing key as stored.
#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub struct SigningKeyRow {
    pub kid: String,
    /// Master key id sealing `private_jwe`.
    pub key_id: String,
    pub private_jwe: String,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    pub created_at: i64,
    /// Set when a newer key took over; retired keys stay in the JWKS so tokens they signed
    /// still verify.
    pub retired_at: Option<i64>,
}

/// The vault owner label under which the private half of signing key `kid` is sealed: the ID
/// token signer seals and opens under it, and master key rotation re-wraps under it.
pub fn vault_owner(kid: &str) -> String {
    format!("signing-key:{kid}")
}

impl Store {
    /// Stores a new signing key and retires the others.
    pub async fn insert_signing_key(&self, row: &SigningKeyRow) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(signing_keys::table).values(row).execute(conn).await?;
            diesel::update(signing_keys::table.filter(signing_keys::kid.ne(&row.kid)).filter(signing_keys::retired_at.is_null()))
                .set(signing_keys::retired_at.eq(Some(now())))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// All signing keys, newest first.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(signing_keys::table
                .order(signing_keys::created_at.desc())
                .select(SigningKeyRow::as_select())
                .load(conn)
                .await?)
        })
    }

    /// Replaces a signing key's sealed private half (master key rotation).
    pub async fn rewrap_signing_key(
        &self,
        kid: &str,
        key_id: &str,
        private_jwe: &str,
    ) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::update(signing_keys::table.find(kid))
                .set((signing_keys::key_id.eq(key_id), signing_keys::private_jwe.eq(private_jwe)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}
