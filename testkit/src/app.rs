//! A client app as the tests play it: its client_id and redirect URI, a fresh PKCE pair and
//! `state`, and the authorization URL it would send a person to.

use openidconnect::PkceCodeChallenge;

/// One app, for one authorization.
pub struct App {
    pub client_id: String,
    pub redirect_uri: String,
    pub verifier: String,
    pub challenge: String,
    pub state: String,
}

impl App {
    /// An app with the given client_id and redirect URI and a fresh PKCE pair and state.
    pub fn new(client_id: &str, redirect_uri: &str) -> App {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        App {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            verifier: verifier.secret().to_owned(),
            challenge: challenge.as_str().to_owned(),
            state: format!("state-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// A website using Keyward without registering: its client_id is its origin.
    pub fn origin(origin: &str) -> App {
        App::new(origin, &format!("{origin}/callback"))
    }

    /// Starts another authorization: a new PKCE pair and state.
    pub fn renew(&mut self) {
        *self = App::new(&self.client_id, &self.redirect_uri);
    }

    /// The authorization request's parameters for `scope` (and `response_mode`, if any).
    pub fn params(&self, scope: &str, response_mode: Option<&str>) -> Vec<(String, String)> {
        let mut p = vec![
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", scope),
            ("state", &self.state),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect::<Vec<_>>();
        if let Some(mode) = response_mode {
            p.push(("response_mode".into(), mode.into()));
        }
        p
    }

    /// The token request exchanging `code`.
    pub fn code_exchange(&self, code: &str) -> Vec<(String, String)> {
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &self.client_id),
            ("code_verifier", &self.verifier),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// `?a=b&c=d` query of `params`, encoded.
pub fn query(params: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Replaces (or adds) one parameter.
pub fn with(mut params: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
    params.retain(|(k, _)| k != key);
    params.push((key.to_owned(), value.to_owned()));
    params
}

/// Removes one parameter.
pub fn without(mut params: Vec<(String, String)>, key: &str) -> Vec<(String, String)> {
    params.retain(|(k, _)| k != key);
    params
}

/// The query parameters of a URL, in order.
pub fn params_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One parameter of a URL's query.
pub fn param(url: &str, name: &str) -> Option<String> {
    params_of(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}
