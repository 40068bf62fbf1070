//! `POST /v1/images/generations`: always the same tiny PNG.

use axum::Json;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::errors::ApiError;
use crate::ids;
use crate::input;

/// A 1×1 PNG, base64-encoded.
const TINY_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/// `n` images (default 1, at most 10) as `b64_json`.
pub(crate) async fn generate(body: Bytes) -> Result<Json<Value>, ApiError> {
    let request = input::json_object(&body)?;
    let prompt = input::required_str(&request, "prompt")?;
    let count = request
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 10);
    let image = json!({"b64_json": TINY_PNG, "revised_prompt": prompt});
    Ok(Json(json!({
        "created": ids::now(),
        "data": vec![image; count as usize],
    })))
}
