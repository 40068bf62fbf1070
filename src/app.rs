//! The running service: the router over every part's routes, and the server loop with
//! graceful shutdown. The shared state it serves is built in [`crate::state`].

use axum::Router;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;

pub use crate::state::{AppState, StartError};

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::ops::routes())
        .merge(authorization_server(&state))
        .merge(crate::proxy::routes())
        .merge(crate::metrics::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(crate::telemetry::trace_requests))
        .with_state(state)
}

/// The authorization server: landing page, assets, OAuth endpoints, passkey, consent and
/// account pages, all behind the security headers.
fn authorization_server(state: &AppState) -> Router<AppState> {
    let throttle = crate::ip_throttle::Throttle::new(&state.settings);
    crate::web::routes(&state.settings)
        .merge(crate::oauth::routes(&state.settings, &throttle))
        .merge(crate::passkey::routes(&throttle))
        .merge(crate::consent::routes())
        .merge(crate::account::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::web::headers::security_headers,
        ))
}

/// How long a stopping instance waits for its last settlements to be written.
const SETTLE_ON_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A bound, not yet serving instance; lets callers learn the port before serving (tests bind
/// port 0).
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

/// Binds the listen address. `keyward serve` calls it before [`AppState::open`], so a taken
/// port or a wrong address fails before anything is written (data directory, master key,
/// signing key).
pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

impl Server {
    /// Serves on an already bound listener ([`bind`]).
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
        // Connection info gives the per-client limits (crate::ip_throttle) the peer address.
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
