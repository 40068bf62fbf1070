//! Sign-in with a discoverable passkey (no user name), and sign-out.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;
use serde::Deserialize;
use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential};

use super::ceremony::{self, Kind};
use super::{credential_id, decode, record_use, webauthn};
use crate::clock::now;
use crate::oauth::Provider;
use crate::oauth::pending::{self, RequestQuery};
use crate::state::AppState;
use crate::store::audit::NewAuditEvent;
use crate::web::csrf::{CsrfForm, CsrfJson};
use crate::web::error::{ApiError, PageError};
use crate::web::headers::Csp;
use crate::web::session::Session;
use crate::web::templates::Page;

/// `GET /signin`: the passkey button, a link to sign up and, inside an authorization request, a
/// way to cancel it.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<RequestQuery>,
) -> Result<Response, PageError> {
    let request = query.sealed()?;
    let (app, csp) = match &request {
        Some(sealed) => {
            let p = pending::load(&Provider::of(&state), sealed, now()).await?;
            let csp = Csp::with_form_target(&p.request.redirect_uri);
            (Some(p.app), csp)
        }
        None => (None, Csp::default()),
    };
    let data = serde_json::json!({ "csrf": session.csrf, "request": request });
    let page = Page::render(
        "signin.html",
        context! { data => Serde(data), csrf => &session.csrf, request, app => Serde(app) },
    )
    .csp(csp);
    Ok((session.cookie(), page).into_response())
}

/// Body of the start calls.
#[derive(Deserialize)]
pub struct StartBody {
    request: Option<String>,
}

/// `POST /passkey/signin/start`: a challenge any of this site's passkeys can answer.
#[tracing::instrument(name = "signin.start", skip_all)]
pub async fn start(
    State(state): State<AppState>,
    request: CsrfJson<StartBody>,
) -> Result<Response, ApiError> {
    let CsrfJson { session, body } = request;
    let pending_request = RequestQuery::parse(body.request.as_deref())?;
    let (mut options, auth) = webauthn(&state.settings)?
        .start_discoverable_authentication()
        .map_err(|e| PageError::Internal(format!("webauthn start: {e}")))?;
    // A button press, not autofill: let the browser show its passkey dialog.
    options.mediation = None;
    let id = ceremony::save(
        &state,
        Kind::Authenticate,
        &session,
        None,
        &auth,
        &pending_request,
    )
    .await?;
    Ok(ceremony::started(id, options))
}

/// `POST /passkey/signin/finish`: verifies the assertion, finds the account by the passkey's
/// user handle, and starts a fresh signed-in session.
#[tracing::instrument(name = "signin.finish", skip_all)]
pub async fn finish(
    State(state): State<AppState>,
    request: CsrfJson<ceremony::Finish<PublicKeyCredential>>,
) -> Result<Response, ApiError> {
    let CsrfJson { session, body } = request;
    let taken = ceremony::take::<DiscoverableAuthentication, Option<String>>(
        &state,
        Kind::Authenticate,
        &body.ceremony,
        &session,
    )
    .await?;
    let webauthn = webauthn(&state.settings)?;
    let (handle, cred_id) = webauthn
        .identify_discoverable_authentication(&body.credential)
        .map_err(|_| PageError::UnknownPasskey)?;
    let user = state
        .store
        .user_by_webauthn_id(&handle.to_string())
        .await?
        .ok_or(PageError::UnknownPasskey)?;
    let cred_id = credential_id(cred_id);
    let rows = state.store.passkeys_for_user(&user.id).await?;
    let row = rows
        .iter()
        .find(|r| r.id == cred_id)
        .ok_or(PageError::UnknownPasskey)?;
    let mut passkey = decode(row)?;
    let result = webauthn
        .finish_discoverable_authentication_v2(&body.credential, taken.state, &passkey)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey sign-in refused");
            PageError::PasskeyFailed
        })?;
    record_use(&state, row, &mut passkey, &result).await?;
    state
        .store
        .record_audit(&NewAuditEvent::new(
            &user.id,
            "sign_in",
            &format!("passkey: {}", row.name),
        ))
        .await?;
    tracing::info!("signed in");
    super::signed_in(&state, &session, &user.id, &row.id, taken.data.as_deref()).await
}

/// `POST /signout`.
pub async fn sign_out(
    State(state): State<AppState>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let cleared = form.session.end(&state).await?;
    Ok((cleared, Redirect::to("/")).into_response())
}
