//! What an endpoint needs checked: the scope that opens it, where its `model` is, whether it
//! reports token usage, and whether the grant's model allowlist lets the request through.

use axum::http::Method;

use super::errors::ProxyError;
use crate::scopes::{self, Scope};
use crate::store::grants::Grant;

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

/// The proxy's view of one endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub scope: &'static Scope,
    pub model: ModelSource,
    /// Streams answer with usage only when asked (`stream_options.include_usage`): chat
    /// completions and legacy completions.
    pub usage_on_request: bool,
    /// Generates output tokens (for the budget estimate).
    pub generates: bool,
    /// `GET /v1/models`: the list is filtered to the grant's allowed models.
    pub model_list: bool,
}

impl Endpoint {
    /// Whether the endpoint runs a model, and so reports usage and counts against a budget.
    pub fn metered(&self) -> bool {
        matches!(self.model, ModelSource::Json | ModelSource::Form)
    }
}

/// Classifies `path` (below `/v1/`, decoded) and checks that `grant` has a scope for it.
pub fn endpoint(grant: &Grant, method: &Method, path: &str) -> Result<Endpoint, ProxyError> {
    let scope = scopes::required_for(path).ok_or(ProxyError::ScopeNotGranted { scope: None })?;
    if !grant.scopes.iter().any(|s| s == scope.name) {
        return Err(ProxyError::ScopeNotGranted {
            scope: Some(scope.name),
        });
    }
    let post = method == Method::POST;
    if post && path == "batches" && !grant.limits.models.is_empty() {
        return Err(ProxyError::BatchNeedsAnyModel);
    }
    let model = match path {
        "chat/completions" | "completions" | "responses" | "embeddings" | "moderations"
        | "images/generations" | "audio/speech"
            if post =>
        {
            ModelSource::Json
        }
        "images/edits" | "images/variations" | "audio/transcriptions" | "audio/translations"
            if post =>
        {
            ModelSource::Form
        }
        _ if method == Method::GET
            && path.starts_with("models/")
            && path.matches('/').count() == 1 =>
        {
            ModelSource::Path
        }
        _ => ModelSource::None,
    };
    Ok(Endpoint {
        scope,
        model,
        usage_on_request: post && matches!(path, "chat/completions" | "completions"),
        generates: post && matches!(path, "chat/completions" | "completions" | "responses"),
        model_list: method == Method::GET && path == "models",
    })
}

/// The grant's model allowlist (empty = any model) admits `model`.
pub fn check_model(grant: &Grant, model: Option<&str>) -> Result<(), ProxyError> {
    let allowed = &grant.limits.models;
    if allowed.is_empty() || model.is_some_and(|m| allowed.iter().any(|a| a == m)) {
        return Ok(());
    }
    Err(ProxyError::ModelNotAllowed {
        model: model.map(str::to_owned),
    })
}

/// `GET /v1/models` answered by the upstream, with only the allowed models kept. `None` when
/// the body is not a model list (it then passes as it is).
pub fn filter_model_list(body: &[u8], allowed: &[String]) -> Option<Vec<u8>> {
    let mut list: serde_json::Value = serde_json::from_slice(body).ok()?;
    list.get_mut("data")?.as_array_mut()?.retain(|m| {
        m["id"]
            .as_str()
            .is_some_and(|id| allowed.iter().any(|a| a == id))
    });
    serde_json::to_vec(&list).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::grants::Limits;

    fn grant(scopes: &[&str], models: &[&str]) -> Grant {
        Grant::new(
            "u",
            "c",
            scopes.iter().map(|s| (*s).to_owned()).collect(),
            Limits {
                models: models.iter().map(|s| (*s).to_owned()).collect(),
                ..Limits::default()
            },
            0,
        )
    }

    #[test]
    fn scopes_gate_endpoints() {
        let g = grant(&["openai.chat"], &[]);
        let e = endpoint(&g, &Method::POST, "chat/completions").unwrap();
        assert!(e.metered() && e.usage_on_request && e.generates);
        assert!(matches!(
            endpoint(&g, &Method::POST, "embeddings"),
            Err(ProxyError::ScopeNotGranted {
                scope: Some("openai.embeddings")
            })
        ));
        assert!(matches!(
            endpoint(&g, &Method::GET, "fine_tuning/jobs"),
            Err(ProxyError::ScopeNotGranted { scope: None })
        ));
        let g = grant(&["openai.models", "openai.audio"], &[]);
        assert!(endpoint(&g, &Method::GET, "models").unwrap().model_list);
        assert_eq!(
            endpoint(&g, &Method::GET, "models/gpt-4o").unwrap().model,
            ModelSource::Path
        );
        assert_eq!(
            endpoint(&g, &Method::POST, "audio/transcriptions")
                .unwrap()
                .model,
            ModelSource::Form
        );
    }

    #[test]
    fn batches_need_a_grant_open_to_any_model() {
        let limited = grant(&["openai.batches"], &["gpt-4o-mini"]);
        assert!(matches!(
            endpoint(&limited, &Method::POST, "batches"),
            Err(ProxyError::BatchNeedsAnyModel)
        ));
        // Following an existing batch names no model and stays open.
        assert!(endpoint(&limited, &Method::GET, "batches/batch_1").is_ok());
        let open = grant(&["openai.batches"], &[]);
        assert!(endpoint(&open, &Method::POST, "batches").is_ok());
    }

    #[test]
    fn allowlists_admit_only_their_models() {
        assert!(check_model(&grant(&[], &[]), None).is_ok());
        let g = grant(&[], &["gpt-4o-mini"]);
        assert!(check_model(&g, Some("gpt-4o-mini")).is_ok());
        assert!(check_model(&g, Some("gpt-4o")).is_err());
        assert!(check_model(&g, None).is_err());
        let filtered = filter_model_list(
            br#"{"object":"list","data":[{"id":"gpt-4o"},{"id":"gpt-4o-mini"}]}"#,
            &["gpt-4o-mini".to_owned()],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(filtered).unwrap(),
            r#"{"object":"list","data":[{"id":"gpt-4o-mini"}]}"#
        );
    }
}
