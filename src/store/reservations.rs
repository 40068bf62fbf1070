//! Budget reservations: the part of a grant's monthly budget held by requests in flight.
//!
//! A reservation is two writes in one transaction: its amount added to the month's
//! `reserved_microusd` (a conditional `UPDATE` that fails when the budget cannot cover it) and
//! a row in `budget_reservations` with a lease (`expires_at`). Settling deletes the row and gives
//! back exactly what the deleted row held, in the transaction that adds the real usage. An
//! instance renews the leases of its requests while they run; when an instance dies, nobody
//! renews them, and the sweep (any instance, any number at once) deletes the expired rows and
//! gives their amounts back. Whoever deletes a row releases it, so a reservation is never
//! released twice, whether the settlement or the sweep comes first.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};

use super::schema::{budget_reservations, usage_months};
use super::usage::{Consumption, UsageDelta, UsageMonth};
use super::{Store, StoreError, new_id, with_conn};

/// Ids bound in one statement at most (SQLite limits bound parameters).
const IDS_PER_STATEMENT: usize = 500;

/// A reservation to take: `amount` of `budget` for `grant_id` in `month`, held until
/// `expires_at` unless renewed.
#[derive(Clone, Copy, Debug)]
pub struct NewReservation<'a> {
    pub grant_id: &'a str,
    pub month: &'a str,
    pub amount: i64,
    pub budget: i64,
    pub expires_at: i64,
}

#[derive(Insertable)]
#[diesel(table_name = budget_reservations)]
struct ReservationRow<'a> {
    id: &'a str,
    grant_id: &'a str,
    month: &'a str,
    amount: i64,
    expires_at: i64,
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

    /// Reserves budget for a request about to start. Succeeds only if spent + reserved + amount
    /// stays within the budget; returns the reservation's id, or `None` when it does not fit.
    pub async fn reserve_budget(
        &self,
        wanted: NewReservation<'_>,
    ) -> Result<Option<String>, StoreError> {
        self.ensure_usage_row(wanted.grant_id, wanted.month).await?;
        let id = new_id();
        let row = ReservationRow {
            id: &id,
            grant_id: wanted.grant_id,
            month: wanted.month,
            amount: wanted.amount,
            expires_at: wanted.expires_at,
        };
        let NewReservation {
            grant_id,
            month,
            amount,
            budget,
            ..
        } = wanted;
        let reserved = with_conn!(self, conn => {
            conn.transaction::<_, StoreError, _>(async |conn| {
                let fits = diesel::update(
                    usage_months::table
                        .filter(usage_months::grant_id.eq(grant_id))
                        .filter(usage_months::month.eq(month))
                        .filter((usage_months::spent_microusd + usage_months::reserved_microusd + amount).le(budget)),
                )
                .set(usage_months::reserved_microusd.eq(usage_months::reserved_microusd + amount))
                .execute(conn)
                .await? == 1;
                if fits {
                    diesel::insert_into(budget_reservations::table).values(&row).execute(conn).await?;
                }
                Ok(fits)
            }).await
        })?;
        Ok(reserved.then_some(id))
    }

    /// Records one finished request: releases its reservation (if any) and adds what it used.
    pub async fn settle_usage(
        &self,
        grant_id: &str,
        month: &str,
        reservation: Option<&str>,
        used: &Consumption,
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = reservation.map(str::to_owned).into_iter().collect();
        self.settle(grant_id, month, &UsageDelta::of(used), &ids)
            .await
    }

    /// Records finished requests of one grant and month in one transaction: deletes their
    /// `reservations`, gives back what the deleted rows held (a reservation the sweep already
    /// released is not released again) and adds `usage`, whatever number of requests it sums.
    pub async fn settle(
        &self,
        grant_id: &str,
        month: &str,
        usage: &UsageDelta,
        reservations: &[String],
    ) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            conn.transaction::<_, StoreError, _>(async |conn| {
                let mut released = 0;
                for chunk in reservations.chunks(IDS_PER_STATEMENT) {
                    let amounts: Vec<i64> = diesel::delete(
                        budget_reservations::table.filter(budget_reservations::id.eq_any(chunk)),
                    )
                    .returning(budget_reservations::amount)
                    .get_results(conn)
                    .await?;
                    released += amounts.iter().sum::<i64>();
                }
                let first = UsageMonth {
                    grant_id: grant_id.to_owned(),
                    month: month.to_owned(),
                    requests: usage.requests,
                    input_tokens: usage.input_tokens,
                    cached_tokens: usage.cached_tokens,
                    output_tokens: usage.output_tokens,
                    spent_microusd: usage.spent_microusd,
                    reserved_microusd: -released,
                    unpriced_requests: usage.unpriced_requests,
                };
                diesel::insert_into(usage_months::table)
                    .values(&first)
                    .on_conflict((usage_months::grant_id, usage_months::month))
                    .do_update()
                    .set((
                        usage_months::requests.eq(usage_months::requests + usage.requests),
                        usage_months::input_tokens.eq(usage_months::input_tokens + usage.input_tokens),
                        usage_months::cached_tokens.eq(usage_months::cached_tokens + usage.cached_tokens),
                        usage_months::output_tokens.eq(usage_months::output_tokens + usage.output_tokens),
                        usage_months::spent_microusd.eq(usage_months::spent_microusd + usage.spent_microusd),
                        usage_months::reserved_microusd.eq(usage_months::reserved_microusd - released),
                        usage_months::unpriced_requests.eq(usage_months::unpriced_requests + usage.unpriced_requests),
                    ))
                    .execute(conn)
                    .await?;
                Ok(())
            }).await
        })
    }

    /// Extends the leases of reservations whose requests are still running.
    pub async fn renew_reservations(
        &self,
        ids: &[String],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            with_conn!(self, conn => {
                diesel::update(budget_reservations::table.filter(budget_reservations::id.eq_any(chunk)))
                    .set(budget_reservations::expires_at.eq(expires_at))
                    .execute(conn)
                    .await?;
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(())
    }

    /// Releases every reservation whose lease ended before `now` (its instance stopped
    /// renewing it): deletes the rows and gives their amounts back, in one transaction.
    /// Safe to run on any number of instances at once. Returns how many were released.
    pub async fn release_expired_reservations(&self, now: i64) -> Result<usize, StoreError> {
        // A read first: the usual answer is "none", and it should not take a write lock.
        let any: Option<String> = with_conn!(self, conn => {
            Ok::<_, StoreError>(budget_reservations::table
                .filter(budget_reservations::expires_at.lt(now))
                .select(budget_reservations::id)
                .first(conn)
                .await
                .optional()?)
        })?;
        if any.is_none() {
            return Ok(0);
        }
        with_conn!(self, conn => {
            conn.transaction::<_, StoreError, _>(async |conn| {
                let expired: Vec<(String, String, i64)> = diesel::delete(
                    budget_reservations::table.filter(budget_reservations::expires_at.lt(now)),
                )
                .returning((budget_reservations::grant_id, budget_reservations::month, budget_reservations::amount))
                .get_results(conn)
                .await?;
                // One update per month row, in a fixed order so concurrent sweeps and
                // settlements lock rows in the same order.
                let mut totals: BTreeMap<(&str, &str), i64> = BTreeMap::new();
                for (grant_id, month, amount) in &expired {
                    *totals.entry((grant_id, month)).or_default() += amount;
                }
                for ((grant_id, month), amount) in totals {
                    diesel::update(
                        usage_months::table
                            .filter(usage_months::grant_id.eq(grant_id))
                            .filter(usage_months::month.eq(month)),
                    )
                    .set(usage_months::reserved_microusd.eq(usage_months::reserved_microusd - amount))
                    .execute(conn)
                    .await?;
                }
                Ok(expired.len())
            }).await
        })
    }

    /// How many reservations a grant holds right now, so tooling and tests can see leaked ones.
    pub async fn reservations_held(&self, grant_id: &str) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            Ok(budget_reservations::table
                .filter(budget_reservations::grant_id.eq(grant_id))
                .count()
                .get_result(conn)
                .await?)
        })
    }
}
