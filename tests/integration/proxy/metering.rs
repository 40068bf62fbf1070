//! Metering and budgets (issue 5): usage from JSON and streams, charges for cut-off requests,
//! no overspend under concurrency, refusals with the reset time, and the monthly reset.

use std::time::Duration;

use keyward::clock::now;
use keyward::metering::budget::{self, BudgetError};
use keyward::metering::prices::Tokens;
use keyward::metering::{month_of, next_month_start};
use keyward::store::grants::Limits;
use keyward::store::usage::{Consumption, UsageMonth};
use keyward_mock_upstream::Behaviour;
use keyward_testkit::{Backend, on_both_backends};
use serde_json::{Value, json};

use super::{World, chat, error_of};

fn tokens_of(usage: &Value) -> (i64, i64) {
    let input = usage["prompt_tokens"]
        .as_i64()
        .or(usage["input_tokens"].as_i64());
    let output = usage["completion_tokens"]
        .as_i64()
        .or(usage["output_tokens"].as_i64())
        .unwrap_or(0);
    (input.unwrap(), output)
}

fn delta(before: &UsageMonth, after: &UsageMonth) -> (i64, i64, i64) {
    (
        after.input_tokens - before.input_tokens,
        after.output_tokens - before.output_tokens,
        after.spent_microusd - before.spent_microusd,
    )
}

on_both_backends!(streamed_and_json_usage_is_counted_alike);
async fn streamed_and_json_usage_is_counted_alike(backend: Backend) {
    let limits = Limits {
        budget_microusd: Some(1_000_000),
        ..Limits::default()
    };
    let Some(w) = World::new(backend, &["openai.chat", "openai.embeddings"], limits).await else {
        return;
    };
    let prices = &w.server.state.settings.prices;
    let cost = |model: &str, (input, output): (i64, i64)| {
        prices
            .cost_microusd(
                model,
                Tokens {
                    input,
                    cached: 0,
                    output,
                },
            )
            .unwrap()
    };
    let mut settled = 0;
    let mut last = UsageMonth::default();
    let mut step = async |w: &World, path: &str, body: Value| {
        let text = w.post(path, &body).await.text().await.unwrap();
        settled += 1;
        let now = w.settled(settled).await;
        let d = delta(&last, &now);
        last = now;
        (text, d)
    };

    // Chat: the JSON reply's usage, then the same prompt streamed (the app did not ask for
    // usage) must count the same tokens and the same, non-zero cost.
    let (json_reply, d) = step(&w, "chat/completions", chat("gpt-4o-mini", false)).await;
    let usage = tokens_of(&serde_json::from_str::<Value>(&json_reply).unwrap()["usage"]);
    assert_eq!(d, (usage.0, usage.1, cost("gpt-4o-mini", usage)));
    let (_, d) = step(&w, "chat/completions", chat("gpt-4o-mini", true)).await;
    assert_eq!(d, (usage.0, usage.1, cost("gpt-4o-mini", usage)));
    assert!(d.2 > 0);

    // The Responses API: JSON, then streamed (usage in `response.completed`).
    let request = json!({"model": "gpt-4o", "input": "Tell me about budgets."});
    let (reply, d) = step(&w, "responses", request.clone()).await;
    let usage = tokens_of(&serde_json::from_str::<Value>(&reply).unwrap()["usage"]);
    assert_eq!(d, (usage.0, usage.1, cost("gpt-4o", usage)));
    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let (events, d) = step(&w, "responses", streamed).await;
    assert!(events.contains("response.completed"));
    assert_eq!(d, (usage.0, usage.1, cost("gpt-4o", usage)));

    // Embeddings.
    let (reply, d) = step(
        &w,
        "embeddings",
        json!({"model": "text-embedding-3-small", "input": ["one text", "another text"]}),
    )
    .await;
    let usage = tokens_of(&serde_json::from_str::<Value>(&reply).unwrap()["usage"]);
    assert_eq!(d, (usage.0, 0, cost("text-embedding-3-small", usage)));
    assert_eq!(last.requests, 5);
    assert_eq!(last.unpriced_requests, 0);
}

on_both_backends!(a_model_without_a_price_is_counted_in_tokens);
async fn a_model_without_a_price_is_counted_in_tokens(backend: Backend) {
    let Some(w) = World::new(backend, &["openai.chat"], Limits::default()).await else {
        return;
    };
    let reply = w
        .post("chat/completions", &chat("acme-custom-1", false))
        .await;
    assert_eq!(reply.status(), 200);
    let usage = w.settled(1).await;
    assert_eq!(usage.unpriced_requests, 1);
    assert_eq!(usage.spent_microusd, 0);
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
}

on_both_backends!(a_client_that_disconnects_mid_stream_is_still_charged);
async fn a_client_that_disconnects_mid_stream_is_still_charged(backend: Backend) {
    let limits = Limits {
        budget_microusd: Some(1_000_000),
        ..Limits::default()
    };
    let Some(w) = World::new(backend, &["openai.chat"], limits).await else {
        return;
    };
    w.server.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let mut body = chat("gpt-4o-mini", true);
    body["max_tokens"] = json!(200);
    let mut response = w.post("chat/completions", &body).await;
    let first = response.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(response);
    // The upstream never reported usage: the reservation is charged, and released.
    let usage = w.settled(1).await;
    let estimate = keyward::metering::estimate::estimate(
        &w.server.state.settings.prices,
        keyward::metering::estimate::RequestShape {
            model: Some("gpt-4o-mini"),
            body_bytes: serde_json::to_vec(&body).unwrap().len(),
            max_output_tokens: Some(200),
            choices: 1,
            generates: true,
        },
    );
    assert_eq!(
        Some(usage.spent_microusd),
        estimate.cost_microusd,
        "{usage:?}"
    );
    assert!(usage.spent_microusd > 0);
    w.server.mock.release_gate();
}

on_both_backends!(fifty_concurrent_streams_never_overspend_the_budget);
async fn fifty_concurrent_streams_never_overspend_the_budget(backend: Backend) {
    let budget = 5_000;
    let limits = Limits {
        budget_microusd: Some(budget),
        ..Limits::default()
    };
    let Some(w) = World::new(backend, &["openai.chat"], limits).await else {
        return;
    };
    // Every admitted stream waits at the mock's gate, so all 50 are in flight at once, and
    // reports 100 output tokens: nearly all of what it reserved.
    w.server.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        completion_tokens: Some(100),
        ..Behaviour::default()
    });
    let mut body = chat("gpt-4o", true);
    body["max_tokens"] = json!(100);
    let reservation = keyward::metering::estimate::estimate(
        &w.server.state.settings.prices,
        keyward::metering::estimate::RequestShape {
            model: Some("gpt-4o"),
            body_bytes: serde_json::to_vec(&body).unwrap().len(),
            max_output_tokens: Some(100),
            choices: 1,
            generates: true,
        },
    )
    .cost_microusd
    .unwrap();
    let w = std::sync::Arc::new(w);
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (w, body) = (w.clone(), body.clone());
            tokio::spawn(async move { w.post("chat/completions", &body).await })
        })
        .collect();
    let mut admitted = Vec::new();
    for request in requests {
        let response = request.await.unwrap();
        match response.status().as_u16() {
            200 => admitted.push(response),
            429 => {
                assert!(response.headers().contains_key("retry-after"));
                let (_, error) = error_of(response).await;
                assert_eq!(error["code"], "insufficient_quota");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // The reservations are atomic: exactly as many as fit were admitted.
    assert_eq!(
        admitted.len() as i64,
        budget / reservation,
        "reservation {reservation}"
    );
    w.server.mock.release_gate();
    for response in admitted.drain(..) {
        assert!(response.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    }
    let admitted = budget / reservation;
    let usage = w.settled(admitted).await;
    let overspend = usage.spent_microusd - budget;
    eprintln!(
        "50 concurrent streams ({backend:?}): {admitted} admitted (reservation {reservation} each), \
         spent {} of {budget} micro-USD, overspend {overspend}",
        usage.spent_microusd
    );
    assert!(overspend <= 0, "overspent by {overspend}: {usage:?}");
    assert_eq!(usage.requests, admitted);
    assert!(
        usage.spent_microusd > admitted * reservation * 3 / 4,
        "{usage:?}"
    );
    // What is left cannot cover another reservation.
    let (status, _) = error_of(w.post("chat/completions", &body).await).await;
    assert_eq!(status, 429);
}

on_both_backends!(an_exhausted_budget_is_a_429_until_the_next_month);
async fn an_exhausted_budget_is_a_429_until_the_next_month(backend: Backend) {
    let limits = Limits {
        budget_microusd: Some(10_000),
        ..Limits::default()
    };
    let Some(w) = World::new(backend, &["openai.chat", "openai.models"], limits).await else {
        return;
    };
    let store = &w.server.state.store;
    let at = now();
    // Earlier this month the app spent its whole budget.
    store
        .settle_usage(
            &w.grant.id,
            &month_of(at),
            None,
            &Consumption {
                cost_microusd: Some(10_000),
                ..Consumption::default()
            },
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let response = w
            .post("chat/completions", &chat("gpt-4o-mini", false))
            .await;
        let retry_after: i64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let reset = next_month_start(at);
        assert!((retry_after - (reset - at)).abs() <= 5, "{retry_after}");
        let (status, error) = error_of(response).await;
        assert_eq!(status, 429);
        assert_eq!(error["type"], "insufficient_quota");
        assert_eq!(error["code"], "insufficient_quota");
        let when = time::OffsetDateTime::from_unix_timestamp(reset).unwrap();
        let date = format!("{}-{:02}-01", when.year(), u8::from(when.month()));
        assert!(
            error["message"].as_str().unwrap().contains(&date),
            "{error}"
        );
    }
    assert!(w.server.mock.requests().is_empty());
    // Calls that spend nothing still work.
    assert_eq!(w.get("models").await.status(), 200);

    // The person's activity log shows it once.
    let mut events = Vec::new();
    for _ in 0..100 {
        events = store.audit_for_user(&w.grant.user_id, 50).await.unwrap();
        if !events.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exhausted: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "budget_exhausted")
        .collect();
    assert_eq!(exhausted.len(), 1, "{events:?}");
    assert_eq!(exhausted[0].grant_id.as_deref(), Some(w.grant.id.as_str()));

    // A new month starts with a fresh budget (same reservation the proxy makes, one month on).
    let lease = w.server.state.settings.reservation_lease;
    match budget::reserve(store, &w.grant, true, Some(100), at, lease).await {
        Err(BudgetError::Exhausted { resets_at, .. }) => {
            assert_eq!(resets_at, next_month_start(at))
        }
        other => panic!("{other:?}"),
    }
    let next = budget::reserve(
        store,
        &w.grant,
        true,
        Some(100),
        next_month_start(at),
        lease,
    )
    .await
    .unwrap();
    assert_eq!(next.month, month_of(next_month_start(at)));
    assert_eq!(next.amount, 100);
}
