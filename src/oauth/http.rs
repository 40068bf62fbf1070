//! The OAuth and OIDC endpoints over HTTP (axum). Each handler reads the request, calls its
//! rule in a sibling module with the clock read once, and turns the result (or the
//! [`OAuthError`]) into a response; no protocol decision is made here.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::cors::{Any, CorsLayer};

use super::authorize::{self, AuthorizeError};
use super::client_auth::{self, ClientCredentials};
use super::errors::{OAuthError, no_store};
use super::{Provider, discovery, grant, id_token, introspect, registration, revoke, userinfo};
use crate::clock::now;
use crate::config::Settings;
use crate::ip_throttle::Throttle;
use crate::state::AppState;
use crate::store::clients::Client;
use crate::web::form::FormFields;

/// The OAuth and OIDC endpoints. Those a browser app calls from its own origin (token,
/// revocation, userinfo, metadata, JWKS, registration) allow any origin: they take explicit
/// credentials, never cookies, so CORS grants no ambient authority. Token, revocation,
/// introspection and registration are limited per client IP by `throttle`.
pub fn routes(settings: &Settings, throttle: &Throttle) -> Router<AppState> {
    let mut limited = Router::new()
        .route("/oauth/token", post(token_endpoint))
        .route("/oauth/revoke", post(revoke_endpoint));
    if settings.dynamic_registration {
        limited = limited.route("/oauth/register", post(register_endpoint));
    }
    let cross_origin = throttle
        .oauth(limited)
        .route(
            "/oauth/userinfo",
            get(userinfo_endpoint).post(userinfo_endpoint),
        )
        .route("/oauth/jwks", get(jwks_endpoint))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata_endpoint),
        )
        .route("/.well-known/openid-configuration", get(metadata_endpoint));
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/oauth/authorize", get(authorize_endpoint))
        .merge(throttle.oauth(Router::new().route("/oauth/introspect", post(introspect_endpoint))))
        .merge(cross_origin.layer(cors))
}

impl<'a> Provider<'a> {
    /// The provider over the shared state, for a handler.
    pub fn of(state: &'a AppState) -> Provider<'a> {
        Provider {
            store: &state.store,
            vault: &state.vault,
            invalidator: &state.invalidator,
            issuer: state.settings.issuer_str(),
            proxy_base_url: state.settings.proxy_base_url(),
            origin_clients: state.settings.origin_clients,
            own_origin: state.settings.public_url.origin().ascii_serialization(),
            first_party: super::first_party::clients(&state.settings),
        }
    }
}

/// `GET /oauth/authorize`: seals a valid request and sends the person on to consent (which
/// signs them in first); a refusal is a page, or an error response to the app where
/// [`authorize`] says it may have one.
#[tracing::instrument(name = "oauth.authorize", skip_all)]
async fn authorize_endpoint(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let fields = FormFields::parse(query.unwrap_or_default().as_bytes());
    let p = Provider::of(&state);
    match authorize::begin(&p, &fields, now()).await {
        Ok(sealed) => Redirect::to(&format!("/consent?request={sealed}")).into_response(),
        Err(AuthorizeError::Page(e)) => e.into_response(),
        Err(AuthorizeError::ToApp {
            target,
            code,
            description,
        }) => {
            tracing::info!(error = code.as_str(), "authorization request refused");
            target.error(p.issuer, code, &description)
        }
    }
}

/// `POST /oauth/token`.
#[tracing::instrument(name = "oauth.token", skip_all, fields(grant_type, client_id))]
async fn token_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let response = for_client(&state, &headers, &body, grant::exchange).await?;
    tracing::info!("tokens issued");
    Ok((no_store(), Json(response)).into_response())
}

/// `POST /oauth/revoke`: 200 whether or not there was anything to revoke.
#[tracing::instrument(name = "oauth.revoke", skip_all, fields(client_id))]
async fn revoke_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    for_client(&state, &headers, &body, revoke::revoke).await?;
    Ok((StatusCode::OK, no_store()).into_response())
}

/// `POST /oauth/introspect`.
#[tracing::instrument(name = "oauth.introspect", skip_all, fields(client_id))]
async fn introspect_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let answer = for_client(&state, &headers, &body, introspect::introspect).await?;
    Ok((no_store(), Json(answer)).into_response())
}

/// `GET|POST /oauth/userinfo`.
#[tracing::instrument(name = "oauth.userinfo", skip_all)]
async fn userinfo_endpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = userinfo::userinfo(&Provider::of(&state), authorization, now()).await?;
    Ok((no_store(), Json(claims)).into_response())
}

/// `POST /oauth/register` (when the operator turned dynamic registration on).
#[tracing::instrument(name = "oauth.register", skip_all)]
async fn register_endpoint(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let client = registration::register_dynamic(&state.store, &body, now()).await?;
    Ok((StatusCode::CREATED, no_store(), Json(client)).into_response())
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
async fn metadata_endpoint(State(state): State<AppState>) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        Json(discovery::metadata(&state.settings)),
    )
        .into_response()
}

/// `GET /oauth/jwks`: every signing key's public half. Cached briefly: a rotated key is used
/// only by tokens issued after it, and clients refetch on an unknown `kid`.
async fn jwks_endpoint(State(state): State<AppState>) -> Response {
    match id_token::jwks(&state.store).await {
        Ok(keys) => (
            [(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            )],
            Json(keys),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not read the signing keys");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Runs `rule` for a client-authenticated form POST, as the token, revocation and
/// introspection endpoints take them: the body must be a form (RFC 6749 §3.2), the client
/// authenticates (RFC 6749 §2.3) and its id is recorded on the request's span (the handler's
/// span declares a `client_id` field); the clock is read once for both.
async fn for_client<T>(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    rule: impl AsyncFnOnce(&Provider<'_>, &Client, &FormFields, i64) -> Result<T, OAuthError>,
) -> Result<T, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    let now = now();
    let p = Provider::of(state);
    let fields = FormFields::parse(body);
    let credentials = ClientCredentials::read(headers, &fields)?;
    let client = client_auth::authenticate(&p, credentials, now).await?;
    tracing::Span::current().record("client_id", client.id.as_str());
    rule(&p, &client, &fields, now).await
}
