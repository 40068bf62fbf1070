//! The limits form: the monthly budget, requests per minute, allowed models and lifetime a
//! person sets on an app at consent ([`crate::consent`]) and changes later on the dashboard
//! ([`crate::account::change_limits`]). Parsed from the form both pages share, shown back in
//! it, and put in words.

use serde::Serialize;

use crate::money::Money;
use crate::store::grants::{Grant, Limits};
use crate::web::form::FormFields;

/// Models offered as checkboxes (besides "any model").
pub const MODELS: &[&str] = &[
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-4o",
    "gpt-4o-mini",
    "o4-mini",
];

/// The checkbox value meaning "any model".
const ANY_MODEL: &str = "*";
/// The lifetime radio value meaning "keep the current end" (dashboard edits).
const KEEP_END: &str = "keep";
/// Largest budget the form accepts, in USD.
const MAX_BUDGET_USD: i64 = 100_000;
/// The largest budget as an amount.
const MAX_BUDGET: Money = Money::from_dollars(MAX_BUDGET_USD);

/// How long a grant lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    Days(i64),
    UntilRevoked,
    /// The grant's current end (Unix seconds), kept as it is when limits are edited.
    Until(i64),
}

/// The choices, in the order shown: (form value, label, lifetime).
const LIFETIMES: &[(&str, &str, Lifetime)] = &[
    ("1d", "1 day", Lifetime::Days(1)),
    ("30d", "30 days", Lifetime::Days(30)),
    ("90d", "90 days", Lifetime::Days(90)),
    ("forever", "Until I revoke it", Lifetime::UntilRevoked),
];

/// Why the form's limits were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    #[error(
        "The budget must be an amount in US dollars between 0 and {MAX_BUDGET_USD}, like 10 or 2.50"
    )]
    Budget,
    #[error("Requests per minute must be a whole number from 1 to 100000")]
    Rpm,
    #[error("Choose at least one model, or \"Any model\"")]
    NoModel,
    #[error("Choose one of the offered models")]
    UnknownModel,
    #[error("Choose how long the app may use your key")]
    Lifetime,
}

/// Limits as the consent form holds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsForm {
    pub budget: Option<Money>,
    pub rpm: Option<u32>,
    /// Empty: any model.
    pub models: Vec<String>,
    pub lifetime: Lifetime,
}

impl Default for LimitsForm {
    /// What a new app gets unless the person changes it: a small budget, a human pace, any
    /// model, a month.
    fn default() -> Self {
        LimitsForm {
            budget: Some(Money::from_dollars(10)),
            rpm: Some(60),
            models: Vec::new(),
            lifetime: Lifetime::Days(30),
        }
    }
}

impl LimitsForm {
    /// The form pre-filled from an existing grant (for re-consent). Its remaining lifetime is
    /// rounded up to the next offered choice.
    pub fn from_grant(grant: &Grant, now: i64) -> LimitsForm {
        let lifetime = match grant.limits.expires_at {
            None => Lifetime::UntilRevoked,
            Some(end) => {
                let days = ((end - now).max(0) + 86_399) / 86_400;
                LIFETIMES
                    .iter()
                    .find_map(|(_, _, l)| match l {
                        Lifetime::Days(d) if *d >= days => Some(*l),
                        _ => None,
                    })
                    .unwrap_or(Lifetime::UntilRevoked)
            }
        };
        LimitsForm {
            budget: grant.limits.budget(),
            rpm: grant.limits.rpm,
            models: grant.limits.models.clone(),
            lifetime,
        }
    }

    /// The form pre-filled for editing a grant on the dashboard: its end stays where it is
    /// unless the person picks a new lifetime.
    pub fn for_edit(grant: &Grant) -> LimitsForm {
        LimitsForm {
            budget: grant.limits.budget(),
            rpm: grant.limits.rpm,
            models: grant.limits.models.clone(),
            lifetime: grant
                .limits
                .expires_at
                .map_or(Lifetime::UntilRevoked, Lifetime::Until),
        }
    }

    /// Reads the form. Without API scopes (`has_api` false) only the lifetime applies.
    /// `current_end` is the edited grant's end, which the "keep" choice keeps; `None` at
    /// consent, where there is nothing to keep.
    pub fn parse(
        fields: &FormFields,
        has_api: bool,
        current_end: Option<i64>,
    ) -> Result<LimitsForm, LimitsError> {
        let chosen = fields.one("lifetime").ok().flatten();
        let lifetime = match (chosen, current_end) {
            (Some(KEEP_END), Some(end)) => Lifetime::Until(end),
            _ => LIFETIMES
                .iter()
                .find(|(value, _, _)| chosen == Some(value))
                .map(|(_, _, l)| *l)
                .ok_or(LimitsError::Lifetime)?,
        };
        if !has_api {
            return Ok(LimitsForm {
                budget: None,
                rpm: None,
                models: Vec::new(),
                lifetime,
            });
        }
        let budget = match fields.one("budget_usd").map_err(|_| LimitsError::Budget)? {
            None => None,
            Some(text) => Some(parse_budget(text).ok_or(LimitsError::Budget)?),
        };
        let rpm = match fields.one("rpm").map_err(|_| LimitsError::Rpm)? {
            None => None,
            Some(text) => Some(
                text.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or(LimitsError::Rpm)?,
            ),
        };
        let chosen: Vec<&str> = fields.all("models").collect();
        let models = if chosen.contains(&ANY_MODEL) {
            Vec::new()
        } else if chosen.is_empty() {
            return Err(LimitsError::NoModel);
        } else if chosen.iter().all(|m| MODELS.contains(m)) {
            let mut models: Vec<String> = chosen.iter().map(|m| (*m).to_owned()).collect();
            models.dedup();
            models
        } else {
            return Err(LimitsError::UnknownModel);
        };
        Ok(LimitsForm {
            budget,
            rpm,
            models,
            lifetime,
        })
    }

    /// The grant limits, with the lifetime counted from `now`.
    pub fn to_limits(&self, now: i64) -> Limits {
        Limits {
            models: self.models.clone(),
            budget_microusd: self.budget.map(Money::micros),
            rpm: self.rpm,
            expires_at: match self.lifetime {
                Lifetime::Days(d) => Some(now + d * 86_400),
                Lifetime::UntilRevoked => None,
                Lifetime::Until(end) => Some(end),
            },
        }
    }

    /// The limits in words, for the "continue" screen and the activity log.
    pub fn summary(&self) -> String {
        let lifetime = match self.lifetime {
            Lifetime::Until(end) => until_words(Some(end)),
            chosen => LIFETIMES
                .iter()
                .find(|(_, _, l)| *l == chosen)
                .map(|(_, label, _)| label.to_lowercase())
                .unwrap_or_default(),
        };
        format!(
            "{} · {} · {} · {lifetime}",
            budget_words(self.budget),
            rpm_words(self.rpm),
            models_words(&self.models)
        )
    }

    /// What the form's fields show.
    pub fn view(&self) -> LimitsView {
        LimitsView {
            budget_usd: self.budget.map(Money::decimal).unwrap_or_default(),
            rpm: self.rpm.map(|n| n.to_string()).unwrap_or_default(),
            any_model: self.models.is_empty(),
            models: MODELS
                .iter()
                .map(|m| Choice {
                    value: m,
                    label: m,
                    checked: self.models.iter().any(|c| c == m),
                })
                .collect(),
            lifetimes: LIFETIMES
                .iter()
                .map(|(value, label, l)| Choice {
                    value,
                    label,
                    checked: *l == self.lifetime,
                })
                .collect(),
            keep_end: match self.lifetime {
                Lifetime::Until(end) => Some(end),
                _ => None,
            },
        }
    }
}

/// A grant's limits in words, one phrase each, as the dashboard shows them and the activity
/// log records changes to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitWords {
    pub budget: String,
    pub rpm: String,
    pub models: String,
    pub lifetime: String,
}

impl LimitWords {
    /// The words for `limits`.
    pub fn of(limits: &Limits) -> LimitWords {
        LimitWords {
            budget: budget_words(limits.budget()),
            rpm: rpm_words(limits.rpm),
            models: models_words(&limits.models),
            lifetime: until_words(limits.expires_at),
        }
    }

    /// What changed from `self` to `new`, as "old → new" phrases; `None` when nothing did.
    pub fn changes_to(&self, new: &LimitWords) -> Option<String> {
        let pairs = [
            (&self.budget, &new.budget),
            (&self.rpm, &new.rpm),
            (&self.models, &new.models),
            (&self.lifetime, &new.lifetime),
        ];
        let changed: Vec<String> = pairs
            .iter()
            .filter(|(old, new)| old != new)
            .map(|(old, new)| format!("{old} → {new}"))
            .collect();
        (!changed.is_empty()).then(|| changed.join("; "))
    }
}

fn budget_words(budget: Option<Money>) -> String {
    match budget {
        Some(amount) => format!("budget {amount} a month"),
        None => "no budget".to_owned(),
    }
}

fn rpm_words(rpm: Option<u32>) -> String {
    match rpm {
        Some(n) => format!("{n} requests a minute"),
        None => "no rate limit".to_owned(),
    }
}

fn models_words(models: &[String]) -> String {
    if models.is_empty() {
        "any model".to_owned()
    } else {
        models.join(", ")
    }
}

fn until_words(end: Option<i64>) -> String {
    match end {
        Some(end) => format!("until {}", crate::web::templates::utc_date(end)),
        None => "until revoked".to_owned(),
    }
}

/// The consent form's field values.
#[derive(Debug, Serialize)]
pub struct LimitsView {
    pub budget_usd: String,
    pub rpm: String,
    pub any_model: bool,
    pub models: Vec<Choice>,
    pub lifetimes: Vec<Choice>,
    /// The current end (Unix seconds) a dashboard edit may keep; offered as the first choice.
    pub keep_end: Option<i64>,
}

/// One checkbox or radio button.
#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// A budget as typed: dollars with at most 6 decimals, between 0 and the maximum.
fn parse_budget(text: &str) -> Option<Money> {
    Money::parse_dollars(text).filter(|amount| *amount <= MAX_BUDGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_stay_within_the_maximum() {
        let parse = |t| parse_budget(t).map(Money::micros);
        assert_eq!(parse("100000"), Some(100_000_000_000));
        assert_eq!(parse("2.5"), Some(2_500_000));
        for bad in ["", "-1", "100000.01", "100001"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn form_parses_limits() {
        let f = FormFields::parse(
            b"budget_usd=5&rpm=20&models=gpt-4o-mini&models=o4-mini&lifetime=90d",
        );
        let l = LimitsForm::parse(&f, true, None).unwrap();
        assert_eq!(l.budget, Some(Money::from_micros(5_000_000)));
        assert_eq!(l.rpm, Some(20));
        assert_eq!(l.models, vec!["gpt-4o-mini", "o4-mini"]);
        assert_eq!(l.to_limits(100).expires_at, Some(100 + 90 * 86_400));
        assert_eq!(
            l.summary(),
            "budget $5.00 a month · 20 requests a minute · gpt-4o-mini, o4-mini · 90 days"
        );

        let any = FormFields::parse(b"budget_usd=&rpm=&models=*&models=gpt-5&lifetime=forever");
        let l = LimitsForm::parse(&any, true, None).unwrap();
        assert_eq!((l.budget, l.rpm), (None, None));
        assert!(l.models.is_empty());
        assert_eq!(l.to_limits(100).expires_at, None);

        for (body, err) in [
            (&b"models=*&lifetime=2d"[..], LimitsError::Lifetime),
            (b"lifetime=1d", LimitsError::NoModel),
            (b"models=gpt-99&lifetime=1d", LimitsError::UnknownModel),
            (b"budget_usd=-3&models=*&lifetime=1d", LimitsError::Budget),
            (b"rpm=0&models=*&lifetime=1d", LimitsError::Rpm),
        ] {
            assert_eq!(
                LimitsForm::parse(&FormFields::parse(body), true, None),
                Err(err)
            );
        }
        assert!(LimitsForm::parse(&FormFields::parse(b"lifetime=1d"), false, None).is_ok());
    }

    #[test]
    fn a_dashboard_edit_keeps_the_end_unless_a_new_lifetime_is_chosen() {
        let mut g = Grant::new("u", "c", vec![], Limits::default(), 0);
        let end = 1_796_083_200; // 2026-12-01T00:00:00Z
        g.limits.expires_at = Some(end);
        let form = LimitsForm::for_edit(&g);
        assert_eq!(form.view().keep_end, Some(end));
        assert!(form.view().lifetimes.iter().all(|c| !c.checked));
        let keep = FormFields::parse(b"models=*&lifetime=keep");
        let kept = LimitsForm::parse(&keep, true, Some(end)).unwrap();
        assert_eq!(kept.to_limits(5).expires_at, Some(end));
        assert_eq!(
            LimitsForm::parse(&keep, true, None),
            Err(LimitsError::Lifetime),
            "nothing to keep at consent"
        );
        let renewed =
            LimitsForm::parse(&FormFields::parse(b"models=*&lifetime=1d"), true, Some(end));
        assert_eq!(renewed.unwrap().to_limits(5).expires_at, Some(5 + 86_400));
    }

    #[test]
    fn limit_changes_read_old_to_new() {
        let old = Limits {
            budget_microusd: Some(10_000_000),
            rpm: Some(60),
            ..Limits::default()
        };
        let new = Limits {
            budget_microusd: Some(2_500_000),
            models: vec!["gpt-4o-mini".into()],
            ..old.clone()
        };
        let (old, new) = (LimitWords::of(&old), LimitWords::of(&new));
        assert_eq!(
            old.changes_to(&new).as_deref(),
            Some("budget $10.00 a month → budget $2.50 a month; any model → gpt-4o-mini")
        );
        assert_eq!(new.changes_to(&new), None);
        assert_eq!(
            LimitWords::of(&Limits {
                expires_at: Some(1_796_083_200),
                ..Limits::default()
            })
            .lifetime,
            "until 1 Dec 2026"
        );
    }

    #[test]
    fn remaining_lifetime_rounds_up_to_a_choice() {
        let mut g = Grant::new("u", "c", vec![], Limits::default(), 0);
        g.limits.expires_at = Some(1000 + 20 * 86_400);
        assert_eq!(
            LimitsForm::from_grant(&g, 1000).lifetime,
            Lifetime::Days(30)
        );
        g.limits.expires_at = None;
        assert_eq!(
            LimitsForm::from_grant(&g, 1000).lifetime,
            Lifetime::UntilRevoked
        );
    }
}
