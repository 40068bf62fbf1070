//! Phase 3, relay: the upstream's response on its way to the client — status and filtered
//! headers at once, then the body as it arrives, chunk by chunk for JSON and other bodies,
//! event by event for SSE ([`sse`]) — with the usage it reports read on the side
//! ([`crate::metering::usage`]) and handed to the request's [`Meter`]. Only small bodies the
//! proxy must change are read whole: error bodies (checked for key echoes, [`scrub`]) and the
//! filtered model list.

use std::io;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;

use super::errors::ProxyError;
use super::forward::Forwarded;
use super::settle::Meter;
use super::{headers, policy, scrub, sse};
use crate::metering::prices::Tokens;
use crate::metering::usage::json::JsonUsage;
use crate::metrics::StreamGuard;
use crate::state::AppState;

/// The largest upstream error body read for scrubbing; larger ones are replaced.
const MAX_ERROR_BODY: usize = 256 * 1024;
/// The largest model list read for filtering.
const MAX_MODEL_LIST: usize = 4 << 20;

/// How the response is to be handled, decided at admission.
pub struct Plan {
    /// Take out the usage chunk the proxy asked for on the client's behalf.
    pub strip_usage: bool,
    /// Filter `GET /v1/models` to the grant's allowed models (an empty list allows any).
    pub allowed_models: Option<Vec<String>>,
}

/// Builds the client's response from the upstream's.
pub async fn relay(state: &AppState, forwarded: Forwarded) -> Result<Response, ProxyError> {
    let Forwarded {
        response: upstream,
        mut meter,
        key,
        plan,
    } = forwarded;
    let guard = state.metrics.stream_started();
    let status = upstream.status();
    let upstream_headers = upstream.headers().clone();
    let content_type = upstream_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();

    if status.is_client_error() || status.is_server_error() {
        let body = read_capped(upstream, MAX_ERROR_BODY).await;
        meter.complete(false);
        let account_url = format!(
            "{}/account",
            state.settings.public_url.as_str().trim_end_matches('/')
        );
        let body = match body {
            Ok(Some(body)) => scrub::scrub(status.as_u16(), &body, key.expose(), &account_url)
                .map(Bytes::from)
                .map_or((body, false), |b| (b, true)),
            // Too large to check: say what happened instead of passing it unchecked.
            Ok(None) => (Bytes::from(oversized_error(status)), true),
            Err(()) => return Err(ProxyError::UpstreamUnreachable),
        };
        return Ok(whole(status, &upstream_headers, body.0, body.1));
    }

    if let Some(allowed) = plan.allowed_models.filter(|a| !a.is_empty()) {
        let body = read_capped(upstream, MAX_MODEL_LIST)
            .await
            .map_err(|()| ProxyError::UpstreamUnreachable)?
            .unwrap_or_default();
        meter.complete(true);
        return Ok(match policy::filter_model_list(&body, &allowed) {
            Some(filtered) => whole(status, &upstream_headers, filtered.into(), true),
            None => whole(status, &upstream_headers, body, false),
        });
    }

    let transform = if content_type.starts_with("text/event-stream") {
        Transform::Sse(sse::SseRelay::new(plan.strip_usage))
    } else if content_type.contains("json") {
        Transform::Json(JsonUsage::default())
    } else {
        Transform::Pass
    };
    let rewritten = matches!(transform, Transform::Sse(_)) && plan.strip_usage;
    let mut response = Response::new(relay_body(upstream, transform, meter, guard));
    *response.status_mut() = status;
    *response.headers_mut() = headers::client_response(&upstream_headers, rewritten);
    Ok(response)
}

/// A response whose whole body is known.
fn whole(
    status: StatusCode,
    upstream_headers: &axum::http::HeaderMap,
    body: Bytes,
    rewritten: bool,
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let mut h = headers::client_response(upstream_headers, true);
    if rewritten {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    *response.headers_mut() = h;
    response
}

fn oversized_error(status: StatusCode) -> Vec<u8> {
    super::errors::error_body(super::errors::Detail {
        message: "OpenAI returned an error body too large for Keyward to check; it was withheld.",
        kind: if status.is_server_error() {
            "server_error"
        } else {
            "invalid_request_error"
        },
        param: None,
        code: None,
    })
}

/// Reads a body up to `cap` bytes: `Ok(None)` when it is larger, `Err` when it breaks off.
async fn read_capped(upstream: reqwest::Response, cap: usize) -> Result<Option<Bytes>, ()> {
    let mut stream = upstream.bytes_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| tracing::warn!(error = %e, "upstream body broke off"))?;
        if buf.len() + chunk.len() > cap {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf.freeze()))
}

/// What happens to the bytes on the way, and where their usage is read.
enum Transform {
    Pass,
    Json(JsonUsage),
    Sse(sse::SseRelay),
}

impl Transform {
    /// Takes an upstream chunk: the bytes to pass on now, and the usage they completed.
    fn feed(&mut self, chunk: Bytes) -> (Bytes, Option<Tokens>) {
        match self {
            Self::Pass => (chunk, None),
            Self::Json(usage) => {
                usage.feed(&chunk);
                (chunk, None)
            }
            Self::Sse(relay) => relay.feed(&chunk),
        }
    }

    /// The upstream body ended (or broke off): the bytes still held, and the usage read.
    fn finish(&mut self) -> (Bytes, Option<Tokens>) {
        match self {
            Self::Pass => (Bytes::new(), None),
            Self::Json(usage) => (Bytes::new(), usage.tokens()),
            Self::Sse(relay) => relay.finish(),
        }
    }
}

/// Everything the body stream owns; dropping it (at the end, or when the client goes away)
/// drops the upstream response, which closes that connection, and settles the meter.
struct Relay {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    transform: Transform,
    meter: Meter,
    /// Body bytes still expected when the upstream declared a length. hyper stops polling a
    /// body once it has sent that many bytes, so the end is recognised here, not only by the
    /// stream's end.
    remaining: Option<u64>,
    done: bool,
    _guard: StreamGuard,
}

impl Relay {
    /// Passes a chunk through the transform, telling the meter any usage it completed.
    fn feed(&mut self, chunk: Bytes) -> Bytes {
        let (out, usage) = self.transform.feed(chunk);
        self.observe(usage);
        out
    }

    /// The upstream body stopped: the bytes still held, with their usage told to the meter.
    fn finish(&mut self) -> Bytes {
        let (rest, usage) = self.transform.finish();
        self.observe(usage);
        rest
    }

    fn observe(&mut self, usage: Option<Tokens>) {
        if let Some(tokens) = usage {
            self.meter.observe(tokens);
        }
    }

    /// The upstream body ended: last bytes out, usage read, the meter told.
    fn conclude(&mut self) -> Bytes {
        let rest = self.finish();
        self.meter.complete(true);
        self.done = true;
        rest
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if !self.done {
            // Cut off: whatever usage was seen still counts (the meter charges the rest).
            let _ = self.finish();
        }
    }
}

fn relay_body(
    upstream: reqwest::Response,
    transform: Transform,
    meter: Meter,
    guard: StreamGuard,
) -> Body {
    let relay = Relay {
        remaining: upstream.content_length(),
        upstream: upstream.bytes_stream().boxed(),
        transform,
        meter,
        done: false,
        _guard: guard,
    };
    Body::from_stream(futures_util::stream::unfold(relay, |mut r| async move {
        if r.done {
            return None;
        }
        loop {
            match r.upstream.next().await {
                Some(Ok(chunk)) => {
                    if let Some(remaining) = &mut r.remaining {
                        *remaining = remaining.saturating_sub(chunk.len() as u64);
                    }
                    let mut out = r.feed(chunk);
                    if r.remaining == Some(0) {
                        let rest = r.conclude();
                        if !rest.is_empty() {
                            out = [out, rest].concat().into();
                        }
                    }
                    if !out.is_empty() {
                        return Some((Ok(out), r));
                    }
                    if r.done {
                        return None;
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "upstream body broke off; cutting the response");
                    let _ = r.finish();
                    r.done = true;
                    return Some((Err(io::Error::other("upstream body broke off")), r));
                }
                None => {
                    let rest = r.conclude();
                    return (!rest.is_empty()).then_some((Ok(rest), r));
                }
            }
        }
    }))
}
