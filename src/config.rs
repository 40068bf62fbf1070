//! Settings, layered: built-in defaults < `keyward.toml` < `KEYWARD_*` environment < command-line flags.
//!
//! clap already layers the environment under the flags (every flag has an `env` twin), so this
//! module only has to put the TOML file under both and the defaults under everything.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::metering::prices::{Price, PriceTable};

/// Everything an instance needs to run, fully resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Socket address the HTTP server binds to.
    pub listen: SocketAddr,
    /// The URL people and apps reach this instance at (pages, `/v1` base URL).
    pub public_url: Url,
    /// The OAuth issuer identifier (`iss`), normally the same as `public_url`.
    pub issuer: Url,
    /// Where the embedded store and the generated master key live.
    pub data_dir: PathBuf,
    /// `sqlite://…` (default, inside `data_dir`) or `postgres://…`.
    pub database_url: String,
    /// The upstream OpenAI-compatible API base, e.g. `https://api.openai.com/v1`.
    pub upstream: Url,
    /// Where the master key ring comes from.
    pub master_key: MasterKeySource,
    /// Largest request body the proxy accepts, in bytes.
    pub body_limit: usize,
    /// Upstream TCP/TLS connect timeout.
    pub upstream_connect_timeout: Duration,
    /// Longest wait for the upstream's response headers.
    pub upstream_first_byte_timeout: Duration,
    /// Longest silence allowed between two chunks of an upstream body.
    pub upstream_idle_timeout: Duration,
    /// Redis for rate counters shared by several instances; `None` keeps them per instance.
    pub redis_url: Option<String>,
    /// Log lines as JSON objects instead of text.
    pub log_json: bool,
    /// Serve the demo chat app at `/demo`.
    pub demo: bool,
    /// Let any website act as a client identified by its exact origin, without registration.
    pub origin_clients: bool,
    /// RFC 7591 dynamic registration of public clients.
    pub dynamic_registration: bool,
    /// How long in-flight streams may run on after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Per-client-IP limits on the unauthenticated endpoints (sign-up, passkeys, OAuth).
    pub ip_rate_limit: IpRateLimit,
    /// Reverse proxies whose `X-Forwarded-For` names the client; empty trusts none.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long a budget reservation outlives an instance that stopped renewing it (crashed).
    pub reservation_lease: Duration,
    /// USD prices per million tokens, by model.
    pub prices: PriceTable,
}

/// A per-client-IP token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRateLimit {
    pub burst: u32,
    /// 0 switches the limit off.
    pub per_second: u32,
}

/// The three places a master key ring can come from, in the order they are looked at.
#[derive(Clone)]
pub enum MasterKeySource {
    /// `KEYWARD_MASTER_KEY`: one or more comma-separated base64url keys, newest first.
    Env(zeroize::Zeroizing<String>),
    /// An operator-managed key file (`--master-key-file`), one key per line, newest first.
    File(PathBuf),
    /// The embedded default: `<data-dir>/master.key`, generated on first start.
    Generated(PathBuf),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(_) => f.write_str("Env(KEYWARD_MASTER_KEY, redacted)"),
            Self::File(p) => write!(f, "File({})", p.display()),
            Self::Generated(p) => write!(f, "Generated({})", p.display()),
        }
    }
}

/// Why settings could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// Settings given on the command line or as `KEYWARD_*` variables; every field is optional so
/// that the file and the defaults can fill the gaps.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SettingsArgs {
    /// Config file (TOML). Default: ./keyward.toml when it exists.
    #[arg(long, env = "KEYWARD_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "KEYWARD_LISTEN", global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Public URL of this instance, as browsers and apps reach it [default: http://localhost:<port>]
    #[arg(long, env = "KEYWARD_PUBLIC_URL", global = true, value_name = "URL")]
    pub public_url: Option<Url>,
    /// OAuth issuer identifier [default: the public URL]
    #[arg(long, env = "KEYWARD_ISSUER", global = true, value_name = "URL")]
    pub issuer: Option<Url>,
    /// Directory for the embedded database and generated master key [default: data]
    #[arg(long, env = "KEYWARD_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Store: sqlite://path or postgres://user@host/db [default: sqlite://<data-dir>/keyward.db]
    #[arg(long, env = "KEYWARD_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Upstream OpenAI API base URL [default: https://api.openai.com/v1]
    #[arg(long, env = "KEYWARD_UPSTREAM", global = true, value_name = "URL")]
    pub upstream: Option<Url>,
    /// File holding the master key ring (one base64url key per line, newest first).
    /// The key itself can be given as KEYWARD_MASTER_KEY instead.
    #[arg(
        long,
        env = "KEYWARD_MASTER_KEY_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub master_key_file: Option<PathBuf>,
    /// Largest request body the proxy accepts, e.g. 32MiB [default: 32MiB]
    #[arg(long, env = "KEYWARD_BODY_LIMIT", global = true, value_name = "SIZE", value_parser = parse_size)]
    pub body_limit: Option<usize>,
    /// Upstream connect timeout, e.g. 10s [default: 10s]
    #[arg(long, env = "KEYWARD_UPSTREAM_CONNECT_TIMEOUT", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub upstream_connect_timeout: Option<Duration>,
    /// Longest wait for upstream response headers [default: 300s]
    #[arg(long, env = "KEYWARD_UPSTREAM_FIRST_BYTE_TIMEOUT", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub upstream_first_byte_timeout: Option<Duration>,
    /// Longest silence between two upstream body chunks [default: 120s]
    #[arg(long, env = "KEYWARD_UPSTREAM_IDLE_TIMEOUT", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub upstream_idle_timeout: Option<Duration>,
    /// Redis URL for rate limits shared across instances, e.g. redis://127.0.0.1:6379
    #[arg(long, env = "KEYWARD_REDIS_URL", global = true, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "KEYWARD_LOG_FORMAT", global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Serve the demo chat app at /demo [default: true]
    #[arg(long, env = "KEYWARD_DEMO", global = true, value_name = "BOOL")]
    pub demo: Option<bool>,
    /// Let any website use Keyward with its origin as client_id, unregistered [default: true]
    #[arg(
        long,
        env = "KEYWARD_ORIGIN_CLIENTS",
        global = true,
        value_name = "BOOL"
    )]
    pub origin_clients: Option<bool>,
    /// Allow RFC 7591 dynamic client registration of public clients [default: false]
    #[arg(
        long,
        env = "KEYWARD_DYNAMIC_REGISTRATION",
        global = true,
        value_name = "BOOL"
    )]
    pub dynamic_registration: Option<bool>,
    /// How long in-flight streams may finish after SIGTERM/Ctrl-C [default: 30s]
    #[arg(long, env = "KEYWARD_SHUTDOWN_GRACE", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_grace: Option<Duration>,
    /// Requests one client IP may make at once to sign-up, passkey and OAuth endpoints [default: 20]
    #[arg(long, env = "KEYWARD_IP_RATE_BURST", global = true, value_name = "N")]
    pub ip_rate_burst: Option<u32>,
    /// Requests per second one client IP regains for those endpoints; 0 turns the limit off [default: 5]
    #[arg(
        long,
        env = "KEYWARD_IP_RATE_PER_SECOND",
        global = true,
        value_name = "N"
    )]
    pub ip_rate_per_second: Option<u32>,
    /// Reverse proxies (IPs or CIDR ranges, comma separated) whose X-Forwarded-For header names
    /// the client [default: none, the header is ignored]
    #[arg(long, env = "KEYWARD_TRUSTED_PROXIES", global = true, value_name = "CIDRS", value_delimiter = ',', value_parser = parse_ip_net)]
    pub trusted_proxies: Option<Vec<ipnet::IpNet>>,
    /// How long a crashed instance's budget reservations stay counted before any instance
    /// releases them; running requests renew theirs [default: 5m]
    #[arg(long, env = "KEYWARD_RESERVATION_LEASE", global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub reservation_lease: Option<Duration>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The same settings as they appear in `keyward.toml` (snake_case keys), plus the price table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    public_url: Option<Url>,
    issuer: Option<Url>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    upstream: Option<Url>,
    master_key_file: Option<PathBuf>,
    body_limit: Option<SizeValue>,
    upstream_connect_timeout: Option<DurationValue>,
    upstream_first_byte_timeout: Option<DurationValue>,
    upstream_idle_timeout: Option<DurationValue>,
    redis_url: Option<String>,
    log_format: Option<LogFormat>,
    demo: Option<bool>,
    origin_clients: Option<bool>,
    dynamic_registration: Option<bool>,
    shutdown_grace: Option<DurationValue>,
    ip_rate_burst: Option<u32>,
    ip_rate_per_second: Option<u32>,
    trusted_proxies: Option<Vec<String>>,
    reservation_lease: Option<DurationValue>,
    #[serde(default)]
    prices: BTreeMap<String, Price>,
}

/// A size in the file: a number of bytes or a string such as "32MiB".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(usize),
    Text(String),
}

/// A duration in the file: a number of seconds or a string such as "500ms".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurationValue {
    Seconds(u64),
    Text(String),
}

impl SizeValue {
    fn resolve(self, name: &'static str) -> Result<usize, ConfigError> {
        match self {
            Self::Bytes(n) => Ok(n),
            Self::Text(s) => {
                parse_size(&s).map_err(|message| ConfigError::Invalid { name, message })
            }
        }
    }
}

impl DurationValue {
    fn resolve(self, name: &'static str) -> Result<Duration, ConfigError> {
        match self {
            Self::Seconds(n) => Ok(Duration::from_secs(n)),
            Self::Text(s) => {
                parse_duration(&s).map_err(|message| ConfigError::Invalid { name, message })
            }
        }
    }
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_UPSTREAM: &str = "https://api.openai.com/v1";
const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
const DEFAULT_IP_RATE: IpRateLimit = IpRateLimit {
    burst: 20,
    per_second: 5,
};
/// Leases shorter than this would need renewing more often than once a second.
const MIN_RESERVATION_LEASE: Duration = Duration::from_secs(3);

impl Settings {
    /// Resolves settings from flags/env (`args`), the config file and the defaults.
    /// `master_key_env` is the value of `KEYWARD_MASTER_KEY`, passed in so tests need not touch
    /// the process environment.
    pub fn resolve(
        args: &SettingsArgs,
        master_key_env: Option<String>,
    ) -> Result<Settings, ConfigError> {
        let file = load_file(args.config.as_deref())?;
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default address"));
        let public_url = match args.public_url.clone().or(file.public_url) {
            Some(url) => url,
            None => default_public_url(listen),
        };
        check_base_url("public_url", &public_url)?;
        let issuer = args
            .issuer
            .clone()
            .or(file.issuer)
            .unwrap_or_else(|| public_url.clone());
        check_base_url("issuer", &issuer)?;
        let data_dir = args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = args
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("keyward.db").display()));
        let upstream = args
            .upstream
            .clone()
            .or(file.upstream)
            .unwrap_or_else(|| Url::parse(DEFAULT_UPSTREAM).expect("valid default upstream"));
        check_base_url("upstream", &upstream)?;
        let master_key = match (
            master_key_env.filter(|k| !k.trim().is_empty()),
            args.master_key_file.clone().or(file.master_key_file),
        ) {
            (Some(keys), _) => MasterKeySource::Env(zeroize::Zeroizing::new(keys)),
            (None, Some(path)) => MasterKeySource::File(path),
            (None, None) => MasterKeySource::Generated(data_dir.join("master.key")),
        };
        let body_limit = match args.body_limit {
            Some(n) => n,
            None => file
                .body_limit
                .map(|v| v.resolve("body_limit"))
                .transpose()?
                .unwrap_or(DEFAULT_BODY_LIMIT),
        };
        let duration = |flag: Option<Duration>,
                        value: Option<DurationValue>,
                        name: &'static str,
                        default: u64|
         -> Result<Duration, ConfigError> {
            match flag {
                Some(d) => Ok(d),
                None => Ok(value
                    .map(|v| v.resolve(name))
                    .transpose()?
                    .unwrap_or(Duration::from_secs(default))),
            }
        };
        let mut prices = PriceTable::defaults();
        prices.extend(file.prices);
        let ip_rate_limit = IpRateLimit {
            burst: args
                .ip_rate_burst
                .or(file.ip_rate_burst)
                .unwrap_or(DEFAULT_IP_RATE.burst),
            per_second: args
                .ip_rate_per_second
                .or(file.ip_rate_per_second)
                .unwrap_or(DEFAULT_IP_RATE.per_second),
        };
        if ip_rate_limit.burst == 0 && ip_rate_limit.per_second > 0 {
            return Err(ConfigError::Invalid {
                name: "ip_rate_burst",
                message: "must be at least 1 (set ip_rate_per_second = 0 to turn the limit off)"
                    .into(),
            });
        }
        let trusted_proxies = match (args.trusted_proxies.clone(), file.trusted_proxies) {
            (Some(nets), _) => nets,
            (None, Some(texts)) => texts
                .iter()
                .map(|t| parse_ip_net(t))
                .collect::<Result<_, _>>()
                .map_err(|message| ConfigError::Invalid {
                    name: "trusted_proxies",
                    message,
                })?,
            (None, None) => Vec::new(),
        };
        let reservation_lease = duration(
            args.reservation_lease,
            file.reservation_lease,
            "reservation_lease",
            300,
        )?;
        if reservation_lease < MIN_RESERVATION_LEASE {
            return Err(ConfigError::Invalid {
                name: "reservation_lease",
                message: format!("must be at least {}s", MIN_RESERVATION_LEASE.as_secs()),
            });
        }
        Ok(Settings {
            listen,
            public_url,
            issuer,
            data_dir,
            database_url,
            upstream,
            master_key,
            body_limit,
            upstream_connect_timeout: duration(
                args.upstream_connect_timeout,
                file.upstream_connect_timeout,
                "upstream_connect_timeout",
                10,
            )?,
            upstream_first_byte_timeout: duration(
                args.upstream_first_byte_timeout,
                file.upstream_first_byte_timeout,
                "upstream_first_byte_timeout",
                300,
            )?,
            upstream_idle_timeout: duration(
                args.upstream_idle_timeout,
                file.upstream_idle_timeout,
                "upstream_idle_timeout",
                120,
            )?,
            redis_url: args.redis_url.clone().or(file.redis_url),
            log_json: args.log_format.or(file.log_format) == Some(LogFormat::Json),
            demo: args.demo.or(file.demo).unwrap_or(true),
            origin_clients: args.origin_clients.or(file.origin_clients).unwrap_or(true),
            dynamic_registration: args
                .dynamic_registration
                .or(file.dynamic_registration)
                .unwrap_or(false),
            shutdown_grace: duration(
                args.shutdown_grace,
                file.shutdown_grace,
                "shutdown_grace",
                30,
            )?,
            ip_rate_limit,
            trusted_proxies,
            reservation_lease,
            prices,
        })
    }

    /// The `/v1` base URL apps put in `baseURL`.
    pub fn proxy_base_url(&self) -> String {
        format!("{}/v1", self.public_url.as_str().trim_end_matches('/'))
    }

    /// The issuer as it appears in `iss` values: no trailing slash.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// True when pages are served over https, so cookies get `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn load_file(explicit: Option<&Path>) -> Result<FileSettings, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from("keyward.toml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            return Ok(FileSettings::default());
        }
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path,
        message: e.to_string(),
    })
}

fn default_public_url(listen: SocketAddr) -> Url {
    Url::parse(&format!("http://localhost:{}", listen.port())).expect("valid default public URL")
}

fn check_base_url(name: &'static str, url: &Url) -> Result<(), ConfigError> {
    let invalid = |message: &str| ConfigError::Invalid {
        name,
        message: format!("{url}: {message}"),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid("must not carry a query, fragment or user name"));
    }
    Ok(())
}

/// Parses "512", "64KiB", "32MiB", "1GiB" (also KB/MB/GB as powers of 1000).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 32MiB"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
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
        .ok_or_else(|| format!("{s:?} is too large"))
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
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30s or 500ms"))?;
    Ok(match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => return Err(format!("unknown duration unit {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SettingsArgs {
        SettingsArgs {
            config: Some(PathBuf::from("/nonexistent/keyward.toml")),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_need_nothing() {
        // Tests run in the package root, which has no keyward.toml.
        let s = Settings::resolve(&SettingsArgs::default(), None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.issuer_str(), "http://localhost:8080");
        assert_eq!(s.database_url, "sqlite://data/keyward.db");
        assert_eq!(s.upstream.as_str(), "https://api.openai.com/v1");
        assert_eq!(s.proxy_base_url(), "http://localhost:8080/v1");
        assert!(
            matches!(s.master_key, MasterKeySource::Generated(ref p) if p == Path::new("data/master.key"))
        );
        assert_eq!(s.body_limit, 32 << 20);
        assert!(s.demo && s.origin_clients && !s.dynamic_registration);
        assert_eq!(s.ip_rate_limit, DEFAULT_IP_RATE);
        assert!(
            s.trusted_proxies.is_empty(),
            "X-Forwarded-For is not trusted by default"
        );
        assert_eq!(s.reservation_lease, Duration::from_secs(300));
    }

    #[test]
    fn trusted_proxies_and_ip_limits_come_from_file_or_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(
            &path,
            "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nip_rate_burst = 3\n\
             reservation_lease = \"1m\"\n",
        )
        .unwrap();
        let mut a = SettingsArgs {
            config: Some(path),
            ..Default::default()
        };
        let s = Settings::resolve(&a, None).unwrap();
        let nets: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
        assert_eq!(s.ip_rate_limit.burst, 3);
        assert_eq!(s.reservation_lease, Duration::from_secs(60));
        a.trusted_proxies = Some(vec![parse_ip_net("192.0.2.1").unwrap()]);
        a.ip_rate_per_second = Some(0);
        let s = Settings::resolve(&a, None).unwrap();
        assert_eq!(s.trusted_proxies.len(), 1);
        assert_eq!(s.ip_rate_limit.per_second, 0);
        assert!(parse_ip_net("10.0.0.0/33").is_err());
        assert!(parse_ip_net("proxy.internal").is_err());
        a.reservation_lease = Some(Duration::from_secs(1));
        assert!(matches!(
            Settings::resolve(&a, None),
            Err(ConfigError::Invalid {
                name: "reservation_lease",
                ..
            })
        ));
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        assert!(matches!(
            Settings::resolve(&args(), None),
            Err(ConfigError::Read { .. })
        ));
    }

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\nbody_limit = \"1MiB\"\nupstream_idle_timeout = 7\n\
             demo = false\n[prices.\"my-model\"]\ninput = 1.0\noutput = 2.0\n",
        )
        .unwrap();
        let mut a = SettingsArgs {
            config: Some(path),
            ..Default::default()
        };
        let s = Settings::resolve(&a, None).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.public_url.as_str(), "http://localhost:9000/");
        assert_eq!(s.body_limit, 1 << 20);
        assert_eq!(s.upstream_idle_timeout, Duration::from_secs(7));
        assert!(!s.demo);
        assert!(s.prices.get("my-model").is_some());
        a.listen = Some("127.0.0.1:9100".parse().unwrap());
        a.body_limit = Some(5);
        let s = Settings::resolve(&a, Some("abc".into())).unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.body_limit, 5);
        assert!(matches!(s.master_key, MasterKeySource::Env(_)));
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let a = SettingsArgs {
            config: Some(path),
            ..Default::default()
        };
        let err = Settings::resolve(&a, None).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("32MiB"), Ok(32 << 20));
        assert_eq!(parse_size("10kb"), Ok(10_000));
        assert!(parse_size("ten").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("5 weeks").is_err());
    }

    #[test]
    fn base_urls_are_checked() {
        let a = SettingsArgs {
            upstream: Some(Url::parse("ftp://example.com/v1").unwrap()),
            ..Default::default()
        };
        assert!(matches!(
            Settings::resolve(&a, None),
            Err(ConfigError::Invalid {
                name: "upstream",
                ..
            })
        ));
    }
}
