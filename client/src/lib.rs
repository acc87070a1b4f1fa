//! Plait's browser client: a Leptos client-side-rendered app over the same
//! `plait-shared` documents the server stores, kept in IndexedDB so it works
//! with no network, and synced when there is one.
//!
//! `main.rs` only mounts [`app::App`]; the logic that can be tested without
//! a page lives in modules of its own.

pub mod api;
pub mod app;
pub mod browser;
pub mod chunks;
pub mod components;
pub mod contexts;
pub mod frame;
pub mod json;
pub mod markup;
pub mod pages;
pub mod storage;
pub mod sync;
pub mod uploads;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
