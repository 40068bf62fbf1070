//! An operator's first starts of `keyward serve`, run as the real binary: what it refuses
//! before writing anything (a taken port, a public URL where passkeys cannot work), what it
//! says when the master key is not the store's, and the log lines it writes to a file.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use keyward::vault::MasterKey;

/// `keyward ARGS` in `dir`, with `data` there as its data directory and nothing else set.
fn keyward(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
    command
        .current_dir(dir)
        .env_clear()
        .env("KEYWARD_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "info");
    command
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_taken_port_or_a_public_url_without_passkeys_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = keyward(dir.path())
        .args(["serve", "--listen", &addr])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = stderr(&out);
    for expected in [
        format!("cannot listen on {addr}"),
        "another process".into(),
        "--listen".into(),
    ] {
        assert!(
            said.contains(&expected),
            "{expected:?} missing from: {said}"
        );
    }
    assert!(
        !dir.path().join("data").exists(),
        "no data directory, master key or signing key for an instance that never ran"
    );

    let out = keyward(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--public-url", "http://keys.example.org"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let said = stderr(&out);
    for expected in [
        "public_url",
        "passkeys need https",
        "https://keys.example.org",
    ] {
        assert!(said.contains(expected), "{expected:?} missing from: {said}");
    }
    assert!(!dir.path().join("data").exists());
}

#[test]
fn a_wrong_master_key_names_what_was_tried_and_what_the_store_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (used, tried) = (MasterKey::generate(), MasterKey::generate());
    // Seals an ID token signing key under `used`.
    let rotated = keyward(dir.path())
        .env("KEYWARD_MASTER_KEY", used.to_base64().as_str())
        .args(["signing-key", "rotate"])
        .output()
        .unwrap();
    assert!(rotated.status.success(), "{rotated:?}");
    std::fs::write(dir.path().join("other.key"), tried.to_base64().as_bytes()).unwrap();

    let out = keyward(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--master-key-file", "other.key"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = stderr(&out);
    for expected in [
        format!("sealed under master key {} (1 item)", used.id()),
        format!(
            "the key file other.key (--master-key-file) holds {}",
            tried.id()
        ),
        format!("the ring holding {}", used.id()),
    ] {
        assert!(
            said.contains(&expected),
            "{expected:?} missing from: {said}"
        );
    }
    assert!(!said.contains("original"), "{said}");

    let out = keyward(dir.path())
        .env("KEYWARD_MASTER_KEY", tried.to_base64().as_str())
        .args(["vault", "status"])
        .output()
        .unwrap();
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "KEYWARD_MASTER_KEY (which wins over any key file) holds {}",
            tried.id()
        )),
        "{said}"
    );
    for key in [&used, &tried] {
        assert!(!said.contains(key.to_base64().as_str()));
    }
}

#[test]
fn text_logs_in_a_file_are_plain_and_the_start_up_line_names_the_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = keyward(dir.path())
        .env(
            "KEYWARD_MASTER_KEY",
            MasterKey::generate().to_base64().as_str(),
        )
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--upstream", "http://127.0.0.1:9/v1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let started = Instant::now();
    let mut lines = Vec::new();
    let listening = loop {
        let left = Duration::from_secs(30).saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("Keyward is listening") => break line,
            Ok(line) => lines.push(line),
            Err(_) => panic!("no start-up line within 30s: {lines:?}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    lines.push(listening.clone());
    for line in &lines {
        assert!(
            !line.contains('\u{1b}'),
            "no colour codes in a file: {line:?}"
        );
    }
    assert!(
        listening.contains("forwarding http://localhost:")
            && listening.contains("/v1 to http://127.0.0.1:9/v1"),
        "{listening}"
    );
}
