//! The apps a person approved, as the dashboard shows them (who each app is, what it may do,
//! its limits and this month's usage against its budget), and revoking one.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;

use super::AccountForm;
use crate::invalidation::Invalidation;
use crate::money::Money;
use crate::oauth::app_view::AppView;
use crate::scopes;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::audit::NewAuditEvent;
use crate::store::clients::{Client, ClientKind};
use crate::store::grants::Grant;
use crate::store::usage::UsageMonth;
use crate::store::users::User;
use crate::web::done::Done;
use crate::web::error::PageError;
use crate::web::limits_form::{LimitWords, LimitsForm, LimitsView};

/// Every app of a person: those that may still use the key, and those revoked or expired.
#[derive(Debug, Serialize)]
pub struct Apps {
    pub active: Vec<AppCard>,
    pub ended: Vec<AppCard>,
    /// The month the usage counts ("November 2026", UTC).
    pub month_label: String,
}

/// One approved app.
#[derive(Debug, Serialize)]
pub struct AppCard {
    /// The grant's id (the forms' target).
    pub id: String,
    pub app: AppView,
    pub scopes: Vec<ScopeWords>,
    /// Whether the app may call the API (and so has a budget, rate and models to set).
    pub has_api: bool,
    pub limits: LimitWords,
    /// The "change limits" form; only for active apps.
    pub form: Option<LimitsView>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// For ended apps: when and how it ended.
    pub ended_at: Option<i64>,
    pub revoked: bool,
    pub usage: UsageView,
}

/// A granted scope in the consent screen's words.
#[derive(Debug, Serialize)]
pub struct ScopeWords {
    pub title: &'static str,
    pub description: &'static str,
    pub spends: bool,
}

/// This month's usage of one app.
#[derive(Debug, Default, Serialize)]
pub struct UsageView {
    pub requests: i64,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub output_tokens: i64,
    /// Estimated cost, e.g. "$1.25" (see [`spend_words`]).
    pub spent: String,
    /// Held for requests still running; `None` when nothing is held.
    pub held: Option<String>,
    /// Requests for models without a price (counted in tokens, not against the budget).
    pub unpriced_requests: i64,
    pub budget: Option<Meter>,
}

/// The spend-against-budget bar: a `<meter>` in micro-USD (no inline styles under the CSP).
#[derive(Debug, Serialize)]
pub struct Meter {
    /// The budget in USD, e.g. "10.00".
    pub amount: String,
    pub max: i64,
    pub value: i64,
    /// Above `low` the bar turns amber, above `high` red.
    pub low: i64,
    pub high: i64,
    /// Whole percent spent, for the words beside the bar.
    pub percent: i64,
}

impl UsageView {
    fn new(month: Option<&UsageMonth>, budget: Option<Money>) -> UsageView {
        let zero = UsageMonth::default();
        let m = month.unwrap_or(&zero);
        let spent = m.spent_microusd.max(0);
        UsageView {
            requests: m.requests,
            input_tokens: m.input_tokens,
            cached_tokens: m.cached_tokens,
            output_tokens: m.output_tokens,
            spent: spend_words(Money::from_micros(spent)),
            held: (m.reserved_microusd > 0)
                .then(|| spend_words(Money::from_micros(m.reserved_microusd))),
            unpriced_requests: m.unpriced_requests,
            budget: budget.map(|budget| {
                let max = budget.micros();
                Meter {
                    amount: budget.decimal(),
                    max,
                    value: spent.min(max),
                    low: max / 4 * 3,
                    high: max / 10 * 9,
                    percent: if max > 0 {
                        (spent.saturating_mul(100) / max).min(999)
                    } else {
                        100
                    },
                }
            }),
        }
    }
}

/// An amount spent, to the cent: "$4.24", "$0.00", or "under $0.01" for a few requests to a
/// cheap model (the exact micro-dollars are noise to a person).
fn spend_words(spent: Money) -> String {
    if Money::ZERO < spent && spent.rounded_to_cent() == Money::ZERO {
        "under $0.01".to_owned()
    } else {
        spent.rounded_to_cent().to_string()
    }
}

/// True when a grant opens any `/v1` endpoint (identity-only grants have no budget to set).
pub fn has_api(grant: &Grant) -> bool {
    grant
        .scopes
        .iter()
        .filter_map(|s| scopes::find(s))
        .any(|s| !s.endpoints.is_empty())
}

/// How the dashboard names a client: its name, and where it lives (its origin, or the host of
/// its first redirect URI).
pub fn app_view(client: &Client) -> AppView {
    let answers_at = match client.kind {
        ClientKind::Origin => client.id.as_str(),
        ClientKind::Registered | ClientKind::Dynamic | ClientKind::FirstParty => client
            .redirect_uris
            .first()
            .map_or(client.id.as_str(), String::as_str),
    };
    AppView::new(client, answers_at)
}

/// The person's apps at `at` (Unix seconds), newest first, with this month's usage.
pub async fn load(state: &AppState, user_id: &str, at: i64) -> Result<Apps, StoreError> {
    let store = &state.store;
    let grants = store.grants_for_user(user_id).await?;
    let client_ids: Vec<&str> = grants.iter().map(|g| g.client_id.as_str()).collect();
    let clients: HashMap<String, Client> = store
        .clients_by_ids(&client_ids)
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let month = crate::metering::month_of(at);
    let usage: HashMap<String, UsageMonth> = store
        .usage_for_user(user_id, &month)
        .await?
        .into_iter()
        .map(|u| (u.grant_id.clone(), u))
        .collect();
    let (mut active, mut ended) = (Vec::new(), Vec::new());
    for grant in grants {
        let Some(client) = clients.get(&grant.client_id) else {
            continue;
        };
        let live = grant.is_active(at);
        let card = AppCard {
            id: grant.id.clone(),
            app: app_view(client),
            scopes: grant
                .scopes
                .iter()
                .filter_map(|s| scopes::find(s))
                .map(|s| ScopeWords {
                    title: s.title,
                    description: s.description,
                    spends: s.spends,
                })
                .collect(),
            has_api: has_api(&grant),
            limits: LimitWords::of(&grant.limits),
            form: live.then(|| LimitsForm::for_edit(&grant).view()),
            created_at: grant.created_at,
            last_used_at: grant.last_used_at,
            ended_at: grant
                .revoked_at
                .or(grant.limits.expires_at.filter(|_| !live)),
            revoked: grant.revoked_at.is_some(),
            usage: UsageView::new(usage.get(&grant.id), grant.limits.budget()),
        };
        if live {
            active.push(card);
        } else {
            ended.push(card);
        }
    }
    Ok(Apps {
        active,
        ended,
        month_label: month_label(at),
    })
}

/// "November 2026" for the UTC month of `at`.
fn month_label(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[month repr:long] [year]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The person's grant `grant_id` and its client; [`PageError::NotFound`] when there is no such
/// grant or it belongs to someone else (the same answer, so ids reveal nothing).
pub async fn owned_grant(
    state: &AppState,
    user: &User,
    grant_id: &str,
) -> Result<(Grant, Client), PageError> {
    let grant = state
        .store
        .grant(grant_id)
        .await?
        .filter(|g| g.user_id == user.id)
        .ok_or(PageError::NotFound)?;
    let client = state
        .store
        .client(&grant.client_id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((grant, client))
}

/// `POST /account/apps/{grant_id}/revoke`: ends the grant and all its tokens, on every
/// instance at once.
#[tracing::instrument(name = "account.revoke", skip_all, fields(grant_id = %grant_id))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(grant_id): Path<String>,
    form: AccountForm,
) -> Result<Response, PageError> {
    let (grant, client) = owned_grant(&state, &form.user, &grant_id).await?;
    if state.store.revoke_grant(&grant.id).await? {
        state
            .invalidator
            .publish(Invalidation::Grant(grant.id.clone()))
            .await;
        let detail = format!("revoked {}", app_view(&client).host);
        state
            .store
            .record_audit(
                &NewAuditEvent::new(&form.user.id, "revoke", &detail)
                    .for_grant(&grant.client_id, &grant.id),
            )
            .await?;
        tracing::info!("grant revoked by its owner");
    }
    Ok(Done::Revoked.redirect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_meter_words_and_bounds() {
        let month = UsageMonth {
            requests: 3,
            spent_microusd: 2_500_000,
            reserved_microusd: 10_000,
            unpriced_requests: 1,
            ..UsageMonth::default()
        };
        let u = UsageView::new(Some(&month), Some(Money::from_dollars(10)));
        assert_eq!(u.spent, "$2.50");
        assert_eq!(u.held.as_deref(), Some("$0.01"));
        let meter = u.budget.unwrap();
        assert_eq!((meter.amount.as_str(), meter.percent), ("10.00", 25));
        assert_eq!((meter.low, meter.high), (7_500_000, 9_000_000));

        let over = UsageMonth {
            spent_microusd: 12_000_000,
            ..UsageMonth::default()
        };
        let meter = UsageView::new(Some(&over), Some(Money::from_dollars(10)))
            .budget
            .unwrap();
        assert_eq!((meter.value, meter.percent), (10_000_000, 120));
        assert!(UsageView::new(None, None).budget.is_none());
        assert_eq!(month_label(1_796_083_199), "November 2026");
        assert_eq!(spend_words(Money::from_micros(0)), "$0.00");
        assert_eq!(spend_words(Money::from_micros(12)), "under $0.01");
        assert_eq!(spend_words(Money::from_micros(4_240_470)), "$4.24");
        assert_eq!(spend_words(Money::from_micros(4_995_000)), "$5.00");
    }
}
