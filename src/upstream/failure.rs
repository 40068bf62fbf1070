//! Why a request to the upstream got no answer, read from the HTTP client's error: refused,
//! timed out, a failed DNS lookup, a failed TLS handshake, or another connection failure. Logs
//! say which (with the cause's own words), and people get plain words for each. reqwest's own
//! message ("error sending request for url (…)") says neither.

use std::error::Error as _;

/// What kind of failure it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Nothing listens at the upstream's address (or a firewall said no): instant.
    Refused,
    /// No connection or no answer within the time allowed.
    TimedOut,
    /// The upstream's host name did not resolve.
    Dns,
    /// The TLS handshake failed: a certificate that does not verify, or not TLS at all.
    Tls,
    /// The connection failed or broke some other way.
    Other,
}

/// A failed upstream request: its kind and the innermost cause's message (which names
/// neither the URL's query nor any header, so no key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    cause: String,
}

impl Failure {
    /// Reads the kind from `error`'s chain of causes.
    pub fn of(error: &reqwest::Error) -> Failure {
        let mut kind = if error.is_timeout() {
            FailureKind::TimedOut
        } else {
            FailureKind::Other
        };
        let mut cause = error.to_string();
        let mut source = error.source();
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => kind = FailureKind::Refused,
                    std::io::ErrorKind::TimedOut => kind = FailureKind::TimedOut,
                    _ => {}
                }
            } else if e.downcast_ref::<native_tls::Error>().is_some() {
                kind = FailureKind::Tls;
            } else if kind == FailureKind::Other && e.to_string() == "dns error" {
                // hyper-util's connector names the resolver's failure so; its type is private.
                kind = FailureKind::Dns;
            }
            cause = e.to_string();
            source = e.source();
        }
        Failure { kind, cause }
    }

    /// No answer within `after` (a deadline of our own, around the whole request).
    pub fn timed_out(after: std::time::Duration) -> Failure {
        Failure {
            kind: FailureKind::TimedOut,
            cause: format!("no answer within {}s", after.as_secs()),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            FailureKind::Refused => "connection refused",
            FailureKind::TimedOut => "timed out",
            FailureKind::Dns => "DNS lookup failed",
            FailureKind::Tls => "TLS handshake failed",
            FailureKind::Other => "connection failed",
        };
        if self.cause.to_lowercase().contains(what) {
            f.write_str(&self.cause)
        } else {
            write!(f, "{what} ({})", self.cause)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn failure_for(url: &str) -> Failure {
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        Failure::of(&client.get(url).send().await.unwrap_err())
    }

    #[tokio::test]
    async fn each_failure_says_what_happened() {
        // A port nothing listens on: refused at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = failure_for(&format!("http://127.0.0.1:{port}/v1/models")).await;
        assert_eq!(refused.kind, FailureKind::Refused);
        assert!(
            refused
                .to_string()
                .to_lowercase()
                .starts_with("connection refused"),
            "{refused}"
        );

        // https to a server that speaks plain http.
        let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = plain.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            while let Ok((mut s, _)) = plain.accept().await {
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let tls = failure_for(&format!("https://127.0.0.1:{port}/v1/models")).await;
        assert_eq!(tls.kind, FailureKind::Tls, "{tls}");
        assert!(
            tls.to_string().starts_with("TLS handshake failed ("),
            "{tls}"
        );

        // .invalid never resolves (RFC 6761).
        let dns = failure_for("http://keyward-upstream.invalid/v1/models").await;
        assert_eq!(dns.kind, FailureKind::Dns, "{dns}");

        let late = Failure::timed_out(std::time::Duration::from_secs(20));
        assert_eq!(late.to_string(), "timed out (no answer within 20s)");
        for f in [refused, tls, dns] {
            assert!(!f.to_string().contains("127.0.0.1"), "no URL: {f}");
        }
    }
}
