//! Grants: what a person allowed one app to do with their key (scopes, models, limits,
//! lifetime). Tokens hang off a grant; revoking the grant ends them all.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::grants;
use super::{Store, StoreError, with_conn};
use crate::clock::now;
use crate::money::Money;

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = grants)]
pub(super) struct GrantRow {
    id: String,
    user_id: String,
    client_id: String,
    scopes: String,
    models: String,
    budget_microusd: Option<i64>,
    rpm: Option<i32>,
    expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// The limits a person sets on an app, at consent or later on the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Allowed models; empty means any model.
    pub models: Vec<String>,
    /// Monthly budget in micro-USD; `None` means no budget.
    pub budget_microusd: Option<i64>,
    /// Requests per minute; `None` means unlimited.
    pub rpm: Option<u32>,
    /// When the grant ends (Unix seconds); `None` means until revoked.
    pub expires_at: Option<i64>,
}

impl Limits {
    /// The monthly budget as an amount (the column holds micro-USD).
    pub fn budget(&self) -> Option<Money> {
        self.budget_microusd.map(Money::from_micros)
    }
}

/// One app's permission to use one person's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    /// Granted scope names.
    pub scopes: Vec<String>,
    pub limits: Limits,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Grant {
    /// A new grant, active from `now`.
    pub fn new(
        user_id: &str,
        client_id: &str,
        scopes: Vec<String>,
        limits: Limits,
        now: i64,
    ) -> Grant {
        Grant {
            id: super::new_id(),
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
            scopes,
            limits,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            revoked_at: None,
        }
    }

    /// Neither revoked nor expired at `at`.
    pub fn is_active(&self, at: i64) -> bool {
        self.revoked_at.is_none() && self.limits.expires_at.is_none_or(|e| e > at)
    }
}

/// [`Grant::is_active`] as a query filter.
#[diesel::dsl::auto_type]
fn active_at(now: i64) -> _ {
    grants::revoked_at
        .is_null()
        .and(grants::expires_at.is_null().or(grants::expires_at.gt(now)))
}

/// How an app's grants are used, as `keyward clients list` shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientActivity {
    /// Grants neither revoked nor expired.
    pub active_grants: i64,
    /// The last time any of its grants was used at the proxy (recorded at most once a minute).
    pub last_used_at: Option<i64>,
}

impl TryFrom<GrantRow> for Grant {
    type Error = StoreError;
    fn try_from(r: GrantRow) -> Result<Self, StoreError> {
        Ok(Grant {
            scopes: r.scopes.split_whitespace().map(str::to_owned).collect(),
            limits: Limits {
                models: serde_json::from_str(&r.models)
                    .map_err(|e| StoreError::Corrupt(format!("grant models: {e}")))?,
                budget_microusd: r.budget_microusd,
                rpm: r.rpm.map(|n| n.max(0) as u32),
                expires_at: r.expires_at,
            },
            id: r.id,
            user_id: r.user_id,
            client_id: r.client_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
    }
}

impl From<&Grant> for GrantRow {
    fn from(g: &Grant) -> Self {
        GrantRow {
            id: g.id.clone(),
            user_id: g.user_id.clone(),
            client_id: g.client_id.clone(),
            scopes: g.scopes.join(" "),
            models: serde_json::to_string(&g.limits.models).expect("strings serialise"),
            budget_microusd: g.limits.budget_microusd,
            rpm: g.limits.rpm.map(|n| n.min(i32::MAX as u32) as i32),
            expires_at: g.limits.expires_at,
            created_at: g.created_at,
            updated_at: g.updated_at,
            last_used_at: g.last_used_at,
            revoked_at: g.revoked_at,
        }
    }
}

impl Store {
    /// Stores a new grant.
    pub async fn insert_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        let row = GrantRow::from(grant);
        with_conn!(self, conn => {
            diesel::insert_into(grants::table).values(&row).execute(conn).await?;
            Ok(())
        })
    }

    /// Looks a grant up by id (active or not).
    pub async fn grant(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        let row: Option<GrantRow> = with_conn!(self, conn => {
            Ok::<_, StoreError>(grants::table.find(id).select(GrantRow::as_select()).first(conn).await.optional()?)
        })?;
        row.map(Grant::try_from).transpose()
    }

    /// A person's grants, newest first, revoked ones included.
    pub async fn grants_for_user(&self, user_id: &str) -> Result<Vec<Grant>, StoreError> {
        let rows: Vec<GrantRow> = with_conn!(self, conn => {
            Ok::<_, StoreError>(grants::table
                .filter(grants::user_id.eq(user_id))
                .order(grants::created_at.desc())
                .select(GrantRow::as_select())
                .load(conn)
                .await?)
        })?;
        rows.into_iter().map(Grant::try_from).collect()
    }

    /// Per client: how many grants are active at `now` and when any of its grants was last
    /// used (for `keyward clients list`). Clients without grants are absent.
    pub async fn client_activity(
        &self,
        now: i64,
    ) -> Result<HashMap<String, ClientActivity>, StoreError> {
        use diesel::dsl::{count_star, max};
        type LastUsed = Vec<(String, Option<i64>)>;
        type Active = Vec<(String, i64)>;
        let (last_used, active): (LastUsed, Active) = with_conn!(self, conn => {
            let last_used = grants::table
                .group_by(grants::client_id)
                .select((grants::client_id, max(grants::last_used_at)))
                .load(conn)
                .await?;
            let active = grants::table
                .filter(active_at(now))
                .group_by(grants::client_id)
                .select((grants::client_id, count_star()))
                .load(conn)
                .await?;
            Ok::<_, StoreError>((last_used, active))
        })?;
        let mut activity: HashMap<String, ClientActivity> = HashMap::new();
        for (client_id, last_used_at) in last_used {
            activity.entry(client_id).or_default().last_used_at = last_used_at;
        }
        for (client_id, n) in active {
            activity.entry(client_id).or_default().active_grants = n;
        }
        Ok(activity)
    }

    /// The person's grant for an app that is active at `now`, if any (the newest).
    pub async fn active_grant_for(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Option<Grant>, StoreError> {
        let rows: Vec<GrantRow> = with_conn!(self, conn => {
            Ok::<_, StoreError>(grants::table
                .filter(grants::user_id.eq(user_id))
                .filter(grants::client_id.eq(client_id))
                .filter(active_at(now))
                .order(grants::created_at.desc())
                .select(GrantRow::as_select())
                .load(conn)
                .await?)
        })?;
        rows.into_iter().next().map(Grant::try_from).transpose()
    }

    /// Replaces a grant's scopes and limits (re-consent, or the dashboard's edit form).
    pub async fn update_grant(
        &self,
        id: &str,
        scopes: &[String],
        limits: &Limits,
    ) -> Result<bool, StoreError> {
        let models = serde_json::to_string(&limits.models).expect("strings serialise");
        let scopes = scopes.join(" ");
        let rpm = limits.rpm.map(|n| n.min(i32::MAX as u32) as i32);
        with_conn!(self, conn => {
            Ok(diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
                .set((
                    grants::scopes.eq(&scopes),
                    grants::models.eq(&models),
                    grants::budget_microusd.eq(limits.budget_microusd),
                    grants::rpm.eq(rpm),
                    grants::expires_at.eq(limits.expires_at),
                    grants::updated_at.eq(now()),
                ))
                .execute(conn)
                .await? == 1)
        })
    }

    /// Revokes a grant and every token issued under it, in one transaction (idempotent).
    /// Returns true if this call revoked the grant.
    pub async fn revoke_grant(&self, id: &str) -> Result<bool, StoreError> {
        use super::schema::tokens;
        use diesel_async::AsyncConnection as _;
        let t = now();
        with_conn!(self, conn => {
            conn.transaction::<_, StoreError, _>(async |conn| {
                let revoked = diesel::update(grants::table.find(id).filter(grants::revoked_at.is_null()))
                    .set(grants::revoked_at.eq(Some(t)))
                    .execute(conn)
                    .await? == 1;
                diesel::update(tokens::table.filter(tokens::grant_id.eq(id)).filter(tokens::revoked_at.is_null()))
                    .set(tokens::revoked_at.eq(Some(t)))
                    .execute(conn)
                    .await?;
                Ok(revoked)
            }).await
        })
    }

    /// Notes that a grant was used (the proxy calls this at most once a minute per grant).
    pub async fn touch_grant(&self, id: &str, at: i64) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::update(grants::table.find(id))
                .set(grants::last_used_at.eq(Some(at)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}
