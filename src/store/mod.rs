//! The store: one schema on two backends. SQLite (embedded default) for a single instance,
//! PostgreSQL for several instances sharing everything that matters.
//!
//! Queries live in one file per table family and are written once: the [`with_conn!`] macro
//! expands a query body for each backend's concrete connection type, so no generic diesel
//! bounds are needed and both backends run the same statements.

pub mod schema;

pub mod audit;
pub mod ceremonies;
pub mod clients;
pub mod codes;
pub mod grants;
pub mod passkeys;
pub mod reservations;
pub mod sessions;
pub mod signing_keys;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod vault_entries;

use std::time::Duration;

use diesel::Connection as _;
use diesel::SqliteConnection;
use diesel_async::AsyncConnection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::SimpleAsyncConnection as _;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt as _;

/// The SQLite connection as diesel-async drives it (a sync connection on a blocking thread).
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Advisory lock id held while migrating PostgreSQL, so instances starting together take turns.
const MIGRATION_LOCK_ID: i64 = 0x006b_6579_7761_7264;

/// Why a store operation failed. Messages never contain secrets: queries bind values as
/// parameters and errors name the operation, not the data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error(
        "unsupported database URL scheme in {0:?}: use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl(String),
    #[error("stored record is malformed: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps a pool checkout error.
    pub fn pool(e: impl std::fmt::Display) -> Self {
        Self::Pool(e.to_string())
    }
}

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// The two connection pools behind one type.
#[derive(Clone)]
pub enum Backend {
    Sqlite(Pool<SqliteConn>),
    Postgres(Pool<AsyncPgConnection>),
}

/// A handle on the store, cheap to clone; every query is a method on it (see the submodules).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    url: String,
}

/// Runs `$body` with `$conn` bound to a pooled connection of whichever backend this store uses.
/// The body is compiled once per backend; it must evaluate to `Result<_, StoreError>`.
macro_rules! with_conn {
    ($store:expr, $conn:ident => $body:expr) => {{
        match $store.backend() {
            $crate::store::Backend::Sqlite(pool) => {
                let mut guard = pool.get().await.map_err($crate::store::StoreError::pool)?;
                let $conn = &mut *guard;
                $body
            }
            $crate::store::Backend::Postgres(pool) => {
                let mut guard = pool.get().await.map_err($crate::store::StoreError::pool)?;
                let $conn = &mut *guard;
                $body
            }
        }
    }};
}
pub(crate) use with_conn;

impl Store {
    /// Opens the store named by `url` (creating the SQLite file and its directory if needed)
    /// and applies pending migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the store without migrating it (for `/readyz`-style checks and tools).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend = match backend_kind(url)? {
            BackendKind::Sqlite => {
                let path = sqlite_path(url);
                if let Some(dir) = std::path::Path::new(&path).parent()
                    && !dir.as_os_str().is_empty()
                {
                    create_private_dir(dir).map_err(|e| {
                        StoreError::Connect(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let mut config = ManagerConfig::<SqliteConn>::default();
                config.custom_setup = Box::new(|url| open_sqlite(url.to_owned()).boxed());
                let manager = AsyncDieselConnectionManager::new_with_config(path, config);
                let pool = Pool::builder(manager)
                    .max_size(4)
                    .wait_timeout(Some(Duration::from_secs(10)))
                    .runtime(deadpool_runtime())
                    .build()
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                Backend::Sqlite(pool)
            }
            BackendKind::Postgres => {
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
                let pool = Pool::builder(manager)
                    .max_size(16)
                    .wait_timeout(Some(Duration::from_secs(10)))
                    .create_timeout(Some(Duration::from_secs(10)))
                    .runtime(deadpool_runtime())
                    .build()
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                Backend::Postgres(pool)
            }
        };
        let store = Store {
            backend,
            url: url.to_owned(),
        };
        store.ping().await?;
        Ok(store)
    }

    /// The pools; used by the [`with_conn!`] macro.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Which database this store uses.
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The URL the store was opened with (may hold a password: never log it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A cheap round trip proving the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            conn.batch_execute("SELECT 1").await.map_err(StoreError::from)
        })
    }

    /// Applies every pending migration (embedded in the binary).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.with_migration_harness(|kind, url| match kind {
            BackendKind::Sqlite => {
                let mut conn = SqliteConnection::establish(&sqlite_path(&url))
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| StoreError::Migration(e.to_string()))
            }
            BackendKind::Postgres => {
                let mut conn =
                    <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(
                        &url,
                    )
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                use diesel::RunQueryDsl as _;
                diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
                    .execute(&mut conn)?;
                let result = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| StoreError::Migration(e.to_string()));
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))
                    .execute(&mut conn)?;
                result
            }
        })
        .await
    }

    /// True when every embedded migration has been applied (for `/readyz`).
    pub async fn migrations_current(&self) -> Result<bool, StoreError> {
        self.with_migration_harness(|kind, url| {
            let pending = match kind {
                BackendKind::Sqlite => {
                    let mut conn = SqliteConnection::establish(&sqlite_path(&url))
                        .map_err(|e| StoreError::Connect(e.to_string()))?;
                    conn.has_pending_migration(SQLITE_MIGRATIONS)
                }
                BackendKind::Postgres => {
                    let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)
                        .map_err(|e| StoreError::Connect(e.to_string()))?;
                    conn.has_pending_migration(POSTGRES_MIGRATIONS)
                }
            };
            pending
                .map(|p| !p)
                .map_err(|e| StoreError::Migration(e.to_string()))
        })
        .await
    }

    /// Runs sync diesel migration code on a blocking thread with its own connection.
    async fn with_migration_harness<T: Send + 'static>(
        &self,
        f: impl FnOnce(BackendKind, String) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (kind, url) = (self.kind(), self.url.clone());
        tokio::task::spawn_blocking(move || f(kind, url))
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?
    }
}

/// Tells the backend from the URL scheme.
pub fn backend_kind(url: &str) -> Result<BackendKind, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(BackendKind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(BackendKind::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(
            url.split(':').next().unwrap_or_default().to_owned(),
        ))
    }
}

/// `sqlite://data/keyward.db` → `data/keyward.db`; `sqlite::memory:` → `:memory:`.
fn sqlite_path(url: &str) -> String {
    let rest = url.trim_start_matches("sqlite:");
    rest.strip_prefix("//").unwrap_or(rest).to_owned()
}

/// Creates a directory (and parents) readable by its owner only: it holds the database.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

async fn open_sqlite(path: String) -> diesel::ConnectionResult<SqliteConn> {
    let mut conn = SqliteConn::establish(&path).await?;
    // WAL lets readers run beside the writer; busy_timeout makes concurrent writers wait their
    // turn instead of failing; foreign keys make deletes cascade as the schema says.
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
    )
    .await
    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
    Ok(conn)
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}

/// A fresh random identifier for rows (UUID v4, hyphenated).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
