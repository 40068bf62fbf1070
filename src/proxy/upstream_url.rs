//! The upstream URL for a `/v1/…` request: the configured base plus a checked path.
//!
//! The person's key travels with the request, so no input may change where it goes. Instead of
//! `Url::join` (which follows `//host`, `\\host`, `..` and absolute URLs) the path is taken
//! apart segment by segment, each segment is percent-decoded and must consist of a small safe
//! character set, and the URL is put together as text from the base. The result is checked once
//! more: same scheme, host and port as the base, path under the base path.

use url::Url;

/// A path that may be forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The full upstream URL, query included.
    pub url: Url,
    /// The decoded path below `/v1/`, e.g. `chat/completions` (for scopes and policy).
    pub path: String,
}

/// Why a path was refused; all of these answer 404 without contacting the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no path below /v1/")]
    Empty,
    #[error("empty path segment (// or trailing /)")]
    EmptySegment,
    #[error("'.' or '..' segment")]
    DotSegment,
    #[error("malformed percent-encoding")]
    BadEncoding,
    #[error("character outside the safe set")]
    ForbiddenChar,
    #[error("the URL would leave the configured upstream")]
    HostChanged,
}

/// Builds the upstream URL from `base` (e.g. `https://api.openai.com/v1`), the raw path below
/// `/v1/` as the client sent it (still percent-encoded) and the raw query string.
pub fn build(base: &Url, raw_path: &str, query: Option<&str>) -> Result<Target, PathError> {
    if raw_path.is_empty() {
        return Err(PathError::Empty);
    }
    let mut segments = Vec::new();
    for (index, raw) in raw_path.split('/').enumerate() {
        if raw.is_empty() {
            return Err(PathError::EmptySegment);
        }
        let decoded = percent_decode(raw)?;
        if decoded == "." || decoded == ".." {
            return Err(PathError::DotSegment);
        }
        // ':' appears in fine-tuned model ids (`ft:gpt-4o-mini:org::id`) but never in the
        // first segment, the API family; there it could only be a scheme.
        let safe = |c: char| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '~')
                || (c == ':' && index > 0)
        };
        if !decoded.chars().all(safe) {
            return Err(PathError::ForbiddenChar);
        }
        segments.push(decoded);
    }
    let path = segments.join("/");
    if query.is_some_and(|q| q.chars().any(|c| c.is_control() || c == '#')) {
        return Err(PathError::ForbiddenChar);
    }
    let base_path = base.path().trim_end_matches('/');
    let mut text = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    if let Some(q) = query {
        text.push('?');
        text.push_str(q);
    }
    let url = Url::parse(&text).map_err(|_| PathError::HostChanged)?;
    let same_origin = url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none();
    if !same_origin || url.path() != format!("{base_path}/{path}") {
        return Err(PathError::HostChanged);
    }
    Ok(Target { url, path })
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(raw: &str) -> Result<String, PathError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(PathError::BadEncoding)?;
            let hex = std::str::from_utf8(hex).map_err(|_| PathError::BadEncoding)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| PathError::BadEncoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::BadEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://api.openai.com/v1").unwrap()
    }

    #[test]
    fn plain_paths_and_queries_pass() {
        let t = build(&base(), "chat/completions", None).unwrap();
        assert_eq!(t.url.as_str(), "https://api.openai.com/v1/chat/completions");
        assert_eq!(t.path, "chat/completions");
        let t = build(&base(), "files", Some("purpose=batch&limit=2")).unwrap();
        assert_eq!(
            t.url.as_str(),
            "https://api.openai.com/v1/files?purpose=batch&limit=2"
        );
        let t = build(&base(), "models/ft:gpt-4o-mini:acme::abc123", None).unwrap();
        assert_eq!(t.path, "models/ft:gpt-4o-mini:acme::abc123");
        let with_slash = Url::parse("http://127.0.0.1:9/v1/").unwrap();
        let t = build(&with_slash, "models", None).unwrap();
        assert_eq!(t.url.as_str(), "http://127.0.0.1:9/v1/models");
    }

    #[test]
    fn nothing_leaves_the_upstream_host() {
        let cases: &[(&str, PathError)] = &[
            ("", PathError::Empty),
            ("../admin", PathError::DotSegment),
            ("chat/../../x", PathError::DotSegment),
            ("%2e%2e/x", PathError::DotSegment),
            ("%2E%2e/x", PathError::DotSegment),
            (".", PathError::DotSegment),
            ("models/%2e", PathError::DotSegment),
            ("/evil.example/x", PathError::EmptySegment),
            ("models//evil.example", PathError::EmptySegment),
            ("models/", PathError::EmptySegment),
            ("%2f%2fevil.example/x", PathError::ForbiddenChar),
            ("models/a%2fb", PathError::ForbiddenChar),
            ("\\\\evil.example\\x", PathError::ForbiddenChar),
            ("%5c%5cevil.example", PathError::ForbiddenChar),
            ("models/a@evil.example", PathError::ForbiddenChar),
            ("models/%40evil.example", PathError::ForbiddenChar),
            ("https:%2f%2fevil.example", PathError::ForbiddenChar),
            ("https://evil.example/v1", PathError::ForbiddenChar),
            ("http:evil.example", PathError::ForbiddenChar),
            ("models/x%00", PathError::ForbiddenChar),
            ("models/x%0d%0aHost:evil", PathError::ForbiddenChar),
            ("models/%252e%252e", PathError::ForbiddenChar),
            ("models/%zz", PathError::BadEncoding),
            ("models/%2", PathError::BadEncoding),
            ("models/%ff", PathError::BadEncoding),
            ("models/caf%C3%A9", PathError::ForbiddenChar),
            ("models/a?b", PathError::ForbiddenChar),
        ];
        for (input, expected) in cases {
            assert_eq!(
                build(&base(), input, None).as_ref().map_err(|e| *e),
                Err(*expected),
                "{input:?}"
            );
        }
        assert_eq!(
            build(&base(), "models", Some("a=1#frag")),
            Err(PathError::ForbiddenChar)
        );
    }
}
