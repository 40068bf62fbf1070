//! The main path and its refusals: headers, errors, key echoes, model lists, CORS, metrics.

use keyward::store::grants::Limits;
use keyward::token_format::{self, TokenKind};
use keyward_testkit::{Backend, fixtures, on_both_backends};
use serde_json::{Value, json};

use super::{KEY, World, chat, client, error_of};

on_both_backends!(json_chat_reaches_the_upstream_with_only_the_persons_key);
async fn json_chat_reaches_the_upstream_with_only_the_persons_key(backend: Backend) {
    let Some(w) = World::new(backend, &["openai.chat"], Limits::default()).await else {
        return;
    };
    let body =
        br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":0.5}"#;
    let response = client()
        .post(w.url("chat/completions?trace=1"))
        .bearer_auth(&w.token)
        .header("content-type", "application/json")
        .header("cookie", "app_session=s3cr3t")
        .header("openai-organization", "org-app")
        .header("openai-project", "proj-app")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("x-forwarded-for", "10.1.2.3")
        .header("forwarded", "for=10.1.2.3")
        .header("accept-encoding", "gzip, br")
        .header("x-stainless-lang", "js")
        .header("openai-beta", "assistants=v2")
        .body(&body[..])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["object"], "chat.completion");

    let seen = w.server.mock.requests();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.query.as_deref(), Some("trace=1"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    for gone in [
        "cookie",
        "openai-organization",
        "openai-project",
        "x-hop",
        "x-forwarded-for",
        "forwarded",
    ] {
        assert_eq!(r.header(gone), None, "{gone} reached the upstream");
    }
    assert_ne!(r.header("accept-encoding"), Some("gzip, br"));
    assert_eq!(r.header("x-stainless-lang"), Some("js"));
    assert_eq!(r.header("openai-beta"), Some("assistants=v2"));
    // A non-streaming body is forwarded byte for byte.
    assert_eq!(r.body, body.to_vec());
}

on_both_backends!(bad_requests_get_openai_errors_and_disturb_nothing);
async fn bad_requests_get_openai_errors_and_disturb_nothing(backend: Backend) {
    let limits = Limits {
        models: vec!["gpt-4o-mini".into()],
        ..Limits::default()
    };
    let Some(w) = World::with(backend, &["openai.chat", "openai.files"], limits, |s| {
        s.body_limit = 4096
    })
    .await
    else {
        return;
    };
    let state = &w.server.state;
    let unknown = token_format::issue(TokenKind::Access).plaintext;
    let user = fixtures::create_user(state, "sk-proj-SecondPersonKeyABCDEFGH123456").await;
    let (expired_grant, expired) = fixtures::grant_token(
        state,
        &user,
        &["openai.chat"],
        Limits {
            expires_at: Some(keyward::clock::now() - 10),
            ..Limits::default()
        },
    )
    .await;
    let (revoked_grant, revoked) =
        fixtures::grant_token(state, &user, &["openai.chat"], Limits::default()).await;
    state.store.revoke_grant(&revoked_grant.id).await.unwrap();

    let big = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x".repeat(5000)}]});
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            client()
                .post(w.url("chat/completions"))
                .json(&chat("gpt-4o-mini", false)),
            401,
            "invalid_api_key",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .header("authorization", "Basic Zm9vOmJhcg==")
                .json(&chat("gpt-4o-mini", false)),
            401,
            "invalid_api_key",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth("kw_at_notatoken")
                .json(&chat("gpt-4o-mini", false)),
            401,
            "invalid_api_key",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&unknown)
                .json(&chat("gpt-4o-mini", false)),
            401,
            "invalid_api_key",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&expired)
                .json(&chat("gpt-4o-mini", false)),
            401,
            "invalid_api_key",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&revoked)
                .json(&chat("gpt-4o-mini", false)),
            401,
            "invalid_api_key",
        ),
        (
            client()
                .post(w.url("embeddings"))
                .bearer_auth(&w.token)
                .json(&json!({"model": "gpt-4o-mini", "input": "x"})),
            403,
            "scope_not_granted",
        ),
        (
            client()
                .get(w.url("fine_tuning/jobs"))
                .bearer_auth(&w.token),
            403,
            "scope_not_granted",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&w.token)
                .json(&chat("gpt-4o", false)),
            403,
            "model_not_allowed",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&w.token)
                .json(&json!({"messages": []})),
            403,
            "model_not_allowed",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&w.token)
                .header("content-type", "application/json")
                .body("model=gpt-4o-mini"),
            400,
            "invalid_json",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&w.token)
                .header("content-type", "text/plain")
                .body("hello"),
            400,
            "invalid_json",
        ),
        (
            client()
                .post(w.url("chat/completions"))
                .bearer_auth(&w.token)
                .json(&big),
            413,
            "request_too_large",
        ),
        (
            client()
                .post(w.url("files"))
                .bearer_auth(&w.token)
                .header("content-type", "multipart/form-data; boundary=b")
                .body(vec![b'a'; 5000]),
            413,
            "request_too_large",
        ),
        (
            client()
                .get(format!("{}/v1", w.server.url))
                .bearer_auth(&w.token),
            404,
            "unknown_url",
        ),
        (
            client().get(w.url("models//x")).bearer_auth(&w.token),
            404,
            "unknown_url",
        ),
    ];
    for (i, (request, status, code)) in cases.into_iter().enumerate() {
        let response = request.send().await.unwrap();
        let text_status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(text_status, status, "case {i}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], code, "case {i}: {body}");
        for field in ["message", "type", "param", "code"] {
            assert!(error["error"].get(field).is_some(), "case {i}: {body}");
        }
        for secret in [KEY, w.token.as_str(), unknown.as_str(), expired.as_str()] {
            assert!(!body.contains(secret), "case {i} leaks a secret: {body}");
        }
        assert!(
            !body.contains("panicked") && !body.contains(".rs:"),
            "{body}"
        );
    }
    assert_eq!(
        w.server.mock.requests().len(),
        0,
        "a refused request reached the upstream"
    );
    // Nothing above disturbed the grant or its counters: the next request goes through.
    let ok = w
        .post("chat/completions", &chat("gpt-4o-mini", false))
        .await;
    assert_eq!(ok.status(), 200);
    let usage = w.settled(1).await;
    assert_eq!(usage.requests, 1);
    assert!(
        state
            .store
            .grant(&expired_grant.id)
            .await
            .unwrap()
            .is_some()
    );
}

on_both_backends!(an_upstream_error_that_echoes_the_key_is_rewritten);
async fn an_upstream_error_that_echoes_the_key_is_rewritten(backend: Backend) {
    let Some(server) = keyward_testkit::TestServer::start(backend).await else {
        return;
    };
    // The mock rejects `sk-invalid…` keys with OpenAI's masked echo of the key. Capitals A–P
    // keep the secret part from sharing a run with the words of the replacement by chance.
    let secret: String = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .flat_map(|b| [b >> 4, b & 15])
        .map(|n| char::from(b'A' + n))
        .collect();
    let key = format!("sk-invalid-{secret}");
    let user = fixtures::create_user(&server.state, &key).await;
    let (_, token) =
        fixtures::grant_token(&server.state, &user, &["openai.chat"], Limits::default()).await;
    let response = client()
        .post(format!("{}/chat/completions", server.proxy_url()))
        .bearer_auth(&token)
        .json(&chat("gpt-4o-mini", false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        server.mock.requests()[0].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    let (status, error) = error_of(response).await;
    assert_eq!(status, 401);
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"], "invalid_api_key");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{}/account", server.url)),
        "{message}"
    );
    let text = error.to_string();
    for i in 0..=secret.len() - 4 {
        let run = &secret[i..i + 4];
        assert!(!text.contains(run), "{run:?} of the key survived: {text}");
    }
}

on_both_backends!(the_model_list_shows_only_allowed_models);
async fn the_model_list_shows_only_allowed_models(backend: Backend) {
    let limits = Limits {
        models: vec!["gpt-4o-mini".into(), "text-embedding-3-small".into()],
        ..Limits::default()
    };
    let Some(w) = World::new(backend, &["openai.models"], limits).await else {
        return;
    };
    let list: Value = w.get("models").await.json().await.unwrap();
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gpt-4o-mini", "text-embedding-3-small"]);
    assert_eq!(w.get("models/gpt-4o-mini").await.status(), 200);
    let (status, error) = error_of(w.get("models/gpt-4o").await).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("model_not_allowed"))
    );

    let user = fixtures::create_user(&w.server.state, KEY).await;
    let (_, any_model) = fixtures::grant_token(
        &w.server.state,
        &user,
        &["openai.models"],
        Limits::default(),
    )
    .await;
    let list: Value = client()
        .get(w.url("models"))
        .bearer_auth(any_model)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn cors_preflight_allows_the_sdk_headers_and_responses_are_readable() {
    let w = World::new(Backend::Sqlite, &["openai.chat"], Limits::default())
        .await
        .unwrap();
    let response = client()
        .request(reqwest::Method::OPTIONS, w.url("chat/completions"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-stainless-os,x-stainless-retry-count,x-stainless-package-version,openai-beta,idempotency-key,x-evil",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h.get("access-control-allow-credentials").is_none());
    let allowed = h["access-control-allow-headers"].to_str().unwrap();
    for name in [
        "authorization",
        "content-type",
        "x-stainless-os",
        "x-stainless-retry-count",
        "x-stainless-package-version",
        "openai-beta",
        "idempotency-key",
    ] {
        assert!(allowed.contains(name), "{name} not allowed: {allowed}");
    }
    assert!(!allowed.contains("x-evil"));
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(w.server.mock.requests().is_empty());

    // Successful and refused responses alike can be read by the page.
    for response in [
        w.post("chat/completions", &chat("gpt-4o-mini", false))
            .await,
        client()
            .post(w.url("chat/completions"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let exposed = response.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap();
        for name in [
            "x-request-id",
            "retry-after",
            "x-ratelimit-remaining-requests",
        ] {
            assert!(exposed.contains(name), "{exposed}");
        }
    }
}

#[tokio::test]
async fn metrics_count_requests_cache_hits_and_upstream_latency_without_secrets() {
    let w = World::new(Backend::Sqlite, &["openai.chat"], Limits::default())
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            w.post("chat/completions", &chat("gpt-4o-mini", false))
                .await
                .status(),
            200
        );
    }
    let _ = client()
        .post(w.url("chat/completions"))
        .send()
        .await
        .unwrap();
    let text = client()
        .get(format!("{}/metrics", w.server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"keyward_http_requests_total{route="/v1/chat/completions",method="POST",status="200"} 2"#,
        r#"keyward_http_requests_total{route="/v1/chat/completions",method="POST",status="401"} 1"#,
        r#"keyward_token_cache_lookups_total{result="miss"} 1"#,
        r#"keyward_token_cache_lookups_total{result="hit"} 1"#,
        r#"keyward_upstream_latency_seconds_count{route="/v1/chat/completions"} 2"#,
        "keyward_active_streams 0",
        "keyward_budget_rejections_total 0",
        "keyward_rate_limit_rejections_total 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    for secret in [
        KEY,
        w.token.as_str(),
        w.grant.id.as_str(),
        w.grant.user_id.as_str(),
    ] {
        assert!(!text.contains(secret));
    }
}
