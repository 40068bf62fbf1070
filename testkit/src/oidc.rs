//! An HTTP client for the `openidconnect` crate built on the workspace's reqwest 0.13 (the
//! crate's own `reqwest` feature would pull a second reqwest). Redirects are not followed, as
//! the crate's documentation asks (SSRF).

use std::pin::Pin;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The relying party's HTTP client.
#[derive(Clone)]
pub struct OidcHttp(reqwest::Client);

impl Default for OidcHttp {
    fn default() -> Self {
        OidcHttp(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .expect("HTTP client"),
        )
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.0.execute(reqwest::Request::try_from(request)?).await?;
            let mut builder = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(builder.body(body).expect("a valid response"))
        })
    }
}
