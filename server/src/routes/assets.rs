//! The built web client. Trunk names its assets with a content hash, so they
//! are cached for a year; `index.html` must never be cached, or a new release
//! would not be picked up.

use std::path::Path;

use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

pub(crate) fn service(dir: &Path) -> Router {
    let index = dir.join("index.html");
    // The build writes a brotli and a gzip copy of every wasm, js and css
    // file (client/build/compress.mjs): sent by `Accept-Encoding`, they
    // cost no CPU per request, and brotli at its best setting is a good
    // deal smaller than gzip on a ward's slow link. Anything without a
    // precompressed copy (index.html, sw.js) is gzipped on the fly.
    //
    // A path the client routes itself (`/p/demo/actions`) gets the app; a
    // missing file (`/chunk_3-0123456789abcdef.wasm`, gone with a release)
    // is a 404, never the app's page under a name cached for a year.
    let app = ServeFile::new(index);
    let page = axum::routing::get(move |request: Request<axum::body::Body>| {
        let app = app.clone();
        async move {
            if names_a_file(request.uri().path()) {
                return StatusCode::NOT_FOUND.into_response();
            }
            match app.oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            }
        }
    });
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(page);
    Router::new()
        .fallback_service(files)
        .layer(CompressionLayer::new().gzip(true))
        .layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(request: Request<axum::body::Body>, next: Next) -> Response {
    let hashed = is_hashed_asset(request.uri().path());
    let mut response = next.run(request).await;
    let value = if hashed && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Whether `path` names a file (its last segment has an extension), not a
/// page of the app.
fn names_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|name| name.contains('.'))
}

/// Hashed names look like `plait-client-0123456789abcdef_bg.wasm` or
/// `chunk_12-0123456789abcdef.wasm` (client/build/split-wasm.mjs):
/// a 64-bit hash in hex, without leading zeros (so one time in sixteen it
/// has 15 digits, and rarely fewer).
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let stem = name.split('.').next().unwrap_or_default();
    stem.trim_end_matches("_bg")
        .rsplit('-')
        .next()
        .is_some_and(|hash| {
            (12..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

#[cfg(test)]
mod tests {
    use super::{is_hashed_asset, names_a_file};

    #[test]
    fn files_are_told_from_pages() {
        assert!(names_a_file("/chunk_3-0123456789abcdef.wasm"));
        assert!(names_a_file("/assets/images/favicon.svg"));
        assert!(!names_a_file("/p/demo/actions"));
        assert!(!names_a_file("/p/demo/"));
        assert!(!names_a_file("/"));
    }

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed_asset("/plait-client-3f2a9c0d1e4b5a6f_bg.wasm"));
        // A hash whose first digit was a zero.
        assert!(is_hashed_asset("/plait-client-428e8f69f8f0bd2_bg.wasm"));
        assert!(is_hashed_asset("/plait-client-3f2a9c0d1e4b5a6f.js"));
        assert!(is_hashed_asset("/style-0123456789abcdef.css"));
        assert!(is_hashed_asset("/split_setup-0123456789abcdef.wasm"));
        assert!(is_hashed_asset("/__wasm_split-0123456789abcdef.js"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/sw.js"));
        assert!(!is_hashed_asset("/plait-client.js"));
    }
}
