//! The price table: USD per million tokens by model, with defaults for current OpenAI models
//! that operators override or extend in `keyward.toml` (`[prices."model"]`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Prices for one model, in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    /// Price of cached input tokens; defaults to the input price.
    #[serde(default)]
    pub cached_input: Option<f64>,
    #[serde(default)]
    pub output: f64,
}

/// Token counts a price applies to. `cached` is the part of `input` served from cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: i64,
    pub cached: i64,
    pub output: i64,
}

/// Prices by model name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceTable(BTreeMap<String, Price>);

/// Built-in prices (USD per 1M tokens: input, cached input, output).
const DEFAULTS: &[(&str, f64, f64, f64)] = &[
    ("gpt-5", 1.25, 0.125, 10.0),
    ("gpt-5-mini", 0.25, 0.025, 2.0),
    ("gpt-5-nano", 0.05, 0.005, 0.4),
    ("gpt-4.1", 2.0, 0.5, 8.0),
    ("gpt-4.1-mini", 0.4, 0.1, 1.6),
    ("gpt-4.1-nano", 0.1, 0.025, 0.4),
    ("gpt-4o", 2.5, 1.25, 10.0),
    ("gpt-4o-mini", 0.15, 0.075, 0.6),
    ("o1", 15.0, 7.5, 60.0),
    ("o3", 2.0, 0.5, 8.0),
    ("o3-mini", 1.1, 0.55, 4.4),
    ("o4-mini", 1.1, 0.275, 4.4),
    ("gpt-3.5-turbo", 0.5, 0.5, 1.5),
    ("text-embedding-3-small", 0.02, 0.02, 0.0),
    ("text-embedding-3-large", 0.13, 0.13, 0.0),
    ("text-embedding-ada-002", 0.1, 0.1, 0.0),
    ("omni-moderation-latest", 0.0, 0.0, 0.0),
    ("text-moderation-latest", 0.0, 0.0, 0.0),
];

impl PriceTable {
    /// The built-in table.
    pub fn defaults() -> PriceTable {
        PriceTable(
            DEFAULTS
                .iter()
                .map(|&(model, input, cached, output)| {
                    (
                        model.to_owned(),
                        Price {
                            input,
                            cached_input: Some(cached),
                            output,
                        },
                    )
                })
                .collect(),
        )
    }

    /// Adds or replaces prices.
    pub fn extend(&mut self, prices: impl IntoIterator<Item = (String, Price)>) {
        self.0.extend(prices);
    }

    /// The price for a model, also for dated snapshots (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`).
    pub fn get(&self, model: &str) -> Option<&Price> {
        self.0.get(model).or_else(|| {
            let base = strip_date_suffix(model)?;
            self.0.get(base)
        })
    }

    /// Cost in micro-USD (rounded up), or `None` when the model has no price.
    pub fn cost_microusd(&self, model: &str, tokens: Tokens) -> Option<i64> {
        let p = self.get(model)?;
        let cached = tokens.cached.clamp(0, tokens.input.max(0));
        let uncached = tokens.input.max(0) - cached;
        // USD per 1M tokens is exactly micro-USD per token.
        let micro = uncached as f64 * p.input
            + cached as f64 * p.cached_input.unwrap_or(p.input)
            + tokens.output.max(0) as f64 * p.output;
        Some(micro.ceil() as i64)
    }
}

/// `name-YYYY-MM-DD` → `name`.
fn strip_date_suffix(model: &str) -> Option<&str> {
    let (base, date) = model.split_at(model.len().checked_sub(11)?);
    let date = date.strip_prefix('-')?;
    let ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    ok.then_some(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_snapshots_use_the_base_price() {
        let t = PriceTable::defaults();
        assert_eq!(t.get("gpt-4o-mini-2024-07-18"), t.get("gpt-4o-mini"));
        assert!(t.get("gpt-4o-audio-preview").is_none());
        assert!(t.get("mystery").is_none());
    }

    #[test]
    fn cost_counts_cached_input_at_its_own_price() {
        let t = PriceTable::defaults();
        // gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out per 1M tokens.
        let c = t
            .cost_microusd(
                "gpt-4o-mini",
                Tokens {
                    input: 1_000_000,
                    cached: 0,
                    output: 1_000_000,
                },
            )
            .unwrap();
        assert_eq!(c, 750_000);
        let c = t
            .cost_microusd(
                "gpt-4o-mini",
                Tokens {
                    input: 1_000_000,
                    cached: 1_000_000,
                    output: 0,
                },
            )
            .unwrap();
        assert_eq!(c, 75_000);
        assert_eq!(t.cost_microusd("nope", Tokens::default()), None);
        // Rounds up: one output token of gpt-4o-mini is 0.6 micro-USD.
        assert_eq!(
            t.cost_microusd(
                "gpt-4o-mini",
                Tokens {
                    input: 0,
                    cached: 0,
                    output: 1
                }
            ),
            Some(1)
        );
    }
}
