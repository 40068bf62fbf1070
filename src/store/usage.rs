//! Monthly usage counters per grant, and the budget reservations that keep concurrent requests
//! from overspending. Every change is one conditional `UPDATE`, atomic on both backends: on
//! PostgreSQL the row lock serialises concurrent reservations and the condition is re-checked
//! against the latest row, so several instances never lose an update.

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
    /// Reservations given back.
    pub released_microusd: i64,
    pub unpriced_requests: i64,
}

impl UsageDelta {
    /// One finished request that had reserved `reserved` and used `used`.
    pub fn settling(reserved: i64, used: &Consumption) -> UsageDelta {
        UsageDelta {
            requests: 1,
            input_tokens: used.input_tokens,
            cached_tokens: used.cached_tokens,
            output_tokens: used.output_tokens,
            spent_microusd: used.cost_microusd.unwrap_or(0),
            released_microusd: reserved,
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
        self.released_microusd += other.released_microusd;
        self.unpriced_requests += other.unpriced_requests;
    }
}

impl Store {
    async fn ensure_usage_row(&self, grant_id: &str, month: &str) -> Result<(), StoreError> {
        let row = UsageMonth {
            grant_id: grant_id.to_owned(),
            month: month.to_owned(),
            ..Default::default()
        };
        with_conn!(self, conn => {
            diesel::insert_into(usage_months::table)
                .values(&row)
                .on_conflict((usage_months::grant_id, usage_months::month))
                .do_nothing()
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Reserves `amount` micro-USD of `budget` for a request about to start. Succeeds only if
    /// spent + reserved + amount stays within the budget.
    pub async fn reserve_budget(
        &self,
        grant_id: &str,
        month: &str,
        amount: i64,
        budget: i64,
    ) -> Result<bool, StoreError> {
        self.ensure_usage_row(grant_id, month).await?;
        with_conn!(self, conn => {
            Ok(diesel::update(
                usage_months::table
                    .filter(usage_months::grant_id.eq(grant_id))
                    .filter(usage_months::month.eq(month))
                    .filter((usage_months::spent_microusd + usage_months::reserved_microusd + amount).le(budget)),
            )
            .set(usage_months::reserved_microusd.eq(usage_months::reserved_microusd + amount))
            .execute(conn)
            .await? == 1)
        })
    }

    /// Records a finished request: releases its reservation and adds what it really used.
    pub async fn settle_usage(
        &self,
        grant_id: &str,
        month: &str,
        reserved: i64,
        used: &Consumption,
    ) -> Result<(), StoreError> {
        self.add_usage(grant_id, month, &UsageDelta::settling(reserved, used))
            .await
    }

    /// Adds to a grant's month: one upsert, whatever number of requests the delta sums up
    /// (the metering settler coalesces settlements that pile up under load).
    pub async fn add_usage(
        &self,
        grant_id: &str,
        month: &str,
        delta: &UsageDelta,
    ) -> Result<(), StoreError> {
        let first = UsageMonth {
            grant_id: grant_id.to_owned(),
            month: month.to_owned(),
            requests: delta.requests,
            input_tokens: delta.input_tokens,
            cached_tokens: delta.cached_tokens,
            output_tokens: delta.output_tokens,
            spent_microusd: delta.spent_microusd,
            reserved_microusd: -delta.released_microusd,
            unpriced_requests: delta.unpriced_requests,
        };
        with_conn!(self, conn => {
            diesel::insert_into(usage_months::table)
                .values(&first)
                .on_conflict((usage_months::grant_id, usage_months::month))
                .do_update()
                .set((
                    usage_months::requests.eq(usage_months::requests + delta.requests),
                    usage_months::input_tokens.eq(usage_months::input_tokens + delta.input_tokens),
                    usage_months::cached_tokens.eq(usage_months::cached_tokens + delta.cached_tokens),
                    usage_months::output_tokens.eq(usage_months::output_tokens + delta.output_tokens),
                    usage_months::spent_microusd.eq(usage_months::spent_microusd + delta.spent_microusd),
                    usage_months::reserved_microusd.eq(usage_months::reserved_microusd - delta.released_microusd),
                    usage_months::unpriced_requests.eq(usage_months::unpriced_requests + delta.unpriced_requests),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

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
