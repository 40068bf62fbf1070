//! Changing an app's limits after consent, with the consent screen's own form and rules
//! ([`LimitsForm`]). The change applies from the app's next request on every instance (the
//! grant's cached copies are dropped), and the activity log records what changed.

use axum::extract::{Path, State};
use axum::response::Response;

use super::apps::{has_api, owned_grant};
use super::{AccountForm, Done};
use crate::clock::now;
use crate::invalidation::Invalidation;
use crate::state::AppState;
use crate::store::audit::NewAuditEvent;
use crate::web::error::PageError;
use crate::web::limits_form::{LimitWords, LimitsForm};

/// `POST /account/apps/{grant_id}/limits`.
#[tracing::instrument(name = "account.limits", skip_all, fields(grant_id = %grant_id))]
pub async fn update(
    State(state): State<AppState>,
    Path(grant_id): Path<String>,
    form: AccountForm,
) -> Result<Response, PageError> {
    let AccountForm { user, fields, .. } = form;
    let (grant, _) = owned_grant(&state, &user, &grant_id).await?;
    let t = now();
    if !grant.is_active(t) {
        return Err(PageError::NotFound);
    }
    let limits = LimitsForm::parse(&fields, has_api(&grant), grant.limits.expires_at)
        .map_err(|e| PageError::InvalidForm(e.to_string()))?
        .to_limits(t);
    let Some(change) = LimitWords::of(&grant.limits).changes_to(&LimitWords::of(&limits)) else {
        return Ok(Done::LimitsUnchanged.redirect());
    };
    if !state
        .store
        .update_grant(&grant.id, &grant.scopes, &limits)
        .await?
    {
        // Revoked between reading and writing.
        return Err(PageError::NotFound);
    }
    state
        .invalidator
        .publish(Invalidation::Grant(grant.id.clone()))
        .await;
    state
        .store
        .record_audit(
            &NewAuditEvent::new(&user.id, "limits_changed", &change)
                .for_grant(&grant.client_id, &grant.id),
        )
        .await?;
    tracing::info!("limits changed by the grant's owner");
    Ok(Done::LimitsSaved.redirect())
}
