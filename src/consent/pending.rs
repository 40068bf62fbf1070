//! A pending authorization request with the client it came from, as the sign-in, sign-up and
//! consent pages need it.

use serde::Deserialize;

use crate::oauth::clients::{self, AppView};
use crate::state::AppState;
use crate::store::clients::Client;
use crate::store::codes::AuthRequest;
use crate::web::error::PageError;

/// A live request, its client and how the pages show that client.
pub struct Pending {
    pub request: AuthRequest,
    pub client: Client,
    pub app: AppView,
}

/// Loads request `id`: [`PageError::RequestExpired`] if it is gone or too old,
/// [`PageError::UnknownClient`] if its client was removed (or origin clients were switched off)
/// since.
pub async fn load(state: &AppState, id: &str) -> Result<Pending, PageError> {
    let request = state
        .store
        .auth_request(id)
        .await?
        .ok_or(PageError::RequestExpired)?;
    let client = clients::resolve(state, &request.client_id)
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
