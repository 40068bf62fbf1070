//! The control API under `/__mock/` (not recorded), for tests that are not written in Rust.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::behaviour::Behaviour;
use crate::record::RecordedRequest;
use crate::state::Shared;

/// `GET`/`PUT /__mock/behaviour`, `GET`/`DELETE /__mock/requests`, `POST /__mock/release`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__mock/behaviour", get(behaviour).put(set_behaviour))
        .route("/__mock/requests", get(requests).delete(clear_requests))
        .route("/__mock/release", post(release))
}

async fn behaviour(State(shared): State<Arc<Shared>>) -> Json<Behaviour> {
    Json(shared.behaviour())
}

async fn set_behaviour(
    State(shared): State<Arc<Shared>>,
    Json(behaviour): Json<Behaviour>,
) -> Json<Behaviour> {
    shared.set_behaviour(behaviour.clone());
    Json(behaviour)
}

async fn requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(shared.requests())
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.clear_requests();
    StatusCode::NO_CONTENT
}

async fn release(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.release_gate();
    StatusCode::NO_CONTENT
}
