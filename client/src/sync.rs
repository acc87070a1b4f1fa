//! Keeping the browser's documents in step with the server.
//!
//! [`engine::SyncEngine`] is the protocol and its state machine with no IO:
//! it takes events (the socket opened, a frame arrived, the browser went
//! offline, a timer fired) and returns what to do (open a socket, send a
//! frame, wait, post an HTTP sync). The browser glue performs those effects,
//! so every rule here is tested without a network.

pub mod driver;
pub mod engine;
pub mod journal;
pub mod presence;
