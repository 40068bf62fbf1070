//! Value syntax of the settings that are more than a string, a number or a boolean: sizes,
//! durations, listen addresses and IP ranges. Each has one parser, used by its flag and
//! `KEYWARD_*` variable (through clap) and by `keyward.toml` (through the serde adapters below).

use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs as _};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

/// Parses "512", "64KiB", "32MiB", "1GiB" (also KB/MB/GB as powers of 1000).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let (n, unit) = number_and_unit(s, "a size such as 32MiB")?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}")),
    };
    n.checked_mul(mult)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or_else(|| format!("{:?} is too large", s.trim()))
}

/// Parses an IP address ("10.0.0.7", "::1") or a CIDR range ("10.0.0.0/8").
pub fn parse_ip_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR range such as 10.0.0.0/8"))
}

/// Parses "30" (seconds), "30s", "500ms", "2m", "1h".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = number_and_unit(s, "a duration such as 30s or 500ms")?;
    let seconds = |per_unit: u64| {
        n.checked_mul(per_unit)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{:?} is too long", s.trim()))
    };
    match unit {
        "" | "s" => seconds(1),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => seconds(60),
        "h" => seconds(3600),
        other => Err(format!("unknown duration unit {other:?}")),
    }
}

/// Splits "32MiB" into 32 and "MiB"; `expected` describes the form in the error.
fn number_and_unit<'a>(s: &'a str, expected: &str) -> Result<(u64, &'a str), String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n = num
        .parse()
        .map_err(|_| format!("{s:?} is not {expected}"))?;
    Ok((n, unit.trim()))
}

/// Parses where to listen: an IP address with a port ("0.0.0.0:8080", "[::1]:8080"), a host
/// name with a port ("localhost:8080", resolved now, IPv4 preferred), or a bare port ("8080",
/// meaning 127.0.0.1:8080).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let expected = "give HOST:PORT (127.0.0.1:8080, [::1]:8080, localhost:8080, 0.0.0.0:8080) \
                    or a bare port (8080 means 127.0.0.1:8080)";
    let Some((host, port)) = s
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host, port.parse::<u16>().ok()?)))
        .filter(|(host, _)| is_host_name(host))
    else {
        return Err(format!("{s:?} is not an address to listen on: {expected}"));
    };
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?} ({e}): {expected}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{host:?} has no address: {expected}"))
}

/// Letters, digits, dots and hyphens: worth asking the resolver about.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// A setting `keyward.toml` may give as text or as a bare number (bytes, seconds, a port).
struct TextOrNumber<T> {
    expecting: &'static str,
    text: fn(&str) -> Result<T, String>,
    number: fn(u64) -> Result<T, String>,
}

impl<T> Visitor<'_> for TextOrNumber<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.text)(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        (self.number)(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        let v = u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))?;
        self.visit_u64(v)
    }
}

/// serde for `listen`: "HOST:PORT" or a bare port (text or number).
pub(super) fn listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    d.deserialize_any(TextOrNumber {
        expecting: "an address such as \"127.0.0.1:8080\" or a port",
        text: parse_listen,
        number: |n| parse_listen(&n.to_string()),
    })
    .map(Some)
}

/// serde for sizes: "32MiB" or a number of bytes.
pub(super) fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    d.deserialize_any(TextOrNumber {
        expecting: "a size such as \"32MiB\" or a number of bytes",
        text: parse_size,
        number: |n| usize::try_from(n).map_err(|_| format!("{n} bytes is too large")),
    })
    .map(Some)
}

/// serde for durations: "500ms", "10s", "5m" or a number of seconds.
pub(super) mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        d.deserialize_any(TextOrNumber {
            expecting: "a duration such as \"10s\" or a number of seconds",
            text: parse_duration,
            number: |n| Ok(Duration::from_secs(n)),
        })
        .map(Some)
    }

    /// Written back in milliseconds, the finest unit [`parse_duration`] reads.
    pub fn serialize<S: Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_str(&format!("{}ms", d.as_millis())),
            None => s.serialize_none(),
        }
    }
}

/// serde for IP addresses and CIDR ranges: a list of strings.
pub(super) mod ip_nets {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<ipnet::IpNet>>, D::Error> {
        let texts: Vec<String> = serde::Deserialize::deserialize(d)?;
        texts
            .iter()
            .map(|t| parse_ip_net(t))
            .collect::<Result<_, _>>()
            .map(Some)
            .map_err(de::Error::custom)
    }

    pub fn serialize<S: Serializer>(
        v: &Option<Vec<ipnet::IpNet>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(nets) => s.collect_seq(nets.iter().map(ToString::to_string)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("10kb"), Ok(10_000));
        assert!(parse_size("ten").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("5 weeks").is_err());
        assert!(parse_duration("99999999999999999h").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }

    #[test]
    fn listen_takes_addresses_host_names_and_bare_ports() {
        let ok = |s: &str| parse_listen(s).unwrap().to_string();
        assert_eq!(ok("127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(ok("0.0.0.0:0"), "0.0.0.0:0");
        assert_eq!(ok("[::1]:8091"), "[::1]:8091");
        assert_eq!(ok("8091"), "127.0.0.1:8091");
        assert_eq!(ok("localhost:8091"), "127.0.0.1:8091");
        for bad in [
            "",
            ":8091",
            "localhost",
            "127.0.0.1:99999",
            "http://localhost:8091",
        ] {
            let err = parse_listen(bad).unwrap_err();
            assert!(
                err.contains("HOST:PORT") && err.contains("bare port"),
                "{bad}: {err}"
            );
        }
    }
}
