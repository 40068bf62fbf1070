//! Operations endpoints: liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use std::time::Duration;

use crate::state::AppState;

/// The longest `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// `/healthz` and `/readyz`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and answering.
async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// The store answers and its schema is current: safe to send traffic here. A store that does
/// not answer within [`READY_TIMEOUT`] counts as unreachable, so a health check gets its answer
/// before its own timeout.
async fn readyz(State(state): State<AppState>) -> Response {
    let checks = async {
        state.store.ping().await?;
        state.store.migrations_current().await
    };
    match tokio::time::timeout(READY_TIMEOUT, checks).await {
        Ok(Ok(true)) => Json(json!({"status": "ready"})).into_response(),
        Ok(Ok(false)) => not_ready("database migrations pending: run `keyward migrate`"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            not_ready("store unreachable")
        }
        Err(_) => {
            tracing::warn!(timeout = ?READY_TIMEOUT, "readiness check: the store did not answer in time");
            not_ready("store unreachable")
        }
    }
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "not ready", "reason": reason})),
    )
        .into_response()
}
