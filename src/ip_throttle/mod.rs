//! Per-client-IP limits on the endpoints anyone can call without credentials: the sign-up key
//! check (it calls the upstream with whatever key it is sent), the passkey ceremonies' JSON
//! calls, and the OAuth token, revocation, introspection and registration endpoints.
//!
//! tower_governor keeps one GCRA bucket per client ([`client_ip`]): a burst, then a steady
//! rate. Pages and OAuth share one bucket per client, so a client cannot double its allowance
//! by switching endpoints; a refusal is a 429 with `Retry-After`, shaped for whoever asked: a
//! page for people, `{"error", "message"}` for the pages' scripts, RFC 6749 JSON for apps.
//! Only POSTs count (pages and CORS preflights stay free). The buckets live in this process:
//! behind a load balancer each instance allows a client the configured rate.

pub mod client_ip;

use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, header};
use axum::response::IntoResponse;
use governor::middleware::NoOpMiddleware;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::{GovernorError, GovernorLayer};

use self::client_ip::ClientIp;
use crate::config::Settings;
use crate::oauth::errors::{ErrorCode, OAuthError};
use crate::web::error::{ApiError, PageError};

/// How often buckets of clients that went quiet are dropped.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

type Config = GovernorConfig<ClientIp, NoOpMiddleware>;

/// Who a refusal is for.
#[derive(Clone, Copy, Debug)]
enum Audience {
    /// A person submitting a form: an HTML page.
    Page,
    /// The pages' own scripts: `{"error", "message"}`.
    Script,
    /// An app: RFC 6749 §5.2 JSON.
    OAuth,
}

/// The limiter for one router; `None` inside when the operator turned it off.
#[derive(Clone)]
pub struct Throttle {
    config: Option<Arc<Config>>,
}

impl Throttle {
    /// A limiter with the settings' burst and rate, believing `X-Forwarded-For` from the
    /// trusted proxies only. Starts a task that forgets idle clients (needs a tokio runtime).
    pub fn new(settings: &Settings) -> Throttle {
        let limit = settings.ip_rate_limit;
        if limit.per_second == 0 {
            return Throttle { config: None };
        }
        let config = GovernorConfigBuilder::default()
            .key_extractor(ClientIp::new(&settings.trusted_proxies))
            .period(Duration::from_secs(1) / limit.per_second)
            .burst_size(limit.burst)
            .methods(vec![Method::POST])
            .finish()
            .map(Arc::new);
        if let Some(config) = &config {
            forget_idle_clients(Arc::downgrade(config));
        }
        Throttle { config }
    }

    /// Limits every POST of `router`, answering refusals with a page.
    pub fn pages<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        self.apply(router, Audience::Page)
    }

    /// Limits every POST of `router`, answering refusals as the pages' scripts expect.
    pub fn scripts<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        self.apply(router, Audience::Script)
    }

    /// Limits every POST of `router`, answering refusals as OAuth errors.
    pub fn oauth<S: Clone + Send + Sync + 'static>(&self, router: Router<S>) -> Router<S> {
        self.apply(router, Audience::OAuth)
    }

    fn apply<S: Clone + Send + Sync + 'static>(
        &self,
        router: Router<S>,
        audience: Audience,
    ) -> Router<S> {
        match &self.config {
            Some(config) => router.route_layer(
                GovernorLayer::new(config.clone()).error_handler(move |e| refuse(audience, e)),
            ),
            None => router,
        }
    }
}

/// The 429 for `audience`.
fn refuse(audience: Audience, error: GovernorError) -> Response<Body> {
    let GovernorError::TooManyRequests { wait_time, .. } = error else {
        return error.into_response().map(Body::from);
    };
    tracing::debug!(audience = ?audience, "client IP over its request limit");
    let mut response = match audience {
        Audience::Page => PageError::TooManyRequests.into_response(),
        Audience::Script => ApiError(PageError::TooManyRequests).into_response(),
        Audience::OAuth => OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "too many requests from this client address; retry after the Retry-After seconds",
        )
        .into_response(),
    };
    // The refill interval is at most a second, so the wait rounds up to 1.
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_time.max(1)));
    response
}

fn forget_idle_clients(config: Weak<Config>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FORGET_IDLE_EVERY);
        loop {
            every.tick().await;
            let Some(config) = config.upgrade() else {
                return;
            };
            config.limiter().retain_recent();
        }
    });
}
