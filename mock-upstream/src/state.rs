//! State shared by the server and the [`crate::MockUpstream`] handle, and the per-request view of it.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::Value;
use tokio::sync::watch;

use crate::behaviour::Behaviour;
use crate::record::RecordedRequest;

/// The longest a stream waits at its gate.
const GATE_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything the server keeps between requests.
pub(crate) struct Shared {
    behaviour: Mutex<Behaviour>,
    requests: Mutex<Vec<RecordedRequest>>,
    files: Mutex<Vec<Value>>,
    /// Counts `release_gate` calls; a stream waits for a count newer than the one it started with.
    gate: watch::Sender<u64>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            behaviour: Mutex::default(),
            requests: Mutex::default(),
            files: Mutex::default(),
            gate: watch::Sender::new(0),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn behaviour(&self) -> Behaviour {
        lock(&self.behaviour).clone()
    }

    pub(crate) fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.behaviour) = behaviour;
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    pub(crate) fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    pub(crate) fn release_gate(&self) {
        self.gate.send_modify(|releases| *releases += 1);
    }

    /// Keeps an uploaded file object for `GET /v1/files`.
    pub(crate) fn add_file(&self, file: Value) {
        lock(&self.files).push(file);
    }

    pub(crate) fn files(&self) -> Vec<Value> {
        lock(&self.files).clone()
    }
}

/// What a `/v1` handler needs: the behaviour as it was when the request came in, and its gate.
pub(crate) struct Ctx {
    pub(crate) behaviour: Behaviour,
    gate: watch::Receiver<u64>,
}

impl Ctx {
    /// Waits until `release_gate` is called after this request started, or the gate times out.
    pub(crate) async fn wait_at_gate(&mut self) {
        // An error means the server is gone; a timeout means nobody released it: go on either way.
        let _ = tokio::time::timeout(GATE_TIMEOUT, self.gate.changed()).await;
    }
}

impl FromRequestParts<Arc<Shared>> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(
        _parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            behaviour: shared.behaviour(),
            gate: shared.gate.subscribe(),
        })
    }
}
