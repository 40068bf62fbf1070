//! The consent screen: which app is asking (and whether an operator verified it), what it may
//! do in plain words, and the limits the person sets. Approving needs the passkey again
//! (step-up) and creates or updates the app's one grant; denying answers `access_denied`.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use minijinja::value::Serde;

use crate::clock::now;
use crate::invalidation::Invalidation;
use crate::oauth::Provider;
use crate::oauth::approve;
use crate::oauth::errors::ErrorCode;
use crate::oauth::pending::{self, Pending, RequestQuery};
use crate::oauth::response::ResponseTarget;
use crate::passkey::step_up::{self, Purpose};
use crate::scopes::{self, Scope, ScopeSet};
use crate::state::AppState;
use crate::store::audit::NewAuditEvent;
use crate::store::grants::Grant;
use crate::store::users::User;
use crate::web::csrf::CsrfForm;
use crate::web::error::PageError;
use crate::web::form::FormFields;
use crate::web::headers::Csp;
use crate::web::limits_form::LimitsForm;
use crate::web::session::Session;
use crate::web::templates::Page;

/// `/consent` (page and approval) and `/consent/deny`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/consent", get(page).post(approve))
        .route("/consent/deny", post(deny))
}

/// The requested scopes, in table order.
fn requested_scopes(pending: &Pending) -> Vec<&'static Scope> {
    scopes::parse(&pending.request.scopes).0
}

/// `GET /consent?request=…`: signs the person in first if needed, then shows the screen.
async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<RequestQuery>,
) -> Result<Response, PageError> {
    let now = now();
    let sealed = query.sealed()?.ok_or(PageError::RequestExpired)?;
    let pending = pending::load(&Provider::of(&state), &sealed, now).await?;
    let user = match session.user(&state).await {
        Ok(user) => user,
        Err(PageError::SignInRequired) => {
            let to = format!("/signin?request={sealed}");
            return Ok((session.cookie(), Redirect::to(&to)).into_response());
        }
        Err(e) => return Err(e),
    };
    let requested = requested_scopes(&pending);
    let existing = state
        .store
        .active_grant_for(&user.id, &pending.client.id, now)
        .await?;
    let continuing = existing.as_ref().is_some_and(|g| {
        g.scopes.iter().collect::<ScopeSet>() == requested.iter().map(|s| s.name).collect()
    });
    let form = existing
        .map(|g| LimitsForm::from_grant(&g, now))
        .unwrap_or_default();
    let scope_views: Vec<_> = requested
        .iter()
        .map(|s| context! { title => s.title, description => s.description, spends => s.spends })
        .collect();
    let data = serde_json::json!({ "csrf": session.csrf, "request": sealed });
    let page = Page::render(
        "consent.html",
        context! {
            signed_in => true,
            app => Serde(&pending.app),
            scopes => scope_views,
            spends_money => requested.iter().any(|s| s.spends),
            has_api => requested.iter().any(|s| !s.endpoints.is_empty()),
            limits => Serde(form.view()),
            summary => form.summary(),
            continuing,
            csrf => &session.csrf,
            request => &sealed,
            data => Serde(data),
        },
    )
    .csp(Csp::with_form_target(&pending.request.redirect_uri));
    Ok((session.cookie(), page).into_response())
}

/// The sealed request a consent form carries.
fn form_request(fields: &FormFields) -> Result<String, PageError> {
    let raw = fields
        .one("request")
        .map_err(|e| PageError::InvalidForm(e.to_string()))?;
    RequestQuery::parse(raw)?.ok_or(PageError::RequestExpired)
}

/// `POST /consent`: verifies the step-up passkey assertion, records the grant and answers the
/// app with a code.
#[tracing::instrument(name = "consent.approve", skip_all, fields(client_id))]
async fn approve(State(state): State<AppState>, form: CsrfForm) -> Result<Response, PageError> {
    let now = now();
    let CsrfForm { session, fields } = form;
    let sealed = form_request(&fields)?;
    let user = session.user(&state).await?;
    let p = Provider::of(&state);
    let pending = pending::load(&p, &sealed, now).await?;
    tracing::Span::current().record("client_id", pending.client.id.as_str());
    let requested = requested_scopes(&pending);
    let has_api = requested.iter().any(|s| !s.endpoints.is_empty());
    let limits = LimitsForm::parse(&fields, has_api, None)
        .map_err(|e| PageError::InvalidForm(e.to_string()))?;
    step_up::verify_form(
        &state,
        &session,
        &user.id,
        &Purpose::Consent(pending.request.id.clone()),
        &fields,
    )
    .await?;
    pending::answer(&p, &pending.request).await?;
    let scope_names: Vec<String> = requested.iter().map(|s| s.name.to_owned()).collect();
    let grant = record_grant(&state, &user, &pending, scope_names, &limits, now).await?;
    let code = approve::issue_code(&state.store, &pending.request, &grant, now).await?;
    tracing::info!("consent given; code issued");
    Ok(ResponseTarget::of(&pending.request).code(state.settings.issuer_str(), code.plaintext()))
}

/// Creates the app's grant, or updates the one it already holds (one grant per app), and logs
/// the consent given at `now`.
async fn record_grant(
    state: &AppState,
    user: &User,
    pending: &Pending,
    scopes: Vec<String>,
    limits: &LimitsForm,
    now: i64,
) -> Result<Grant, PageError> {
    let store = &state.store;
    store.ensure_client(&pending.client).await?;
    let granted = limits.to_limits(now);
    let grant = match store
        .active_grant_for(&user.id, &pending.client.id, now)
        .await?
    {
        Some(mut grant) => {
            store.update_grant(&grant.id, &scopes, &granted).await?;
            state
                .invalidator
                .publish(Invalidation::Grant(grant.id.clone()))
                .await;
            grant.scopes = scopes;
            grant.limits = granted;
            grant
        }
        None => {
            let grant = Grant::new(&user.id, &pending.client.id, scopes, granted, now);
            store.insert_grant(&grant).await?;
            grant
        }
    };
    let detail = format!(
        "allowed {} ({}): {}",
        pending.app.host,
        grant.scopes.join(" "),
        limits.summary()
    );
    store
        .record_audit(
            &NewAuditEvent::new(&user.id, "consent", &detail)
                .for_grant(&pending.client.id, &grant.id),
        )
        .await?;
    Ok(grant)
}

/// `POST /consent/deny`: answers the app with `access_denied` (also from the sign-in page,
/// before anyone signed in).
#[tracing::instrument(name = "consent.deny", skip_all)]
async fn deny(State(state): State<AppState>, form: CsrfForm) -> Result<Response, PageError> {
    let CsrfForm { session, fields } = form;
    let sealed = form_request(&fields)?;
    let p = Provider::of(&state);
    let pending = pending::load(&p, &sealed, now()).await?;
    pending::answer(&p, &pending.request).await?;
    if let Some(user_id) = &session.user_id {
        let detail = format!("denied {}", pending.app.host);
        state
            .store
            .record_audit(&NewAuditEvent::new(user_id, "consent_denied", &detail))
            .await?;
    }
    tracing::info!(client_id = %pending.client.id, "consent denied");
    Ok(ResponseTarget::of(&pending.request).error(
        state.settings.issuer_str(),
        ErrorCode::AccessDenied,
        "the person declined to give the app access",
    ))
}
