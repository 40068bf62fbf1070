//! The `/v1` endpoint table: the families of OpenAI endpoints Keyward forwards (each a path
//! prefix, the unit a scope opens and metrics count by), and within each family the rows of
//! (method, path pattern) the proxy must know more about: where the request names its model,
//! whether it reports usage, whether it generates output. A request that falls in a family but
//! matches none of its rows passes through as a plain call that names no model.
//!
//! The scope table ([`crate::scopes`]) lists which families each scope opens and answers, in
//! one lookup, what a request is ([`crate::scopes::endpoint`]).

use axum::http::Method;

/// Where an endpoint's request names its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// Nowhere (files, batches, listings…): the body streams through unread.
    None,
    /// A JSON body's `model` member.
    Json,
    /// A multipart form field `model` (uploads), or a JSON body's `model` for JSON requests.
    Form,
    /// The last path segment (`GET /v1/models/{id}`).
    Path,
}

/// How a request's cost becomes known, and so how a budget bounds it before it runs. The
/// prices for each kind live in [`crate::metering::prices`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metering {
    /// Costs nothing: listings, lookups, deletions, moderation.
    Free,
    /// Token usage reported in the JSON answer or the SSE stream (chat completions, the
    /// Responses API, completions, embeddings); bounded by the input's size and an output cap.
    Tokens,
    /// Images generated or edited: per image by model, size and quality, or image tokens.
    Images,
    /// Text to speech: per input character, or audio tokens.
    Speech,
    /// Speech to text: per second of audio, or tokens.
    Transcription,
    /// Video generation: per second of video.
    Video,
    /// A realtime session: token usage per response, as it happens.
    Realtime,
    /// Work whose cost cannot be bounded before it runs (e.g. a batch whose models and prompts
    /// sit in a file the proxy does not read).
    Unbounded,
}

/// What the proxy needs to know about one kind of request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traits {
    /// How its cost is known and bounded.
    pub metering: Metering,
    /// Where the request names its model.
    pub model: ModelSource,
    /// Streams answer with usage only when asked (`stream_options.include_usage`): chat
    /// completions and legacy completions.
    pub usage_on_request: bool,
    /// Generates output tokens (for the budget estimate).
    pub generates: bool,
    /// `GET /v1/models`: the list is filtered to the grant's allowed models.
    pub model_list: bool,
    /// Names its models inside an input file the proxy does not read (starting a batch), so
    /// only a grant open to any model may make it.
    pub models_in_file: bool,
}

impl Traits {
    /// A request that names no model and reports no usage.
    pub const PLAIN: Traits = Traits {
        metering: Metering::Free,
        model: ModelSource::None,
        usage_on_request: false,
        generates: false,
        model_list: false,
        models_in_file: false,
    };

    /// A JSON request naming its `model`, billed in tokens.
    const JSON: Traits = Traits {
        metering: Metering::Tokens,
        model: ModelSource::Json,
        ..Traits::PLAIN
    };

    /// A JSON request that generates text, reporting usage in streams only when asked.
    const GENERATES_ON_REQUEST: Traits = Traits {
        usage_on_request: true,
        generates: true,
        ..Traits::JSON
    };

    /// An upload naming its `model` in a form field.
    const FORM: Traits = Traits {
        model: ModelSource::Form,
        ..Traits::PLAIN
    };

    /// `self`, metered as `metering`.
    const fn metered_as(self, metering: Metering) -> Traits {
        Traits { metering, ..self }
    }

    /// Whether the endpoint runs a model, and so reports usage and counts against a budget.
    pub fn metered(&self) -> bool {
        matches!(self.model, ModelSource::Json | ModelSource::Form)
    }
}

/// How a row matches a path (below `/v1/`, decoded).
#[derive(Debug)]
pub enum PathPattern {
    /// Exactly this path.
    Exact(&'static str),
    /// This prefix, a `/` and one more segment (an id).
    OneBelow(&'static str),
}

impl PathPattern {
    fn matches(&self, path: &str) -> bool {
        match self {
            Self::Exact(p) => path == *p,
            Self::OneBelow(prefix) => path
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|id| !id.contains('/')),
        }
    }
}

/// One row of a family: a method and a path pattern, and what such a request is.
#[derive(Debug)]
pub struct Route {
    pub method: Method,
    pub path: PathPattern,
    pub traits: Traits,
}

/// A family of endpoints: a path prefix below `/v1/` (the path itself and everything below it,
/// segment-wise) and the rows inside it that need more than [`Traits::PLAIN`].
#[derive(Debug)]
pub struct Family {
    pub prefix: &'static str,
    pub routes: &'static [Route],
}

impl Family {
    /// Whether `path` is the prefix or lies below it (`embeddingsX` is not below `embeddings`).
    pub fn contains(&self, path: &str) -> bool {
        path.strip_prefix(self.prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// What a `method` request to `path` (inside the family) is.
    pub fn traits(&self, method: &Method, path: &str) -> Traits {
        self.routes
            .iter()
            .find(|r| r.method == *method && r.path.matches(path))
            .map_or(Traits::PLAIN, |r| r.traits)
    }
}

/// `POST /v1/…` of exactly `path`.
const fn post(path: &'static str, traits: Traits) -> Route {
    Route {
        method: Method::POST,
        path: PathPattern::Exact(path),
        traits,
    }
}

pub const CHAT_COMPLETIONS: Family = Family {
    prefix: "chat/completions",
    routes: &[post("chat/completions", Traits::GENERATES_ON_REQUEST)],
};

pub const RESPONSES: Family = Family {
    prefix: "responses",
    routes: &[post(
        "responses",
        Traits {
            generates: true,
            ..Traits::JSON
        },
    )],
};

pub const COMPLETIONS: Family = Family {
    prefix: "completions",
    routes: &[post("completions", Traits::GENERATES_ON_REQUEST)],
};

pub const EMBEDDINGS: Family = Family {
    prefix: "embeddings",
    routes: &[post("embeddings", Traits::JSON)],
};

pub const IMAGES: Family = Family {
    prefix: "images",
    routes: &[
        post(
            "images/generations",
            Traits::JSON.metered_as(Metering::Images),
        ),
        post("images/edits", Traits::FORM.metered_as(Metering::Images)),
        post(
            "images/variations",
            Traits::FORM.metered_as(Metering::Images),
        ),
    ],
};

pub const AUDIO: Family = Family {
    prefix: "audio",
    routes: &[
        post("audio/speech", Traits::JSON.metered_as(Metering::Speech)),
        post(
            "audio/transcriptions",
            Traits::FORM.metered_as(Metering::Transcription),
        ),
        post(
            "audio/translations",
            Traits::FORM.metered_as(Metering::Transcription),
        ),
    ],
};

pub const MODERATIONS: Family = Family {
    prefix: "moderations",
    routes: &[post("moderations", Traits::JSON.metered_as(Metering::Free))],
};

pub const MODELS: Family = Family {
    prefix: "models",
    routes: &[
        Route {
            method: Method::GET,
            path: PathPattern::Exact("models"),
            traits: Traits {
                model_list: true,
                ..Traits::PLAIN
            },
        },
        Route {
            method: Method::GET,
            path: PathPattern::OneBelow("models"),
            traits: Traits {
                model: ModelSource::Path,
                ..Traits::PLAIN
            },
        },
    ],
};

pub const FILES: Family = Family {
    prefix: "files",
    routes: &[],
};

pub const UPLOADS: Family = Family {
    prefix: "uploads",
    routes: &[],
};

pub const BATCHES: Family = Family {
    prefix: "batches",
    routes: &[post(
        "batches",
        Traits {
            models_in_file: true,
            ..Traits::PLAIN.metered_as(Metering::Unbounded)
        },
    )],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_match_method_and_path() {
        let post = Method::POST;
        assert_eq!(
            CHAT_COMPLETIONS.traits(&post, "chat/completions"),
            Traits::GENERATES_ON_REQUEST
        );
        // Anything else in a family is a plain call.
        assert_eq!(
            CHAT_COMPLETIONS.traits(&Method::GET, "chat/completions/c_1"),
            Traits::PLAIN
        );
        assert_eq!(
            AUDIO.traits(&post, "audio/transcriptions").model,
            ModelSource::Form
        );
        let get = Method::GET;
        assert!(MODELS.traits(&get, "models").model_list);
        assert_eq!(
            MODELS.traits(&get, "models/gpt-4o").model,
            ModelSource::Path
        );
        assert_eq!(MODELS.traits(&get, "models/a/b"), Traits::PLAIN);
        assert_eq!(MODELS.traits(&post, "models/gpt-4o"), Traits::PLAIN);
        assert!(BATCHES.traits(&post, "batches").models_in_file);
        assert!(!BATCHES.traits(&get, "batches/batch_1").models_in_file);
    }

    #[test]
    fn families_hold_their_prefix_segment_wise() {
        assert!(EMBEDDINGS.contains("embeddings"));
        assert!(RESPONSES.contains("responses/resp_1/cancel"));
        assert!(!EMBEDDINGS.contains("embeddingsX"));
        assert!(!MODELS.contains(""));
    }
}
