//! Fixtures made through the library API: people with a key in the vault, registered clients,
//! grants with their tokens, and the wait for a request's usage to settle.

use std::time::Duration;

use keyward::app::AppState;
use keyward::oauth::issue::issue_tokens;
use keyward::store::Store;
use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::{Grant, Limits};
use keyward::store::users::User;
use keyward::vault::ProviderKey;

/// A person with a provider key in the vault.
pub async fn create_user(state: &AppState, provider_key: &str) -> User {
    let user = User {
        id: keyward::store::new_id(),
        webauthn_id: keyward::store::new_id(),
        display_name: "Test Person".into(),
        created_at: keyward::clock::now(),
    };
    state.store.insert_user(&user).await.expect("insert user");
    let sealed = state
        .vault
        .seal_provider_key(&user.id, &ProviderKey::new(provider_key))
        .expect("seal");
    state
        .store
        .put_vault_entry(&user.id, &sealed.key_id, &sealed.jwe)
        .await
        .expect("vault entry");
    user
}

/// A registered client.
pub async fn create_client(state: &AppState, id: &str) -> Client {
    let client = Client {
        id: id.into(),
        kind: ClientKind::Registered,
        name: format!("App {id}"),
        logo_url: None,
        redirect_uris: vec!["https://app.example/callback".into()],
        secret_hash: None,
        created_at: keyward::clock::now(),
    };
    state.store.ensure_client(&client).await.expect("client");
    client
}

/// A grant for `user` on a fresh client and its access token.
pub async fn grant_token(
    state: &AppState,
    user: &User,
    scopes: &[&str],
    limits: Limits,
) -> (Grant, String) {
    let client = create_client(state, &format!("client-{}", uuid::Uuid::new_v4().simple())).await;
    let grant = Grant::new(
        &user.id,
        &client.id,
        scopes.iter().map(|s| (*s).to_owned()).collect(),
        limits,
        keyward::clock::now(),
    );
    state.store.insert_grant(&grant).await.expect("grant");
    let tokens = issue_tokens(
        &state.store,
        &grant,
        &keyward::store::new_id(),
        keyward::clock::now(),
    )
    .await
    .expect("tokens");
    (grant, tokens.access_token)
}

/// Waits (bounded, ~10 s) until a grant's month counts `requests` settled requests and nothing
/// is still reserved: settlement runs after the response, off the request path.
pub async fn settled(
    store: &Store,
    grant_id: &str,
    requests: i64,
) -> keyward::store::usage::UsageMonth {
    let month = keyward::metering::month_of(keyward::clock::now());
    let mut last = Default::default();
    for _ in 0..400 {
        last = store.usage_month(grant_id, &month).await.expect("usage");
        if last.requests >= requests && last.reserved_microusd == 0 {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("usage never settled to {requests} requests: {last:?}");
}
