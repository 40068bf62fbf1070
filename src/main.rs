//! The `keyward` command: run the server, migrate the store, manage the vault and clients.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command prints its answer; the server logs through tracing"
)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keyward::app::StartError;
use keyward::app::{AppState, Server, shutdown_signal};
use keyward::config::{CommonArgs, MASTER_KEY_ENV, MasterKeyArgs, Settings, SettingsArgs};
use keyward::invalidation::{Invalidation, Invalidator};
use keyward::oauth::id_token::{SigningError, rotate_signing_key};
use keyward::oauth::registration::{NewClient, RegisterError, register};
use keyward::store::clients::ClientKind;
use keyward::store::{Store, StoreError};
use keyward::vault::rotate::RotateError;
use keyward::vault::{KeyRing, MasterKey, Vault, VaultError, rotate};

/// Keyward lets people sign in to AI apps with their own OpenAI API key; the app never sees the
/// key. It is an OAuth 2.0 authorization server (passkeys, consent, PKCE) with an
/// OpenAI-compatible proxy at /v1.
///
/// Every setting can also come from keyward.toml or a KEYWARD_* environment variable
/// (flags win over the environment, which wins over the file); each command's --help lists
/// its own. `keyward serve` with no settings at all runs on http://localhost:8080 with an
/// embedded SQLite store in ./data.
#[derive(Parser)]
#[command(name = "keyward", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the authorization server and the /v1 proxy.
    Serve(Box<SettingsArgs>),
    /// Apply pending database migrations and exit (`serve` also does this at start).
    Migrate(CommonArgs),
    /// Manage the master key ring that seals people's provider keys.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Register, list and remove the apps (OAuth clients) this server knows.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Manage the key that signs OpenID Connect ID tokens.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register an app. Prints its client_id (and, with --confidential, its secret, once).
    Add {
        /// The name people see on the consent screen.
        #[arg(long)]
        name: String,
        /// An exact redirect URI (repeat for several). https, http on 127.0.0.1/[::1]/localhost
        /// (any port), or a native app's private-use scheme such as com.example.app:/cb.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A server-side app that can keep a secret: it gets one for the token endpoint.
        #[arg(long)]
        confidential: bool,
        /// An https URL of the app's logo, shown on the consent screen.
        #[arg(long)]
        logo_url: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// List registered apps.
    List(CommonArgs),
    /// Remove an app; its grants and tokens stop working.
    Remove {
        /// The app's client_id.
        client_id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Subcommand)]
enum SigningKeyCommand {
    /// Create a new ID token signing key; every instance signs with it from now on, and older
    /// keys stay published so tokens they signed still verify.
    Rotate(VaultArgs),
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Add a new master key (when the ring is a file) and re-wrap every sealed entry under the
    /// newest key. With KEYWARD_MASTER_KEY, put the new key first yourself, then run this.
    Rotate(VaultArgs),
    /// Show the ring's key ids and which of them the store's sealed data uses.
    Status(VaultArgs),
    /// Print a new random master key (for KEYWARD_MASTER_KEY or a key file).
    NewKey,
}

/// The settings of the commands that open the vault: the store's and the master key's.
#[derive(clap::Args)]
struct VaultArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    master_key: MasterKeyArgs,
}

impl Command {
    /// The settings this command was given; those it does not take stay unset, so only
    /// keyward.toml and the defaults speak for them.
    fn settings(&self) -> SettingsArgs {
        let (common, master_key) = match self {
            Command::Serve(all) => return SettingsArgs::clone(all),
            Command::Vault(VaultCommand::NewKey) => return SettingsArgs::default(),
            Command::Migrate(common)
            | Command::Clients(
                ClientsCommand::Add { common, .. }
                | ClientsCommand::List(common)
                | ClientsCommand::Remove { common, .. },
            ) => (common, None),
            Command::Vault(VaultCommand::Rotate(vault) | VaultCommand::Status(vault))
            | Command::SigningKey(SigningKeyCommand::Rotate(vault)) => {
                (&vault.common, Some(&vault.master_key))
            }
        };
        SettingsArgs {
            common: common.clone(),
            master_key: master_key.cloned().unwrap_or_default(),
            ..Default::default()
        }
    }
}

/// Why a command failed; printed as one line naming the fix where there is one.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("master key: {0}")]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Rotate(#[from] RotateError),
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("signing key: {0}")]
    Signing(#[from] SigningError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("no client {0}; `keyward clients list` shows the registered ones")]
    UnknownClient(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings =
        match Settings::resolve(&cli.command.settings(), std::env::var(MASTER_KEY_ENV).ok()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("keyward: {e}");
                return ExitCode::from(2);
            }
        };
    keyward::telemetry::init(settings.log_json);
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // On stderr, where a failed command's reason belongs, also under --log-format json.
            eprintln!("keyward: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), CliError> {
    match command {
        Command::Serve(_) => serve(settings).await,
        Command::Migrate(_) => {
            Store::open(&settings.database_url).await?;
            println!("migrations are up to date");
            Ok(())
        }
        Command::Vault(cmd) => vault(cmd, settings).await,
        Command::Clients(cmd) => clients(cmd, settings).await,
        Command::SigningKey(SigningKeyCommand::Rotate(_)) => {
            let store = Store::open(&settings.database_url).await?;
            let ring = KeyRing::load(&settings.master_key, &store).await?;
            let vault = Vault::new(ring, settings.master_key.clone());
            let kid = rotate_signing_key(&store, &vault).await?;
            println!("new ID token signing key {kid} is now in use; older keys stay in the JWKS");
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    // The port first: a taken one must fail before anything is written to disk.
    let listener = keyward::app::bind(settings.listen).await?;
    let state = AppState::open(settings).await?;
    let server = Server::with_listener(listener, state.clone());
    let addr = server.local_addr()?;
    let settings = &state.settings;
    tracing::info!(
        listen = %addr,
        url = %settings.public_url,
        proxy = %settings.proxy_base_url(),
        upstream = %settings.upstream,
        store = ?state.store.kind(),
        "Keyward is listening on {}, forwarding {} to {}",
        settings.public_url,
        settings.proxy_base_url(),
        settings.upstream
    );
    Ok(server.run(shutdown_signal()).await?)
}

async fn vault(cmd: VaultCommand, settings: Settings) -> Result<(), CliError> {
    match cmd {
        VaultCommand::NewKey => {
            println!("{}", &*MasterKey::generate().to_base64());
            Ok(())
        }
        VaultCommand::Status(_) => {
            let store = Store::open(&settings.database_url).await?;
            let ring = KeyRing::load(&settings.master_key, &store).await?;
            println!("master key ring (active first): {}", ring.ids().join(", "));
            for (id, n) in store.master_key_ids_in_use().await? {
                println!("  {id}: seals {n} item(s)");
            }
            Ok(())
        }
        VaultCommand::Rotate(_) => {
            let store = Store::open(&settings.database_url).await?;
            let report = rotate::rotate(&settings.master_key, &store).await?;
            if report.added_key {
                println!("added master key {} to the ring", report.active_key_id);
            }
            println!(
                "re-wrapped {} vault entr{} and {} signing key(s) under {}{}",
                report.rewrapped_vault_entries,
                if report.rewrapped_vault_entries == 1 {
                    "y"
                } else {
                    "ies"
                },
                report.rewrapped_signing_keys,
                report.active_key_id,
                if report.skipped > 0 {
                    format!(" ({} changed meanwhile and already use it)", report.skipped)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
    }
}

async fn clients(cmd: ClientsCommand, settings: Settings) -> Result<(), CliError> {
    let store = Store::open(&settings.database_url).await?;
    match cmd {
        ClientsCommand::Add {
            name,
            redirect_uris,
            confidential,
            logo_url,
            common: _,
        } => {
            let new = NewClient {
                name,
                redirect_uris,
                logo_url,
                confidential,
            };
            let (client, secret) =
                register(&store, new, ClientKind::Registered, keyward::clock::now()).await?;
            println!("client_id: {}", client.id);
            if let Some(secret) = secret {
                println!("client_secret: {secret}");
                println!("(shown once: Keyward stores only its hash)");
            }
            Ok(())
        }
        ClientsCommand::List(_) => {
            let clients = store
                .clients(&[ClientKind::Registered, ClientKind::Dynamic])
                .await?;
            if clients.is_empty() {
                println!("no registered clients");
            }
            for c in clients {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    c.id,
                    c.kind.as_str(),
                    if c.is_confidential() {
                        "confidential"
                    } else {
                        "public"
                    },
                    c.name,
                    c.redirect_uris.join(" ")
                );
            }
            Ok(())
        }
        ClientsCommand::Remove { client_id, .. } => {
            if store.delete_client(&client_id).await? {
                // Running instances drop cached tokens (at once on PostgreSQL; on SQLite
                // within the proxy cache's lifetime).
                Invalidator::new(store.clone())
                    .publish(Invalidation::Flush)
                    .await;
                println!("removed {client_id}; its grants and tokens no longer work");
                Ok(())
            } else {
                Err(CliError::UnknownClient(client_id))
            }
        }
    }
}
