//! Checking a pasted OpenAI key before storing it, at sign-up and when it is replaced:
//! `GET {upstream}/models` with the key, and a plain explanation of what is wrong. The upstream's
//! own message is never shown: OpenAI's 401 echoes the end of the key it was given.

use std::time::Duration;

use crate::state::AppState;
use crate::vault::ProviderKey;

/// The longest a person waits for the check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// What is wrong with a key, in words for the person who pasted it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("That does not look like an API key")]
    Malformed,
    #[error("OpenAI did not accept this key")]
    Invalid,
    #[error("This key has no quota left")]
    NoQuota,
    #[error("OpenAI refused this key")]
    Forbidden,
    #[error("We could not reach OpenAI")]
    Unreachable,
}

impl KeyProblem {
    /// What to do about it.
    pub fn advice(&self) -> &'static str {
        match self {
            KeyProblem::Malformed => {
                "Paste the whole secret key as OpenAI showed it (it starts with sk-), without spaces."
            }
            KeyProblem::Invalid => {
                "Check that you copied the whole key and that it has not been revoked, or create a new key at platform.openai.com."
            }
            KeyProblem::NoQuota => {
                "The key is valid but its OpenAI account has no credit or has reached its limit. Add credit in OpenAI's billing settings, then try again."
            }
            KeyProblem::Forbidden => {
                "If this is a restricted key, give it at least read access to Models, or use a key with more permissions."
            }
            KeyProblem::Unreachable => {
                "OpenAI did not answer in time. Nothing was saved; try again in a moment."
            }
        }
    }

    /// The HTTP status of the page that reports it.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            KeyProblem::Unreachable => axum::http::StatusCode::BAD_GATEWAY,
            _ => axum::http::StatusCode::BAD_REQUEST,
        }
    }
}

/// Asks the upstream whether `key` works.
#[tracing::instrument(name = "key_check", skip_all)]
pub async fn check(state: &AppState, key: &ProviderKey) -> Result<(), KeyProblem> {
    let raw = key.expose();
    if raw.is_empty() || raw.len() > 512 || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(KeyProblem::Malformed);
    }
    let url = format!(
        "{}/models",
        state.settings.upstream.as_str().trim_end_matches('/')
    );
    let response = tokio::time::timeout(
        CHECK_TIMEOUT,
        state.upstream.get(url).bearer_auth(raw).send(),
    )
    .await;
    let response = match response {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!(error = %e.without_url(), "key check: upstream unreachable");
            return Err(KeyProblem::Unreachable);
        }
        Err(_) => {
            tracing::warn!("key check: upstream timed out");
            return Err(KeyProblem::Unreachable);
        }
    };
    let status = response.status();
    tracing::info!(status = status.as_u16(), "key check answered");
    match status.as_u16() {
        200..=299 => Ok(()),
        401 => Err(KeyProblem::Invalid),
        403 => Err(KeyProblem::Forbidden),
        429 => {
            let body = response.bytes().await.unwrap_or_default();
            let quota = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    let e = v.get("error")?;
                    Some(
                        e.get("code").and_then(|c| c.as_str()) == Some("insufficient_quota")
                            || e.get("type").and_then(|c| c.as_str()) == Some("insufficient_quota"),
                    )
                })
                .unwrap_or(false);
            // Any other 429 is a rate limit: the key itself works.
            if quota {
                Err(KeyProblem::NoQuota)
            } else {
                Ok(())
            }
        }
        _ => Err(KeyProblem::Unreachable),
    }
}
