//! Phase 4, settle: what a request consumed becomes its settlement.
//!
//! Admission ends with a [`Ticket`]: the request's claim on its grant's budget (the
//! reservation, if any, renewed while the request runs). Dropped before anything reached the
//! upstream — the forward failed to connect, or the handler returned early — it settles as
//! nothing used and gives the reservation back, so no failure path undoes anything by hand.
//! Once the request reached the upstream the ticket becomes a [`Meter`], which rides along
//! with the response body, collects the usage the upstream reports, and settles when it is
//! dropped — after the last byte, on a client disconnect, or on an upstream failure — through
//! the [`Settler`], so settling never delays the response.

use std::sync::Arc;

use crate::metering::estimate::Estimate;
use crate::metering::prices::{PriceTable, Tokens};
use crate::metering::settler::{Settlement, Settler};
use crate::store::usage::{Consumption, UsageDelta};

/// How the request ended, as far as the meter knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The request never reached the upstream: nothing is charged.
    NotSent,
    /// Still running, or cut off (client gone, upstream reset or silent): if no usage was
    /// reported, the reservation (or the estimate) is charged.
    Unfinished,
    /// The upstream's answer was passed on in full.
    Complete { success: bool },
}

/// What a request's settlement is made from, known once it is admitted.
pub struct MeterSpec {
    pub settler: Settler,
    /// To price the usage the upstream reports.
    pub prices: Arc<PriceTable>,
    pub grant_id: String,
    pub month: String,
    pub model: Option<String>,
    /// Whether the endpoint reports token usage (requests to other endpoints cost nothing).
    pub metered: bool,
    /// The micro-USD reserved, and the reservation's id (none when nothing was reserved).
    pub reserved: i64,
    pub reservation: Option<String>,
    pub estimate: Estimate,
}

/// An admitted request that has not reached the upstream yet. Dropping it settles the
/// request as costing nothing and releases its reservation.
pub struct Ticket(Meter);

impl Ticket {
    /// The ticket for an admitted request; its reservation's lease is renewed until it
    /// settles.
    pub fn new(spec: MeterSpec) -> Ticket {
        if let Some(id) = &spec.reservation {
            spec.settler.hold(id.clone());
        }
        Ticket(Meter {
            settler: spec.settler,
            prices: spec.prices,
            grant_id: spec.grant_id,
            month: spec.month,
            model: spec.model,
            metered: spec.metered,
            reserved: spec.reserved,
            reservation: spec.reservation,
            estimate: spec.estimate,
            usage: None,
            outcome: Outcome::NotSent,
        })
    }

    /// The request reached the upstream (which may have started work): from now on it is
    /// charged for what it used, or, cut off without a report, for what it reserved.
    pub fn sent(self) -> Meter {
        let Ticket(mut meter) = self;
        meter.outcome = Outcome::Unfinished;
        meter
    }
}

/// Settles one sent request's usage when dropped.
pub struct Meter {
    settler: Settler,
    prices: Arc<PriceTable>,
    grant_id: String,
    month: String,
    model: Option<String>,
    metered: bool,
    reserved: i64,
    reservation: Option<String>,
    estimate: Estimate,
    usage: Option<Tokens>,
    outcome: Outcome,
}

impl Meter {
    /// Records the usage the upstream reported (the last report wins).
    pub fn observe(&mut self, tokens: Tokens) {
        self.usage = Some(tokens);
    }

    /// The upstream's answer reached the client in full.
    pub fn complete(&mut self, success: bool) {
        self.outcome = Outcome::Complete { success };
    }

    /// What to record for this request.
    fn consumption(&self) -> Consumption {
        if let Some(tokens) = self.usage {
            return Consumption {
                input_tokens: tokens.input,
                cached_tokens: tokens.cached,
                output_tokens: tokens.output,
                cost_microusd: self
                    .model
                    .as_deref()
                    .and_then(|m| self.prices.cost_microusd(m, tokens)),
            };
        }
        let free = Consumption {
            cost_microusd: Some(0),
            ..Consumption::default()
        };
        let priced = self
            .model
            .as_deref()
            .is_some_and(|m| self.prices.get(m).is_some());
        match self.outcome {
            _ if !self.metered => free,
            Outcome::NotSent | Outcome::Complete { success: false } => free,
            // A complete, successful answer without usage: an unpriced kind of call (e.g. an
            // image model without token usage) is counted as unpriced; a priced model that
            // did not report usage is charged as if cut off.
            Outcome::Complete { success: true } if !priced => Consumption {
                cost_microusd: None,
                ..Consumption::default()
            },
            Outcome::Complete { success: true } | Outcome::Unfinished => Consumption {
                input_tokens: self.estimate.tokens.input,
                cached_tokens: 0,
                output_tokens: self.estimate.tokens.output,
                cost_microusd: if self.reserved > 0 {
                    Some(self.reserved)
                } else {
                    self.estimate.cost_microusd
                },
            },
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        let used = self.consumption();
        self.settler.settle(Settlement {
            grant_id: std::mem::take(&mut self.grant_id),
            month: std::mem::take(&mut self.month),
            usage: UsageDelta::of(&used),
            reservation: self.reservation.take(),
        });
    }
}
