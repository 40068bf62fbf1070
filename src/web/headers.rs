//! Security headers on every page and protocol response: a strict content security policy, no
//! framing (clickjacking), no referrers (codes and request ids stay out of other sites' logs),
//! no MIME sniffing, and HSTS when served over https.
//!
//! `Cross-Origin-Opener-Policy` is deliberately absent: `same-origin` would sever
//! `window.opener`, which `response_mode=web_message` needs to hand the code back to the app.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// A content security policy: the strict default, optionally letting forms lead (by redirect)
/// to one more target, the app's redirect URI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Csp {
    form_target: Option<String>,
}

impl Csp {
    /// The policy of every page that does not say otherwise.
    pub const DEFAULT: &'static str = "default-src 'self'; script-src 'self'; style-src 'self'; \
         img-src 'self' https: data:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'";

    /// Lets this page's forms end in a redirect to `redirect_uri` (browsers apply
    /// `form-action` to redirects after a submission). An http(s) URI adds its origin, any other
    /// (a native app's private-use scheme) adds its scheme.
    pub fn with_form_target(redirect_uri: &str) -> Csp {
        let target = url::Url::parse(redirect_uri)
            .ok()
            .map(|u| match u.scheme() {
                "http" | "https" => u.origin().ascii_serialization(),
                scheme => format!("{scheme}:"),
            });
        Csp {
            form_target: target,
        }
    }
}

impl std::fmt::Display for Csp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Self::DEFAULT)?;
        if let Some(target) = &self.form_target {
            write!(f, " {target}")?;
        }
        Ok(())
    }
}

/// Middleware adding the headers to every response that does not set its own.
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let defaults = [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, Csp::DEFAULT),
    ];
    for (name, value) in defaults {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if state.settings.secure_cookies() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_are_origins_or_schemes() {
        assert_eq!(Csp::default().to_string(), Csp::DEFAULT);
        let csp = Csp::with_form_target("https://app.example:8443/cb?x=1").to_string();
        assert!(
            csp.ends_with("form-action 'self' https://app.example:8443"),
            "{csp}"
        );
        let native = Csp::with_form_target("com.example.app:/oauth").to_string();
        assert!(
            native.ends_with("form-action 'self' com.example.app:"),
            "{native}"
        );
        assert!(Csp::DEFAULT.contains("frame-ancestors 'none'"));
    }
}
