//! One `keyward serve` process: started with settings in its environment (as an operator's
//! service manager would), JSON logs captured line by line, signalled and reaped by its own
//! process id. A process still running when its handle is dropped is killed.

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a process may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines a process wrote, as they arrive.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<Vec<String>>>);

impl Output {
    fn collect(&self, stream: impl Read + Send + 'static) {
        let lines = self.0.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line);
            }
        });
    }

    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Everything so far as one text.
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }
}

/// A running (or exited) Keyward process.
pub struct Instance {
    pub name: String,
    /// `http://127.0.0.1:PORT`, where this process listens.
    pub url: String,
    /// A client for it (built once: building one per request costs tens of milliseconds,
    /// which would swamp what the tests time). It never goes through an environment proxy.
    pub http: reqwest::Client,
    /// Its log lines (JSON objects). Its stderr is drained too, and shown only when it
    /// fails to start.
    pub stdout: Output,
    child: Child,
}

/// Why a process did not come up.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Instance {
    /// Spawns `keyward serve` with `env` (on top of this process's environment) in `dir`, and
    /// waits until it logs the address it listens on, or exits.
    pub async fn start(
        name: &str,
        dir: &std::path::Path,
        env: &[(String, String)],
    ) -> Result<Instance, Exited> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .arg("serve")
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("KEYWARD_LISTEN", "127.0.0.1:0")
            .env("KEYWARD_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the keyward binary");
        let (stdout, stderr) = (Output::default(), Output::default());
        stdout.collect(child.stdout.take().expect("stdout"));
        stderr.collect(child.stderr.take().expect("stderr"));
        let started = Instant::now();
        loop {
            if let Some(addr) = stdout.lines().iter().find_map(|l| listening_on(l)) {
                return Ok(Instance {
                    name: name.to_owned(),
                    url: format!("http://{addr}"),
                    http: reqwest::Client::builder()
                        .no_proxy()
                        .build()
                        .expect("HTTP client"),
                    stdout,
                    child,
                });
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                tokio::time::sleep(Duration::from_millis(100)).await; // let the readers drain
                return Err(Exited {
                    status,
                    stdout: stdout.text(),
                    stderr: stderr.text(),
                });
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "{name} did not start listening: {}\n{}",
                stdout.text(),
                stderr.text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The operating system's id of the process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as a service manager stopping the instance does.
    pub fn terminate(&self) {
        signal(self.pid(), "TERM");
    }

    /// Kills the process at once (SIGKILL): a crash, as far as the store can tell.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `timeout` for the process to exit; its status and how long it took.
    pub async fn exited_within(&mut self, timeout: Duration) -> Option<(ExitStatus, Duration)> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some((status, started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Every log line, parsed; panics on a line that is not a JSON object.
    pub fn json_logs(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}: log line is not JSON ({e}): {l}", self.name));
                assert!(
                    v.is_object(),
                    "{}: log line is not an object: {l}",
                    self.name
                );
                v
            })
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

/// The `listen` field of the "Keyward is listening" line.
fn listening_on(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    let message = v.get("message")?.as_str()?;
    message
        .starts_with("Keyward is listening")
        .then(|| v.get("listen")?.as_str().map(str::to_owned))?
}

/// `kill -SIG PID`: one process, by its id.
fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}
