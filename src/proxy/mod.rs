//! The resource proxy under `/v1/`: an app's access token in, the person's key out.
//!
//! One request goes through, in order: [`auth`] (bearer token → grant, via the [`cache`]),
//! [`upstream_url`] (a path that cannot leave the upstream host), [`policy`] (scope, model),
//! the grant's rate limit ([`crate::rate_limit`]) and budget ([`crate::metering::budget`]), the
//! vault (the key is opened per request and never kept), [`forward`] with the filtered
//! [`headers`], and [`relay`] back to the client (with [`sse`] for streams, [`scrub`] for error
//! bodies) while a [`crate::metering::meter::Meter`] settles usage. [`cors`] wraps it all;
//! every refusal is an [`errors::ProxyError`] in OpenAI's error shape.

pub mod auth;
pub mod cache;
pub mod cors;
pub mod errors;
pub mod forward;
pub mod headers;
pub mod policy;
pub mod relay;
pub mod request_body;
pub mod scrub;
pub mod sse;
pub mod state;
pub mod upstream_url;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, request::Parts};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use tracing::Instrument as _;
use tracing::field::Empty;

use self::errors::ProxyError;
use self::forward::Outgoing;
use self::policy::{Endpoint, ModelSource};
use self::request_body::Fields;
use crate::clock::now;
use crate::metering::budget::{self, BudgetError};
use crate::metering::estimate::{self, RequestShape};
use crate::metering::meter::{Meter, MeterSpec};
use crate::metrics::RouteLabel;
use crate::state::AppState;

pub use self::state::ProxyState;

/// `/v1` and everything below it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1", any(handle))
        .route("/v1/", any(handle))
        .route("/v1/{*path}", any(handle))
        .layer(middleware::from_fn(cors::cors))
}

/// The metrics label for a path: its endpoint family, never ids or raw input.
fn route_label(raw_path: &str) -> String {
    crate::scopes::endpoint_for(raw_path)
        .map_or_else(|| "/v1/other".to_owned(), |(_, p)| format!("/v1/{p}"))
}

async fn handle(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let raw_path = parts
        .uri
        .path()
        .strip_prefix("/v1/")
        .unwrap_or_default()
        .to_owned();
    let route = route_label(&raw_path);
    let span = tracing::info_span!(
        "proxy",
        method = %parts.method,
        route = %route,
        path = Empty,
        grant_id = Empty,
        client_id = Empty,
        status = Empty,
        upstream_ms = Empty,
    );
    let result = proxy(&state, &raw_path, &route, parts, body)
        .instrument(span.clone())
        .await;
    let mut response = result.unwrap_or_else(|e| {
        span.in_scope(|| tracing::info!(refused = %e, "request refused"));
        e.into_response()
    });
    span.record("status", response.status().as_u16());
    response.extensions_mut().insert(RouteLabel(route));
    response
}

/// What the request body told us.
struct ReadBody {
    outgoing: Outgoing,
    fields: Option<Fields>,
    model: Option<String>,
    size: usize,
}

async fn proxy(
    state: &AppState,
    raw_path: &str,
    route: &str,
    parts: Parts,
    body: Body,
) -> Result<Response, ProxyError> {
    let found = auth::authenticate(state, &parts.headers).await?;
    let grant = &found.grant;
    let span = tracing::Span::current();
    span.record("grant_id", grant.id.as_str());
    span.record("client_id", grant.client_id.as_str());

    let target = upstream_url::build(&state.settings.upstream, raw_path, parts.uri.query())
        .map_err(|e| {
            tracing::debug!(reason = %e, "path refused");
            ProxyError::NotFound
        })?;
    span.record("path", target.path.as_str());
    let endpoint = policy::endpoint(grant, &parts.method, &target.path)?;

    if let Some(rpm) = grant.limits.rpm {
        state
            .proxy
            .limiter
            .check(&grant.id, rpm)
            .await
            .map_err(|retry_after| {
                state.metrics.rate_limited();
                ProxyError::RateLimited { rpm, retry_after }
            })?;
    }

    let mut read = read_body(state, &parts, body, &endpoint, &target.path).await?;
    if endpoint.model != ModelSource::None {
        policy::check_model(grant, read.model.as_deref())?;
    }
    let strip_usage = endpoint.usage_on_request
        && read
            .fields
            .as_ref()
            .is_some_and(|f| f.stream() && !f.include_usage());
    if strip_usage && let Outgoing::Read(bytes) = &read.outgoing {
        let rewritten = request_body::with_include_usage(bytes)?;
        read.outgoing = Outgoing::Read(rewritten.into());
    }

    let at = now();
    let estimate = estimate::estimate(
        &state.settings.prices,
        RequestShape {
            model: read.model.as_deref(),
            body_bytes: read.size,
            max_output_tokens: read.fields.as_ref().and_then(Fields::max_output_tokens),
            choices: read.fields.as_ref().map_or(1, Fields::choices),
            generates: endpoint.generates,
        },
    );
    // Only requests that start work can spend: listings and lookups never wait on a budget.
    let spends = endpoint.scope.spends && parts.method == axum::http::Method::POST;
    let reservation = budget::reserve(
        &state.store,
        grant,
        spends,
        estimate.cost_microusd,
        at,
        state.settings.reservation_lease,
    )
    .await
    .map_err(|e| match e {
        BudgetError::Exhausted {
            budget,
            wanted,
            month,
            resets_at,
        } => {
            state.metrics.budget_rejected();
            let month_start = crate::metering::month_start(at);
            state
                .proxy
                .note_exhausted(&state.store, grant, &month, month_start);
            ProxyError::BudgetExhausted {
                budget_microusd: budget,
                reserve_microusd: wanted,
                resets_at,
                retry_after: std::time::Duration::from_secs((resets_at - at).max(1) as u64),
            }
        }
        BudgetError::Store(e) => {
            tracing::warn!(error = %e, "budget reservation failed");
            ProxyError::StoreUnavailable
        }
    })?;
    let mut meter = Meter::new(MeterSpec {
        settler: state.proxy.settler.clone(),
        settings: state.settings.clone(),
        grant_id: grant.id.clone(),
        month: reservation.month,
        model: read.model.clone(),
        metered: endpoint.metered(),
        reserved: reservation.amount,
        reservation: reservation.id,
        estimate,
    });
    state.proxy.touch(&state.store, grant, at);

    let jwe = found
        .vault_jwe
        .as_deref()
        .ok_or(ProxyError::NoProviderKey)?;
    let key = state
        .vault
        .open_provider_key(&grant.user_id, jwe)
        .map_err(|e| {
            meter.not_sent();
            tracing::error!(error = %e, "cannot open the provider key");
            ProxyError::KeyUnavailable
        })?;
    let headers = headers::upstream_request(&parts.headers, &key);
    let (upstream, latency) =
        match forward::send(state, parts.method, target.url, headers, read.outgoing).await {
            Ok(ok) => ok,
            Err(failed) => {
                if !failed.reached_upstream {
                    meter.not_sent();
                }
                return Err(failed.error);
            }
        };
    state.metrics.upstream_latency(route, latency);
    span.record("upstream_ms", latency.as_millis() as u64);
    tracing::info!(
        status = upstream.status().as_u16(),
        upstream_ms = latency.as_millis() as u64,
        "forwarded"
    );
    let account_url = format!(
        "{}/account",
        state.settings.public_url.as_str().trim_end_matches('/')
    );
    let plan = relay::Plan {
        strip_usage,
        allowed_models: endpoint
            .model_list
            .then_some(grant.limits.models.as_slice()),
        key: key.expose(),
        account_url: &account_url,
    };
    relay::respond(upstream, plan, meter, state.metrics.stream_started()).await
}

/// Reads the body where the endpoint's model must be known; streams it otherwise.
async fn read_body(
    state: &AppState,
    parts: &Parts,
    body: Body,
    endpoint: &Endpoint,
    path: &str,
) -> Result<ReadBody, ProxyError> {
    let limit = state.settings.body_limit;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ProxyError::BodyTooLarge { limit });
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let json = content_type.is_empty() || content_type.contains("json");
    match endpoint.model {
        ModelSource::None | ModelSource::Path => Ok(ReadBody {
            outgoing: Outgoing::Stream { body, limit },
            fields: None,
            model: (endpoint.model == ModelSource::Path)
                .then(|| path.rsplit('/').next().unwrap_or_default().to_owned()),
            size: declared.unwrap_or(0),
        }),
        ModelSource::Json | ModelSource::Form if json => {
            let bytes = request_body::read(body, limit).await?;
            let fields = Fields::parse(&bytes)?;
            Ok(ReadBody {
                model: fields.model().map(str::to_owned),
                size: bytes.len(),
                fields: Some(fields),
                outgoing: Outgoing::Read(bytes),
            })
        }
        ModelSource::Json => Err(ProxyError::InvalidJson),
        ModelSource::Form => {
            let bytes = request_body::read(body, limit).await?;
            let model = request_body::form_model(&content_type, bytes.clone()).await?;
            Ok(ReadBody {
                model,
                size: bytes.len(),
                fields: None,
                outgoing: Outgoing::Read(bytes),
            })
        }
    }
}
