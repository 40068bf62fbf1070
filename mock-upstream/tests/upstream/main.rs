//! Tests of the mock upstream over real loopback HTTP.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod api;
mod streams;
mod support;
