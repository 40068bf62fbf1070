//! Test databases on both backends: a fresh, migrated SQLite file or PostgreSQL database per
//! test, dropped with it, and Redis for the shared-limit tests. An unreachable PostgreSQL or
//! Redis skips the test with a line saying so, except under `CI`, where it fails.

use std::collections::BTreeMap;
use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, SqliteConnection};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _, SimpleAsyncConnection as _,
};
use keyward::store::Store;

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

/// The PostgreSQL server tests create their databases on (`KEYWARD_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`).
pub fn admin_url() -> String {
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

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RowCount {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The tables Keyward's migrations made, and the row count of each: what a request that must
/// not write to the store leaves exactly as it was.
pub async fn row_counts(url: &str) -> BTreeMap<String, i64> {
    const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
        AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'";
    const POSTGRES_TABLES: &str = "SELECT table_name::text AS name FROM information_schema.tables \
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
        AND table_name <> '__diesel_schema_migrations'";
    // The same queries on either backend's connection type.
    macro_rules! count_rows {
        ($conn:expr, $tables:expr) => {{
            let conn = &mut $conn;
            let tables: Vec<TableName> =
                diesel::sql_query($tables).load(conn).await.expect("tables");
            let mut counts = BTreeMap::new();
            for t in tables {
                let rows: RowCount =
                    diesel::sql_query(format!("SELECT count(*) AS n FROM \"{}\"", t.name))
                        .get_result(conn)
                        .await
                        .expect("count");
                counts.insert(t.name, rows.n);
            }
            counts
        }};
    }
    match url.strip_prefix("sqlite://") {
        Some(path) => count_rows!(
            SyncConnectionWrapper::<SqliteConnection>::establish(path)
                .await
                .expect("SQLite"),
            SQLITE_TABLES
        ),
        None => count_rows!(
            AsyncPgConnection::establish(url).await.expect("PostgreSQL"),
            POSTGRES_TABLES
        ),
    }
}
