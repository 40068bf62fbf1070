//! The official openai SDKs (Python and Node) against the proxy: `conformance/python` and
//! `conformance/node` run against an in-process Keyward and the mock upstream, with tokens
//! made through the library API. `scripts/test` installs both SDKs and sets
//! `KEYWARD_TEST_PYTHON` / `KEYWARD_TEST_NODE`; without them these tests print a SKIPPED line,
//! and under `CI` they fail.

use std::path::{Path, PathBuf};

use keyward::invalidation::Invalidation;
use keyward::store::grants::Limits;
use keyward::store::usage::Consumption;
use keyward::token_format::{self, TokenKind};
use keyward_testkit::fixtures;
use keyward_testkit::{Backend, TestServer};

/// The interpreter named by `var`, or `None` (skip) when unset outside CI.
fn interpreter(var: &str, what: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{var} is required when CI is set (scripts/test sets it)")
        }
        None => {
            eprintln!(
                "SKIPPED ({var} not set: run scripts/test, or point it at {what}; set CI=1 to make this fail)"
            );
            None
        }
    }
}

/// Starts Keyward and makes the tokens the SDK scripts use, as environment variables.
async fn fixtures() -> (TestServer, Vec<(&'static str, String)>) {
    let server = TestServer::start(Backend::Sqlite).await.expect("sqlite");
    let state = &server.state;
    let user = fixtures::create_user(state, "sk-proj-SdkPersonKey0123456789ABCDEFGH").await;
    let scopes = ["openai.chat", "openai.embeddings", "openai.models"];
    let (_, token) = fixtures::grant_token(
        state,
        &user,
        &scopes,
        Limits {
            models: vec!["gpt-4o-mini".into(), "text-embedding-3-small".into()],
            ..Limits::default()
        },
    )
    .await;
    let (revoked_grant, revoked) =
        fixtures::grant_token(state, &user, &scopes, Limits::default()).await;
    state.store.revoke_grant(&revoked_grant.id).await.unwrap();
    state
        .invalidator
        .publish(Invalidation::Grant(revoked_grant.id))
        .await;
    let (broke_grant, broke) = fixtures::grant_token(
        state,
        &user,
        &scopes,
        Limits {
            budget_microusd: Some(1_000),
            ..Limits::default()
        },
    )
    .await;
    let spent = Consumption {
        cost_microusd: Some(1_000),
        ..Consumption::default()
    };
    let month = keyward::metering::month_of(keyward::clock::now());
    state
        .store
        .settle_usage(&broke_grant.id, &month, None, &spent)
        .await
        .unwrap();
    let mock_root = server.mock.base_url().trim_end_matches("/v1").to_owned();
    let env = vec![
        ("KW_BASE_URL", server.proxy_url()),
        ("KW_MOCK_URL", mock_root),
        ("KW_TOKEN", token),
        ("KW_REVOKED_TOKEN", revoked),
        (
            "KW_UNKNOWN_TOKEN",
            token_format::issue(TokenKind::Access).plaintext,
        ),
        ("KW_BROKE_TOKEN", broke),
    ];
    (server, env)
}

/// Runs a client program and fails with its output when it fails.
async fn run(program: &Path, args: &[&str], dir: &Path, env: &[(&str, String)]) {
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{text}");
    assert!(
        output.status.success(),
        "{} {args:?} failed",
        program.display()
    );
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_against_the_proxy() {
    let Some(python) = interpreter(
        "KEYWARD_TEST_PYTHON",
        "a python with conformance/python/requirements.txt installed",
    ) else {
        return;
    };
    let (server, env) = fixtures().await;
    let dir = root().join("conformance/python");
    run(
        &python,
        &[
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_proxy.py",
        ],
        &dir,
        &env,
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sdk_against_the_proxy() {
    let Some(node) = interpreter(
        "KEYWARD_TEST_NODE",
        "node, after `npm ci` in conformance/node",
    ) else {
        return;
    };
    let dir = root().join("conformance/node");
    assert!(
        dir.join("node_modules/openai").exists(),
        "run `npm ci` in conformance/node first (scripts/test does)"
    );
    let (server, env) = fixtures().await;
    run(&node, &["--test", "proxy.test.mjs"], &dir, &env).await;
    server.stop().await;
}
