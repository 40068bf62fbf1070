//! `GET`/`POST /v1/files` (kept in memory) and `GET /v1/batches` (always empty).

use std::sync::Arc;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::ids;
use crate::multipart::Form;
use crate::state::Shared;

fn list_of(data: Vec<Value>) -> Json<Value> {
    let id_of = |item: Option<&Value>| item.and_then(|item| item.get("id")).cloned();
    Json(json!({
        "object": "list",
        "data": &data,
        "first_id": id_of(data.first()),
        "last_id": id_of(data.last()),
        "has_more": false,
    }))
}

/// The files uploaded so far.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Json<Value> {
    list_of(shared.files())
}

/// Stores a `file` + `purpose` upload and returns its file object.
pub(crate) async fn upload(
    State(shared): State<Arc<Shared>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = Form::read(multipart).await?;
    let purpose = form.text("purpose")?;
    let file = form.field("file")?;
    let object = json!({
        "object": "file",
        "id": ids::alnum("file-", 22),
        "purpose": purpose,
        "filename": file.file_name.as_deref().unwrap_or("upload"),
        "bytes": file.data.len(),
        "created_at": ids::now(),
        "expires_at": null,
        "status": "processed",
        "status_details": null,
    });
    shared.add_file(object.clone());
    Ok(Json(object))
}

/// An empty batch list.
pub(crate) async fn batches() -> Json<Value> {
    list_of(Vec::new())
}
