//! Every route of the hub, in one place.

use crate::AppState;
use crate::handlers::{curation, dashboard, ops, sync, views};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;
use tower_http::trace::TraceLayer;

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
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
        .route(
            "/curation/{product_id}",
            post(curation::decide).layer(DefaultBodyLimit::max(64 * 1024)),
        );
    Router::new()
        .nest("/api/v1", api)
        .route("/", get(dashboard::dashboard))
        .route("/login", post(dashboard::login))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async {
            crate::error::ApiError::not_found("no such route; the API lives under /api/v1")
        })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
