//! Shared test harness: real stores on both backends, a real Keyward on a loopback port, the
//! mock upstream, and fixtures that create people and grants through the library API.
#![allow(dead_code)]

use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, SimpleAsyncConnection as _};
use keyward::app::{AppState, Server};
use keyward::config::{MasterKeySource, Settings, SettingsArgs};
use keyward::oauth::issue::issue_tokens;
use keyward::store::Store;
use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::{Grant, Limits};
use keyward::store::users::User;
use keyward::vault::{MasterKey, ProviderKey};
use keyward_mock_upstream::MockUpstream;

/// The database a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An empty, migrated database that is removed when dropped.
pub struct TestDb {
    pub url: String,
    dir: tempfile::TempDir,
    pg_database: Option<String>,
}

impl TestDb {
    /// A scratch directory beside the database (for key files and the like).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

fn admin_url() -> String {
    std::env::var("KEYWARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Creates a fresh database. For PostgreSQL, a new database on the server at
/// `KEYWARD_TEST_POSTGRES_URL` (default 127.0.0.1:5432, user postgres, database test). With no
/// PostgreSQL reachable the test is skipped with a line saying so, except under `CI`, where
/// that is a failure.
pub async fn test_db(backend: Backend) -> Option<TestDb> {
    let dir = tempfile::tempdir().expect("temp dir");
    match backend {
        Backend::Sqlite => Some(TestDb {
            url: format!("sqlite://{}", dir.path().join("keyward.db").display()),
            dir,
            pg_database: None,
        }),
        Backend::Postgres => {
            let admin = admin_url();
            let mut conn = match tokio::time::timeout(
                Duration::from_secs(5),
                AsyncPgConnection::establish(&admin),
            )
            .await
            {
                Ok(Ok(c)) => c,
                other => {
                    let why = match other {
                        Ok(Err(e)) => e.to_string(),
                        Err(_) => "timed out".into(),
                        Ok(Ok(_)) => unreachable!(),
                    };
                    if std::env::var_os("CI").is_some() {
                        panic!("PostgreSQL at {admin} is required when CI is set: {why}");
                    }
                    eprintln!(
                        "SKIPPED (PostgreSQL not reachable at {admin}: {why}; set CI=1 to make this fail)"
                    );
                    return None;
                }
            };
            let name = format!("keyward_t_{}", uuid::Uuid::new_v4().simple());
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin);
            Some(TestDb {
                url: format!("{base}/{name}"),
                dir,
                pg_database: Some(name),
            })
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            // Drop the database from a separate thread with its own runtime: Drop is sync.
            let admin = admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = AsyncPgConnection::establish(&admin).await.ok()?;
                    conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Redis for tests of shared limits (`KEYWARD_TEST_REDIS_URL`, default 127.0.0.1:6379), or
/// `None` (skip, with a line saying so) outside CI when it is not running.
pub async fn redis_url() -> Option<String> {
    let url =
        std::env::var("KEYWARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let addr = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(addr.clone()),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if reachable {
        return Some(url);
    }
    if std::env::var_os("CI").is_some() {
        panic!("Redis at {addr} is required when CI is set");
    }
    eprintln!("SKIPPED (Redis not reachable at {addr}; set CI=1 to make this fail)");
    None
}

/// A migrated store on a fresh database.
pub async fn test_store(backend: Backend) -> Option<(Store, TestDb)> {
    let db = test_db(backend).await?;
    let store = Store::open(&db.url).await.expect("open store");
    Some((store, db))
}

/// Defines `$name::sqlite` and `$name::postgres` tests running the same body on each backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($store: keyward::store::Store) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, _db) = $crate::support::test_store($crate::support::Backend::Sqlite).await.unwrap();
                body(store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((store, _db)) = $crate::support::test_store($crate::support::Backend::Postgres).await else { return };
                body(store).await;
            }
        }
    };
}

/// Settings for a test instance: loopback, a fresh store, a generated master key.
pub fn test_settings(db: &TestDb, upstream: &str) -> Settings {
    let mut s = Settings::resolve(&SettingsArgs::default(), None).expect("default settings");
    s.data_dir = db.dir().to_path_buf();
    s.database_url = db.url.clone();
    s.upstream = upstream.parse().expect("upstream URL");
    s.master_key = MasterKeySource::Env(zeroize::Zeroizing::new(
        MasterKey::generate().to_base64().to_string(),
    ));
    s.shutdown_grace = Duration::from_secs(2);
    s
}

/// A running Keyward on a loopback port, with its mock upstream.
pub struct TestServer {
    /// e.g. `http://localhost:PORT` (no trailing slash): WebAuthn needs a domain name as
    /// relying party ID, so the public URL (and issuer) says `localhost`, not an IP address.
    pub url: String,
    pub state: AppState,
    pub mock: MockUpstream,
    pub db: TestDb,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts Keyward (default settings) on the given backend; `None` when it is skipped.
    pub async fn start(backend: Backend) -> Option<TestServer> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts Keyward after letting `configure` adjust its settings.
    pub async fn start_with(
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<TestServer> {
        let mock = MockUpstream::start().await;
        let db = test_db(backend).await?;
        let mut settings = test_settings(&db, &mock.base_url());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        settings.listen = addr;
        settings.public_url = format!("http://localhost:{}", addr.port())
            .parse()
            .expect("url");
        settings.issuer = settings.public_url.clone();
        configure(&mut settings);
        let state = AppState::open(settings).await.expect("start keyward");
        let server = Server::with_listener(listener, state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        Some(TestServer {
            url: format!("http://localhost:{}", addr.port()),
            state,
            mock,
            db,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Starts a second instance sharing this one's store, master key and public URL (as
    /// behind a load balancer), listening on its own port.
    pub async fn start_sibling(&self) -> Sibling {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut settings = (*self.state.settings).clone();
        settings.listen = addr;
        let state = AppState::open(settings).await.expect("start sibling");
        let server = Server::with_listener(listener, state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = server
                .run(async {
                    let _ = rx.await;
                })
                .await;
        });
        Sibling {
            url: format!("http://localhost:{}", addr.port()),
            state,
            _shutdown: tx,
        }
    }

    /// `{url}/v1`.
    pub fn proxy_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Another instance on the same store (see [`TestServer::start_sibling`]); stops when dropped.
pub struct Sibling {
    /// Where this instance listens, e.g. `http://localhost:PORT`.
    pub url: String,
    pub state: AppState,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

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
