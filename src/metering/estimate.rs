//! The cost estimate reserved against a budget before a request is forwarded: deliberately on
//! the high side, since the reservation is what keeps concurrent requests from overspending.

use super::prices::{PriceTable, Tokens};

/// Output tokens assumed for a generating request that sets no length cap.
pub const DEFAULT_OUTPUT_ALLOWANCE: i64 = 4096;

/// What a request may consume, before it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    pub tokens: Tokens,
    /// `None` when the model has no price (or there is no model).
    pub cost_microusd: Option<i64>,
}

/// The request facts an estimate is made from.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestShape<'a> {
    pub model: Option<&'a str>,
    /// Size of the request body in bytes.
    pub body_bytes: usize,
    /// `max_completion_tokens`, `max_tokens` or `max_output_tokens`, whichever is set.
    pub max_output_tokens: Option<u64>,
    /// Number of choices (`n`), at least 1.
    pub choices: u64,
    /// Whether the endpoint generates output tokens (chat, completions, responses).
    pub generates: bool,
}

/// Estimates a request: one input token per two body bytes (real prompts average about four
/// characters a token, and JSON framing adds bytes), plus the output cap times the number of
/// choices, or [`DEFAULT_OUTPUT_ALLOWANCE`] when uncapped.
pub fn estimate(prices: &PriceTable, shape: RequestShape<'_>) -> Estimate {
    let input = (shape.body_bytes as i64 / 2).max(1);
    let output = if shape.generates {
        let cap = shape
            .max_output_tokens
            .map_or(DEFAULT_OUTPUT_ALLOWANCE, |m| m.min(i64::MAX as u64) as i64);
        cap.saturating_mul(shape.choices.clamp(1, 128) as i64)
    } else {
        0
    };
    let tokens = Tokens {
        input,
        cached: 0,
        output,
    };
    Estimate {
        tokens,
        cost_microusd: shape.model.and_then(|m| prices.cost_microusd(m, tokens)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_choices_drive_the_output_part() {
        let prices = PriceTable::defaults();
        let shape = RequestShape {
            model: Some("gpt-4o-mini"),
            body_bytes: 200,
            max_output_tokens: Some(100),
            choices: 2,
            generates: true,
        };
        let e = estimate(&prices, shape);
        assert_eq!((e.tokens.input, e.tokens.output), (100, 200));
        // 100 × 0.15 + 200 × 0.6 micro-USD.
        assert_eq!(e.cost_microusd, Some(135));
        let uncapped = estimate(
            &prices,
            RequestShape {
                max_output_tokens: None,
                choices: 1,
                ..shape
            },
        );
        assert_eq!(uncapped.tokens.output, DEFAULT_OUTPUT_ALLOWANCE);
        let unpriced = estimate(
            &prices,
            RequestShape {
                model: Some("mystery"),
                ..shape
            },
        );
        assert_eq!(unpriced.cost_microusd, None);
    }
}
