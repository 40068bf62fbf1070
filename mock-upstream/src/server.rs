//! The router and the accept loop.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::state::Shared;
use crate::{control, guard, record, v1};

/// `/v1` (recorded, then guarded) beside the `/__mock` control routes.
fn router(shared: Arc<Shared>) -> Router {
    let api = v1::routes()
        .layer(from_fn_with_state(shared.clone(), guard::guard))
        .layer(from_fn_with_state(shared.clone(), record::record));
    Router::new()
        .nest("/v1", api)
        .merge(control::routes())
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

/// Serves until the task is aborted, with `TCP_NODELAY` on every connection.
#[allow(
    clippy::print_stderr,
    reason = "the mock has no logger; the test run shows stderr"
)]
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let listener = listener.tap_io(|stream| {
        // Without it, loopback shows ~40 ms of delayed-ACK latency; serving slower is all we lose.
        let _ = stream.set_nodelay(true);
    });
    if let Err(error) = axum::serve(listener, router(shared)).await {
        eprintln!("mock upstream stopped: {error}");
    }
}
