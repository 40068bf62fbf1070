//! Where authorization responses may go. Registered redirect URIs match exactly, character for
//! character (RFC 9700 §2.1), except that the port of a loopback URI may vary for native apps
//! (RFC 8252 §7.3). An origin client may use any URI on exactly its origin. Registration only
//! accepts URIs in canonical form, so the exact string comparison cannot be fooled by a parser
//! that reads a URI differently.
//!
//! Written here rather than taken from oxide-auth's `RegisteredUrl`/`IgnoreLocalPortUrl` for the
//! reasons in [`super::pkce`], and because origin clients have no counterpart there.

use url::Url;

use crate::store::clients::{Client, ClientKind};

/// Why a redirect URI (or an origin client_id) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("redirect_uri is not one of the client's registered redirect URIs")]
    NotRegistered,
    #[error("redirect_uri is not on the client's origin {0}")]
    NotOnOrigin(String),
    #[error("redirect_uri is not an absolute URI")]
    Malformed,
    #[error("redirect_uri must not contain a fragment")]
    Fragment,
    #[error("redirect_uri must not contain user information")]
    UserInfo,
    #[error("redirect_uri must be written in canonical form: {0}")]
    NotCanonical(String),
    #[error(
        "redirect_uri must use https, http on a loopback address, or a private-use scheme such as com.example.app"
    )]
    Scheme,
}

/// Host names whose port may vary (RFC 8252 §7.3; `localhost` as RFC 9700 §2.1 allows).
const LOOPBACK_HOSTS: &[&str] = &["127.0.0.1", "[::1]", "localhost"];

/// True when a presented redirect URI matches a registered one: the same string, or the same
/// `http` loopback URI with another port.
pub fn matches_registered(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some(r), Some(q)) => r == q,
        _ => false,
    }
}

/// For `http://HOST[:PORT]REST` with a loopback HOST: `(HOST, REST)`, the URI without its port.
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    LOOPBACK_HOSTS.contains(&host).then_some((host, tail))
}

/// Checks that `client_id` is an exact web origin usable as an origin client:
/// `https://host[:port]`, or `http://` on a loopback host, in canonical form (lower case, no
/// default port, no path).
pub fn origin_client(client_id: &str) -> Option<Url> {
    let url = Url::parse(client_id).ok()?;
    let secure = match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(|h| LOOPBACK_HOSTS.contains(&h)),
        _ => false,
    };
    (secure && url.origin().ascii_serialization() == client_id).then_some(url)
}

/// Checks a redirect URI presented by the origin client `origin`: it must be in canonical form
/// on exactly that origin, without fragment or user information.
pub fn check_on_origin(origin: &str, requested: &str) -> Result<(), RedirectError> {
    let url = parse_plain(requested)?;
    if url.origin().ascii_serialization() != origin
        || !requested.starts_with(origin)
        || !requested[origin.len()..].starts_with('/')
    {
        return Err(RedirectError::NotOnOrigin(origin.to_owned()));
    }
    Ok(())
}

/// Checks that `client` may receive authorization responses at `redirect_uri`: an origin
/// client anywhere on its origin, a registered one at a registered URI.
pub fn check_for_client(client: &Client, redirect_uri: &str) -> Result<(), RedirectError> {
    match client.kind {
        ClientKind::Origin => check_on_origin(&client.id, redirect_uri),
        ClientKind::Registered | ClientKind::Dynamic | ClientKind::FirstParty => client
            .redirect_uris
            .iter()
            .any(|r| matches_registered(r, redirect_uri))
            .then_some(())
            .ok_or(RedirectError::NotRegistered),
    }
}

/// Checks a redirect URI an operator or a dynamic client wants to register.
pub fn check_registrable(uri: &str) -> Result<(), RedirectError> {
    let url = parse_plain(uri)?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback_parts(uri).is_some() => Ok(()),
        // Private-use schemes are reverse domain names (RFC 8252 §7.1).
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(RedirectError::Scheme),
    }
}

/// The origin a `web_message` response is posted to: the redirect URI's exact origin. `None`
/// for URIs that are not web pages (native apps cannot receive messages).
pub fn message_target(redirect_uri: &str) -> Option<String> {
    let url = Url::parse(redirect_uri).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// Parses a URI that has no fragment, no user information and is already canonical.
fn parse_plain(uri: &str) -> Result<Url, RedirectError> {
    let url = Url::parse(uri).map_err(|_| RedirectError::Malformed)?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(RedirectError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectError::UserInfo);
    }
    if url.as_str() != uri {
        return Err(RedirectError::NotCanonical(url.to_string()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_uris_match_exactly() {
        let reg = "https://app.example/callback";
        assert!(matches_registered(reg, reg));
        for bad in [
            "https://app.example/callback/",
            "https://app.example/other",
            "https://app.example:8443/callback",
            "https://APP.example/callback",
            "https://app.example/Callback",
            "https://app.example@evil.example/callback",
            "https://app.example/callback#x",
            "https://app.example/callback?x=1",
            "http://app.example/callback",
        ] {
            assert!(!matches_registered(reg, bad), "{bad}");
        }
    }

    #[test]
    fn only_loopback_ports_vary() {
        let reg = "http://127.0.0.1/cb";
        assert!(matches_registered(reg, "http://127.0.0.1:51234/cb"));
        assert!(matches_registered(
            "http://[::1]:8000/cb",
            "http://[::1]:9000/cb"
        ));
        assert!(matches_registered(
            "http://localhost:3000/cb",
            "http://localhost:3001/cb"
        ));
        assert!(!matches_registered(reg, "http://127.0.0.1:51234/cb/"));
        assert!(!matches_registered(reg, "http://127.0.0.2:51234/cb"));
        assert!(!matches_registered(reg, "http://127.0.0.1.evil.example/cb"));
        assert!(!matches_registered(reg, "http://127.0.0.1@evil.example/cb"));
        assert!(!matches_registered(reg, "https://127.0.0.1:443/cb"));
    }

    #[test]
    fn origin_clients_are_exact_origins() {
        assert!(origin_client("https://app.example").is_some());
        assert!(origin_client("https://app.example:8443").is_some());
        assert!(origin_client("http://localhost:5173").is_some());
        assert!(origin_client("http://127.0.0.1:5173").is_some());
        for bad in [
            "https://app.example/",
            "https://App.example",
            "https://app.example:443",
            "http://app.example",
            "https://user@app.example",
            "app.example",
            "javascript:alert(1)",
            "https://app.example/path",
        ] {
            assert!(origin_client(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn origin_client_redirects_stay_on_the_origin() {
        let o = "https://app.example";
        assert_eq!(check_on_origin(o, "https://app.example/"), Ok(()));
        assert_eq!(check_on_origin(o, "https://app.example/a/b?c=d"), Ok(()));
        for bad in [
            "https://app.example.evil.example/",
            "https://app.example:8443/",
            "https://app.example@evil.example/",
            "https://evil.example/https://app.example/",
            "http://app.example/",
            "https://app.example/#frag",
            "https://app.example",
            "https://app.example/a/../b",
        ] {
            assert!(check_on_origin(o, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registrable_uris() {
        assert_eq!(check_registrable("https://app.example/cb"), Ok(()));
        assert_eq!(check_registrable("http://127.0.0.1/cb"), Ok(()));
        assert_eq!(check_registrable("com.example.app:/oauth"), Ok(()));
        assert_eq!(
            check_registrable("http://app.example/cb"),
            Err(RedirectError::Scheme)
        );
        assert_eq!(
            check_registrable("https://app.example/cb#x"),
            Err(RedirectError::Fragment)
        );
        assert!(matches!(
            check_registrable("HTTPS://app.example/cb"),
            Err(RedirectError::NotCanonical(_))
        ));
        assert_eq!(
            message_target("https://app.example:8443/cb?x").as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(message_target("com.example.app:/oauth"), None);
    }
}
