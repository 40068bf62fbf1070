//! Tests of the mock upstream over real loopback HTTP.

mod api;
mod streams;
mod support;
