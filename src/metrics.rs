//! Prometheus metrics at `GET /metrics` (OpenMetrics text): requests by route and status,
//! upstream latency, active streams, budget and rate-limit rejections, token cache hits and
//! misses. Labels hold only bounded, non-secret values: route templates, methods, statuses.

use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

/// The route a response belongs to, set by handlers whose router path says too little (the
/// proxy's single `/v1/{*path}` route reports the endpoint, e.g. `/v1/chat/completions`).
#[derive(Clone, Debug)]
pub struct RouteLabel(pub String);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteOnly {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheResult {
    result: &'static str,
}

/// The instance's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    upstream_latency: Family<RouteOnly, Histogram>,
    active_streams: Gauge,
    budget_rejections: Counter,
    rate_limit_rejections: Counter,
    token_cache: Family<CacheResult, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("keyward");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        let upstream_latency = Family::<RouteOnly, Histogram>::new_with_constructor(|| {
            // 5 ms … ~41 s.
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        registry.register(
            "upstream_latency_seconds",
            "Time from forwarding a request to the upstream's response headers",
            upstream_latency.clone(),
        );
        let active_streams = Gauge::default();
        registry.register(
            "active_streams",
            "Proxied response bodies currently streaming to clients",
            active_streams.clone(),
        );
        let budget_rejections = Counter::default();
        registry.register(
            "budget_rejections",
            "Requests refused because a grant's monthly budget could not cover them",
            budget_rejections.clone(),
        );
        let rate_limit_rejections = Counter::default();
        registry.register(
            "rate_limit_rejections",
            "Requests refused by a grant's requests-per-minute limit",
            rate_limit_rejections.clone(),
        );
        let token_cache = Family::<CacheResult, Counter>::default();
        registry.register(
            "token_cache_lookups",
            "Access-token lookups answered by the cache (hit) or the store (miss)",
            token_cache.clone(),
        );
        Metrics {
            registry,
            requests,
            upstream_latency,
            active_streams,
            budget_rejections,
            rate_limit_rejections,
            token_cache,
        }
    }
}

impl Metrics {
    /// Counts a token lookup.
    pub fn token_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.token_cache
            .get_or_create(&CacheResult { result })
            .inc();
    }

    /// Records the upstream's time to response headers.
    pub fn upstream_latency(&self, route: &str, latency: Duration) {
        self.upstream_latency
            .get_or_create(&RouteOnly {
                route: route.to_owned(),
            })
            .observe(latency.as_secs_f64());
    }

    /// Counts a budget refusal.
    pub fn budget_rejected(&self) {
        self.budget_rejections.inc();
    }

    /// Counts a rate-limit refusal.
    pub fn rate_limited(&self) {
        self.rate_limit_rejections.inc();
    }

    /// Marks a response body as streaming until the returned guard is dropped.
    pub fn stream_started(&self) -> StreamGuard {
        self.active_streams.inc();
        StreamGuard(self.active_streams.clone())
    }

    /// The metrics in OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Keeps the active-streams gauge raised while alive.
pub struct StreamGuard(Gauge);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `GET /metrics`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
}

/// Middleware counting every response by route, method and status.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map(|r| r.0.clone())
        .or(matched)
        .unwrap_or_else(|| "unmatched".to_owned());
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
