//! Helpers: an HTTP client and an incremental SSE reader.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use keyward_mock_upstream::MockUpstream;
use serde_json::Value;

/// An ordinary (valid) upstream key.
pub const KEY: &str = "sk-proj-mocktest0123456789abcdefghij";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build reqwest client")
}

/// `POST {base}/{path}` with the valid key and a JSON body.
pub async fn post(mock: &MockUpstream, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/{path}", mock.base_url()))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .expect("send request")
}

/// One server-sent event.
#[derive(Debug)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
}

impl Frame {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// Reads SSE frames one at a time as the bytes arrive.
pub struct SseReader {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream; charset=utf-8"
        );
        SseReader {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next frame; `Ok(None)` at a clean end, `Err` when the connection breaks.
    /// Safe to cancel: bytes are only taken once they have arrived.
    pub async fn next(&mut self) -> reqwest::Result<Option<Frame>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                return Ok(Some(parse(&frame)));
            }
            match self.body.next().await {
                Some(chunk) => self.buffer.push_str(std::str::from_utf8(&chunk?).unwrap()),
                None => {
                    assert!(self.buffer.is_empty(), "trailing bytes: {:?}", self.buffer);
                    return Ok(None);
                }
            }
        }
    }

    /// Every remaining frame of a stream that must end cleanly.
    pub async fn rest(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next().await.expect("stream ends cleanly") {
            frames.push(frame);
        }
        frames
    }
}

fn parse(frame: &str) -> Frame {
    let mut event = None;
    let mut data = Vec::new();
    for line in frame.lines() {
        if let Some(name) = line.strip_prefix("event: ") {
            event = Some(name.to_owned());
        } else if let Some(payload) = line.strip_prefix("data: ") {
            data.push(payload);
        } else {
            assert!(line.is_empty(), "unexpected SSE line {line:?}");
        }
    }
    Frame {
        event,
        data: data.join("\n"),
    }
}
