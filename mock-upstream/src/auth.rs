//! The bearer-key check, with the mock's fixed key rules.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::errors::ApiError;

/// Keys with this prefix are rejected as wrong (401 `invalid_api_key`).
const INVALID_PREFIX: &str = "sk-invalid";
/// Keys with this prefix are out of quota (429 `insufficient_quota`).
const NO_QUOTA_PREFIX: &str = "sk-noquota";

/// Accepts any bearer key except the `sk-invalid…` and `sk-noquota…` ones.
pub(crate) fn check(headers: &HeaderMap) -> Result<(), ApiError> {
    let key = bearer_key(headers).ok_or_else(ApiError::missing_key)?;
    if key.starts_with(INVALID_PREFIX) {
        Err(ApiError::invalid_key(key))
    } else if key.starts_with(NO_QUOTA_PREFIX) {
        Err(ApiError::no_quota())
    } else {
        Ok(())
    }
}

fn bearer_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}
