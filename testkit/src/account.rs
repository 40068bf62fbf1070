//! The person's dashboard as a browser uses it: the page, its forms (with the page's own CSRF
//! token), the step-up its script adds to the key and delete forms, and the two-ceremony flow
//! that adds a passkey from another device.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Page;
use crate::harness::Harness;
use crate::passkey::Passkeys;

impl Harness {
    /// `GET /account`.
    pub async fn account(&self) -> Page {
        self.browser.get("/account").await
    }

    /// The CSRF token the dashboard's forms carry.
    pub async fn account_csrf(&self) -> String {
        let page = self.account().await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.input("csrf").expect("csrf field on the dashboard")
    }

    /// Submits one of the dashboard's forms to `path` with the page's CSRF token.
    pub async fn account_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.account_csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.browser.post_form(path, &all).await
    }

    /// Submits a form that needs the passkey (`action` as in its `data-step-up`) the way the
    /// page's script does: step-up first, then the form with the ceremony and assertion.
    pub async fn account_step_up_form(
        &mut self,
        path: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        self.account_step_up_form_for(path, action, None, fields)
            .await
    }

    /// [`Harness::account_step_up_form`] for an action about one passkey or app: `target` as
    /// in the form's `data-step-up-target`.
    pub async fn account_step_up_form_for(
        &mut self,
        path: &str,
        action: &str,
        target: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Page {
        let csrf = self.account_csrf().await;
        let (ceremony, assertion) = self
            .step_up_with(&csrf, &json!({ "action": action, "target": target }))
            .await;
        let mut all = vec![
            ("csrf", csrf.as_str()),
            ("ceremony", ceremony.as_str()),
            ("assertion", assertion.as_str()),
        ];
        all.extend_from_slice(fields);
        self.browser.post_form(path, &all).await
    }

    /// Submits the form of a page that asks for the passkey before it resends what the person
    /// submitted (raising an app's limits), as its script does: the step-up for `action` and
    /// `target`, then the page's own fields with the ceremony and assertion filled in.
    pub async fn confirm_with_passkey(
        &mut self,
        page: &Page,
        path: &str,
        action: &str,
        target: &str,
    ) -> Page {
        let fields = page.inputs();
        let csrf = page.input("csrf").expect("csrf on the confirmation page");
        let (ceremony, assertion) = self
            .step_up_with(&csrf, &json!({ "action": action, "target": target }))
            .await;
        let filled: Vec<(String, String)> = fields
            .into_iter()
            .map(|(name, value)| match name.as_str() {
                "ceremony" => (name, ceremony.clone()),
                "assertion" => (name, assertion.clone()),
                _ => (name, value),
            })
            .collect();
        let filled: Vec<(&str, &str)> = filled
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.browser.post_form(path, &filled).await
    }

    /// Starts adding a passkey: the step-up with the passkey the person has, then
    /// `/passkey/add/start`; its response (registration options on success).
    pub async fn start_adding_passkey(&mut self, name: &str) -> Page {
        let csrf = self.account_csrf().await;
        let (ceremony, assertion) = self
            .step_up_with(&csrf, &json!({ "action": "add_passkey" }))
            .await;
        let assertion: Value = serde_json::from_str(&assertion).expect("assertion JSON");
        self.browser
            .post_json(
                "/passkey/add/start",
                Some(&csrf),
                &json!({ "ceremony": ceremony, "assertion": assertion, "name": name }),
            )
            .await
    }

    /// Adds a passkey that `device` (another authenticator) creates; the finish call's
    /// response.
    pub async fn add_passkey(&mut self, device: &mut Passkeys, name: &str) -> Page {
        let started = self.start_adding_passkey(name).await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.body);
        let started = started.json();
        let options = serde_json::from_value(started["options"].clone()).expect("options");
        let credential = device
            .create(&self.browser.origin, options)
            .expect("passkey created");
        let csrf = self.account_csrf().await;
        self.browser
            .post_json(
                "/passkey/add/finish",
                Some(&csrf),
                &json!({ "ceremony": started["ceremony"], "credential": credential }),
            )
            .await
    }
}

/// The ids the dashboard's forms act on: the ID of every `action="{prefix}ID{suffix}"` on the
/// page, in page order.
pub fn form_targets(page: &Page, prefix: &str, suffix: &str) -> Vec<String> {
    let needle = format!("action=\"{prefix}");
    page.body
        .match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &page.body[at + needle.len()..];
            let end = rest.find('"')?;
            rest[..end].strip_suffix(suffix).map(str::to_owned)
        })
        .collect()
}
