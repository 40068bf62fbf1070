//! The authorization server's protocol endpoints.

pub mod id_token;
pub mod issue;
