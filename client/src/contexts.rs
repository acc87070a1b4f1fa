//! Application-wide state, provided once by the app and read with
//! `expect_context`.

pub mod notices;
pub mod session;
pub mod workspace;
