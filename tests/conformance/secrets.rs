//! No secret — provider key, token, code, verifier, session id, client secret — appears in a
//! log line, a page, or (for the embedded store) anywhere in the database files in plaintext.
//! Everything Keyward logs in this process is captured at trace level while a full flow runs.

use keyward::oauth::registration::{NewClient, register};
use keyward::store::clients::ClientKind;
use keyward_testkit::app::{App, param, with};
use keyward_testkit::browser::Page;
use keyward_testkit::harness::{DEFAULT_LIMITS, GOOD_KEY, Harness};
use keyward_testkit::{Backend, logs, on_both_backends};
use reqwest::StatusCode;

const SCOPE: &str = "openai.chat openid offline_access";
const BAD_KEY: &str = "sk-invalid-RejectedKeyMaterial0123456789";

fn session_cookie(page: &Page) -> Option<String> {
    let c = page.header("set-cookie")?;
    Some(c.split(';').next()?.split_once('=')?.1.to_owned())
}

fn assert_free_of(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret leaked into {what}"
        );
    }
}

async fn no_secret_in_logs_pages_or_store(backend: Backend) {
    logs::capture();
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let mut secrets: Vec<String> = vec![
        GOOD_KEY.into(),
        BAD_KEY.into(),
        "RejectedKeyMaterial".into(),
    ];
    let mut pages = Vec::new();

    pages.push(h.submit_key(None, BAD_KEY).await);
    let app = App::origin("https://app.example");
    let request = h.request_id(&app.params(SCOPE, None)).await;
    let passkey_page = h.submit_key(Some(&request), GOOD_KEY).await;
    secrets.extend(session_cookie(&passkey_page));
    let created = h.create_passkey(&passkey_page).await;
    secrets.extend(session_cookie(&created));
    pages.push(passkey_page);
    pages.push(h.consent_page(&request).await);
    let approved = h.approve(&request, DEFAULT_LIMITS).await;
    let code = param(approved.location().unwrap(), "code").unwrap();
    let (status, tokens) = h.token(&app.code_exchange(&code)).await;
    assert_eq!(status, StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (_, rotated) = h
        .token(&[
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), refresh.clone()),
            ("client_id".into(), app.client_id.clone()),
        ])
        .await;
    // A replay, a failed exchange and a revocation log warnings: still without secrets.
    h.token(&app.code_exchange(&code)).await;
    h.token(&with(app.code_exchange("kw_ac_unknown"), "code", &code))
        .await;
    h.post_oauth(
        "/oauth/revoke",
        &[
            (
                "token".into(),
                rotated["access_token"].as_str().unwrap().into(),
            ),
            ("client_id".into(), app.client_id.clone()),
        ],
    )
    .await;
    secrets.extend([
        code,
        app.verifier.clone(),
        refresh,
        tokens["access_token"].as_str().unwrap().into(),
        rotated["access_token"].as_str().unwrap().into(),
        rotated["refresh_token"].as_str().unwrap().into(),
    ]);

    // A confidential client authenticating with its secret.
    let (client, secret) = register(
        &h.server.state.store,
        NewClient {
            name: "Backend".into(),
            redirect_uris: vec!["https://backend.example/cb".into()],
            logo_url: None,
            confidential: true,
        },
        ClientKind::Registered,
        keyward::clock::now(),
    )
    .await
    .unwrap();
    let secret = secret.unwrap();
    let backend_app = App::new(&client.id, "https://backend.example/cb");
    let code = h.code(&backend_app, SCOPE).await;
    let (status, _) = h
        .token(&with(
            backend_app.code_exchange(&code),
            "client_secret",
            &secret,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    h.token(&with(
        backend_app.code_exchange(&code),
        "client_secret",
        "kw_cs_wrong",
    ))
    .await;
    secrets.extend([secret, code, backend_app.verifier.clone()]);

    pages.push(h.browser.get("/account").await);
    pages.push(h.browser.get("/").await);
    for page in &pages {
        assert_free_of("a page", &page.body, &secrets);
    }

    let captured = logs::captured();
    assert!(
        captured.contains("consent given; code issued"),
        "logs are captured"
    );
    assert!(captured.contains("authorization code replayed"));
    assert_free_of("the logs", &captured, &secrets);

    // The embedded store holds hashes and JWE only. (Last: reading the database files closes
    // descriptors, which drops SQLite's POSIX locks for this process.)
    if backend == Backend::Sqlite {
        for entry in std::fs::read_dir(h.server.db.dir()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert_free_of("the database files", &text, &secrets);
        }
    }
}

on_both_backends!(no_secrets, no_secret_in_logs_pages_or_store);
