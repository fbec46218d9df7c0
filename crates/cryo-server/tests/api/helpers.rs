use axum::body::Body;
use axum::http::{Request, StatusCode};
use cryo_server::AppState;
use cryo_testkit::TestDb;
use serde_json::Value;
use sqlx::PgPool;
use tower::ServiceExt;

pub fn settings() -> cryo_config::Settings {
    settings_with(&[])
}

/// Test settings with some keys overridden by their environment variable names. Every caller
/// of a test app is the same in-process client, so the rate limits are lifted unless a test
/// sets them (`tests/api/limits.rs` does).
pub fn settings_with(overrides: &[(&str, &str)]) -> cryo_config::Settings {
    let mut env: std::collections::HashMap<String, String> = [
        ("CRYOPROTECT_ENV", "test"),
        ("CRYOPROTECT_LIMITS_RATE_HEAVY_PER_MIN", "0"),
        ("CRYOPROTECT_LIMITS_RATE_HEAVY_ADMIN_PER_MIN", "0"),
        ("CRYOPROTECT_LIMITS_RATE_AUTH_PER_MIN", "0"),
        ("CRYOPROTECT_LIMITS_RATE_API_PER_MIN", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    let opts = cryo_config::LoadOptions {
        env: env.into_iter().collect(),
        ..Default::default()
    };
    cryo_config::load(&opts).expect("test settings").0
}

/// The router over the API role's pool, as `serve` runs it.
pub fn app(api_pool: PgPool) -> axum::Router {
    cryo_server::router(AppState::new(api_pool, settings()).unwrap())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    /// The body as sent (binary files: XLSX).
    pub bytes: Vec<u8>,
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
        bytes: bytes.to_vec(),
    }
}

pub async fn get(app: &axum::Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A JSON request, optionally with a bearer token.
pub async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    call_from(app, None, method, uri, token, body).await
}

/// [`call`] from a client address, as the reverse proxy on the loopback reports it.
pub async fn call_from(
    app: &axum::Router,
    client: Option<&str>,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(addr) = client {
        req = req.header("x-forwarded-for", addr);
    }
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    send(app, req).await
}

pub struct User {
    pub id: String,
    pub token: String,
    pub refresh: String,
}

/// Register a user and return their tokens.
pub async fn register(app: &axum::Router, name: &str) -> User {
    let email = format!("{name}-{}@lab.example", uuid::Uuid::new_v4().simple());
    let r = call(
        app,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(serde_json::json!({"email": email, "password": "correct horse battery", "display_name": name})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v = r.json();
    User {
        id: v["user"]["id"].as_str().unwrap().to_string(),
        token: v["access_token"].as_str().unwrap().to_string(),
        refresh: v["refresh_token"].as_str().unwrap().to_string(),
    }
}

/// A database with migrations and the reference data `serve` seeds, and the app over it.
pub async fn seeded() -> (TestDb, axum::Router) {
    let db = TestDb::new().await;
    cryo_app::molecules::seed_reference_data(&db.pool)
        .await
        .expect("seed");
    let app = app(db.api_pool().await);
    (db, app)
}

/// The id of the reference molecule with this exact name (seeded by [`seeded`]).
pub async fn reference_molecule(app: &axum::Router, name: &str) -> String {
    let found = get(
        app,
        &format!("/api/v1/molecules?q={}", name.replace(' ', "%20")),
    )
    .await
    .json();
    found
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name && m["is_reference"] == true)
        .map(id_of)
        .unwrap_or_else(|| panic!("no reference molecule {name}: {found}"))
}

pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// An error in the documented shape: JSON, with this status and code, a message and details.
pub fn assert_error_shape(r: &Reply, status: StatusCode, code: &str) -> Value {
    assert_eq!(r.status, status, "{}", r.text);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        r.headers
    );
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    assert!(v["error"]["details"].is_object(), "{v}");
    v
}

/// A 422 whose details name `field`; `what` (the request) is in the failure message.
pub fn assert_refused(r: &Reply, field: &str, what: &dyn std::fmt::Display) {
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {}",
        r.text
    );
    assert_eq!(
        r.json()["error"]["details"]["field"],
        field,
        "{what}: {}",
        r.text
    );
}

/// `admin` invites `user` into `team` as `role`, and `user` accepts.
pub async fn join_team(app: &axum::Router, admin: &User, team: &str, user: &User, role: &str) {
    let r = call(
        app,
        "PUT",
        &format!("/api/v1/teams/{team}/members/{}", user.id),
        Some(&admin.token),
        Some(serde_json::json!({"role": role})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let mine = call(app, "GET", "/api/v1/invitations", Some(&user.token), None)
        .await
        .json();
    let invitation = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["team_id"] == team)
        .unwrap_or_else(|| panic!("no invitation to {team} in {mine}"));
    let r = call(
        app,
        "POST",
        &format!("/api/v1/invitations/{}/accept", id_of(invitation)),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

/// Who a test request is sent as: a signed-in [`User`], a bare access token, or [`Anon`].
pub trait As {
    fn token(&self) -> Option<&str>;
}

/// No `Authorization` header.
pub struct Anon;

impl As for Anon {
    fn token(&self) -> Option<&str> {
        None
    }
}

impl As for User {
    fn token(&self) -> Option<&str> {
        Some(&self.token)
    }
}

impl As for String {
    fn token(&self) -> Option<&str> {
        Some(self)
    }
}

impl As for str {
    fn token(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: As + ?Sized> As for &T {
    fn token(&self) -> Option<&str> {
        (**self).token()
    }
}

/// The test client: `app.get(&alice, path)`, `app.post(&alice, path, json)`.
pub trait Client {
    async fn get(&self, who: impl As, uri: &str) -> Reply;
    async fn delete(&self, who: impl As, uri: &str) -> Reply;
    async fn post(&self, who: impl As, uri: &str, body: Value) -> Reply;
    async fn put(&self, who: impl As, uri: &str, body: Value) -> Reply;
    async fn patch(&self, who: impl As, uri: &str, body: Value) -> Reply;
}

impl Client for axum::Router {
    async fn get(&self, who: impl As, uri: &str) -> Reply {
        call(self, "GET", uri, who.token(), None).await
    }
    async fn delete(&self, who: impl As, uri: &str) -> Reply {
        call(self, "DELETE", uri, who.token(), None).await
    }
    async fn post(&self, who: impl As, uri: &str, body: Value) -> Reply {
        call(self, "POST", uri, who.token(), Some(body)).await
    }
    async fn put(&self, who: impl As, uri: &str, body: Value) -> Reply {
        call(self, "PUT", uri, who.token(), Some(body)).await
    }
    async fn patch(&self, who: impl As, uri: &str, body: Value) -> Reply {
        call(self, "PATCH", uri, who.token(), Some(body)).await
    }
}

/// SQL statements sqlx sent (its `sqlx::query` events, one per statement; BEGIN is queued with
/// the statement after it, so this counts round trips) while serving each request, by the
/// request id the response carries. A process-wide subscriber: scoped ones lose events when
/// tests on other threads hit the same call sites first.
static STATEMENTS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, usize>>> =
    std::sync::LazyLock::new(Default::default);

struct RequestId(String);

struct StatementCounter;

impl<S> tracing_subscriber::Layer<S> for StatementCounter
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Find(Option<String>);
        impl tracing::field::Visit for Find {
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                if f.name() == "request_id" {
                    self.0 = Some(v.to_string());
                }
            }
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "request_id" {
                    self.0 = Some(format!("{v:?}").trim_matches('"').to_string());
                }
            }
        }
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut find = Find(None);
        attrs.record(&mut find);
        if let (Some(rid), Some(span)) = (find.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(rid));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if !event.metadata().target().starts_with("sqlx::query") {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            if let Some(RequestId(rid)) = span.extensions().get::<RequestId>() {
                *STATEMENTS.lock().unwrap().entry(rid.clone()).or_default() += 1;
                return;
            }
        }
    }
}

/// The statements the request that got `reply` cost. Installs the counter on first use; count
/// only requests sent after that.
pub fn statements_of(reply: &Reply) -> usize {
    let rid = reply.headers["x-request-id"].to_str().unwrap();
    STATEMENTS.lock().unwrap().get(rid).copied().unwrap_or(0)
}

/// Starts counting statements per request (idempotent).
pub fn count_statements() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(StatementCounter),
        )
        .expect("no other global subscriber in the API tests");
    });
}
