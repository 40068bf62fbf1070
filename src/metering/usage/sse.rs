//! Usage in a stream of server-sent events: chat and completions streams report it in a final
//! chunk (`"choices":[]` with a `usage`, sent when `stream_options.include_usage` asks for it),
//! the Responses API in `response.completed` (and `.incomplete`, `.failed`) inside `response`.
//! Events are read one at a time, as the proxy's relay frames them.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::metering::prices::Tokens;

/// The fields of an event's JSON that matter here.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
    choices: Option<Vec<IgnoredAny>>,
    #[serde(borrow)]
    response: Option<ResponseFrame<'a>>,
}

/// `response.completed` (and `.incomplete`, `.failed`) carry the usage inside `response`.
#[derive(Deserialize)]
struct ResponseFrame<'a> {
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
}

/// What one event says about usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventUsage {
    /// The tokens it reports, if any.
    pub tokens: Option<Tokens>,
    /// It is a chat/completions usage chunk (`"choices":[]` with a usage) and nothing else.
    pub usage_only: bool,
}

/// Reads one event (its bytes as framed, `data:` lines and all).
pub fn read_event(event: &[u8]) -> EventUsage {
    let data = data_of(event);
    if !data.windows(7).any(|w| w == b"\"usage\"") {
        return EventUsage::default();
    }
    let Ok(frame) = serde_json::from_slice::<Frame<'_>>(&data) else {
        return EventUsage::default();
    };
    let top = frame.usage.and_then(|u| super::parse(u.get().as_bytes()));
    let nested = frame
        .response
        .and_then(|r| r.usage)
        .and_then(|u| super::parse(u.get().as_bytes()));
    EventUsage {
        usage_only: top.is_some() && frame.choices.is_some_and(|c| c.is_empty()),
        tokens: top.or(nested),
    }
}

/// The event's data: its `data:` lines joined by newlines.
fn data_of(event: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(value) = line.strip_prefix(b"data:") {
            if !data.is_empty() {
                data.push(b'\n');
            }
            data.extend_from_slice(value.strip_prefix(b" ").unwrap_or(value));
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_usage_chunks_and_responses_completed() {
        let chunk = read_event(
            b"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n",
        );
        assert!(chunk.usage_only);
        assert_eq!(chunk.tokens.map(|t| (t.input, t.output)), Some((9, 3)));
        let completed = read_event(
            b"event: response.completed\r\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":20,\"output_tokens\":4}}}\r\n\r\n",
        );
        assert!(!completed.usage_only);
        assert_eq!(completed.tokens.map(|t| (t.input, t.output)), Some((20, 4)));
        let content = read_event(b"data: {\"choices\":[{\"delta\":{}}],\"usage\":null}\n\n");
        assert_eq!(content, EventUsage::default());
        assert_eq!(read_event(b"data: [DONE]\n\n"), EventUsage::default());
    }
}
