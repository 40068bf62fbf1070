//! Which headers cross the proxy, in each direction.
//!
//! Upstream: the client's headers minus its credentials and anything about the client's own
//! connection; the person's key goes in as `Authorization: Bearer`. Downstream: the upstream's
//! headers minus hop-by-hop ones, cookies, its CORS headers (the proxy sets its own) and the
//! headers that name the person's OpenAI organization and project.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::vault::ProviderKey;

/// Hop-by-hop headers (RFC 9110 §7.6.1 and the old proxy ones): they describe one connection,
/// never the message, so they are not forwarded in either direction.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Client headers that never reach the upstream, besides the hop-by-hop ones.
const DROPPED_UPSTREAM: [&str; 9] = [
    // Replaced by the person's key.
    "authorization",
    // The app's cookies are none of OpenAI's business.
    "cookie",
    // The person's key decides the organization and project, never the app.
    "openai-organization",
    "openai-project",
    // Set by the HTTP client for the upstream host.
    "host",
    // Recomputed from the body actually sent.
    "content-length",
    // Metering reads `usage` and the scrubber reads error bodies, so the upstream must answer
    // in plain text; the HTTP client asks for no encoding (reqwest is built without
    // decompression), so the upstream answers uncompressed.
    "accept-encoding",
    // Where the app's request came from is not forwarded.
    "forwarded",
    "x-real-ip",
];

/// The headers of the upstream request: the client's, filtered, plus the person's key.
pub fn upstream_request(client: &HeaderMap, key: &ProviderKey) -> HeaderMap {
    let named = named_in_connection(client);
    let mut out = HeaderMap::with_capacity(client.len());
    for (name, value) in client {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || DROPPED_UPSTREAM.contains(&n)
            || n.starts_with("x-forwarded-")
            || named.contains(name)
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let bearer = zeroize::Zeroizing::new(format!("Bearer {}", key.expose()));
    if let Ok(mut value) = HeaderValue::from_str(&bearer) {
        value.set_sensitive(true);
        out.insert(header::AUTHORIZATION, value);
    }
    out
}

/// The headers of the response to the client: the upstream's, filtered. `body_rewritten` drops
/// `Content-Length` too, for bodies the proxy changes.
pub fn client_response(upstream: &HeaderMap, body_rewritten: bool) -> HeaderMap {
    let named = named_in_connection(upstream);
    let mut out = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n)
            || n == "set-cookie"
            // OpenAI names the key's organization and project here: identifiers of the
            // person's account that the app has no need to learn.
            || n == "openai-organization"
            || n == "openai-project"
            || n.starts_with("access-control-")
            || (body_rewritten && n == "content-length")
            || named.contains(name)
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// Header names listed in `Connection` (they are hop-by-hop too).
fn named_in_connection(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_and_connection_headers_stay_behind() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Bearer kw_at_x"),
            ("cookie", "session=1"),
            ("openai-organization", "org-app"),
            ("openai-project", "proj-app"),
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("x-forwarded-for", "10.0.0.1"),
            ("forwarded", "for=10.0.0.1"),
            ("accept-encoding", "gzip"),
            ("content-length", "12"),
            ("host", "keyward.example"),
            ("content-type", "application/json"),
            ("x-stainless-lang", "js"),
            ("openai-beta", "assistants=v2"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let out = upstream_request(&h, &ProviderKey::new("sk-test-123"));
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "x-stainless-lang",
                "openai-beta",
                "authorization"
            ]
        );
        assert_eq!(out["authorization"], "Bearer sk-test-123");
        assert!(out["authorization"].is_sensitive());
    }

    #[test]
    fn cookies_and_hop_headers_do_not_come_back() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("set-cookie", "__cf_bm=1"),
            ("transfer-encoding", "chunked"),
            ("content-length", "42"),
            ("access-control-allow-origin", "https://platform.openai.com"),
            ("x-request-id", "req_1"),
            ("openai-processing-ms", "5"),
            ("openai-organization", "org-person"),
            ("openai-project", "proj_person"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let kept: Vec<String> = client_response(&h, false)
            .keys()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            kept,
            ["content-length", "x-request-id", "openai-processing-ms"]
        );
        assert!(!client_response(&h, true).contains_key("content-length"));
    }
}
