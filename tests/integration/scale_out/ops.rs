//! What an operator runs the instances with: health and readiness, metrics, graceful
//! shutdown on SIGTERM, JSON logs, and the refusal to start without the master key the store
//! needs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use keyward::store::grants::{Grant, Limits};
use keyward::vault::MasterKey;
use keyward_mock_upstream::Behaviour;
use serde_json::Value;

use super::instance::Instance;
use super::{Cluster, KEY, chat, ms, post_chat, time_until};

/// `GET {instance}{path}`: status and body as JSON.
async fn get_json(instance: &Instance, path: &str) -> (u16, Value) {
    let response = instance
        .http
        .get(format!("{}{path}", instance.url))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn metrics(instance: &Instance) -> String {
    instance
        .http
        .get(format!("{}/metrics", instance.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the series `name{labels}` (exactly as written), or 0 when absent.
fn series(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().expect("a number"))
}

/// SQL on the test database itself.
async fn db_sql(cluster: &Cluster, sql: &str) {
    use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};
    let mut conn = diesel_async::AsyncPgConnection::establish(&cluster.db.url)
        .await
        .unwrap();
    conn.batch_execute(sql).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_store_and_its_schema() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.start("a", &[]).await;
    assert_eq!(
        get_json(&a, "/healthz").await,
        (200, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(get_json(&a, "/readyz").await.0, 200);

    // A newer migration this instance's binary carries is missing from the store.
    let hide = "UPDATE __diesel_schema_migrations SET version = 'hidden-' || version \
                WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)";
    db_sql(&cluster, hide).await;
    let (status, body) = get_json(&a, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(
        body["reason"],
        "database migrations pending: run `keyward migrate`"
    );
    db_sql(
        &cluster,
        "UPDATE __diesel_schema_migrations SET version = substr(version, 8) \
         WHERE version LIKE 'hidden-%'",
    )
    .await;
    assert_eq!(get_json(&a, "/readyz").await.0, 200);

    // The database stops taking connections and drops the instance's: not ready, yet alive.
    let db = cluster.db_name().to_owned();
    cluster
        .admin_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
        .await;
    cluster
        .admin_sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{db}' AND application_name = 'keyward_a'"
        ))
        .await;
    let started = Instant::now();
    let (status, body) = get_json(&a, "/readyz").await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (503, Some("store unreachable"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered in time"
    );
    assert_eq!(get_json(&a, "/healthz").await.0, 200);
    cluster
        .admin_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .await;
    let back = time_until(Duration::from_secs(10), || async {
        get_json(&a, "/readyz").await.0 == 200
    })
    .await;
    assert!(back.is_some(), "ready again once the database is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_what_operators_watch_and_nothing_secret() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.start("a", &[]).await;
    let (grant, token) = cluster
        .grant(Limits {
            budget_microusd: Some(1_000_000),
            ..Limits::default()
        })
        .await;
    let before = metrics(&a).await;
    for series_name in [
        "keyward_active_streams 0",
        "keyward_budget_rejections_total 0",
        "keyward_rate_limit_rejections_total 0",
    ] {
        assert!(
            before.contains(series_name),
            "{series_name} missing:\n{before}"
        );
    }
    let chat_ok =
        r#"keyward_http_requests_total{route="/v1/chat/completions",method="POST",status="200"}"#;
    let hits = r#"keyward_token_cache_lookups_total{result="hit"}"#;
    let latency = r#"keyward_upstream_latency_seconds_count{route="/v1/chat/completions"}"#;

    for _ in 0..2 {
        assert_eq!(post_chat(&a, &token, &chat(false)).await.status(), 200);
    }
    // A stream in flight shows as active until it ends.
    cluster.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let stream = post_chat(&a, &token, &chat(true)).await;
    assert_eq!(stream.status(), 200);
    let during = metrics(&a).await;
    assert_eq!(series(&during, "keyward_active_streams"), 1.0);
    cluster.mock.release_gate();
    assert!(stream.text().await.unwrap().ends_with("[DONE]\n\n"));
    cluster.mock.set_behaviour(Behaviour::default());
    // Spend the budget, then one more request is refused.
    cluster
        .console
        .store
        .settle_usage(
            &grant.id,
            &keyward::metering::month_of(keyward::clock::now()),
            None,
            &keyward::store::usage::Consumption {
                cost_microusd: Some(1_000_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(post_chat(&a, &token, &chat(false)).await.status(), 429);

    let after = time_until(Duration::from_secs(2), || async {
        series(&metrics(&a).await, "keyward_active_streams") == 0.0
    })
    .await;
    assert!(after.is_some(), "the stream ended");
    let after = metrics(&a).await;
    assert_eq!(series(&after, chat_ok), series(&before, chat_ok) + 3.0);
    assert!(series(&after, hits) >= 3.0, "{after}");
    assert_eq!(series(&after, latency), 3.0);
    assert!(after.contains(
        r#"keyward_upstream_latency_seconds_bucket{le="0.005",route="/v1/chat/completions"}"#
    ));
    assert_eq!(series(&after, "keyward_budget_rejections_total"), 1.0);
    assert!(
        series(
            &after,
            r#"keyward_http_requests_total{route="/v1/chat/completions",method="POST",status="429"}"#
        ) == 1.0
    );

    // Labels hold route templates, methods, statuses and fixed words; never ids or secrets.
    for secret in [KEY, &token, &grant.id, &grant.user_id, &grant.client_id] {
        assert!(!after.contains(secret), "a secret or id in /metrics");
    }
    let mut values = BTreeSet::new();
    for line in after.lines().filter(|l| !l.starts_with('#')) {
        let Some(labels) = line.split_once('{').and_then(|(_, r)| r.split_once('}')) else {
            continue;
        };
        for pair in labels.0.split("\",") {
            let (name, value) = pair.split_once("=\"").expect("name=\"value\"");
            values.insert((name.to_owned(), value.trim_end_matches('"').to_owned()));
        }
    }
    for (name, value) in &values {
        let fine = match name.as_str() {
            "route" => value == "unmatched" || is_route_template(value),
            "method" => [
                "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
            ]
            .contains(&value.as_str()),
            "status" => value.parse::<u16>().is_ok(),
            "result" => ["hit", "miss"].contains(&value.as_str()),
            "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
            _ => false,
        };
        assert!(fine, "unexpected label {name}={value:?}");
    }
}

/// A route template such as `/v1/chat/completions` or `/oauth/{x}`: words only, no ids.
fn is_route_template(value: &str) -> bool {
    value.starts_with('/')
        && value.split('/').skip(1).all(|segment| {
            segment == "v1"
                || segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || "_-.{}*".contains(c))
        })
}

/// A gated stream on `instance` (of a grant with a budget, so it holds a reservation), its
/// response headers received.
async fn stream_in_flight(cluster: &Cluster, instance: &Instance) -> (Grant, reqwest::Response) {
    let (grant, token) = cluster
        .grant(Limits {
            budget_microusd: Some(1_000_000),
            ..Limits::default()
        })
        .await;
    cluster.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let response = post_chat(instance, &token, &chat(true)).await;
    assert_eq!(response.status(), 200);
    (grant, response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_accepting_and_lets_a_stream_finish() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let grace = Duration::from_secs(10);
    let mut a = cluster
        .start("a", &[("KEYWARD_SHUTDOWN_GRACE", "10s")])
        .await;
    let addr = a.url.trim_start_matches("http://").to_owned();
    let (grant, stream) = stream_in_flight(&cluster, &a).await;

    let signalled = Instant::now();
    a.terminate();
    let refused = time_until(Duration::from_secs(2), || async {
        tokio::net::TcpStream::connect(&addr).await.is_err()
    })
    .await
    .expect("new connections are still accepted after SIGTERM");
    // The stream goes on and ends normally.
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.mock.release_gate();
    let body = stream.text().await.expect("the stream completes");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let (status, _) = a
        .exited_within(grace)
        .await
        .expect("the process exits within the grace period");
    eprintln!(
        "SIGTERM: new connections refused after {}, process exited {} after the signal \
         (its last stream ended first)",
        ms(refused),
        ms(signalled.elapsed())
    );
    assert!(status.success(), "{status:?}");
    assert!(
        a.stdout
            .text()
            .contains("shutting down: no new connections"),
        "{}",
        a.stdout.text()
    );
    // The stream it let finish was metered before it went: counted, reservation released.
    let month = keyward::metering::month_of(keyward::clock::now());
    let usage = cluster
        .console
        .store
        .usage_month(&grant.id, &month)
        .await
        .unwrap();
    assert_eq!(
        (usage.requests, usage.reserved_microusd),
        (1, 0),
        "{usage:?}"
    );
    assert!(usage.spent_microusd > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_longer_than_the_grace_period_is_cut_at_the_deadline() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let grace = Duration::from_secs(2);
    let mut a = cluster
        .start("a", &[("KEYWARD_SHUTDOWN_GRACE", "2s")])
        .await;
    let (_, stream) = stream_in_flight(&cluster, &a).await;
    a.terminate();
    let (status, took) = a
        .exited_within(grace + Duration::from_secs(3))
        .await
        .expect("the process exits at the deadline");
    eprintln!(
        "SIGTERM with a stream that never ends: exited after {}",
        ms(took)
    );
    assert!(status.success(), "{status:?}");
    assert!(
        took >= grace - Duration::from_millis(100) && took <= grace + Duration::from_secs(1),
        "{}",
        ms(took)
    );
    let body = stream.text().await.unwrap_or_default();
    assert!(!body.contains("[DONE]"), "the stream was cut: {body}");
    cluster.mock.release_gate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_the_request_fields() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let a = cluster.start("a", &[]).await;
    let (grant, token) = cluster.grant(Limits::default()).await;
    assert_eq!(post_chat(&a, &token, &chat(false)).await.status(), 200);
    let bad = a
        .http
        .post(format!("{}/oauth/token", a.url))
        .form(&[("grant_type", "authorization_code"), ("code", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let finished = |logs: &[Value], route: &str| {
        logs.iter()
            .find(|l| l["message"] == "request finished" && l["span"]["route"] == route)
            .cloned()
    };
    let mut logs = Vec::new();
    let found = time_until(Duration::from_secs(2), || {
        logs = a.json_logs();
        let done = finished(&logs, "/oauth/token").is_some();
        async move { done }
    })
    .await;
    assert!(found.is_some(), "no request line for /oauth/token");

    // The proxy's line carries its span's fields: route, grant, client.
    let forwarded = logs
        .iter()
        .find(|l| l["message"] == "forwarded")
        .expect("a forwarded line");
    assert_eq!(forwarded["level"], "INFO");
    assert_eq!(forwarded["status"], 200);
    assert_eq!(forwarded["span"]["name"], "proxy");
    assert_eq!(forwarded["span"]["route"], "/v1/chat/completions");
    assert_eq!(forwarded["span"]["grant_id"], grant.id.as_str());
    assert_eq!(forwarded["span"]["client_id"], grant.client_id.as_str());
    let spans: Vec<&str> = forwarded["spans"]
        .as_array()
        .expect("the span list")
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(spans, ["request", "proxy"]);
    // Every request ends with a line: method, route template, status, duration.
    let chat_line = finished(&logs, "/v1/{*path}").expect("request line for the proxy");
    assert_eq!(chat_line["span"]["method"], "POST");
    assert_eq!(chat_line["status"], 200);
    assert!(chat_line["duration_ms"].is_u64());
    let token_line = finished(&logs, "/oauth/token").unwrap();
    assert_eq!(token_line["status"], 401);
    let all = a.stdout.text();
    for secret in [KEY, token.as_str(), "nope"] {
        assert!(!all.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_the_stores_master_key_refuses_to_start() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    cluster.grant(Limits::default()).await; // someone's key is sealed in the vault
    let ring_in_use = MasterKey::from_base64(&cluster.master_key).unwrap();
    let other = MasterKey::generate();
    let exited = match cluster
        .try_start("x", &[("KEYWARD_MASTER_KEY", &other.to_base64())])
        .await
    {
        Ok(_) => panic!("started without the master key the store needs"),
        Err(exited) => exited,
    };
    assert!(!exited.status.success());
    let said = &exited.stderr;
    for expected in [
        ring_in_use.id(),
        other.id(),
        "which this instance does not have",
        "Start it with the same master key",
        "KEYWARD_MASTER_KEY",
    ] {
        assert!(said.contains(expected), "{expected:?} missing from: {said}");
    }
    for secret in [ring_in_use.to_base64(), other.to_base64()] {
        assert!(!said.contains(secret.as_str()) && !exited.stdout.contains(secret.as_str()));
    }
}
