//! The `/v1` routes and their 404 for anything else.

use std::sync::Arc;

use axum::Router;
use axum::extract::OriginalUri;
use axum::http::Method;
use axum::routing::{get, post};

use crate::errors::ApiError;
use crate::state::Shared;
use crate::{audio, chat, completions, embeddings, files, images, models, moderations, responses};

/// The API routes, relative to `/v1`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/models", get(models::list))
        .route("/models/{id}", get(models::retrieve))
        .route("/chat/completions", post(chat::create))
        .route("/completions", post(completions::create))
        .route("/responses", post(responses::create))
        .route("/embeddings", post(embeddings::create))
        .route("/moderations", post(moderations::create))
        .route("/images/generations", post(images::generate))
        .route("/audio/transcriptions", post(audio::transcribe))
        .route("/files", get(files::list).post(files::upload))
        .route("/batches", get(files::batches))
        .fallback(invalid_url)
        .method_not_allowed_fallback(invalid_url)
}

async fn invalid_url(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::invalid_url(&method, uri.path())
}
