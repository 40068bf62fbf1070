//! Settings, layered: built-in defaults < `keyward.toml` < `KEYWARD_*` environment < command-line flags.
//!
//! Each setting is declared once, in `args`. clap layers each `KEYWARD_*` variable under its
//! flag, `layers` puts the file under both, and [`Settings::resolve`] fills in the defaults
//! and checks what no single value can show.

mod args;
mod docs;
mod file;
mod layers;
mod master_key;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

pub use self::args::{CommonArgs, LogFormat, MasterKeyArgs, ServeArgs, SettingsArgs};
pub use self::docs::markdown_table;
pub use self::master_key::{MASTER_KEY_ENV, MasterKeySource};
pub use self::values::{parse_duration, parse_ip_net, parse_size};
use crate::metering::prices::PriceTable;

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
    #[error("config file {path} has an unknown setting `{key}`{hint}")]
    UnknownKey {
        path: PathBuf,
        key: String,
        /// "(did you mean …)", or where the settings are listed.
        hint: String,
    },
    #[error("invalid setting {key} in {origin}: {message}")]
    Value {
        key: String,
        origin: String,
        message: String,
    },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
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
        let file = file::ConfigFile::load(args.common.config.as_deref())?;
        let SettingsArgs {
            common,
            master_key,
            serve,
        } = layers::merge(file.as_ref(), args)?;
        let listen = serve
            .listen
            .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default address"));
        let public_url = serve
            .public_url
            .unwrap_or_else(|| default_public_url(listen));
        check_base_url("public_url", &public_url)?;
        check_passkeys_work_at(&public_url)?;
        let issuer = serve.issuer.unwrap_or_else(|| public_url.clone());
        check_base_url("issuer", &issuer)?;
        let data_dir = common.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = common
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("keyward.db").display()));
        let upstream = serve
            .upstream
            .unwrap_or_else(|| Url::parse(DEFAULT_UPSTREAM).expect("valid default upstream"));
        check_base_url("upstream", &upstream)?;
        let ip_rate_limit = IpRateLimit {
            burst: serve.ip_rate_burst.unwrap_or(DEFAULT_IP_RATE.burst),
            per_second: serve
                .ip_rate_per_second
                .unwrap_or(DEFAULT_IP_RATE.per_second),
        };
        if ip_rate_limit.burst == 0 && ip_rate_limit.per_second > 0 {
            return Err(ConfigError::Invalid {
                name: "ip_rate_burst",
                message: "must be at least 1 (set ip_rate_per_second = 0 to turn the limit off)"
                    .into(),
            });
        }
        let reservation_lease = serve.reservation_lease.unwrap_or(Duration::from_secs(300));
        if reservation_lease < MIN_RESERVATION_LEASE {
            return Err(ConfigError::Invalid {
                name: "reservation_lease",
                message: format!("must be at least {}s", MIN_RESERVATION_LEASE.as_secs()),
            });
        }
        let mut prices = PriceTable::defaults();
        prices.extend(file.map(|f| f.prices).unwrap_or_default());
        Ok(Settings {
            listen,
            public_url,
            issuer,
            master_key: MasterKeySource::pick(
                master_key_env,
                master_key.master_key_file,
                &data_dir,
            ),
            data_dir,
            database_url,
            upstream,
            body_limit: serve.body_limit.unwrap_or(DEFAULT_BODY_LIMIT),
            upstream_connect_timeout: serve
                .upstream_connect_timeout
                .unwrap_or(Duration::from_secs(10)),
            upstream_first_byte_timeout: serve
                .upstream_first_byte_timeout
                .unwrap_or(Duration::from_secs(300)),
            upstream_idle_timeout: serve
                .upstream_idle_timeout
                .unwrap_or(Duration::from_secs(120)),
            redis_url: serve.redis_url,
            log_json: common.log_format == Some(LogFormat::Json),
            demo: serve.demo.unwrap_or(true),
            origin_clients: serve.origin_clients.unwrap_or(true),
            dynamic_registration: serve.dynamic_registration.unwrap_or(false),
            shutdown_grace: serve.shutdown_grace.unwrap_or(Duration::from_secs(30)),
            ip_rate_limit,
            trusted_proxies: serve.trusted_proxies.unwrap_or_default(),
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

fn default_public_url(listen: SocketAddr) -> Url {
    Url::parse(&format!("http://localhost:{}", listen.port())).expect("valid default public URL")
}

fn check_base_url(name: &'static str, url: &Url) -> Result<(), ConfigError> {
    // Credentials in a URL are not repeated in the error.
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let invalid = |message: &str| ConfigError::Invalid {
        name,
        message: format!("{shown}: {message}"),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be an http or https URL"));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(invalid(
            "must not carry a query, fragment, user name or password",
        ));
    }
    Ok(())
}

/// Passkeys (WebAuthn) need a domain name and a secure context: browsers offer them over
/// https, and over plain http only on `localhost` (and its subdomains). A public URL where
/// nobody could sign up is refused at start, with the fix, before anything is written.
fn check_passkeys_work_at(url: &Url) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        name: "public_url",
        message: format!("{url}: {message}"),
    };
    let Some(url::Host::Domain(host)) = url.host() else {
        return Err(invalid(
            "passkeys need a domain name, not an IP address: use http://localhost:PORT on \
             your own machine, or https with a domain name"
                .into(),
        ));
    };
    let local = host == "localhost" || host.ends_with(".localhost");
    if url.scheme() == "http" && !local {
        return Err(invalid(format!(
            "passkeys need https (browsers offer them over plain http only on localhost): \
             serve Keyward behind TLS, for example a reverse proxy terminating https, and give \
             https://{host}; or use http://localhost:PORT on your own machine"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Settings given only `--config path`.
    fn with_config(path: PathBuf) -> SettingsArgs {
        SettingsArgs {
            common: CommonArgs {
                config: Some(path),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn args() -> SettingsArgs {
        with_config(PathBuf::from("/nonexistent/keyward.toml"))
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
        let mut a = with_config(path);
        let s = Settings::resolve(&a, None).unwrap();
        let nets: Vec<String> = s.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
        assert_eq!(s.ip_rate_limit.burst, 3);
        assert_eq!(s.reservation_lease, Duration::from_secs(60));
        a.serve.trusted_proxies = Some(vec![parse_ip_net("192.0.2.1").unwrap()]);
        a.serve.ip_rate_per_second = Some(0);
        let s = Settings::resolve(&a, None).unwrap();
        assert_eq!(s.trusted_proxies.len(), 1);
        assert_eq!(s.ip_rate_limit.per_second, 0);
        assert!(parse_ip_net("10.0.0.0/33").is_err());
        assert!(parse_ip_net("proxy.internal").is_err());
        a.serve.reservation_lease = Some(Duration::from_secs(1));
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
        let mut a = with_config(path);
        let s = Settings::resolve(&a, None).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.public_url.as_str(), "http://localhost:9000/");
        assert_eq!(s.body_limit, 1 << 20);
        assert_eq!(s.upstream_idle_timeout, Duration::from_secs(7));
        assert!(!s.demo);
        assert!(s.prices.get("my-model").is_some());
        a.serve.listen = Some("127.0.0.1:9100".parse().unwrap());
        a.serve.body_limit = Some(5);
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
        let a = with_config(path);
        let err = Settings::resolve(&a, None).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

    #[test]
    fn file_errors_name_the_setting_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        let error_for = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::resolve(&with_config(path.clone()), None)
                .unwrap_err()
                .to_string()
        };
        let err = error_for("body_limit = \"ten\"\n");
        assert!(
            err.contains("body_limit") && err.contains("k.toml") && err.contains("32MiB"),
            "{err}"
        );
        let err = error_for("demo = \"yes\"\n");
        assert!(err.contains("demo") && err.contains("k.toml"), "{err}");
        let err = error_for("lisen = 8080\n");
        assert!(err.contains("did you mean `listen`"), "{err}");
    }

    #[test]
    fn public_url_must_be_one_where_passkeys_work() {
        let resolve = |url: &str| {
            let a = SettingsArgs {
                serve: ServeArgs {
                    public_url: Some(Url::parse(url).unwrap()),
                    ..Default::default()
                },
                ..Default::default()
            };
            Settings::resolve(&a, None).map(|s| s.public_url.to_string())
        };
        for ok in [
            "https://keys.example.org",
            "https://keys.example.org:8443/keyward",
            "http://localhost:8080",
            "http://keyward.localhost:8080",
        ] {
            assert!(resolve(ok).is_ok(), "{ok}");
        }
        let err = resolve("http://keys.example.org").unwrap_err().to_string();
        for expected in ["public_url", "https://keys.example.org", "localhost"] {
            assert!(err.contains(expected), "{expected:?} missing: {err}");
        }
        for ip in [
            "http://127.0.0.1:8080",
            "https://192.0.2.7",
            "http://[::1]:8080",
        ] {
            let err = resolve(ip).unwrap_err().to_string();
            assert!(
                err.contains("not an IP address") && err.contains("http://localhost:PORT"),
                "{ip}: {err}"
            );
        }
        let err = resolve("https://user:pw@keys.example.org")
            .unwrap_err()
            .to_string();
        assert!(err.contains("password") && !err.contains("pw@"), "{err}");
    }

    #[test]
    fn base_urls_are_checked() {
        let a = SettingsArgs {
            serve: ServeArgs {
                upstream: Some(Url::parse("ftp://example.com/v1").unwrap()),
                ..Default::default()
            },
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
