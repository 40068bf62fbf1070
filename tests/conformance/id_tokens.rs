//! ID tokens: pairwise subjects per app, signing key rotation (new tokens use the new key,
//! older tokens keep verifying from the JWKS), and instances creating their first key at the
//! same time.

use std::str::FromStr as _;

use keyward::config::MasterKeySource;
use keyward::oauth::id_token::{IdTokenClaims, ensure_signing_key, jwks, rotate_signing_key, sign};
use keyward::vault::{KeyRing, MasterKey, Vault};
use keyward_testkit::app::App;
use keyward_testkit::db::test_store;
use keyward_testkit::harness::Harness;
use keyward_testkit::oidc::OidcHttp;
use keyward_testkit::{Backend, on_both_backends};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, IssuerUrl, JsonWebKeySetUrl, Nonce};

const SCOPE: &str = "openai.chat openid";

/// Verifies an ID token for `client_id` against the JWKS as published now; returns `sub`.
async fn verify(h: &Harness, client_id: &str, id_token: &str) -> String {
    let http = OidcHttp::default();
    let keys = CoreJsonWebKeySet::fetch_async(
        &JsonWebKeySetUrl::new(format!("{}/oauth/jwks", h.issuer())).unwrap(),
        &http,
    )
    .await
    .expect("JWKS");
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new(client_id.into()),
        IssuerUrl::new(h.issuer().into()).unwrap(),
        keys,
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let token = CoreIdToken::from_str(id_token).expect("a JWT");
    let claims = token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("verifies");
    claims.subject().to_string()
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    let header = decode_base64url(jwt.split('.').next().unwrap());
    let value: serde_json::Value = serde_json::from_slice(&header).unwrap();
    value["kid"].as_str().unwrap().to_owned()
}

/// Unpadded base64url decoding (this crate has no base64 dependency).
fn decode_base64url(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0);
    for b in s.bytes() {
        buffer = (buffer << 6) | ALPHABET.iter().position(|a| *a == b).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

async fn subjects_are_pairwise_and_keys_rotate(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let first = App::origin("https://one.example");
    let tokens = h.tokens(&first, SCOPE).await;
    let old_token = tokens["id_token"].as_str().unwrap().to_owned();
    let sub_one = verify(&h, &first.client_id, &old_token).await;
    // NumericDate claims are JSON integers (RFC 7519 allows fractions, but decoders that type
    // them as integers reject `1796172994.0`).
    let payload: serde_json::Value =
        serde_json::from_slice(&decode_base64url(old_token.split('.').nth(1).unwrap())).unwrap();
    for claim in ["iat", "exp", "auth_time"] {
        assert!(payload[claim].is_i64(), "{claim}: {}", payload[claim]);
    }

    let second = App::origin("https://two.example");
    let tokens = h.tokens(&second, SCOPE).await;
    let sub_two = verify(&h, &second.client_id, tokens["id_token"].as_str().unwrap()).await;
    assert_ne!(
        sub_one, sub_two,
        "each app sees its own subject for the same person"
    );

    let state = h.server.state.clone();
    let new_kid = rotate_signing_key(&state.store, &state.vault)
        .await
        .unwrap();
    assert_ne!(kid(&old_token), new_kid);
    let mut again = App::origin("https://one.example");
    again.renew();
    let tokens = h.tokens(&again, SCOPE).await;
    let new_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        kid(new_token),
        new_kid,
        "new tokens are signed with the new key"
    );
    assert_eq!(
        verify(&h, &first.client_id, new_token).await,
        sub_one,
        "stable per app"
    );
    assert_eq!(
        verify(&h, &first.client_id, &old_token).await,
        sub_one,
        "tokens signed before the rotation still verify"
    );
    assert_eq!(
        jwks(&state.store).await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

async fn instances_starting_together(backend: Backend) {
    let Some((store, _db)) = test_store(backend).await else {
        return;
    };
    let source = MasterKeySource::Env(zeroize::Zeroizing::new(
        MasterKey::generate().to_base64().to_string(),
    ));
    let vault = || async {
        Vault::new(
            KeyRing::load(&source, &store).await.unwrap(),
            source.clone(),
        )
    };
    let (a, b) = (vault().await, vault().await);
    let (ra, rb) = tokio::join!(
        ensure_signing_key(&store, &a),
        ensure_signing_key(&store, &b)
    );
    ra.unwrap();
    rb.unwrap();
    let published = jwks(&store).await.unwrap();
    let kids: Vec<&str> = published["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(!kids.is_empty() && kids.len() <= 2, "{kids:?}");
    // Whichever instance signs, it uses a published key.
    for vault in [&a, &b] {
        let token = sign(
            &store,
            vault,
            &IdTokenClaims {
                issuer: "http://localhost",
                subject: "s",
                audience: "c",
                auth_time: 0,
                nonce: None,
            },
            keyward::clock::now(),
        )
        .await
        .unwrap();
        assert!(kids.contains(&kid(&token).as_str()));
    }
}

on_both_backends!(pairwise_and_rotation, subjects_are_pairwise_and_keys_rotate);
on_both_backends!(concurrent_first_start, instances_starting_together);
