//! The HTML pages: minijinja templates embedded in the binary, rendered into [`Page`]s.
//!
//! Templates auto-escape everything (they all end in `.html`); data that scripts need travels
//! in `<script type="application/json">` elements written with `tojson`, which escapes `<`, `>`
//! and `&`, so no value can close the element or run as script. Times reach templates as Unix
//! seconds and are shown with the `date` and `datetime` filters, always in UTC.

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
    ("goodbye.html", include_str!("../../templates/goodbye.html")),
    ("limits.html", include_str!("../../templates/limits.html")),
    (
        "raise_limits.html",
        include_str!("../../templates/raise_limits.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_filter("date", utc_date);
    env.add_filter("datetime", utc_datetime);
    env.add_filter("count", group_digits);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env
});

/// A Unix time as a UTC calendar date, e.g. "1 Dec 2026".
pub fn utc_date(unix_seconds: i64) -> String {
    format_utc(
        unix_seconds,
        time::macros::format_description!("[day padding:none] [month repr:short] [year]"),
    )
}

/// A Unix time as a UTC date and time, e.g. "1 Dec 2026, 14:03 UTC".
pub fn utc_datetime(unix_seconds: i64) -> String {
    format_utc(
        unix_seconds,
        time::macros::format_description!(
            "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
        ),
    )
}

/// A count with thousands separators, e.g. "1,234,567".
fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

fn format_utc(
    unix_seconds: i64,
    format: &[time::format_description::BorrowedFormatItem<'_>],
) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

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

    #[test]
    fn counts_group_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(-12_345), "-12,345");
    }

    #[test]
    fn times_read_in_utc() {
        assert_eq!(utc_date(1_796_083_200), "1 Dec 2026");
        assert_eq!(
            utc_datetime(1_796_083_200 + 14 * 3600 + 3 * 60),
            "1 Dec 2026, 14:03 UTC"
        );
    }
}
