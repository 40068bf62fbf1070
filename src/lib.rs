//! Keyward: people sign in to AI apps with their own OpenAI API key, and the app never sees it.
//!
//! One process, two faces: an OAuth 2.0 authorization server (passkeys, consent, PKCE, tokens,
//! OIDC ID tokens) and a resource proxy under `/v1` that swaps an app's token for the person's
//! key and streams the upstream's answer back. `docs/architecture.md` describes the modules, their
//! layers and how a request flows through them.

pub mod account;
pub mod app;
pub mod clock;
pub mod config;
pub mod consent;
pub mod endpoints;
pub mod invalidation;
pub mod ip_throttle;
pub mod metering;
pub mod metrics;
pub mod money;
pub mod oauth;
pub mod ops;
pub mod passkey;
pub mod proxy;
pub mod rate_limit;
pub mod scopes;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod token_format;
pub mod upstream;
pub mod vault;
pub mod web;
