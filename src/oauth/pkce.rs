//! PKCE (RFC 7636), required for every client and `S256` only: `plain` and a missing challenge
//! are refused (RFC 9700 §2.1.1), so a stolen code is useless without the app's verifier.
//!
//! Written here rather than taken from oxide-auth: its `Pkce` is the same dozen lines, but the
//! crate would add a second `base64`, `rand` and `sha2` plus `rust-argon2`, `rmp-serde` and
//! `chrono` to the build, and it reports failures as `()` where we explain them to developers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::token_format::constant_time_eq;

/// Why a challenge or verifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    #[error("code_challenge is required (PKCE with S256)")]
    MissingChallenge,
    #[error("code_challenge_method must be S256; plain and other methods are not supported")]
    UnsupportedMethod,
    #[error("code_challenge must be the 43-character base64url SHA-256 of the code_verifier")]
    MalformedChallenge,
    #[error("code_verifier is required")]
    MissingVerifier,
    #[error("code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")]
    MalformedVerifier,
    #[error("code_verifier does not match the code_challenge")]
    Mismatch,
}

/// Checks the authorization request's PKCE parameters and returns the challenge to store.
/// The method must be given explicitly: RFC 7636 makes an absent method mean `plain`.
pub fn check_challenge(method: Option<&str>, challenge: Option<&str>) -> Result<String, PkceError> {
    let challenge = challenge.ok_or(PkceError::MissingChallenge)?;
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(PkceError::MalformedChallenge);
    }
    Ok(challenge.to_owned())
}

/// Verifies the token request's `code_verifier` against the stored S256 challenge.
pub fn verify(challenge: &str, verifier: Option<&str>) -> Result<(), PkceError> {
    let verifier = verifier.ok_or(PkceError::MissingVerifier)?;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err(PkceError::MalformedVerifier);
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_example_verifies() {
        assert_eq!(
            check_challenge(Some("S256"), Some(CHALLENGE)).as_deref(),
            Ok(CHALLENGE)
        );
        assert_eq!(verify(CHALLENGE, Some(VERIFIER)), Ok(()));
    }

    #[test]
    fn plain_missing_and_malformed_are_refused() {
        assert_eq!(
            check_challenge(Some("plain"), Some(CHALLENGE)),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            check_challenge(None, Some(CHALLENGE)),
            Err(PkceError::UnsupportedMethod),
            "an absent method means plain"
        );
        assert_eq!(
            check_challenge(Some("S256"), None),
            Err(PkceError::MissingChallenge)
        );
        assert_eq!(
            check_challenge(Some("S256"), Some(&CHALLENGE[..42])),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(verify(CHALLENGE, None), Err(PkceError::MissingVerifier));
        assert_eq!(
            verify(CHALLENGE, Some("short")),
            Err(PkceError::MalformedVerifier)
        );
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl";
        assert_eq!(verify(CHALLENGE, Some(other)), Err(PkceError::Mismatch));
        assert_eq!(
            verify(CHALLENGE, Some(CHALLENGE)),
            Err(PkceError::Mismatch),
            "sending the challenge as verifier (plain) fails"
        );
    }
}
