//! The HTTP routes, one module per area.

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

mod archive;
mod assets;
mod auth;
mod blobs;
mod digest;
mod docs;
mod health;
mod pack;
mod papers;
mod programmes;
mod sync;
mod ws;

pub(crate) fn router(state: AppState) -> Router {
    let assets = assets::service(&state.config.client_dir);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/sync/{doc}", get(sync::websocket))
        .route("/api/docs/{doc}", get(docs::get_doc))
        .route(
            "/api/docs/{doc}/sync",
            post(sync::http_sync).layer(axum::extract::DefaultBodyLimit::max(
                state.config.max_message_bytes,
            )),
        )
        .route("/api/docs/{doc}/history", get(docs::history))
        .route("/api/docs/{doc}/export", get(programmes::export_plan))
        .route(
            "/api/docs/{doc}/findings/{finding}/pack",
            get(pack::evidence_pack_zip),
        )
        .route("/api/programmes/{doc}/report", get(programmes::report))
        .route(
            "/api/programmes/{doc}/export",
            get(programmes::export_programme),
        )
        .route(
            "/api/programmes/{doc}/import",
            post(programmes::import_plan).layer(axum::extract::DefaultBodyLimit::max(
                state.config.max_blob_bytes,
            )),
        )
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/options", get(auth::options))
        .route(
            plait_shared::api::SSO_CALLBACK_PATH,
            get(auth::sso_callback),
        )
        .route("/api/auth/oidc/{n}/start", get(auth::sso_start))
        .route("/api/me", get(auth::get_me))
        .route(
            "/api/blobs/{sha256}",
            get(blobs::get_blob)
                .put(blobs::put_blob)
                .layer(axum::extract::DefaultBodyLimit::max(
                    state.config.max_blob_bytes,
                )),
        )
        .route(
            "/api/programmes",
            get(programmes::list).post(programmes::create),
        )
        .route(
            "/api/programmes/{doc}/members",
            get(auth::members).post(auth::invite),
        )
        .route(
            "/api/programmes/{doc}/members/{user}",
            axum::routing::put(auth::set_member),
        )
        .route("/api/programmes/{doc}/plans", post(programmes::create_plan))
        .route("/api/programmes/{doc}/close", post(archive::close))
        .route("/api/programmes/{doc}/reopen", post(archive::reopen))
        .route("/api/programmes/{doc}/archive", get(archive::archive))
        .route(
            "/api/programmes/{doc}/papers/{meeting}/issue",
            post(papers::issue),
        )
        .route("/api/me/password", post(auth::change_password))
        .route(
            "/api/me/digest",
            get(digest::get_choice).put(digest::set_choice),
        )
        .route("/api/programmes/{doc}/digest", post(digest::send_now))
        .route(
            "/api/digest/unsubscribe",
            get(digest::unsubscribe_page).post(digest::unsubscribe),
        )
        // An unknown API path is an error, not the web client's page.
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { crate::AppError::NotFound }),
        )
        .fallback_service(assets)
        // A request's body that goes quiet for this long ends (a stalled
        // or trickled upload does not hold its connection and memory).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.config.body_idle_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The policy every response carries. Scripts come only from this origin
/// (the wasm needs `wasm-unsafe-eval` to compile, nothing may `eval`), no
/// inline scripts or styles, no framing, no plugins; nothing from another
/// origin (the build drops nhsuk-frontend's web fonts: the pages work offline
/// and use the font stack's Arial, client/build/purge-css.mjs).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; \
font-src 'self'; connect-src 'self'; worker-src 'self'; \
manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::http::Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let secure = state.config.secure_cookies;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("geolocation=(), microphone=(), payment=(), usb=()"),
    );
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}
