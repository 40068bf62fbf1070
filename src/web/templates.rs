//! The HTML pages: minijinja templates embedded in the binary, rendered into [`Page`]s.
//!
//! Templates auto-escape everything (they all end in `.html`); data that scripts need travels
//! in `<script type="application/json">` elements written with `tojson`, which escapes `<`, `>`
//! and `&`, so no value can close the element or run as script.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;

use super::headers::Csp;

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("landing.html", include_str!("../../templates/landing.html")),
    ("signin.html", include_str!("../../templates/signin.html")),
    ("signup.html", include_str!("../../templates/signup.html")),
    (
        "signup_passkey.html",
        include_str!("../../templates/signup_passkey.html"),
    ),
    ("consent.html", include_str!("../../templates/consent.html")),
    (
        "web_message.html",
        include_str!("../../templates/web_message.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("account.html", include_str!("../../templates/account.html")),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env
});

/// A rendered HTML page with its status and content security policy. Pages are never cached:
/// they carry CSRF tokens and per-request data.
pub struct Page {
    status: StatusCode,
    html: String,
    csp: Csp,
}

impl Page {
    /// Renders `template` with `context`. A template error is a bug; it is logged and shown as
    /// a plain error page rather than a half-rendered one.
    pub fn render(template: &str, context: minijinja::Value) -> Page {
        let html = ENV
            .get_template(template)
            .and_then(|t| t.render(context))
            .unwrap_or_else(|e| {
                tracing::error!(template, error = %e, "page template failed to render");
                "<!doctype html><title>Keyward</title><p>Something went wrong on our side. \
                 Please try again."
                    .to_owned()
            });
        Page {
            status: StatusCode::OK,
            html,
            csp: Csp::default(),
        }
    }

    /// Sets the status code.
    pub fn status(mut self, status: StatusCode) -> Page {
        self.status = status;
        self
    }

    /// Replaces the content security policy (e.g. to let a form lead to an app's redirect URI).
    pub fn csp(mut self, csp: Csp) -> Page {
        self.csp = csp;
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let csp = HeaderValue::from_str(&self.csp.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(Csp::DEFAULT));
        (
            self.status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::CONTENT_SECURITY_POLICY, csp),
            ],
            self.html,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_json_cannot_break_out() {
        assert_eq!(ENV.templates().count(), TEMPLATES.len());
        let page = Page::render(
            "web_message.html",
            minijinja::context! {
                target_origin => "https://app.example",
                message => minijinja::context! { state => "</script><script>alert(1)</script>" },
            },
        );
        assert!(!page.html.contains("</script><script>alert(1)"));
        assert!(page.html.contains("\\u003c/script"));
    }
}
