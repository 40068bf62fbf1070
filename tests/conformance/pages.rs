//! The person's side through the real pages: CSRF on every form and JSON call, WebAuthn
//! ceremonies that cannot be replayed or finished by another browser, ceremonies and codes
//! crossing instances, the sign-up key check's errors, security headers and cookies, session
//! rotation, re-consent, and a clear page for every failure.

use keyward::token_format::{self, TokenKind};
use keyward_testkit::app::{App, param, query};
use keyward_testkit::browser::Browser;
use keyward_testkit::db::row_counts;
use keyward_testkit::harness::{DEFAULT_LIMITS, GOOD_KEY, Harness, SCOPE};
use keyward_testkit::{Backend, logs, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

const ORIGIN: &str = "https://app.example";

/// Signs a person up and leaves a pending request on the consent page; (request, csrf).
async fn signed_in_with_request(h: &mut Harness) -> (String, String) {
    h.sign_up(None).await;
    let request = h.request_id(&App::origin(ORIGIN).params(SCOPE, None)).await;
    let page = h.consent_page(&request).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (request, page.input("csrf").expect("csrf"))
}

async fn csrf_on_forms_and_json(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (request, csrf) = signed_in_with_request(&mut h).await;
    // Forms: missing token, wrong token, right token from another origin.
    let missing = h
        .browser
        .post_form("/consent/deny", &[("request", &request)])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("This form has expired"));
    let wrong = h
        .browser
        .post_form(
            "/consent/deny",
            &[("csrf", "x".repeat(43).as_str()), ("request", &request)],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "cross-site")],
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "same-origin"),
        ],
    ] {
        let foreign = h
            .browser
            .post_form_with(
                "/consent/deny",
                &[("csrf", &csrf), ("request", &request)],
                headers,
            )
            .await;
        assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    // What browsers send from a no-referrer page: `Origin: null`, `Sec-Fetch-Site: same-origin`.
    let other = h.request_id(&App::origin(ORIGIN).params(SCOPE, None)).await;
    let ours = h
        .browser
        .post_form_with(
            "/consent/deny",
            &[("csrf", &csrf), ("request", &other)],
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(
        param(ours.location().unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    // JSON: no header, wrong header.
    for token in [None, Some("wrong")] {
        let r = h
            .browser
            .post_json(
                "/passkey/step-up/start",
                token,
                &json!({ "request": request }),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.json()["error"].is_string());
    }
    let signout = h.browser.post_form("/signout", &[]).await;
    assert_eq!(signout.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.browser.get("/account").await.status,
        StatusCode::OK,
        "still signed in"
    );
    // None of that consumed the request: the real approval still works.
    let done = h.approve(&request, DEFAULT_LIMITS).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(
        done.location()
            .unwrap()
            .starts_with("https://app.example/callback?code=")
    );
}

/// Submits the consent form with a given step-up ceremony and assertion.
async fn post_approval(
    h: &Harness,
    csrf: &str,
    request: &str,
    ceremony: &str,
    assertion: &str,
) -> keyward_testkit::browser::Page {
    h.browser
        .post_form(
            "/consent",
            &[
                ("csrf", csrf),
                ("request", request),
                ("ceremony", ceremony),
                ("assertion", assertion),
                ("models", "*"),
                ("lifetime", "1d"),
            ],
        )
        .await
}

async fn replayed_ceremonies_fail(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    // Registration finished twice.
    let page = h.submit_key(None, GOOD_KEY).await;
    let data = page.script_json("kw-data").unwrap();
    let options = serde_json::from_value(data["options"].clone()).unwrap();
    let credential = h.passkeys.create(&h.browser.origin, options).unwrap();
    let body = json!({ "ceremony": data["ceremony"], "credential": credential });
    let csrf = data["csrf"].as_str().unwrap();
    let first = h
        .browser
        .post_json("/passkey/register/finish", Some(csrf), &body)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    // The session was rotated at sign-in, so replay with the old token fails the CSRF check
    // and, with a valid one, the ceremony is gone.
    let replay = h
        .browser
        .post_json("/passkey/register/finish", Some(csrf), &body)
        .await;
    assert_eq!(replay.status, StatusCode::FORBIDDEN);
    let fresh_csrf = h.browser.get("/account").await.input("csrf").unwrap();
    let replay = h
        .browser
        .post_json("/passkey/register/finish", Some(&fresh_csrf), &body)
        .await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.body);
    assert!(replay.body.contains("expired"));

    // A step-up assertion approves one request once.
    let app = App::origin(ORIGIN);
    let first_request = h.request_id(&app.params(SCOPE, None)).await;
    let csrf = h.consent_page(&first_request).await.input("csrf").unwrap();
    let (ceremony, assertion) = h.step_up(&csrf, &first_request).await;
    // Used for another request: refused (and spent).
    let second_request = h.request_id(&app.params(SCOPE, None)).await;
    let wrong = post_approval(&h, &csrf, &second_request, &ceremony, &assertion).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "{}", wrong.body);
    let replay = post_approval(&h, &csrf, &first_request, &ceremony, &assertion).await;
    assert_eq!(
        replay.status,
        StatusCode::BAD_REQUEST,
        "a ceremony is single-use"
    );
    assert!(replay.body.contains("This passkey request has expired"));
    // A fresh step-up still works for the first request.
    let done = h.approve(&first_request, DEFAULT_LIMITS).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // A ceremony cannot be finished from another browser session.
    let start = h
        .browser
        .post_json(
            "/passkey/signin/start",
            h.browser
                .get("/signin")
                .await
                .script_json("kw-data")
                .unwrap()["csrf"]
                .as_str(),
            &json!({}),
        )
        .await
        .json();
    let credential = h
        .passkeys
        .get(
            &h.browser.origin,
            serde_json::from_value(start["options"].clone()).unwrap(),
        )
        .unwrap();
    let other = Browser::new(&h.server.url);
    let other_csrf = other.get("/signin").await.script_json("kw-data").unwrap()["csrf"]
        .as_str()
        .unwrap()
        .to_owned();
    let stolen = other
        .post_json(
            "/passkey/signin/finish",
            Some(&other_csrf),
            &json!({ "ceremony": start["ceremony"], "credential": credential }),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::BAD_REQUEST, "{}", stolen.body);
}

async fn ceremonies_and_codes_cross_instances(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let sibling = h.server.start_sibling().await;
    let on_a = h.browser.clone();
    let on_b = h.browser.via(&sibling.url);
    // Sign-up started on A (key check, ceremony saved), finished on B.
    let app = App::origin(ORIGIN);
    let request = h.request_id(&app.params(SCOPE, None)).await;
    let page = h.submit_key(Some(&request), GOOD_KEY).await;
    h.browser = on_b.clone();
    let done = h.create_passkey(&page).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    // Consent page and step-up on B, approval on A.
    let csrf = h.consent_page(&request).await.input("csrf").unwrap();
    let (ceremony, assertion) = h.step_up(&csrf, &request).await;
    h.browser = on_a.clone();
    let approved = post_approval(&h, &csrf, &request, &ceremony, &assertion).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let code = param(approved.location().unwrap(), "code").unwrap();
    // The code, issued by A, redeemed at B.
    let r = h
        .http
        .post(format!("{}/oauth/token", sibling.url))
        .form(&app.code_exchange(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Sign-in started on B, finished on A, by a browser without a session.
    let fresh = Browser::new(&h.server.url).via(&sibling.url);
    let data = fresh.get("/signin").await.script_json("kw-data").unwrap();
    let csrf = data["csrf"].as_str().unwrap().to_owned();
    let start = fresh
        .post_json("/passkey/signin/start", Some(&csrf), &json!({}))
        .await
        .json();
    let credential = h
        .passkeys
        .get(
            &fresh.origin,
            serde_json::from_value(start["options"].clone()).unwrap(),
        )
        .unwrap();
    let finished = fresh
        .via(&h.server.url)
        .post_json(
            "/passkey/signin/finish",
            Some(&csrf),
            &json!({ "ceremony": start["ceremony"], "credential": credential }),
        )
        .await;
    assert_eq!(finished.status, StatusCode::OK, "{}", finished.body);
    assert_eq!(finished.json()["redirect"], "/account");
}

async fn sign_up_explains_bad_keys(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    for (key, says, status) in [
        (
            "sk-invalid-abcdef123456SECRETTAIL",
            "OpenAI did not accept this key",
            StatusCode::BAD_REQUEST,
        ),
        (
            "sk-noquota-abcdef123456SECRETTAIL",
            "This key has no quota left",
            StatusCode::BAD_REQUEST,
        ),
        (
            "sk-with spaces",
            "That does not look like an API key",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let page = h.submit_key(None, key).await;
        assert_eq!(page.status, status, "{key}");
        assert!(page.body.contains(says), "{key}: {}", page.body);
        assert!(
            !page.body.contains("SECRETTAIL") && !page.body.contains(key),
            "the key is never echoed"
        );
        assert!(page.script_json("kw-data").is_none(), "no passkey step");
        assert_eq!(page.input("key"), None, "the key field comes back empty");
    }
    drop(h);
    // Upstream unreachable.
    logs::capture();
    let Some(h) = Harness::start_with(backend, |s| {
        s.upstream = "http://127.0.0.1:9/v1".parse().unwrap()
    })
    .await
    else {
        return;
    };
    let page = h.submit_key(None, GOOD_KEY).await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    assert!(page.body.contains("We could not reach OpenAI"));
    // Nothing listens on port 9: an instant refusal, not a wait.
    assert!(
        page.body.contains("connection to OpenAI was refused") && !page.body.contains("in time"),
        "{}",
        page.body
    );
    // The operator's log says where and what.
    let logged = logs::captured();
    assert!(
        logged.contains(
            "could not reach the upstream upstream=http://127.0.0.1:9/v1 failure=Connection refused"
        ),
        "{logged}"
    );
}

async fn pages_send_security_headers_and_cookies(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let signin = h.browser.get("/signin").await;
    let cookie = signin.header("set-cookie").expect("a session for the form");
    for attr in ["keyward_session=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http in tests");
    let (request, _) = signed_in_with_request(&mut h).await;
    let after = h.browser.get("/account").await;
    assert_eq!(after.status, StatusCode::OK);
    for path in [
        "/",
        "/signin",
        "/signup",
        "/account",
        &format!("/consent?request={request}"),
        "/consent?request=nope",
    ] {
        let page = h.browser.get(path).await;
        let csp = page
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("CSP on {path}"));
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(
            !page.body.contains("<script>"),
            "no inline script on {path}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert!(page.header("cross-origin-opener-policy").is_none());
    }
    let consent = h.consent_page(&request).await;
    assert!(
        consent
            .header("content-security-policy")
            .unwrap()
            .contains("form-action 'self' https://app.example")
    );
    drop(h);
    // Over https: Secure, the __Host- prefix, and HSTS.
    let Some(h) = Harness::start_with(backend, |s| {
        s.public_url.set_scheme("https").unwrap();
        s.issuer = s.public_url.clone();
    })
    .await
    else {
        return;
    };
    let page = h.browser.get("/signin").await;
    let cookie = page.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("__Host-keyward_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(page.header("strict-transport-security").is_some());
}

/// The session cookie's value in a response's `Set-Cookie`.
fn session_cookie(page: &keyward_testkit::browser::Page) -> Option<String> {
    let c = page.header("set-cookie")?;
    Some(c.split(';').next()?.split_once('=')?.1.to_owned())
}

async fn sign_in_rotates_the_session(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let before = session_cookie(&h.browser.get("/signup").await).expect("anonymous session");
    let page = h.submit_key(None, GOOD_KEY).await;
    let done = h.create_passkey(&page).await;
    let after = session_cookie(&done).expect("new session at sign-up");
    assert_ne!(before, after);
    // The anonymous session is gone: its cookie no longer opens anything.
    let old = h
        .http
        .get(format!("{}/account", h.issuer()))
        .header("cookie", format!("keyward_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    // Signing in again (new browser, same passkey) gives yet another session.
    let mut again = Harness {
        browser: Browser::new(&h.server.url),
        ..h
    };
    let anon = session_cookie(&again.browser.get("/signin").await).unwrap();
    assert_eq!(again.sign_in(None).await, "/account");
    assert_eq!(again.browser.get("/account").await.status, StatusCode::OK);
    assert_ne!(anon, after);
}

async fn returning_people_and_foreign_passkeys(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let app = App::origin(ORIGIN);
    h.code(&app, SCOPE).await;
    // A new browser: the consent page asks to sign in, and the passkey alone does it.
    h.browser = Browser::new(&h.server.url);
    let mut other_app = App::origin("https://second.example");
    other_app.renew();
    let code = h.code(&other_app, SCOPE).await;
    assert!(code.starts_with("kw_ac_"));
    // The same passkey on another Keyward (same RP ID, different accounts): not registered there.
    let Some(mut elsewhere) = Harness::start(backend).await else {
        return;
    };
    elsewhere.passkeys = std::mem::take(&mut h.passkeys);
    let refused = elsewhere.try_sign_in(None).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("not registered here"),
        "{}",
        refused.body
    );
}

/// The grant behind an access token.
async fn grant_of(h: &Harness, access_token: &str) -> keyward::store::grants::Grant {
    let hash = token_format::parse(TokenKind::Access, access_token).unwrap();
    h.server
        .state
        .store
        .token_with_grant(&hash)
        .await
        .unwrap()
        .unwrap()
        .1
}

async fn consent_sets_limits_and_reuses_the_grant(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let mut app = App::origin(ORIGIN);
    let request = h.request_id(&app.params(SCOPE, None)).await;
    h.sign_up(Some(&request)).await;
    let page = h.consent_page(&request).await;
    for words in [
        "app.example wants to use your OpenAI key",
        "Unverified",
        "Generate text",
        "Costs you money",
        "Monthly budget (USD)",
        "Requests per minute",
        "gpt-4o-mini",
        "Until I revoke it",
    ] {
        assert!(page.body.contains(words), "consent page shows {words:?}");
    }
    // Invalid limits: a clear page, the request stays pending.
    let invalid = h
        .approve(
            &request,
            &[("budget_usd", "-5"), ("models", "*"), ("lifetime", "30d")],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("The budget must be an amount"));
    // Without the passkey: refused.
    let csrf = page.input("csrf").unwrap();
    let bare = h
        .browser
        .post_form(
            "/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("models", "*"),
                ("lifetime", "1d"),
            ],
        )
        .await;
    assert_eq!(bare.status, StatusCode::BAD_REQUEST);
    assert!(bare.body.contains("This needs your passkey"));
    assert!(bare.body.contains("before an app may use your key"));
    let done = h
        .approve(
            &request,
            &[
                ("budget_usd", "2.50"),
                ("rpm", "5"),
                ("models", "gpt-4o-mini"),
                ("models", "o4-mini"),
                ("lifetime", "1d"),
            ],
        )
        .await;
    let code = param(done.location().unwrap(), "code").unwrap();
    let (_, tokens) = h.token(&app.code_exchange(&code)).await;
    let expires_in = tokens["expires_in"].as_i64().unwrap();
    assert!((86_340..=86_400).contains(&expires_in), "{expires_in}");
    let grant = grant_of(&h, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(grant.limits.budget_microusd, Some(2_500_000));
    assert_eq!(grant.limits.rpm, Some(5));
    assert_eq!(grant.limits.models, vec!["gpt-4o-mini", "o4-mini"]);

    // Same app, same scopes: a one-click "continue" (still with the passkey), the same grant.
    app.renew();
    let request = h.request_id(&app.params(SCOPE, None)).await;
    let page = h.consent_page(&request).await;
    assert!(page.body.contains("You already allowed this app"));
    assert!(page.body.contains("Continue with your passkey"));
    assert!(
        page.body
            .contains("budget $2.50 a month · 5 requests a minute · gpt-4o-mini, o4-mini · 1 day")
    );
    let done = h
        .approve(
            &request,
            &[
                ("budget_usd", "2.50"),
                ("rpm", "5"),
                ("models", "gpt-4o-mini"),
                ("models", "o4-mini"),
                ("lifetime", "1d"),
            ],
        )
        .await;
    let code = param(done.location().unwrap(), "code").unwrap();
    let (_, second) = h.token(&app.code_exchange(&code)).await;
    assert_eq!(
        grant_of(&h, second["access_token"].as_str().unwrap())
            .await
            .id,
        grant.id
    );
    // Without an expiry ("until revoked"), expires_in is absent.
    app.renew();
    let request = h
        .request_id(&app.params("openai.chat openai.models openid", None))
        .await;
    assert!(
        !h.consent_page(&request)
            .await
            .body
            .contains("You already allowed this app"),
        "new scopes: full screen"
    );
    let done = h
        .approve(&request, &[("models", "*"), ("lifetime", "forever")])
        .await;
    let code = param(done.location().unwrap(), "code").unwrap();
    let (_, third) = h.token(&app.code_exchange(&code)).await;
    assert!(third.get("expires_in").is_none(), "{third}");
    let updated = grant_of(&h, third["access_token"].as_str().unwrap()).await;
    assert_eq!(updated.id, grant.id, "one grant per app, updated");
    assert_eq!(updated.limits.budget_microusd, None);
    let store = &h.server.state.store;
    assert_eq!(
        store.grants_for_user(&grant.user_id).await.unwrap().len(),
        1
    );
    let consents = store
        .audit_for_user(&grant.user_id, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "consent")
        .count();
    assert_eq!(consents, 3, "every consent is logged");
}

async fn failures_have_pages(backend: Backend) {
    let Some(h) = Harness::start_with(backend, |s| s.demo = false).await else {
        return;
    };
    for (path, says) in [
        (
            "/consent?request=5f0e4a52-8a7e-4c1e-9a43-0b8f3c7f9a11",
            "This request has expired",
        ),
        ("/consent?request=not-an-id", "This request has expired"),
        (
            "/signin?request=5f0e4a52-8a7e-4c1e-9a43-0b8f3c7f9a11",
            "This request has expired",
        ),
    ] {
        let page = h.browser.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.body.contains(says), "{path}");
        assert!(page.body.contains("/assets/style.css"), "a styled page");
    }
    assert_eq!(h.browser.get("/account").await.location(), Some("/signin"));
    assert_eq!(
        h.browser.get("/demo").await.status,
        StatusCode::NOT_FOUND,
        "demo off"
    );
    // Cancelling from the sign-in page, before signing in, answers access_denied.
    let app = App::origin(ORIGIN);
    let request = h.request_id(&app.params(SCOPE, None)).await;
    let signin = h.browser.get(&format!("/signin?request={request}")).await;
    assert!(signin.body.contains("app.example"));
    let csrf = signin.input("csrf").unwrap();
    let denied = h
        .browser
        .post_form("/consent/deny", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(
        param(denied.location().unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    let again = h
        .browser
        .post_form("/consent/deny", &[("csrf", &csrf), ("request", &request)])
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "answered once");
}

async fn landing_assets_and_sign_out(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let landing = h.browser.get("/").await;
    assert!(
        landing
            .body
            .contains("Sign in to AI apps with your own OpenAI key")
    );
    let sdk = h.browser.get("/sdk.js").await;
    assert_eq!(
        sdk.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(sdk.header("access-control-allow-origin"), Some("*"));
    assert_eq!(h.browser.get("/demo").await.status, StatusCode::OK);
    assert_eq!(h.browser.get("/demo/demo.js").await.status, StatusCode::OK);
    for asset in [
        "/assets/style.css",
        "/assets/passkey.js",
        "/assets/web-message.js",
    ] {
        assert_eq!(h.browser.get(asset).await.status, StatusCode::OK, "{asset}");
    }
    assert_eq!(h.sign_up(None).await, "/account");
    let account = h.browser.get("/account").await;
    assert!(account.body.contains("Conformance"));
    let csrf = account.input("csrf").unwrap();
    let out = h.browser.post_form("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/"));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(h.browser.get("/account").await.location(), Some("/signin"));
}

/// Anyone can send GETs: none of them may write to the store (SQLite has one writer). The
/// pending authorization request travels sealed in the URL and a session is created only by a
/// state-changing step, so a visitor who only looks leaves the store as it was.
async fn anonymous_gets_write_nothing(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let url = h.server.db.url.clone();
    let before = row_counts(&url).await;
    let app = App::origin(ORIGIN);
    let request = h.request_id(&app.params(SCOPE, None)).await;
    let pages = [
        "/".to_owned(),
        "/signin".to_owned(),
        "/signup".to_owned(),
        "/account".to_owned(),
        "/demo".to_owned(),
        format!("/consent?request={request}"),
        format!("/signin?request={request}"),
        format!("/signup?request={request}"),
        "/consent?request=not-a-request".to_owned(),
        "/.well-known/openid-configuration".to_owned(),
        "/oauth/jwks".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
    ];
    for path in &pages {
        // The same browser again and again, and a new visitor each time.
        for browser in [&h.browser, &Browser::new(&h.server.url)] {
            let page = browser.get(path).await;
            assert!(page.status.as_u16() < 500, "{path}: {}", page.status);
        }
    }
    for _ in 0..5 {
        Browser::new(&h.server.url)
            .get(&format!(
                "/oauth/authorize?{}",
                query(&app.params(SCOPE, None))
            ))
            .await;
    }
    assert_eq!(
        row_counts(&url).await,
        before,
        "anonymous GETs wrote to the store"
    );

    // The pages still work from there; and a signed-in person's GETs write nothing either.
    h.sign_up(Some(&request)).await;
    let signed_in = row_counts(&url).await;
    for path in &pages {
        let page = h.browser.get(path).await;
        assert!(page.status.as_u16() < 500, "{path}: {}", page.status);
    }
    assert_eq!(
        row_counts(&url).await,
        signed_in,
        "signed-in GETs wrote to the store"
    );
    let done = h.approve(&request, DEFAULT_LIMITS).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

on_both_backends!(csrf, csrf_on_forms_and_json);
on_both_backends!(anonymous_gets, anonymous_gets_write_nothing);
on_both_backends!(ceremony_replay, replayed_ceremonies_fail);
on_both_backends!(cross_instance, ceremonies_and_codes_cross_instances);
on_both_backends!(sign_up_key_check, sign_up_explains_bad_keys);
on_both_backends!(security_headers, pages_send_security_headers_and_cookies);
on_both_backends!(session_rotation, sign_in_rotates_the_session);
on_both_backends!(returning_person, returning_people_and_foreign_passkeys);
on_both_backends!(consent_limits, consent_sets_limits_and_reuses_the_grant);
on_both_backends!(failure_pages, failures_have_pages);
on_both_backends!(landing_and_sign_out, landing_assets_and_sign_out);
