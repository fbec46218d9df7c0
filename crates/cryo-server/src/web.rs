//! The web interface: a static single-page application compiled into the binary (no CDN, no
//! build step, works offline). It talks only to the public API, with the same bearer tokens as
//! any other client; charts are SVG drawn in the browser by `web/charts.js`.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// (path under `/ui/`, content type, body). The page's modules import one another by these paths.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../web/app.css"),
    ),
    ("app.js", JS, include_str!("../web/app.js")),
    ("api.js", JS, include_str!("../web/api.js")),
    ("dom.js", JS, include_str!("../web/dom.js")),
    ("charts.js", JS, include_str!("../web/charts.js")),
    ("pick.js", JS, include_str!("../web/pick.js")),
    ("nav.js", JS, include_str!("../web/nav.js")),
    ("forms.js", JS, include_str!("../web/forms.js")),
    ("vocabulary.js", JS, include_str!("../web/vocabulary.js")),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../web/favicon.svg"),
    ),
    (
        "pages/signin.js",
        JS,
        include_str!("../web/pages/signin.js"),
    ),
    (
        "pages/molecules.js",
        JS,
        include_str!("../web/pages/molecules.js"),
    ),
    (
        "pages/mixtures.js",
        JS,
        include_str!("../web/pages/mixtures.js"),
    ),
    (
        "pages/experiments.js",
        JS,
        include_str!("../web/pages/experiments.js"),
    ),
    (
        "pages/models.js",
        JS,
        include_str!("../web/pages/models.js"),
    ),
    (
        "pages/system.js",
        JS,
        include_str!("../web/pages/system.js"),
    ),
    (
        "pages/screening.js",
        JS,
        include_str!("../web/pages/screening.js"),
    ),
    (
        "pages/protocols.js",
        JS,
        include_str!("../web/pages/protocols.js"),
    ),
];
const JS: &str = "text/javascript; charset=utf-8";
const INDEX: &str = include_str!("../web/index.html");

/// Scripts, styles and API calls from this origin only; no inline script or style; never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/ui", get(index))
        .route("/ui/", get(index))
        .route("/ui/{*path}", get(asset))
}

fn with_headers(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Assets change with each release and are small: always revalidate.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // The interface's own policy; `edge::security_headers` adds the rest to every response.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    res
}

async fn index() -> Response {
    with_headers("text/html; charset=utf-8", INDEX)
}

async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == path) {
        Some((_, content_type, body)) => with_headers(content_type, body),
        None => crate::ApiError::from(cryo_app::AppError::NotFound { what: "page asset" })
            .into_response(),
    }
}

/// Every asset's path, for tests.
pub fn asset_paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(name, _, _)| *name)
}
