//! Writes settled usage to the store off the request path. Meters hand their settlement to
//! one task per process; when settlements arrive faster than the store takes them, the ones
//! waiting are summed per grant and month and written as one update, so a busy instance makes
//! one write per grant per round instead of one per request. When idle, each settlement is
//! written as soon as it arrives.

use std::collections::HashMap;

use tokio::sync::mpsc;

use crate::store::Store;
use crate::store::usage::UsageDelta;

/// Settlements summed into one write at most.
const MAX_BATCH: usize = 4096;

/// One request's settlement.
#[derive(Debug)]
pub struct Settlement {
    pub grant_id: String,
    pub month: String,
    pub delta: UsageDelta,
}

/// The sending side; cheap to clone. The writer task ends when every sender is gone.
#[derive(Clone)]
pub struct Settler {
    tx: mpsc::UnboundedSender<Settlement>,
}

impl Settler {
    /// Starts the writer task for `store` (needs a tokio runtime).
    pub fn start(store: Store) -> Settler {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(store, rx));
        Settler { tx }
    }

    /// Queues a settlement; never blocks.
    pub fn settle(&self, settlement: Settlement) {
        if let Err(lost) = self.tx.send(settlement) {
            tracing::error!(grant_id = %lost.0.grant_id, "usage writer stopped; a settlement was lost");
        }
    }
}

async fn write(store: Store, mut rx: mpsc::UnboundedReceiver<Settlement>) {
    while let Some(first) = rx.recv().await {
        let mut batch: HashMap<(String, String), UsageDelta> = HashMap::new();
        let mut add = |s: Settlement| {
            batch
                .entry((s.grant_id, s.month))
                .or_default()
                .add(&s.delta)
        };
        add(first);
        for _ in 1..MAX_BATCH {
            match rx.try_recv() {
                Ok(s) => add(s),
                Err(_) => break,
            }
        }
        for ((grant_id, month), delta) in batch {
            if let Err(e) = store.add_usage(&grant_id, &month, &delta).await {
                tracing::error!(grant_id, month, error = %e, "could not record usage");
            }
        }
    }
}
