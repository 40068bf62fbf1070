//! Writes settled usage to the store off the request path. Meters hand their settlement to
//! one task per process; when settlements arrive faster than the store takes them, the ones
//! waiting are summed per grant and month and written as one transaction, so a busy instance
//! makes one write per grant per round instead of one per request. When idle, each settlement
//! is written as soon as it arrives. The [`Leases`] of reservations stay renewed until their
//! settlement is written. [`Settler::flush`] waits for everything queued, so a stopping
//! instance records the requests it let finish.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::leases::Leases;
use crate::store::Store;
use crate::store::usage::UsageDelta;

/// Settlements summed into one write at most.
const MAX_BATCH: usize = 4096;

/// One request's settlement.
#[derive(Debug)]
pub struct Settlement {
    pub grant_id: String,
    pub month: String,
    pub usage: UsageDelta,
    /// The budget reservation to release, if the request held one.
    pub reservation: Option<String>,
}

/// What the writer task receives.
enum Message {
    Settle(Settlement),
    /// Answer once everything queued before has been written.
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone. The writer task ends when every sender is gone.
#[derive(Clone)]
pub struct Settler {
    tx: mpsc::UnboundedSender<Message>,
    leases: Arc<Leases>,
}

impl Settler {
    /// Starts the writer task for `store`, and the task keeping this instance's reservations
    /// leased for `lease` (needs a tokio runtime).
    pub fn start(store: Store, lease: Duration) -> Settler {
        let (tx, rx) = mpsc::unbounded_channel();
        let leases = Arc::new(Leases::default());
        Leases::keep(&leases, store.clone(), lease);
        tokio::spawn(write(store, rx, leases.clone()));
        Settler { tx, leases }
    }

    /// Keeps a reservation's lease renewed until its settlement is written.
    pub fn hold(&self, reservation: String) {
        self.leases.hold(reservation);
    }

    /// Queues a settlement; never blocks.
    pub fn settle(&self, settlement: Settlement) {
        let grant_id = settlement.grant_id.clone();
        if self.tx.send(Message::Settle(settlement)).is_err() {
            tracing::error!(%grant_id, "usage writer stopped; a settlement was lost");
        }
    }

    /// Waits, at most `timeout`, until every settlement queued so far is written. False when
    /// the time ran out.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let (done, written) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_err() {
            return false;
        }
        matches!(tokio::time::timeout(timeout, written).await, Ok(Ok(())))
    }
}

/// One grant's month in a batch: the usage summed, the reservations to release.
#[derive(Default)]
struct Pending {
    usage: UsageDelta,
    reservations: Vec<String>,
}

async fn write(store: Store, mut rx: mpsc::UnboundedReceiver<Message>, leases: Arc<Leases>) {
    while let Some(first) = rx.recv().await {
        let mut batch: HashMap<(String, String), Pending> = HashMap::new();
        let mut flushed = None;
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(message) = next.take() {
            match message {
                Message::Settle(s) => {
                    let pending = batch.entry((s.grant_id, s.month)).or_default();
                    pending.usage.add(&s.usage);
                    pending.reservations.extend(s.reservation);
                }
                Message::Flush(done) => {
                    flushed = Some(done);
                    break;
                }
            }
            taken += 1;
            if taken < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        for ((grant_id, month), pending) in batch {
            if let Err(e) = store
                .settle(&grant_id, &month, &pending.usage, &pending.reservations)
                .await
            {
                // The reservations stay in the store; their leases lapse and the sweep gives
                // them back.
                tracing::error!(grant_id, month, error = %e, "could not record usage");
            }
            leases.release(&pending.reservations);
        }
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}
