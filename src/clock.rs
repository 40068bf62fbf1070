//! The one place Keyward reads the wall clock.
//!
//! Rules (OAuth, budgets, token state, limits) are plain functions of their inputs and a `now`
//! they are given, so tests can run them at any fixed time. Only the edges read the clock: HTTP
//! handlers, background tasks and the command line call [`now`] once and pass the value down.
//! `clippy.toml` bans `SystemTime::now` and `OffsetDateTime::now_utc` everywhere else.

/// Current time as Unix seconds.
#[allow(clippy::disallowed_methods, reason = "the one permitted clock read")]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Current time as Unix milliseconds, for identifiers that must order within a second.
#[allow(clippy::disallowed_methods, reason = "the one permitted clock read")]
pub fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
