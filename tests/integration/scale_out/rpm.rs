//! Requests per minute across instances: shared through Redis, per instance without it.

use keyward::store::grants::Limits;

use super::instance::Instance;
use super::{Cluster, chat, post_chat};

/// A grant limited to `rpm` requests per minute; its token.
async fn limited(cluster: &Cluster, rpm: u32) -> String {
    cluster
        .grant(Limits {
            rpm: Some(rpm),
            ..Limits::default()
        })
        .await
        .1
}

/// The statuses of `n` requests to `instance`.
async fn statuses(instance: &Instance, token: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            post_chat(instance, token, &chat(false))
                .await
                .status()
                .as_u16(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_the_limit_holds_across_instances() {
    let Some(redis) = keyward_testkit::db::redis_url().await else {
        return;
    };
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let env = [("KEYWARD_REDIS_URL", redis.as_str())];
    let (a, b) = (
        cluster.start("a", &env).await,
        cluster.start("b", &env).await,
    );
    let token = limited(&cluster, 4).await;
    assert_eq!(statuses(&a, &token, 2).await, [200, 200]);
    assert_eq!(statuses(&b, &token, 2).await, [200, 200]);
    assert_eq!(
        statuses(&b, &token, 1).await,
        [429],
        "B counts A's requests"
    );
    assert_eq!(
        statuses(&a, &token, 1).await,
        [429],
        "A counts B's requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_each_instance_counts_on_its_own() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let (a, b) = (cluster.start("a", &[]).await, cluster.start("b", &[]).await);
    let token = limited(&cluster, 2).await;
    assert_eq!(statuses(&a, &token, 3).await, [200, 200, 429]);
    // B has its own counter: the grant gets the limit once per instance.
    assert_eq!(statuses(&b, &token, 3).await, [200, 200, 429]);
}
