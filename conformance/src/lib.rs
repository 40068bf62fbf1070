//! The conformance harness: a real Keyward on a loopback port (in-process, spoken to only over
//! HTTP), driven by clients no one here wrote — the `openidconnect` crate as relying party and
//! webauthn-authenticator-rs's `SoftPasskey` as the person's authenticator — plus a small
//! cookie-keeping "browser" that reads the real pages and submits their real forms.

#[path = "../../tests/support/mod.rs"]
pub mod support;

pub mod account;
pub mod app;
pub mod browser;
pub mod harness;
pub mod logs;
pub mod oidc;
pub mod passkey;

pub use support::{Backend, TestServer};

/// Defines `$name::sqlite` and `$name::postgres`, each running `$body(backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::Backend::Postgres).await;
            }
        }
    };
}
