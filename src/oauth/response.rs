//! Delivering an authorization response to the app (RFC 6749 §4.1.2), always with `iss`
//! (RFC 9207) and the app's `state` unchanged: by redirect to the redirect URI (`query`), or, for
//! `response_mode=web_message`, by a tiny page that posts it to `window.opener` at the redirect
//! URI's exact origin and closes itself.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

use super::errors::ErrorCode;
use super::pending::AuthRequest;
use super::redirect;
use crate::web::templates::Page;

/// How the response travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// Redirect with the parameters in the query (the default for `response_type=code`).
    Query,
    /// `postMessage` to the opener window (the popup flow of the JavaScript helper).
    WebMessage,
}

impl ResponseMode {
    /// Parses `response_mode`; absent means `query`.
    pub fn parse(value: Option<&str>) -> Option<ResponseMode> {
        match value {
            None | Some("query") => Some(ResponseMode::Query),
            Some("web_message") => Some(ResponseMode::WebMessage),
            Some(_) => None,
        }
    }

    /// The value stored with a pending request.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::WebMessage => "web_message",
        }
    }
}

/// Where and how one authorization request is answered.
#[derive(Clone, Debug)]
pub struct ResponseTarget {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

impl ResponseTarget {
    /// The target of a pending request.
    pub fn of(request: &AuthRequest) -> ResponseTarget {
        ResponseTarget {
            redirect_uri: request.redirect_uri.clone(),
            mode: ResponseMode::parse(Some(&request.response_mode)).unwrap_or(ResponseMode::Query),
            state: request.state.clone(),
        }
    }

    /// Answers with an authorization code.
    pub fn code(self, issuer: &str, code: &str) -> Response {
        self.deliver(issuer, vec![("code", code.to_owned())])
    }

    /// Answers with an error.
    pub fn error(self, issuer: &str, code: ErrorCode, description: &str) -> Response {
        self.deliver(
            issuer,
            vec![
                ("error", code.as_str().to_owned()),
                ("error_description", description.to_owned()),
            ],
        )
    }

    /// Where a `web_message` response is posted: the redirect URI's exact origin. `None` when
    /// the response is a redirect instead (query mode, or a URI that is not a web page).
    pub fn message_origin(&self) -> Option<String> {
        match self.mode {
            ResponseMode::WebMessage => redirect::message_target(&self.redirect_uri),
            ResponseMode::Query => None,
        }
    }

    fn deliver(self, issuer: &str, mut params: Vec<(&'static str, String)>) -> Response {
        let message_origin = self.message_origin();
        if let Some(state) = self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer.to_owned()));
        let no_store = [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))];
        match message_origin {
            Some(target_origin) => {
                let message: serde_json::Map<String, serde_json::Value> = params
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.into()))
                    .collect();
                Page::render(
                    "web_message.html",
                    context! { target_origin, message => minijinja::value::Serde(&message) },
                )
                .into_response()
            }
            None => match url::Url::parse(&self.redirect_uri) {
                Ok(mut url) => {
                    url.query_pairs_mut().extend_pairs(params);
                    (no_store, Redirect::to(url.as_str())).into_response()
                }
                // Stored redirect URIs were validated; this cannot happen.
                Err(_) => crate::web::error::PageError::Internal("stored redirect URI".into())
                    .into_response(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn target(mode: ResponseMode) -> ResponseTarget {
        ResponseTarget {
            redirect_uri: "https://app.example/cb?keep=1".into(),
            mode,
            state: Some("s t&a=te".into()),
        }
    }

    #[test]
    fn query_mode_redirects_with_code_state_and_iss() {
        let r = target(ResponseMode::Query).code("https://kw.example", "kw_ac_x");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let loc = r.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(
            loc,
            "https://app.example/cb?keep=1&code=kw_ac_x&state=s+t%26a%3Dte&iss=https%3A%2F%2Fkw.example"
        );
    }

    #[tokio::test]
    async fn web_message_posts_to_the_exact_origin() {
        let r = target(ResponseMode::WebMessage).error(
            "https://kw.example",
            ErrorCode::AccessDenied,
            "no",
        );
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get(header::LOCATION).is_none());
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        let start = html.find(r#"id="kw-response">"#).unwrap() + 17;
        let end = start + html[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(data["targetOrigin"], "https://app.example");
        assert_eq!(
            data["message"],
            serde_json::json!({
                "type": "authorization_response",
                "response": {
                    "error": "access_denied",
                    "error_description": "no",
                    "state": "s t&a=te",
                    "iss": "https://kw.example",
                },
            })
        );
    }
}
