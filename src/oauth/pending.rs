//! A pending authorization request with the client it came from, as the sign-in, sign-up and
//! consent pages need it. It lives with the protocol, below the pages, so each page module can
//! load it without importing another.

use serde::Deserialize;

use super::Provider;
use super::app_view::AppView;
use super::client_lookup;
use crate::store::clients::Client;
use crate::store::codes::AuthRequest;
use crate::web::error::PageError;

/// A live request, its client and how the pages show that client.
pub struct Pending {
    pub request: AuthRequest,
    pub client: Client,
    pub app: AppView,
}

/// Loads request `id` as it stands at `now`: [`PageError::RequestExpired`] if it is gone or too
/// old, [`PageError::UnknownClient`] if its client was removed (or origin clients were switched
/// off) since.
pub async fn load(p: &Provider<'_>, id: &str, now: i64) -> Result<Pending, PageError> {
    let request = p
        .store
        .auth_request(id, now)
        .await?
        .ok_or(PageError::RequestExpired)?;
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

/// The `?request=` parameter the sign-in, sign-up and consent pages carry: a pending
/// authorization request's id.
#[derive(Debug, Default, Deserialize)]
pub struct RequestQuery {
    pub request: Option<String>,
}

impl RequestQuery {
    /// The id, checked to be one (a UUID), so it is safe in links and redirects.
    pub fn request_id(&self) -> Result<Option<String>, PageError> {
        Self::parse(self.request.as_deref())
    }

    /// Checks a raw request id; empty means none.
    pub fn parse(raw: Option<&str>) -> Result<Option<String>, PageError> {
        match raw.filter(|r| !r.is_empty()) {
            None => Ok(None),
            Some(r) => uuid::Uuid::parse_str(r)
                .map(|u| Some(u.hyphenated().to_string()))
                .map_err(|_| PageError::RequestExpired),
        }
    }
}
