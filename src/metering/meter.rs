//! One request's meter: it rides along with the response body, collects the usage the
//! upstream reports, and settles when it is dropped — after the last byte, on a client
//! disconnect, or on an upstream failure — through the [`super::settle::Settler`], so
//! settling never delays the response.

use std::sync::Arc;

use super::estimate::Estimate;
use super::prices::Tokens;
use super::settle::{Settlement, Settler};
use crate::config::Settings;
use crate::store::usage::{Consumption, UsageDelta};

/// How the request ended, as far as the meter knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Still running, or cut off (client gone, upstream reset or silent): if no usage was
    /// reported, the reservation (or the estimate) is charged.
    Unfinished,
    /// The upstream's answer was passed on in full.
    Complete { success: bool },
    /// The request never reached the upstream: nothing is charged.
    NotSent,
}

/// Settles one request's usage when dropped.
pub struct Meter {
    settler: Settler,
    settings: Arc<Settings>,
    grant_id: String,
    month: String,
    model: Option<String>,
    /// Whether the endpoint reports token usage (requests to other endpoints cost nothing).
    metered: bool,
    reserved: i64,
    reservation: Option<String>,
    estimate: Estimate,
    usage: Option<Tokens>,
    outcome: Outcome,
}

/// What a [`Meter`] is set up with.
pub struct MeterSpec {
    pub settler: Settler,
    /// For the price table.
    pub settings: Arc<Settings>,
    pub grant_id: String,
    pub month: String,
    pub model: Option<String>,
    pub metered: bool,
    /// The amount reserved, and the reservation's id (none when nothing was reserved).
    pub reserved: i64,
    pub reservation: Option<String>,
    pub estimate: Estimate,
}

impl Meter {
    /// A meter for a request that holds `spec.reserved` micro-USD of its grant's budget; the
    /// reservation's lease is renewed until the meter settles.
    pub fn new(spec: MeterSpec) -> Meter {
        if let Some(id) = &spec.reservation {
            spec.settler.hold(id.clone());
        }
        Meter {
            settler: spec.settler,
            settings: spec.settings,
            grant_id: spec.grant_id,
            month: spec.month,
            model: spec.model,
            metered: spec.metered,
            reserved: spec.reserved,
            reservation: spec.reservation,
            estimate: spec.estimate,
            usage: None,
            outcome: Outcome::Unfinished,
        }
    }

    /// Records the usage the upstream reported (the last report wins).
    pub fn observe(&mut self, tokens: Tokens) {
        self.usage = Some(tokens);
    }

    /// The upstream's answer reached the client in full.
    pub fn complete(&mut self, success: bool) {
        self.outcome = Outcome::Complete { success };
    }

    /// The request failed before reaching the upstream.
    pub fn not_sent(&mut self) {
        self.outcome = Outcome::NotSent;
    }

    /// What to record for this request.
    pub fn consumption(&self) -> Consumption {
        if let Some(tokens) = self.usage {
            return Consumption {
                input_tokens: tokens.input,
                cached_tokens: tokens.cached,
                output_tokens: tokens.output,
                cost_microusd: self
                    .model
                    .as_deref()
                    .and_then(|m| self.settings.prices.cost_microusd(m, tokens)),
            };
        }
        let free = Consumption {
            cost_microusd: Some(0),
            ..Consumption::default()
        };
        let priced = self
            .model
            .as_deref()
            .is_some_and(|m| self.settings.prices.get(m).is_some());
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
