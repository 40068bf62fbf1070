//! Monthly budgets: reserve before forwarding, refuse once the month's budget cannot cover
//! the reservation. The reservation is an atomic conditional `UPDATE` plus a leased row in one
//! transaction (see `store::reservations`), so concurrent requests on any number of instances
//! cannot overspend beyond what they reserved, and a crashed instance's reservations are given
//! back when their lease runs out; the proxy's settle phase ([`crate::proxy::settle`])
//! reconciles each with the real usage.

use std::time::Duration;

use crate::money::Money;
use crate::store::grants::Grant;
use crate::store::reservations::NewReservation;
use crate::store::{Store, StoreError};

/// The smallest reservation for a request that spends, in micro-USD: an exhausted budget then
/// refuses even requests whose cost cannot be estimated.
const MIN_RESERVATION: i64 = 1;

/// A granted reservation (amount 0 and no id when the grant has no budget).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub month: String,
    /// Micro-USD held.
    pub amount: i64,
    /// The reservation's row, whose lease the instance renews until the request settles.
    pub id: Option<String>,
}

/// Why a request was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The budget cannot cover the reservation this month.
    #[error("monthly budget exhausted")]
    Exhausted {
        budget: Money,
        wanted: Money,
        /// When the month's budget starts afresh (Unix seconds), and how long that is from
        /// the refused request.
        resets_at: i64,
        retry_after: Duration,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reserves `estimate` micro-USD (at least [`MIN_RESERVATION`]) of `grant`'s budget for the
/// month of `at` (Unix seconds; months are UTC, so a new month starts with a fresh counter),
/// leased for `lease`. Grants without a budget, and requests that do not spend, reserve nothing.
pub async fn reserve(
    store: &Store,
    grant: &Grant,
    spends: bool,
    estimate: Option<i64>,
    at: i64,
    lease: Duration,
) -> Result<Reservation, BudgetError> {
    let month = super::month_of(at);
    let Some(budget) = grant.limits.budget().filter(|_| spends) else {
        return Ok(Reservation {
            month,
            amount: 0,
            id: None,
        });
    };
    let amount = estimate.unwrap_or(0).max(MIN_RESERVATION);
    let wanted = NewReservation {
        grant_id: &grant.id,
        month: &month,
        amount,
        budget: budget.micros(),
        expires_at: at + lease.as_secs() as i64,
    };
    if let Some(id) = store.reserve_budget(wanted).await? {
        Ok(Reservation {
            month,
            amount,
            id: Some(id),
        })
    } else {
        let resets_at = super::next_month_start(at);
        Err(BudgetError::Exhausted {
            budget,
            wanted: Money::from_micros(amount),
            resets_at,
            retry_after: Duration::from_secs((resets_at - at).max(1) as u64),
        })
    }
}
