//! The browser-facing side of the authorization server: page rendering, sessions, CSRF,
//! security headers and static assets, shared by the sign-in, consent and account pages.
//! [`routes`] assembles every authorization-server route (pages and OAuth endpoints).

pub mod assets;
pub mod csrf;
pub mod error;
pub mod form;
pub mod headers;
pub mod limits_form;
pub mod session;
pub mod templates;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use minijinja::context;

use crate::state::AppState;
use error::PageError;
use session::Session;
use templates::Page;

/// The authorization server: landing page, assets, OAuth endpoints, passkey, consent and
/// account pages, all behind the security headers.
pub fn routes(state: &AppState) -> Router<AppState> {
    let throttle = crate::ip_throttle::Throttle::new(&state.settings);
    Router::new()
        .route("/", get(landing))
        .merge(assets::routes(&state.settings))
        .merge(crate::oauth::routes(&state.settings, &throttle))
        .merge(crate::passkey::routes(&throttle))
        .merge(crate::consent::routes())
        .merge(crate::account::routes())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
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
