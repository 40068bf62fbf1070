//! `POST /v1/responses` (the Responses API), whole or as a typed event stream.

use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::ids;
use crate::input;
use crate::reply;
use crate::sse::{Event, Stream};
use crate::state::Ctx;
use crate::text;
use crate::tokens::{ResponsesUsage, Tokens};

/// Request settings a response object echoes, with the values it reports when they are unset.
fn settings(request: &Value) -> Map<String, Value> {
    let defaults = [
        ("instructions", Value::Null),
        ("max_output_tokens", Value::Null),
        ("parallel_tool_calls", json!(true)),
        ("previous_response_id", Value::Null),
        ("reasoning", json!({"effort": null, "summary": null})),
        ("service_tier", json!("default")),
        ("store", json!(true)),
        ("temperature", json!(1.0)),
        ("text", json!({"format": {"type": "text"}})),
        ("tool_choice", json!("auto")),
        ("tools", json!([])),
        ("top_p", json!(1.0)),
        ("truncation", json!("disabled")),
        ("user", Value::Null),
        ("metadata", json!({})),
    ];
    defaults
        .into_iter()
        .map(|(name, default)| {
            let value = request.get(name).filter(|v| !v.is_null()).cloned();
            (name.to_owned(), value.unwrap_or(default))
        })
        .collect()
}

/// One response: identity, text and usage, from which the object and the events are made.
struct Draft {
    id: String,
    item_id: String,
    created_at: u64,
    model: String,
    settings: Map<String, Value>,
    text: String,
    usage: ResponsesUsage,
}

#[derive(Serialize)]
struct ResponseObject<'a> {
    id: &'a str,
    object: &'static str,
    created_at: u64,
    status: &'static str,
    error: (),
    incomplete_details: (),
    model: &'a str,
    output: Vec<Item<'a>>,
    usage: Option<&'a ResponsesUsage>,
    #[serde(flatten)]
    settings: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    status: &'static str,
    content: Vec<Part<'a>>,
    role: &'static str,
}

#[derive(Serialize)]
struct Part<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    annotations: [(); 0],
    logprobs: [(); 0],
    text: &'a str,
}

/// Every streamed event's fields; each event type fills the ones it has.
#[derive(Default, Serialize)]
struct StreamEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<ResponseObject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<Item<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<Part<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[(); 0]>,
    sequence_number: usize,
}

fn part(text: &str) -> Part<'_> {
    Part {
        kind: "output_text",
        annotations: [],
        logprobs: [],
        text,
    }
}

impl Draft {
    fn item(&self, done: bool) -> Item<'_> {
        Item {
            id: &self.item_id,
            kind: "message",
            status: if done { "completed" } else { "in_progress" },
            content: if done {
                vec![part(&self.text)]
            } else {
                Vec::new()
            },
            role: "assistant",
        }
    }

    fn object(&self, done: bool) -> ResponseObject<'_> {
        ResponseObject {
            id: &self.id,
            object: "response",
            created_at: self.created_at,
            status: if done { "completed" } else { "in_progress" },
            error: (),
            incomplete_details: (),
            model: &self.model,
            output: if done {
                vec![self.item(true)]
            } else {
                Vec::new()
            },
            usage: done.then_some(&self.usage),
            settings: &self.settings,
        }
    }

    /// An event about the whole response.
    fn about_response(&self, kind: &'static str, done: bool) -> StreamEvent<'_> {
        StreamEvent {
            kind,
            response: Some(self.object(done)),
            ..StreamEvent::default()
        }
    }

    /// An event about the output item.
    fn about_item(&self, kind: &'static str, done: bool) -> StreamEvent<'_> {
        StreamEvent {
            kind,
            output_index: Some(0),
            item: Some(self.item(done)),
            ..StreamEvent::default()
        }
    }

    /// An event about the item's text part.
    fn about_part(&self, kind: &'static str) -> StreamEvent<'_> {
        StreamEvent {
            kind,
            item_id: Some(&self.item_id),
            output_index: Some(0),
            content_index: Some(0),
            ..StreamEvent::default()
        }
    }

    /// The events up to the last text delta, and the closing ones the gate holds back.
    fn events<'a>(&'a self, pieces: &[&'a str]) -> Stream {
        let opening = [
            self.about_response("response.created", false),
            self.about_response("response.in_progress", false),
            self.about_item("response.output_item.added", false),
            StreamEvent {
                part: Some(part("")),
                ..self.about_part("response.content_part.added")
            },
        ];
        let deltas = pieces.iter().map(|piece| StreamEvent {
            delta: Some(piece),
            logprobs: Some([]),
            ..self.about_part("response.output_text.delta")
        });
        let closing = [
            StreamEvent {
                text: Some(&self.text),
                logprobs: Some([]),
                ..self.about_part("response.output_text.done")
            },
            StreamEvent {
                part: Some(part(&self.text)),
                ..self.about_part("response.content_part.done")
            },
            self.about_item("response.output_item.done", true),
            self.about_response("response.completed", true),
        ];
        let body: Vec<_> = opening.into_iter().chain(deltas).collect();
        let first_closing = body.len();
        let mut events =
            body.into_iter()
                .chain(closing)
                .enumerate()
                .map(|(sequence_number, event)| {
                    Event::named(
                        event.kind,
                        &StreamEvent {
                            sequence_number,
                            ..event
                        },
                    )
                });
        Stream {
            body: events.by_ref().take(first_closing).collect(),
            tail: events.collect(),
        }
    }
}

/// A `response` object, or its event stream with `stream: true` (no `[DONE]`).
pub(crate) async fn create(ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let request = input::json_object(&body)?;
    let model = input::required_str(&request, "model")?;
    let prompt_chars = ["input", "instructions"]
        .iter()
        .filter_map(|name| request.get(name))
        .map(input::text_chars)
        .sum();
    let pieces = text::pieces(ctx.behaviour.chunk_count());
    let tokens = Tokens::count(prompt_chars, pieces.len(), &request, &ctx.behaviour);
    let draft = Draft {
        id: ids::hex("resp_", 48),
        item_id: ids::hex("msg_", 48),
        created_at: ids::now(),
        model: model.to_owned(),
        settings: settings(&request),
        text: pieces.concat(),
        usage: tokens.responses_usage(),
    };
    if input::flag(&request, "/stream") {
        Ok(draft.events(&pieces).into_reply(ctx))
    } else {
        Ok(reply::json(ctx, &draft.object(true)))
    }
}
