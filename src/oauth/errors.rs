//! OAuth errors as RFC 6749 §5.2 JSON (`{"error", "error_description"}`) with
//! `Cache-Control: no-store`, and the error codes the authorization endpoint sends back to apps.
//! Descriptions explain the problem to the app's developer and never echo a secret.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use crate::web::form::FieldError;

/// The registered OAuth error codes Keyward uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    InvalidToken,
    InsufficientScope,
    InvalidRedirectUri,
    InvalidClientMetadata,
    /// Keyward uses it only for a client IP over its request limit (answered 429).
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidRequest => "invalid_request",
            InvalidClient => "invalid_client",
            InvalidGrant => "invalid_grant",
            UnauthorizedClient => "unauthorized_client",
            UnsupportedGrantType => "unsupported_grant_type",
            UnsupportedResponseType => "unsupported_response_type",
            InvalidScope => "invalid_scope",
            AccessDenied => "access_denied",
            ServerError => "server_error",
            InvalidToken => "invalid_token",
            InsufficientScope => "insufficient_scope",
            InvalidRedirectUri => "invalid_redirect_uri",
            InvalidClientMetadata => "invalid_client_metadata",
            TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An error answered by a protocol endpoint.
#[derive(Debug, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// For `invalid_client` after HTTP Basic authentication: answer 401 with a challenge.
    basic_challenge: bool,
}

impl OAuthError {
    /// An error with a description for the app's developer.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> OAuthError {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> OAuthError {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`; `basic` when the client tried HTTP Basic (RFC 6749 §5.2 then asks for
    /// a `WWW-Authenticate` challenge).
    pub fn invalid_client(description: impl Into<Cow<'static, str>>, basic: bool) -> OAuthError {
        OAuthError {
            basic_challenge: basic,
            ..Self::new(ErrorCode::InvalidClient, description)
        }
    }

    fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<FieldError> for OAuthError {
    fn from(e: FieldError) -> Self {
        OAuthError::invalid_request(e.to_string())
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure in an OAuth endpoint");
        OAuthError::new(ErrorCode::ServerError, "temporary failure; try again")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            no_store(),
            Json(serde_json::json!({
                "error": self.code.as_str(),
                "error_description": self.description,
            })),
        )
            .into_response();
        let challenge = match self.code {
            ErrorCode::InvalidClient if self.basic_challenge => {
                Some(r#"Basic realm="keyward", charset="UTF-8""#.to_owned())
            }
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope => Some(format!(
                r#"Bearer realm="keyward", error="{}""#,
                self.code.as_str()
            )),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, for every response that carries tokens
/// or token errors (RFC 6749 §5.1).
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}
