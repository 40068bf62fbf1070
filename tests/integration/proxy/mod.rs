//! The `/v1` proxy suite: real HTTP through an in-process Keyward and the mock upstream (or a
//! raw TCP stand-in where a test must watch the connection itself).

mod basics;
mod cache;
mod limits;
mod metering;
mod paths;
mod streaming;

use keyward::store::grants::{Grant, Limits};
use keyward::store::usage::UsageMonth;
use keyward_testkit::{Backend, TestServer, fixtures};
use serde_json::{Value, json};

/// The provider key of test people (the mock accepts it).
pub const KEY: &str = "sk-proj-TestPersonKey0123456789abcdefWXYZ";

/// A started server with one person and a grant; `None` when the backend is skipped.
pub struct World {
    pub server: TestServer,
    pub grant: Grant,
    pub token: String,
}

impl World {
    pub async fn new(backend: Backend, scopes: &[&str], limits: Limits) -> Option<World> {
        Self::with(backend, scopes, limits, |_| {}).await
    }

    pub async fn with(
        backend: Backend,
        scopes: &[&str],
        limits: Limits,
        configure: impl FnOnce(&mut keyward::config::Settings),
    ) -> Option<World> {
        let server = TestServer::start_with(backend, configure).await?;
        let user = fixtures::create_user(&server.state, KEY).await;
        let (grant, token) = fixtures::grant_token(&server.state, &user, scopes, limits).await;
        Some(World {
            server,
            grant,
            token,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.server.proxy_url())
    }

    /// `POST /v1/{path}` with the world's token and a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_as(&self.token, path, body).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        client()
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request reaches keyward")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        client()
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request reaches keyward")
    }

    /// This month's counters, once `requests` of them are settled and nothing is reserved.
    pub async fn settled(&self, requests: i64) -> UsageMonth {
        fixtures::settled(&self.server.state.store, &self.grant.id, requests).await
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn chat(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "Say something about proxies, briefly."}],
        "stream": stream,
    })
}

/// The parsed OpenAI error object of a response, after checking its shape.
pub async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error body is JSON");
    let error = body["error"].clone();
    for field in ["message", "type", "param", "code"] {
        assert!(
            error.get(field).is_some(),
            "error object lacks {field}: {body}"
        );
    }
    (status, error)
}

/// The `data:` payloads of an SSE body.
pub fn data_lines(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}
