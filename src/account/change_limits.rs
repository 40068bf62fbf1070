//! Changing an app's limits after consent, with the consent screen's own form and rules
//! ([`LimitsForm`]). Lowering a limit is one click; a change that lets the app do more
//! ([`raises`]: more budget or pace, more models, a later end) first shows what it raises and
//! asks for the passkey (step-up), as consent did. The change applies from the app's next
//! request on every instance (the grant's cached copies are dropped), and the activity log
//! records what changed.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use minijinja::value::Serde;

use super::apps::{app_view, has_api, owned_grant};
use super::{AccountForm, Done};
use crate::clock::now;
use crate::invalidation::Invalidation;
use crate::passkey::step_up::Purpose;
use crate::state::AppState;
use crate::store::audit::NewAuditEvent;
use crate::store::clients::Client;
use crate::store::grants::Limits;
use crate::web::error::PageError;
use crate::web::limits_form::{LimitWords, LimitsForm};
use crate::web::templates::Page;

/// Form fields that belong to the submission, not to the limits (not carried to the
/// confirmation page).
const NOT_LIMITS: &[&str] = &["csrf", "ceremony", "assertion"];

/// `POST /account/apps/{grant_id}/limits`.
#[tracing::instrument(name = "account.limits", skip_all, fields(grant_id = %grant_id))]
pub async fn update(
    State(state): State<AppState>,
    Path(grant_id): Path<String>,
    form: AccountForm,
) -> Result<Response, PageError> {
    let (grant, client) = owned_grant(&state, &form.user, &grant_id).await?;
    let t = now();
    if !grant.is_active(t) {
        return Err(PageError::NotFound);
    }
    let limits = LimitsForm::parse(&form.fields, has_api(&grant), grant.limits.expires_at)
        .map_err(|e| PageError::InvalidForm(e.to_string()))?
        .to_limits(t);
    let Some(change) = LimitWords::of(&grant.limits).changes_to(&LimitWords::of(&limits)) else {
        return Ok(Done::LimitsUnchanged.redirect());
    };
    if raises(&grant.limits, &limits) {
        match form
            .confirm(&state, &Purpose::RaiseLimits(grant.id.clone()))
            .await
        {
            Ok(()) => {}
            Err(PageError::PasskeyRequired) => {
                return Ok(confirmation(&form, &client, &grant.id, &change));
            }
            Err(e) => return Err(e),
        }
    }
    let user = &form.user;
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

/// The page that shows what a change raises and resubmits it with the passkey.
fn confirmation(form: &AccountForm, client: &Client, grant_id: &str, change: &str) -> Response {
    let fields: Vec<(&str, &str)> = form
        .fields
        .pairs()
        .filter(|(name, _)| !NOT_LIMITS.contains(name))
        .collect();
    let action = format!("/account/apps/{grant_id}/limits");
    let data = serde_json::json!({ "csrf": form.session.csrf });
    Page::render(
        "raise_limits.html",
        context! {
            signed_in => true,
            app => Serde(app_view(client)),
            change,
            action,
            grant_id,
            csrf => &form.session.csrf,
            fields => Serde(&fields),
            data => Serde(data),
        },
    )
    .into_response()
}

/// Whether `new` lets the app do more than `old`: a higher budget or none, a faster pace or no
/// limit, a model the old list did not allow (or any model), a later end or none. Only such a
/// change needs the passkey.
pub fn raises(old: &Limits, new: &Limits) -> bool {
    // A ceiling is raised when it goes up or away (`None` is no ceiling).
    let lifted = |old: Option<i64>, new: Option<i64>| match (old, new) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(old), Some(new)) => new > old,
    };
    let more_models = !old.models.is_empty()
        && (new.models.is_empty() || new.models.iter().any(|m| !old.models.contains(m)));
    lifted(old.budget_microusd, new.budget_microusd)
        || lifted(old.rpm.map(i64::from), new.rpm.map(i64::from))
        || lifted(old.expires_at, new.expires_at)
        || more_models
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_that_lets_the_app_do_more_raises() {
        let old = Limits {
            models: vec!["gpt-4o-mini".into(), "o4-mini".into()],
            budget_microusd: Some(10_000_000),
            rpm: Some(60),
            expires_at: Some(1_000_000),
        };
        let with = |edit: fn(&mut Limits)| {
            let mut new = old.clone();
            edit(&mut new);
            new
        };
        for (case, new) in [
            (
                "higher budget",
                with(|l| l.budget_microusd = Some(10_000_001)),
            ),
            ("no budget", with(|l| l.budget_microusd = None)),
            ("faster", with(|l| l.rpm = Some(61))),
            ("no rate limit", with(|l| l.rpm = None)),
            ("any model", with(|l| l.models.clear())),
            ("another model", with(|l| l.models = vec!["gpt-5".into()])),
            ("later end", with(|l| l.expires_at = Some(1_000_001))),
            ("until revoked", with(|l| l.expires_at = None)),
        ] {
            assert!(raises(&old, &new), "{case}");
        }
        for (case, new) in [
            ("same", old.clone()),
            ("lower budget", with(|l| l.budget_microusd = Some(0))),
            ("slower", with(|l| l.rpm = Some(1))),
            ("fewer models", with(|l| l.models = vec!["o4-mini".into()])),
            ("earlier end", with(|l| l.expires_at = Some(999_999))),
        ] {
            assert!(!raises(&old, &new), "{case}");
        }
        let open = Limits::default();
        let capped = Limits {
            models: vec!["gpt-4o-mini".into()],
            budget_microusd: Some(1),
            rpm: Some(1),
            expires_at: Some(1),
        };
        assert!(!raises(&open, &capped), "adding every limit lowers");
        assert!(raises(&capped, &open), "removing every limit raises");
    }
}
