//! Revocation across instances: NOTIFY carries it to the others within a second; when a
//! notification is lost, the token cache's TTL still bounds how long a revoked token works;
//! and an instance whose LISTEN connection was cut flushes its cache once it listens again.

use std::time::{Duration, Instant};

use keyward::invalidation::Invalidation;
use keyward::proxy::cache::TTL;
use keyward::store::grants::Limits;

use super::instance::Instance;
use super::{Cluster, models_status, ms, time_until};

/// Revocations measured; the figures are printed and each must stay within a second.
const RUNS: usize = 7;

/// The SQL that cuts instance `name`'s LISTEN connection to `db` (tests run side by side,
/// each on its own database).
fn cut_listener(db: &str, name: &str) -> String {
    format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND application_name = 'keyward_{name}' \
         AND query LIKE 'LISTEN%'"
    )
}

/// Waits until B answers `token` with 401; how long that took (at most `limit`).
async fn refused_within(b: &Instance, token: &str, limit: Duration) -> Option<Duration> {
    time_until(limit, || async { models_status(b, token).await == 401 }).await
}

/// The app revokes `token` at instance `a` (RFC 7009).
async fn revoke_at(a: &Instance, client_id: &str, token: &str) {
    let revoked = a
        .http
        .post(format!("{}/oauth/revoke", a.url))
        .form(&[("token", token), ("client_id", client_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_a_reaches_b_within_a_second() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let (a, b) = (cluster.start("a", &[]).await, cluster.start("b", &[]).await);
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let (grant, token) = cluster.grant(Limits::default()).await;
        // B has the token in its cache (the second request is served from it).
        for _ in 0..2 {
            assert_eq!(models_status(&b, &token).await, 200);
        }
        // The app revokes it at A (RFC 7009).
        let started = Instant::now();
        revoke_at(&a, &grant.client_id, &token).await;
        let took = refused_within(&b, &token, Duration::from_secs(5))
            .await
            .map(|_| started.elapsed())
            .expect("B kept accepting a token revoked at A");
        times.push(took);
    }
    times.sort();
    eprintln!(
        "revocation A -> B over {RUNS} runs (from sending the revocation to B's first 401): \
         min {}, median {}, max {}",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1])
    );
    assert!(
        times[RUNS - 1] <= Duration::from_secs(1),
        "slowest propagation {}",
        ms(times[RUNS - 1])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_costs_at_most_the_cache_ttl() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let b = cluster.start("b", &[]).await;
    let (grant, token) = cluster.grant(Limits::default()).await;
    assert_eq!(models_status(&b, &token).await, 200);
    let cached = Instant::now();
    // Revoked in the store with no announcement at all: nothing tells B.
    cluster.console.store.revoke_grant(&grant.id).await.unwrap();
    assert_eq!(
        models_status(&b, &token).await,
        200,
        "B serves the token from its cache until the entry expires"
    );
    let limit = TTL + Duration::from_secs(5);
    refused_within(&b, &token, limit)
        .await
        .expect("the revocation never landed on B");
    let after = cached.elapsed();
    eprintln!(
        "lost notification: B refused the token {} after caching it (TTL {} s)",
        ms(after),
        TTL.as_secs()
    );
    assert!(after <= TTL + Duration::from_secs(1), "{}", ms(after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_lost_its_listen_connection_flushes_when_it_listens_again() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let (a, b) = (cluster.start("a", &[]).await, cluster.start("b", &[]).await);
    let (grant, token) = cluster.grant(Limits::default()).await;
    assert_eq!(models_status(&b, &token).await, 200);
    assert_eq!(models_status(&a, &token).await, 200);

    // B's LISTEN connection is cut and cannot come back for a while (no new connections to
    // the database; the pools' open connections keep working).
    let db = cluster.db_name().to_owned();
    cluster
        .admin_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
        .await;
    cluster.admin_sql(&cut_listener(&db, "b")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // B caches the token again while it is not listening...
    assert_eq!(models_status(&b, &token).await, 200);
    // ...and the revocation is announced while nobody at B hears it.
    cluster.console.store.revoke_grant(&grant.id).await.unwrap();
    cluster
        .console
        .invalidator
        .publish(Invalidation::Grant(grant.id.clone()))
        .await;
    assert_eq!(models_status(&b, &token).await, 200, "B missed the NOTIFY");
    assert_eq!(
        refused_within(&a, &token, Duration::from_secs(1))
            .await
            .map(|_| ()),
        Some(()),
        "A heard it"
    );

    let reopened = Instant::now();
    cluster
        .admin_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .await;
    let limit = Duration::from_secs(8);
    refused_within(&b, &token, limit)
        .await
        .expect("B served a revoked token after listening again");
    let took = reopened.elapsed();
    eprintln!(
        "LISTEN connection cut: B refused the missed revocation {} after the database took \
         connections again (reconnect back-off included; cache TTL {} s)",
        ms(took),
        TTL.as_secs()
    );
    assert!(took < TTL, "{}", ms(took));

    // B listens again: the next revocation at A reaches it as fast as ever.
    let (grant, token) = cluster.grant(Limits::default()).await;
    assert_eq!(models_status(&b, &token).await, 200);
    let started = Instant::now();
    revoke_at(&a, &grant.client_id, &token).await;
    refused_within(&b, &token, Duration::from_secs(1))
        .await
        .expect("B does not hear A after reconnecting");
    eprintln!("after the reconnect: A -> B in {}", ms(started.elapsed()));
}
