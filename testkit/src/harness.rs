//! A Keyward instance plus one person at it (a browser and a passkey authenticator), with the
//! steps of the authorization flow as methods that go through the real pages and endpoints.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{App, param, query};
use crate::browser::{Browser, Page};
use crate::passkey::Passkeys;
use crate::{Backend, TestServer};
use keyward::config::Settings;

/// A provider key the mock upstream accepts.
pub const GOOD_KEY: &str = "sk-proj-conformanceTESTkey0123456789abcdefXYZ";
/// The default scopes of the JavaScript helper.
pub const SCOPE: &str = "openai.chat openai.models";

/// The server and the person using it.
pub struct Harness {
    pub server: TestServer,
    pub browser: Browser,
    pub passkeys: Passkeys,
    /// The token endpoint's client (no cookies).
    pub http: reqwest::Client,
}

impl Harness {
    /// Starts Keyward on `backend`; `None` when that backend is unavailable (skipped).
    pub async fn start(backend: Backend) -> Option<Harness> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts Keyward with adjusted settings.
    pub async fn start_with(
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<Harness> {
        let server = TestServer::start_with(backend, configure).await?;
        let browser = Browser::new(&server.url);
        Some(Harness {
            browser,
            server,
            passkeys: Passkeys::default(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .expect("HTTP client"),
        })
    }

    /// The issuer (`http://localhost:PORT`).
    pub fn issuer(&self) -> &str {
        &self.server.url
    }

    /// `GET /oauth/authorize` with `params`.
    pub async fn authorize(&self, params: &[(String, String)]) -> Page {
        self.browser
            .get(&format!("/oauth/authorize?{}", query(params)))
            .await
    }

    /// Starts an authorization and returns its pending request id (the authorize endpoint
    /// redirects to the consent page).
    pub async fn request_id(&self, params: &[(String, String)]) -> String {
        let page = self.authorize(params).await;
        let to = page
            .location()
            .unwrap_or_else(|| panic!("authorize did not redirect: {} {}", page.status, page.body));
        assert!(to.starts_with("/consent?request="), "{to}");
        to.trim_start_matches("/consent?request=").to_owned()
    }

    /// Signs up through the real pages with `key`; returns the page that asks for the passkey
    /// (or the key form again, with the problem).
    pub async fn submit_key(&self, request: Option<&str>, key: &str) -> Page {
        let path = match request {
            Some(r) => format!("/signup?request={r}"),
            None => "/signup".to_owned(),
        };
        let form = self.browser.get(&path).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.input("csrf").expect("csrf field");
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("key", key),
            ("name", "Conformance"),
        ];
        if let Some(r) = request {
            fields.push(("request", r));
        }
        self.browser.post_form("/signup", &fields).await
    }

    /// Creates the passkey on the page [`Harness::submit_key`] returned; the finish call's
    /// response.
    pub async fn create_passkey(&mut self, passkey_page: &Page) -> Page {
        let data = passkey_page.script_json("kw-data").expect("kw-data");
        let options = serde_json::from_value(data["options"].clone()).expect("creation options");
        let credential = self
            .passkeys
            .create(&self.browser.origin, options)
            .expect("passkey created");
        self.browser
            .post_json(
                "/passkey/register/finish",
                data["csrf"].as_str(),
                &json!({ "ceremony": data["ceremony"], "credential": credential }),
            )
            .await
    }

    /// The whole sign-up; returns where the page script would go next.
    pub async fn sign_up(&mut self, request: Option<&str>) -> String {
        let page = self.submit_key(request, GOOD_KEY).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        next_step(&self.create_passkey(&page).await)
    }

    /// Signs in with the passkey through the sign-in page; returns where the page script would
    /// go next.
    pub async fn sign_in(&mut self, request: Option<&str>) -> String {
        next_step(&self.try_sign_in(request).await)
    }

    /// The sign-in page's passkey ceremony with whatever passkeys this harness holds: the
    /// finish call's response, for tests that expect the passkey to be refused.
    pub async fn try_sign_in(&mut self, request: Option<&str>) -> Page {
        let path = match request {
            Some(r) => format!("/signin?request={r}"),
            None => "/signin".to_owned(),
        };
        let page = self.browser.get(&path).await;
        let data = page.script_json("kw-data").expect("kw-data");
        let csrf = data["csrf"].as_str().expect("csrf").to_owned();
        let start = self
            .browser
            .post_json(
                "/passkey/signin/start",
                Some(&csrf),
                &json!({ "request": request }),
            )
            .await;
        assert_eq!(start.status, StatusCode::OK, "{}", start.body);
        let start = start.json();
        let options = serde_json::from_value(start["options"].clone()).expect("request options");
        let credential = self
            .passkeys
            .get(&self.browser.origin, options)
            .expect("assertion");
        self.browser
            .post_json(
                "/passkey/signin/finish",
                Some(&csrf),
                &json!({ "ceremony": start["ceremony"], "credential": credential }),
            )
            .await
    }

    /// Opens the consent page for `request`.
    pub async fn consent_page(&self, request: &str) -> Page {
        self.browser
            .get(&format!("/consent?request={request}"))
            .await
    }

    /// Approves `request` on the consent page with the passkey step-up, submitting `limits`
    /// (form fields) with the page's own CSRF token; the approval's response.
    pub async fn approve(&mut self, request: &str, limits: &[(&str, &str)]) -> Page {
        let page = self.consent_page(request).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let csrf = page.input("csrf").expect("csrf");
        let (ceremony, assertion) = self.step_up(&csrf, request).await;
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("request", request),
            ("ceremony", ceremony.as_str()),
            ("assertion", assertion.as_str()),
        ];
        fields.extend_from_slice(limits);
        self.browser.post_form("/consent", &fields).await
    }

    /// The step-up ceremony the consent page's script runs: (ceremony id, assertion JSON).
    pub async fn step_up(&mut self, csrf: &str, request: &str) -> (String, String) {
        self.step_up_with(csrf, &json!({ "request": request }))
            .await
    }

    /// A step-up ceremony started with `body` (`{"request"}` for consent, `{"action"}` for the
    /// account page's actions): (ceremony id, assertion JSON).
    pub async fn step_up_with(&mut self, csrf: &str, body: &Value) -> (String, String) {
        let start = self
            .browser
            .post_json("/passkey/step-up/start", Some(csrf), body)
            .await;
        assert_eq!(start.status, StatusCode::OK, "{}", start.body);
        let start = start.json();
        let options = serde_json::from_value(start["options"].clone()).expect("request options");
        let credential = self
            .passkeys
            .get(&self.browser.origin, options)
            .expect("assertion");
        (
            start["ceremony"].as_str().expect("ceremony").to_owned(),
            serde_json::to_string(&credential).expect("JSON"),
        )
    }

    /// From authorization request to the app's redirect, signing up the first time and signing
    /// in when the session is gone: the `Location` the approval sent the browser to.
    pub async fn authorize_and_approve(&mut self, app: &App, scope: &str) -> String {
        let request = self.request_id(&app.params(scope, None)).await;
        let consent = self.consent_page(&request).await;
        if consent.status == StatusCode::SEE_OTHER {
            if self.passkeys.is_empty() {
                self.sign_up(Some(&request)).await;
            } else {
                self.sign_in(Some(&request)).await;
            }
        }
        let done = self.approve(&request, DEFAULT_LIMITS).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        done.location().expect("redirect").to_owned()
    }

    /// [`Harness::authorize_and_approve`], returning the code after checking `state` and `iss`.
    pub async fn code(&mut self, app: &App, scope: &str) -> String {
        let location = self.authorize_and_approve(app, scope).await;
        assert!(location.starts_with(&app.redirect_uri), "{location}");
        assert_eq!(
            param(&location, "state").as_deref(),
            Some(app.state.as_str())
        );
        assert_eq!(param(&location, "iss").as_deref(), Some(self.issuer()));
        param(&location, "code").expect("code")
    }

    /// A token endpoint request; (status, body).
    pub async fn token(&self, form: &[(String, String)]) -> (StatusCode, Value) {
        self.post_oauth("/oauth/token", form).await
    }

    /// A form POST to an OAuth endpoint from the app (no cookies); (status, body or null).
    pub async fn post_oauth(&self, path: &str, form: &[(String, String)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.server.url))
            .form(form)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Code flow and token exchange for `app`; the token response.
    pub async fn tokens(&mut self, app: &App, scope: &str) -> Value {
        let code = self.code(app, scope).await;
        let (status, body) = self.token(&app.code_exchange(&code)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// A finished passkey ceremony's answer must be 200; where its page script goes next.
fn next_step(done: &Page) -> String {
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    done.json()["redirect"]
        .as_str()
        .expect("redirect")
        .to_owned()
}

/// The consent form's limits as a person leaves them by default.
pub const DEFAULT_LIMITS: &[(&str, &str)] = &[
    ("budget_usd", "10"),
    ("rpm", "60"),
    ("models", "*"),
    ("lifetime", "30d"),
];
