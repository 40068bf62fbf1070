//! OpenAI-looking identifiers and Unix timestamps.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// Seconds since the Unix epoch (the mock stamps `created` like OpenAI).
#[allow(
    clippy::disallowed_methods,
    reason = "the mock has no rules to test at fixed times, so it reads the clock directly"
)]
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `prefix` followed by `len` random letters and digits, e.g. `chatcmpl-B9MBs8Cj…`.
pub(crate) fn alnum(prefix: &str, len: usize) -> String {
    random(prefix, len, ALNUM)
}

/// `prefix` followed by `len` random lower-case hex digits, e.g. `resp_67ccd2be…`.
pub(crate) fn hex(prefix: &str, len: usize) -> String {
    random(prefix, len, HEX)
}

fn random(prefix: &str, len: usize, alphabet: &[u8]) -> String {
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    id.extend((0..len).map(|_| {
        let pick = next_random() % alphabet.len() as u64;
        char::from(alphabet[pick as usize])
    }));
    id
}

/// splitmix64 over a process-wide counter seeded from the clock: unique enough for ids.
fn next_random() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    #[allow(clippy::disallowed_methods, reason = "a seed, not a time")]
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    });
    let step = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut z = seed.wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
