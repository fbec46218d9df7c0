//! A fresh, migrated database for each test, owned by and connected as a non-superuser role.
//!
//! The server is the one named by `CRYOPROTECT_TEST_ADMIN_URL` (default: the machine's
//! PostgreSQL at 127.0.0.1:5432 as `postgres`). The first test of a run migrates a template
//! database named after the migrations' checksums; every test then clones it with
//! `CREATE DATABASE … TEMPLATE`, which takes milliseconds. Tests never share a database, so they
//! never depend on order. Databases are dropped when the [`TestDb`] is dropped (even on panic);
//! ones left by a killed run are swept when older than a few hours.
//!
//! Set `CRYOPROTECT_TEST_KEEP_DB=1` to keep databases for debugging.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The application role tests connect as: LOGIN, CREATEDB, never SUPERUSER or BYPASSRLS.
pub const TEST_ROLE: &str = "cryo_test_app";
const TEST_ROLE_PASSWORD: &str = "cryo_test_app";
/// The API's login role in tests: NOINHERIT, member of anon/authenticated/service_role only.
pub const TEST_API_ROLE: &str = "cryo_test_api";
const TEST_API_PASSWORD: &str = "cryo_test_api";
const DB_PREFIX: &str = "cryo_t_";
const STALE_AFTER_SECS: u64 = 6 * 3600;

pub fn admin_options() -> PgConnectOptions {
    let url = std::env::var("CRYOPROTECT_TEST_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    PgConnectOptions::from_str(&url).expect("CRYOPROTECT_TEST_ADMIN_URL is a postgres URL")
}

/// Options for the test (owner) role on database `db`.
pub fn app_options(db: &str) -> PgConnectOptions {
    role_options(db, TEST_ROLE, TEST_ROLE_PASSWORD)
}

/// Options for the API login role on database `db`.
pub fn api_options(db: &str) -> PgConnectOptions {
    role_options(db, TEST_API_ROLE, TEST_API_PASSWORD)
}

fn role_options(db: &str, user: &str, password: &str) -> PgConnectOptions {
    let admin = admin_options();
    PgConnectOptions::new()
        .host(admin.get_host())
        .port(admin.get_port())
        .username(user)
        .password(password)
        .database(db)
}

pub use cryo_db::quote_ident;

/// A transaction as service_role: RLS is forced even for the owner, so tests that read or write
/// rows directly act as the administrative role, whose policies admit every row.
pub async fn service_tx(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    cryo_db::identity::begin(pool, &cryo_db::Identity::service())
        .await
        .expect("begin as service_role")
}

pub struct TestDb {
    pub name: String,
    pub pool: PgPool,
}

impl TestDb {
    /// A fresh database with every migration applied.
    pub async fn new() -> TestDb {
        let template = ensure_template().await;
        Self::from_template(&template).await
    }

    /// A fresh, empty database (no migrations), for tests of the migrator itself.
    pub async fn empty() -> TestDb {
        // Also creates the test role on a server that has never run the tests.
        ensure_template().await;
        Self::from_template("template0").await
    }

    async fn from_template(template: &str) -> TestDb {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let name = format!("{DB_PREFIX}{now}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin_conn().await;
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {} OWNER {}",
            quote_ident(&name),
            quote_ident(template),
            quote_ident(TEST_ROLE)
        );
        // Concurrent clones of one template can briefly collide; retry.
        let mut attempt = 0;
        loop {
            match admin.execute(AssertSqlSafe(sql.clone())).await {
                Ok(_) => break,
                Err(e)
                    if attempt < 50 && e.to_string().contains("being accessed by other users") =>
                {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("creating test database: {e}"),
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect_with(app_options(&name))
            .await
            .expect("connect as the test role");
        TestDb { name, pool }
    }

    /// Options to open more connections (e.g. a second session holding a lock).
    pub fn options(&self) -> PgConnectOptions {
        app_options(&self.name)
    }

    /// A pool as the API's login role: it can only act through `cryo_db::identity`.
    pub async fn api_pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(5)
            .connect_with(api_options(&self.name))
            .await
            .expect("connect as the API role")
    }

    /// Records a migration this build does not know as applied, as a newer release's deploy
    /// would (the schema itself is untouched). Returns its version.
    pub async fn apply_newer_release_migration(&self) -> i64 {
        const VERSION: i64 = 20991231000000;
        // As the owner: the migration history is not a user table.
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES ($1, 'from a later release', true, '\\x00', 0)",
        )
        .bind(VERSION)
        .execute(&self.pool)
        .await
        .expect("record a newer migration");
        VERSION
    }

    /// The owner URL for this database, for spawning the binary with `DATABASE_URL`.
    pub fn url(&self) -> String {
        self.url_as(TEST_ROLE, TEST_ROLE_PASSWORD)
    }

    /// The API role's URL, for `DATABASE_API_URL`.
    pub fn api_url(&self) -> String {
        self.url_as(TEST_API_ROLE, TEST_API_PASSWORD)
    }

    fn url_as(&self, user: &str, password: &str) -> String {
        let admin = admin_options();
        format!(
            "postgres://{user}:{password}@{}:{}/{}",
            admin.get_host(),
            admin.get_port(),
            self.name
        )
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var_os("CRYOPROTECT_TEST_KEEP_DB").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let name = self.name.clone();
        // Drop cannot await, and may run inside a runtime: use a private one on a new thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = PgConnection::connect_with(&admin_options()).await {
                    let sql = format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote_ident(&name)
                    );
                    let _ = admin.execute(AssertSqlSafe(sql)).await;
                }
            })
        })
        .join();
    }
}

async fn admin_conn() -> PgConnection {
    PgConnection::connect_with(&admin_options())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "tests need PostgreSQL: cannot connect with CRYOPROTECT_TEST_ADMIN_URL \
             (default postgres://postgres@127.0.0.1:5432/postgres): {e}"
            )
        })
}

/// Create the role and the migrated template once per set of migrations; safe across processes.
async fn ensure_template() -> String {
    let digest: String = cryo_db::migrate::MIGRATOR
        .iter()
        .flat_map(|m| m.checksum.iter().take(4).copied())
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(b as u64))
        .to_string();
    let template = format!("cryo_tpl_{digest}");
    let mut admin = admin_conn().await;
    // Serialise template creation across test processes (nextest runs one process per test).
    admin
        .execute("SELECT pg_advisory_lock(727274)")
        .await
        .expect("advisory lock");
    ensure_role(&mut admin).await;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    if !exists {
        sweep_stale(&mut admin, &template).await;
        let building = format!("{template}_building");
        let drop_building = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&building)
        );
        admin.execute(AssertSqlSafe(drop_building)).await.unwrap();
        let create = format!(
            "CREATE DATABASE {} TEMPLATE template0 OWNER {}",
            quote_ident(&building),
            quote_ident(TEST_ROLE)
        );
        admin.execute(AssertSqlSafe(create)).await.unwrap();
        {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(app_options(&building))
                .await
                .unwrap();
            cryo_db::migrate::run(&pool)
                .await
                .expect("migrations apply to a fresh database");
            pool.close().await;
        }
        let rename = format!(
            "ALTER DATABASE {} RENAME TO {}",
            quote_ident(&building),
            quote_ident(&template)
        );
        admin.execute(AssertSqlSafe(rename)).await.unwrap();
    }
    admin
        .execute("SELECT pg_advisory_unlock(727274)")
        .await
        .unwrap();
    template
}

async fn ensure_role(admin: &mut PgConnection) {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(TEST_ROLE)
            .fetch_one(&mut *admin)
            .await
            .unwrap();
    if !exists {
        admin
            .execute(
                "CREATE ROLE cryo_test_app LOGIN PASSWORD 'cryo_test_app' \
                 NOSUPERUSER NOBYPASSRLS CREATEDB NOCREATEROLE",
            )
            .await
            .unwrap();
    }
    let api = cryo_db::bootstrap::ApiRole {
        name: TEST_API_ROLE,
        password: TEST_API_PASSWORD,
    };
    cryo_db::bootstrap::bootstrap(admin, TEST_ROLE, Some(api))
        .await
        .expect("bootstrap roles");
}

/// Drop test databases left behind by killed runs (named with their creation time), and
/// templates of older migration sets.
async fn sweep_stale(admin: &mut PgConnection, current_template: &str) {
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'cryo\\_tpl\\_%' AND datname <> $1",
    )
    .bind(current_template)
    .fetch_all(&mut *admin)
    .await
    .unwrap();
    for name in old {
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&name)
        );
        let _ = admin.execute(AssertSqlSafe(sql)).await;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'cryo\\_t\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap();
    for name in names {
        let created = name
            .strip_prefix(DB_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|c| now.saturating_sub(c) > STALE_AFTER_SECS) {
            let sql = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            );
            let _ = admin.execute(AssertSqlSafe(sql)).await;
        }
    }
}
