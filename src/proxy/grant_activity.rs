//! What the proxy writes to a grant's record for the person's dashboard: when the app last
//! used the key (at most once a minute per grant), and a `budget_exhausted` event in the
//! activity log (once per grant and month). Both writes happen off the request path, and the
//! throttles that keep them rare live here, per process.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::store::Store;
use crate::store::audit::NewAuditEvent;
use crate::store::grants::Grant;

/// A grant's `last_used_at` is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// The throttles for one process's bookkeeping writes.
#[derive(Default)]
pub struct GrantActivity {
    touched: Mutex<HashMap<String, Instant>>,
    /// (grant id, month) pairs whose budget exhaustion is already in the activity log.
    exhausted: Mutex<HashSet<(String, String)>>,
}

impl GrantActivity {
    /// Records that `grant` was used at `at`, at most once a minute per grant, off the
    /// request path.
    pub fn touch(&self, store: &Store, grant: &Grant, at: i64) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched
                .get(&grant.id)
                .is_some_and(|t| t.elapsed() < TOUCH_EVERY)
            {
                return;
            }
            if touched.len() > 100_000 {
                touched.retain(|_, t| t.elapsed() < TOUCH_EVERY);
            }
            touched.insert(grant.id.clone(), Instant::now());
        }
        let (store, id) = (store.clone(), grant.id.clone());
        tokio::spawn(async move {
            if let Err(e) = store.touch_grant(&id, at).await {
                tracing::warn!(grant_id = %id, error = %e, "could not record last use");
            }
        });
    }

    /// Puts a `budget_exhausted` event in the person's activity log, once per grant and month
    /// (checked here, and in the store across instances).
    pub fn budget_exhausted(&self, store: &Store, grant: &Grant, month: &str, since: i64) {
        let key = (grant.id.clone(), month.to_owned());
        if !self
            .exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key)
        {
            return;
        }
        let (store, grant) = (store.clone(), grant.clone());
        let detail = format!("monthly budget for {month} exhausted");
        tokio::spawn(async move {
            let event = NewAuditEvent::new(&grant.user_id, "budget_exhausted", &detail)
                .for_grant(&grant.client_id, &grant.id);
            if let Err(e) = store.record_audit_once(&event, since).await {
                tracing::warn!(grant_id = %grant.id, error = %e, "could not log budget exhaustion");
            }
        });
    }
}
