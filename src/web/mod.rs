//! The browser-facing side of the authorization server: page rendering, sessions, CSRF,
//! security headers and static assets, shared by the sign-in, consent and account pages, and
//! the landing page. It is the bottom page layer (web < passkey < consent < account) and
//! imports none of the pages above it; the router ([`crate::app`]) assembles them.

pub mod assets;
pub mod csrf;
pub mod done;
pub mod error;
pub mod form;
pub mod headers;
pub mod limits_form;
pub mod session;
pub mod templates;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use minijinja::context;

use crate::config::Settings;
use crate::state::AppState;
use error::PageError;
use session::Session;
use templates::Page;

/// The landing page and the static assets.
pub fn routes(settings: &Settings) -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .merge(assets::routes(settings))
}

/// `/`: what Keyward is, for a person who arrives without an app.
async fn landing(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, PageError> {
    let session = Session::from_headers(&state, &headers).await?;
    let signed_in = session.is_some_and(|s| s.user_id.is_some());
    Ok(Page::render(
        "landing.html",
        context! { signed_in, demo => state.settings.demo },
    ))
}
