//! Browser sessions: a random id in an `HttpOnly; SameSite=Lax` cookie (`Secure` on https).
//!
//! A visitor who has not signed in has a cookie but no row: the cookie is set by the first page
//! that shows a form, and the form's CSRF token is derived from it ([`super::csrf`]), so loading
//! a page writes nothing to the store. A session row is written only when a passkey signs the
//! person in, under a new id (no fixation), with only the id's hash stored — any instance
//! serves any request, and a store leak yields no usable cookie. The row names the passkey that
//! opened it; removing that passkey ends the session.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::AppendHeaders;

use super::csrf;
use super::error::PageError;
use crate::clock::now;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::sessions::SessionRow;
use crate::store::users::User;
use crate::token_format;

/// How long an anonymous cookie (a form in progress) lives.
const ANONYMOUS_TTL: i64 = 60 * 60;
/// How long a signed-in session lives. Consent needs the passkey again anyway.
const SIGNED_IN_TTL: i64 = 12 * 60 * 60;
/// Length of a session id as [`token_format::random_secret`] makes them.
const ID_LEN: usize = 43;

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

/// The current browser session, signed in or not. As an extractor it gives a visitor without a
/// cookie a new anonymous one (pages with forms need a CSRF token) without writing anything;
/// the response must then carry [`Session::cookie`].
#[derive(Clone)]
pub struct Session {
    /// SHA-256 of the cookie's id: the store's key for a signed-in session, and what a passkey
    /// ceremony is bound to.
    pub id_hash: String,
    /// The signed-in person, if any.
    pub user_id: Option<String>,
    /// The CSRF token for this session's forms and JSON posts.
    pub csrf: String,
    /// When the person last authenticated with a passkey.
    pub auth_time: Option<i64>,
    /// The passkey (credential id) that signed the person in.
    pub passkey_id: Option<String>,
    set_cookie: Option<HeaderValue>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session {{ signed_in: {} }}", self.user_id.is_some())
    }
}

impl Session {
    /// The session named by the request's cookie: signed in if the store has a live row for it,
    /// anonymous otherwise. `None` without a (well-formed) cookie.
    pub async fn from_headers(
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<Option<Session>, StoreError> {
        let Some(id) = cookie_value(headers, cookie_name(state)).filter(|id| is_session_id(id))
        else {
            return Ok(None);
        };
        let session = Session::anonymous(id, None);
        Ok(Some(match state.store.session(&session.id_hash).await? {
            Some(row) => Session {
                user_id: Some(row.user_id),
                auth_time: Some(row.auth_time),
                passkey_id: Some(row.passkey_id),
                ..session
            },
            None => session,
        }))
    }

    /// The anonymous session of cookie id `id`; `set_cookie` when the response must set it.
    fn anonymous(id: &str, set_cookie: Option<HeaderValue>) -> Session {
        Session {
            id_hash: token_format::hash(id),
            user_id: None,
            csrf: csrf::token_for(id),
            auth_time: None,
            passkey_id: None,
            set_cookie,
        }
    }

    /// Signs `user_id` in with the passkey `passkey_id`: the old session's row (if any) is
    /// deleted and a new session, with a new id and CSRF token, is stored in its place.
    pub async fn sign_in(
        state: &AppState,
        previous: &Session,
        user_id: &str,
        passkey_id: &str,
    ) -> Result<Session, StoreError> {
        if previous.user_id.is_some() {
            state.store.delete_session(&previous.id_hash).await?;
        }
        let id = token_format::random_secret();
        let t = now();
        let row = SessionRow {
            id_hash: token_format::hash(&id),
            user_id: user_id.to_owned(),
            passkey_id: passkey_id.to_owned(),
            auth_time: t,
            created_at: t,
            expires_at: t + SIGNED_IN_TTL,
        };
        state.store.insert_session(&row).await?;
        Ok(Session {
            user_id: Some(row.user_id),
            auth_time: Some(row.auth_time),
            passkey_id: Some(row.passkey_id),
            ..Session::anonymous(&id, Some(set_cookie(state, &id, SIGNED_IN_TTL)))
        })
    }

    /// Signs out: deletes the session and returns the header that clears the cookie.
    pub async fn end(
        self,
        state: &AppState,
    ) -> Result<AppendHeaders<[(HeaderName, HeaderValue); 1]>, StoreError> {
        state.store.delete_session(&self.id_hash).await?;
        Ok(clear_cookie(state))
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

/// The header that clears the session cookie (signed out, or the session ended).
pub fn clear_cookie(state: &AppState) -> AppendHeaders<[(HeaderName, HeaderValue); 1]> {
    AppendHeaders([(header::SET_COOKIE, set_cookie(state, "", 0))])
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        if let Some(session) = Session::from_headers(state, &parts.headers).await? {
            return Ok(session);
        }
        let id = token_format::random_secret();
        let cookie = set_cookie(state, &id, ANONYMOUS_TTL);
        Ok(Session::anonymous(&id, Some(cookie)))
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

/// True for a value shaped like the ids this module makes (so an odd cookie is no session).
fn is_session_id(value: &str) -> bool {
    value.len() == ID_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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
