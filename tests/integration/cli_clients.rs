//! The operator's commands, run as the real binary: `keyward clients add|list|update|remove`
//! and `keyward signing-key rotate`.

use std::process::{Command, Output};

use keyward::store::clients::{Client, ClientKind};
use keyward::store::grants::{Grant, Limits};
use keyward::store::users::User;
use keyward::store::{Store, new_id};
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_says(text: &str, expected: &[String]) {
    for e in expected {
        assert!(text.contains(e), "{e:?} missing from:\n{text}");
    }
}

#[tokio::test]
async fn clients_list_shows_what_an_operator_needs_and_update_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().to_base64().to_string();
    let run = |args: &[&str]| keyward(dir.path(), &key, args);
    let command = "clients add --name Notes --redirect-uri https://notes.example/cb --confidential";
    let added = run(&command.split(' ').collect::<Vec<_>>());
    assert!(added.status.success(), "{added:?}");
    let client_id = field(&stdout(&added), "client_id").to_owned();
    let secret = field(&stdout(&added), "client_secret").to_owned();

    // Two people allowed it; one of them revoked it since. One grant was used.
    let url = format!("sqlite://{}", dir.path().join("keyward.db").display());
    let store = Store::open(&url).await.unwrap();
    let now = keyward::clock::now();
    let mut grants = Vec::new();
    for name in ["Ann", "Bob"] {
        let user = User {
            id: new_id(),
            webauthn_id: new_id(),
            display_name: name.into(),
            created_at: now,
        };
        store.insert_user(&user).await.unwrap();
        let grant = Grant::new(&user.id, &client_id, vec![], Limits::default(), now);
        store.insert_grant(&grant).await.unwrap();
        grants.push(grant);
    }
    store.touch_grant(&grants[0].id, now).await.unwrap();
    store.revoke_grant(&grants[1].id).await.unwrap();
    let used = keyward::web::templates::utc_datetime(now);

    let succeeded = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        stdout(&out)
    };
    let listed = succeeded(&["clients", "list"]);
    assert_says(
        &listed,
        &[
            format!("{client_id}  Notes"),
            "kind:           registered, confidential".into(),
            "redirect URIs:  https://notes.example/cb".into(),
            "logo:           none".into(),
            "created:        ".into(),
            format!("last used:      {used}"),
            "active grants:  1".into(),
        ],
    );

    let said = succeeded(&[
        "clients",
        "update",
        &client_id,
        "--name",
        "Notes & Co",
        "--add-redirect-uri",
        "https://notes.example/cb2",
        "--add-redirect-uri",
        "http://127.0.0.1/cb",
        "--remove-redirect-uri",
        "https://notes.example/cb",
        "--logo-url",
        "https://notes.example/logo.png",
    ]);
    assert_says(
        &said,
        &[
            format!("updated {client_id}"),
            "Notes & Co".into(),
            "redirect URIs:  https://notes.example/cb2\n                  http://127.0.0.1/cb\n"
                .into(),
            "logo:           https://notes.example/logo.png".into(),
            "active grants:  1".into(),
        ],
    );
    let client = store.client(&client_id).await.unwrap().unwrap();
    assert_eq!(client.name, "Notes & Co");
    assert_eq!(
        client.redirect_uris,
        ["https://notes.example/cb2", "http://127.0.0.1/cb"]
    );
    assert_eq!(
        client.secret_hash.as_deref(),
        Some(keyward::token_format::hash(&secret).as_str()),
        "the secret stays the same"
    );

    // --json, for scripts: the same facts, never a secret or its hash.
    let json = succeeded(&["clients", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entry = &list[0];
    assert_eq!(entry["client_id"], client_id.as_str());
    assert_eq!(entry["type"], "confidential");
    assert_eq!(entry["kind"], "registered");
    assert_eq!(entry["active_grants"], 1);
    assert_eq!(entry["last_used_at"], now);
    assert_eq!(entry["redirect_uris"].as_array().unwrap().len(), 2);
    assert!(!json.contains(&secret) && !json.contains(client.secret_hash.as_deref().unwrap()));

    // Refusals name what is wrong and change nothing.
    for (args, says) in [
        (
            vec!["--remove-redirect-uri", "https://elsewhere.example/cb"],
            "https://elsewhere.example/cb is not one of the client's redirect URIs",
        ),
        (
            vec![
                "--remove-redirect-uri",
                "https://notes.example/cb2",
                "--remove-redirect-uri",
                "http://127.0.0.1/cb",
            ],
            "at least one redirect URI is required",
        ),
        (
            vec!["--add-redirect-uri", "http://notes.example/cb"],
            "http://notes.example/cb",
        ),
        (vec!["--logo-url", "http://notes.example/l.png"], "https"),
        (vec!["--name", "  "], "name"),
        (vec![], "nothing to change: give --name"),
    ] {
        let mut all = vec!["clients", "update", &client_id];
        all.extend(&args);
        let refused = run(&all);
        assert!(!refused.status.success(), "{args:?} refused");
        assert!(
            stderr(&refused).contains(says),
            "{args:?}: {}",
            stderr(&refused)
        );
    }
    assert_eq!(store.client(&client_id).await.unwrap().unwrap(), client);
    let unknown = run(&["clients", "update", "kwc_nope", "--name", "X"]);
    assert!(
        stderr(&unknown).contains("no client kwc_nope"),
        "{unknown:?}"
    );

    let removed = succeeded(&["clients", "update", &client_id, "--no-logo"]);
    assert_says(&removed, &["logo:           none".into()]);

    // Websites that used their origin as client_id show up with --all, and cannot be edited.
    store
        .ensure_client(&Client {
            id: "https://app.example".into(),
            kind: ClientKind::Origin,
            name: "app.example".into(),
            redirect_uris: vec![],
            ..client.clone()
        })
        .await
        .unwrap();
    assert!(!stdout(&run(&["clients", "list"])).contains("https://app.example"));
    let all = stdout(&run(&["clients", "list", "--all"]));
    assert!(
        all.contains("https://app.example  app.example") && all.contains("any on its origin"),
        "{all}"
    );
    let origin = run(&["clients", "update", "https://app.example", "--name", "App"]);
    assert!(
        stderr(&origin).contains("identified by its origin"),
        "{origin:?}"
    );
}
