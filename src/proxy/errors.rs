//! The proxy's own error replies, in OpenAI's shape `{"error":{"message","type","param","code"}}`
//! with the statuses the official SDKs map to their exception types (401 →
//! `AuthenticationError`, 403 → `PermissionDeniedError`, 429 → `RateLimitError`, …).
//!
//! Messages are fixed sentences written here: none of them carries a token, a key, a store
//! error or anything else a caller should not see. Details go to the log instead, written by
//! the `From` conversions below that turn other modules' errors into refusals.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::upstream_url::PathError;
use crate::metering::budget::BudgetError;
use crate::money::Money;
use crate::rate_limit::RateLimited;
use crate::store::StoreError;
use crate::vault::VaultError;

/// Why the proxy answered a request itself instead of forwarding it (or its answer).
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No `Authorization: Bearer …` header.
    #[error("no bearer token")]
    MissingToken,
    /// Not a Keyward access token, or one the store does not know.
    #[error("invalid or unknown access token")]
    InvalidToken,
    /// The token or its grant was revoked.
    #[error("access token or grant revoked")]
    Revoked,
    /// The token or its grant has expired.
    #[error("access token or grant expired")]
    Expired,
    /// The grant's owner has no provider key in the vault any more.
    #[error("no provider key behind the grant")]
    NoProviderKey,
    /// A path that cannot be forwarded safely (or no path at all).
    #[error("path rejected")]
    NotFound,
    /// No granted scope opens this endpoint.
    #[error("no granted scope covers the endpoint")]
    ScopeNotGranted { scope: Option<&'static str> },
    /// The grant limits models and the request names another one (or none).
    #[error("model not allowed by the grant")]
    ModelNotAllowed { model: Option<String> },
    /// A batch names its models inside its input file, which the proxy does not read, so a
    /// grant limited to some models cannot start one.
    #[error("batches need a grant that allows any model")]
    BatchNeedsAnyModel,
    /// The body is larger than `body_limit`.
    #[error("request body over the limit")]
    BodyTooLarge { limit: usize },
    /// A JSON endpoint whose body is not a JSON object.
    #[error("request body is not a JSON object")]
    InvalidJson,
    /// A multipart endpoint whose body cannot be read as multipart form data.
    #[error("request body is not readable multipart form data")]
    InvalidMultipart,
    /// The grant's requests-per-minute limit is reached.
    #[error("rate limit reached")]
    RateLimited { rpm: u32, retry_after: Duration },
    /// The grant's monthly budget cannot cover this request's reservation.
    #[error("monthly budget exhausted")]
    BudgetExhausted {
        budget: Money,
        reserve: Money,
        resets_at: i64,
        retry_after: Duration,
    },
    /// The upstream could not be reached, or dropped the connection before answering.
    #[error("upstream unreachable")]
    UpstreamUnreachable,
    /// The upstream sent no response headers within `upstream_first_byte_timeout`.
    #[error("upstream timed out")]
    UpstreamTimeout,
    /// The store did not answer a token lookup or a budget reservation.
    #[error("store unavailable")]
    StoreUnavailable,
    /// The sealed provider key could not be opened (master key ring problem).
    #[error("provider key cannot be opened")]
    KeyUnavailable,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Detail<'a>,
}

/// OpenAI's error object; also used by [`super::scrub`] to rewrite upstream errors.
#[derive(Serialize)]
pub(crate) struct Detail<'a> {
    pub message: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub param: Option<&'a str>,
    pub code: Option<&'a str>,
}

/// Serialises an OpenAI-shaped error body.
pub(crate) fn error_body(detail: Detail<'_>) -> Vec<u8> {
    serde_json::to_vec(&Envelope { error: detail }).expect("error bodies serialise")
}

impl ProxyError {
    /// The HTTP status the SDKs expect for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::InvalidToken
            | Self::Revoked
            | Self::Expired
            | Self::NoProviderKey => StatusCode::UNAUTHORIZED,
            Self::ScopeNotGranted { .. }
            | Self::ModelNotAllowed { .. }
            | Self::BatchNeedsAnyModel => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidJson | Self::InvalidMultipart => StatusCode::BAD_REQUEST,
            Self::RateLimited { .. } | Self::BudgetExhausted { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::UpstreamUnreachable => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::KeyUnavailable => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// `(type, code, param)` of the error object.
    fn classify(&self) -> (&'static str, &'static str, Option<&'static str>) {
        const INVALID: &str = "invalid_request_error";
        match self {
            Self::MissingToken
            | Self::InvalidToken
            | Self::Revoked
            | Self::Expired
            | Self::NoProviderKey => (INVALID, "invalid_api_key", None),
            Self::ScopeNotGranted { .. } => ("permission_error", "scope_not_granted", None),
            Self::ModelNotAllowed { .. } => {
                ("permission_error", "model_not_allowed", Some("model"))
            }
            Self::BatchNeedsAnyModel => ("permission_error", "model_not_allowed", None),
            Self::NotFound => (INVALID, "unknown_url", None),
            Self::BodyTooLarge { .. } => (INVALID, "request_too_large", None),
            Self::InvalidJson => (INVALID, "invalid_json", None),
            Self::InvalidMultipart => (INVALID, "invalid_multipart", None),
            Self::RateLimited { .. } => ("requests", "rate_limit_exceeded", None),
            Self::BudgetExhausted { .. } => ("insufficient_quota", "insufficient_quota", None),
            Self::UpstreamUnreachable => ("server_error", "upstream_unreachable", None),
            Self::UpstreamTimeout => ("server_error", "upstream_timeout", None),
            Self::StoreUnavailable => ("server_error", "service_unavailable", None),
            Self::KeyUnavailable => ("server_error", "provider_key_unavailable", None),
        }
    }

    /// A sentence that tells the app (and the developer reading its logs) what to do.
    fn message(&self) -> String {
        match self {
            Self::MissingToken => {
                "You didn't provide an API key. Send the Keyward access token as \
                `Authorization: Bearer kw_at_…` (it is the `apiKey` of the OpenAI SDKs)."
                    .into()
            }
            Self::InvalidToken => "Incorrect API key provided. This is not a valid Keyward access \
                token; ask the person to connect their OpenAI account again."
                .into(),
            Self::Revoked => "This Keyward access token was revoked. Ask the person to connect \
                their OpenAI account again."
                .into(),
            Self::Expired => "This Keyward access token has expired (the lifetime the person \
                approved is over). Ask the person to connect their OpenAI account again."
                .into(),
            Self::NoProviderKey => "The person who approved this app has no OpenAI key on Keyward \
                any more. Ask them to connect their OpenAI account again."
                .into(),
            Self::NotFound => "Invalid URL: Keyward forwards only plain OpenAI API paths under \
                /v1/ (no empty, '.' or '..' segments, encoded slashes, backslashes or '@')."
                .into(),
            Self::ScopeNotGranted { scope: Some(scope) } => format!(
                "This app was not allowed to use this endpoint. It needs the `{scope}` scope; \
                 ask the person to connect again and approve it."
            ),
            Self::ScopeNotGranted { scope: None } => {
                "Keyward does not forward this endpoint: no scope covers it.".into()
            }
            Self::ModelNotAllowed { model: Some(model) } => format!(
                "The person who approved this app did not allow the model '{model}'. List the \
                 allowed models with GET /v1/models."
            ),
            Self::ModelNotAllowed { model: None } => "The person who approved this app allowed \
                only some models; name one of them in `model` (GET /v1/models lists them)."
                .into(),
            Self::BatchNeedsAnyModel => "The person who approved this app allowed only some \
                models, and a batch names its models inside its input file, where Keyward cannot \
                check them. Batches are open only to apps that may use any model."
                .into(),
            Self::BodyTooLarge { limit } => {
                format!("The request body is larger than this Keyward's limit of {limit} bytes.")
            }
            Self::InvalidJson => "We could not parse the JSON body of your request. This \
                endpoint expects a JSON object."
                .into(),
            Self::InvalidMultipart => {
                "We could not read the multipart form body of your request.".into()
            }
            Self::RateLimited { rpm, retry_after } => format!(
                "Rate limit reached: the person who approved this app allows {rpm} requests per \
                 minute. Please try again in {}s.",
                retry_after.as_secs().max(1)
            ),
            Self::BudgetExhausted {
                budget,
                reserve,
                resets_at,
                ..
            } => format!(
                "You exceeded your current quota: this request could cost up to {reserve}, more \
                 than is left of the monthly budget of {budget} that the person who approved \
                 this app set. The budget resets at {} (UTC); a smaller max_tokens may still fit.",
                rfc3339(*resets_at)
            ),
            Self::UpstreamUnreachable => {
                "Keyward could not reach the OpenAI API, or it closed the \
                connection before answering. Please retry."
                    .into()
            }
            Self::UpstreamTimeout => {
                "The OpenAI API did not start answering in time. Please retry.".into()
            }
            Self::StoreUnavailable => {
                "Keyward cannot check this request right now. Please retry.".into()
            }
            Self::KeyUnavailable => "Keyward cannot open the OpenAI key behind this grant. The \
                operator has been told (server log)."
                .into(),
        }
    }

    /// `Retry-After`, where the error has one.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::BudgetExhausted { retry_after, .. } => {
                // Round up: retrying a moment early only earns another 429.
                Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0))
            }
            Self::StoreUnavailable => Some(1),
            _ => None,
        }
    }
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let (kind, code, param) = self.classify();
        let message = self.message();
        let body = error_body(Detail {
            message: &message,
            kind,
            param,
            code: Some(code),
        });
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<RateLimited> for ProxyError {
    fn from(RateLimited { rpm, retry_after }: RateLimited) -> Self {
        Self::RateLimited { rpm, retry_after }
    }
}

impl From<BudgetError> for ProxyError {
    fn from(e: BudgetError) -> Self {
        match e {
            BudgetError::Exhausted {
                budget,
                wanted,
                resets_at,
                retry_after,
            } => Self::BudgetExhausted {
                budget,
                reserve: wanted,
                resets_at,
                retry_after,
            },
            BudgetError::Store(e) => e.into(),
        }
    }
}

/// A path that cannot be forwarded safely.
impl From<PathError> for ProxyError {
    fn from(e: PathError) -> Self {
        tracing::debug!(reason = %e, "path refused");
        Self::NotFound
    }
}

/// The store did not answer a token lookup or a budget reservation.
impl From<StoreError> for ProxyError {
    fn from(e: StoreError) -> Self {
        tracing::warn!(error = %e, "store unavailable");
        Self::StoreUnavailable
    }
}

/// The sealed provider key could not be opened.
impl From<VaultError> for ProxyError {
    fn from(e: VaultError) -> Self {
        tracing::error!(error = %e, "cannot open the provider key");
        Self::KeyUnavailable
    }
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_errors_name_the_reset_and_retry_after_rounds_up() {
        let e = ProxyError::BudgetExhausted {
            budget: Money::from_micros(5_000_000),
            reserve: Money::from_micros(1_158),
            resets_at: 1_796_083_200,
            retry_after: Duration::from_millis(1500),
        };
        assert!(
            e.message().contains("2026-12-01T00:00:00Z"),
            "{}",
            e.message()
        );
        assert!(e.message().contains("$5.00"));
        assert!(e.message().starts_with(
            "You exceeded your current quota: this request could cost up to $0.001158, more \
             than is left of the monthly budget of $5.00 that the person who approved this app \
             set. The budget resets at 2026-12-01T00:00:00Z (UTC);"
        ));
        // A reservation under a cent is written exactly, never as "$0.00".
        assert!(e.message().contains("$0.001158"), "{}", e.message());
        assert_eq!(e.retry_after(), Some(2));
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
