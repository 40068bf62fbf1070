//! The person's dashboard through the real pages and real HTTP, with soft passkeys: what it
//! shows, and that every action takes effect where a person would notice — at the proxy, for
//! the app's very next request — and nowhere else (not on another person's account, not
//! without CSRF, not without the passkey where the passkey is asked for).

use std::time::{Duration, Instant};

use keyward_testkit::account::form_targets;
use keyward_testkit::app::App;
use keyward_testkit::browser::{Browser, Page};
use keyward_testkit::harness::{GOOD_KEY, Harness, SCOPE};
use keyward_testkit::passkey::Passkeys;
use keyward_testkit::{Backend, logs, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

const ORIGIN: &str = "https://notes.example";
const NEW_KEY: &str = "sk-proj-replacementKEY9876543210zyxwvuts";
const REJECTED_KEY: &str = "sk-invalid-ReplacementRejected0123456789";

/// A chat completion with `token` for `model`; the status.
async fn chat(h: &Harness, token: &str, model: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", h.server.proxy_url()))
        .bearer_auth(token)
        .json(&json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }))
        .send()
        .await
        .expect("proxy request")
        .status()
}

/// Signs a person up, approves `origin` with the default limits and returns (access token,
/// grant id as the dashboard's forms name it).
async fn app_with_token(h: &mut Harness, origin: &str) -> (String, String) {
    let tokens = h.tokens(&App::origin(origin), SCOPE).await;
    let token = tokens["access_token"].as_str().expect("token").to_owned();
    let page = h.account().await;
    let text = page.text();
    let card = text
        .find(&format!("<div class=\"host\">{origin}</div>"))
        .unwrap_or_else(|| panic!("{origin} is on the dashboard"));
    let ids = form_targets(&page, "/account/apps/", "/revoke");
    // The card's own revoke form is the first one after its host line.
    let id = ids
        .into_iter()
        .find(|id| text[card..].contains(&format!("/account/apps/{id}/revoke")))
        .expect("a revoke form for the app");
    (token, id)
}

/// Where a dashboard action sent the browser: the dashboard with its confirmation.
async fn follow(h: &Harness, page: &Page) -> Page {
    let to = page
        .location()
        .map(str::to_owned)
        .or_else(|| page.json()["redirect"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
    h.browser.get(&to).await
}

/// Reloads the dashboard until `done` holds for it (usage settles in the background).
async fn account_until(h: &Harness, done: impl Fn(&Page) -> bool) -> Page {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = h.account().await;
        if done(&page) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn session_cookie(page: &Page) -> Option<String> {
    let c = page.header("set-cookie")?;
    Some(c.split(';').next()?.split_once('=')?.1.to_owned())
}

fn assert_no_secrets(page: &Page, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !page.body.contains(secret) && !page.text().contains(secret),
            "a secret appears in the dashboard"
        );
    }
}

async fn dashboard_shows_apps_usage_and_budget(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    assert_eq!(h.account().await.location(), Some("/signin"));
    let app = App::origin(ORIGIN);
    let request = h.request_id(&app.params(SCOPE, None)).await;
    let passkey_page = h.submit_key(Some(&request), GOOD_KEY).await;
    let created = h.create_passkey(&passkey_page).await;
    let session = session_cookie(&created).expect("a signed-in session");
    let done = h
        .approve(
            &request,
            &[
                ("budget_usd", "2.5"),
                ("rpm", "30"),
                ("models", "*"),
                ("lifetime", "90d"),
            ],
        )
        .await;
    let code = keyward_testkit::app::param(done.location().unwrap(), "code").unwrap();
    let (_, tokens) = h.token(&app.code_exchange(&code)).await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();

    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    assert_eq!(chat(&h, &token, "house-model-7").await, StatusCode::OK);

    let page = account_until(&h, |p| p.text().contains("for models without a price")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.text();
    for expected in [
        "notes.example",
        "https://notes.example",
        "Unverified",
        "Generate text",
        "See available models",
        "budget $2.50 a month",
        "30 requests a minute",
        "any model",
        "of $2.50 this month",
        "<meter min=\"0\" max=\"2500000\"",
        "<dt>Requests</dt><dd>3</dd>",
        "1 request for models without a price — not counted against the budget.",
        "Allowed an app",
        "Created the account",
        " UTC",
    ] {
        assert!(
            body.contains(expected),
            "dashboard lacks {expected:?}:\n{body}"
        );
    }
    // Last use is recorded (at most once a minute) and shown.
    let page = account_until(&h, |p| p.text().contains("last used ")).await;
    assert!(page.text().contains("last used "), "{}", page.body);
    // Nothing secret: not the key, the token, or the session id.
    assert_no_secrets(&page, &[GOOD_KEY, &token, &session]);
    // The CSP allows no inline style, and the page uses none.
    assert!(!page.body.contains("style="));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("style-src 'self'")
    );
}

async fn revoke_ends_access_at_once(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (token, grant) = app_with_token(&mut h, ORIGIN).await;
    let (_, other_grant) = app_with_token(&mut h, "https://other.example").await;
    let other_token = h.tokens(&App::origin("https://third.example"), SCOPE).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Warm the token caches, here and (PostgreSQL) on a second instance.
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    let sibling = match backend {
        Backend::Postgres => Some(h.server.start_sibling().await),
        Backend::Sqlite => None,
    };
    let sibling_chat = |url: String| {
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{url}/v1/chat/completions"))
                .bearer_auth(&token)
                .json(&json!({ "model": "gpt-4o-mini", "messages": [] }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    if let Some(s) = &sibling {
        assert_eq!(sibling_chat(s.url.clone()).await, StatusCode::OK);
    }

    let started = Instant::now();
    let revoked = h
        .account_form(&format!("/account/apps/{grant}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(revoked.location(), Some("/account?done=revoked#apps"));
    assert_eq!(
        chat(&h, &token, "gpt-4o-mini").await,
        StatusCode::UNAUTHORIZED
    );
    if let Some(s) = &sibling {
        // The other instance hears of it through the store within the second.
        let mut status = sibling_chat(s.url.clone()).await;
        while status == StatusCode::OK && started.elapsed() < Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            status = sibling_chat(s.url.clone()).await;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "revocation took {:?}",
        started.elapsed()
    );
    // Only that app: the others keep working.
    assert_eq!(chat(&h, &other_token, "gpt-4o-mini").await, StatusCode::OK);

    let page = follow(&h, &revoked).await;
    assert!(page.text().contains("The app was revoked."));
    assert!(page.text().contains("Revoked and expired apps (1)"));
    assert!(!form_targets(&page, "/account/apps/", "/revoke").contains(&grant));
    assert!(form_targets(&page, "/account/apps/", "/revoke").contains(&other_grant));
    assert!(page.text().contains("Revoked an app"));
    assert!(page.text().contains("revoked https://notes.example"));
    // Revoking again changes nothing and logs nothing more.
    h.account_form(&format!("/account/apps/{grant}/revoke"), &[])
        .await;
    assert_eq!(
        h.account().await.text().matches("Revoked an app").count(),
        1
    );
}

async fn limit_edits_apply_on_the_next_request(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (token, grant) = app_with_token(&mut h, ORIGIN).await;
    let path = format!("/account/apps/{grant}/limits");
    for _ in 0..3 {
        assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::OK);
    }
    // The form comes pre-filled with the grant's limits and keeps its end by default.
    let page = h.account().await;
    assert!(
        page.body
            .contains("name=\"lifetime\" value=\"keep\" checked")
    );
    let until = h.server.state.store.grant(&grant).await.unwrap().unwrap();

    // A form that does not parse changes nothing.
    let bad = h
        .account_form(
            &path,
            &[("rpm", "0"), ("models", "*"), ("lifetime", "keep")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body
            .contains("Requests per minute must be a whole number")
    );
    assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::OK);

    let saved = h
        .account_form(
            &path,
            &[
                ("budget_usd", "5"),
                ("rpm", "2"),
                ("models", "gpt-4o-mini"),
                ("lifetime", "keep"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), Some("/account?done=limits_saved#apps"));
    // The next request already sees the new limits: the model is no longer allowed…
    assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::FORBIDDEN);
    // …and two a minute is the pace (four requests went out in the last seconds).
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(chat(&h, &token, "gpt-4o-mini").await);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let after = h.server.state.store.grant(&grant).await.unwrap().unwrap();
    assert_eq!(after.limits.expires_at, until.limits.expires_at, "end kept");
    assert_eq!(after.scopes, until.scopes, "scopes untouched");

    let page = follow(&h, &saved).await;
    assert!(page.text().contains("The new limits apply from the app"));
    assert!(page.text().contains("Changed an app's limits"));
    assert!(page.text().contains(
        "budget $10.00 a month → budget $5.00 a month; 60 requests a minute → 2 requests a \
         minute; any model → gpt-4o-mini"
    ));
    // The same values again: nothing to save, nothing logged.
    let same = h
        .account_form(
            &path,
            &[
                ("budget_usd", "5"),
                ("rpm", "2"),
                ("models", "gpt-4o-mini"),
                ("lifetime", "keep"),
            ],
        )
        .await;
    assert_eq!(same.location(), Some("/account?done=limits_unchanged#apps"));
    // A new lifetime counts from today.
    h.account_form(
        &path,
        &[
            ("budget_usd", "5"),
            ("rpm", "2"),
            ("models", "gpt-4o-mini"),
            ("lifetime", "1d"),
        ],
    )
    .await;
    let renewed = h.server.state.store.grant(&grant).await.unwrap().unwrap();
    let left = renewed.limits.expires_at.unwrap() - keyward::clock::now();
    assert!((86_000..=86_400).contains(&left), "{left}");
}

async fn key_replacement_checks_upstream_and_keeps_every_app(backend: Backend) {
    logs::capture();
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (token, grant) = app_with_token(&mut h, ORIGIN).await;
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    let store = h.server.state.store.clone();
    let user = store.grant(&grant).await.unwrap().unwrap().user_id;
    let before = store.vault_entry(&user).await.unwrap().unwrap();

    // Without the passkey: refused, nothing changes.
    let no_passkey = h.account_form("/account/key", &[("key", NEW_KEY)]).await;
    assert_eq!(no_passkey.status, StatusCode::BAD_REQUEST);
    assert!(no_passkey.text().contains("needs your passkey"));
    // A step-up made for another action does not replace the key.
    let csrf = h.account_csrf().await;
    let (ceremony, assertion) = h
        .step_up_with(&csrf, &json!({ "action": "delete_account" }))
        .await;
    let misused = h
        .browser
        .post_form(
            "/account/key",
            &[
                ("csrf", &csrf),
                ("ceremony", &ceremony),
                ("assertion", &assertion),
                ("key", NEW_KEY),
            ],
        )
        .await;
    assert_eq!(misused.status, StatusCode::BAD_REQUEST);
    assert!(misused.text().contains("expired"), "{}", misused.body);

    // A key OpenAI refuses: a plain message, the key not echoed, the stored key unchanged.
    h.server.mock.clear_requests();
    let refused = h
        .account_step_up_form("/account/key", "replace_key", &[("key", REJECTED_KEY)])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("OpenAI did not accept this key"));
    assert!(refused.text().contains("Your stored key is unchanged."));
    assert_no_secrets(&refused, &[REJECTED_KEY, "ReplacementRejected", GOOD_KEY]);
    let checked = h.server.mock.requests();
    assert_eq!(checked.len(), 1, "the key was checked upstream");
    assert_eq!(checked[0].path, "/v1/models");
    assert_eq!(
        store.vault_entry(&user).await.unwrap().unwrap().jwe,
        before.jwe
    );
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    assert_eq!(
        h.server
            .mock
            .requests()
            .last()
            .unwrap()
            .header("authorization"),
        Some(format!("Bearer {GOOD_KEY}").as_str())
    );

    // A working key: stored, and the same token now reaches the upstream with it.
    let replaced = h
        .account_step_up_form("/account/key", "replace_key", &[("key", NEW_KEY)])
        .await;
    assert_eq!(replaced.status, StatusCode::SEE_OTHER, "{}", replaced.body);
    assert_eq!(replaced.location(), Some("/account?done=key_replaced#key"));
    assert_ne!(
        store.vault_entry(&user).await.unwrap().unwrap().jwe,
        before.jwe
    );
    h.server.mock.clear_requests();
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    assert_eq!(
        h.server.mock.requests()[0].header("authorization"),
        Some(format!("Bearer {NEW_KEY}").as_str())
    );

    let page = follow(&h, &replaced).await;
    assert!(page.text().contains("Your new OpenAI key is in the vault."));
    assert!(page.text().contains("Replaced the OpenAI key"));
    assert_no_secrets(&page, &[GOOD_KEY, NEW_KEY, &token]);
    let logged = logs::captured();
    for secret in [GOOD_KEY, NEW_KEY, REJECTED_KEY, "ReplacementRejected"] {
        assert!(!logged.contains(secret), "a key reached the logs");
    }
}

async fn passkeys_add_rename_remove_never_the_last(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    h.sign_up(None).await;
    let page = h.account().await;
    assert!(page.text().contains("Passkey added at sign-up"));
    let first = form_targets(&page, "/account/passkeys/", "/rename");
    assert_eq!(first.len(), 1);
    let first = first[0].clone();
    assert!(
        form_targets(&page, "/account/passkeys/", "/remove").is_empty(),
        "no remove button for the only passkey"
    );
    // The store refuses to remove the only passkey, with a clear page.
    let refused = h
        .account_form(&format!("/account/passkeys/{first}/remove"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .contains("You cannot remove your only passkey")
    );

    // Adding needs a passkey the person already has.
    let csrf = h.account_csrf().await;
    let forged = h
        .browser
        .post_json(
            "/passkey/add/start",
            Some(&csrf),
            &json!({ "ceremony": "00000000-0000-0000-0000-000000000000",
                     "assertion": { "id": "x", "rawId": "eA", "type": "public-key",
                                    "response": { "authenticatorData": "", "clientDataJSON": "",
                                                  "signature": "" }, "extensions": {} },
                     "name": "Thief" }),
        )
        .await;
    assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{}", forged.body);
    // The registration excludes the passkey the account has.
    let started = h.start_adding_passkey("ignored").await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let excluded = started.json()["options"]["publicKey"]["excludeCredentials"].clone();
    assert_eq!(excluded[0]["id"], first, "{excluded}");

    let mut phone = Passkeys::default();
    let added = h.add_passkey(&mut phone, "  Phone\u{7}  ").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(
        added.json()["redirect"],
        "/account?done=passkey_added#passkeys"
    );
    let page = follow(&h, &added).await;
    assert!(page.text().contains("Your new passkey is ready."));
    assert!(page.text().contains("<strong>Phone</strong>"));
    assert!(page.text().contains("Added a passkey"));
    let ids = form_targets(&page, "/account/passkeys/", "/rename");
    assert_eq!(ids.len(), 2);
    let second = ids.iter().find(|id| **id != first).unwrap().clone();

    let renamed = h
        .account_form(
            &format!("/account/passkeys/{second}/rename"),
            &[("name", "My phone")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let empty = h
        .account_form(
            &format!("/account/passkeys/{second}/rename"),
            &[("name", "  ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let page = h.account().await;
    assert!(page.text().contains("<strong>My phone</strong>"));
    assert!(
        page.text()
            .contains("renamed passkey “Phone” to “My phone”")
    );

    // Removing a passkey needs a passkey: the session alone changes nothing.
    let remove_first = format!("/account/passkeys/{first}/remove");
    let refused = h.account_form(&remove_first, &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.text().contains("This needs your passkey"));
    // Nor does a step-up made to remove another passkey.
    let wrong_target = h
        .account_step_up_form_for(&remove_first, "remove_passkey", Some(&second), &[])
        .await;
    assert_eq!(wrong_target.status, StatusCode::BAD_REQUEST);
    let page = h.account().await;
    assert_eq!(
        form_targets(&page, "/account/passkeys/", "/rename").len(),
        2
    );

    // The phone signs in, in its own browser, and removes the sign-up passkey: it no longer
    // opens the account, and the laptop's session, which it opened, ends with it.
    let laptop = std::mem::replace(&mut h.browser, Browser::new(&h.server.url));
    let laptop_passkeys = std::mem::replace(&mut h.passkeys, phone);
    assert_eq!(h.sign_in(None).await, "/account");
    let removed = h
        .account_step_up_form_for(&remove_first, "remove_passkey", Some(&first), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(h.account().await.text().contains("Removed a passkey"));
    assert_eq!(
        laptop.get("/account").await.location(),
        Some("/signin"),
        "the session the removed passkey opened has ended"
    );
    let mut phone = std::mem::replace(&mut h.passkeys, laptop_passkeys);
    let phone_browser = std::mem::replace(&mut h.browser, Browser::new(&h.server.url));
    let refused = h.try_sign_in(None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("not registered here"));
    std::mem::swap(&mut h.passkeys, &mut phone);
    h.browser = phone_browser;

    // Now the phone's passkey is the last one.
    assert_eq!(h.sign_in(None).await, "/account");
    let page = h.account().await;
    assert!(page.text().contains("This is your only passkey"));
    let last = h
        .account_form(&format!("/account/passkeys/{second}/remove"), &[])
        .await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(
        h.account()
            .await
            .text()
            .contains("<strong>My phone</strong>")
    );
}

async fn removing_this_browsers_passkey_signs_it_out(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    h.sign_up(None).await;
    let mut phone = Passkeys::default();
    let added = h.add_passkey(&mut phone, "Phone").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let page = h.account().await;
    let ids = form_targets(&page, "/account/passkeys/", "/remove");
    assert_eq!(ids.len(), 2);
    assert_eq!(
        page.text().matches("this one included").count(),
        1,
        "the dashboard says which passkey signed this browser in"
    );
    // The sign-up passkey (listed first) opened this session.
    let path = format!("/account/passkeys/{}/remove", ids[0]);
    let removed = h
        .account_step_up_form_for(&path, "remove_passkey", Some(&ids[0]), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(removed.location(), Some("/signin"));
    assert!(removed.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(h.account().await.location(), Some("/signin"));
    h.passkeys = phone;
    assert_eq!(h.sign_in(None).await, "/account");
    let page = h.account().await;
    assert_eq!(
        form_targets(&page, "/account/passkeys/", "/rename").len(),
        1
    );
    assert!(page.text().contains("<strong>Phone</strong>"));
}

async fn raising_limits_needs_the_passkey_lowering_does_not(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (token, grant) = app_with_token(&mut h, ORIGIN).await;
    let path = format!("/account/apps/{grant}/limits");
    let store = h.server.state.store.clone();
    let limits_now = async || store.grant(&grant).await.unwrap().unwrap().limits;
    // Lowering is one click.
    let lowered = [
        ("budget_usd", "5"),
        ("rpm", "60"),
        ("models", "gpt-4o-mini"),
        ("lifetime", "keep"),
    ];
    let saved = h.account_form(&path, &lowered).await;
    assert_eq!(saved.location(), Some("/account?done=limits_saved#apps"));
    let low = limits_now().await;
    assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::FORBIDDEN);

    // Each raise, with the session alone: a page that says what it raises and asks for the
    // passkey; nothing changes.
    let with = |name: &'static str, value: &'static str| -> Vec<(&str, &str)> {
        lowered
            .iter()
            .map(|&(n, v)| if n == name { (n, value) } else { (n, v) })
            .collect()
    };
    for (case, fields, says) in [
        (
            "higher budget",
            with("budget_usd", "50"),
            "budget $50.00 a month",
        ),
        ("no budget", with("budget_usd", ""), "no budget"),
        ("faster", with("rpm", "100"), "100 requests a minute"),
        (
            "another model",
            with("models", "gpt-4o"),
            "gpt-4o-mini → gpt-4o",
        ),
        ("any model", with("models", "*"), "any model"),
        (
            "until revoked",
            with("lifetime", "forever"),
            "until revoked",
        ),
        ("longer", with("lifetime", "90d"), "→ until"),
    ] {
        let page = h.account_form(&path, &fields).await;
        assert_eq!(page.status, StatusCode::OK, "{case}: {}", page.body);
        let text = page.text();
        assert!(text.contains("do more?"), "{case}: {text}");
        assert!(text.contains(says), "{case}: {text}");
        assert!(
            page.body.contains(&format!(
                "data-step-up=\"raise_limits\" data-step-up-target=\"{grant}\""
            )),
            "{case}"
        );
        assert_eq!(limits_now().await, low, "{case}: nothing changed");
    }
    assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::FORBIDDEN);

    // A passkey confirmation made for another app's limits raises nothing.
    let raise = with("models", "*");
    let page = h.account_form(&path, &raise).await;
    let elsewhere = h
        .confirm_with_passkey(&page, &path, "raise_limits", "another-grant")
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::BAD_REQUEST,
        "{}",
        elsewhere.body
    );
    assert_eq!(limits_now().await, low);

    // With the passkey the raise applies from the app's next request.
    let page = h.account_form(&path, &raise).await;
    let saved = h
        .confirm_with_passkey(&page, &path, "raise_limits", &grant)
        .await;
    assert_eq!(
        saved.location(),
        Some("/account?done=limits_saved#apps"),
        "{}",
        saved.body
    );
    assert!(limits_now().await.models.is_empty());
    assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::OK);
    let page = follow(&h, &saved).await;
    assert!(page.text().contains("gpt-4o-mini → any model"));
}

async fn delete_account_erases_everything(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (token, grant) = app_with_token(&mut h, ORIGIN).await;
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);
    let state = h.server.state.clone();
    let user = state.store.grant(&grant).await.unwrap().unwrap().user_id;

    // Without the passkey: nothing happens.
    let refused = h.account_form("/account/delete", &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(state.store.user(&user).await.unwrap().is_some());
    assert_eq!(chat(&h, &token, "gpt-4o-mini").await, StatusCode::OK);

    let gone = h
        .account_step_up_form("/account/delete", "delete_account", &[])
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    assert!(gone.text().contains("Your account is deleted"));
    assert!(gone.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The token the app holds (and the proxy had cached) stops at once.
    assert_eq!(
        chat(&h, &token, "gpt-4o-mini").await,
        StatusCode::UNAUTHORIZED
    );
    assert!(state.store.vault_entry(&user).await.unwrap().is_none());
    assert!(state.store.grants_for_user(&user).await.unwrap().is_empty());
    assert!(state.store.user(&user).await.unwrap().is_none());
    assert!(
        state
            .store
            .passkeys_for_user(&user)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        state
            .store
            .audit_for_user(&user, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The session is gone, and the passkey opens nothing any more.
    assert_eq!(h.account().await.location(), Some("/signin"));
    let finish = h.try_sign_in(None).await;
    assert_eq!(finish.status, StatusCode::BAD_REQUEST);
}

async fn every_post_needs_the_csrf_token(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (token, grant) = app_with_token(&mut h, ORIGIN).await;
    let page = h.account().await;
    let passkey = form_targets(&page, "/account/passkeys/", "/rename")[0].clone();
    let csrf = page.input("csrf").unwrap();
    let forms = [
        format!("/account/apps/{grant}/revoke"),
        format!("/account/apps/{grant}/limits"),
        "/account/key".to_owned(),
        format!("/account/passkeys/{passkey}/rename"),
        format!("/account/passkeys/{passkey}/remove"),
        "/account/delete".to_owned(),
    ];
    let fields = [
        ("rpm", "1"),
        ("models", "gpt-5"),
        ("lifetime", "1d"),
        ("key", NEW_KEY),
        ("name", "renamed"),
    ];
    for path in &forms {
        let missing = h.browser.post_form(path, &fields).await;
        assert_eq!(
            missing.status,
            StatusCode::FORBIDDEN,
            "{path} without a token"
        );
        let mut wrong = vec![("csrf", "x".repeat(43))];
        wrong.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = h.browser.post_form(path, &wrong).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} with a wrong token");
        let mut right = vec![("csrf", csrf.as_str())];
        right.extend_from_slice(&fields);
        let foreign = h
            .browser
            .post_form_from(path, &right, Some("https://evil.example"))
            .await;
        assert_eq!(
            foreign.status,
            StatusCode::FORBIDDEN,
            "{path} from another site"
        );
        assert!(foreign.text().contains("This form has expired"));
    }
    for path in ["/passkey/add/start", "/passkey/add/finish"] {
        for token in [None, Some("wrong")] {
            let r = h.browser.post_json(path, token, &json!({})).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} {token:?}");
        }
    }
    // Nothing changed.
    assert_eq!(chat(&h, &token, "gpt-4o").await, StatusCode::OK);
    let page = h.account().await;
    assert!(page.text().contains("Passkey added at sign-up"));
    assert!(!page.text().contains("renamed"));
    assert!(page.text().contains("budget $10.00 a month"));
}

async fn another_persons_grant_and_passkeys_are_out_of_reach(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    // Bob signs up and allows an app first, in his own browser with his own passkey.
    let (bob_token, bob_grant) = app_with_token(&mut h, "https://bob.example").await;
    let bob_page = h.account().await;
    let bob_passkey = form_targets(&bob_page, "/account/passkeys/", "/rename")[0].clone();
    let bob_browser = std::mem::replace(&mut h.browser, Browser::new(&h.server.url));
    let bob_passkeys = std::mem::take(&mut h.passkeys);

    // Alice, in hers.
    app_with_token(&mut h, ORIGIN).await;
    for (path, fields) in [
        (format!("/account/apps/{bob_grant}/revoke"), vec![]),
        (
            format!("/account/apps/{bob_grant}/limits"),
            vec![("models", "gpt-5"), ("rpm", "1"), ("lifetime", "1d")],
        ),
        (
            format!("/account/passkeys/{bob_passkey}/rename"),
            vec![("name", "Alice was here")],
        ),
        (format!("/account/passkeys/{bob_passkey}/remove"), vec![]),
    ] {
        let r = h.account_form(&path, &fields).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(!h.account().await.text().contains("bob.example"));

    // Bob's app, grant and passkey are as they were.
    assert_eq!(chat(&h, &bob_token, "gpt-4o").await, StatusCode::OK);
    h.browser = bob_browser;
    h.passkeys = bob_passkeys;
    let page = h.account().await;
    assert!(page.text().contains("bob.example"));
    assert!(
        page.body
            .contains("budget $10.00 a month · 60 requests a minute · any model")
    );
    assert!(page.text().contains("Passkey added at sign-up"));
    assert!(!page.text().contains("Alice was here"));
    assert!(!page.text().contains("notes.example"));
}

on_both_backends!(
    shows_apps_usage_and_budget,
    dashboard_shows_apps_usage_and_budget
);
on_both_backends!(revoke, revoke_ends_access_at_once);
on_both_backends!(limits, limit_edits_apply_on_the_next_request);
on_both_backends!(
    key_replacement,
    key_replacement_checks_upstream_and_keeps_every_app
);
on_both_backends!(passkeys, passkeys_add_rename_remove_never_the_last);
on_both_backends!(delete_account, delete_account_erases_everything);
on_both_backends!(
    remove_own_passkey,
    removing_this_browsers_passkey_signs_it_out
);
on_both_backends!(
    raise_limits,
    raising_limits_needs_the_passkey_lowering_does_not
);
on_both_backends!(csrf, every_post_needs_the_csrf_token);
on_both_backends!(
    other_people,
    another_persons_grant_and_passkeys_are_out_of_reach
);
