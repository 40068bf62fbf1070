//! Browser sessions: a random id in an `HttpOnly; SameSite=Lax` cookie (`Secure` on https),
//! only its hash in the store, so any instance serves any request and a store leak yields no
//! usable cookie. Anonymous sessions exist to carry a CSRF token for the sign-in, sign-up and
//! consent forms; signing in replaces the session with a new id (no fixation).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::AppendHeaders;

use super::error::PageError;
use crate::clock::now;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::sessions::SessionRow;
use crate::store::users::User;
use crate::token_format;

/// How long an anonymous session (a form in progress) lives.
const ANONYMOUS_TTL: i64 = 60 * 60;
/// How long a signed-in session lives. Consent needs the passkey again anyway.
const SIGNED_IN_TTL: i64 = 12 * 60 * 60;

/// The cookie's name; on https the `__Host-` prefix pins it to this host, path `/` and Secure.
pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-keyward_session"
    } else {
        "keyward_session"
    }
}

/// The session cookie's `Set-Cookie` value: `HttpOnly; SameSite=Lax`, `Secure` on https, living
/// `max_age` seconds (0 clears it).
fn set_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        cookie_name(state)
    );
    HeaderValue::from_str(&cookie).expect("cookie is ASCII")
}

/// The current browser session. As an extractor it starts an anonymous session when the
/// request has none (pages with forms need a CSRF token); the response must then carry
/// [`Session::cookie`].
#[derive(Clone)]
pub struct Session {
    pub id_hash: String,
    /// The signed-in person, if any.
    pub user_id: Option<String>,
    /// The CSRF token for this session's forms and JSON posts.
    pub csrf: String,
    /// When the person last authenticated with a passkey.
    pub auth_time: Option<i64>,
    set_cookie: Option<HeaderValue>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session {{ signed_in: {} }}", self.user_id.is_some())
    }
}

impl Session {
    /// The session named by the request's cookie, if it is live.
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Session>, StoreError> {
        let Some(id) = cookie_value(headers, cookie_name(state)) else {
            return Ok(None);
        };
        let row = state.store.session(&token_format::hash(id)).await?;
        Ok(row.map(|r| Session {
            id_hash: r.id_hash,
            user_id: r.user_id,
            csrf: r.csrf,
            auth_time: r.auth_time,
            set_cookie: None,
        }))
    }

    /// Starts a new session, anonymous or for `user_id`.
    async fn create(state: &AppState, user_id: Option<&str>) -> Result<Session, StoreError> {
        let id = token_format::random_secret();
        let t = now();
        let ttl = if user_id.is_some() {
            SIGNED_IN_TTL
        } else {
            ANONYMOUS_TTL
        };
        let row = SessionRow {
            id_hash: token_format::hash(&id),
            user_id: user_id.map(str::to_owned),
            csrf: token_format::random_secret(),
            auth_time: user_id.map(|_| t),
            created_at: t,
            expires_at: t + ttl,
        };
        state.store.insert_session(&row).await?;
        Ok(Session {
            id_hash: row.id_hash,
            user_id: row.user_id,
            csrf: row.csrf,
            auth_time: row.auth_time,
            set_cookie: Some(set_cookie(state, &id, ttl)),
        })
    }

    /// Signs `user_id` in: the old session (if any) is deleted and a new one with a new id and
    /// CSRF token replaces it.
    pub async fn sign_in(
        state: &AppState,
        previous: &Session,
        user_id: &str,
    ) -> Result<Session, StoreError> {
        state.store.delete_session(&previous.id_hash).await?;
        Self::create(state, Some(user_id)).await
    }

    /// Signs out: deletes the session and returns the header that clears the cookie.
    pub async fn end(
        self,
        state: &AppState,
    ) -> Result<AppendHeaders<[(HeaderName, HeaderValue); 1]>, StoreError> {
        state.store.delete_session(&self.id_hash).await?;
        Ok(AppendHeaders([(
            header::SET_COOKIE,
            set_cookie(state, "", 0),
        )]))
    }

    /// The `Set-Cookie` header a response must carry when this session is new.
    pub fn cookie(&self) -> AppendHeaders<Option<(HeaderName, HeaderValue)>> {
        AppendHeaders(self.set_cookie.clone().map(|v| (header::SET_COOKIE, v)))
    }

    /// The signed-in person, or [`PageError::SignInRequired`].
    pub async fn user(&self, state: &AppState) -> Result<User, PageError> {
        let id = self.user_id.as_deref().ok_or(PageError::SignInRequired)?;
        state.store.user(id).await?.ok_or(PageError::SignInRequired)
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        match Session::from_headers(state, &parts.headers).await? {
            Some(s) => Ok(s),
            None => Ok(Session::create(state, None).await?),
        }
    }
}

/// A signed-in person and their session. Without one, a page (GET) redirects to sign-in and
/// anything else is refused with 401.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let is_page = parts.method == Method::GET;
        let missing = || {
            if is_page {
                PageError::SignInRequired
            } else {
                PageError::SessionExpired
            }
        };
        let session = Session::from_headers(state, &parts.headers)
            .await?
            .ok_or_else(missing)?;
        let user = match session.user(state).await {
            Ok(user) => user,
            Err(PageError::SignInRequired) => return Err(missing()),
            Err(e) => return Err(e),
        };
        Ok(SignedIn { session, user })
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; keyward_session=abc"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie_value(&h, "keyward_session"), Some("abc"));
        assert_eq!(cookie_value(&h, "b"), Some("2"));
        assert_eq!(cookie_value(&h, "keyward"), None);
    }
}
