//! Streams: events pass as they come, the usage chunk reaches only apps that asked, a client
//! that leaves cancels the upstream request, and slow or dead upstreams get 504 / 502.

use std::time::{Duration, Instant};

use keyward::store::grants::Limits;
use keyward_mock_upstream::Behaviour;
use keyward_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::{World, chat, client, data_lines, error_of};

#[tokio::test]
async fn sse_events_arrive_before_the_upstream_sends_its_last() {
    let w = World::new(Backend::Sqlite, &["openai.chat"], Limits::default())
        .await
        .unwrap();
    w.server.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let started = Instant::now();
    let mut response = w.post("chat/completions", &chat("gpt-4o-mini", true)).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The mock holds the final events until released: the first chunk must already be here.
    let first = tokio::time::timeout(Duration::from_secs(10), response.chunk())
        .await
        .expect("first chunk while the upstream waits at its gate")
        .unwrap()
        .unwrap();
    let first_chunk = started.elapsed();
    assert!(String::from_utf8_lossy(&first).starts_with("data: {"));
    w.server.mock.release_gate();
    let mut rest = String::from_utf8(first.to_vec()).unwrap();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(rest.ends_with("data: [DONE]\n\n"), "{rest}");
    eprintln!(
        "first chunk through the proxy after {first_chunk:?} (debug build, includes the token lookup)"
    );
}

/// A chat stream's chunks without the parts that differ between two runs (id, time).
fn comparable(body: &str) -> Vec<Value> {
    data_lines(body)
        .into_iter()
        .filter(|d| d != "[DONE]")
        .map(|d| {
            let mut v: Value = serde_json::from_str(&d).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("id");
            o.remove("created");
            v
        })
        .collect()
}

on_both_backends!(the_usage_chunk_reaches_only_apps_that_asked);
async fn the_usage_chunk_reaches_only_apps_that_asked(backend: Backend) {
    let Some(w) = World::new(backend, &["openai.chat"], Limits::default()).await else {
        return;
    };
    // What the upstream sends to a client that did not ask for usage.
    let direct = client()
        .post(format!("{}/chat/completions", w.server.mock.base_url()))
        .bearer_auth(super::KEY)
        .json(&chat("gpt-4o-mini", true))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    w.server.mock.clear_requests();

    let plain = w
        .post("chat/completions", &chat("gpt-4o-mini", true))
        .await
        .text()
        .await
        .unwrap();
    assert!(!plain.contains("\"usage\""), "{plain}");
    assert_eq!(comparable(&plain), comparable(&direct));
    assert!(plain.ends_with("data: [DONE]\n\n"));
    let sent = w.server.mock.requests()[0].body_json().unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    // Metered all the same.
    let usage = w.settled(1).await;
    assert!(
        usage.output_tokens > 0 && usage.spent_microusd > 0,
        "{usage:?}"
    );

    let mut asked = chat("gpt-4o-mini", true);
    asked["stream_options"] = json!({"include_usage": true});
    let with_usage = w
        .post("chat/completions", &asked)
        .await
        .text()
        .await
        .unwrap();
    let chunks = comparable(&with_usage);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert!(last["usage"]["completion_tokens"].as_i64().unwrap() > 0);
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["usage"].is_null() && c.get("usage").is_some())
    );
    assert_eq!(w.server.mock.requests()[1].body_json().unwrap(), asked);
    w.settled(2).await;
}

/// An upstream stand-in that answers with one SSE event, then reports when the proxy closes
/// the connection.
async fn one_event_then_wait() -> (String, tokio::sync::oneshot::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let event = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n";
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
            event.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        // Read (and discard) until the proxy hangs up.
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = closed_tx.send(());
    });
    (base, closed_rx)
}

#[tokio::test]
async fn a_client_that_leaves_cancels_the_upstream_request() {
    let (upstream, closed) = one_event_then_wait().await;
    let w = World::with(Backend::Sqlite, &["openai.chat"], Limits::default(), |s| {
        s.upstream = upstream.parse().unwrap()
    })
    .await
    .unwrap();
    let mut response = w.post("chat/completions", &chat("gpt-4o-mini", true)).await;
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("hi"));
    drop(response);
    tokio::time::timeout(Duration::from_secs(10), closed)
        .await
        .expect("the upstream connection was closed after the client left")
        .unwrap();
}

#[tokio::test]
async fn no_headers_in_time_is_a_504() {
    let w = World::with(Backend::Sqlite, &["openai.chat"], Limits::default(), |s| {
        s.upstream_first_byte_timeout = Duration::from_millis(300)
    })
    .await
    .unwrap();
    w.server.mock.set_behaviour(Behaviour {
        first_byte_delay_ms: 3000,
        ..Behaviour::default()
    });
    let (status, error) = error_of(
        w.post("chat/completions", &chat("gpt-4o-mini", false))
            .await,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (504, Some("upstream_timeout"))
    );
}

#[tokio::test]
async fn an_unreachable_or_resetting_upstream_is_a_502() {
    // Nothing listens on a port that was just freed.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = World::with(Backend::Sqlite, &["openai.chat"], Limits::default(), |s| {
        s.upstream = format!("http://127.0.0.1:{port}/v1").parse().unwrap()
    })
    .await
    .unwrap();
    let (status, error) = error_of(
        w.post("chat/completions", &chat("gpt-4o-mini", false))
            .await,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (502, Some("upstream_unreachable"))
    );
    // Reaching nothing costs nothing.
    let usage = w.settled(1).await;
    assert_eq!(usage.spent_microusd, 0);

    // An upstream that reads the request and hangs up before answering.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = [0u8; 8192];
            let _ = tcp.read(&mut buf).await;
            drop(tcp);
        }
    });
    let w = World::with(Backend::Sqlite, &["openai.chat"], Limits::default(), |s| {
        s.upstream = format!("http://{addr}/v1").parse().unwrap()
    })
    .await
    .unwrap();
    let (status, _) = error_of(
        w.post("chat/completions", &chat("gpt-4o-mini", false))
            .await,
    )
    .await;
    assert_eq!(status, 502);
}

#[tokio::test]
async fn a_stream_the_upstream_cuts_off_is_cut_off_for_the_client_too() {
    let w = World::new(Backend::Sqlite, &["openai.chat"], Limits::default())
        .await
        .unwrap();
    w.server.mock.set_behaviour(Behaviour {
        reset_after_events: Some(3),
        ..Behaviour::default()
    });
    let response = w.post("chat/completions", &chat("gpt-4o-mini", true)).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.is_err(), "the client saw a clean end");
    // No usage arrived: the estimate is charged.
    let usage = w.settled(1).await;
    assert!(usage.spent_microusd > 0, "{usage:?}");
}
