//! Builds the running service from its parts: shared state, the router, and the server loop
//! with graceful shutdown.

use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::invalidation::Invalidator;
use crate::store::{Store, StoreError};
use crate::vault::{KeyRing, Vault, VaultError};

/// State shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub vault: Arc<Vault>,
    /// Announces revocations and limit changes to every cache on every instance.
    pub invalidator: Invalidator,
    /// HTTP client for the upstream API (see [`crate::upstream`]).
    pub upstream: reqwest::Client,
    /// The `/v1` proxy's token cache, rate limiter and bookkeeping throttles.
    pub proxy: Arc<crate::proxy::ProxyState>,
    /// Prometheus metrics (`/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("master key: {0}")]
    Vault(#[from] VaultError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

impl AppState {
    /// Opens (and migrates) the store, loads the master key ring and builds the state.
    pub async fn open(settings: Settings) -> Result<AppState, StartError> {
        let store = Store::open(&settings.database_url).await?;
        let ring = KeyRing::load(&settings.master_key, &store).await?;
        tracing::info!(active_key_id = ring.active().id(), "master key ring loaded");
        let vault = Arc::new(Vault::new(ring, settings.master_key.clone()));
        crate::passkey::relying_party(&settings).map_err(StartError::Setup)?;
        crate::oauth::id_token::ensure_signing_key(&store, &vault)
            .await
            .map_err(|e| StartError::Setup(format!("ID token signing key: {e}")))?;
        crate::oauth::spawn_housekeeping(store.clone());
        let invalidator = Invalidator::new(store.clone());
        invalidator.listen();
        let upstream = crate::upstream::client(&settings)
            .map_err(|e| StartError::Setup(format!("upstream HTTP client: {e}")))?;
        let proxy = crate::proxy::ProxyState::new(&settings, &invalidator, &store)
            .map_err(StartError::Setup)?;
        Ok(AppState {
            settings: Arc::new(settings),
            store,
            vault,
            invalidator,
            upstream,
            proxy: Arc::new(proxy),
            metrics: Arc::default(),
        })
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::ops::routes())
        .merge(crate::web::routes(&state))
        .merge(crate::proxy::routes())
        .merge(crate::metrics::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(crate::telemetry::trace_requests))
        .with_state(state)
}

/// How long a stopping instance waits for its last settlements to be written.
const SETTLE_ON_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A bound, not yet serving instance; lets callers learn the port before serving (tests bind
/// port 0).
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Binds the listen address.
    pub async fn bind(state: AppState) -> Result<Server, StartError> {
        let addr = state.settings.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Server { listener, state })
    }

    /// Serves on an already bound listener.
    pub fn with_listener(listener: TcpListener, state: AppState) -> Server {
        Server { listener, state }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
    /// (streams included) finish for up to the configured grace period, and writes their usage
    /// before returning.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.settings.shutdown_grace;
        let proxy = self.state.proxy.clone();
        let (signalled_tx, mut signalled_rx) = tokio::sync::watch::channel(false);
        let app = router(self.state);
        let listener = self.listener.tap_io(|tcp| {
            // Without TCP_NODELAY small SSE frames wait for delayed ACKs (~40 ms).
            let _ = tcp.set_nodelay(true);
        });
        // Connection info gives the per-client limits (crate::throttle) the peer address.
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(
                grace_seconds = grace.as_secs(),
                "shutting down: no new connections, finishing in-flight requests"
            );
            let _ = signalled_tx.send(true);
        });
        let deadline = async move {
            let _ = signalled_rx.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            result = serve => result,
            () = deadline => {
                tracing::warn!("shutdown grace period over; closing the remaining connections");
                Ok(())
            }
        };
        // Record the usage of the requests that finished before the process goes.
        if !proxy.settler.flush(SETTLE_ON_EXIT).await {
            tracing::warn!(
                "usage of the last requests not written in time; their reservations expire on their lease"
            );
        }
        result
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
