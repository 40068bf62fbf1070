//! The token cache: revocation takes effect on the next request; a warm token needs no store.

use diesel_async::SimpleAsyncConnection as _;
use keyward::invalidation::Invalidation;
use keyward::store::grants::Limits;
use keyward_testkit::{Backend, fixtures, on_both_backends};

use super::{World, chat, client, error_of};

on_both_backends!(revocations_apply_to_the_next_request);
async fn revocations_apply_to_the_next_request(backend: Backend) {
    let Some(w) = World::new(backend, &["openai.chat"], Limits::default()).await else {
        return;
    };
    let state = &w.server.state;
    let user = fixtures::create_user(state, super::KEY).await;
    let (by_token, token_b) =
        fixtures::grant_token(state, &user, &["openai.chat"], Limits::default()).await;
    let (_, token_c) =
        fixtures::grant_token(state, &user, &["openai.chat"], Limits::default()).await;
    let body = chat("gpt-4o-mini", false);
    for token in [&w.token, &token_b, &token_c] {
        assert_eq!(
            w.post_as(token, "chat/completions", &body).await.status(),
            200
        );
    }

    // Each kind of invalidation ends what it names, at once.
    state.store.revoke_grant(&w.grant.id).await.unwrap();
    state
        .invalidator
        .publish(Invalidation::Grant(w.grant.id.clone()))
        .await;
    let (status, error) = error_of(w.post("chat/completions", &body).await).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("invalid_api_key"))
    );

    let hash = keyward::token_format::hash(&token_b);
    state.store.revoke_token(&hash).await.unwrap();
    state.invalidator.publish(Invalidation::Token(hash)).await;
    assert_eq!(
        w.post_as(&token_b, "chat/completions", &body)
            .await
            .status(),
        401
    );

    state.store.delete_vault_entry(&user.id).await.unwrap();
    state
        .invalidator
        .publish(Invalidation::User(user.id.clone()))
        .await;
    assert_eq!(
        w.post_as(&token_c, "chat/completions", &body)
            .await
            .status(),
        401
    );
    let _ = by_token;
}

/// Renames the tables a token lookup reads, so any lookup that reaches the store fails.
async fn hide_tables(db_url: &str, hide: bool) {
    let (from, to) = if hide {
        ("", "_hidden")
    } else {
        ("_hidden", "")
    };
    let sql: String = ["tokens", "grants", "vault_entries"]
        .iter()
        .map(|t| format!("ALTER TABLE {t}{from} RENAME TO {t}{to};"))
        .collect();
    if let Some(path) = db_url.strip_prefix("sqlite://") {
        use diesel_async::AsyncConnection as _;
        let mut conn = keyward::store::SqliteConn::establish(path).await.unwrap();
        // The server may be writing (settling the request before); wait for it as it would.
        conn.batch_execute("PRAGMA busy_timeout = 10000;")
            .await
            .unwrap();
        conn.batch_execute(&sql).await.unwrap();
    } else {
        use diesel_async::AsyncConnection as _;
        let mut conn = diesel_async::AsyncPgConnection::establish(db_url)
            .await
            .unwrap();
        conn.batch_execute(&sql).await.unwrap();
    }
}

on_both_backends!(a_warm_token_needs_no_store_round_trip);
async fn a_warm_token_needs_no_store_round_trip(backend: Backend) {
    let Some(w) = World::new(backend, &["openai.chat"], Limits::default()).await else {
        return;
    };
    let user = fixtures::create_user(&w.server.state, super::KEY).await;
    let (_, cold) =
        fixtures::grant_token(&w.server.state, &user, &["openai.chat"], Limits::default()).await;
    let body = chat("gpt-4o-mini", false);
    assert_eq!(w.post("chat/completions", &body).await.status(), 200);

    hide_tables(&w.server.db.url, true).await;
    // A token the cache has not seen must go to the store, which now fails...
    let (status, _) = error_of(w.post_as(&cold, "chat/completions", &body).await).await;
    assert_eq!(status, 503);
    // ...while the warm one is served without it.
    let warm = client()
        .post(w.url("chat/completions"))
        .bearer_auth(&w.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    hide_tables(&w.server.db.url, false).await;
    assert_eq!(
        w.post_as(&cold, "chat/completions", &body).await.status(),
        200
    );
}
