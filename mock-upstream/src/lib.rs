//! A loopback stand-in for the OpenAI API, used by Keyward's tests and benchmarks.
//!
//! It answers the `/v1` endpoints with bodies and SSE streams shaped like OpenAI's, checks bearer
//! keys with a few fixed rules (`sk-invalid…` → 401, `sk-noquota…` → 429), records every `/v1`
//! request, and can be made slow, failing, cut off or held at a gate through [`Behaviour`] — from
//! Rust via [`MockUpstream`], or over HTTP under `/__mock/` for tests in other languages.

mod audio;
mod auth;
mod behaviour;
mod chat;
mod completions;
mod control;
mod embeddings;
mod envelope;
mod errors;
mod files;
mod guard;
mod ids;
mod images;
mod input;
mod models;
mod moderations;
mod multipart;
mod record;
mod reply;
mod responses;
mod server;
mod sse;
mod state;
mod text;
mod tokens;
mod v1;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use behaviour::Behaviour;
pub use record::RecordedRequest;

use state::Shared;

/// A running mock upstream; the server stops when this is dropped.
pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl MockUpstream {
    /// Starts on `127.0.0.1` with an OS-chosen port in the current tokio runtime.
    ///
    /// Panics if no loopback port can be bound.
    pub async fn start() -> MockUpstream {
        Self::start_on(0)
            .await
            .expect("bind 127.0.0.1:0 for the mock upstream")
    }

    /// Starts on `127.0.0.1:port` (0 picks a free port) in the current tokio runtime.
    pub async fn start_on(port: u16) -> std::io::Result<MockUpstream> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(server::serve(listener, shared.clone()));
        Ok(MockUpstream {
            addr,
            shared,
            server,
        })
    }

    /// The OpenAI-style base URL, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the behaviour for every request that starts from now on.
    pub fn set_behaviour(&self, b: Behaviour) {
        self.shared.set_behaviour(b);
    }

    /// The current behaviour.
    pub fn behaviour(&self) -> Behaviour {
        self.shared.behaviour()
    }

    /// Every `/v1` request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Lets every stream that started before this call and waits at its gate go on
    /// (see [`Behaviour::gate_before_last_event`]).
    pub fn release_gate(&self) {
        self.shared.release_gate();
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}
