use axum::body::Body;
use axum::http::{Request, StatusCode};
use cryo_server::AppState;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

pub fn settings() -> cryo_config::Settings {
    let opts = cryo_config::LoadOptions {
        env: [("CRYOPROTECT_ENV".to_string(), "test".to_string())].into(),
        ..Default::default()
    };
    cryo_config::load(&opts).expect("test settings").0
}

pub fn app(pool: PgPool) -> axum::Router {
    cryo_server::router(AppState::new(pool, settings()))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(app: &axum::Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}
