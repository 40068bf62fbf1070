//! Budget reservation leases. Every reservation row carries an expiry; while its request runs,
//! this instance renews it. If the instance dies mid-request nobody renews it, and the sweep
//! that every instance runs gives the amount back once the lease has ended, so a crash holds
//! budget for at most about one lease instead of for the rest of the month.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::clock::now;
use crate::store::Store;

/// The reservations this instance's requests hold.
#[derive(Default)]
pub struct Leases {
    held: Mutex<HashSet<String>>,
}

impl Leases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps renewing `id` until [`Leases::release`].
    pub fn hold(&self, id: String) {
        self.lock().insert(id);
    }

    /// Stops renewing these (their requests are settled).
    pub fn release(&self, ids: &[String]) {
        let mut held = self.lock();
        for id in ids {
            held.remove(id);
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    /// Starts the task that, every third of `lease`, renews what this instance holds and
    /// releases what every instance stopped renewing. It ends when `leases` is dropped.
    pub fn keep(leases: &Arc<Leases>, store: Store, lease: Duration) {
        let leases: Weak<Leases> = Arc::downgrade(leases);
        let every = (lease / 3).max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(held) = leases.upgrade().map(|l| l.snapshot()) else {
                    return;
                };
                let t = now();
                if let Err(e) = store
                    .renew_reservations(&held, t + lease.as_secs() as i64)
                    .await
                {
                    tracing::warn!(error = %e, held = held.len(), "could not renew budget reservations");
                }
                match store.release_expired_reservations(t).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        released = n,
                        "released budget reservations whose instance stopped renewing them"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not release expired budget reservations")
                    }
                }
            }
        });
    }
}
