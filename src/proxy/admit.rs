//! Phase 1, admit: whether a `/v1` request may go upstream, decided in order — the bearer
//! token and its grant ([`super::auth`]), the endpoint (a path that cannot leave the upstream
//! host, [`super::upstream_url`]; the scope and traits the grant must allow, [`super::policy`]),
//! the grant's rate limit, the body and the model it names, the person's key (opened from the
//! vault for this request only), and last the monthly budget — and everything the later phases
//! need, handed on as one [`Admitted`].
//!
//! The budget is reserved last, so every refusal comes before anything is held; the
//! reservation then lives in the [`Ticket`], which gives it back by itself if the request goes
//! no further. What a refusal leaves behind besides its reply is in [`note_refusal`].

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, request::Parts};

use super::cache::CachedToken;
use super::errors::ProxyError;
use super::relay::Plan;
use super::request_body::{Outgoing, ReadBody};
use super::settle::{MeterSpec, Ticket};
use super::upstream_url::{self, Target};
use super::{auth, policy};
use crate::endpoints::ModelSource;
use crate::metering::estimate::{self, RequestShape};
use crate::metering::{budget, month_of, month_start};
use crate::scopes::Endpoint;
use crate::state::AppState;
use crate::store::grants::Grant;
use crate::vault::ProviderKey;

/// An admitted request: what goes upstream, with whose key, how the answer is relayed, and
/// the ticket that settles it.
pub struct Admitted {
    pub method: Method,
    pub target: Target,
    /// The client's request headers (filtered on the way upstream).
    pub headers: HeaderMap,
    pub body: Outgoing,
    /// The person's key, opened for this request only.
    pub key: ProviderKey,
    pub plan: Plan,
    pub ticket: Ticket,
}

/// Admits a request at `at` (Unix seconds) to `raw_path` (below `/v1/`, as sent), or says
/// why not.
pub async fn admit(
    state: &AppState,
    at: i64,
    raw_path: &str,
    parts: Parts,
    body: Body,
) -> Result<Admitted, ProxyError> {
    let token = auth::authenticate(state, &parts.headers, at).await?;
    let span = tracing::Span::current();
    span.record("grant_id", token.grant.id.as_str());
    span.record("client_id", token.grant.client_id.as_str());
    let admitted = admit_grant(state, at, &token, raw_path, parts, body).await;
    if let Err(refusal) = &admitted {
        note_refusal(state, &token.grant, at, refusal);
    }
    admitted
}

/// The steps after the token: endpoint, rate, body and model, key, budget.
async fn admit_grant(
    state: &AppState,
    at: i64,
    token: &Arc<CachedToken>,
    raw_path: &str,
    parts: Parts,
    body: Body,
) -> Result<Admitted, ProxyError> {
    let grant = &token.grant;
    let target = upstream_url::build(&state.settings.upstream, raw_path, parts.uri.query())?;
    tracing::Span::current().record("path", target.path.as_str());
    let endpoint = policy::endpoint(grant, &parts.method, &target.path)?;
    if let Some(rpm) = grant.limits.rpm {
        state.proxy.limiter.check(&grant.id, rpm).await?;
    }
    let traits = endpoint.traits;
    let limit = state.settings.body_limit;
    let mut body = ReadBody::read(&parts.headers, body, traits.model, &target.path, limit).await?;
    if traits.model != ModelSource::None {
        policy::check_model(grant, body.model.as_deref())?;
    }
    let strip_usage = body.ask_for_usage(&traits)?;
    let jwe = token
        .vault_jwe
        .as_deref()
        .ok_or(ProxyError::NoProviderKey)?;
    let key = state.vault.open_provider_key(&grant.user_id, jwe)?;
    let shape = body.shape(&traits);
    let ticket = reserve(state, at, grant, &parts.method, &endpoint, shape).await?;
    state.proxy.activity.touch(&state.store, grant, at);
    Ok(Admitted {
        plan: Plan {
            strip_usage,
            allowed_models: traits.model_list.then(|| grant.limits.models.clone()),
        },
        method: parts.method,
        target,
        headers: parts.headers,
        body: body.outgoing,
        key,
        ticket,
    })
}

/// The budget step: the estimate for a request of this `shape` reserved against the grant's
/// budget, held by the ticket that settles the request.
async fn reserve(
    state: &AppState,
    at: i64,
    grant: &Grant,
    method: &Method,
    endpoint: &Endpoint,
    shape: RequestShape<'_>,
) -> Result<Ticket, ProxyError> {
    let prices = &state.proxy.prices;
    let estimate = estimate::estimate(prices, shape);
    // Only requests that start work can spend: listings and lookups never wait on a budget.
    let spends = endpoint.scope.spends && method == Method::POST;
    let lease = state.settings.reservation_lease;
    let reservation = budget::reserve(
        &state.store,
        grant,
        spends,
        estimate.cost_microusd,
        at,
        lease,
    )
    .await?;
    Ok(Ticket::new(MeterSpec {
        settler: state.proxy.settler.clone(),
        prices: prices.clone(),
        grant_id: grant.id.clone(),
        month: reservation.month,
        model: shape.model.map(str::to_owned),
        metered: endpoint.traits.metered(),
        reserved: reservation.amount,
        reservation: reservation.id,
        estimate,
    }))
}

/// What a refusal leaves behind besides its reply: the rate-limit and budget counters, and
/// the person's activity-log entry for an exhausted budget (once per grant and month).
fn note_refusal(state: &AppState, grant: &Grant, at: i64, refusal: &ProxyError) {
    match refusal {
        ProxyError::RateLimited { .. } => state.metrics.rate_limited(),
        ProxyError::BudgetExhausted { .. } => {
            state.metrics.budget_rejected();
            let activity = &state.proxy.activity;
            activity.budget_exhausted(&state.store, grant, &month_of(at), month_start(at));
        }
        _ => {}
    }
}
