//! Server-sent events on their way from the upstream to the client.
//!
//! Events are passed on as soon as they are complete, byte for byte, and each complete event is
//! handed to [`crate::metering::usage::sse`] to read its usage. When the proxy itself asked for
//! usage (`stream_options.include_usage`) on behalf of metering, it takes out what that option
//! adds, textually and without re-serialising: the final chunk with `"choices":[]` and the
//! usage, and the `"usage":null` member on every other chunk.

use bytes::{Bytes, BytesMut};

use crate::metering::prices::Tokens;
use crate::metering::usage::sse::read_event;

/// A partial event longer than this is passed on as it is rather than held any longer.
const MAX_PENDING: usize = 1 << 20;

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
    /// none) and the last usage they report.
    pub fn feed(&mut self, chunk: &[u8]) -> (Bytes, Option<Tokens>) {
        self.pending.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        let mut usage = None;
        while let Some(end) = event_end(&self.pending, self.searched.saturating_sub(2)) {
            let event = self.pending.split_to(end).freeze();
            self.searched = 0;
            usage = self.relay_event(event, &mut out).or(usage);
        }
        self.searched = self.pending.len();
        if self.pending.len() > MAX_PENDING {
            out.extend_from_slice(&self.pending.split());
            self.searched = 0;
        }
        (out.freeze(), usage)
    }

    /// The upstream ended: whatever is left (an event without its blank line) goes on as is,
    /// with the usage it reports.
    pub fn finish(&mut self) -> (Bytes, Option<Tokens>) {
        let rest = self.pending.split().freeze();
        let usage = read_event(&rest).tokens;
        (rest, usage)
    }

    /// Passes one complete event on (or what is left of it); returns its usage.
    fn relay_event(&self, event: Bytes, out: &mut BytesMut) -> Option<Tokens> {
        let read = read_event(&event);
        if !self.strip_usage {
            out.extend_from_slice(&event);
        } else if read.usage_only {
            // The chunk the client did not ask for: dropped whole.
        } else if let Some(without) = remove_null_usage(&event) {
            out.extend_from_slice(&without);
        } else {
            out.extend_from_slice(&event);
        }
        read.tokens
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
            let (bytes, seen) = relay.feed(chunk);
            out.extend_from_slice(&bytes);
            usage = seen.or(usage);
        }
        let (rest, seen) = relay.finish();
        out.extend_from_slice(&rest);
        (String::from_utf8(out).unwrap(), seen.or(usage))
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
