//! The activity log a person sees on their dashboard: sign-ins, consents, revocations, key
//! replacements, limit changes, budget exhaustion. Details never carry secrets.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::audit_events;
use super::{Store, StoreError, with_conn};
use crate::clock::now;

/// One logged event.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub user_id: String,
    pub kind: String,
    pub client_id: Option<String>,
    pub grant_id: Option<String>,
    pub detail: String,
    pub created_at: i64,
}

/// An event to log.
#[derive(Clone, Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub user_id: &'a str,
    pub kind: &'a str,
    pub client_id: Option<&'a str>,
    pub grant_id: Option<&'a str>,
    pub detail: &'a str,
    pub created_at: i64,
}

impl<'a> NewAuditEvent<'a> {
    /// An event about the person's account as a whole.
    pub fn new(user_id: &'a str, kind: &'a str, detail: &'a str) -> Self {
        NewAuditEvent {
            user_id,
            kind,
            client_id: None,
            grant_id: None,
            detail,
            created_at: now(),
        }
    }

    /// Names the app and grant the event concerns.
    pub fn for_grant(mut self, client_id: &'a str, grant_id: &'a str) -> Self {
        self.client_id = Some(client_id);
        self.grant_id = Some(grant_id);
        self
    }
}

impl Store {
    /// Appends an event.
    pub async fn record_audit(&self, event: &NewAuditEvent<'_>) -> Result<(), StoreError> {
        with_conn!(self, conn => {
            diesel::insert_into(audit_events::table).values(event).execute(conn).await?;
            Ok(())
        })
    }

    /// Appends an event unless the same grant already has one of the same kind since
    /// `since` (Unix seconds); returns whether it was appended. Used for events that should
    /// appear once per period, such as a budget running out.
    pub async fn record_audit_once(
        &self,
        event: &NewAuditEvent<'_>,
        since: i64,
    ) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            let existing: i64 = audit_events::table
                .filter(audit_events::kind.eq(event.kind))
                .filter(audit_events::grant_id.eq(event.grant_id))
                .filter(audit_events::created_at.ge(since))
                .count()
                .get_result(conn)
                .await?;
            if existing > 0 {
                return Ok(false);
            }
            diesel::insert_into(audit_events::table).values(event).execute(conn).await?;
            Ok(true)
        })
    }

    /// A person's most recent events, newest first.
    pub async fn audit_for_user(
        &self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        with_conn!(self, conn => {
            Ok(audit_events::table
                .filter(audit_events::user_id.eq(user_id))
                .order((audit_events::created_at.desc(), audit_events::id.desc()))
                .limit(limit)
                .select(AuditEvent::as_select())
                .load(conn)
                .await?)
        })
    }
}
