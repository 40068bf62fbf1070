//! `POST /v1/chat/completions`.

use std::iter;

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

#[derive(Serialize)]
struct Choice {
    index: u32,
    message: Message,
    logprobs: (),
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: String,
    refusal: (),
    annotations: [(); 0],
}

#[derive(Serialize)]
struct ChunkChoice {
    index: u32,
    delta: Delta,
    logprobs: (),
    finish_reason: Option<&'static str>,
}

#[derive(Default, Serialize)]
struct Delta {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'static str>,
    /// `Some(())` serialises as `"refusal":null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<()>,
}

impl ChunkChoice {
    fn new(delta: Delta, finish_reason: Option<&'static str>) -> Self {
        ChunkChoice {
            index: 0,
            delta,
            logprobs: (),
            finish_reason,
        }
    }
}

/// A `chat.completion`, or its `chat.completion.chunk` stream with `stream: true`.
pub(crate) async fn create(ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let request = input::json_object(&body)?;
    let model = input::required_str(&request, "model")?;
    let messages = input::required(&request, "messages")?;
    let pieces = text::pieces(ctx.behaviour.chunk_count());
    let tokens = Tokens::count(
        input::text_chars(messages),
        pieces.len(),
        &request,
        &ctx.behaviour,
    );
    let reply = Envelope::new("chatcmpl-", model, tokens.usage());

    if !input::flag(&request, "/stream") {
        let choice = Choice {
            index: 0,
            message: Message {
                role: "assistant",
                content: pieces.concat(),
                refusal: (),
                annotations: [],
            },
            logprobs: (),
            finish_reason: "stop",
        };
        return Ok(reply::json(ctx, &reply.whole("chat.completion", choice)));
    }

    let role = Delta {
        role: Some("assistant"),
        content: Some(""),
        refusal: Some(()),
    };
    let contents = pieces.into_iter().map(|piece| Delta {
        content: Some(piece),
        ..Delta::default()
    });
    let choices = iter::once(role)
        .chain(contents)
        .map(|delta| ChunkChoice::new(delta, None))
        .collect();
    let finish = ChunkChoice::new(Delta::default(), Some("stop"));
    let include_usage = input::flag(&request, "/stream_options/include_usage");
    let stream = reply.stream("chat.completion.chunk", choices, finish, include_usage);
    Ok(stream.into_reply(ctx))
}
