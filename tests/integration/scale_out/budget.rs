//! One budget, two instances: concurrent streams cannot overspend it beyond what they
//! reserved, and an instance killed mid-request does not keep its reservations counted.

use std::time::Duration;

use keyward::metering::estimate::{RequestShape, estimate};
use keyward::store::grants::Limits;
use keyward_mock_upstream::Behaviour;
use serde_json::{Value, json};

use super::{Cluster, ms, post_chat, time_until};

/// A streaming request whose reservation is easy to predict, and that reservation.
fn bounded_stream(cluster: &Cluster) -> (Value, i64) {
    let mut body = super::chat(true);
    body["model"] = json!("gpt-4o");
    body["max_tokens"] = json!(100);
    let reservation = estimate(
        &cluster.console.settings.prices,
        RequestShape {
            model: Some("gpt-4o"),
            body_bytes: serde_json::to_vec(&body).unwrap().len(),
            max_output_tokens: Some(100),
            choices: 1,
            generates: true,
        },
    )
    .cost_microusd
    .expect("gpt-4o has a price");
    (body, reservation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_streams_over_two_instances_never_overspend() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let instances =
        std::sync::Arc::new([cluster.start("a", &[]).await, cluster.start("b", &[]).await]);
    let (body, reservation) = bounded_stream(&cluster);
    // Room for a dozen of the fifty, and a bit.
    let budget = reservation * 12 + reservation / 2;
    let (grant, token) = cluster
        .grant(Limits {
            budget_microusd: Some(budget),
            ..Limits::default()
        })
        .await;
    // Every admitted stream waits at the mock's gate, so all are in flight at once, and
    // reports 100 output tokens: nearly all of what it reserved.
    cluster.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        completion_tokens: Some(100),
        ..Behaviour::default()
    });
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let (instances, token, body) = (instances.clone(), token.clone(), body.clone());
            tokio::spawn(async move { (i % 2, post_chat(&instances[i % 2], &token, &body).await) })
        })
        .collect();
    let mut admitted = Vec::new();
    let mut per_instance = [0; 2];
    for request in requests {
        let (instance, response) = request.await.unwrap();
        match response.status().as_u16() {
            200 => {
                per_instance[instance] += 1;
                admitted.push(response);
            }
            429 => {
                assert!(response.headers().contains_key("retry-after"));
                let error: Value = response.json().await.unwrap();
                assert_eq!(error["error"]["code"], "insufficient_quota");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let fit = budget / reservation;
    assert_eq!(admitted.len() as i64, fit, "reservation {reservation}");
    cluster.mock.release_gate();
    for response in admitted {
        assert!(response.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    }
    let usage = keyward_testkit::fixtures::settled(&cluster.console.store, &grant.id, fit).await;
    let overspend = usage.spent_microusd - budget;
    eprintln!(
        "50 concurrent streams over two instances: {fit} admitted (A {}, B {}; reservation \
         {reservation} each), spent {} of {budget} micro-USD, overspend {overspend}",
        per_instance[0], per_instance[1], usage.spent_microusd
    );
    assert!(overspend <= 0, "overspent by {overspend}: {usage:?}");
    assert_eq!(usage.requests, fit);
    assert_eq!(
        cluster
            .console
            .store
            .reservations_held(&grant.id)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instances_reservations_come_back_after_their_lease() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let lease = Duration::from_secs(3);
    let lease_env = [("KEYWARD_RESERVATION_LEASE", "3s")];
    let a = cluster.start("a", &lease_env).await;
    let mut b = cluster.start("b", &lease_env).await;
    let (body, reservation) = bounded_stream(&cluster);
    // Room for two requests at a time.
    let (grant, token) = cluster
        .grant(Limits {
            budget_microusd: Some(reservation * 2 + reservation / 2),
            ..Limits::default()
        })
        .await;
    cluster.mock.set_behaviour(Behaviour {
        gate_before_last_event: true,
        ..Behaviour::default()
    });
    let in_flight = [
        post_chat(&b, &token, &body).await,
        post_chat(&b, &token, &body).await,
    ];
    assert!(in_flight.iter().all(|r| r.status() == 200));
    // Longer than a lease: B renews what its running requests hold.
    tokio::time::sleep(lease + Duration::from_secs(1)).await;
    let mut probe = body.clone();
    probe["stream"] = json!(false);
    assert_eq!(post_chat(&a, &token, &probe).await.status(), 429);

    // B dies mid-stream; nobody settles its two requests.
    b.kill();
    drop(in_flight);
    let back = time_until(Duration::from_secs(20), || async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        post_chat(&a, &token, &probe).await.status() == 200
    })
    .await
    .expect("the dead instance's reservations were never released");
    eprintln!(
        "killed instance: its reservations were released and A admitted again {} after the \
         kill (lease {} s, swept every {} s)",
        ms(back),
        lease.as_secs(),
        (lease / 3).as_secs()
    );
    // Released when the lease (renewed at most a third of a lease before the kill) ran out,
    // found by the next sweep, with a second of clock granularity.
    assert!(
        back <= lease + lease / 3 + Duration::from_secs(2),
        "{}",
        ms(back)
    );
    let usage = keyward_testkit::fixtures::settled(&cluster.console.store, &grant.id, 1).await;
    assert_eq!(usage.requests, 1, "only A's request was settled: {usage:?}");
    assert_eq!(
        cluster
            .console
            .store
            .reservations_held(&grant.id)
            .await
            .unwrap(),
        0
    );
    cluster.mock.release_gate();
}
