//! Step-up: the signed-in person's passkey again, right before something that matters —
//! approving an app, letting an app do or spend more, replacing the OpenAI key, adding or
//! removing a passkey, deleting the account.
//!
//! A step-up ceremony is bound to one [`Purpose`] (and to the one authorization request, grant
//! or passkey it is about) and to the browser session that started it, so an assertion made to
//! approve an app cannot be replayed to delete the account, and vice versa.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential};

use super::ceremony::{self, Kind};
use super::{credential_id, decode, record_use, webauthn};
use crate::clock::now;
use crate::oauth::Provider;
use crate::oauth::pending::{self, RequestQuery};
use crate::state::AppState;
use crate::web::csrf::CsrfJson;
use crate::web::error::{ApiError, PageError};
use crate::web::form::FormFields;
use crate::web::session::Session;

/// What a step-up assertion is allowed to approve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Approving the pending authorization request with this id.
    Consent(String),
    /// Replacing the OpenAI key in the vault.
    ReplaceKey,
    /// Registering another passkey for the account.
    AddPasskey,
    /// Removing the passkey with this credential id.
    RemovePasskey(String),
    /// Raising the limits of the grant with this id (more budget, pace, models or time).
    RaiseLimits(String),
    /// Deleting the account.
    DeleteAccount,
}

/// Body of `POST /passkey/step-up/start`. Without `action` (or with `"consent"`) it is a
/// consent step-up and `request` is the sealed authorization request; `target` names the
/// passkey or grant an account action is about.
#[derive(Deserialize)]
pub struct StartBody {
    action: Option<String>,
    request: Option<String>,
    target: Option<String>,
}

impl StartBody {
    async fn purpose(&self, state: &AppState) -> Result<Purpose, PageError> {
        let target = || {
            self.target
                .clone()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    PageError::InvalidForm("The passkey action's target is missing".into())
                })
        };
        match self.action.as_deref().unwrap_or("consent") {
            "consent" => {
                let sealed = RequestQuery::parse(self.request.as_deref())?
                    .ok_or_else(|| PageError::InvalidForm("The request is missing".into()))?;
                let pending = pending::load(&Provider::of(state), &sealed, now()).await?;
                Ok(Purpose::Consent(pending.request.id))
            }
            "replace_key" => Ok(Purpose::ReplaceKey),
            "add_passkey" => Ok(Purpose::AddPasskey),
            "remove_passkey" => Ok(Purpose::RemovePasskey(target()?)),
            "raise_limits" => Ok(Purpose::RaiseLimits(target()?)),
            "delete_account" => Ok(Purpose::DeleteAccount),
            _ => Err(PageError::InvalidForm("Unknown passkey action".into())),
        }
    }
}

/// `POST /passkey/step-up/start`: a challenge for the signed-in person's own passkeys, bound to
/// what they are about to do.
#[tracing::instrument(name = "step_up.start", skip_all)]
pub async fn start(
    State(state): State<AppState>,
    request: CsrfJson<StartBody>,
) -> Result<Response, ApiError> {
    let CsrfJson { session, body } = request;
    let user = session.user(&state).await?;
    let purpose = body.purpose(&state).await?;
    let passkeys = state
        .store
        .passkeys_for_user(&user.id)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let (options, auth) = webauthn(&state.settings)?
        .start_passkey_authentication(&passkeys)
        .map_err(|e| PageError::Internal(format!("webauthn start: {e}")))?;
    let id = ceremony::save(
        &state,
        Kind::StepUp,
        &session,
        Some(&user.id),
        &auth,
        &purpose,
    )
    .await?;
    Ok(ceremony::started(id, options))
}

/// Verifies a step-up assertion: the ceremony must have been started by this session, for this
/// person and this purpose, and the passkey must be one of theirs.
pub async fn verify(
    state: &AppState,
    session: &Session,
    user_id: &str,
    purpose: &Purpose,
    ceremony_id: &str,
    credential: &PublicKeyCredential,
) -> Result<(), PageError> {
    let taken =
        ceremony::take::<PasskeyAuthentication, Purpose>(state, Kind::StepUp, ceremony_id, session)
            .await?;
    if taken.user_id.as_deref() != Some(user_id) || taken.data != *purpose {
        tracing::warn!("step-up ceremony used for another person or purpose; refused");
        return Err(PageError::CeremonyExpired);
    }
    let result = webauthn(&state.settings)?
        .finish_passkey_authentication(credential, &taken.state)
        .map_err(|e| {
            tracing::info!(error = %e, "step-up assertion refused");
            PageError::PasskeyFailed
        })?;
    let cred_id = credential_id(result.cred_id());
    let rows = state.store.passkeys_for_user(user_id).await?;
    let row = rows
        .iter()
        .find(|r| r.id == cred_id)
        .ok_or(PageError::UnknownPasskey)?;
    let mut passkey = decode(row)?;
    record_use(state, row, &mut passkey, &result).await?;
    Ok(())
}

/// [`verify`] for a page form whose script put the ceremony id and the assertion (JSON) in the
/// hidden fields `ceremony` and `assertion`. Without them (no JavaScript, or a forged form):
/// [`PageError::PasskeyRequired`].
pub async fn verify_form(
    state: &AppState,
    session: &Session,
    user_id: &str,
    purpose: &Purpose,
    fields: &FormFields,
) -> Result<(), PageError> {
    let (Ok(Some(ceremony)), Ok(Some(assertion))) =
        (fields.one("ceremony"), fields.one("assertion"))
    else {
        return Err(PageError::PasskeyRequired);
    };
    let credential: PublicKeyCredential =
        serde_json::from_str(assertion).map_err(|_| PageError::PasskeyFailed)?;
    verify(state, session, user_id, purpose, ceremony, &credential).await
}
