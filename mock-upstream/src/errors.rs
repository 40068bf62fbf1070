//! OpenAI's error replies: `{"error":{"message","type","param","code"}}` with a status.

use axum::Json;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

const KEYS_PAGE: &str = "https://platform.openai.com/account/api-keys";

/// An error reply in OpenAI's shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<&'static str>,
    code: Option<&'static str>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
        }
    }

    fn invalid_request(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, "invalid_request_error", message)
    }

    fn param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// 401: no `Authorization: Bearer …` header.
    pub(crate) fn missing_key() -> Self {
        Self::invalid_request(
            StatusCode::UNAUTHORIZED,
            format!(
                "You didn't provide an API key. You need to provide your API key in an \
                 Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or \
                 as the password field (with blank username) if you're accessing the API from your \
                 browser and are prompted for a username. You can obtain an API key from {KEYS_PAGE}."
            ),
        )
    }

    /// 401 `invalid_api_key`, echoing the masked key exactly as OpenAI does.
    pub(crate) fn invalid_key(key: &str) -> Self {
        Self::invalid_request(
            StatusCode::UNAUTHORIZED,
            format!(
                "Incorrect API key provided: {}. You can find your API key at {KEYS_PAGE}.",
                mask_key(key)
            ),
        )
        .code("invalid_api_key")
    }

    /// 429 `insufficient_quota`.
    pub(crate) fn no_quota() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details. For \
             more information on this error, read the docs: \
             https://platform.openai.com/docs/guides/error-codes/api-errors.",
        )
        .code("insufficient_quota")
    }

    /// 404 for a path (or method) the API does not have.
    pub(crate) fn invalid_url(method: &Method, path: &str) -> Self {
        Self::invalid_request(
            StatusCode::NOT_FOUND,
            format!("Invalid URL ({method} {path})"),
        )
    }

    /// 400: the body is not a JSON object.
    pub(crate) fn invalid_json() -> Self {
        Self::invalid_request(
            StatusCode::BAD_REQUEST,
            "We could not parse the JSON body of your request. (HINT: This likely means you \
             aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but \
             what was sent was not valid JSON. If you have trouble figuring out how to fix this, \
             please contact us through our help center at help.openai.com.)",
        )
    }

    /// 400: a required parameter is missing (or has the wrong type).
    pub(crate) fn missing_param(name: &'static str) -> Self {
        Self::invalid_request(
            StatusCode::BAD_REQUEST,
            format!("Missing required parameter: '{name}'."),
        )
        .param(name)
        .code("missing_required_parameter")
    }

    /// 400: a multipart body that cannot be read.
    pub(crate) fn bad_multipart(reason: impl std::fmt::Display) -> Self {
        Self::invalid_request(
            StatusCode::BAD_REQUEST,
            format!("Could not parse multipart form: {reason}"),
        )
    }

    /// 404 `model_not_found`.
    pub(crate) fn model_not_found(id: &str) -> Self {
        Self::invalid_request(
            StatusCode::NOT_FOUND,
            format!("The model '{id}' does not exist"),
        )
        .param("model")
        .code("model_not_found")
    }

    /// The failure injected by `Behaviour::fail_status`, worded as OpenAI words that status.
    pub(crate) fn injected(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match status.as_u16() {
            401 => Self::invalid_key("sk-mock-injected-failure"),
            403 => Self::invalid_request(status, "You are not allowed to sample from this model")
                .code("model_not_found"),
            429 => Self::new(
                status,
                "requests",
                "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. \
                 Please try again in 20s.",
            )
            .code("rate_limit_exceeded"),
            500 => Self::new(
                status,
                "server_error",
                "The server had an error while processing your request. Sorry about that!",
            ),
            502 => Self::new(status, "server_error", "Bad gateway."),
            503 => Self::new(
                status,
                "service_unavailable",
                "The server is overloaded or not ready yet.",
            ),
            504 => Self::new(status, "server_error", "Gateway timeout."),
            code if code >= 500 => Self::new(
                status,
                "server_error",
                format!("The server had an error (status {code})."),
            ),
            code => Self::invalid_request(status, format!("Request failed (status {code}).")),
        }
    }
}

/// OpenAI's echo of a wrong key: the first 8 characters, asterisks, the last 4.
fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return key.to_owned();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 12))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Envelope {
            error: Detail {
                message: &self.message,
                kind: self.kind,
                param: self.param,
                code: self.code,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::mask_key;

    #[test]
    fn masks_like_openai() {
        let key = format!("sk-invalid{}abcd", "x".repeat(36));
        let masked = mask_key(&key);
        assert_eq!(masked, format!("sk-inval{}abcd", "*".repeat(38)));
        assert_eq!(masked.chars().count(), key.chars().count());
        assert_eq!(mask_key("sk-invalid"), "sk-invalid");
    }
}
