//! Monthly usage counters per grant. Every change is one conditional `UPDATE` or upsert,
//! atomic on both backends: on PostgreSQL the row lock serialises concurrent writers and the
//! condition is re-checked against the latest row, so several instances never lose an update.
//! The reservations that hold budget for requests in flight are in [`super::reservations`].

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::usage_months;
use super::{Store, StoreError, with_conn};

/// One grant's counters for one calendar month (UTC).
#[derive(Clone, Debug, Default, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = usage_months)]
pub struct UsageMonth {
    pub grant_id: String,
    /// `YYYY-MM`.
    pub month: String,
    pub requests: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    pub spent_microusd: i64,
    pub reserved_microusd: i64,
    /// Requests for models missing from the price table (counted in tokens only).
    pub unpriced_requests: i64,
}

/// What one finished request consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consumption {
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    /// Cost in micro-USD, or `None` when the model has no price.
    pub cost_microusd: Option<i64>,
}

/// A change to a grant's month: any number of settled requests, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageDelta {
    pub requests: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    pub spent_microusd: i64,
    pub unpriced_requests: i64,
}

impl UsageDelta {
    /// One finished request that used `used`.
    pub fn of(used: &Consumption) -> UsageDelta {
        UsageDelta {
            requests: 1,
            input_tokens: used.input_tokens,
            cached_tokens: used.cached_tokens,
            output_tokens: used.output_tokens,
            spent_microusd: used.cost_microusd.unwrap_or(0),
            unpriced_requests: i64::from(used.cost_microusd.is_none()),
        }
    }

    /// Adds another delta to this one.
    pub fn add(&mut self, other: &UsageDelta) {
        self.requests += other.requests;
        self.input_tokens += other.input_tokens;
        self.cached_tokens += other.cached_tokens;
        self.output_tokens += other.output_tokens;
        self.spent_microusd += other.spent_microusd;
        self.unpriced_requests += other.unpriced_requests;
    }
}

impl Store {
    /// The counters of every grant of a person for a month (grants without usage have no row).
    pub async fn usage_for_user(
        &self,
        user_id: &str,
        month: &str,
    ) -> Result<Vec<UsageMonth>, StoreError> {
        use super::schema::grants;
        with_conn!(self, conn => {
            Ok(usage_months::table
                .inner_join(grants::table)
                .filter(grants::user_id.eq(user_id))
                .filter(usage_months::month.eq(month))
                .select(UsageMonth::as_select())
                .load(conn)
                .await?)
        })
    }
    /// One grant's counters for a month (zeros if nothing happened yet).
    pub async fn usage_month(&self, grant_id: &str, month: &str) -> Result<UsageMonth, StoreError> {
        let row: Option<UsageMonth> = with_conn!(self, conn => {
            Ok::<_, StoreError>(usage_months::table
                .find((grant_id, month))
                .select(UsageMonth::as_select())
                .first(conn)
                .await
                .optional()?)
        })?;
        Ok(row.unwrap_or_else(|| UsageMonth {
            grant_id: grant_id.to_owned(),
            month: month.to_owned(),
            ..Default::default()
        }))
    }
}
