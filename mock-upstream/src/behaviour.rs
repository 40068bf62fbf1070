//! How the mock misbehaves: delays, failures, cut-offs and the gate.

use serde::{Deserialize, Serialize};

/// Content delta events per stream when [`Behaviour::chunks`] is unset.
const DEFAULT_CHUNKS: usize = 8;

/// Server-wide behaviour; every field defaults to "answer promptly and completely".
///
/// Over HTTP (`PUT /__mock/behaviour`) missing fields take their defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Milliseconds to wait before sending response headers (every `/v1` call).
    pub first_byte_delay_ms: u64,
    /// Milliseconds to wait between SSE events.
    pub event_delay_ms: u64,
    /// Content delta events in chat, completions and responses streams (default 8); the
    /// non-streamed reply holds the same text.
    pub chunks: Option<usize>,
    /// Answer every `/v1` call with this status and an OpenAI error body (after the key check).
    pub fail_status: Option<u16>,
    /// When false, `fail_status` spares `GET /v1/models` (Keyward's sign-up key check).
    pub fail_models: bool,
    /// SSE: abort the connection after this many events (no `[DONE]`). JSON replies of the
    /// model endpoints (chat, completions, responses, embeddings): abort mid-body.
    pub reset_after_events: Option<usize>,
    /// SSE: send every event but the final ones (finish / usage / `[DONE]`, or from
    /// `response.output_text.done` on), then wait for [`crate::MockUpstream::release_gate`]
    /// (or `POST /__mock/release`), at most 30 s.
    pub gate_before_last_event: bool,
    /// Overrides `usage.completion_tokens` (default: the number of chunks, capped by
    /// `max_tokens` / `max_completion_tokens` / `max_output_tokens`).
    pub completion_tokens: Option<u64>,
}

impl Behaviour {
    /// The number of content deltas to send.
    pub(crate) fn chunk_count(&self) -> usize {
        self.chunks.unwrap_or(DEFAULT_CHUNKS)
    }
}
