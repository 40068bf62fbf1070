//! WebAuthn ceremony state between "start" and "finish", kept in the store (never in a cookie
//! or anything the browser holds) with a short lifetime. Finishing takes the row, deleting it,
//! so a replayed challenge finds nothing; and the row is bound to the browser session that
//! started it, so a ceremony id leaked elsewhere cannot be finished by another browser.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::now;
use crate::state::AppState;
use crate::store::ceremonies::Ceremony;
use crate::store::new_id;
use crate::web::error::PageError;
use crate::web::session::Session;

/// How long a person has to answer their authenticator.
const CEREMONY_TTL: i64 = 5 * 60;

/// The ceremonies Keyward runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sign-up: register the first passkey.
    Register,
    /// Sign-in with a discoverable passkey.
    Authenticate,
    /// The signed-in person's passkey again, before approving an app or changing the account.
    StepUp,
    /// Registering another passkey for a signed-in person.
    AddPasskey,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Authenticate => "authenticate",
            Kind::StepUp => "step_up",
            Kind::AddPasskey => "add_passkey",
        }
    }
}

/// What the store keeps besides the webauthn-rs state.
#[derive(Serialize, Deserialize)]
struct Envelope<D> {
    /// The id hash of the session that started the ceremony.
    session: String,
    data: D,
}

/// A finished ceremony's saved state.
pub struct Taken<S, D> {
    /// The user the ceremony was started for, if any.
    pub user_id: Option<String>,
    /// The webauthn-rs state to finish with.
    pub state: S,
    /// What the start step wanted the finish step to know.
    pub data: D,
}

/// What a page posts to finish a ceremony: the ceremony's id and the authenticator's answer
/// (`RegisterPublicKeyCredential` for registrations, `PublicKeyCredential` for assertions).
#[derive(Deserialize)]
pub struct Finish<C> {
    pub ceremony: String,
    pub credential: C,
}

/// The answer to a "start" call: the ceremony id to finish with, and the options the page
/// passes to `navigator.credentials`.
pub fn started(id: String, options: impl Serialize) -> Response {
    Json(serde_json::json!({ "ceremony": id, "options": options })).into_response()
}

/// Saves a started ceremony and returns its id.
pub async fn save<S: Serialize, D: Serialize>(
    state: &AppState,
    kind: Kind,
    session: &Session,
    user_id: Option<&str>,
    webauthn_state: &S,
    data: &D,
) -> Result<String, PageError> {
    let encode = |e: serde_json::Error| PageError::Internal(format!("ceremony state: {e}"));
    let t = now();
    let row = Ceremony {
        id: new_id(),
        kind: kind.as_str().to_owned(),
        user_id: user_id.map(str::to_owned),
        state: serde_json::to_string(webauthn_state).map_err(encode)?,
        payload: Some(
            serde_json::to_string(&Envelope {
                session: session.id_hash.clone(),
                data,
            })
            .map_err(encode)?,
        ),
        created_at: t,
        expires_at: t + CEREMONY_TTL,
    };
    state.store.insert_ceremony(&row).await?;
    Ok(row.id)
}

/// Takes (deletes) a ceremony of `kind` started by `session`. Unknown, expired, already taken
/// or started by another session: [`PageError::CeremonyExpired`].
pub async fn take<S: DeserializeOwned, D: DeserializeOwned>(
    state: &AppState,
    kind: Kind,
    id: &str,
    session: &Session,
) -> Result<Taken<S, D>, PageError> {
    let row = state
        .store
        .take_ceremony(id, kind.as_str())
        .await?
        .ok_or(PageError::CeremonyExpired)?;
    let decode = |e: serde_json::Error| PageError::Internal(format!("ceremony state: {e}"));
    let envelope: Envelope<D> =
        serde_json::from_str(row.payload.as_deref().unwrap_or("null")).map_err(decode)?;
    if envelope.session != session.id_hash {
        tracing::warn!("passkey ceremony finished by a different session; refused");
        return Err(PageError::CeremonyExpired);
    }
    Ok(Taken {
        user_id: row.user_id,
        state: serde_json::from_str(&row.state).map_err(decode)?,
        data: envelope.data,
    })
}
