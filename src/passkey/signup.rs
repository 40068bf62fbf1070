//! Sign-up: the person pastes their OpenAI key (checked upstream first), then registers a
//! discoverable passkey with user verification; only then is the account created, with the key
//! sealed in the vault. Between the two steps the key exists only sealed, inside the ceremony
//! row (never in a cookie, a page or the store in plaintext).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{PasskeyRegistration, RegisterPublicKeyCredential, Uuid};

use super::ceremony::{self, Kind};
use super::{credential_id, webauthn};
use crate::clock::now;
use crate::oauth::Provider;
use crate::oauth::app_view::AppView;
use crate::oauth::pending::{self, RequestQuery};
use crate::state::AppState;
use crate::store::audit::NewAuditEvent;
use crate::store::new_id;
use crate::store::passkeys::PasskeyRow;
use crate::store::users::User;
use crate::upstream::key_check;
use crate::vault::ProviderKey;
use crate::web::csrf::{CsrfForm, CsrfJson};
use crate::web::error::{ApiError, PageError};
use crate::web::session::Session;
use crate::web::templates::Page;

/// The name a passkey gets if the person gives none.
const DEFAULT_ACCOUNT_NAME: &str = "My Keyward account";

/// Carried from the key check to the passkey's registration.
#[derive(Serialize, Deserialize)]
struct Pending {
    user_id: String,
    webauthn_id: Uuid,
    display_name: String,
    /// The provider key, sealed for `user_id`.
    key_id: String,
    jwe: String,
    request: Option<String>,
}

/// `GET /signup`: the key form.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<RequestQuery>,
) -> Result<Response, PageError> {
    let request = query.sealed()?;
    let app = match &request {
        Some(sealed) => Some(
            pending::load(&Provider::of(&state), sealed, now())
                .await?
                .app,
        ),
        None => None,
    };
    Ok(form_page(&session, request.as_deref(), app, None, ""))
}

fn form_page(
    session: &Session,
    request: Option<&str>,
    app: Option<AppView>,
    problem: Option<&key_check::KeyProblem>,
    name: &str,
) -> Response {
    let problem = problem.map(|p| context! { title => p.to_string(), message => p.advice() });
    let status = problem
        .as_ref()
        .map(|_| axum::http::StatusCode::BAD_REQUEST);
    let page = Page::render(
        "signup.html",
        context! { csrf => &session.csrf, request, app => Serde(app), problem, name },
    );
    let page = match status {
        Some(s) => page.status(s),
        None => page,
    };
    (session.cookie(), page).into_response()
}

/// `POST /signup`: checks the key upstream; if it works, starts the passkey registration and
/// shows the page that asks for the passkey.
#[tracing::instrument(name = "signup.start", skip_all)]
pub async fn start(State(state): State<AppState>, form: CsrfForm) -> Result<Response, PageError> {
    let CsrfForm { session, fields } = form;
    let request = match fields.one("request") {
        Ok(value) => RequestQuery::parse(value)?,
        Err(e) => return Err(PageError::InvalidForm(e.to_string())),
    };
    let name = super::clean_name(fields.one("name").ok().flatten())
        .unwrap_or_else(|| DEFAULT_ACCOUNT_NAME.to_owned());
    let key = ProviderKey::new(fields.one("key").ok().flatten().unwrap_or_default());
    if let Err(problem) = key_check::check(&state, &key).await {
        let app = match &request {
            Some(sealed) => pending::load(&Provider::of(&state), sealed, now())
                .await
                .ok()
                .map(|p| p.app),
            None => None,
        };
        let page = form_page(&session, request.as_deref(), app, Some(&problem), &name);
        let mut response = page.into_response();
        *response.status_mut() = problem.status();
        return Ok(response);
    }
    let user_id = new_id();
    let webauthn_id = Uuid::new_v4();
    let sealed = state.vault.seal_provider_key(&user_id, &key)?;
    drop(key);
    let (options, registration) =
        super::start_registration(&state.settings, webauthn_id, &name, None)?;
    let pending = Pending {
        user_id: user_id.clone(),
        webauthn_id,
        display_name: name,
        key_id: sealed.key_id,
        jwe: sealed.jwe,
        request,
    };
    let id = ceremony::save(
        &state,
        Kind::Register,
        &session,
        Some(&user_id),
        &registration,
        &pending,
    )
    .await?;
    let data = serde_json::json!({ "csrf": session.csrf, "ceremony": id, "options": options });
    Ok((
        session.cookie(),
        Page::render("signup_passkey.html", context! { data => Serde(data) }),
    )
        .into_response())
}

/// `POST /passkey/register/finish`: verifies the new passkey, creates the account (user,
/// passkey, sealed key) and signs the person in.
#[tracing::instrument(name = "signup.finish", skip_all)]
pub async fn finish(
    State(state): State<AppState>,
    request: CsrfJson<ceremony::Finish<RegisterPublicKeyCredential>>,
) -> Result<Response, ApiError> {
    let CsrfJson { session, body } = request;
    let taken = ceremony::take::<PasskeyRegistration, Pending>(
        &state,
        Kind::Register,
        &body.ceremony,
        &session,
    )
    .await?;
    let passkey = webauthn(&state.settings)?
        .finish_passkey_registration(&body.credential, &taken.state)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            PageError::PasskeyFailed
        })?;
    let pending = taken.data;
    let t = now();
    let user = User {
        id: pending.user_id,
        webauthn_id: pending.webauthn_id.to_string(),
        display_name: pending.display_name,
        created_at: t,
    };
    let passkey_row = PasskeyRow {
        id: credential_id(passkey.cred_id()),
        user_id: user.id.clone(),
        name: "Passkey added at sign-up".into(),
        passkey: serde_json::to_string(&passkey)
            .map_err(|e| PageError::Internal(format!("passkey: {e}")))?,
        created_at: t,
        last_used_at: Some(t),
    };
    state
        .store
        .create_account(&user, &passkey_row, &pending.key_id, &pending.jwe)
        .await?;
    state
        .store
        .record_audit(&NewAuditEvent::new(
            &user.id,
            "sign_up",
            "account created with a passkey",
        ))
        .await?;
    tracing::info!("account created");
    super::signed_in(
        &state,
        &session,
        &user.id,
        &passkey_row.id,
        pending.request.as_deref(),
    )
    .await
}
