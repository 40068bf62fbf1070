//! Reading OpenAI request bodies: JSON, required parameters, prompt text.

use serde_json::Value;

use crate::errors::ApiError;

/// The body as a JSON object, or OpenAI's "could not parse the JSON body" error.
pub(crate) fn json_object(body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value.is_object() => Ok(value),
        _ => Err(ApiError::invalid_json()),
    }
}

/// A required parameter (present and not null).
pub(crate) fn required<'a>(request: &'a Value, name: &'static str) -> Result<&'a Value, ApiError> {
    request
        .get(name)
        .filter(|value| !value.is_null())
        .ok_or_else(|| ApiError::missing_param(name))
}

/// A required string parameter, such as `model`.
pub(crate) fn required_str<'a>(
    request: &'a Value,
    name: &'static str,
) -> Result<&'a str, ApiError> {
    required(request, name)?
        .as_str()
        .ok_or_else(|| ApiError::missing_param(name))
}

/// Whether a boolean parameter is `true`; `path` is a JSON pointer such as `/stream`.
pub(crate) fn flag(request: &Value, path: &str) -> bool {
    request.pointer(path).and_then(Value::as_bool) == Some(true)
}

/// Characters of prompt text in a string, an array, or message / content-part objects
/// (their `content` and `text` fields).
pub(crate) fn text_chars(value: &Value) -> usize {
    match value {
        Value::String(text) => text.chars().count(),
        Value::Array(items) => items.iter().map(text_chars).sum(),
        Value::Object(fields) => ["content", "text"]
            .iter()
            .filter_map(|name| fields.get(*name))
            .map(text_chars)
            .sum(),
        _ => 0,
    }
}
