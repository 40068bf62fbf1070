//! Tells every instance that a grant or token changed (revoked, limits edited, key replaced),
//! so caches on the hot path drop what they hold.
//!
//! In this process the message is delivered at once over a broadcast channel. With PostgreSQL
//! it is also sent with `NOTIFY keyward_invalidate`; every instance LISTENs and re-broadcasts
//! what arrives. When the LISTEN connection drops, and again once it is listening anew, a
//! `Flush` is broadcast (drop everything), so changes announced while it was away are not
//! missed; caches also bound staleness with their own TTL, so a lost notification costs at
//! most that.

use std::convert::Infallible;
use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures_util::StreamExt as _;
use tokio::sync::broadcast;

use crate::store::{BackendKind, Store};

/// PostgreSQL channel name.
const CHANNEL: &str = "keyward_invalidate";

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// Every token of this grant (revoked, limits changed, owner's key replaced).
    Grant(String),
    /// Every grant of this user (account deleted, provider key replaced).
    User(String),
    /// One token, by hash.
    Token(String),
    /// Anything may have changed: drop every cached entry.
    Flush,
}

impl Invalidation {
    fn encode(&self) -> String {
        match self {
            Self::Grant(id) => format!("grant:{id}"),
            Self::User(id) => format!("user:{id}"),
            Self::Token(hash) => format!("token:{hash}"),
            Self::Flush => "flush".into(),
        }
    }

    fn decode(payload: &str) -> Invalidation {
        match payload.split_once(':') {
            Some(("grant", id)) => Self::Grant(id.into()),
            Some(("user", id)) => Self::User(id.into()),
            Some(("token", hash)) => Self::Token(hash.into()),
            _ => Self::Flush,
        }
    }
}

/// Publishes invalidations locally and, on PostgreSQL, to the other instances.
#[derive(Clone)]
pub struct Invalidator {
    local: broadcast::Sender<Invalidation>,
    store: Store,
}

impl Invalidator {
    /// An invalidator for this process. Call [`Invalidator::listen`] once to receive other
    /// instances' messages.
    pub fn new(store: Store) -> Invalidator {
        let (local, _) = broadcast::channel(1024);
        Invalidator { local, store }
    }

    /// Receives every invalidation from now on (local and, once listening, remote).
    pub fn subscribe(&self) -> broadcast::Receiver<Invalidation> {
        self.local.subscribe()
    }

    /// Announces a change: delivered in this process before returning, and sent to the other
    /// instances through the store when it is PostgreSQL.
    pub async fn publish(&self, what: Invalidation) {
        let _ = self.local.send(what.clone());
        if let crate::store::Backend::Postgres(pool) = self.store.backend() {
            let sent = async {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<diesel::sql_types::Text, _>(CHANNEL)
                    .bind::<diesel::sql_types::Text, _>(what.encode())
                    .execute(&mut *conn)
                    .await
                    .map_err(|e| e.to_string())
            };
            if let Err(e) = sent.await {
                tracing::warn!(error = %e, "could not notify other instances; their caches expire on their own TTL");
            }
        }
    }

    /// On PostgreSQL, starts a task that LISTENs for other instances' invalidations and
    /// re-broadcasts them here, reconnecting with back-off. Does nothing on SQLite.
    pub fn listen(&self) {
        if self.store.kind() != BackendKind::Postgres {
            return;
        }
        let (url, local) = (self.store.url().to_owned(), self.local.clone());
        tokio::spawn(async move {
            let mut backoff = FIRST_RETRY;
            loop {
                let Err(e) = listen_once(&url, &local, &mut backoff).await;
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "invalidation listener not connected; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(LAST_RETRY);
            }
        });
    }
}

/// The first wait before reconnecting the listener, doubled per failed attempt up to
/// [`LAST_RETRY`], and back to this once it listens again.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Connects, LISTENs and relays notifications until the connection fails. Caches are flushed
/// when it starts listening (whatever changed before was never announced to this instance)
/// and when a listening connection is lost (nothing will be announced until the next one);
/// failed attempts in between leave the caches alone, so an outage of the database does not
/// also empty them: their TTL bounds what they serve meanwhile.
async fn listen_once(
    url: &str,
    local: &broadcast::Sender<Invalidation>,
    backoff: &mut Duration,
) -> Result<Infallible, String> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| e.to_string())?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    tracing::debug!("listening for invalidations from other instances");
    *backoff = FIRST_RETRY;
    let _ = local.send(Invalidation::Flush);
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    let lost = loop {
        match notifications.next().await {
            Some(Ok(n)) => {
                let _ = local.send(Invalidation::decode(&n.payload));
            }
            Some(Err(e)) => break e.to_string(),
            None => break "notification stream ended".to_owned(),
        }
    };
    let _ = local.send(Invalidation::Flush);
    Err(lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for inv in [
            Invalidation::Grant("g-1".into()),
            Invalidation::User("u-1".into()),
            Invalidation::Token("abc".into()),
            Invalidation::Flush,
        ] {
            assert_eq!(Invalidation::decode(&inv.encode()), inv);
        }
        assert_eq!(Invalidation::decode("garbage"), Invalidation::Flush);
    }
}
