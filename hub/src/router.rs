//! Every route of the hub, in one place.

use crate::AppState;
use crate::handlers::{blobs, curation, ops, sync, views};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    let body_timeout = state.config.body_timeout_secs.max(1);
    let api = Router::new()
        .route(
            "/sync",
            post(sync::sync).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/upts", get(views::upts))
        .route("/products", get(views::products))
        .route("/products/{id}", get(views::product))
        .route("/trainings", get(views::trainings))
        .route("/stats", get(views::stats))
        .route("/audit", get(views::audit))
        .route("/blobs/{hash}", get(blobs::get))
        .route(
            "/uploads/{hash}",
            axum::routing::head(blobs::head)
                .patch(blobs::patch)
                .options(blobs::options)
                .layer(DefaultBodyLimit::max(blobs::MAX_PART_BYTES)),
        )
        .route(
            "/curation/{product_id}",
            post(curation::decide).layer(DefaultBodyLimit::max(64 * 1024)),
        );
    Router::new()
        .nest("/api/v1", api)
        .merge(
            crate::pages::routes()
                // Pages: nothing but this hub's own resources, never inside another site's
                // frame (clickjacking), forms post only here.
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                    ),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                )),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async {
            crate::error::ApiError::not_found("no such route; the API lives under /api/v1")
        })
        .layer(TraceLayer::new_for_http())
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            std::time::Duration::from_secs(body_timeout),
        ))
        .with_state(state)
}
