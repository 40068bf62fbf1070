//! `POST /v1/embeddings`: deterministic 8-dimensional vectors, as floats or base64.

use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::errors::ApiError;
use crate::input;
use crate::reply;
use crate::state::Ctx;
use crate::tokens;

/// Dimensions of every vector.
const DIMENSIONS: usize = 8;

#[derive(Serialize)]
struct List<'a> {
    object: &'static str,
    data: Vec<Embedding>,
    model: &'a str,
    usage: Usage,
}

#[derive(Serialize)]
struct Embedding {
    object: &'static str,
    index: usize,
    embedding: Vector,
}

/// Floats, or (with `encoding_format: "base64"`) base64 of little-endian `f32`s.
#[derive(Serialize)]
#[serde(untagged)]
enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}

#[derive(Serialize)]
struct Usage {
    prompt_tokens: u64,
    total_tokens: u64,
}

/// One input: what its vector is derived from, and what it costs.
struct Input {
    seed: String,
    tokens: u64,
}

/// An embedding list, one vector per input (a string, a token array, or an array of either).
pub(crate) async fn create(ctx: Ctx, body: Bytes) -> Result<Response, ApiError> {
    let request = input::json_object(&body)?;
    let model = input::required_str(&request, "model")?;
    let inputs = inputs(input::required(&request, "input")?)?;
    let base64 = request.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let floats = vector(&input.seed);
            Embedding {
                object: "embedding",
                index,
                embedding: if base64 {
                    Vector::Base64(
                        STANDARD.encode(
                            floats
                                .iter()
                                .flat_map(|f| f.to_le_bytes())
                                .collect::<Vec<u8>>(),
                        ),
                    )
                } else {
                    Vector::Floats(floats.to_vec())
                },
            }
        })
        .collect();
    let prompt_tokens = inputs.iter().map(|input| input.tokens).sum();
    let list = List {
        object: "list",
        data,
        model,
        usage: Usage {
            prompt_tokens,
            total_tokens: prompt_tokens,
        },
    };
    Ok(reply::json(ctx, &list))
}

fn inputs(value: &Value) -> Result<Vec<Input>, ApiError> {
    if let Some(single) = one_input(value) {
        return Ok(vec![single]);
    }
    match value {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(one_input)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::missing_param("input")),
        _ => Err(ApiError::missing_param("input")),
    }
}

/// A string, or a non-empty array of token ids.
fn one_input(value: &Value) -> Option<Input> {
    match value {
        Value::String(text) => Some(Input {
            seed: text.clone(),
            tokens: tokens::estimate(text.chars().count()),
        }),
        Value::Array(ids) if !ids.is_empty() && ids.iter().all(Value::is_u64) => Some(Input {
            seed: value.to_string(),
            tokens: ids.len() as u64,
        }),
        _ => None,
    }
}

/// A unit vector that depends only on `seed`.
fn vector(seed: &str) -> [f32; DIMENSIONS] {
    // FNV-1a, then an xorshift walk for the components.
    let mut state = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut floats = [0.0_f32; DIMENSIONS];
    for float in &mut floats {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *float = (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
    }
    let norm = floats
        .iter()
        .map(|f| f * f)
        .sum::<f32>()
        .sqrt()
        .max(f32::EPSILON);
    floats.map(|f| f / norm)
}
