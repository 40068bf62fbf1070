//! Usage extraction: what the upstream says a request consumed, read from its answer as the
//! answer streams past — a JSON body's top-level `usage` member ([`json`]) or the usage an
//! event stream reports ([`sse`]) — and turned into [`Tokens`] here.
//!
//! Two shapes of `usage` object exist: chat completions, completions and embeddings report
//! `prompt_tokens` / `completion_tokens` (cached input under
//! `prompt_tokens_details.cached_tokens`); the Responses API, image and transcription models
//! report `input_tokens` / `output_tokens` (cached input under
//! `input_tokens_details.cached_tokens`).

pub mod json;
pub mod sse;

use serde::Deserialize;

use super::prices::Tokens;

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    prompt_tokens_details: Option<Details>,
    input_tokens_details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    cached_tokens: Option<i64>,
}

/// Token counts from the JSON text of a `usage` value; `None` when it reports no tokens
/// (e.g. `null`, or a duration-based transcription usage).
fn parse(usage_json: &[u8]) -> Option<Tokens> {
    let u: Option<Usage> = serde_json::from_slice(usage_json).ok()?;
    let u = u?;
    let input = u.prompt_tokens.or(u.input_tokens);
    let output = u.completion_tokens.or(u.output_tokens);
    if input.is_none() && output.is_none() {
        return None;
    }
    let cached = u
        .prompt_tokens_details
        .or(u.input_tokens_details)
        .and_then(|d| d.cached_tokens);
    Some(Tokens {
        input: input.unwrap_or(0).max(0),
        cached: cached.unwrap_or(0).max(0),
        output: output.unwrap_or(0).max(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shapes_are_read() {
        let chat = br#"{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,
            "prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0}}"#;
        assert_eq!(
            parse(chat),
            Some(Tokens {
                input: 12,
                cached: 4,
                output: 5
            })
        );
        let responses = br#"{"input_tokens":30,"input_tokens_details":{"cached_tokens":10},
            "output_tokens":7,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":37}"#;
        assert_eq!(
            parse(responses),
            Some(Tokens {
                input: 30,
                cached: 10,
                output: 7
            })
        );
        let embeddings = br#"{"prompt_tokens":8,"total_tokens":8}"#;
        assert_eq!(parse(embeddings).map(|t| (t.input, t.output)), Some((8, 0)));
        assert_eq!(parse(b"null"), None);
        assert_eq!(parse(br#"{"type":"duration","seconds":3}"#), None);
    }
}
