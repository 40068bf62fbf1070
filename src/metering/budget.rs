//! Monthly budgets: reserve before forwarding, refuse once the month's budget cannot cover
//! the reservation. The reservation is one atomic conditional `UPDATE` in the store (see
//! `store::usage`), so concurrent requests on any number of instances cannot overspend beyond
//! what they reserved; [`super::meter::Meter`] reconciles it with the real usage.

use crate::store::grants::Grant;
use crate::store::{Store, StoreError};

/// The smallest reservation for a request that spends: an exhausted budget then refuses even
/// requests whose cost cannot be estimated.
const MIN_RESERVATION: i64 = 1;

/// A granted reservation (amount 0 when the grant has no budget).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub month: String,
    pub amount: i64,
}

/// Why a request was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    /// The budget cannot cover the reservation this month.
    #[error("monthly budget exhausted")]
    Exhausted {
        budget: i64,
        wanted: i64,
        month: String,
        resets_at: i64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reserves `estimate` micro-USD (at least [`MIN_RESERVATION`]) of `grant`'s budget for the
/// month of `at` (Unix seconds; months are UTC, so a new month starts with a fresh counter).
/// Grants without a budget, and requests that do not spend, reserve nothing.
pub async fn reserve(
    store: &Store,
    grant: &Grant,
    spends: bool,
    estimate: Option<i64>,
    at: i64,
) -> Result<Reservation, BudgetError> {
    let month = super::month_of(at);
    let Some(budget) = grant.limits.budget_microusd.filter(|_| spends) else {
        return Ok(Reservation { month, amount: 0 });
    };
    let amount = estimate.unwrap_or(0).max(MIN_RESERVATION);
    if store
        .reserve_budget(&grant.id, &month, amount, budget)
        .await?
    {
        Ok(Reservation { month, amount })
    } else {
        Err(BudgetError::Exhausted {
            budget,
            wanted: amount,
            month,
            resets_at: super::next_month_start(at),
        })
    }
}
