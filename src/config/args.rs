//! The declaration: every setting once, as a field. The field's name is its `keyward.toml` key
//! and (in kebab case) its flag; `env` names its variable; the doc comment is its `--help` text
//! and its row in `docs/configuration.md` (with its default in `[default: …]`). Settings are
//! grouped by the commands that take them, so each command's `--help` lists only its own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::values::{self, parse_duration, parse_ip_net, parse_listen, parse_size};

/// Every setting: what `keyward serve` takes. Each field is unset unless given, so that the
/// layers below (`keyward.toml`, then the defaults) can fill it.
#[derive(Clone, Debug, Default, clap::Args, Serialize)]
pub struct SettingsArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub master_key: MasterKeyArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub serve: ServeArgs,
}

/// Settings of every command that opens the store: where the config file and the store are,
/// and how to log.
#[derive(Clone, Debug, Default, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Settings")]
pub struct CommonArgs {
    /// Config file (TOML) [default: keyward.toml]
    ///
    /// The default is read from the working directory when it exists; a file named here must
    /// exist. Its settings lie under the KEYWARD_* variables and the flags.
    #[arg(long, env = "KEYWARD_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database and the generated master key [default: data]
    #[arg(long, env = "KEYWARD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The store: sqlite://PATH or postgres://USER:PASS@HOST/DB [default: sqlite://<data-dir>/keyward.db]
    #[arg(long, env = "KEYWARD_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// Log format: text, or json for one JSON object per line [default: text]
    ///
    /// RUST_LOG filters the lines as usual. Text is coloured only on a terminal (and never with
    /// NO_COLOR set), so a log file holds plain lines.
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// Settings of the commands that open the vault.
#[derive(Clone, Debug, Default, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Settings")]
pub struct MasterKeyArgs {
    /// File holding the master key ring, one base64url key per line, newest first [default: <data-dir>/master.key]
    ///
    /// The default file is generated on first start. KEYWARD_MASTER_KEY, when set, is used
    /// instead of any file.
    #[arg(long, env = "KEYWARD_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// Settings only the server takes.
#[derive(Clone, Debug, Default, clap::Args, Serialize, Deserialize)]
#[command(next_help_heading = "Settings")]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT, or a bare PORT for 127.0.0.1:PORT [default: 127.0.0.1:8080]
    ///
    /// A host name (localhost:8080) is resolved at start; 0.0.0.0:8080 listens on every
    /// interface.
    #[arg(long, env = "KEYWARD_LISTEN", value_name = "ADDR", value_parser = parse_listen)]
    #[serde(default, deserialize_with = "values::listen")]
    pub listen: Option<SocketAddr>,
    /// Public URL of this instance, as browsers and apps reach it [default: http://localhost:<listen-port>]
    ///
    /// Pages, redirects, the WebAuthn relying party and the /v1 base URL derive from it.
    /// Passkeys need a domain name and https (plain http only on localhost): any other URL is
    /// refused at start.
    #[arg(long, env = "KEYWARD_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<Url>,
    /// OAuth issuer identifier (iss) [default: the public URL]
    #[arg(long, env = "KEYWARD_ISSUER", value_name = "URL")]
    pub issuer: Option<Url>,
    /// The OpenAI-compatible API the proxy forwards to [default: https://api.openai.com/v1]
    #[arg(long, env = "KEYWARD_UPSTREAM", value_name = "URL")]
    pub upstream: Option<Url>,
    /// Largest request body the proxy accepts; 413 above it [default: 32MiB]
    #[arg(long, env = "KEYWARD_BODY_LIMIT", value_name = "SIZE", value_parser = parse_size)]
    #[serde(default, deserialize_with = "values::size")]
    pub body_limit: Option<usize>,
    /// Connect timeout (TCP and TLS) to the upstream; 502 when exceeded [default: 10s]
    #[arg(long, env = "KEYWARD_UPSTREAM_CONNECT_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(default, with = "values::duration")]
    pub upstream_connect_timeout: Option<Duration>,
    /// Longest wait for the upstream's response headers; 504 when exceeded [default: 300s]
    ///
    /// Reasoning models can think for minutes before answering a non-streaming call.
    #[arg(long, env = "KEYWARD_UPSTREAM_FIRST_BYTE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(default, with = "values::duration")]
    pub upstream_first_byte_timeout: Option<Duration>,
    /// Longest silence between two chunks of an upstream body [default: 120s]
    ///
    /// There is no total timeout, so long streams are never cut.
    #[arg(long, env = "KEYWARD_UPSTREAM_IDLE_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(default, with = "values::duration")]
    pub upstream_idle_timeout: Option<Duration>,
    /// Redis for requests-per-minute counters shared by several instances, e.g. redis://127.0.0.1:6379 [default: none]
    ///
    /// Without it each instance counts on its own.
    #[arg(long, env = "KEYWARD_REDIS_URL", value_name = "URL")]
    pub redis_url: Option<String>,
    /// Serve the demo chat app at /demo [default: true]
    #[arg(long, env = "KEYWARD_DEMO", value_name = "BOOL")]
    pub demo: Option<bool>,
    /// Let any website use Keyward with its exact origin as client_id, unregistered [default: true]
    ///
    /// The consent screen marks such apps unverified.
    #[arg(long, env = "KEYWARD_ORIGIN_CLIENTS", value_name = "BOOL")]
    pub origin_clients: Option<bool>,
    /// RFC 7591 dynamic registration of public clients at /oauth/register [default: false]
    #[arg(long, env = "KEYWARD_DYNAMIC_REGISTRATION", value_name = "BOOL")]
    pub dynamic_registration: Option<bool>,
    /// After SIGTERM or Ctrl-C, how long in-flight requests and streams may finish [default: 30s]
    #[arg(long, env = "KEYWARD_SHUTDOWN_GRACE", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(default, with = "values::duration")]
    pub shutdown_grace: Option<Duration>,
    /// Requests one client IP may make at once to sign-up, passkey and OAuth endpoints [default: 20]
    ///
    /// They are the sign-up key check, the passkey JSON calls and /oauth/token, /revoke,
    /// /introspect and /register (POSTs only; one bucket per client for all of them, per
    /// instance).
    #[arg(long, env = "KEYWARD_IP_RATE_BURST", value_name = "N")]
    pub ip_rate_burst: Option<u32>,
    /// Requests per second one client IP regains for those endpoints; 0 turns the limit off [default: 5]
    ///
    /// Over the limit a client gets 429 with Retry-After.
    #[arg(long, env = "KEYWARD_IP_RATE_PER_SECOND", value_name = "N")]
    pub ip_rate_per_second: Option<u32>,
    /// Reverse proxies (IPs or CIDR ranges) whose X-Forwarded-For names the client [default: none]
    ///
    /// Comma separated in the flag and variable, a list in keyward.toml. Without it the header
    /// is ignored and the client is the TCP peer: behind a proxy, every client then shares the
    /// proxy's bucket.
    #[arg(long, env = "KEYWARD_TRUSTED_PROXIES", value_name = "CIDRS", value_delimiter = ',', value_parser = parse_ip_net)]
    #[serde(default, with = "values::ip_nets")]
    pub trusted_proxies: Option<Vec<ipnet::IpNet>>,
    /// How long a crashed instance's budget reservations stay counted [default: 5m]
    ///
    /// Requests in flight renew their reservations while they run; if an instance dies, its
    /// reservations are released once this runs out (at least 3s).
    #[arg(long, env = "KEYWARD_RESERVATION_LEASE", value_name = "DURATION", value_parser = parse_duration)]
    #[serde(default, with = "values::duration")]
    pub reservation_lease: Option<Duration>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The flag that names the config file; every other setting is also a `keyward.toml` key.
pub(super) const CONFIG_FLAG: &str = "config";

impl SettingsArgs {
    /// The declared settings as clap sees them, in declaration order.
    pub(super) fn declared() -> Vec<clap::Arg> {
        <Self as clap::Args>::augment_args(clap::Command::new("keyward"))
            .get_arguments()
            .cloned()
            .collect()
    }

    /// The settings `keyward.toml` may hold: all but the one that names the file.
    pub(super) fn file_keys() -> Vec<String> {
        Self::declared()
            .iter()
            .map(|a| a.get_id().to_string())
            .filter(|id| id != CONFIG_FLAG)
            .collect()
    }
}
