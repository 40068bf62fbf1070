//! The object shared by chat completions and legacy completions (`id`, `object`, `created`,
//! `model`, `choices`, `usage`), whole or as stream chunks.

use serde::Serialize;

use crate::ids;
use crate::sse::{Event, Stream};
use crate::tokens::Usage;

/// The `system_fingerprint` the mock's "deployment" reports.
const SYSTEM_FINGERPRINT: &str = "fp_0c0ffee1ab";

/// One reply's identity and usage, from which the body or the stream chunks are made.
pub(crate) struct Envelope {
    id: String,
    created: u64,
    model: String,
    usage: Usage,
}

#[derive(Serialize)]
struct Object<'a, C> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<C>,
    /// Absent, `null` (a stream chunk when usage is asked for) or the usage itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<&'a Usage>>,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

impl Envelope {
    /// A new reply with a fresh `{id_prefix}…` id.
    pub(crate) fn new(id_prefix: &str, model: &str, usage: Usage) -> Self {
        Envelope {
            id: ids::alnum(id_prefix, 29),
            created: ids::now(),
            model: model.to_owned(),
            usage,
        }
    }

    fn object<'a, C>(
        &'a self,
        object: &'static str,
        choices: Vec<C>,
        usage: Option<Option<&'a Usage>>,
    ) -> Object<'a, C> {
        Object {
            id: &self.id,
            object,
            created: self.created,
            model: &self.model,
            choices,
            usage,
            service_tier: "default",
            system_fingerprint: SYSTEM_FINGERPRINT,
        }
    }

    /// The non-streamed object, usage included.
    pub(crate) fn whole<C: Serialize>(&self, object: &'static str, choice: C) -> impl Serialize {
        self.object(object, vec![choice], Some(Some(&self.usage)))
    }

    /// The stream: one chunk per `choices` entry, then the `finish` chunk, then — if
    /// `include_usage` — a chunk with no choices and the usage (every other chunk then carries
    /// `"usage":null`), then `[DONE]`. The gate sits before the `finish` chunk.
    pub(crate) fn stream<C: Serialize>(
        &self,
        object: &'static str,
        choices: Vec<C>,
        finish: C,
        include_usage: bool,
    ) -> Stream {
        let placeholder = include_usage.then_some(None);
        let chunk = |choice| Event::data(&self.object(object, vec![choice], placeholder));
        let mut tail = vec![chunk(finish)];
        if include_usage {
            let usage_only = self.object::<C>(object, Vec::new(), Some(Some(&self.usage)));
            tail.push(Event::data(&usage_only));
        }
        tail.push(Event::done());
        Stream {
            body: choices.into_iter().map(chunk).collect(),
            tail,
        }
    }
}
