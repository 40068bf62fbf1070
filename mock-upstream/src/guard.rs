//! What wraps every `/v1` handler: the first-byte delay, the key check, injected failures and
//! OpenAI's response headers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::behaviour::Behaviour;
use crate::errors::ApiError;
use crate::ids;
use crate::state::Shared;

/// Fixed headers OpenAI sends on every API response.
const FIXED_HEADERS: [(&str, &str); 8] = [
    ("openai-organization", "user-mockupstream"),
    ("openai-version", "2020-10-01"),
    ("x-ratelimit-limit-requests", "10000"),
    ("x-ratelimit-limit-tokens", "30000000"),
    ("x-ratelimit-remaining-requests", "9999"),
    ("x-ratelimit-remaining-tokens", "29999990"),
    ("x-ratelimit-reset-requests", "6ms"),
    ("x-ratelimit-reset-tokens", "0s"),
];

/// Middleware: delay, authorise, maybe fail, then run the handler and stamp the headers.
pub(crate) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let behaviour = shared.behaviour();
    if behaviour.first_byte_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(behaviour.first_byte_delay_ms)).await;
    }
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |original| original.path())
        .to_owned();
    let mut response = match admit(&behaviour, request.method(), &path, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    };
    stamp(response.headers_mut(), started);
    response
}

fn admit(
    behaviour: &Behaviour,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    auth::check(headers)?;
    let key_check = method == Method::GET && path == "/v1/models";
    match behaviour.fail_status {
        Some(status) if behaviour.fail_models || !key_check => Err(ApiError::injected(status)),
        _ => Ok(()),
    }
}

fn stamp(headers: &mut HeaderMap, started: Instant) {
    for (name, value) in FIXED_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let dynamic = [
        ("x-request-id", ids::hex("req_", 32)),
        (
            "openai-processing-ms",
            started.elapsed().as_millis().to_string(),
        ),
    ];
    for (name, value) in dynamic {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}
