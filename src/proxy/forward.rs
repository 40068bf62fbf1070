//! Phase 2, forward: the admitted request goes upstream with the person's key and the
//! filtered [`headers`](super::headers), through the shared client. Request bodies stream
//! (bounded by `body_limit`), and the wait for response headers is bounded by
//! `upstream_first_byte_timeout`. Failures map to 502 / 504 / 413; whether the request reached
//! the upstream decides what it is charged (see [`super::settle`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method};
use futures_util::StreamExt as _;

use super::admit::Admitted;
use super::errors::ProxyError;
use super::headers;
use super::relay::Plan;
use super::request_body::Outgoing;
use super::settle::Meter;
use crate::state::AppState;
use crate::vault::ProviderKey;

/// The upstream's answer (headers received), and what relaying it needs.
pub struct Forwarded {
    pub response: reqwest::Response,
    /// The request's meter, from now on charging what it used.
    pub meter: Meter,
    /// The person's key, for spotting echoes of it in error bodies.
    pub key: ProviderKey,
    pub plan: Plan,
}

/// A failed send: the error for the client, and whether the upstream may have started work.
struct Failed {
    error: ProxyError,
    reached_upstream: bool,
}

/// Sends the admitted request; `route` is its metrics label.
pub async fn forward(
    state: &AppState,
    route: &str,
    admitted: Admitted,
) -> Result<Forwarded, ProxyError> {
    let Admitted {
        method,
        target,
        headers,
        body,
        key,
        plan,
        ticket,
    } = admitted;
    let headers = headers::upstream_request(&headers, &key);
    match send(state, method, target.url, headers, body).await {
        Ok((response, latency)) => {
            state.metrics.upstream_latency(route, latency);
            tracing::Span::current().record("upstream_ms", latency.as_millis() as u64);
            tracing::info!(
                status = response.status().as_u16(),
                upstream_ms = latency.as_millis() as u64,
                "forwarded"
            );
            Ok(Forwarded {
                response,
                meter: ticket.sent(),
                key,
                plan,
            })
        }
        Err(failed) => {
            if failed.reached_upstream {
                // Charged like a request cut off mid-answer; unsent, the ticket costs nothing.
                drop(ticket.sent());
            }
            Err(failed.error)
        }
    }
}

/// Sends the request; returns the upstream's response (headers received) and its latency.
async fn send(
    state: &AppState,
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Outgoing,
) -> Result<(reqwest::Response, Duration), Failed> {
    let over_limit = Arc::new(AtomicBool::new(false));
    let body = match body {
        Outgoing::Read(bytes) => reqwest::Body::from(bytes),
        Outgoing::Stream { body, limit } => {
            let flag = over_limit.clone();
            let mut sent = 0usize;
            reqwest::Body::wrap_stream(body.into_data_stream().map(move |chunk| {
                let chunk = chunk.map_err(std::io::Error::other)?;
                sent += chunk.len();
                if sent > limit {
                    flag.store(true, Ordering::Relaxed);
                    return Err(std::io::Error::other("request body over the limit"));
                }
                Ok(chunk)
            }))
        }
    };
    let request = state
        .upstream
        .request(method, url)
        .headers(headers)
        .body(body);
    let started = Instant::now();
    let timeout = state.settings.upstream_first_byte_timeout;
    match tokio::time::timeout(timeout, request.send()).await {
        Ok(Ok(response)) => Ok((response, started.elapsed())),
        Ok(Err(e)) => {
            if over_limit.load(Ordering::Relaxed) {
                return Err(Failed {
                    error: ProxyError::BodyTooLarge {
                        limit: state.settings.body_limit,
                    },
                    reached_upstream: false,
                });
            }
            // reqwest's message names the URL (never the key); no secret reaches the log.
            tracing::warn!(error = %e, connect = e.is_connect(), "upstream request failed");
            Err(Failed {
                error: ProxyError::UpstreamUnreachable,
                reached_upstream: !e.is_connect(),
            })
        }
        Err(_) => {
            tracing::warn!(
                timeout_seconds = timeout.as_secs_f64(),
                "upstream sent no response headers in time"
            );
            Err(Failed {
                error: ProxyError::UpstreamTimeout,
                reached_upstream: true,
            })
        }
    }
}
