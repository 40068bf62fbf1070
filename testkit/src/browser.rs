//! A minimal browser: keeps cookies, never follows redirects (tests look at them), sends
//! `Origin` on POSTs like a real browser, and reads values out of the HTML it gets back.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, ORIGIN};
use serde_json::Value;

/// The header carrying the CSRF token on the pages' JSON calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A cookie-keeping HTTP client pointed at one Keyward instance.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    /// Where requests go, e.g. `http://localhost:PORT`.
    pub base: String,
    /// The `Origin` POSTs carry: the site's public origin.
    pub origin: String,
}

/// A response, read to the end.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Browser {
    /// A fresh browser (no cookies) for the site at `base`.
    pub fn new(base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .expect("HTTP client");
        Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            origin: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The same browser (same cookies) talking to another instance of the same site, as a
    /// load balancer would send it there.
    pub fn via(&self, base: &str) -> Browser {
        Browser {
            base: base.trim_end_matches('/').to_owned(),
            ..self.clone()
        }
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    /// `GET`.
    pub async fn get(&self, path: &str) -> Page {
        Page::read(self.client.get(self.url(path)).send().await.expect("GET")).await
    }

    /// A form `POST` with the browser's `Origin`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_form_from(path, fields, Some(&self.origin)).await
    }

    /// A form `POST` with the given `Origin` header (or none).
    pub async fn post_form_from(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        self.post_form_with(path, fields, &headers).await
    }

    /// A form `POST` with exactly these extra headers (e.g. `Origin`, `Sec-Fetch-Site`).
    pub async fn post_form_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = self.client.post(self.url(path)).form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Page::read(request.send().await.expect("POST")).await
    }

    /// A JSON `POST` the way the pages' script sends it.
    pub async fn post_json(&self, path: &str, csrf: Option<&str>, body: &Value) -> Page {
        let mut request = self
            .client
            .post(self.url(path))
            .header(ORIGIN, &self.origin)
            .json(body);
        if let Some(csrf) = csrf {
            request = request.header(CSRF_HEADER, csrf);
        }
        Page::read(request.send().await.expect("POST")).await
    }
}

impl Page {
    async fn read(response: reqwest::Response) -> Page {
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        }
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The body with the templates' HTML escapes undone, for looking for words and URLs.
    pub fn text(&self) -> String {
        unescape(&self.body)
    }

    /// The value of the first `<input name="NAME" value="…">` on the page.
    pub fn input(&self, name: &str) -> Option<String> {
        self.inputs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Every `<input name="…" value="…">` on the page, in page order: (name, value).
    pub fn inputs(&self) -> Vec<(String, String)> {
        let attribute = |tag: &str, name: &str| {
            let marker = format!(" {name}=\"");
            let start = tag.find(&marker)? + marker.len();
            let end = start + tag[start..].find('"')?;
            Some(unescape(&tag[start..end]))
        };
        self.body
            .split("<input")
            .skip(1)
            .filter_map(|tag| {
                let tag = &tag[..tag.find('>')?];
                Some((attribute(tag, "name")?, attribute(tag, "value")?))
            })
            .collect()
    }

    /// The JSON inside `<script type="application/json" id="ID">`.
    pub fn script_json(&self, id: &str) -> Option<Value> {
        let marker = format!("<script type=\"application/json\" id=\"{id}\">");
        let start = self.body.find(&marker)? + marker.len();
        let end = start + self.body[start..].find("</script>")?;
        serde_json::from_str(&self.body[start..end]).ok()
    }
}

/// Undoes the HTML escaping templates apply to attribute values.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}
