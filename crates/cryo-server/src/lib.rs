//! The CryoProtect HTTP API. [`router`] builds the whole application from an [`AppState`], so
//! tests drive the same router the binary serves; [`serve`] runs it with graceful shutdown.

pub mod auth;
pub mod client;
pub mod edge;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod ratelimit;
pub mod request_id;
pub mod routes;
pub mod state;
pub mod tokens;
pub mod web;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

/// Where the OpenAPI document and its interactive page live.
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";

#[derive(OpenApi)]
#[openapi(
    info(title = "CryoProtect API", description = "Cryoprotectant research platform: molecules, mixtures, experiments and predictive models."),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and tokens"),
        (name = "teams", description = "Teams, members, sharing and activity"),
        (name = "projects", description = "Projects"),
        (name = "comments", description = "Comments on any resource"),
        (name = "notifications", description = "The caller's notifications"),
        (name = "molecules", description = "Molecules, descriptors, scores, similarity and substructure search"),
        (name = "mixtures", description = "Mixtures with unit-checked components and scores"),
        (name = "experiments", description = "Measurements and their lab verification"),
        (name = "toxicity", description = "Structural alerts, QED, assay activities, toxicity and unified scores"),
        (name = "predictions", description = "Stored predictions and their comparison with measurements"),
        (name = "models", description = "Model registry: versions, stages, training jobs, prediction with intervals, evaluation"),
        (name = "screening", description = "Screening jobs: model versions, score and alerts over a library or an upload, chunked across every worker; ranked results, charts, exports"),
        (name = "system", description = "Administration: backups (service_role or admin users)"),
        (name = "vocabulary", description = "The choices clients offer: units, algorithms, feature sets, splits, interval methods"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The routes and their OpenAPI document, before state and middleware.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::auth::router())
        .merge(routes::teams::router())
        .merge(routes::projects::router())
        .merge(routes::molecules::router())
        .merge(routes::mixtures::router())
        .merge(routes::protocols::router())
        .merge(routes::toxicity::router())
        .merge(routes::experiments::router())
        .merge(routes::models::router())
        .merge(routes::jobs::router())
        .merge(routes::screening::router())
        .merge(routes::predict::router())
        .merge(routes::system::router())
        .merge(routes::vocabulary::router())
        .split_for_parts();
    document_common_errors(&mut doc);
    (router, doc)
}

/// Answers any operation may give besides its own: a malformed request, a bad token, no
/// right, no such row, a conflict, a too-large body, an invalid field, a rate limit, a
/// dependency down. Each has the one error shape, so clients (and schemathesis) can rely on it.
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    const COMMON: &[(&str, &str)] = &[
        (
            "400",
            "Malformed request: the body, path or query does not parse",
        ),
        ("401", "Missing, invalid, expired or ended token"),
        ("403", "Signed in, but not permitted"),
        ("404", "No such row for this caller"),
        ("409", "Conflicts with existing rows"),
        ("413", "Body larger than server.body_limit_bytes"),
        ("422", "A field is invalid; details.field names it"),
        ("429", "Rate limited or throttled; see Retry-After"),
        (
            "503",
            "Busy or a dependency is unavailable; see Retry-After",
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (code, description) in COMMON {
                op.responses
                    .responses
                    .entry((*code).to_string())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(*description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .build(),
                        )
                    });
            }
        }
    }
}

/// The OpenAPI document as served at [`OPENAPI_PATH`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let server = &state.settings.server;
    let timeout = server.request_timeout;
    let body_limit = server.body_limit_bytes;
    let metrics = state.metrics.clone();
    let slow = server.slow_request;
    let cors_layer = cors(&server.cors_origins);
    // With a separate metrics address, `/metrics` is served only there ([`metrics_router`]).
    let api = if server.metrics_addr.is_none() {
        api.route("/metrics", axum::routing::get(routes::metrics::render))
    } else {
        api
    };
    api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        edge::rate_limit,
    ))
    .with_state(state)
    .merge(SwaggerUi::new(DOCS_PATH).url(OPENAPI_PATH, doc))
    .merge(web::router())
    .fallback(error::not_found_fallback)
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(RequestBodyLimitLayer::new(body_limit))
    .layer(axum::middleware::from_fn(edge::reject_nul))
    .layer(axum::middleware::from_fn(move |req, next| {
        edge::json_errors(req, next, body_limit)
    }))
    .layer(CatchPanicLayer::custom(panic_response))
    .layer(axum::middleware::from_fn(edge::security_headers))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(make_span)
            .on_request(())
            .on_response(
                move |res: &axum::response::Response, latency: Duration, _span: &Span| {
                    let status = res.status().as_u16();
                    let latency_ms = latency.as_secs_f64() * 1000.0;
                    if status >= 500 {
                        tracing::warn!(status, latency_ms, "request finished");
                    } else if latency >= slow {
                        tracing::warn!(status, latency_ms, "slow request");
                    } else {
                        tracing::info!(status, latency_ms, "request finished");
                    }
                },
            )
            .on_failure(()),
    )
    .layer(cors_layer)
    // Outermost but one: counts every request once, whatever happens inside.
    .layer(axum::middleware::from_fn_with_state(
        metrics,
        metrics::track,
    ))
    .layer(axum::middleware::from_fn(request_id::middleware))
}

/// Cross-origin access for the listed browser origins only (none: same origin).
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let list: Vec<http::HeaderValue> = origins
        .iter()
        .filter_map(|o| http::HeaderValue::from_str(o).ok())
        .collect();
    if origins.iter().any(|o| o == "*") {
        return CorsLayer::permissive();
    }
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([
            http::Method::GET,
            http::Method::POST,
            http::Method::PUT,
            http::Method::PATCH,
            http::Method::DELETE,
        ])
        .allow_headers([http::header::AUTHORIZATION, http::header::CONTENT_TYPE])
}

/// Serves `/metrics` alone on `listener` (for `server.metrics_addr`) until the task is aborted.
pub async fn serve_metrics(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route(
            "/metrics",
            axum::routing::get(routes::metrics::render_private),
        )
        .with_state(state);
    axum::serve(listener, app).await
}

fn make_span(req: &Request) -> Span {
    // The route template (not the raw path) keeps ids out of span names and metrics.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = req
        .headers()
        .get(request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    // user_id is filled in by the `Caller` extractor once the token is verified.
    tracing::info_span!("request", method = %req.method(), route, request_id, user_id = tracing::field::Empty)
}

fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = cryo_app::panic_message(payload.as_ref());
    tracing::error!(panic = %message, "handler panicked");
    let body = error::ErrorBody {
        error: error::ErrorDetail {
            code: "internal",
            message: "an internal error occurred".into(),
            details: serde_json::Value::Object(Default::default()),
        },
    };
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// Serve until `shutdown` resolves, then stop accepting and let in-flight requests finish for at
/// most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let server = std::pin::pin!(server.into_future());
    tokio::select! {
        r = server => r,
        _ = async {
            let _ = rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish in time; closing");
            Ok(())
        }
    }
}
