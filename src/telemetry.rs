//! Logging set-up: human-readable lines by default, JSON objects with `--log-format json`
//! (one per line, with the fields of the spans they happened in). `RUST_LOG` filters as usual
//! (default `info`). Text lines are coloured only when they go to a terminal (and `NO_COLOR`
//! is unset), so a redirected log file holds plain text.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::io::IsTerminal as _;
use tracing::Instrument as _;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Lines go to stdout (the formatter's default writer).
        .with_ansi(std::io::stdout().is_terminal() && !no_color);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Routes polled by load balancers and scrapers: their requests are logged at `debug` only.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Middleware: every request runs in a `request` span (method, route template, a request id
/// for finding its lines) and ends with one line giving its status and duration. Only the
/// route template is recorded, never the path or query, which can carry codes and state.
pub async fn trace_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route,
        request_id = %uuid::Uuid::new_v4().simple(),
    );
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let duration_ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| {
        if QUIET_ROUTES.contains(&route.as_str()) {
            tracing::debug!(status, duration_ms, "request finished");
        } else {
            tracing::info!(status, duration_ms, "request finished");
        }
    });
    response
}
