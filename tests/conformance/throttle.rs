//! Per-client-IP limits on the endpoints anyone can call: the sign-up key check, the passkey
//! JSON calls and the OAuth endpoints answer 429 with `Retry-After` in the caller's shape once
//! a client spends its burst; `X-Forwarded-For` counts only from trusted proxies.

use keyward::config::{IpRateLimit, Settings, parse_ip_net};
use keyward_testkit::Backend;
use keyward_testkit::browser::Page;
use keyward_testkit::harness::{GOOD_KEY, Harness};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BURST: u32 = 3;

fn small_limit(s: &mut Settings) {
    s.ip_rate_limit = IpRateLimit {
        burst: BURST,
        per_second: 1,
    };
}

fn retry_after(page: &Page) -> u64 {
    page.header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds")
}

/// What the token endpoint itself answers the requests below (no client_id): the limiter let
/// them through.
const ADMITTED: StatusCode = StatusCode::UNAUTHORIZED;

/// POSTs a token request (a bad one: the limit counts every request) with extra headers.
async fn token_request(h: &Harness, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut request = h
        .http
        .post(format!("{}/oauth/token", h.server.url))
        .form(&[("grant_type", "authorization_code"), ("code", "nope")]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("POST");
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let h = response.headers();
        assert!(h["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
        assert_eq!(h["cache-control"], "no-store");
        if headers.iter().any(|(name, _)| *name == "origin") {
            assert_eq!(
                h["access-control-allow-origin"], "*",
                "a browser app can read it"
            );
        }
    }
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_key_check_refuses_a_client_over_its_burst_with_a_page() {
    let h = Harness::start_with(Backend::Sqlite, small_limit)
        .await
        .unwrap();
    for _ in 0..BURST {
        let page = h.submit_key(None, GOOD_KEY).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    }
    let refused = h.submit_key(None, GOOD_KEY).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.body.contains("Too many attempts"),
        "{}",
        refused.body
    );
    assert!((1..=60).contains(&retry_after(&refused)));
    // Only the admitted attempts reached the upstream; the pages themselves (GET) stay open.
    let checks = h
        .server
        .mock
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/models"))
        .count();
    assert_eq!(checks, BURST as usize);
    assert_eq!(h.browser.get("/signup").await.status, StatusCode::OK);
}

#[tokio::test]
async fn passkey_calls_and_oauth_share_the_bucket_and_answer_in_their_shape() {
    let h = Harness::start_with(Backend::Sqlite, small_limit)
        .await
        .unwrap();
    let csrf = h
        .browser
        .get("/signin")
        .await
        .script_json("kw-data")
        .unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..BURST {
        let start = h
            .browser
            .post_json("/passkey/signin/start", Some(&csrf), &json!({}))
            .await;
        assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    }
    let refused = h
        .browser
        .post_json("/passkey/signin/start", Some(&csrf), &json!({}))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.json()["error"], "Too many attempts");
    assert!(retry_after(&refused) >= 1);
    // The same client at the token endpoint: an RFC 6749 error, readable cross-origin.
    let (status, body) = token_request(&h, &[("origin", "https://app.example")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].is_string());
    // A second later one more request fits again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = token_request(&h, &[]).await;
    assert_eq!(status, ADMITTED, "{body}");
}

#[tokio::test]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    // Not trusted: a client cannot escape its bucket by inventing addresses.
    let h = Harness::start_with(Backend::Sqlite, small_limit)
        .await
        .unwrap();
    for i in 0..BURST {
        let xff = format!("203.0.113.{i}");
        let (status, _) = token_request(&h, &[("x-forwarded-for", &xff)]).await;
        assert_eq!(status, ADMITTED);
    }
    let (status, _) = token_request(&h, &[("x-forwarded-for", "198.51.100.77")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Behind a trusted proxy (this loopback peer): each forwarded client has its own bucket,
    // and a client's own forged entry to the left of the proxy's does not help it.
    let h = Harness::start_with(Backend::Sqlite, |s| {
        small_limit(s);
        s.trusted_proxies = vec![
            parse_ip_net("127.0.0.1").unwrap(),
            parse_ip_net("::1").unwrap(),
        ];
    })
    .await
    .unwrap();
    for i in 0..BURST {
        let forged = format!("192.0.2.{i}, 203.0.113.5");
        let (status, _) = token_request(&h, &[("x-forwarded-for", &forged)]).await;
        assert_eq!(status, ADMITTED);
    }
    let (status, _) = token_request(&h, &[("x-forwarded-for", "203.0.113.5")]).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "203.0.113.5 spent its burst"
    );
    let (status, _) = token_request(&h, &[("x-forwarded-for", "203.0.113.6")]).await;
    assert_eq!(status, ADMITTED, "another client is not affected");
}

#[tokio::test]
async fn zero_per_second_turns_the_limit_off() {
    let h = Harness::start_with(Backend::Sqlite, |s| {
        s.ip_rate_limit = IpRateLimit {
            burst: 1,
            per_second: 0,
        };
    })
    .await
    .unwrap();
    for _ in 0..5 {
        assert_eq!(token_request(&h, &[]).await.0, ADMITTED);
    }
}
