//! The HTTP client for the upstream API, shared by the proxy and the sign-up key check.
//!
//! Redirects are never followed and environment proxies are ignored, so a person's key can
//! only ever be sent to the configured upstream host. Connect and idle (per read) timeouts are
//! set; there is deliberately no total timeout, which would cut long streams. When a request
//! gets no answer, [`Failure`] says why.

pub mod failure;
pub mod key_check;

pub use failure::{Failure, FailureKind};

/// Builds the upstream client from the settings.
pub fn client(settings: &crate::config::Settings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(settings.upstream_connect_timeout)
        .read_timeout(settings.upstream_idle_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .build()
}
