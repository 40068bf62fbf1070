//! `POST /v1/completions` (the legacy text completions).

use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;

use crate::envelope::Envelope;
use crate::errors::ApiError;
use crate::input;
use crate::reply;
use crate::state::Ctx;
use crate::text;
use crate::tokens::Tokens;

const OBJECT: &str = "text_completion";

#[derive(Serialize)]
struct Choice {
    text: String,
    index: u32,
    logprobs: (),
    finish_reason: Option<&'static str>,
}

impl Choice {
    fn new(text: String, finish_reason: Option<&'static str>) -> Self {
        Choice {
            text,
            index: 0,
            logprobs: (),
            finish_reason,
        }
    }
}

/// A `text_completion`, or its stream of `text_completion` chunks with `stream: true`.
pub(crate) async fn create(ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let request = input::json_object(&body)?;
    let model = input::required_str(&request, "model")?;
    let prompt = input::required(&request, "prompt")?;
    let pieces = text::pieces(ctx.behaviour.chunk_count());
    let tokens = Tokens::count(
        input::text_chars(prompt),
        pieces.len(),
        &request,
        &ctx.behaviour,
    );
    let reply = Envelope::new("cmpl-", model, tokens.usage());

    if !input::flag(&request, "/stream") {
        let choice = Choice::new(pieces.concat(), Some("stop"));
        return Ok(reply::json(ctx, &reply.whole(OBJECT, choice)));
    }

    let choices = pieces
        .into_iter()
        .map(|piece| Choice::new(piece.to_owned(), None))
        .collect();
    let finish = Choice::new(String::new(), Some("stop"));
    let include_usage = input::flag(&request, "/stream_options/include_usage");
    Ok(reply
        .stream(OBJECT, choices, finish, include_usage)
        .into_reply(ctx))
}
