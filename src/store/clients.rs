//! OAuth clients: apps an operator registered, apps that registered themselves (RFC 7591),
//! "origin clients" (a website identified by its exact origin, recorded on first consent), and
//! the instance's own first-party apps (the demo chat, recorded on first consent).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::clients;
use super::{Store, StoreError, with_conn};

/// How a client came to exist; shown on the consent screen as verified or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// Registered by an operator with `keyward clients add`: verified.
    Registered,
    /// Registered itself through RFC 7591 dynamic registration: unverified.
    Dynamic,
    /// A website whose client_id is its origin: unverified.
    Origin,
    /// An app this Keyward serves itself (the demo chat at `/demo`): verified.
    FirstParty,
}

impl ClientKind {
    /// The value stored in `clients.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Dynamic => "dynamic",
            Self::Origin => "origin",
            Self::FirstParty => "first_party",
        }
    }

    /// Whether someone this server trusts — its operator, or the instance itself — registered
    /// the client: shown as verified, and its registered redirect URIs may receive errors before
    /// the person has acted (RFC 6749 §4.1.2.1). For the others the redirect URI proves nothing,
    /// since whoever sends the link chose both it and the client (RFC 9700 §4.11.2).
    pub fn is_vouched_for(self) -> bool {
        matches!(self, Self::Registered | Self::FirstParty)
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "registered" => Ok(Self::Registered),
            "dynamic" => Ok(Self::Dynamic),
            "origin" => Ok(Self::Origin),
            "first_party" => Ok(Self::FirstParty),
            other => Err(StoreError::Corrupt(format!(
                "unknown client kind {other:?}"
            ))),
        }
    }
}

#[derive(Clone, Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = clients)]
struct ClientRow {
    id: String,
    kind: String,
    name: String,
    logo_url: Option<String>,
    redirect_uris: String,
    secret_hash: Option<String>,
    created_at: i64,
}

/// A client app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub kind: ClientKind,
    pub name: String,
    pub logo_url: Option<String>,
    /// Exact redirect URIs (empty for origin clients, which may use any URI on their origin).
    pub redirect_uris: Vec<String>,
    /// SHA-256 of the client secret, for confidential clients.
    pub secret_hash: Option<String>,
    pub created_at: i64,
}

impl Client {
    /// Confidential clients authenticate at the token endpoint with a secret.
    pub fn is_confidential(&self) -> bool {
        self.secret_hash.is_some()
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self, StoreError> {
        Ok(Client {
            kind: ClientKind::parse(&r.kind)?,
            redirect_uris: serde_json::from_str(&r.redirect_uris)
                .map_err(|e| StoreError::Corrupt(format!("client redirect_uris: {e}")))?,
            id: r.id,
            name: r.name,
            logo_url: r.logo_url,
            secret_hash: r.secret_hash,
            created_at: r.created_at,
        })
    }
}

impl From<&Client> for ClientRow {
    fn from(c: &Client) -> Self {
        ClientRow {
            id: c.id.clone(),
            kind: c.kind.as_str().to_owned(),
            name: c.name.clone(),
            logo_url: c.logo_url.clone(),
            redirect_uris: serde_json::to_string(&c.redirect_uris).expect("strings serialise"),
            secret_hash: c.secret_hash.clone(),
            created_at: c.created_at,
        }
    }
}

impl Store {
    /// Registers a client.
    pub async fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let row = ClientRow::from(client);
        with_conn!(self, conn => {
            diesel::insert_into(clients::table).values(&row).execute(conn).await?;
            Ok(())
        })
    }

    /// Records an origin or first-party client the first time a person consents to it (no-op
    /// afterwards).
    pub async fn ensure_client(&self, client: &Client) -> Result<(), StoreError> {
        let row = ClientRow::from(client);
        with_conn!(self, conn => {
            diesel::insert_into(clients::table)
                .values(&row)
                .on_conflict(clients::id)
                .do_nothing()
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Looks a client up by client_id.
    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = with_conn!(self, conn => {
            Ok::<_, StoreError>(clients::table.find(id).select(ClientRow::as_select()).first(conn).await.optional()?)
        })?;
        row.map(Client::try_from).transpose()
    }

    /// The clients with these ids (those that exist), in no particular order.
    pub async fn clients_by_ids(&self, ids: &[&str]) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = with_conn!(self, conn => {
            Ok::<_, StoreError>(clients::table
                .filter(clients::id.eq_any(ids))
                .select(ClientRow::as_select())
                .load(conn)
                .await?)
        })?;
        rows.into_iter().map(Client::try_from).collect()
    }

    /// Every client of the given kinds, newest first.
    pub async fn clients(&self, kinds: &[ClientKind]) -> Result<Vec<Client>, StoreError> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let rows: Vec<ClientRow> = with_conn!(self, conn => {
            Ok::<_, StoreError>(clients::table
                .filter(clients::kind.eq_any(&kinds))
                .order(clients::created_at.desc())
                .select(ClientRow::as_select())
                .load(conn)
                .await?)
        })?;
        rows.into_iter().map(Client::try_from).collect()
    }

    /// Replaces a client's name, logo and redirect URIs (its id, kind, secret and creation
    /// time never change). False when there is no such client.
    pub async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let row = ClientRow::from(client);
        with_conn!(self, conn => {
            Ok(diesel::update(clients::table.find(&row.id))
                .set((
                    clients::name.eq(&row.name),
                    clients::logo_url.eq(&row.logo_url),
                    clients::redirect_uris.eq(&row.redirect_uris),
                ))
                .execute(conn)
                .await? == 1)
        })
    }

    /// Removes a client; its grants and tokens go with it (cascade).
    pub async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::delete(clients::table.find(id)).execute(conn).await? == 1)
        })
    }
}
