//! Which client a request comes from, for per-client limits: the TCP peer, or, only when the
//! peer is a reverse proxy the operator listed as trusted, the address the proxies recorded in
//! `X-Forwarded-For`. Anyone can send that header, so it is never believed from anyone else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use ipnet::IpNet;
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Resolves client addresses and maps them to rate-limit buckets.
#[derive(Clone, Debug)]
pub struct ClientIp {
    trusted: Arc<[IpNet]>,
}

impl ClientIp {
    /// A resolver that believes `X-Forwarded-For` from peers in `trusted` only.
    pub fn new(trusted: &[IpNet]) -> ClientIp {
        ClientIp {
            trusted: trusted.into(),
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with `headers`. Each trusted proxy
    /// appends the address it received the request from, so the list is read from the right:
    /// the first address that is not a trusted proxy is the client. An entry that is not an
    /// address ends the walk at the last hop known to be good.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer;
        if !self.is_trusted(peer) {
            return client;
        }
        let hops = headers.get_all(X_FORWARDED_FOR).iter().rev();
        for value in hops {
            let Ok(text) = value.to_str() else {
                return client;
            };
            for hop in text.split(',').rev() {
                let Some(ip) = parse_hop(hop) else {
                    return client;
                };
                client = ip;
                if !self.is_trusted(ip) {
                    return client;
                }
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`[::1]:80`, `1.2.3.4:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The bucket an address counts against: an IPv4 address, or an IPv6 /64 (one host usually
/// holds a whole /64, so per-address buckets would be free to multiply).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<IpAddr, GovernorError> {
        // A router driven without a listener (no connection info) counts as one client.
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(bucket(self.resolve(peer, req.headers())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, v.parse().unwrap());
        }
        h
    }

    fn resolver(trusted: &[&str]) -> ClientIp {
        let nets: Vec<IpNet> = trusted
            .iter()
            .map(|t| crate::config::parse_ip_net(t).unwrap())
            .collect();
        ClientIp::new(&nets)
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_trusted() {
        let forged = xff(&["203.0.113.9"]);
        assert_eq!(
            resolver(&[]).resolve(ip("198.51.100.1"), &forged),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolver(&["10.0.0.0/8"]).resolve(ip("198.51.100.1"), &forged),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let r = resolver(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxy appended the real address.
        let h = xff(&["1.1.1.1, 203.0.113.9, 10.0.0.3"]);
        assert_eq!(r.resolve(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // Several header lines read as one list.
        let h = xff(&["1.1.1.1", "203.0.113.9:4711"]);
        assert_eq!(r.resolve(ip("10.0.0.2"), &h), ip("203.0.113.9"));
        // No header: the proxy itself.
        assert_eq!(r.resolve(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        // Garbage stops the walk at the last good hop.
        let h = xff(&["203.0.113.9, not-an-ip"]);
        assert_eq!(r.resolve(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        // Everyone trusted: the leftmost address.
        let h = xff(&["10.9.9.9, 10.0.0.3"]);
        assert_eq!(r.resolve(ip("10.0.0.2"), &h), ip("10.9.9.9"));
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        assert_eq!(bucket(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(bucket(ip("192.0.2.7")), ip("192.0.2.7"));
    }
}
