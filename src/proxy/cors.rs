//! CORS for browser apps calling `/v1` with the official SDK (`dangerouslyAllowBrowser`).
//!
//! The bearer token is the credential, never a cookie, so any origin may call and
//! `Access-Control-Allow-Origin: *` without credentials is right: a page without a token gets
//! nothing from it. Preflights are answered here, without a token (browsers send none).

use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Request headers a page may send besides the CORS-safelisted ones (plus any `x-stainless-*`,
/// the openai SDK's telemetry headers). Organization and project are allowed so that apps that
/// set them still work; the proxy drops them before the upstream.
const ALLOWED_HEADERS: [&str; 7] = [
    "authorization",
    "content-type",
    "openai-beta",
    "idempotency-key",
    "openai-organization",
    "openai-project",
    "accept",
];

/// Response headers the SDKs read (request ids, rate limits, retry hints).
const EXPOSED_HEADERS: &str = "x-request-id, openai-organization, openai-processing-ms, \
    openai-version, openai-project, x-ratelimit-limit-requests, x-ratelimit-limit-tokens, \
    x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens, x-ratelimit-reset-requests, \
    x-ratelimit-reset-tokens, retry-after, retry-after-ms";

const ALLOWED_METHODS: &str = "GET, POST, DELETE, OPTIONS";

/// How long browsers may cache a preflight answer.
const MAX_AGE_SECONDS: &str = "600";

/// Middleware for `/v1`: answers preflights and marks every response as readable cross-origin.
pub async fn cors(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return preflight(request.headers());
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    response
}

/// The preflight answer: the requested headers that are allowed, echoed back.
fn preflight(request: &HeaderMap) -> Response {
    let allowed: Vec<String> = request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| ALLOWED_HEADERS.contains(&h.as_str()) || h.starts_with("x-stainless-"))
        .collect();
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
        && !allowed.is_empty()
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECONDS),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Access-Control-Request-Headers"),
    );
    response
}
