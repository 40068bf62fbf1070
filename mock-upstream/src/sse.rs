//! Server-sent events: framing, and the stream reply built from them.

use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::reply::{self, Pacing};
use crate::state::Ctx;

/// One SSE event.
pub(crate) struct Event {
    frame: Bytes,
}

impl Event {
    /// `data: {json}` (chat and completions chunks).
    pub(crate) fn data<T: Serialize>(payload: &T) -> Self {
        Self::raw(None, &to_json(payload))
    }

    /// `event: name` + `data: {json}` (Responses API events).
    pub(crate) fn named<T: Serialize>(name: &str, payload: &T) -> Self {
        Self::raw(Some(name), &to_json(payload))
    }

    /// `data: [DONE]`, the end of a chat or completions stream.
    pub(crate) fn done() -> Self {
        Self::raw(None, "[DONE]")
    }

    fn raw(name: Option<&str>, data: &str) -> Self {
        let frame = match name {
            Some(name) => format!("event: {name}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        };
        Event {
            frame: Bytes::from(frame),
        }
    }
}

fn to_json<T: Serialize>(payload: &T) -> String {
    serde_json::to_string(payload).unwrap_or_default()
}

/// A whole stream: `body` events, then the `tail` that `gate_before_last_event` holds back.
pub(crate) struct Stream {
    pub(crate) body: Vec<Event>,
    pub(crate) tail: Vec<Event>,
}

impl Stream {
    /// The `text/event-stream` reply, paced by the request's behaviour.
    pub(crate) fn into_reply(self, ctx: Ctx) -> Response {
        let behaviour = &ctx.behaviour;
        let pacing = Pacing {
            delay: Duration::from_millis(behaviour.event_delay_ms),
            gate_at: behaviour.gate_before_last_event.then_some(self.body.len()),
            reset_after: behaviour.reset_after_events,
        };
        let frames = self
            .body
            .into_iter()
            .chain(self.tail)
            .map(|event| event.frame)
            .collect();
        (
            [
                (CONTENT_TYPE, "text/event-stream; charset=utf-8"),
                (CACHE_CONTROL, "no-cache"),
            ],
            reply::paced(frames, pacing, ctx),
        )
            .into_response()
    }
}
