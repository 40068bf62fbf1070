//! The authorization code flow's rules, one RFC 9700 / 6749 / 7636 / 9207 item per test:
//! PKCE, redirect URI matching, code replay, refresh token reuse, origin clients, state and iss,
//! and no open redirects.

use keyward::oauth::registration::{NewClient, register};
use keyward::store::clients::ClientKind;
use keyward_testkit::app::{App, param, with, without};
use keyward_testkit::harness::{Harness, SCOPE};
use keyward_testkit::{Backend, on_both_backends};
use reqwest::StatusCode;
use serde_json::Value;

const ORIGIN: &str = "https://app.example";

/// Registers a public (or confidential) client; returns (client_id, secret).
async fn registered(
    h: &Harness,
    redirect_uris: &[&str],
    confidential: bool,
) -> (String, Option<String>) {
    let (client, secret) = register(
        &h.server.state.store,
        NewClient {
            name: "Registered Notes".into(),
            redirect_uris: redirect_uris.iter().map(|s| (*s).to_owned()).collect(),
            logo_url: None,
            confidential,
        },
        ClientKind::Registered,
        keyward::clock::now(),
    )
    .await
    .expect("register");
    (client.id, secret)
}

/// The error an authorization request was answered with, by redirect to the app.
fn redirected_error(h: &Harness, app: &App, page: &keyward_testkit::browser::Page) -> String {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location().expect("Location");
    assert!(
        to.starts_with(&app.redirect_uri),
        "error went to the registered redirect URI: {to}"
    );
    assert_eq!(
        param(to, "state").as_deref(),
        Some(app.state.as_str()),
        "state comes back"
    );
    assert_eq!(
        param(to, "iss").as_deref(),
        Some(h.issuer()),
        "iss on errors too (RFC 9207)"
    );
    assert!(param(to, "code").is_none());
    param(to, "error").expect("error")
}

/// A refusal shown as a page: never a redirect anywhere.
fn refused_as_page(page: &keyward_testkit::browser::Page) {
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.location().is_none(), "no redirect on an unsafe error");
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

async fn pkce_is_required_and_s256_only(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let (client_id, _) = registered(&h, &["https://notes.example/callback"], false).await;
    let app = App::new(&client_id, "https://notes.example/callback");
    let params = app.params(SCOPE, None);
    for (case, params) in [
        (
            "plain",
            with(params.clone(), "code_challenge_method", "plain"),
        ),
        (
            "no method (means plain)",
            without(params.clone(), "code_challenge_method"),
        ),
        ("no challenge", without(params.clone(), "code_challenge")),
        (
            "short challenge",
            with(params.clone(), "code_challenge", "abc"),
        ),
    ] {
        let page = h.authorize(&params).await;
        assert_eq!(
            redirected_error(&h, &app, &page),
            "invalid_request",
            "{case}"
        );
        // The same mistake from a client nobody registered: a page, never a redirect.
        let origin = App::origin(ORIGIN);
        let page = h.authorize(&with_client(&params, &origin)).await;
        refused_as_page(&page);
    }
}

/// `params` sent by `app` instead: its client_id, redirect URI and state.
fn with_client(params: &[(String, String)], app: &App) -> Vec<(String, String)> {
    let params = with(params.to_vec(), "client_id", &app.client_id);
    let params = with(params, "redirect_uri", &app.redirect_uri);
    with(params, "state", &app.state)
}

async fn wrong_or_missing_verifier_fails_and_spends_the_code(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let mut app = App::origin(ORIGIN);
    let code = h.code(&app, SCOPE).await;
    let exchange = app.code_exchange(&code);
    refused_as_invalid_grant(&h, &without(exchange.clone(), "code_verifier")).await;
    app.renew();
    let code = h.code(&app, SCOPE).await;
    let other = App::origin(ORIGIN);
    refused_as_invalid_grant(
        &h,
        &with(app.code_exchange(&code), "code_verifier", &other.verifier),
    )
    .await;
    let (status, _) = h.token(&app.code_exchange(&code)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a code is spent by a failed attempt"
    );
}

async fn redirect_uris_match_exactly(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let (client_id, _) = registered(
        &h,
        &["https://notes.example/callback", "http://127.0.0.1/cb"],
        false,
    )
    .await;
    let ok = App::new(&client_id, "https://notes.example/callback");
    assert!(
        h.authorize(&ok.params(SCOPE, None))
            .await
            .location()
            .unwrap()
            .starts_with("/consent?request=")
    );
    for variant in [
        "https://notes.example/callback/",
        "https://notes.example/other",
        "https://notes.example:8443/callback",
        "https://NOTES.example/callback",
        "https://notes.example/Callback",
        "https://notes.example@evil.example/callback",
        "https://evil.example@notes.example/callback",
        "https://notes.example/callback#fragment",
        "https://notes.example/callback?extra=1",
        "http://notes.example/callback",
        "https://evil.example/callback",
    ] {
        let app = App::new(&client_id, variant);
        let page = h.authorize(&app.params(SCOPE, None)).await;
        refused_as_page(&page);
        assert!(
            page.body.contains("asked to send you somewhere else"),
            "{variant}"
        );
    }
    // A loopback redirect URI may use any port (native apps, RFC 8252 §7.3); nothing else may vary.
    let native = App::new(&client_id, "http://127.0.0.1:49152/cb");
    assert!(
        h.authorize(&native.params(SCOPE, None))
            .await
            .location()
            .unwrap()
            .starts_with("/consent")
    );
    refused_as_page(
        &h.authorize(&App::new(&client_id, "http://127.0.0.1:49152/cb/x").params(SCOPE, None))
            .await,
    );
}

async fn token_redirect_uri_and_client_must_match(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let mut app = App::origin(ORIGIN);
    let code = h.code(&app, SCOPE).await;
    refused_as_invalid_grant(
        &h,
        &with(
            app.code_exchange(&code),
            "redirect_uri",
            "https://app.example/elsewhere",
        ),
    )
    .await;
    app.renew();
    let code = h.code(&app, SCOPE).await;
    refused_as_invalid_grant(
        &h,
        &with(
            app.code_exchange(&code),
            "client_id",
            "https://other.example",
        ),
    )
    .await;
}

async fn codes_are_short_lived_and_bound(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let app = App::origin(ORIGIN);
    let code = h.code(&app, SCOPE).await;
    let hash = keyward::token_format::parse(keyward::token_format::TokenKind::Code, &code)
        .expect("a code");
    let keyward::store::codes::CodeClaim::Claimed(stored) = h
        .server
        .state
        .store
        .claim_auth_code(&hash, keyward::clock::now())
        .await
        .unwrap()
    else {
        panic!("a fresh code")
    };
    assert!(
        stored.expires_at - stored.created_at <= 60,
        "codes live at most 60 s"
    );
    assert_eq!(stored.client_id, app.client_id);
    assert_eq!(stored.redirect_uri, app.redirect_uri);
    assert_eq!(stored.code_challenge, app.challenge);
    assert_ne!(stored.hash, code, "only the hash is stored");
}

/// userinfo as a probe of whether an access token is alive.
/// The token endpoint answers `form` with 400 `invalid_grant` (RFC 6749 §5.2).
async fn refused_as_invalid_grant(h: &Harness, form: &[(String, String)]) {
    let (status, body) = h.token(form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "{body}"
    );
}

async fn userinfo_status(h: &Harness, access_token: &str) -> StatusCode {
    h.http
        .get(format!("{}/oauth/userinfo", h.issuer()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

fn refresh(app: &App, token: &str) -> Vec<(String, String)> {
    vec![
        ("grant_type".into(), "refresh_token".into()),
        ("refresh_token".into(), token.into()),
        ("client_id".into(), app.client_id.clone()),
    ]
}

async fn replayed_code_fails_and_revokes_its_tokens(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let app = App::origin(ORIGIN);
    let scope = "openai.chat openid offline_access";
    let code = h.code(&app, scope).await;
    let (status, tokens) = h.token(&app.code_exchange(&code)).await;
    assert_eq!(status, StatusCode::OK);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&h, access).await, StatusCode::OK);
    refused_as_invalid_grant(&h, &app.code_exchange(&code)).await;
    assert_eq!(
        userinfo_status(&h, access).await,
        StatusCode::UNAUTHORIZED,
        "tokens of a replayed code are revoked"
    );
    let (status, _) = h
        .token(&refresh(&app, tokens["refresh_token"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "its refresh token too");
}

async fn reused_refresh_token_revokes_the_family(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let app = App::origin(ORIGIN);
    let tokens = h.tokens(&app, "openai.chat openid offline_access").await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = h.token(&refresh(&app, &first)).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(second, first);
    assert_eq!(rotated["base_url"], format!("{}/v1", h.issuer()));
    let new_access = rotated["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&h, new_access).await, StatusCode::OK);
    // The old refresh token again: refused, and everything of this authorization is revoked.
    refused_as_invalid_grant(&h, &refresh(&app, &first)).await;
    let (status, _) = h.token(&refresh(&app, second)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the rotated refresh token is revoked"
    );
    assert_eq!(
        userinfo_status(&h, new_access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        userinfo_status(&h, tokens["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn refresh_reuse_racing_its_rotation_leaves_nothing_alive(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let mut app = App::origin(ORIGIN);
    for round in 0..4 {
        app.renew();
        let tokens = h.tokens(&app, "openai.chat openid offline_access").await;
        let presented = refresh(&app, tokens["refresh_token"].as_str().unwrap());
        // The same refresh token twice at once: one rotation, one reuse.
        let (a, b) = tokio::join!(h.token(&presented), h.token(&presented));
        let mut issued = vec![tokens["access_token"].as_str().unwrap().to_owned()];
        for (status, body) in [a, b] {
            if status == StatusCode::OK {
                issued.push(body["access_token"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(body["error"], "invalid_grant", "round {round}: {body}");
            }
        }
        // Whoever won, the reuse revoked every token of the authorization, the winner's too.
        for token in &issued {
            assert_eq!(
                userinfo_status(&h, token).await,
                StatusCode::UNAUTHORIZED,
                "round {round}: a token of a reused refresh token's family is still alive"
            );
        }
    }
}

async fn origin_clients(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    // Any redirect URI on exactly the client's origin.
    let app = App::new(ORIGIN, "https://app.example/some/page?x=1");
    assert!(
        h.authorize(&app.params(SCOPE, None))
            .await
            .location()
            .unwrap()
            .starts_with("/consent")
    );
    for bad in [
        "https://app.example.evil.example/",
        "https://evil.example/",
        "https://app.example:444/",
    ] {
        refused_as_page(
            &h.authorize(&App::new(ORIGIN, bad).params(SCOPE, None))
                .await,
        );
    }
    // Not an exact https (or loopback http) origin: not a client at all.
    for bad_id in [
        "https://app.example/",
        "http://app.example",
        "https://App.example",
        "app.example",
        "unregistered-client",
    ] {
        let page = h
            .authorize(&App::new(bad_id, "https://app.example/").params(SCOPE, None))
            .await;
        refused_as_page(&page);
        assert!(page.body.contains("Unknown app"), "{bad_id}");
    }
    let local = App::origin("http://localhost:5173");
    assert!(
        h.authorize(&local.params(SCOPE, None))
            .await
            .location()
            .unwrap()
            .starts_with("/consent")
    );
}

async fn origin_clients_can_be_switched_off(backend: Backend) {
    let Some(h) = Harness::start_with(backend, |s| s.origin_clients = false).await else {
        return;
    };
    let page = h.authorize(&App::origin(ORIGIN).params(SCOPE, None)).await;
    refused_as_page(&page);
    assert!(page.body.contains("Unknown app"));
    let (client_id, _) = registered(&h, &["https://notes.example/cb"], false).await;
    let app = App::new(&client_id, "https://notes.example/cb");
    assert!(
        h.authorize(&app.params(SCOPE, None))
            .await
            .location()
            .unwrap()
            .starts_with("/consent")
    );
}

async fn state_and_iss_round_trip(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (client_id, _) = registered(&h, &["https://notes.example/callback"], false).await;
    let mut app = App::new(&client_id, "https://notes.example/callback");
    app.state = "a b&c=d/é?+%20~".into();
    // Harness::code checks state and iss on the success response.
    h.code(&app, SCOPE).await;
    let mut origin = App::origin(ORIGIN);
    origin.state = app.state.clone();
    h.code(&origin, SCOPE).await;
    // And on every error response.
    let page = h
        .authorize(&with(
            app.params("no.such.scope", None),
            "state",
            &app.state,
        ))
        .await;
    assert_eq!(redirected_error(&h, &app, &page), "invalid_scope");
    let page = h
        .authorize(&with(app.params(SCOPE, None), "response_type", "token"))
        .await;
    assert_eq!(
        redirected_error(&h, &app, &page),
        "unsupported_response_type"
    );
    // Deny: after the person acted, the answer goes to any app, registered or not.
    for app in [&app, &origin] {
        let request = h.request_id(&app.params(SCOPE, None)).await;
        let consent = h.consent_page(&request).await;
        let csrf = consent.input("csrf").unwrap();
        let denied = h
            .browser
            .post_form("/consent/deny", &[("csrf", &csrf), ("request", &request)])
            .await;
        assert_eq!(redirected_error(&h, app, &denied), "access_denied");
    }
}

/// RFC 9700 §4.11.2: for a client nobody registered, the redirect URI proves nothing (an
/// attacker picks both), so no error is redirected before the person has acted.
async fn unregistered_clients_are_never_redirected_to(backend: Backend) {
    let Some(h) = Harness::start_with(backend, |s| s.dynamic_registration = true).await else {
        return;
    };
    // The reported link, as an attacker would send it.
    let page = h
        .browser
        .get(
            "/oauth/authorize?client_id=https://evil.example\
             &redirect_uri=https://evil.example/phish&response_type=token",
        )
        .await;
    refused_as_page(&page);
    assert!(!page.body.contains("evil.example/phish"), "{}", page.body);

    let attacker = App::new("https://evil.example", "https://evil.example/phish");
    let r = h
        .http
        .post(format!("{}/oauth/register", h.issuer()))
        .json(&serde_json::json!({ "redirect_uris": ["https://dyn.example/phish"] }))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    let dynamic = App::new(
        body["client_id"].as_str().unwrap(),
        "https://dyn.example/phish",
    );
    for app in [&attacker, &dynamic] {
        let params = app.params(SCOPE, None);
        for (case, params) in [
            ("token", with(params.clone(), "response_type", "token")),
            ("no response_type", without(params.clone(), "response_type")),
            (
                "unknown scope",
                with(params.clone(), "scope", "no.such.scope"),
            ),
            ("no scope", without(params.clone(), "scope")),
            ("no PKCE", without(params.clone(), "code_challenge")),
            (
                "plain PKCE",
                with(params.clone(), "code_challenge_method", "plain"),
            ),
            (
                "response_mode",
                with(params.clone(), "response_mode", "fragment"),
            ),
            (
                "long state",
                with(params.clone(), "state", &"s".repeat(3000)),
            ),
        ] {
            let page = h.authorize(&params).await;
            refused_as_page(&page);
            assert!(
                !page.body.contains(&app.redirect_uri),
                "{case}: the page does not link to the target"
            );
        }
    }
    // In a popup (web_message) the error is a page too: it posts the answer to the window that
    // opened it, at exactly the client's origin, and goes nowhere.
    let page = h
        .authorize(&attacker.params("no.such.scope", Some("web_message")))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.location().is_none());
    let data = page.script_json("kw-response").expect("response data");
    assert_eq!(data["targetOrigin"], "https://evil.example");
    assert_eq!(data["message"]["response"]["error"], "invalid_scope");
}

/// Keyward's own pages are not a website that may ask for a person's key; the demo chat at
/// `/demo` is a client the instance registers itself, and the consent screen names it.
async fn own_origin_is_no_client_and_the_demo_is_first_party(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let own = App::origin(h.issuer());
    let page = h.authorize(&own.params(SCOPE, None)).await;
    refused_as_page(&page);
    assert!(page.body.contains("Unknown app"));

    let demo = App::new("keyward-demo", &format!("{}/demo", h.issuer()));
    let request = h.request_id(&demo.params(SCOPE, None)).await;
    h.sign_up(Some(&request)).await;
    let consent = h.consent_page(&request).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let text = consent.text();
    assert!(
        text.contains("Keyward demo chat wants to use your OpenAI key"),
        "{text}"
    );
    assert!(text.contains("Part of this Keyward"), "{text}");
    assert!(!text.contains("Unverified"), "{text}");
    assert!(!text.contains("has not verified this app"), "{text}");
    // A registered client: its errors go back to it (after its redirect URI checked out).
    let page = h
        .authorize(&with(demo.params(SCOPE, None), "scope", "no.such.scope"))
        .await;
    assert_eq!(redirected_error(&h, &demo, &page), "invalid_scope");
    // And only at its registered address.
    let elsewhere = App::new("keyward-demo", &format!("{}/account", h.issuer()));
    refused_as_page(&h.authorize(&elsewhere.params(SCOPE, None)).await);
    drop(h);

    // Without the demo there is no demo client.
    let Some(h) = Harness::start_with(backend, |s| s.demo = false).await else {
        return;
    };
    let demo = App::new("keyward-demo", &format!("{}/demo", h.issuer()));
    let page = h.authorize(&demo.params(SCOPE, None)).await;
    refused_as_page(&page);
    assert!(page.body.contains("Unknown app"));
}

async fn no_open_redirect_on_errors(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let evil = "https://evil.example/steal";
    for params in [
        App::new("https://never-registered.example.com/x", evil).params(SCOPE, None),
        App::new("kwc_doesnotexist", evil).params(SCOPE, None),
        App::new(ORIGIN, evil).params(SCOPE, None),
        without(App::origin(ORIGIN).params(SCOPE, None), "redirect_uri"),
        without(App::new(ORIGIN, evil).params(SCOPE, None), "client_id"),
        with(
            App::origin(ORIGIN).params(SCOPE, None),
            "redirect_uri",
            "javascript:alert(1)",
        ),
    ] {
        let page = h.authorize(&params).await;
        refused_as_page(&page);
        assert!(
            !page.body.contains("evil.example/steal"),
            "the page does not link to the target"
        );
    }
    // A repeated parameter is refused before anything is trusted.
    let mut doubled = App::origin(ORIGIN).params(SCOPE, None);
    doubled.push(("redirect_uri".into(), evil.into()));
    refused_as_page(&h.authorize(&doubled).await);
}

async fn web_message_posts_to_the_exact_origin(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let app = App::new("http://localhost:5173", "http://localhost:5173/");
    let request = h.request_id(&app.params(SCOPE, Some("web_message"))).await;
    h.sign_up(Some(&request)).await;
    let page = h
        .approve(&request, keyward_testkit::harness::DEFAULT_LIMITS)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.location().is_none());
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.header("cross-origin-opener-policy").is_none(),
        "COOP would sever window.opener"
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        page.body
            .contains(r#"<script src="/assets/web-message.js" defer></script>"#)
    );
    let data = page.script_json("kw-response").expect("response data");
    assert_eq!(data["targetOrigin"], "http://localhost:5173");
    assert_eq!(data["message"]["type"], "authorization_response");
    let response = &data["message"]["response"];
    assert_eq!(response["state"], app.state.as_str());
    assert_eq!(response["iss"], h.issuer());
    let code = response["code"].as_str().expect("code");
    let (status, tokens) = h.token(&app.code_exchange(code)).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    // The script posts to exactly the data's targetOrigin and never to "*".
    let script = h.browser.get("/assets/web-message.js").await;
    assert!(script.body.contains("postMessage(message, targetOrigin)"));
    assert!(!script.body.contains("\"*\""));
    // A native app's URI cannot receive a message: refused, to the app, by redirect.
    let (client_id, _) = registered(&h, &["com.example.notes:/oauth"], false).await;
    let native = App::new(&client_id, "com.example.notes:/oauth");
    let page = h
        .authorize(&native.params(SCOPE, Some("web_message")))
        .await;
    assert_eq!(redirected_error(&h, &native, &page), "invalid_request");
}

async fn confidential_clients_authenticate(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let (client_id, secret) = registered(&h, &["https://server.example/cb"], true).await;
    let secret = secret.expect("a secret");
    assert!(secret.starts_with("kw_cs_"));
    let mut app = App::new(&client_id, "https://server.example/cb");
    let token = |h: &Harness, form: Vec<(String, String)>, basic: Option<(&str, &str)>| {
        let mut request = h
            .http
            .post(format!("{}/oauth/token", h.issuer()))
            .form(&form);
        if let Some((user, pass)) = basic {
            request = request.basic_auth(user, Some(pass));
        }
        async move {
            let r = request.send().await.unwrap();
            let status = r.status();
            let www = r
                .headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, r.json::<Value>().await.unwrap(), www)
        }
    };
    // No secret: refused.
    let code = h.code(&app, SCOPE).await;
    let (status, body, _) = token(&h, app.code_exchange(&code), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client")),
        "{body}"
    );
    // Wrong secret over Basic: 401 with a Basic challenge.
    app.renew();
    let code = h.code(&app, SCOPE).await;
    let (status, _, www) = token(
        &h,
        app.code_exchange(&code),
        Some((&client_id, "kw_cs_wrong")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(www.unwrap().starts_with("Basic"));
    // client_secret_basic.
    app.renew();
    let code = h.code(&app, SCOPE).await;
    let (status, body, _) = token(&h, app.code_exchange(&code), Some((&client_id, &secret))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    // client_secret_post.
    app.renew();
    let code = h.code(&app, SCOPE).await;
    let (status, body, _) = token(
        &h,
        with(app.code_exchange(&code), "client_secret", &secret),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Introspection (RFC 7662): its own token is active, with scope and a pairwise sub.
    let introspect = |form: Vec<(String, String)>| {
        let request = h
            .http
            .post(format!("{}/oauth/introspect", h.issuer()))
            .form(&form);
        async move {
            let r = request.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let own = vec![
        ("token".to_owned(), access.clone()),
        ("client_id".to_owned(), client_id.clone()),
        ("client_secret".to_owned(), secret.clone()),
    ];
    let (status, body) = introspect(own.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["scope"], SCOPE);
    assert_eq!(body["client_id"], client_id.as_str());
    assert_eq!(body["token_type"], "Bearer");
    // Public clients may not introspect.
    let (status, body) = introspect(vec![
        ("token".into(), access.clone()),
        ("client_id".into(), ORIGIN.into()),
    ])
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // Revocation: unknown tokens get 200 (RFC 7009); the real one goes inactive.
    let revoke = |token: &str| {
        let form = [
            ("token", token),
            ("client_id", client_id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        let request = h
            .http
            .post(format!("{}/oauth/revoke", h.issuer()))
            .form(&form);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(revoke("kw_at_not-a-real-token").await, StatusCode::OK);
    assert_eq!(revoke(&access).await, StatusCode::OK);
    let (_, body) = introspect(own).await;
    assert_eq!(body["active"], false);
}

async fn dynamic_registration(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let url = format!("{}/oauth/register", h.issuer());
    let metadata =
        serde_json::json!({ "redirect_uris": ["https://dyn.example/cb"], "client_name": "Dyn" });
    let off = h.http.post(&url).json(&metadata).send().await.unwrap();
    assert_eq!(off.status(), StatusCode::NOT_FOUND, "off by default");
    drop(h);

    let Some(h) = Harness::start_with(backend, |s| s.dynamic_registration = true).await else {
        return;
    };
    let url = format!("{}/oauth/register", h.issuer());
    let r = h.http.post(&url).json(&metadata).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], "none");
    let app = App::new(
        body["client_id"].as_str().unwrap(),
        "https://dyn.example/cb",
    );
    let request = h.request_id(&app.params(SCOPE, None)).await;
    assert!(!request.is_empty());
    for (bad, error) in [
        (
            serde_json::json!({ "redirect_uris": ["https://dyn.example/cb"], "token_endpoint_auth_method": "client_secret_basic" }),
            "invalid_client_metadata",
        ),
        (
            serde_json::json!({ "redirect_uris": ["https://dyn.example/cb#x"] }),
            "invalid_redirect_uri",
        ),
        (
            serde_json::json!({ "redirect_uris": [] }),
            "invalid_redirect_uri",
        ),
    ] {
        let r = h.http.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], error);
    }
}

async fn discovery_lists_exactly_what_is_supported(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = h
            .http
            .get(format!("{}{path}", h.issuer()))
            .header("origin", "https://app.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let m: Value = r.json().await.unwrap();
        assert_eq!(m["issuer"], h.issuer());
        assert_eq!(
            m["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            m["response_modes_supported"],
            serde_json::json!(["query", "web_message"])
        );
        assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(
            m["grant_types_supported"],
            serde_json::json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(
            m["token_endpoint_auth_methods_supported"],
            serde_json::json!(["none", "client_secret_basic", "client_secret_post"])
        );
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            m["id_token_signing_alg_values_supported"],
            serde_json::json!(["ES256"])
        );
        assert_eq!(
            m["subject_types_supported"],
            serde_json::json!(["pairwise"])
        );
        assert!(
            m["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&"openai.chat".into())
        );
        assert!(
            m.get("registration_endpoint").is_none(),
            "registration is off"
        );
        let jwks: Value = h
            .http
            .get(m["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(
            (
                key["kty"].as_str(),
                key["crv"].as_str(),
                key["alg"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ES256"))
        );
        assert!(key["kid"].is_string());
        assert!(
            key.get("d").is_none(),
            "no private key material in the JWKS"
        );
    }
}

async fn token_errors_are_rfc6749_json(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let r = h
        .http
        .post(format!("{}/oauth/token", h.issuer()))
        .form(&[("grant_type", "password"), ("client_id", ORIGIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert!(body["error_description"].is_string());
    refused_as_invalid_grant(
        &h,
        &[
            ("grant_type".into(), "authorization_code".into()),
            ("client_id".into(), ORIGIN.into()),
            ("code".into(), "kw_ac_forged".into()),
            ("redirect_uri".into(), "https://app.example/callback".into()),
        ],
    )
    .await;
}

on_both_backends!(pkce_s256_required, pkce_is_required_and_s256_only);
on_both_backends!(
    pkce_verifier_checked,
    wrong_or_missing_verifier_fails_and_spends_the_code
);
on_both_backends!(redirect_uri_exact_match, redirect_uris_match_exactly);
on_both_backends!(
    token_binds_redirect_and_client,
    token_redirect_uri_and_client_must_match
);
on_both_backends!(code_lifetime_and_binding, codes_are_short_lived_and_bound);
on_both_backends!(code_replay, replayed_code_fails_and_revokes_its_tokens);
on_both_backends!(refresh_reuse, reused_refresh_token_revokes_the_family);
on_both_backends!(
    refresh_reuse_race,
    refresh_reuse_racing_its_rotation_leaves_nothing_alive
);
on_both_backends!(origin_client_rules, origin_clients);
on_both_backends!(origin_clients_off, origin_clients_can_be_switched_off);
on_both_backends!(state_and_iss, state_and_iss_round_trip);
on_both_backends!(no_open_redirect, no_open_redirect_on_errors);
on_both_backends!(
    unregistered_no_redirect,
    unregistered_clients_are_never_redirected_to
);
on_both_backends!(
    own_origin_and_demo,
    own_origin_is_no_client_and_the_demo_is_first_party
);
on_both_backends!(web_message, web_message_posts_to_the_exact_origin);
on_both_backends!(confidential_client_auth, confidential_clients_authenticate);
on_both_backends!(registration, dynamic_registration);
on_both_backends!(discovery, discovery_lists_exactly_what_is_supported);
on_both_backends!(token_errors, token_errors_are_rfc6749_json);
