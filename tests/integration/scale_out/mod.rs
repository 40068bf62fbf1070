//! Scale-out: several `keyward serve` processes on one PostgreSQL database (and Redis), as
//! behind a load balancer, driven over HTTP.
//!
//! The instances are real processes of the built binary, not in-process servers: each has its
//! own memory (token cache, rate counters, invalidation channel), its own connection pools and
//! its own LISTEN connection, exactly what the shared state has to survive; and only a process
//! can be sent SIGTERM, killed mid-request, or refuse to start. The test process itself opens
//! the same store with the same master key (the "console", as an operator's tooling would) to
//! seed people and grants and to read the counters, and runs the mock upstream every instance
//! forwards to.

mod budget;
mod instance;
mod ops;
mod revocation;
mod rpm;
mod sharing;

use std::time::Duration;

use keyward::app::AppState;
use keyward::config::MasterKeySource;
use keyward::store::grants::{Grant, Limits};
use keyward_mock_upstream::MockUpstream;
use keyward_testkit::Backend;
use keyward_testkit::db::{TestDb, admin_url, test_db};
use keyward_testkit::fixtures;
use keyward_testkit::server::test_settings;
use serde_json::{Value, json};

use instance::{Exited, Instance};

/// The address people and apps see (the load balancer's). Nothing listens there: tests talk
/// to each instance directly, as the balancer would, with this as `Origin`.
pub const PUBLIC_URL: &str = "http://localhost:9";

/// The provider key of seeded people (the mock accepts it).
pub const KEY: &str = "sk-proj-ScaleOutPersonKey0123456789abcdefWXYZ";

/// One database, the mock upstream, and the console's handle on both.
pub struct Cluster {
    pub console: AppState,
    pub mock: MockUpstream,
    pub db: TestDb,
    /// The master key ring every instance gets (`KEYWARD_MASTER_KEY`).
    pub master_key: String,
}

impl Cluster {
    /// A fresh PostgreSQL database; `None` when PostgreSQL is unavailable outside CI (skipped).
    pub async fn new() -> Option<Cluster> {
        let mock = MockUpstream::start().await;
        let db = test_db(Backend::Postgres).await?;
        let settings = test_settings(&db, &mock.base_url());
        let MasterKeySource::Env(master_key) = &settings.master_key else {
            unreachable!("test settings carry the master key in the environment form")
        };
        let master_key = master_key.to_string();
        let console = AppState::open(settings).await.expect("open the store");
        Some(Cluster {
            console,
            mock,
            db,
            master_key,
        })
    }

    /// The environment every instance gets: this store, key, upstream and public URL. Each
    /// instance's connections carry its name, so a test can find them in pg_stat_activity.
    pub fn env(&self, name: &str) -> Vec<(String, String)> {
        [
            (
                "KEYWARD_DATABASE_URL",
                format!("{}?application_name=keyward_{name}", self.db.url),
            ),
            ("KEYWARD_MASTER_KEY", self.master_key.clone()),
            ("KEYWARD_UPSTREAM", self.mock.base_url()),
            ("KEYWARD_PUBLIC_URL", PUBLIC_URL.to_owned()),
            ("KEYWARD_DATA_DIR", self.db.dir().display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts an instance with the common environment plus `extra` (later entries win).
    pub async fn try_start(&self, name: &str, extra: &[(&str, &str)]) -> Result<Instance, Exited> {
        let mut env = self.env(name);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Instance::start(name, self.db.dir(), &env).await
    }

    /// [`Cluster::try_start`] that must succeed.
    pub async fn start(&self, name: &str, extra: &[(&str, &str)]) -> Instance {
        self.try_start(name, extra)
            .await
            .unwrap_or_else(|e| panic!("instance {name} exited at start: {e:?}"))
    }

    /// A person with a key in the vault and a grant with `limits`; (grant, access token).
    pub async fn grant(&self, limits: Limits) -> (Grant, String) {
        let user = fixtures::create_user(&self.console, KEY).await;
        fixtures::grant_token(
            &self.console,
            &user,
            &["openai.chat", "openai.models"],
            limits,
        )
        .await
    }

    /// Runs SQL on the server's administrative database (for what a test does to the
    /// database itself: cut connections, hide it).
    pub async fn admin_sql(&self, sql: &str) {
        use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};
        let mut conn = diesel_async::AsyncPgConnection::establish(&admin_url())
            .await
            .expect("admin connection");
        conn.batch_execute(sql).await.expect("admin SQL");
    }

    /// The test database's name.
    pub fn db_name(&self) -> &str {
        self.db.url.rsplit('/').next().expect("database name")
    }
}

/// A chat request.
pub fn chat(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say something about load balancers."}],
        "stream": stream,
    })
}

/// `POST {instance}/v1/chat/completions` with `token`.
pub async fn post_chat(instance: &Instance, token: &str, body: &Value) -> reqwest::Response {
    instance
        .http
        .post(format!("{}/v1/chat/completions", instance.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request reaches the instance")
}

/// `GET {instance}/v1/models` with `token`: the status.
pub async fn models_status(instance: &Instance, token: &str) -> u16 {
    instance
        .http
        .get(format!("{}/v1/models", instance.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request reaches the instance")
        .status()
        .as_u16()
}

/// Polls `check` every few milliseconds until it holds or `limit` passes; how long it took.
pub async fn time_until<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// Milliseconds with one decimal, for the figures the tests print.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
