//! A pending authorization request, as the sign-in, sign-up and consent pages carry it: sealed
//! in their URLs and forms, not stored. Loading the authorization endpoint or any page of the
//! flow therefore writes nothing; the store learns of a request only when the person answers it
//! ([`answer`]), which records its id so it is answered once.
//!
//! The seal is the vault's (A256KW + A256GCM under the master key ring, bound to
//! [`SEAL_OWNER`]): the browser can neither read nor alter the request, every instance sharing
//! the ring can open it, and it expires [`REQUEST_TTL`] after the app asked. It lives with the
//! protocol, below the pages, so each page module can load it without importing another.

use serde::{Deserialize, Serialize};

use super::Provider;
use super::app_view::AppView;
use super::client_lookup;
use crate::store::clients::Client;
use crate::web::error::PageError;

/// How long a person has to sign in (or sign up) and consent.
pub const REQUEST_TTL: i64 = 15 * 60;
/// Whom sealed requests are bound to in the vault (an entry sealed for anything else, such as
/// a person's provider key, does not open as a request).
const SEAL_OWNER: &str = "keyward:authorization-request";
/// Longest sealed request accepted: `state` and `nonce` are at most 2 KiB each.
const MAX_SEALED_LEN: usize = 12 * 1024;

/// A validated authorization request, as it travels sealed between the pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    /// Random; what the answered mark and a consent step-up are bound to.
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated requested scopes.
    pub scopes: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    /// `query` or `web_message`.
    pub response_mode: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Seals `request` for the pages' URLs.
pub fn seal(p: &Provider<'_>, request: &AuthRequest) -> Result<String, PageError> {
    let json = serde_json::to_vec(request)
        .map_err(|e| PageError::Internal(format!("authorization request: {e}")))?;
    Ok(p.vault.seal(SEAL_OWNER, &json)?.jwe)
}

/// A live request, its client and how the pages show that client.
pub struct Pending {
    pub request: AuthRequest,
    pub client: Client,
    pub app: AppView,
}

/// Opens the sealed request `sealed` as it stands at `now`: [`PageError::RequestExpired`] if
/// it does not open (forged, altered, sealed under a key no longer in the ring), is too old or
/// was answered already; [`PageError::UnknownClient`] if its client was removed (or origin
/// clients were switched off) since.
pub async fn load(p: &Provider<'_>, sealed: &str, now: i64) -> Result<Pending, PageError> {
    let request = open(p, sealed, now)?;
    if p.store.request_answered(&request.id).await? {
        return Err(PageError::RequestExpired);
    }
    let client = client_lookup::resolve(p, &request.client_id, now)
        .await?
        .ok_or(PageError::UnknownClient)?;
    let app = AppView::new(&client, &request.redirect_uri);
    Ok(Pending {
        request,
        client,
        app,
    })
}

/// Records that the person answered `request` (approved or denied it); refused with
/// [`PageError::RequestExpired`] if it had been answered already, so a request yields one
/// answer however often its URL or form is replayed.
pub async fn answer(p: &Provider<'_>, request: &AuthRequest) -> Result<(), PageError> {
    if p.store
        .mark_request_answered(&request.id, request.expires_at)
        .await?
    {
        Ok(())
    } else {
        Err(PageError::RequestExpired)
    }
}

/// The request sealed in `sealed`, if it opens and has not expired at `now`.
fn open(p: &Provider<'_>, sealed: &str, now: i64) -> Result<AuthRequest, PageError> {
    let json = p.vault.open(SEAL_OWNER, sealed).map_err(|e| {
        tracing::info!(error = %e, "a sealed authorization request did not open");
        PageError::RequestExpired
    })?;
    let request: AuthRequest =
        serde_json::from_slice(&json).map_err(|_| PageError::RequestExpired)?;
    if request.expires_at <= now {
        return Err(PageError::RequestExpired);
    }
    Ok(request)
}

/// The `?request=` parameter the sign-in, sign-up and consent pages carry: a sealed pending
/// authorization request.
#[derive(Debug, Default, Deserialize)]
pub struct RequestQuery {
    pub request: Option<String>,
}

impl RequestQuery {
    /// The sealed request, checked to look like one, so it is safe in links and redirects.
    pub fn sealed(&self) -> Result<Option<String>, PageError> {
        Self::parse(self.request.as_deref())
    }

    /// Checks a raw sealed request: base64url parts joined by dots, of a bounded length; empty
    /// means none.
    pub fn parse(raw: Option<&str>) -> Result<Option<String>, PageError> {
        match raw.filter(|r| !r.is_empty()) {
            None => Ok(None),
            Some(r)
                if r.len() <= MAX_SEALED_LEN
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) =>
            {
                Ok(Some(r.to_owned()))
            }
            Some(_) => Err(PageError::RequestExpired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::test_support::{Fixture, T0};

    fn request(now: i64) -> AuthRequest {
        AuthRequest {
            id: crate::store::new_id(),
            client_id: "notes".into(),
            redirect_uri: "https://app.example/cb".into(),
            scopes: "openai.chat".into(),
            state: Some("s".repeat(2048)),
            nonce: Some("n".repeat(2048)),
            code_challenge: "c".repeat(43),
            response_mode: "query".into(),
            created_at: now,
            expires_at: now + REQUEST_TTL,
        }
    }

    #[tokio::test]
    async fn a_sealed_request_opens_until_it_expires_and_is_answered_once() {
        let f = Fixture::new().await;
        let p = f.provider();
        let asked = request(T0);
        let sealed = seal(&p, &asked).unwrap();
        assert!(sealed.len() <= MAX_SEALED_LEN, "{}", sealed.len());
        assert_eq!(
            RequestQuery::parse(Some(&sealed)).unwrap(),
            Some(sealed.clone())
        );
        assert!(
            !sealed.contains("app.example"),
            "the browser cannot read it"
        );
        let loaded = load(&p, &sealed, T0 + REQUEST_TTL - 1).await.ok().unwrap();
        assert_eq!(loaded.request, asked);
        assert!(matches!(
            load(&p, &sealed, T0 + REQUEST_TTL).await,
            Err(PageError::RequestExpired)
        ));
        answer(&p, &asked).await.unwrap();
        assert!(matches!(
            answer(&p, &asked).await,
            Err(PageError::RequestExpired)
        ));
        assert!(matches!(
            load(&p, &sealed, T0 + 1).await,
            Err(PageError::RequestExpired)
        ));
    }

    #[tokio::test]
    async fn an_altered_or_foreign_seal_does_not_open() {
        let f = Fixture::new().await;
        let p = f.provider();
        let sealed = seal(&p, &request(T0)).unwrap();
        let mut parts: Vec<String> = sealed.split('.').map(str::to_owned).collect();
        let first = parts[3].remove(0);
        parts[3].insert(0, if first == 'A' { 'B' } else { 'A' });
        let provider_key = p.vault.seal(&f.user.id, b"sk-proj-secret").unwrap().jwe;
        for bad in [parts.join("."), provider_key, "not-a-request".into()] {
            assert!(matches!(
                load(&p, &bad, T0 + 1).await,
                Err(PageError::RequestExpired)
            ));
        }
        for unsafe_text in ["/evil", "a b", "x\"y", &"a".repeat(MAX_SEALED_LEN + 1)] {
            assert!(
                RequestQuery::parse(Some(unsafe_text)).is_err(),
                "{unsafe_text}"
            );
        }
    }
}
