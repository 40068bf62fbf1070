//! `POST /v1/audio/transcriptions`.

use axum::Json;
use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::multipart::Form;
use crate::text::TRANSCRIPT;

/// `{"text": …}` for any `file` + `model` upload.
pub(crate) async fn transcribe(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let form = Form::read(multipart).await?;
    form.text("model")?;
    form.field("file")?;
    Ok(Json(json!({ "text": TRANSCRIPT })))
}
