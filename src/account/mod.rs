//! The person's account. For now a placeholder showing the signed-in state and sign-out; the
//! dashboard (apps, usage, limits, revocation, key replacement, passkeys, activity) builds on
//! the same pieces: [`SignedIn`] for the person, [`crate::web::csrf::CsrfForm`] for its forms.

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use minijinja::context;

use crate::app::AppState;
use crate::web::session::SignedIn;
use crate::web::templates::Page;

/// `/account`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/account", get(page))
}

/// `GET /account`.
async fn page(signed_in: SignedIn) -> impl IntoResponse {
    Page::render(
        "account.html",
        context! {
            signed_in => true,
            display_name => signed_in.user.display_name,
            csrf => signed_in.session.csrf,
        },
    )
}
