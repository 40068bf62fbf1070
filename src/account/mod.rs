//! The person's dashboard at `/account`: every app they approved with its usage and limits, the
//! OpenAI key, their passkeys, the activity log, and deleting the account.
//!
//! Each action is a plain form POST (CSRF-checked, see [`AccountForm`]) that answers with a
//! redirect back to the dashboard and a fixed confirmation ([`Done`], kept in
//! [`crate::web::done`] so the passkey pages can answer with one too); those that need the
//! passkey again — replacing the key, removing a passkey, deleting the account, and raising an
//! app's limits — carry a step-up assertion the page's script adds. One submodule per part of
//! the page.

pub mod activity;
pub mod apps;
pub mod change_limits;
pub mod delete;
pub mod key;
pub mod passkeys;

use axum::Router;
use axum::extract::{FromRequest, Query, Request, State};
use axum::routing::{get, post};
use minijinja::context;
use minijinja::value::Serde;
use serde::Deserialize;

use crate::clock::now;
use crate::state::AppState;
use crate::store::users::User;
use crate::upstream::key_check::KeyProblem;
use crate::web::csrf::CsrfForm;
use crate::web::done::Done;
use crate::web::error::PageError;
use crate::web::form::FormFields;
use crate::web::session::{Session, SignedIn};
use crate::web::templates::Page;

/// `/account` and its actions. (Adding a passkey is a WebAuthn ceremony; it lives with the
/// others in [`crate::passkey::add`].)
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/apps/{grant_id}/revoke", post(apps::revoke))
        .route(
            "/account/apps/{grant_id}/limits",
            post(change_limits::update),
        )
        .route("/account/key", post(key::replace))
        .route(
            "/account/passkeys/{passkey_id}/rename",
            post(passkeys::rename),
        )
        .route(
            "/account/passkeys/{passkey_id}/remove",
            post(passkeys::remove),
        )
        .route("/account/delete", post(delete::delete))
}

/// A CSRF-checked form POST from the signed-in person.
pub struct AccountForm {
    pub session: Session,
    pub user: User,
    pub fields: FormFields,
}

impl FromRequest<AppState> for AccountForm {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let CsrfForm { session, fields } = CsrfForm::from_request(req, state).await?;
        let user = match session.user(state).await {
            Ok(user) => user,
            Err(PageError::SignInRequired) => return Err(PageError::SessionExpired),
            Err(e) => return Err(e),
        };
        Ok(AccountForm {
            session,
            user,
            fields,
        })
    }
}

impl AccountForm {
    /// Checks the passkey confirmation (step-up) the form carries for `purpose`: the actions
    /// that could hand the account (or more of the person's money) to someone else ask for the
    /// passkey, not just the session. Without one: [`PageError::PasskeyRequired`].
    pub async fn confirm(
        &self,
        state: &AppState,
        purpose: &crate::passkey::step_up::Purpose,
    ) -> Result<(), PageError> {
        crate::passkey::step_up::verify_form(
            state,
            &self.session,
            &self.user.id,
            purpose,
            &self.fields,
        )
        .await
    }
}

/// `?done=` on the dashboard.
#[derive(Deserialize)]
struct PageQuery {
    done: Option<String>,
}

/// `GET /account`. Without a signed-in session: to the sign-in page, which comes back here.
#[tracing::instrument(name = "account.page", skip_all)]
async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<PageQuery>,
) -> Result<Page, PageError> {
    let done = query.done.as_deref().and_then(Done::parse);
    render(&state, &signed_in.session, &signed_in.user, done, None).await
}

/// The dashboard, with an optional confirmation and, after a refused key replacement, what
/// was wrong with the key.
pub async fn render(
    state: &AppState,
    session: &Session,
    user: &User,
    done: Option<Done>,
    key_problem: Option<&KeyProblem>,
) -> Result<Page, PageError> {
    let t = now();
    let apps = apps::load(state, &user.id, t).await?;
    let key = key::view(state, &user.id).await?;
    let passkeys = passkeys::list(state, &user.id, session.passkey_id.as_deref()).await?;
    let activity = activity::recent(state, &user.id).await?;
    let done = done.map(|d| context! { message => d.message(), section => d.section() });
    let key_problem =
        key_problem.map(|p| context! { title => p.to_string(), message => p.advice() });
    let data = serde_json::json!({ "csrf": session.csrf });
    Ok(Page::render(
        "account.html",
        context! {
            signed_in => true,
            wide => true,
            display_name => &user.display_name,
            csrf => &session.csrf,
            data => Serde(data),
            done,
            month => apps.month_label.clone(),
            apps => Serde(apps),
            key => Serde(key),
            key_problem,
            passkeys => Serde(passkeys),
            activity => Serde(activity),
            shown_events => activity::SHOWN,
            now => t,
        },
    ))
}
