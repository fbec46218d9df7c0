//! `/metrics` for Prometheus: what is read rather than counted is sampled at the scrape.

use crate::metrics::openmetrics;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;

/// `GET /metrics` on the public port: the metrics that reveal nothing of the data (no row
/// counts).
pub async fn render(State(state): State<AppState>) -> Response {
    state.metrics.sample_for_scrape(&state.app).await;
    openmetrics(state.metrics.encode())
}

/// `GET /metrics` on `server.metrics_addr`: every metric.
pub async fn render_private(State(state): State<AppState>) -> Response {
    state.metrics.sample_for_scrape(&state.app).await;
    openmetrics(state.metrics.encode_all())
}
