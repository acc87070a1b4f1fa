//! End-to-end tests against the real server: real sockets, real sled files
//! in a temporary directory. One binary; each area is a module.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod attacks;
mod corrections;
mod crash;
mod digest;
mod governance;
mod layering;
mod nodes;
mod oidc;
mod operate;
mod postgres;
mod server;
mod support;
mod sync;
mod ywebsocket;
