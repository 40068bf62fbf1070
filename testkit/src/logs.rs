//! Captures every log line the process writes (Keyward runs in-process), so tests can check
//! that no secret ever reaches a log.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

static CAPTURED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (once per test binary): Keyward and the server-side libraries it drives
/// (webauthn-rs, axum, tower-http) at `trace`, everything else at `info`. The test's own HTTP
/// client libraries (cookie_store, reqwest) are left out: they log the cookies they receive,
/// which is the browser's business, not the server's.
pub fn capture() {
    CAPTURED.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,keyward=trace,webauthn_rs=trace,webauthn_rs_core=trace,axum=trace,\
                 tower_http=trace,cookie_store=off,reqwest=off",
            ))
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .try_init();
        buffer
    });
}

/// Everything captured so far.
pub fn captured() -> String {
    let buffer = CAPTURED.get().expect("call logs::capture() first");
    String::from_utf8_lossy(&buffer.lock().expect("log buffer")).into_owned()
}
