//! `GET /v1/models` and `GET /v1/models/{id}`.

use axum::Json;
use axum::extract::Path;
use serde::Serialize;

use crate::errors::ApiError;

/// The models the mock lists, with their real `created` dates.
const MODELS: [(&str, u64); 10] = [
    ("gpt-4o-mini", 1_721_172_741),
    ("gpt-4o", 1_715_367_049),
    ("gpt-4.1", 1_744_316_542),
    ("gpt-4.1-mini", 1_744_318_173),
    ("o3-mini", 1_737_146_383),
    ("text-embedding-3-small", 1_705_948_997),
    ("text-embedding-3-large", 1_705_953_180),
    ("whisper-1", 1_677_532_384),
    ("dall-e-3", 1_698_785_189),
    ("omni-moderation-latest", 1_731_689_265),
];

#[derive(Serialize)]
pub(crate) struct Model {
    id: &'static str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

#[derive(Serialize)]
pub(crate) struct ModelList {
    object: &'static str,
    data: Vec<Model>,
}

fn model((id, created): (&'static str, u64)) -> Model {
    Model {
        id,
        object: "model",
        created,
        owned_by: "system",
    }
}

/// The model list.
pub(crate) async fn list() -> Json<ModelList> {
    Json(ModelList {
        object: "list",
        data: MODELS.into_iter().map(model).collect(),
    })
}

/// One model, or 404 `model_not_found`.
pub(crate) async fn retrieve(Path(id): Path<String>) -> Result<Json<Model>, ApiError> {
    MODELS
        .into_iter()
        .find(|(known, _)| *known == id)
        .map(|entry| Json(model(entry)))
        .ok_or_else(|| ApiError::model_not_found(&id))
}
