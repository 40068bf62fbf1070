//! Requests per minute per grant: in memory, shared through Redis by two instances, and the
//! fallback when Redis is down.

use keyward::app::{AppState, Server};
use keyward::store::grants::Limits;
use keyward_testkit::{Backend, fixtures};

use super::{World, chat, client, error_of};

async fn assert_rate_limited(response: reqwest::Response, rpm: u32) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = 60 / u64::from(rpm);
    assert!(
        (1..=expected).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    let (status, error) = error_of(response).await;
    assert_eq!(status, 429);
    assert_eq!(error["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn requests_per_minute_are_limited_per_grant() {
    let limits = Limits {
        rpm: Some(3),
        ..Limits::default()
    };
    let w = World::new(Backend::Sqlite, &["openai.chat"], limits)
        .await
        .unwrap();
    let body = chat("gpt-4o-mini", false);
    for _ in 0..3 {
        assert_eq!(w.post("chat/completions", &body).await.status(), 200);
    }
    assert_rate_limited(w.post("chat/completions", &body).await, 3).await;
    assert_eq!(w.server.mock.requests().len(), 3);
    // Another grant of the same person has its own allowance.
    let user = fixtures::create_user(&w.server.state, super::KEY).await;
    let (_, other) = fixtures::grant_token(
        &w.server.state,
        &user,
        &["openai.chat"],
        Limits {
            rpm: Some(3),
            ..Limits::default()
        },
    )
    .await;
    assert_eq!(
        w.post_as(&other, "chat/completions", &body).await.status(),
        200
    );
}

/// A second instance on the same store and settings as `first`.
async fn second_instance(
    first: &keyward_testkit::TestServer,
) -> (String, tokio::task::JoinHandle<()>) {
    let mut settings = (*first.state.settings).clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    settings.listen = listener.local_addr().unwrap();
    let url = format!("http://{}", settings.listen);
    let state = AppState::open(settings).await.unwrap();
    let task = tokio::spawn(async move {
        Server::with_listener(listener, state)
            .run(std::future::pending())
            .await
            .unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn two_instances_sharing_redis_share_the_limit() {
    let Some(redis) = keyward_testkit::db::redis_url().await else {
        return;
    };
    let limits = Limits {
        rpm: Some(4),
        ..Limits::default()
    };
    let w = World::with(Backend::Sqlite, &["openai.chat"], limits, |s| {
        s.redis_url = Some(redis)
    })
    .await
    .unwrap();
    let (b_url, b_task) = second_instance(&w.server).await;
    let body = chat("gpt-4o-mini", false);
    let to_b = async || {
        client()
            .post(format!("{b_url}/v1/chat/completions"))
            .bearer_auth(&w.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    for _ in 0..2 {
        assert_eq!(w.post("chat/completions", &body).await.status(), 200);
        assert_eq!(to_b().await.status(), 200);
    }
    assert_rate_limited(to_b().await, 4).await;
    assert_rate_limited(w.post("chat/completions", &body).await, 4).await;
    b_task.abort();
}

#[tokio::test]
async fn with_redis_down_the_limit_holds_per_instance() {
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let limits = Limits {
        rpm: Some(2),
        ..Limits::default()
    };
    let w = World::with(Backend::Sqlite, &["openai.chat"], limits, |s| {
        s.redis_url = Some(format!("redis://127.0.0.1:{port}"))
    })
    .await
    .unwrap();
    let body = chat("gpt-4o-mini", false);
    for _ in 0..2 {
        assert_eq!(w.post("chat/completions", &body).await.status(), 200);
    }
    assert_rate_limited(w.post("chat/completions", &body).await, 2).await;
}
