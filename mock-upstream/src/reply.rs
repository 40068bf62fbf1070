//! Response bodies that honour the behaviour: paced frames, gates and abrupt resets.

use std::io;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use serde::Serialize;

use crate::state::Ctx;

/// A pause before a reset, so the frames already sent leave the socket first.
const FLUSH_PAUSE: Duration = Duration::from_millis(10);

/// How a sequence of frames goes out.
pub(crate) struct Pacing {
    /// Pause between frames.
    pub(crate) delay: Duration,
    /// Wait at the gate before sending the frame with this index.
    pub(crate) gate_at: Option<usize>,
    /// Abort the connection once this many frames are sent.
    pub(crate) reset_after: Option<usize>,
}

/// A body that sends each frame as its own chunk, paced as asked; a reset makes the stream
/// fail, so hyper drops the connection without a clean end.
pub(crate) fn paced(frames: Vec<Bytes>, pacing: Pacing, ctx: Ctx) -> Body {
    let state = (frames.into_iter().enumerate(), pacing, ctx);
    Body::from_stream(stream::unfold(Some(state), |state| async move {
        let (mut frames, pacing, mut ctx) = state?;
        let (index, frame) = match frames.next() {
            Some(next) if Some(next.0) != pacing.reset_after => next,
            Some(_) => {
                tokio::time::sleep(FLUSH_PAUSE).await;
                return Some((Err(reset_error()), None));
            }
            None => return None,
        };
        if index > 0 && !pacing.delay.is_zero() {
            tokio::time::sleep(pacing.delay).await;
        }
        if pacing.gate_at == Some(index) {
            ctx.wait_at_gate().await;
        }
        Some((Ok(frame), Some((frames, pacing, ctx))))
    }))
}

fn reset_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "mock upstream: reset_after_events",
    )
}

/// A JSON reply; with `reset_after_events` set it breaks off half-way through the body.
pub(crate) fn json<T: Serialize>(ctx: Ctx, value: &T) -> Response {
    if ctx.behaviour.reset_after_events.is_none() {
        return Json(value).into_response();
    }
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    let rest = body.split_off(body.len() / 2);
    let pacing = Pacing {
        delay: Duration::ZERO,
        gate_at: None,
        reset_after: Some(1),
    };
    let frames = vec![Bytes::from(body), Bytes::from(rest)];
    (
        [(CONTENT_TYPE, "application/json")],
        paced(frames, pacing, ctx),
    )
        .into_response()
}
