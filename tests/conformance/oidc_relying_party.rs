//! The `openidconnect` crate as a relying party against Keyward, end to end: discovery, the
//! code flow with PKCE, ID token validation (ES256 signature via the JWKS, nonce, issuer,
//! audience), userinfo, refresh with rotation and revocation. The person signs up with a key and
//! a passkey through the real pages.

use keyward_testkit::harness::{DEFAULT_LIMITS, Harness};
use keyward_testkit::oidc::OidcHttp;
use keyward_testkit::{Backend, app::param, on_both_backends};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreRevocableToken, CoreSubjectIdentifierType, CoreUserInfoClaims,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, ProviderMetadata, RedirectUrl, RevocationUrl,
    Scope, TokenResponse as _,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

/// The metadata field openidconnect's core types leave out.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct RevocationEndpoint {
    revocation_endpoint: String,
}
impl AdditionalProviderMetadata for RevocationEndpoint {}

type Metadata = ProviderMetadata<
    RevocationEndpoint,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

const RP_ORIGIN: &str = "https://rp.example";

async fn relying_party_flow(backend: Backend) {
    let Some(mut h) = Harness::start(backend).await else {
        return;
    };
    let http = OidcHttp::default();

    // Discovery.
    let issuer = IssuerUrl::new(h.issuer().to_owned()).unwrap();
    let metadata = Metadata::discover_async(issuer.clone(), &http)
        .await
        .expect("discovery");
    assert_eq!(metadata.issuer(), &issuer);
    assert_eq!(
        metadata.subject_types_supported(),
        &vec![CoreSubjectIdentifierType::Pairwise]
    );
    assert_eq!(metadata.jwks().keys().len(), 1, "one signing key published");
    let revocation =
        RevocationUrl::new(metadata.additional_metadata().revocation_endpoint.clone()).unwrap();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(RP_ORIGIN.into()), None)
            .set_redirect_uri(RedirectUrl::new(format!("{RP_ORIGIN}/callback")).unwrap())
            .set_revocation_url(revocation);

    // Code flow with PKCE, built by the relying party.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("openai.chat".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = h.browser.get(url.as_str()).await;
    let request = page
        .location()
        .and_then(|l| l.strip_prefix("/consent?request="))
        .unwrap_or_else(|| panic!("{} {}", page.status, page.body))
        .to_owned();
    assert_eq!(
        h.consent_page(&request).await.location(),
        Some(format!("/signin?request={request}").as_str()),
        "no session yet: sign in first"
    );
    assert_eq!(
        h.sign_up(Some(&request)).await,
        format!("/consent?request={request}")
    );
    let done = h.approve(&request, DEFAULT_LIMITS).await;
    let location = done.location().expect("redirected back to the app");
    assert!(location.starts_with(&format!("{RP_ORIGIN}/callback?")));
    assert_eq!(
        param(location, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(param(location, "iss").as_deref(), Some(h.issuer()));
    let code = param(location, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    assert!(tokens.access_token().secret().starts_with("kw_at_"));
    let expires_in = tokens
        .expires_in()
        .expect("30-day lifetime chosen")
        .as_secs();
    assert!(
        (30 * 86_400 - 60..=30 * 86_400).contains(&expires_in),
        "{expires_in}"
    );

    // The ID token: signature (ES256, key from the JWKS by kid), issuer, audience, nonce.
    let id_token = tokens.id_token().expect("an ID token for openid");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("valid ID token");
    assert!(claims.auth_time().is_some());
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert!(amr.contains(&"hwk") && amr.contains(&"user"), "{amr:?}");
    assert!(
        id_token
            .claims(&id_verifier, &Nonce::new("another".into()))
            .is_err(),
        "a wrong nonce is refused"
    );

    // Userinfo: the same pairwise subject.
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());

    // The access token is the app's apiKey at the proxy.
    let chat = h
        .http
        .post(format!("{}/chat/completions", h.server.proxy_url()))
        .bearer_auth(tokens.access_token().secret())
        .json(&serde_json::json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("proxy answers");
    assert_eq!(chat.status(), StatusCode::OK, "the new token works at /v1");

    // Refresh rotates the refresh token.
    let first_refresh = tokens.refresh_token().expect("offline_access").clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let second_refresh = refreshed.refresh_token().expect("rotated").clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );

    // Revocation (RFC 7009) of the newest access token ends its whole family. The crate
    // refuses to revoke over plain http (RFC 7009 §2 wants https), which is all a loopback
    // test server has, so this one request is sent by hand, exactly as the crate would send it.
    assert!(
        client
            .revoke_token(CoreRevocableToken::from(refreshed.access_token().clone()))
            .is_err(),
        "openidconnect insists on an https revocation endpoint"
    );
    let (status, _) = h
        .post_oauth(
            "/oauth/revoke",
            &[
                ("token".into(), refreshed.access_token().secret().clone()),
                ("token_type_hint".into(), "access_token".into()),
                ("client_id".into(), RP_ORIGIN.into()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after: Result<CoreUserInfoClaims, _> = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "a revoked token no longer opens userinfo");
    let (status, body) = h
        .token(&[
            ("grant_type".into(), "refresh_token".into()),
            ("refresh_token".into(), second_refresh.secret().clone()),
            ("client_id".into(), RP_ORIGIN.into()),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // Before revocation the first access token worked at the proxy (it is the app's apiKey);
    // revoking the family ends it there too, in OpenAI's error shape, which the SDKs map to
    // AuthenticationError.
    for token in [tokens.access_token(), refreshed.access_token()] {
        let res = h
            .http
            .get(format!("{}/models", h.server.proxy_url()))
            .bearer_auth(token.secret())
            .send()
            .await
            .expect("proxy answers");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: serde_json::Value = res.json().await.expect("OpenAI error JSON");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
        assert!(!body.to_string().contains(token.secret().as_str()));
    }
}

on_both_backends!(relying_party, relying_party_flow);
