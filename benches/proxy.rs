//! Proxy overhead on loopback: the mock upstream and Keyward in one process, requests from a
//! plain HTTP client, each measurement taken directly against the mock and through Keyward.
//! Prints added latency (p50/p99) for JSON and streamed chat, time to the first stream chunk,
//! and throughput at 32 concurrent requests.
//!
//! `cargo bench --bench proxy` (release build; a few minutes to compile the first time).
//! Figures depend on the machine; benches/README.md has this machine's.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark: an unwrap is an assertion, and it prints its figures"
)]

use std::time::{Duration, Instant};

use keyward::app::{AppState, Server};
use keyward::clock::now;
use keyward::config::{MasterKeySource, Settings, SettingsArgs};
use keyward::oauth::issue::issue_tokens;
use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::{Grant, Limits};
use keyward::store::new_id;
use keyward::store::users::User;
use keyward::vault::{MasterKey, ProviderKey};
use keyward_mock_upstream::MockUpstream;
use serde_json::{Value, json};

const SAMPLES: usize = 400;
const CONCURRENCY: usize = 32;
const THROUGHPUT_FOR: Duration = Duration::from_secs(5);

struct Target {
    name: &'static str,
    base: String,
    key: String,
}

fn body(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Benchmark me."}],
        "stream": stream,
    })
}

/// Full response time, and time to the first body chunk.
async fn once(http: &reqwest::Client, t: &Target, stream: bool) -> (Duration, Duration) {
    let started = Instant::now();
    let mut response = http
        .post(format!("{}/chat/completions", t.base))
        .bearer_auth(&t.key)
        .json(&body(stream))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{}", t.name);
    let mut first = None;
    while let Some(chunk) = response.chunk().await.expect("body") {
        if first.is_none() && !chunk.is_empty() {
            first = Some(started.elapsed());
        }
    }
    (started.elapsed(), first.unwrap_or_default())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn latencies(
    http: &reqwest::Client,
    t: &Target,
    stream: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    for _ in 0..50 {
        once(http, t, stream).await;
    }
    let mut total = Vec::with_capacity(SAMPLES);
    let mut first = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let (a, b) = once(http, t, stream).await;
        total.push(a);
        first.push(b);
    }
    total.sort();
    first.sort();
    (total, first)
}

async fn throughput(http: &reqwest::Client, t: &Target, stream: bool) -> f64 {
    let deadline = Instant::now() + THROUGHPUT_FOR;
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (http, t) = (
                http.clone(),
                Target {
                    name: t.name,
                    base: t.base.clone(),
                    key: t.key.clone(),
                },
            );
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    once(&http, &t, stream).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    total as f64 / THROUGHPUT_FOR.as_secs_f64()
}

async fn keyward(mock: &MockUpstream, dir: &std::path::Path) -> (String, String) {
    let mut settings = Settings::resolve(&SettingsArgs::default(), None).unwrap();
    settings.database_url = format!("sqlite://{}", dir.join("bench.db").display());
    settings.data_dir = dir.to_path_buf();
    settings.upstream = mock.base_url().parse().unwrap();
    settings.master_key = MasterKeySource::Env(zeroize::Zeroizing::new(
        MasterKey::generate().to_base64().to_string(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    settings.listen = listener.local_addr().unwrap();
    let state = AppState::open(settings).await.unwrap();
    let user = User {
        id: new_id(),
        webauthn_id: new_id(),
        display_name: "bench".into(),
        created_at: now(),
    };
    state.store.insert_user(&user).await.unwrap();
    let sealed = state
        .vault
        .seal_provider_key(&user.id, &ProviderKey::new("sk-proj-bench0123456789"))
        .unwrap();
    state
        .store
        .put_vault_entry(&user.id, &sealed.key_id, &sealed.jwe)
        .await
        .unwrap();
    let client = Client {
        id: "bench".into(),
        kind: ClientKind::Registered,
        name: "bench".into(),
        logo_url: None,
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        secret_hash: None,
        created_at: now(),
    };
    state.store.insert_client(&client).await.unwrap();
    let grant = Grant::new(
        &user.id,
        &client.id,
        vec!["openai.chat".into()],
        Limits::default(),
        keyward::clock::now(),
    );
    state.store.insert_grant(&grant).await.unwrap();
    let token = issue_tokens(&state.store, &grant, &new_id(), keyward::clock::now())
        .await
        .unwrap()
        .access_token;
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(Server::with_listener(listener, state).run(std::future::pending()));
    (base, token)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await;
    let (base, token) = keyward(&mock, dir.path()).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let direct = Target {
        name: "direct",
        base: mock.base_url(),
        key: "sk-proj-bench0123456789".into(),
    };
    let proxied = Target {
        name: "keyward",
        base,
        key: token,
    };

    println!(
        "Keyward proxy overhead (in-process mock upstream, loopback, {SAMPLES} sequential samples)"
    );
    println!(
        "| mode | direct p50 | keyward p50 | added p50 | direct p99 | keyward p99 | added p99 | first chunk direct / keyward p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for stream in [false, true] {
        let (d_total, d_first) = latencies(&http, &direct, stream).await;
        let (k_total, k_first) = latencies(&http, &proxied, stream).await;
        let (d50, k50) = (percentile(&d_total, 0.5), percentile(&k_total, 0.5));
        let (d99, k99) = (percentile(&d_total, 0.99), percentile(&k_total, 0.99));
        println!(
            "| {} | {:.3} ms | {:.3} ms | {:+.3} ms | {:.3} ms | {:.3} ms | {:+.3} ms | {:.3} / {:.3} ms |",
            if stream { "stream" } else { "json" },
            ms(d50),
            ms(k50),
            ms(k50) - ms(d50),
            ms(d99),
            ms(k99),
            ms(k99) - ms(d99),
            ms(percentile(&d_first, 0.5)),
            ms(percentile(&k_first, 0.5)),
        );
    }
    println!();
    println!(
        "Throughput, {CONCURRENCY} concurrent clients for {}s (client, mock and Keyward share the machine)",
        THROUGHPUT_FOR.as_secs()
    );
    println!("| mode | direct req/s | keyward req/s |");
    println!("|---|---|---|");
    for stream in [false, true] {
        let d = throughput(&http, &direct, stream).await;
        let k = throughput(&http, &proxied, stream).await;
        println!(
            "| {} | {d:.0} | {k:.0} |",
            if stream { "stream" } else { "json" }
        );
    }
}
