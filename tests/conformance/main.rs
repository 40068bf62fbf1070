//! The conformance suite: a real Keyward on a loopback port (in-process, spoken to only over
//! HTTP), driven by clients no one here wrote — the `openidconnect` crate as relying party and
//! webauthn-authenticator-rs's `SoftPasskey` as the person's authenticator — plus the test
//! kit's cookie-keeping browser that reads the real pages and submits their real forms.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "test code: an unwrap is an assertion, and SKIPPED lines and measured figures belong in the test output"
)]

mod code_flow;
mod dashboard;
mod id_tokens;
mod oidc_relying_party;
mod pages;
mod secrets;
mod throttle;
