//! What a person and an app do, with every step landing on whichever instance the balancer
//! picks: the passkey sign-up begun on A is finished on B, the code A issued is redeemed at B,
//! and the token works on both.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::{Cluster, PUBLIC_URL, models_status};
use keyward_testkit::browser::Browser;
use keyward_testkit::passkey::Passkeys;

const APP: &str = "https://app.example";

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_code_and_token_cross_instances() {
    let Some(cluster) = Cluster::new().await else {
        return;
    };
    let (a, b) = (cluster.start("a", &[]).await, cluster.start("b", &[]).await);
    let person = Browser::new(PUBLIC_URL);
    let (on_a, on_b) = (person.via(&a.url), person.via(&b.url));
    let mut passkeys = Passkeys::default();

    // The app sends the person to A.
    let (verifier, challenge) = pkce();
    let redirect_uri = format!("{APP}/callback");
    let authorize = url::Url::parse_with_params(
        &format!("{}/oauth/authorize", a.url),
        [
            ("response_type", "code"),
            ("client_id", APP),
            ("redirect_uri", &redirect_uri),
            ("scope", "openai.chat openai.models"),
            ("state", "s-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let to_consent = on_a.get(authorize.as_str()).await;
    let request = to_consent
        .location()
        .and_then(|l| l.strip_prefix("/consent?request="))
        .unwrap_or_else(|| panic!("{} {}", to_consent.status, to_consent.body))
        .to_owned();

    // Sign-up: key form and key check on A, passkey registration finished on B.
    let form = on_a.get(&format!("/signup?request={request}")).await;
    let csrf = form.input("csrf").expect("csrf");
    let passkey_page = on_a
        .post_form(
            "/signup",
            &[
                ("csrf", &csrf),
                ("key", super::KEY),
                ("name", "Scale"),
                ("request", &request),
            ],
        )
        .await;
    assert_eq!(passkey_page.status, StatusCode::OK, "{}", passkey_page.body);
    let data = passkey_page.script_json("kw-data").expect("kw-data");
    let credential = passkeys
        .create(
            PUBLIC_URL,
            serde_json::from_value(data["options"].clone()).unwrap(),
        )
        .unwrap();
    let registered = on_b
        .post_json(
            "/passkey/register/finish",
            data["csrf"].as_str(),
            &json!({ "ceremony": data["ceremony"], "credential": credential }),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.body);

    // Consent page and step-up on B, the approval posted to A.
    let consent = on_b.get(&format!("/consent?request={request}")).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let csrf = consent.input("csrf").expect("csrf");
    let start = on_b
        .post_json(
            "/passkey/step-up/start",
            Some(&csrf),
            &json!({ "request": request }),
        )
        .await
        .json();
    let assertion = passkeys
        .get(
            PUBLIC_URL,
            serde_json::from_value(start["options"].clone()).unwrap(),
        )
        .unwrap();
    let approved = on_a
        .post_form(
            "/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("ceremony", start["ceremony"].as_str().unwrap()),
                ("assertion", &serde_json::to_string(&assertion).unwrap()),
                ("budget_usd", "10"),
                ("rpm", "60"),
                ("models", "*"),
                ("lifetime", "30d"),
            ],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let back = url::Url::parse(approved.location().unwrap()).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    // The code A issued, redeemed at B.
    let tokens: serde_json::Value = b
        .http
        .post(format!("{}/oauth/token", b.url))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("client_id", APP),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().expect("access token");
    assert_eq!(tokens["base_url"], format!("{PUBLIC_URL}/v1"));

    // The token works on both.
    assert_eq!(models_status(&a, token).await, 200);
    assert_eq!(models_status(&b, token).await, 200);
}
