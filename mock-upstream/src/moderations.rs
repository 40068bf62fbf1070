//! `POST /v1/moderations`: nothing is ever flagged.

use axum::Json;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::errors::ApiError;
use crate::ids;
use crate::input;

/// The categories `omni-moderation-latest` reports.
const CATEGORIES: [&str; 13] = [
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
];

/// A `modr-…` result with one unflagged entry per input.
pub(crate) async fn create(body: Bytes) -> Result<Json<Value>, ApiError> {
    let request = input::json_object(&body)?;
    let count = match input::required(&request, "input")? {
        Value::Array(items) => items.len(),
        _ => 1,
    };
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("omni-moderation-latest");
    let per_category = |value: Value| -> Map<String, Value> {
        CATEGORIES
            .iter()
            .map(|name| ((*name).to_owned(), value.clone()))
            .collect()
    };
    let result = json!({
        "flagged": false,
        "categories": per_category(json!(false)),
        "category_scores": per_category(json!(1.2e-6)),
        "category_applied_input_types": per_category(json!(["text"])),
    });
    Ok(Json(json!({
        "id": ids::alnum("modr-", 29),
        "model": model,
        "results": vec![result; count],
    })))
}
