//! The activity log on the dashboard: what happened to the account and its apps, newest first,
//! in words, with the app's name. Capped at the latest [`SHOWN`] events.

use std::collections::HashMap;

use serde::Serialize;

use crate::state::AppState;
use crate::store::StoreError;

/// How many events the dashboard shows.
pub const SHOWN: i64 = 50;

/// One event as shown.
#[derive(Debug, Serialize)]
pub struct ActivityItem {
    pub at: i64,
    /// What happened, e.g. "Revoked an app".
    pub what: String,
    /// The app's name, when the event concerns one.
    pub app: Option<String>,
    /// The details the event recorded (never secrets).
    pub detail: String,
}

/// The person's latest events.
pub async fn recent(state: &AppState, user_id: &str) -> Result<Vec<ActivityItem>, StoreError> {
    let events = state.store.audit_for_user(user_id, SHOWN).await?;
    let mut ids: Vec<&str> = events
        .iter()
        .filter_map(|e| e.client_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let names: HashMap<String, String> = state
        .store
        .clients_by_ids(&ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    Ok(events
        .iter()
        .map(|e| ActivityItem {
            at: e.created_at,
            what: label(&e.kind),
            app: e
                .client_id
                .as_ref()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone())),
            detail: e.detail.clone(),
        })
        .collect())
}

/// An event kind in words.
fn label(kind: &str) -> String {
    match kind {
        "sign_up" => "Created the account",
        "sign_in" => "Signed in",
        "consent" => "Allowed an app",
        "consent_denied" => "Denied an app",
        "revoke" => "Revoked an app",
        "limits_changed" => "Changed an app's limits",
        "budget_exhausted" => "Budget used up",
        "key_replaced" => "Replaced the OpenAI key",
        "passkey_added" => "Added a passkey",
        "passkey_renamed" => "Renamed a passkey",
        "passkey_removed" => "Removed a passkey",
        other => return other.replace('_', " "),
    }
    .to_owned()
}
