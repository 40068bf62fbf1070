//! The operator's commands, run as the real binary: `keyward clients add|list|remove` and
//! `keyward signing-key rotate`.

use std::process::{Command, Output};

use keyward::store::Store;
use keyward::vault::MasterKey;

/// Runs `keyward ARGS` with its store and master key in `dir`.
fn keyward(dir: &std::path::Path, master_key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("KEYWARD_DATA_DIR", dir)
        .env("KEYWARD_MASTER_KEY", master_key)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run keyward")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn clients_add_list_remove_and_signing_key_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().to_base64().to_string();
    let added = keyward(
        dir.path(),
        &key,
        &[
            "clients",
            "add",
            "--name",
            "Notes",
            "--redirect-uri",
            "https://notes.example/cb",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--confidential",
            "--logo-url",
            "https://notes.example/logo.png",
        ],
    );
    assert!(added.status.success(), "{added:?}");
    let out = stdout(&added);
    let client_id = field(&out, "client_id").to_owned();
    let secret = field(&out, "client_secret").to_owned();
    assert!(secret.starts_with("kw_cs_"));
    assert!(out.contains("shown once"));

    // Only the secret's hash is stored.
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = Store::open(&url).await.unwrap();
    let client = store.client(&client_id).await.unwrap().expect("stored");
    assert_eq!(client.name, "Notes");
    assert_eq!(client.redirect_uris.len(), 2);
    assert_eq!(
        client.secret_hash.as_deref(),
        Some(keyward::token_format::hash(&secret).as_str())
    );

    let public = keyward(
        dir.path(),
        &key,
        &[
            "clients",
            "add",
            "--name",
            "Spa",
            "--redirect-uri",
            "https://spa.example/",
        ],
    );
    assert!(public.status.success());
    assert!(!stdout(&public).contains("client_secret"));

    let listed = stdout(&keyward(dir.path(), &key, &["clients", "list"]));
    assert!(
        listed.contains(&client_id) && listed.contains("confidential") && listed.contains("public")
    );
    assert!(!listed.contains(&secret));

    for bad in [
        "http://notes.example/cb",
        "https://notes.example/cb#x",
        "HTTPS://notes.example/cb",
    ] {
        let refused = keyward(
            dir.path(),
            &key,
            &["clients", "add", "--name", "Bad", "--redirect-uri", bad],
        );
        assert!(!refused.status.success(), "{bad} refused");
        assert!(String::from_utf8_lossy(&refused.stderr).contains(bad));
    }

    let removed = keyward(dir.path(), &key, &["clients", "remove", &client_id]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(store.client(&client_id).await.unwrap().is_none());
    assert!(
        !keyward(dir.path(), &key, &["clients", "remove", &client_id])
            .status
            .success()
    );

    for n in 1..=2 {
        let rotated = keyward(dir.path(), &key, &["signing-key", "rotate"]);
        assert!(rotated.status.success(), "{rotated:?}");
        let keys = keyward::oauth::id_token::jwks(&store).await.unwrap();
        assert_eq!(keys["keys"].as_array().unwrap().len(), n);
    }

    // Last, because closing any descriptor of the database file drops SQLite's POSIX locks for
    // this whole process (the open store would then read stale snapshots).
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "the secret is nowhere in the store"
        );
    }
}
