//! What the protocol rules' unit tests stand on: a [`Provider`] over a fresh SQLite store in a
//! temporary directory, with one person and one public client, and a fixed moment to start at.

use tempfile::TempDir;

use super::Provider;
use super::approve;
use super::errors::{ErrorCode, OAuthError};
use super::grant::{self, TokenResponse};
use super::pending::AuthRequest;
use super::token_state::{TokenFacts, TokenState, classify};
use crate::config::MasterKeySource;
use crate::invalidation::Invalidator;
use crate::store::Store;
use crate::store::clients::{Client, ClientKind};
use crate::store::grants::{Grant, Limits};
use crate::store::users::User;
use crate::token_format::{self, TokenKind};
use crate::vault::{KeyRing, MasterKey, Vault};
use crate::web::form::FormFields;

/// The fixed moment the tests start at (Unix seconds, 2027-01-15).
pub const T0: i64 = 1_800_000_000;
/// The redirect URI of the test client.
pub const REDIRECT: &str = "https://app.example/cb";
/// RFC 7636 Appendix B's verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A store, a vault and a provider's other parts, with a person and a client in the store.
pub struct Fixture {
    _dir: TempDir,
    pub store: Store,
    vault: Vault,
    invalidator: Invalidator,
    pub user: User,
    /// A public client registered with [`REDIRECT`].
    pub client: Client,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
        let store = Store::open(&url).await.expect("store");
        let key = MasterKey::generate();
        let source = MasterKeySource::Env(key.to_base64());
        let vault = Vault::new(KeyRing::new(vec![key]).expect("ring"), source);
        let invalidator = Invalidator::new(store.clone());
        let user = User {
            id: crate::store::new_id(),
            webauthn_id: crate::store::new_id(),
            display_name: "Ada".into(),
            created_at: T0,
        };
        store.insert_user(&user).await.expect("user");
        let client = registered("notes");
        store.insert_client(&client).await.expect("client");
        Fixture {
            _dir: dir,
            store,
            vault,
            invalidator,
            user,
            client,
        }
    }

    /// Creates the ID token signing key (for grants with `openid`).
    pub async fn signing_key(&self) {
        super::id_token::ensure_signing_key(&self.store, &self.vault)
            .await
            .expect("signing key");
    }

    /// The provider the rules run over.
    pub fn provider(&self) -> Provider<'_> {
        Provider {
            store: &self.store,
            vault: &self.vault,
            invalidator: &self.invalidator,
            issuer: "https://kw.example",
            proxy_base_url: "https://kw.example/v1".into(),
            origin_clients: true,
            own_origin: "https://kw.example".into(),
            first_party: Vec::new(),
        }
    }

    /// Registers another client answering at [`REDIRECT`]; confidential with `secret`.
    pub async fn add_client(&self, id: &str, secret: Option<&str>) -> Client {
        let client = Client {
            secret_hash: secret.map(token_format::hash),
            ..registered(id)
        };
        self.store.insert_client(&client).await.expect("client");
        client
    }

    /// The person's grant to the test client, given at `now`, ending at `expires_at`.
    pub async fn grant(&self, scopes: &[&str], expires_at: Option<i64>, now: i64) -> Grant {
        self.grant_to(&self.client, scopes, expires_at, now).await
    }

    /// The person's grant to `client`, given at `now`, ending at `expires_at`.
    pub async fn grant_to(
        &self,
        client: &Client,
        scopes: &[&str],
        expires_at: Option<i64>,
        now: i64,
    ) -> Grant {
        let limits = Limits {
            expires_at,
            ..Limits::default()
        };
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        let grant = Grant::new(&self.user.id, &client.id, scopes, limits, now);
        self.store.insert_grant(&grant).await.expect("grant");
        grant
    }

    /// An access token (and a refresh token with `offline_access`) for `grant`, issued at
    /// `now` without the code flow.
    pub async fn tokens(&self, grant: &Grant, now: i64) -> super::issue::IssuedTokens {
        super::issue::issue_tokens(&self.store, grant, &crate::store::new_id(), now)
            .await
            .expect("tokens")
    }

    /// A code for `grant`, approved at `now` for a request from its client.
    pub async fn code(&self, grant: &Grant, now: i64) -> String {
        let request = AuthRequest {
            id: crate::store::new_id(),
            client_id: grant.client_id.clone(),
            redirect_uri: REDIRECT.into(),
            scopes: grant.scopes.join(" "),
            state: None,
            nonce: None,
            code_challenge: CHALLENGE.into(),
            response_mode: "query".into(),
            created_at: now,
            expires_at: now + super::pending::REQUEST_TTL,
        };
        approve::issue_code(&self.store, &request, grant, now)
            .await
            .expect("code")
            .plaintext()
            .to_owned()
    }

    /// A token request from `client` with the form `body`, at `now`.
    pub async fn token(
        &self,
        client: &Client,
        body: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let fields = FormFields::parse(body.as_bytes());
        grant::exchange(&self.provider(), client, &fields, now).await
    }

    /// Redeems `code` as the test client, with the right redirect URI and verifier.
    pub async fn redeem(&self, code: &str, now: i64) -> Result<TokenResponse, OAuthError> {
        let body = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            form(REDIRECT)
        );
        self.token(&self.client, &body, now).await
    }

    /// Refreshes with `refresh_token` as the test client.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        let body = format!("grant_type=refresh_token&refresh_token={refresh_token}");
        self.token(&self.client, &body, now).await
    }

    /// What an access or refresh token is at `now`, by the classifier.
    pub async fn state_of(&self, token: &str, now: i64) -> TokenState {
        let hash = token_format::parse(TokenKind::Access, token)
            .or_else(|| token_format::parse(TokenKind::Refresh, token))
            .expect("a token");
        let (row, grant) = self
            .store
            .token_with_grant(&hash)
            .await
            .expect("store")
            .expect("stored");
        classify(TokenFacts::from(&row), &grant, now)
    }
}

/// The code and description of a refused request; panics if it was granted.
pub fn refused<T>(result: Result<T, OAuthError>) -> (ErrorCode, String) {
    match result {
        Ok(_) => panic!("the request was granted"),
        Err(e) => (e.code, e.description.into_owned()),
    }
}

/// `value` form-encoded.
pub fn form(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A public client registered with [`REDIRECT`].
fn registered(id: &str) -> Client {
    Client {
        id: id.into(),
        kind: ClientKind::Registered,
        name: format!("App {id}"),
        logo_url: None,
        redirect_uris: vec![REDIRECT.into()],
        secret_hash: None,
        created_at: T0,
    }
}
