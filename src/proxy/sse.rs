//! Server-sent events on their way from the upstream to the client.
//!
//! Events are passed on as soon as they are complete, byte for byte. Each one is looked at for
//! `usage` (chat and completions usage chunks, the Responses API's `response.completed`). When
//! the proxy itself asked for usage (`stream_options.include_usage`) on behalf of metering, it
//! takes out what that option adds, textually and without re-serialising: the final chunk with
//! `"choices":[]` and the usage, and the `"usage":null` member on every other chunk.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::metering::prices::Tokens;
use crate::metering::usage;

/// A partial event longer than this is passed on as it is rather than held any longer.
const MAX_PENDING: usize = 1 << 20;

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

/// The relay's state for one stream.
pub struct SseRelay {
    pending: BytesMut,
    /// Bytes of `pending` already searched for an event end.
    searched: usize,
    strip_usage: bool,
}

impl SseRelay {
    /// A relay; `strip_usage` when the proxy added `include_usage` the client did not ask for.
    pub fn new(strip_usage: bool) -> SseRelay {
        SseRelay {
            pending: BytesMut::new(),
            searched: 0,
            strip_usage,
        }
    }

    /// Takes the next upstream chunk; returns the complete events to pass on now (possibly
    /// none) and records any usage they report.
    pub fn feed(&mut self, chunk: &[u8], usage: &mut Option<Tokens>) -> Bytes {
        self.pending.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        while let Some(end) = event_end(&self.pending, self.searched.saturating_sub(2)) {
            let event = self.pending.split_to(end).freeze();
            self.searched = 0;
            self.relay_event(event, usage, &mut out);
        }
        self.searched = self.pending.len();
        if self.pending.len() > MAX_PENDING {
            out.extend_from_slice(&self.pending.split());
            self.searched = 0;
        }
        out.freeze()
    }

    /// The upstream ended: whatever is left (an event without its blank line) goes on as is.
    pub fn finish(&mut self, usage: &mut Option<Tokens>) -> Bytes {
        let rest = self.pending.split().freeze();
        if let Some(tokens) = observe(&data_of(&rest)).0 {
            *usage = Some(tokens);
        }
        rest
    }

    fn relay_event(&self, event: Bytes, usage: &mut Option<Tokens>, out: &mut BytesMut) {
        let data = data_of(&event);
        let (tokens, usage_only_chunk) = observe(&data);
        if let Some(tokens) = tokens {
            *usage = Some(tokens);
        }
        if !self.strip_usage {
            out.extend_from_slice(&event);
        } else if usage_only_chunk {
            // The chunk the client did not ask for: dropped whole.
        } else if let Some(without) = remove_null_usage(&event) {
            out.extend_from_slice(&without);
        } else {
            out.extend_from_slice(&event);
        }
    }
}

/// The index just past the blank line ending the first complete event, searching from `from`.
fn event_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
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

/// The usage an event's data reports, and whether it is a usage-only chat/completions chunk
/// (`"choices":[]` with a usage).
fn observe(data: &[u8]) -> (Option<Tokens>, bool) {
    if !contains(data, b"\"usage\"") {
        return (None, false);
    }
    let Ok(frame) = serde_json::from_slice::<Frame<'_>>(data) else {
        return (None, false);
    };
    let top = frame.usage.and_then(|u| usage::parse(u.get().as_bytes()));
    let nested = frame
        .response
        .and_then(|r| r.usage)
        .and_then(|u| usage::parse(u.get().as_bytes()));
    let usage_only = top.is_some() && frame.choices.is_some_and(|c| c.is_empty());
    (top.or(nested), usage_only)
}

/// The event without its one `"usage":null` member (and the comma that joined it), or `None`
/// when there is not exactly one.
fn remove_null_usage(event: &[u8]) -> Option<Vec<u8>> {
    let key = b"\"usage\"";
    let mut found = None;
    let mut at = 0;
    while let Some(offset) = find(&event[at..], key) {
        let start = at + offset;
        let mut j = skip_spaces(event, start + key.len());
        if event.get(j) == Some(&b':') {
            j = skip_spaces(event, j + 1);
            if event[j..].starts_with(b"null") {
                if found.is_some() {
                    return None;
                }
                found = Some((start, j + 4));
            }
        }
        at = start + key.len();
    }
    let (start, end) = found?;
    let before = event[..start]
        .iter()
        .rposition(|b| !b" \t".contains(b))
        .filter(|&k| event[k] == b',');
    let (cut_from, cut_to) = match before {
        Some(comma) => (comma, end),
        None => {
            let next = skip_spaces(event, end);
            if event.get(next) == Some(&b',') {
                (start, next + 1)
            } else {
                (start, end)
            }
        }
    };
    let mut out = Vec::with_capacity(event.len());
    out.extend_from_slice(&event[..cut_from]);
    out.extend_from_slice(&event[cut_to..]);
    Some(out)
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b" \t".contains(b)) {
        i += 1;
    }
    i
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: &str = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"say \\\"usage\\\":null\"}}],\"usage\":null}\n\n";
    const FINISH: &str = "data: {\"id\":\"c\",\"usage\":null,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    const USAGE: &str = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    fn run(strip: bool, stream: &str, piece: usize) -> (String, Option<Tokens>) {
        let mut relay = SseRelay::new(strip);
        let mut usage = None;
        let mut out = Vec::new();
        for chunk in stream.as_bytes().chunks(piece) {
            out.extend_from_slice(&relay.feed(chunk, &mut usage));
        }
        out.extend_from_slice(&relay.finish(&mut usage));
        (String::from_utf8(out).unwrap(), usage)
    }

    #[test]
    fn what_the_proxy_added_is_taken_out_and_usage_counted() {
        let stream = format!("{CHUNK}{FINISH}{USAGE}{DONE}");
        for piece in [1, 5, 64, 4096] {
            let (out, usage) = run(true, &stream, piece);
            assert_eq!(
                out,
                "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"say \\\"usage\\\":null\"}}]}\n\n\
                 data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
                 data: [DONE]\n\n"
            );
            assert_eq!(usage.map(|u| (u.input, u.output)), Some((9, 3)));
        }
    }

    #[test]
    fn a_client_that_asked_gets_the_stream_untouched() {
        let stream = format!("{CHUNK}{FINISH}{USAGE}{DONE}");
        let (out, usage) = run(false, &stream, 7);
        assert_eq!(out, stream);
        assert!(usage.is_some());
    }

    #[test]
    fn responses_usage_comes_from_response_completed() {
        let stream = "event: response.created\r\ndata: {\"type\":\"response.created\",\"response\":{\"usage\":null}}\r\n\r\n\
                      event: response.completed\r\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":20,\"input_tokens_details\":{\"cached_tokens\":5},\"output_tokens\":4}}}\r\n\r\n";
        let (out, usage) = run(false, stream, 3);
        assert_eq!(out, stream);
        assert_eq!(
            usage,
            Some(Tokens {
                input: 20,
                cached: 5,
                output: 4
            })
        );
    }
}
