//! Sending the request upstream with the shared client: request bodies stream (bounded by
//! `body_limit`), and the wait for response headers is bounded by
//! `upstream_first_byte_timeout`. Failures map to 502 / 504 / 413 and say whether the request
//! reached the upstream (which decides what metering charges).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, Method};
use bytes::Bytes;
use futures_util::StreamExt as _;

use super::errors::ProxyError;
use crate::state::AppState;

/// The body to send upstream.
pub enum Outgoing {
    /// A body the proxy read (and maybe rewrote).
    Read(Bytes),
    /// The client's body, streamed through, cut off past `limit` bytes.
    Stream { body: Body, limit: usize },
}

/// A failed forward: the error for the client, and whether the upstream may have started work.
pub struct Failed {
    pub error: ProxyError,
    pub reached_upstream: bool,
}

/// Sends the request; returns the upstream's response (headers received) and its latency.
pub async fn send(
    state: &AppState,
    method: Method,
    url: url::Url,
    headers: HeaderMap,
    body: Outgoing,
) -> Result<(reqwest::Response, std::time::Duration), Failed> {
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
