//! `mock-upstream [--port N]`: runs the mock OpenAI API on 127.0.0.1 until killed.
#![allow(
    clippy::print_stderr,
    reason = "a command reports its errors on stderr"
)]

use std::io::Write;
use std::process::ExitCode;

use keyward_mock_upstream::MockUpstream;

const DEFAULT_PORT: u16 = 18080;
const USAGE: &str = "usage: mock-upstream [--port N]   (default port 18080; 0 picks a free one)";

fn parse_port(mut args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = DEFAULT_PORT;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" | "-p" => args.next().ok_or("--port needs a value")?,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => match other.strip_prefix("--port=") {
                Some(value) => value.to_owned(),
                None => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            },
        };
        port = value.parse().map_err(|_| format!("bad port {value:?}"))?;
    }
    Ok(port)
}

#[tokio::main]
async fn main() -> ExitCode {
    let port = match parse_port(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mock = match MockUpstream::start_on(port).await {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("mock upstream: cannot listen on 127.0.0.1:{port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "mock upstream listening on {}", mock.base_url());
    let _ = stdout.flush();
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_PORT, parse_port};

    fn parse(args: &[&str]) -> Result<u16, String> {
        parse_port(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn parses_the_port_flag() {
        assert_eq!(parse(&[]), Ok(DEFAULT_PORT));
        assert_eq!(parse(&["--port", "9000"]), Ok(9000));
        assert_eq!(parse(&["--port=0"]), Ok(0));
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "http"]).is_err());
        assert!(parse(&["--verbose"]).is_err());
    }
}
