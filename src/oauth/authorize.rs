//! The authorization request (`GET /oauth/authorize`): validates it (RFC 6749 §4.1.1 with PKCE and
//! the RFC 9700 rules) and seals it ([`pending`]) for the sign-in and consent pages to carry, so
//! the endpoint writes nothing to the store.
//!
//! Until the client and its redirect URI are known to be good, errors are shown as a page and
//! never redirected (RFC 6749 §4.1.2.1). Even then, only a client someone this server trusts
//! registered (an operator's, or the instance's own) is sent its errors by redirect, with
//! `state` and `iss`: an origin or dynamically registered client's redirect URI proves nothing,
//! as whoever crafted the link chose both, so its errors are a page until the person has acted
//! (RFC 9700 §4.11.2). That is what keeps this endpoint from being an open redirector. In a
//! popup (`web_message`) that page posts the error to the window that opened it, at exactly the
//! client's origin, and goes nowhere.

use super::errors::ErrorCode;
use super::pending::{self, AuthRequest, REQUEST_TTL};
use super::response::{ResponseMode, ResponseTarget};
use super::{Provider, client_lookup, pkce, redirect};
use crate::scopes;
use crate::store::new_id;
use crate::web::error::PageError;
use crate::web::form::FormFields;

/// Longest `state` or `nonce` accepted; they travel in the sealed request and are echoed.
const MAX_ECHOED_LEN: usize = 2048;

/// Why a request was refused: in a page for the person, or in a response to the app (by
/// redirect, or by a page that posts it to the opener).
#[derive(Debug)]
pub enum AuthorizeError {
    Page(PageError),
    ToApp {
        target: ResponseTarget,
        code: ErrorCode,
        description: String,
    },
}

impl From<PageError> for AuthorizeError {
    fn from(e: PageError) -> Self {
        AuthorizeError::Page(e)
    }
}

/// The authorization request in `fields`, validated at `now` and sealed for the pages that
/// follow.
pub async fn begin(
    p: &Provider<'_>,
    fields: &FormFields,
    now: i64,
) -> Result<String, AuthorizeError> {
    let request = validate(p, fields, now).await?;
    tracing::info!(client_id = %request.client_id, "authorization request accepted");
    Ok(pending::seal(p, &request)?)
}

/// Checks every parameter and builds the pending request, valid from `now` for
/// [`REQUEST_TTL`].
async fn validate(
    p: &Provider<'_>,
    fields: &FormFields,
    now: i64,
) -> Result<AuthRequest, AuthorizeError> {
    let invalid = |e: crate::web::form::FieldError| PageError::InvalidRequest(e.to_string());
    let client_id = fields.required("client_id").map_err(invalid)?;
    let client = client_lookup::resolve(p, client_id, now)
        .await
        .map_err(PageError::from)?
        .ok_or(PageError::UnknownClient)?;
    let redirect_uri = fields.required("redirect_uri").map_err(invalid)?;
    redirect::check_for_client(&client, redirect_uri)
        .map_err(|e| PageError::BadRedirectUri(e.to_string()))?;

    // From here on the app can be told what is wrong, if that goes nowhere but to the app.
    let mode = ResponseMode::parse(fields.one("response_mode").ok().flatten());
    let mut target = ResponseTarget {
        redirect_uri: redirect_uri.to_owned(),
        mode: mode.unwrap_or(ResponseMode::Query),
        state: None,
    };
    let fail = |target: &ResponseTarget, code: ErrorCode, description: String| {
        if client.kind.is_vouched_for() || target.message_origin().is_some() {
            AuthorizeError::ToApp {
                target: target.clone(),
                code,
                description,
            }
        } else {
            AuthorizeError::Page(PageError::InvalidRequest(description))
        }
    };
    let invalid_request =
        |target: &ResponseTarget, d: String| fail(target, ErrorCode::InvalidRequest, d);

    let app_state = fields
        .one("state")
        .map_err(|e| invalid_request(&target, e.to_string()))?;
    if app_state.is_some_and(|s| s.len() > MAX_ECHOED_LEN) {
        return Err(invalid_request(&target, "state is too long".into()));
    }
    target.state = app_state.map(str::to_owned);

    if mode.is_none() {
        return Err(invalid_request(
            &target,
            "response_mode must be query or web_message".into(),
        ));
    }
    if target.mode == ResponseMode::WebMessage && target.message_origin().is_none() {
        return Err(invalid_request(
            &target,
            "response_mode=web_message needs an http(s) redirect_uri".into(),
        ));
    }
    match fields.one("response_type") {
        Ok(Some("code")) => {}
        Ok(Some(_)) => {
            return Err(fail(
                &target,
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported".into(),
            ));
        }
        Ok(None) => return Err(invalid_request(&target, "response_type is required".into())),
        Err(e) => return Err(invalid_request(&target, e.to_string())),
    }
    let read = |name: &str| {
        fields
            .one(name)
            .map_err(|e| invalid_request(&target, e.to_string()))
    };
    let challenge = pkce::check_challenge(read("code_challenge_method")?, read("code_challenge")?)
        .map_err(|e| invalid_request(&target, e.to_string()))?;
    let scope = read("scope")?.unwrap_or_default();
    let (known, unknown) = scopes::parse(scope);
    if !unknown.is_empty() {
        let mut names = unknown.join(" ");
        names.truncate(200);
        return Err(fail(
            &target,
            ErrorCode::InvalidScope,
            format!("unknown scope: {names}"),
        ));
    }
    if known.is_empty() {
        return Err(fail(
            &target,
            ErrorCode::InvalidScope,
            "scope is required, e.g. \"openai.chat openai.models\"".into(),
        ));
    }
    let nonce = read("nonce")?;
    if nonce.is_some_and(|n| n.len() > MAX_ECHOED_LEN) {
        return Err(invalid_request(&target, "nonce is too long".into()));
    }
    Ok(AuthRequest {
        id: new_id(),
        client_id: client.id,
        redirect_uri: target.redirect_uri,
        scopes: known.iter().map(|s| s.name).collect::<Vec<_>>().join(" "),
        state: target.state,
        nonce: nonce.map(str::to_owned),
        code_challenge: challenge,
        response_mode: target.mode.as_str().to_owned(),
        created_at: now,
        expires_at: now + REQUEST_TTL,
    })
}
