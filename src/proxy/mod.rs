//! The resource proxy under `/v1/`: an app's access token in, the person's key out.
//!
//! A request goes through four phases, each a module (the idea of pingora's `ProxyHttp`):
//!
//! 1. [`admit`]: token → grant ([`auth`], via the [`cache`]) → endpoint ([`upstream_url`],
//!    [`policy`] over the endpoint table in [`crate::endpoints`]) → rate
//!    ([`crate::rate_limit`]) → body and model ([`request_body`]) → key (the vault; opened per
//!    request, never kept) → budget ([`crate::metering::budget`]), into one
//!    [`admit::Admitted`];
//! 2. [`forward`]: upstream with the filtered [`headers`];
//! 3. [`relay`]: back to the client, [`sse`] re-framing streams and [`scrub`] checking error
//!    bodies, while the usage is read ([`crate::metering::usage`]);
//! 4. [`settle`]: what the request used becomes its settlement, when the response ends.
//!
//! [`cors`] wraps it all; every refusal is an [`errors::ProxyError`] in OpenAI's error shape.
//! [`state`] holds what the phases share between requests, [`grant_activity`] the bookkeeping
//! writes they cause.

pub mod admit;
pub mod auth;
pub mod cache;
pub mod cors;
pub mod errors;
pub mod forward;
pub mod grant_activity;
pub mod headers;
pub mod policy;
pub mod relay;
pub mod request_body;
pub mod scrub;
pub mod settle;
pub mod sse;
pub mod state;
pub mod upstream_url;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, request::Parts};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tracing::Instrument as _;
use tracing::field::Empty;

use self::errors::ProxyError;
use crate::clock::now;
use crate::metrics::RouteLabel;
use crate::state::AppState;

pub use self::state::ProxyState;

/// `/v1` and everything below it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1", any(handle))
        .route("/v1/", any(handle))
        .route("/v1/{*path}", any(handle))
        .layer(middleware::from_fn(cors::cors))
}

/// The metrics label for a request: its endpoint family, never ids or raw input. Taken from
/// the path as sent, so refused paths are labelled too.
fn route_label(method: &Method, raw_path: &str) -> String {
    crate::scopes::endpoint(method, raw_path).map_or_else(
        || "/v1/other".to_owned(),
        |e| format!("/v1/{}", e.family.prefix),
    )
}

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let raw_path = parts
        .uri
        .path()
        .strip_prefix("/v1/")
        .unwrap_or_default()
        .to_owned();
    let route = route_label(&parts.method, &raw_path);
    let span = tracing::info_span!(
        "proxy",
        method = %parts.method,
        route = %route,
        path = Empty,
        grant_id = Empty,
        client_id = Empty,
        status = Empty,
        upstream_ms = Empty,
    );
    let result = proxy(&state, &raw_path, &route, parts, body)
        .instrument(span.clone())
        .await;
    let mut response = result.unwrap_or_else(|e| {
        span.in_scope(|| tracing::info!(refused = %e, "request refused"));
        e.into_response()
    });
    span.record("status", response.status().as_u16());
    response.extensions_mut().insert(RouteLabel(route));
    response
}

/// The phases in order: [`admit`], [`forward`], [`relay`]; [`settle`] runs when the
/// response body (or, on a failure, the ticket) is dropped.
async fn proxy(
    state: &AppState,
    raw_path: &str,
    route: &str,
    parts: Parts,
    body: Body,
) -> Result<Response, ProxyError> {
    let admitted = admit::admit(state, now(), raw_path, parts, body).await?;
    let forwarded = forward::forward(state, route, admitted).await?;
    relay::relay(state, forwarded).await
}
