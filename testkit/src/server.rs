//! A real Keyward on a loopback port (in-process, with its own mock upstream and a fresh
//! database), and siblings sharing its store as instances behind a load balancer would.

use std::time::Duration;

use keyward::app::{AppState, Server};
use keyward::config::{MasterKeySource, Settings, SettingsArgs};
use keyward::vault::MasterKey;
use keyward_mock_upstream::MockUpstream;

use crate::db::{Backend, TestDb, test_db};

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
