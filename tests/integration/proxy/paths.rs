//! Request targets that try to move the person's key to another host, sent over raw TCP so no
//! client library normalises them first.

use keyward::store::grants::Limits;
use keyward_testkit::Backend;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::World;

/// Sends `GET {target}` as written and returns the status code.
async fn raw_get(addr: &str, target: &str, token: &str) -> u16 {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tcp.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {target:?}: {text:?}"))
}

#[tokio::test]
async fn traversal_and_host_changes_never_leave_the_upstream() {
    let w = World::new(
        Backend::Sqlite,
        &["openai.models", "openai.chat", "openai.files"],
        Limits::default(),
    )
    .await
    .unwrap();
    let addr = w.server.url.strip_prefix("http://").unwrap().to_owned();
    let refused = [
        "/v1",
        "/v1/",
        "/v1/../v1/models",
        "/v1/models/..",
        "/v1/models/.",
        "/v1/%2e%2e/admin",
        "/v1/%2E%2E/%2e%2e/admin",
        "/v1/models/%2e",
        "/v1/models/..%2f..%2fadmin",
        "/v1//evil.example/v1/models",
        "/v1/models//evil.example",
        "/v1/%2f%2fevil.example/v1/models",
        "/v1/%5c%5cevil.example%5cv1",
        "/v1/https:%2f%2fevil.example/v1/models",
        "/v1/https:/evil.example/v1/models",
        "/v1/models/x@evil.example",
        "/v1/models/%40evil.example",
        "/v1/models/x%00",
        "/v1/models/x%0d%0aHost:%20evil.example",
        "/v1/models/%252e%252e",
        "/v1/models/%zz",
    ];
    for target in refused {
        let status = raw_get(&addr, target, &w.token).await;
        assert!(
            status == 404 || status == 400,
            "{target:?} answered {status}"
        );
    }
    // A raw backslash is not even a valid request target; whatever answers, nothing is sent.
    let _ = raw_get(&addr, "/v1/\\\\evil.example\\v1", &w.token).await;
    assert!(
        w.server.mock.requests().is_empty(),
        "forwarded: {:?}",
        w.server
            .mock
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );

    // An absolute-form target names another host: only its path is used, on the configured
    // upstream.
    let status = raw_get(&addr, "http://evil.example/v1/models", &w.token).await;
    assert_eq!(status, 200);
    let seen = w.server.mock.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/models");
}
