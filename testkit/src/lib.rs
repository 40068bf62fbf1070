//! Keyward's test kit: what the test suites share, in one crate they depend on.
//!
//! - [`db`]: fresh databases on both backends (SQLite, PostgreSQL) and Redis;
//! - [`server`]: a real Keyward on a loopback port (in-process, with its own mock upstream);
//! - [`fixtures`]: people, clients, grants and tokens made through the library API;
//! - [`browser`], [`passkey`], [`app`], [`harness`], [`account`]: independent clients that
//!   drive Keyward over HTTP only, as a person and an app would — a cookie-keeping browser that
//!   reads the real pages and submits their real forms, webauthn-authenticator-rs's
//!   `SoftPasskey` as the person's authenticator, and the app's side of the code flow;
//! - [`oidc`]: the `openidconnect` crate's HTTP client, for it to act as relying party;
//! - [`logs`]: captures every log line, to check that no secret reaches one;
//! - [`on_both_backends!`]: one test, run once on each backend.
#![allow(
    clippy::print_stderr,
    reason = "a skipped backend says so on stderr, where `cargo test` shows it"
)]

pub mod account;
pub mod app;
pub mod browser;
pub mod db;
pub mod fixtures;
pub mod harness;
pub mod logs;
pub mod oidc;
pub mod passkey;
pub mod server;

pub use db::Backend;
pub use server::TestServer;

/// Defines the tests `$name::sqlite` and `$name::postgres`, running one body on each backend.
/// The PostgreSQL one is skipped (with a line saying so) when no PostgreSQL is reachable
/// outside CI.
///
/// - `on_both_backends!(name, |store| { … })`: the body gets a fresh, migrated
///   [`keyward::store::Store`] (the module sees its parent's imports);
/// - `on_both_backends!(name, function)`: calls `async fn function(backend: Backend)`, which
///   starts what it needs on that backend (a [`TestServer`], a [`harness::Harness`], …);
/// - `on_both_backends!(name)`: the same, with the function named like the module.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports, reason = "the body may use any of its parent's imports")]
            use super::*;

            async fn body($store: ::keyward::store::Store) $body

            async fn on(backend: $crate::Backend) {
                let Some((store, _db)) = $crate::db::test_store(backend).await else {
                    return;
                };
                body(store).await;
            }

            $crate::on_both_backends!(@tests on);
        }
    };
    ($name:ident, $function:ident) => {
        mod $name {
            $crate::on_both_backends!(@tests super::$function);
        }
    };
    ($name:ident) => {
        $crate::on_both_backends!($name, $name);
    };
    (@tests $run:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sqlite() {
            $run($crate::Backend::Sqlite).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            $run($crate::Backend::Postgres).await;
        }
    };
}
