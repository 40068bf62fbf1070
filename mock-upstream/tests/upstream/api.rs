//! JSON endpoints, keys, failures, recording and the HTTP control API.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keyward_mock_upstream::{Behaviour, MockUpstream};
use serde_json::{Value, json};

use crate::support::{KEY, client, post};

async fn get_with_key(mock: &MockUpstream, path: &str, key: Option<&str>) -> reqwest::Response {
    let request = client().get(format!("{}/{path}", mock.base_url()));
    let request = match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn keys_follow_openai_rules() {
    let mock = MockUpstream::start().await;

    let missing = get_with_key(&mock, "models", None).await;
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You didn't provide an API key.")
    );
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["code"].is_null());

    let invalid_key = format!("sk-invalid{}abcd", "x".repeat(36));
    let invalid = get_with_key(&mock, "models", Some(&invalid_key)).await;
    assert_eq!(invalid.status(), 401);
    let body: Value = invalid.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {
            "message": "Incorrect API key provided: sk-inval**************************************abcd. \
                        You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": null,
            "code": "invalid_api_key",
        }})
    );

    let no_quota = get_with_key(&mock, "models", Some("sk-noquota-123")).await;
    assert_eq!(no_quota.status(), 429);
    let body: Value = no_quota.json().await.unwrap();
    assert_eq!(body["error"]["type"], "insufficient_quota");
    assert_eq!(body["error"]["code"], "insufficient_quota");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("You exceeded your current quota")
    );

    let ok = get_with_key(&mock, "models", Some(KEY)).await;
    assert_eq!(ok.status(), 200);
    let list: Value = ok.json().await.unwrap();
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"].as_array().unwrap().len(), 10);
    assert_eq!(list["data"][0]["id"], "gpt-4o-mini");
    assert_eq!(list["data"][0]["owned_by"], "system");
}

#[tokio::test]
async fn chat_completion_counts_tokens_and_carries_openai_headers() {
    let mock = MockUpstream::start().await;
    // 40 characters: 40 / 4 + 7 = 17 prompt tokens.
    let messages = json!([{"role": "user", "content": "x".repeat(40)}]);
    let response = post(
        &mock,
        "chat/completions",
        json!({"model": "gpt-4.1-mini", "messages": messages, "max_completion_tokens": 5}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    for name in ["openai-processing-ms", "x-ratelimit-remaining-requests"] {
        assert!(headers.contains_key(name), "{name}");
    }
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4.1-mini");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["role"], "assistant");
    assert!(
        message["content"]
            .as_str()
            .unwrap()
            .starts_with("Hello from the mock")
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 17);
    assert_eq!(
        body["usage"]["completion_tokens"], 5,
        "capped by max_completion_tokens"
    );
    assert_eq!(body["usage"]["total_tokens"], 22);

    mock.set_behaviour(Behaviour {
        completion_tokens: Some(1234),
        ..Behaviour::default()
    });
    let body: Value = post(
        &mock,
        "chat/completions",
        json!({"model": "m", "messages": []}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["usage"]["completion_tokens"], 1234);
}

#[tokio::test]
async fn bad_bodies_and_unknown_paths_get_openai_errors() {
    let mock = MockUpstream::start().await;
    let not_json = client()
        .post(format!("{}/chat/completions", mock.base_url()))
        .bearer_auth(KEY)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let no_messages = post(&mock, "chat/completions", json!({"model": "gpt-4o"})).await;
    assert_eq!(no_messages.status(), 400);
    let body: Value = no_messages.json().await.unwrap();
    assert_eq!(body["error"]["param"], "messages");

    let unknown = post(&mock, "whatever", json!({})).await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": "Invalid URL (POST /v1/whatever)",
            "type": "invalid_request_error", "param": null, "code": null}})
    );

    let model = get_with_key(&mock, "models/gpt-9", Some(KEY)).await;
    assert_eq!(model.status(), 404);
    let body: Value = model.json().await.unwrap();
    assert_eq!(body["error"]["code"], "model_not_found");
    let model = get_with_key(&mock, "models/o3-mini", Some(KEY)).await;
    assert_eq!(model.json::<Value>().await.unwrap()["id"], "o3-mini");
}

#[tokio::test]
async fn fail_status_spares_the_key_check_unless_fail_models() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        fail_status: Some(500),
        ..Behaviour::default()
    });
    let failed = post(&mock, "embeddings", json!({"model": "m", "input": "x"})).await;
    assert_eq!(failed.status(), 500);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body["error"]["type"], "server_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The server had an error while processing your request.")
    );
    assert_eq!(get_with_key(&mock, "models", Some(KEY)).await.status(), 200);

    mock.set_behaviour(Behaviour {
        fail_status: Some(503),
        fail_models: true,
        ..Behaviour::default()
    });
    assert_eq!(get_with_key(&mock, "models", Some(KEY)).await.status(), 503);
}

#[tokio::test]
async fn first_byte_delay_holds_the_headers() {
    let mock = MockUpstream::start().await;
    mock.set_behaviour(Behaviour {
        first_byte_delay_ms: 150,
        ..Behaviour::default()
    });
    let started = Instant::now();
    let response = get_with_key(&mock, "models", Some(KEY)).await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn requests_are_recorded_with_headers_body_and_query() {
    let mock = MockUpstream::start().await;
    let response = client()
        .post(format!("{}/chat/completions?trace=1", mock.base_url()))
        .bearer_auth(KEY)
        .header("OpenAI-Beta", "assistants=v2")
        .json(&json!({"model": "gpt-4o", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    get_with_key(&mock, "models", None).await;

    let recorded = mock.requests();
    assert_eq!(recorded.len(), 2, "unauthorised requests are recorded too");
    let first = &recorded[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.query.as_deref(), Some("trace=1"));
    assert_eq!(first.header("openai-beta"), Some("assistants=v2"));
    assert_eq!(
        first.header("Authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(first.body_json().unwrap()["model"], "gpt-4o");
    assert_eq!(recorded[1].path, "/v1/models");
    assert_eq!(recorded[1].header("authorization"), None);

    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn the_control_api_works_over_http_and_is_not_recorded() {
    let mock = MockUpstream::start().await;
    let control = format!("http://{}/__mock", mock.addr());
    let http = client();

    let put = http
        .put(format!("{control}/behaviour"))
        .json(&json!({"chunks": 2, "event_delay_ms": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let expected = Behaviour {
        chunks: Some(2),
        event_delay_ms: 5,
        ..Behaviour::default()
    };
    assert_eq!(mock.behaviour(), expected);
    let got: Behaviour = http
        .get(format!("{control}/behaviour"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, expected);

    post(&mock, "moderations", json!({"input": "hello"})).await;
    let requests: Value = http
        .get(format!("{control}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(requests.as_array().unwrap().len(), 1);
    assert_eq!(requests[0]["path"], "/v1/moderations");
    assert_eq!(requests[0]["body"], r#"{"input":"hello"}"#);

    let release = http
        .post(format!("{control}/release"))
        .send()
        .await
        .unwrap();
    assert_eq!(release.status(), 204);
    let clear = http
        .delete(format!("{control}/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(clear.status(), 204);
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn base64_embeddings_decode_to_the_float_embeddings() {
    let mock = MockUpstream::start().await;
    let request = |format: &str| json!({"model": "text-embedding-3-small", "input": ["alpha", "beta"], "encoding_format": format});
    let floats: Value = post(&mock, "embeddings", request("float"))
        .await
        .json()
        .await
        .unwrap();
    let encoded: Value = post(&mock, "embeddings", request("base64"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(floats["object"], "list");
    assert_eq!(
        floats["usage"],
        json!({"prompt_tokens": 2, "total_tokens": 2})
    );
    for index in 0..2 {
        let expected: Vec<f32> = floats["data"][index]["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(expected.len(), 8);
        let bytes = STANDARD
            .decode(encoded["data"][index]["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(decoded, expected);
        assert_eq!(encoded["data"][index]["index"], index);
    }
    assert_ne!(
        floats["data"][0]["embedding"],
        floats["data"][1]["embedding"]
    );
}

#[tokio::test]
async fn responses_reply_carries_output_and_usage() {
    let mock = MockUpstream::start().await;
    let body: Value = post(
        &mock,
        "responses",
        json!({"model": "gpt-4o", "instructions": "Be kind.", "input": "Hi there"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert!(body.get("output_text").is_none());
    let content = &body["output"][0]["content"][0];
    assert_eq!(body["output"][0]["type"], "message");
    assert_eq!(content["type"], "output_text");
    assert_eq!(content["annotations"], json!([]));
    assert_eq!(content["text"], "Hello from the mock upstream. This reply");
    assert_eq!(body["usage"]["input_tokens"], 11, "16 / 4 + 7");
    assert_eq!(body["usage"]["output_tokens"], 8);
    assert_eq!(body["usage"]["total_tokens"], 19);
    assert_eq!(body["instructions"], "Be kind.");
}

fn multipart(fields: &[(&str, Option<&str>, &str)]) -> (String, String) {
    let boundary = "mockboundary1234";
    let mut body = String::new();
    for (name, file_name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
        ));
        if let Some(file_name) = file_name {
            body.push_str(&format!(
                "; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream"
            ));
        }
        body.push_str(&format!("\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(
    mock: &MockUpstream,
    path: &str,
    fields: &[(&str, Option<&str>, &str)],
) -> reqwest::Response {
    let (content_type, body) = multipart(fields);
    client()
        .post(format!("{}/{path}", mock.base_url()))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn multipart_uploads_transcribe_and_store_files() {
    let mock = MockUpstream::start().await;
    let audio = [
        ("model", None, "whisper-1"),
        ("file", Some("a.wav"), "RIFF...."),
    ];
    let transcript: Value = post_form(&mock, "audio/transcriptions", &audio)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(transcript, json!({"text": "Hello from the mock upstream."}));
    let no_file = post_form(&mock, "audio/transcriptions", &audio[..1]).await;
    assert_eq!(no_file.status(), 400);

    let upload = [
        ("purpose", None, "batch"),
        ("file", Some("in.jsonl"), "{}\n"),
    ];
    let file: Value = post_form(&mock, "files", &upload)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(file["object"], "file");
    assert_eq!(file["filename"], "in.jsonl");
    assert_eq!(file["bytes"], 3);
    let list: Value = get_with_key(&mock, "files", Some(KEY))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["id"], file["id"]);
    let batches: Value = get_with_key(&mock, "batches", Some(KEY))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(batches["data"], json!([]));
}
