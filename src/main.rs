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
use keyward::oauth::registration::{ClientChanges, NewClient, RegisterError, register, update};
use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::ClientActivity;
use keyward::store::{Store, StoreError};
use keyward::vault::rotate::RotateError;
use keyward::vault::{KeyRing, MasterKey, Vault, VaultError, rotate};
use keyward::web::templates::utc_datetime;

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
    /// Register, list, change and remove the apps (OAuth clients) this server knows.
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
    /// List the apps: client_id, name, kind, redirect URIs, logo, when it was registered and
    /// last used, and how many people's grants are active. Never a secret.
    List {
        /// Also list websites people used with their origin as client_id (unregistered).
        #[arg(long)]
        all: bool,
        /// Print a JSON array (times in Unix seconds), for scripts.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Change an app's name, redirect URIs or logo. Its client_id and secret stay the same,
    /// and so do the grants people gave it.
    Update {
        /// The app's client_id.
        client_id: String,
        /// The name people see on the consent screen.
        #[arg(long)]
        name: Option<String>,
        /// Add an exact redirect URI (repeat for several); same rules as `clients add`.
        #[arg(long = "add-redirect-uri", value_name = "URI")]
        add_redirect_uris: Vec<String>,
        /// Remove a redirect URI (repeat for several); at least one must remain.
        #[arg(long = "remove-redirect-uri", value_name = "URI")]
        remove_redirect_uris: Vec<String>,
        /// A new https URL of the app's logo.
        #[arg(long, value_name = "URL", conflicts_with = "no_logo")]
        logo_url: Option<String>,
        /// Remove the logo (the consent screen then shows the name's first letter).
        #[arg(long)]
        no_logo: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
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
                | ClientsCommand::List { common, .. }
                | ClientsCommand::Update { common, .. }
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
    #[error(
        "nothing to change: give --name, --add-redirect-uri, --remove-redirect-uri, --logo-url \
         or --no-logo"
    )]
    NothingToChange,
    #[error("{0}")]
    Io(#[from] std::io::Error),
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
        ClientsCommand::List { all, json, .. } => {
            let kinds: &[ClientKind] = if all {
                &[
                    ClientKind::Registered,
                    ClientKind::Dynamic,
                    ClientKind::Origin,
                ]
            } else {
                &[ClientKind::Registered, ClientKind::Dynamic]
            };
            let clients = store.clients(kinds).await?;
            let activity = store.client_activity(keyward::clock::now()).await?;
            let activity_of = |c: &Client| activity.get(&c.id).copied().unwrap_or_default();
            if json {
                let list: Vec<_> = clients
                    .iter()
                    .map(|c| client_json(c, activity_of(c)))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            } else if clients.is_empty() {
                println!("no {}clients", if all { "" } else { "registered " });
            } else {
                let blocks: Vec<String> = clients
                    .iter()
                    .map(|c| client_text(c, activity_of(c)))
                    .collect();
                print!("{}", blocks.join("\n"));
            }
            Ok(())
        }
        ClientsCommand::Update {
            client_id,
            name,
            add_redirect_uris,
            remove_redirect_uris,
            logo_url,
            no_logo,
            common: _,
        } => {
            let changes = ClientChanges {
                name,
                add_redirect_uris,
                remove_redirect_uris,
                logo_url: if no_logo {
                    Some(None)
                } else {
                    logo_url.map(Some)
                },
            };
            if changes.is_empty() {
                return Err(CliError::NothingToChange);
            }
            let client = update(&store, &client_id, changes).await?;
            let activity = store.client_activity(keyward::clock::now()).await?;
            println!("updated {}:", client.id);
            print!(
                "{}",
                client_text(
                    &client,
                    activity.get(&client.id).copied().unwrap_or_default()
                )
            );
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
                Err(RegisterError::UnknownClient(client_id).into())
            }
        }
    }
}

/// Whether a client authenticates at the token endpoint with a secret.
fn client_type(c: &Client) -> &'static str {
    if c.is_confidential() {
        "confidential"
    } else {
        "public"
    }
}

/// A client as `clients list` and `clients update` show it: one block of aligned lines.
fn client_text(c: &Client, activity: ClientActivity) -> String {
    use std::fmt::Write as _;
    let when = |t: Option<i64>| t.map_or_else(|| "never".to_owned(), utc_datetime);
    let mut text = format!("{}  {}\n", c.id, c.name);
    let _ = writeln!(
        text,
        "  kind:           {}, {}",
        c.kind.as_str(),
        client_type(c)
    );
    let uris = if c.kind == ClientKind::Origin {
        vec!["any on its origin".to_owned()]
    } else {
        c.redirect_uris.clone()
    };
    let _ = writeln!(
        text,
        "  redirect URIs:  {}",
        uris.join("\n                  ")
    );
    let _ = writeln!(
        text,
        "  logo:           {}",
        c.logo_url.as_deref().unwrap_or("none")
    );
    let _ = writeln!(text, "  created:        {}", when(Some(c.created_at)));
    let _ = writeln!(text, "  last used:      {}", when(activity.last_used_at));
    let _ = writeln!(text, "  active grants:  {}", activity.active_grants);
    text
}

/// A client as `clients list --json` shows it.
fn client_json(c: &Client, activity: ClientActivity) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.id,
        "name": c.name,
        "kind": c.kind.as_str(),
        "type": client_type(c),
        "redirect_uris": c.redirect_uris,
        "logo_url": c.logo_url,
        "created_at": c.created_at,
        "last_used_at": activity.last_used_at,
        "active_grants": activity.active_grants,
    })
}
