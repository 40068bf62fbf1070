//! Request bodies the proxy must read: JSON (for `model`, `stream`, the length caps) and
//! multipart forms (for the `model` field of uploads). Everything else streams through unread.
//!
//! The one rewrite: a streaming chat or completions request that did not ask for usage gets
//! `stream_options.include_usage = true`, so the stream can be metered. Only that member is
//! written anew; every other member's JSON text is copied as it came.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::errors::ProxyError;
use crate::endpoints::{ModelSource, Traits};
use crate::metering::estimate::RequestShape;

/// The body to send upstream.
pub enum Outgoing {
    /// A body the proxy read (and maybe rewrote).
    Read(Bytes),
    /// The client's body, streamed through, cut off past `limit` bytes.
    Stream { body: Body, limit: usize },
}

/// What the request body told the proxy, and the body to send on.
pub struct ReadBody {
    pub outgoing: Outgoing,
    /// The JSON members the proxy looks at (JSON bodies only).
    pub fields: Option<Fields>,
    /// The model the request names, wherever the endpoint names it.
    pub model: Option<String>,
    /// The body's size in bytes (as declared, for bodies streamed through).
    pub size: usize,
}

impl ReadBody {
    /// Reads the body where the endpoint's model (`model`) must be known; streams it through
    /// otherwise. `path` is the decoded path below `/v1/`; `limit` is `body_limit`.
    pub async fn read(
        headers: &HeaderMap,
        body: Body,
        model: ModelSource,
        path: &str,
        limit: usize,
    ) -> Result<ReadBody, ProxyError> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let json = content_type.is_empty() || content_type.contains("json");
        match model {
            ModelSource::None | ModelSource::Path => Ok(ReadBody {
                outgoing: Outgoing::Stream { body, limit },
                fields: None,
                model: (model == ModelSource::Path)
                    .then(|| path.rsplit('/').next().unwrap_or_default().to_owned()),
                size: declared.unwrap_or(0),
            }),
            ModelSource::Json | ModelSource::Form if json => {
                let bytes = read_whole(body, limit).await?;
                let fields = Fields::parse(&bytes)?;
                Ok(ReadBody {
                    model: fields.model().map(str::to_owned),
                    size: bytes.len(),
                    fields: Some(fields),
                    outgoing: Outgoing::Read(bytes),
                })
            }
            ModelSource::Json => Err(ProxyError::InvalidJson),
            ModelSource::Form => {
                let bytes = read_whole(body, limit).await?;
                let model = form_model(&content_type, bytes.clone()).await?;
                Ok(ReadBody {
                    model,
                    size: bytes.len(),
                    fields: None,
                    outgoing: Outgoing::Read(bytes),
                })
            }
        }
    }

    /// Asks for usage in a stream whose client did not (on endpoints that report it only
    /// when asked), so the stream can be metered. Returns whether it did: the relay then takes
    /// out again what the client did not ask for.
    pub fn ask_for_usage(&mut self, traits: &Traits) -> Result<bool, ProxyError> {
        let asks = traits.usage_on_request
            && self
                .fields
                .as_ref()
                .is_some_and(|f| f.stream() && !f.include_usage());
        if asks && let Outgoing::Read(bytes) = &self.outgoing {
            self.outgoing = Outgoing::Read(with_include_usage(bytes)?.into());
        }
        Ok(asks)
    }

    /// The request facts the budget estimate is made from.
    pub fn shape(&self, traits: &Traits) -> RequestShape<'_> {
        RequestShape {
            model: self.model.as_deref(),
            body_bytes: self.size,
            max_output_tokens: self.fields.as_ref().and_then(Fields::max_output_tokens),
            choices: self.fields.as_ref().map_or(1, Fields::choices),
            generates: traits.generates,
        }
    }
}

/// Reads a whole body, refusing more than `limit` bytes.
async fn read_whole(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        // A body that breaks off is not a JSON document either.
        let chunk = chunk.map_err(|_| ProxyError::InvalidJson)?;
        if buf.len() + chunk.len() > limit {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The members of a JSON request body that the proxy looks at.
#[derive(Debug, Default, Deserialize)]
pub struct Fields {
    model: Option<Value>,
    stream: Option<Value>,
    stream_options: Option<Value>,
    max_tokens: Option<Value>,
    max_completion_tokens: Option<Value>,
    max_output_tokens: Option<Value>,
    n: Option<Value>,
}

impl Fields {
    /// Parses a JSON object body (anything else is a 400).
    pub fn parse(body: &[u8]) -> Result<Fields, ProxyError> {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(ProxyError::InvalidJson);
        }
        serde_json::from_slice(body).map_err(|_| ProxyError::InvalidJson)
    }

    /// `model`, when it is a string.
    pub fn model(&self) -> Option<&str> {
        self.model.as_ref()?.as_str()
    }

    /// `stream: true`.
    pub fn stream(&self) -> bool {
        self.stream.as_ref().and_then(Value::as_bool) == Some(true)
    }

    /// `stream_options.include_usage: true`.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// The output cap, whichever of the three names the request uses.
    pub fn max_output_tokens(&self) -> Option<u64> {
        [
            &self.max_completion_tokens,
            &self.max_tokens,
            &self.max_output_tokens,
        ]
        .into_iter()
        .find_map(|v| v.as_ref().and_then(Value::as_u64))
    }

    /// `n`, the number of choices (1 when unset).
    pub fn choices(&self) -> u64 {
        self.n.as_ref().and_then(Value::as_u64).unwrap_or(1).max(1)
    }
}

/// The top-level members of a JSON object, in order, as raw JSON text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// The body with `stream_options.include_usage` set to true (other `stream_options` members
/// kept), everything else copied verbatim.
fn with_include_usage(body: &[u8]) -> Result<Vec<u8>, ProxyError> {
    let text = std::str::from_utf8(body).map_err(|_| ProxyError::InvalidJson)?;
    let members: Members<'_> = serde_json::from_str(text).map_err(|_| ProxyError::InvalidJson)?;
    let mut options = serde_json::Map::new();
    let mut out = Vec::with_capacity(body.len() + 40);
    out.push(b'{');
    for (name, raw) in &members.0 {
        if name == "stream_options" {
            if let Ok(Value::Object(o)) = serde_json::from_str(raw.get()) {
                options = o;
            }
            continue;
        }
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(&serde_json::to_vec(name).map_err(|_| ProxyError::InvalidJson)?);
        out.push(b':');
        out.extend_from_slice(raw.get().as_bytes());
    }
    options.insert("include_usage".into(), Value::Bool(true));
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream_options\":");
    out.extend_from_slice(&serde_json::to_vec(&options).map_err(|_| ProxyError::InvalidJson)?);
    out.push(b'}');
    Ok(out)
}

/// The `model` field of a multipart form body.
async fn form_model(content_type: &str, body: Bytes) -> Result<Option<String>, ProxyError> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| ProxyError::InvalidMultipart)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| ProxyError::InvalidMultipart)?
    {
        if field.name() == Some("model") {
            let model = field
                .text()
                .await
                .map_err(|_| ProxyError::InvalidMultipart)?;
            return Ok(Some(model.trim().to_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_usage_is_added_and_nothing_else_changes() {
        let body = br#"{"model":"gpt-4o-mini", "messages":[{"role":"user","content":"hi \"there\""}],"temperature":0.70,"stream":true}"#;
        let out = String::from_utf8(with_include_usage(body).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi \"there\""}],"temperature":0.70,"stream":true,"stream_options":{"include_usage":true}}"#
        );
        let body = br#"{"stream_options":{"include_usage":false,"x":1},"stream":true}"#;
        let out = String::from_utf8(with_include_usage(body).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"{"stream":true,"stream_options":{"include_usage":true,"x":1}}"#
        );
    }

    #[test]
    fn fields_are_read_leniently_but_only_from_objects() {
        let f = Fields::parse(br#"{"model":"m","stream":true,"max_tokens":50,"n":2,"stream_options":{"include_usage":true}}"#).unwrap();
        assert_eq!(f.model(), Some("m"));
        assert!(f.stream() && f.include_usage());
        assert_eq!((f.max_output_tokens(), f.choices()), (Some(50), 2));
        assert!(Fields::parse(b"[1]").is_err());
        assert!(Fields::parse(b"model=gpt").is_err());
        assert_eq!(Fields::parse(br#"{"model":5}"#).unwrap().model(), None);
    }

    #[tokio::test]
    async fn multipart_model_field() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--b--\r\n";
        let model = form_model("multipart/form-data; boundary=b", Bytes::from(body))
            .await
            .unwrap();
        assert_eq!(model.as_deref(), Some("whisper-1"));
        assert!(form_model("application/json", Bytes::new()).await.is_err());
    }
}
