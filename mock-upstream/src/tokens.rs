//! Token estimates and the `usage` objects that report them.

use serde::Serialize;
use serde_json::Value;

use crate::behaviour::Behaviour;

/// Tokens a chat or completion prompt costs beyond its text (message framing).
const PROMPT_OVERHEAD: u64 = 7;

/// Request fields that cap the reply length, in the order they are looked at.
const LENGTH_CAPS: [&str; 3] = ["max_completion_tokens", "max_tokens", "max_output_tokens"];

/// Tokens for a bare text of `chars` characters (about four characters a token, at least 1).
pub(crate) fn estimate(chars: usize) -> u64 {
    (chars as u64 / 4).max(1)
}

/// Prompt and completion token counts of one model call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tokens {
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
}

impl Tokens {
    /// Counts a prompt of `prompt_chars` characters answered in `chunks` pieces, honouring the
    /// request's length caps and the behaviour's override.
    pub(crate) fn count(
        prompt_chars: usize,
        chunks: usize,
        request: &Value,
        behaviour: &Behaviour,
    ) -> Self {
        let cap = LENGTH_CAPS
            .iter()
            .find_map(|field| request.get(field).and_then(Value::as_u64));
        let natural = (chunks as u64).min(cap.unwrap_or(u64::MAX));
        Tokens {
            prompt: prompt_chars as u64 / 4 + PROMPT_OVERHEAD,
            completion: behaviour.completion_tokens.unwrap_or(natural),
        }
    }

    /// The chat / completions `usage` object.
    pub(crate) fn usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.prompt + self.completion,
            prompt_tokens_details: PromptDetails {
                cached_tokens: 0,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionDetails {
                reasoning_tokens: 0,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }

    /// The Responses API `usage` object.
    pub(crate) fn responses_usage(self) -> ResponsesUsage {
        ResponsesUsage {
            input_tokens: self.prompt,
            input_tokens_details: InputDetails { cached_tokens: 0 },
            output_tokens: self.completion,
            output_tokens_details: OutputDetails {
                reasoning_tokens: 0,
            },
            total_tokens: self.prompt + self.completion,
        }
    }
}

/// `usage` of chat completions and legacy completions.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Clone, Debug, Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Clone, Debug, Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

/// `usage` of the Responses API.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ResponsesUsage {
    input_tokens: u64,
    input_tokens_details: InputDetails,
    output_tokens: u64,
    output_tokens_details: OutputDetails,
    total_tokens: u64,
}

#[derive(Clone, Debug, Serialize)]
struct InputDetails {
    cached_tokens: u64,
}

#[derive(Clone, Debug, Serialize)]
struct OutputDetails {
    reasoning_tokens: u64,
}
