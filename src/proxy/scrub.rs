//! Upstream error bodies that quote the person's key are rewritten before they reach the app.
//!
//! OpenAI's 401 says "Incorrect API key provided: sk-proj-****…abcd": the first characters and
//! the last four. Any run of [`RUN`] characters of the key's secret part (the key without its
//! public `sk-…-` prefix) found in an error body counts as an echo. The rewritten body keeps
//! status, `type`, `param` and `code` (when they quote nothing) and replaces the message with
//! one that tells the app what to do.

use serde::Deserialize;

use super::errors::{Detail, error_body};

/// Length of the shortest run of key characters treated as an echo.
pub const RUN: usize = 4;

#[derive(Deserialize)]
struct Envelope {
    error: Option<UpstreamError>,
}

#[derive(Deserialize)]
struct UpstreamError {
    #[serde(rename = "type")]
    kind: Option<String>,
    param: Option<String>,
    code: Option<serde_json::Value>,
}

/// The secret part of a key: what follows `sk-` and an optional alphabetic kind and `-`
/// (`sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`).
pub fn secret_part(key: &str) -> &str {
    let Some(rest) = key.strip_prefix("sk-") else {
        return key;
    };
    match rest.split_once('-') {
        Some((kind, secret))
            if !kind.is_empty()
                && kind.bytes().all(|b| b.is_ascii_alphabetic())
                && !secret.is_empty() =>
        {
            secret
        }
        _ => rest,
    }
}

/// Whether `text` contains any run of [`RUN`] consecutive characters of `secret`.
pub fn echoes(text: &[u8], secret: &str) -> bool {
    let secret = secret.as_bytes();
    if secret.len() < RUN {
        return !secret.is_empty() && text.windows(secret.len()).any(|w| w == secret);
    }
    let runs: std::collections::HashSet<&[u8]> = secret.windows(RUN).collect();
    text.windows(RUN).any(|w| runs.contains(w))
}

/// The body to send instead of `body`, or `None` when `body` quotes nothing of the key.
/// `account_url` is where the person can replace their key.
pub fn scrub(status: u16, body: &[u8], key: &str, account_url: &str) -> Option<Vec<u8>> {
    let secret = secret_part(key);
    if !echoes(body, secret) {
        return None;
    }
    let upstream = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.error);
    let clean = |s: &str| !echoes(s.as_bytes(), secret);
    let kind = upstream
        .as_ref()
        .and_then(|e| e.kind.as_deref())
        .filter(|k| clean(k))
        .unwrap_or(if status >= 500 {
            "server_error"
        } else {
            "invalid_request_error"
        });
    let param = upstream
        .as_ref()
        .and_then(|e| e.param.as_deref())
        .filter(|p| clean(p));
    let code = upstream
        .as_ref()
        .and_then(|e| e.code.as_ref())
        .and_then(serde_json::Value::as_str)
        .filter(|c| clean(c));
    let message = if status == 401 {
        format!(
            "The OpenAI key behind this Keyward grant was rejected by OpenAI; the person who \
             approved this app can replace it at {account_url}"
        )
    } else {
        format!(
            "OpenAI returned an error (status {status}) whose message quoted part of the OpenAI \
             key behind this Keyward grant, so Keyward removed it."
        )
    };
    let rewritten = error_body(Detail {
        message: &message,
        kind,
        param,
        code,
    });
    // The replacement's own words (e.g. the account URL) could, by chance, share a run with
    // the key: then say less.
    if echoes(&rewritten, secret) {
        return Some(error_body(Detail {
            message: "OpenAI returned an error that quoted the key behind this Keyward grant.",
            kind: "invalid_request_error",
            param: None,
            code: None,
        }))
        .filter(|b| !echoes(b, secret))
        .or_else(|| Some(b"{\"error\":{}}".to_vec()));
    }
    Some(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proj-Zq8vX2mNw7Lp4Rt9Kc3Hd6Ja1BfQe5Uy0abcd";

    #[test]
    fn openais_masked_echo_is_rewritten() {
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-proj-********************abcd. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let out = scrub(401, body, KEY, "https://keyward.example/account").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["error"]["code"], "invalid_api_key");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("https://keyward.example/account")
        );
        assert!(!echoes(&out, secret_part(KEY)));
    }

    #[test]
    fn errors_that_quote_nothing_pass() {
        let body = br#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        assert_eq!(scrub(429, body, KEY, "https://k.example/account"), None);
    }

    #[test]
    fn secret_parts_skip_public_prefixes() {
        assert_eq!(secret_part("sk-proj-abc"), "abc");
        assert_eq!(secret_part("sk-svcacct-a-b_c"), "a-b_c");
        assert_eq!(secret_part("sk-abc"), "abc");
        assert_eq!(secret_part("sk-ab1-cd"), "ab1-cd");
        assert_eq!(secret_part("other"), "other");
    }
}
