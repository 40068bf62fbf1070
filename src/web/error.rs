//! Every failure a person can hit in the browser, each with a page that says what happened
//! and what to do. The same errors answer the pages' JSON calls as `{"error", "message"}`.
//! Messages never include secrets or what the person typed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::templates::Page;
use crate::store::StoreError;

/// A failure shown to a person.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("sign-in required")]
    SignInRequired,
    #[error("session expired")]
    SessionExpired,
    #[error("CSRF check failed")]
    CsrfFailed,
    #[error("authorization request expired or already answered")]
    RequestExpired,
    #[error("unknown client")]
    UnknownClient,
    #[error("redirect URI not allowed: {0}")]
    BadRedirectUri(String),
    #[error("invalid authorization request: {0}")]
    InvalidRequest(String),
    #[error("passkey ceremony expired or already used")]
    CeremonyExpired,
    #[error("passkey verification failed")]
    PasskeyFailed,
    #[error("passkey not registered here")]
    UnknownPasskey,
    #[error("approval without a passkey assertion")]
    PasskeyRequired,
    #[error("invalid form: {0}")]
    InvalidForm(String),
    #[error("refused to remove the last passkey")]
    LastPasskey,
    #[error("not found")]
    NotFound,
    #[error("too many requests from this address")]
    TooManyRequests,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl PageError {
    /// Status, title and explanation for the person.
    fn describe(&self) -> (StatusCode, &'static str, String) {
        use PageError::*;
        match self {
            SignInRequired => (
                StatusCode::UNAUTHORIZED,
                "Please sign in",
                "Sign in with your passkey to continue.".into(),
            ),
            SessionExpired => (
                StatusCode::FORBIDDEN,
                "Your session has expired",
                "Reload the page and try again. If you were signing in to an app, go back to \
                 the app and start again."
                    .into(),
            ),
            CsrfFailed => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety Keyward only accepts forms it showed you in this browser \
                 session. Reload the page and try again."
                    .into(),
            ),
            RequestExpired => (
                StatusCode::BAD_REQUEST,
                "This request has expired",
                "The app's sign-in request is too old or was already answered. Go back to \
                 the app and start again."
                    .into(),
            ),
            UnknownClient => (
                StatusCode::BAD_REQUEST,
                "Unknown app",
                "The app that sent you here is not known to this Keyward server, so Keyward \
                 will not send you back to it. If you are the app's developer, check the \
                 client_id (see the app developer guide)."
                    .into(),
            ),
            BadRedirectUri(why) => (
                StatusCode::BAD_REQUEST,
                "This app asked to send you somewhere else",
                format!(
                    "The return address the app gave is not one it registered ({why}). For \
                     your safety Keyward will not send you there. If you are the app's \
                     developer, use a registered redirect_uri."
                ),
            ),
            InvalidRequest(why) => (
                StatusCode::BAD_REQUEST,
                "The app's request is not valid",
                format!("{why}. Go back to the app and try again."),
            ),
            CeremonyExpired => (
                StatusCode::BAD_REQUEST,
                "This passkey request has expired",
                "Passkey requests are good for one use within a few minutes. Start again.".into(),
            ),
            PasskeyFailed => (
                StatusCode::BAD_REQUEST,
                "Your passkey could not be verified",
                "Try again, and make sure your device asks for your fingerprint, face or PIN."
                    .into(),
            ),
            UnknownPasskey => (
                StatusCode::BAD_REQUEST,
                "This passkey is not registered here",
                "No Keyward account on this server uses that passkey. Choose another passkey, \
                 or create an account."
                    .into(),
            ),
            PasskeyRequired => (
                StatusCode::BAD_REQUEST,
                "This needs your passkey",
                "Keyward asks for your passkey before an app may use your key or do more with \
                 it, and before changes to your account's key and passkeys. Your browser needs \
                 JavaScript enabled for passkeys."
                    .into(),
            ),
            InvalidForm(why) => (
                StatusCode::BAD_REQUEST,
                "Please check the form",
                format!("{why}. Go back and correct it."),
            ),
            LastPasskey => (
                StatusCode::CONFLICT,
                "You cannot remove your only passkey",
                "Your passkey is the only way into your account: without one nobody, you \
                 included, could sign in again. Add another passkey first, then remove this one."
                    .into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address.".into(),
            ),
            TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Keyward received many requests from your network in a short time. Wait a \
                 moment, then try again."
                    .into(),
            ),
            Store(_) | Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side",
                "Please try again in a moment.".into(),
            ),
        }
    }

    /// Where the error page's button leads, and what it says.
    fn way_back(&self) -> (&'static str, &'static str) {
        match self {
            PageError::LastPasskey => ("/account#passkeys", "Back to your account"),
            _ => ("/", "Keyward home"),
        }
    }

    fn log(&self) {
        if matches!(self, PageError::Store(_) | PageError::Internal(_)) {
            tracing::error!(error = %self, "request failed");
        }
    }
}

impl From<crate::vault::VaultError> for PageError {
    fn from(e: crate::vault::VaultError) -> Self {
        PageError::Internal(format!("vault: {e}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if matches!(self, PageError::SignInRequired) {
            return Redirect::to("/signin").into_response();
        }
        self.log();
        let (status, title, message) = self.describe();
        let (back, back_label) = self.way_back();
        Page::render("error.html", context! { title, message, back, back_label })
            .status(status)
            .into_response()
    }
}

/// A [`PageError`] answered as `{"error": title, "message": explanation}`.
#[derive(Debug)]
pub struct ApiError(pub PageError);

impl From<PageError> for ApiError {
    fn from(e: PageError) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(PageError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let (status, title, message) = self.0.describe();
        (
            status,
            Json(serde_json::json!({ "error": title, "message": message })),
        )
            .into_response()
    }
}
