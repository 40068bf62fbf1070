//! The state every handler shares, and how an instance builds it at start: the store (migrated),
//! the master key ring, the upstream client, the proxy's per-process parts and the metrics. It
//! sits below the router ([`crate::app`]), so modules that take `AppState` never import the
//! router.

use std::sync::Arc;

use crate::config::Settings;
use crate::invalidation::Invalidator;
use crate::store::{Store, StoreError};
use crate::vault::{KeyRing, Vault, VaultError};

/// State shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub vault: Arc<Vault>,
    /// Announces revocations and limit changes to every cache on every instance.
    pub invalidator: Invalidator,
    /// HTTP client for the upstream API (see [`crate::upstream`]).
    pub upstream: reqwest::Client,
    /// The `/v1` proxy's token cache, rate limiter and bookkeeping throttles.
    pub proxy: Arc<crate::proxy::ProxyState>,
    /// Prometheus metrics (`/metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("master key: {0}")]
    Vault(#[from] VaultError),
    #[error("cannot listen on {addr}: {source}; {}", bind_advice(source.kind()))]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

/// What an operator can do when the listen address cannot be bound.
fn bind_advice(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::AddrInUse => {
            "another process (perhaps another Keyward) is using that port: stop it, or choose \
             another address with --listen (KEYWARD_LISTEN, or listen in keyward.toml)"
        }
        ErrorKind::PermissionDenied => {
            "ports below 1024 need extra privileges: listen on a higher port (--listen 8080) \
             and let a reverse proxy take 443"
        }
        ErrorKind::AddrNotAvailable => {
            "this machine has no such address: listen on 127.0.0.1, 0.0.0.0 (every interface) \
             or one of its own addresses"
        }
        _ => "check the address given with --listen (KEYWARD_LISTEN, or listen in keyward.toml)",
    }
}

impl AppState {
    /// Opens (and migrates) the store, loads the master key ring and builds the state.
    /// What needs only the settings is checked first, so a mistake there writes nothing.
    pub async fn open(settings: Settings) -> Result<AppState, StartError> {
        crate::passkey::relying_party(&settings).map_err(StartError::Setup)?;
        let upstream = crate::upstream::client(&settings)
            .map_err(|e| StartError::Setup(format!("upstream HTTP client: {e}")))?;
        let store = Store::open(&settings.database_url).await?;
        let ring = KeyRing::load(&settings.master_key, &store).await?;
        tracing::info!(active_key_id = ring.active().id(), "master key ring loaded");
        let vault = Arc::new(Vault::new(ring, settings.master_key.clone()));
        crate::oauth::id_token::ensure_signing_key(&store, &vault)
            .await
            .map_err(|e| StartError::Setup(format!("ID token signing key: {e}")))?;
        crate::oauth::spawn_housekeeping(store.clone());
        let invalidator = Invalidator::new(store.clone());
        invalidator.listen();
        let proxy = crate::proxy::ProxyState::new(&settings, &invalidator, &store)
            .map_err(StartError::Setup)?;
        Ok(AppState {
            settings: Arc::new(settings),
            store,
            vault,
            invalidator,
            upstream,
            proxy: Arc::new(proxy),
            metrics: Arc::default(),
        })
    }
}
