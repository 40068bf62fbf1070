//! Keyward's own integration tests, in one binary (one link instead of one per suite): each
//! module drives real parts — the store on SQLite and PostgreSQL, an in-process server and
//! the mock upstream, or the built `keyward` binary — through the library API or over HTTP.
//! Shared helpers come from the test kit (`keyward-testkit`).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test code: an unwrap is an assertion, and SKIPPED lines and measured figures belong in the test output"
)]

mod cli_clients;
mod cli_serve;
mod layering;
mod proxy;
mod reservations;
mod scale_out;
mod sdk_clients;
mod store;
