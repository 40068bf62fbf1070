//! Seeds a person, an app and a grant into a Keyward store through the library API and prints
//! the access token: for benchmarks and manual tries of a standalone instance, before the
//! authorization server's consent flow is available to script. It takes the same settings as
//! `keyward serve` (flags, `KEYWARD_*` variables or keyward.toml), so it writes to the store the
//! server will use and seals the key under the same master key. Run it before starting the
//! server (SQLite) or at any time (PostgreSQL):
//!
//! ```text
//! cargo run --release --example seed_token -- --data-dir /tmp/kw \
//!     --provider-key sk-proj-… --scope openai.chat --scope openai.models
//! ```
#![allow(clippy::print_stdout, reason = "the example prints the token it made")]

use clap::Parser;
use keyward::clock::now;
use keyward::config::{Settings, SettingsArgs};
use keyward::oauth::issue::issue_tokens;
use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::{Grant, Limits};
use keyward::store::users::User;
use keyward::store::{Store, new_id};
use keyward::vault::{KeyRing, ProviderKey, Vault};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    settings: SettingsArgs,
    /// The OpenAI key the grant uses (any key for a mock upstream).
    #[arg(long, env = "KEYWARD_SEED_PROVIDER_KEY")]
    provider_key: String,
    /// Scopes to grant (repeat the flag) [default: openai.chat openai.models]
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Requests per minute allowed to the app (none by default).
    #[arg(long)]
    rpm: Option<u32>,
    /// Monthly budget in micro-USD (none by default).
    #[arg(long)]
    budget_microusd: Option<i64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let settings = Settings::resolve(&args.settings, std::env::var("KEYWARD_MASTER_KEY").ok())?;
    let store = Store::open(&settings.database_url).await?;
    let ring = KeyRing::load(&settings.master_key, &store).await?;
    let vault = Vault::new(ring, settings.master_key.clone());

    let user = User {
        id: new_id(),
        webauthn_id: new_id(),
        display_name: "Seeded person".into(),
        created_at: now(),
    };
    store.insert_user(&user).await?;
    let sealed = vault.seal_provider_key(&user.id, &ProviderKey::new(&args.provider_key))?;
    store
        .put_vault_entry(&user.id, &sealed.key_id, &sealed.jwe)
        .await?;
    let client = Client {
        id: format!("seeded-{}", &new_id()[..8]),
        kind: ClientKind::Registered,
        name: "Seeded app".into(),
        logo_url: None,
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        secret_hash: None,
        created_at: now(),
    };
    store.insert_client(&client).await?;
    let scopes = if args.scopes.is_empty() {
        vec!["openai.chat".into(), "openai.models".into()]
    } else {
        args.scopes
    };
    let limits = Limits {
        rpm: args.rpm,
        budget_microusd: args.budget_microusd,
        ..Limits::default()
    };
    let grant = Grant::new(&user.id, &client.id, scopes, limits, keyward::clock::now());
    store.insert_grant(&grant).await?;
    let issued = issue_tokens(&store, &grant, &new_id(), keyward::clock::now()).await?;
    println!("{}", issued.access_token);
    Ok(())
}
