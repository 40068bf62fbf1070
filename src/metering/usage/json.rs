//! Usage in a JSON response: the top-level `usage` member, found while the body's bytes stream
//! past, without buffering the body: a small state machine tracks strings, nesting and keys,
//! and copies only the bytes of the `usage` value. Embedding lists and long completions stay
//! streamed.

use crate::metering::prices::Tokens;

/// The largest `usage` value kept; anything bigger is not an OpenAI usage object.
const MAX_CAPTURE: usize = 16 * 1024;
/// Keys longer than this cannot be `usage`, so only this much of each key is kept.
const MAX_KEY: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Expecting a key (after `{` or `,` at depth 1).
    Key,
    /// Read a key, expecting `:`.
    Colon,
    /// Reading a value at depth 1 (or nested deeper).
    Value,
}

/// Incremental scanner for one JSON document's top-level `usage` value.
pub struct JsonUsage {
    depth: u32,
    in_string: bool,
    escape: bool,
    role: Role,
    key: Vec<u8>,
    collecting_key: bool,
    capture: Option<Vec<u8>>,
    found: Option<Vec<u8>>,
}

impl Default for JsonUsage {
    fn default() -> Self {
        JsonUsage {
            depth: 0,
            in_string: false,
            escape: false,
            role: Role::Value,
            key: Vec::with_capacity(MAX_KEY),
            collecting_key: false,
            capture: None,
            found: None,
        }
    }
}

impl JsonUsage {
    /// Feeds the next bytes of the document.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// The tokens the last top-level `usage` value seen in full reports, if any.
    pub fn tokens(&self) -> Option<Tokens> {
        self.raw().and_then(super::parse)
    }

    /// The raw JSON of the last top-level `usage` value seen in full, if any.
    fn raw(&self) -> Option<&[u8]> {
        self.found.as_deref()
    }

    fn push(&mut self, b: u8) {
        if let Some(c) = &mut self.capture {
            if c.len() < MAX_CAPTURE {
                c.push(b);
            } else {
                self.capture = None;
            }
        }
    }

    fn finish_capture(&mut self) {
        if let Some(c) = self.capture.take() {
            self.found = Some(c);
        }
    }

    fn byte(&mut self, b: u8) {
        if self.in_string {
            self.push(b);
            if self.collecting_key && b != b'"' && self.key.len() < MAX_KEY {
                self.key.push(b);
            }
            if self.escape {
                self.escape = false;
            } else if b == b'\\' {
                self.escape = true;
            } else if b == b'"' {
                self.in_string = false;
                if self.collecting_key {
                    self.collecting_key = false;
                    self.role = Role::Colon;
                }
            }
            return;
        }
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.role == Role::Key {
                    self.key.clear();
                    self.collecting_key = true;
                }
                self.push(b);
            }
            b'{' | b'[' => {
                self.push(b);
                self.depth += 1;
                if self.depth == 1 {
                    self.role = if b == b'{' { Role::Key } else { Role::Value };
                }
            }
            b'}' | b']' => {
                if self.depth == 1 {
                    self.finish_capture();
                } else {
                    self.push(b);
                }
                self.depth = self.depth.saturating_sub(1);
            }
            b',' if self.depth == 1 => {
                self.finish_capture();
                self.role = Role::Key;
            }
            b':' if self.depth == 1 && self.role == Role::Colon => {
                self.role = Role::Value;
                if self.key == b"usage" {
                    self.capture = Some(Vec::new());
                }
            }
            b' ' | b'\n' | b'\r' | b'\t' if self.depth == 1 => {}
            _ => self.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_pieces(doc: &str, piece: usize) -> Option<String> {
        let mut s = JsonUsage::default();
        for chunk in doc.as_bytes().chunks(piece) {
            s.feed(chunk);
        }
        s.raw().map(|u| String::from_utf8(u.to_vec()).unwrap())
    }

    #[test]
    fn finds_the_top_level_usage_in_any_chunking() {
        let doc = r#"{"id":"x","choices":[{"message":{"content":"a \"usage\": {\"no\":1}","usage":{"nested":true}}}],
            "usage" : {"prompt_tokens":3,"completion_tokens":{"x":[1,2]}} , "tail":"}"}"#;
        for piece in [1, 2, 3, 7, 1000] {
            assert_eq!(
                scan_in_pieces(doc, piece).as_deref(),
                Some(r#"{"prompt_tokens":3,"completion_tokens":{"x":[1,2]}}"#),
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn usage_as_the_last_member_and_null_usage() {
        assert_eq!(
            scan_in_pieces(r#"{"data":[1.5,2],"usage":{"prompt_tokens":8}}"#, 4).as_deref(),
            Some(r#"{"prompt_tokens":8}"#)
        );
        assert_eq!(
            scan_in_pieces(r#"{"usage":null}"#, 3).as_deref(),
            Some("null")
        );
        assert_eq!(scan_in_pieces(r#"{"data":[]}"#, 3), None);
        assert_eq!(scan_in_pieces(r#"[{"usage":{"a":1}}]"#, 3), None);
    }
}
