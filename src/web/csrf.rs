//! CSRF protection for every state-changing form and JSON call of the pages.
//!
//! Two independent checks: the request must come from Keyward's own origin (`Origin`, or
//! `Sec-Fetch-Site` where the origin is withheld), and it must carry the session's CSRF
//! token (a form field `csrf`, or the `X-CSRF-Token` header for JSON), compared in constant
//! time. `SameSite=Lax` cookies are a third layer, not relied upon.
//!
//! The token is derived from the session cookie's id ([`token_for`]) rather than stored, so a
//! visitor who has not signed in gets protected forms without a row in the store: a
//! double-submit cookie whose form half is a one-way function of the cookie. A cross-site page
//! can neither read the cookie (`HttpOnly`) nor Keyward's page, so it cannot produce the token;
//! and the page shows the token, never the cookie.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::{ApiError, PageError};
use super::form::FormFields;
use super::session::Session;
use crate::state::AppState;
use crate::token_format::constant_time_eq;

/// The header that carries the CSRF token on the pages' JSON calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A form POST from this site's own page: the session it belongs to and its fields.
pub struct CsrfForm {
    pub session: Session,
    pub fields: FormFields,
}

/// A JSON POST from this site's own page script: the session and the decoded body.
pub struct CsrfJson<T> {
    pub session: Session,
    pub body: T,
}

/// The CSRF token of the session whose cookie holds `session_id`: a labelled SHA-256 of it
/// (the label keeps it apart from the id's hash, which the store keeps).
pub(super) fn token_for(session_id: &str) -> String {
    crate::token_format::hash(&format!("keyward csrf v1\0{session_id}"))
}

/// Runs both checks; the session's cookie must already exist (the page that showed the form
/// set it).
async fn verify(
    state: &AppState,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Session, PageError> {
    if !same_origin(state, headers) {
        return Err(PageError::CsrfFailed);
    }
    let session = Session::from_headers(state, headers)
        .await?
        .ok_or(PageError::SessionExpired)?;
    match token {
        Some(t) if constant_time_eq(t.as_bytes(), session.csrf.as_bytes()) => Ok(session),
        _ => Err(PageError::CsrfFailed),
    }
}

/// True unless the browser says the request came from another site.
///
/// Our pages send `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` on
/// form submissions, even to the same origin (Fetch, "serializing a request origin"). So a
/// `null` origin defers to `Sec-Fetch-Site`, which every current browser sends. Clients that are
/// not browsers send neither header; for them the token alone decides.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).map(|v| v.as_bytes());
    if let Some(origin) = origin.filter(|o| *o != b"null") {
        let ours = state.settings.public_url.origin().ascii_serialization();
        return origin == ours.as_bytes();
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(site) => site == b"same-origin" || site == b"none",
        None => true,
    }
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::InvalidForm("The form could not be read".into()))?;
        let fields = FormFields::parse(&body);
        let token = fields.one("csrf").ok().flatten();
        let session = verify(state, &headers, token).await?;
        Ok(CsrfForm { session, fields })
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let session = verify(state, &headers, token).await?;
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::InvalidForm("The request could not be read".into()))?;
        let body = serde_json::from_slice(&body)
            .map_err(|_| PageError::InvalidForm("The request is not the expected JSON".into()))?;
        Ok(CsrfJson { session, body })
    }
}
