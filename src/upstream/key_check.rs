//! Checking a pasted OpenAI key before storing it, at sign-up and when it is replaced:
//! `GET {upstream}/models` with the key, and a plain explanation of what is wrong. The upstream's
//! own message is never shown: OpenAI's 401 echoes the end of the key it was given.

use std::time::Duration;

use super::{Failure, FailureKind};
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
    Unreachable(FailureKind),
    #[error("OpenAI could not check this key (it answered with HTTP {0})")]
    UpstreamError(u16),
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
            KeyProblem::Unreachable(FailureKind::TimedOut) => {
                "OpenAI did not answer in time. Nothing was saved; try again in a moment."
            }
            KeyProblem::Unreachable(FailureKind::Refused) => {
                "Keyward's connection to OpenAI was refused, so your key could not be checked. \
                 Nothing was saved. This is a problem on the server, not with your key: try again \
                 later, and tell whoever runs this Keyward if it keeps happening."
            }
            KeyProblem::Unreachable(FailureKind::Dns) => {
                "Keyward could not look up OpenAI's address, so your key could not be checked. \
                 Nothing was saved. This is a problem on the server, not with your key: try again \
                 later, and tell whoever runs this Keyward if it keeps happening."
            }
            KeyProblem::Unreachable(FailureKind::Tls) => {
                "Keyward could not set up a secure connection to OpenAI, so your key could not \
                 be checked. Nothing was saved. This is a problem on the server, not with your \
                 key: tell whoever runs this Keyward."
            }
            KeyProblem::Unreachable(FailureKind::Other) => {
                "The connection to OpenAI failed, so your key could not be checked. Nothing was \
                 saved; try again in a moment."
            }
            KeyProblem::UpstreamError(_) => {
                "OpenAI answered with an error instead of checking your key. Nothing was saved; \
                 try again in a moment, and tell whoever runs this Keyward if it keeps happening."
            }
        }
    }

    /// The HTTP status of the page that reports it.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            KeyProblem::Unreachable(_) | KeyProblem::UpstreamError(_) => {
                axum::http::StatusCode::BAD_GATEWAY
            }
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
    let upstream = &state.settings.upstream;
    let url = format!("{}/models", upstream.as_str().trim_end_matches('/'));
    let response = tokio::time::timeout(
        CHECK_TIMEOUT,
        state.upstream.get(url).bearer_auth(raw).send(),
    )
    .await;
    let response = match response {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(unreachable(upstream, Failure::of(&e))),
        Err(_) => return Err(unreachable(upstream, Failure::timed_out(CHECK_TIMEOUT))),
    };
    let status = response.status();
    tracing::info!(%upstream, status = status.as_u16(), "key check answered");
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
        other => {
            tracing::warn!(%upstream, status = other, "key check: unexpected answer from the upstream");
            Err(KeyProblem::UpstreamError(other))
        }
    }
}

/// Logs where and how the upstream could not be reached (the base URL: never the key).
fn unreachable(upstream: &url::Url, failure: Failure) -> KeyProblem {
    tracing::warn!(%upstream, %failure, "key check: could not reach the upstream");
    KeyProblem::Unreachable(failure.kind)
}
