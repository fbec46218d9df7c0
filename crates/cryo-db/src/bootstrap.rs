//! Cluster-wide roles that the migrations and the per-request identity rely on. Needs a
//! connection with CREATEROLE (a superuser, or Supabase's `postgres`); run once per cluster by
//! `cryoprotect db bootstrap`, automatically for the embedded cluster, and by the test harness.
//!
//! - `anon`, `authenticated`, `service_role`: NOLOGIN; requests SET LOCAL ROLE to one of them.
//! - `cryoprotect_rls_definer`: NOLOGIN BYPASSRLS; owns the SECURITY DEFINER policy helpers.
//! - `cryoprotect_monitor`: NOLOGIN, member of `pg_monitor` only; the database health checks
//!   run as this role (no table privileges, so it reads statistics, never data).
//! - the API login role (e.g. `cryoprotect_api`): LOGIN NOINHERIT, member of the three request
//!   roles. NOINHERIT means it can do nothing until a request sets a role.

use crate::DbError;
use sqlx::{Executor, PgConnection};

/// Role names are passed as parameters and quoted by PostgreSQL (`format('%I')`), never spliced.
const CREATE_ROLES: &str = r#"
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cryoprotect_rls_definer') THEN
        CREATE ROLE cryoprotect_rls_definer NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cryoprotect_monitor') THEN
        CREATE ROLE cryoprotect_monitor NOLOGIN;
    END IF;
    -- Statistics views of every session (pg_stat_activity, locks, sizes), and nothing else;
    -- INHERIT, so pg_monitor's rights apply as soon as a session sets this role.
    ALTER ROLE cryoprotect_monitor INHERIT;
    GRANT pg_monitor TO cryoprotect_monitor;
END;
$$"#;

const GRANT_OWNER: &str = r#"
DO $$
BEGIN
    -- The owner runs migrations (and `db rls verify`, which impersonates the request roles).
    EXECUTE format('GRANT cryoprotect_rls_definer, cryoprotect_monitor, anon, authenticated, service_role TO %I',
                   current_setting('cryoprotect.owner_role'));
END;
$$"#;

const CREATE_API_ROLE: &str = r#"
DO $$
DECLARE
    api text := current_setting('cryoprotect.api_role');
    pw text := current_setting('cryoprotect.api_password');
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api) THEN
        EXECUTE format('CREATE ROLE %I LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD %L', api, pw);
    ELSE
        EXECUTE format('ALTER ROLE %I LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS PASSWORD %L', api, pw);
    END IF;
    EXECUTE format('GRANT anon, authenticated, service_role TO %I', api);
END;
$$"#;

/// The API's login role and its password.
pub struct ApiRole<'a> {
    pub name: &'a str,
    pub password: &'a str,
}

/// Create the roles (idempotent), let `owner_role` (who runs migrations) own the policy helpers,
/// and create or update the API login role.
pub async fn bootstrap(
    conn: &mut PgConnection,
    owner_role: &str,
    api: Option<ApiRole<'_>>,
) -> Result<(), DbError> {
    conn.execute(CREATE_ROLES).await?;
    set(conn, "cryoprotect.owner_role", owner_role).await?;
    conn.execute(GRANT_OWNER).await?;
    if let Some(api) = api {
        set(conn, "cryoprotect.api_role", api.name).await?;
        set(conn, "cryoprotect.api_password", api.password).await?;
        let created = conn.execute(CREATE_API_ROLE).await;
        // Do not leave the password in the session's settings.
        set(conn, "cryoprotect.api_password", "").await?;
        created?;
    }
    Ok(())
}

async fn set(conn: &mut PgConnection, key: &str, value: &str) -> Result<(), DbError> {
    sqlx::query("SELECT set_config($1, $2, false)")
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Why migrations cannot run on this connection yet, or `None` when they can: the roles `db
/// bootstrap` creates must exist and the migrating role must be a member of the helper role
/// (the policy migrations hand it their functions). Checked before anything is touched, so
/// migrating an unbootstrapped database changes nothing instead of stopping half-way.
pub async fn missing_for_migrations(conn: &mut PgConnection) -> Result<Option<String>, DbError> {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT r FROM unnest(ARRAY['anon', 'authenticated', 'service_role', 'cryoprotect_rls_definer']) r
         WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)",
    )
    .fetch_all(&mut *conn)
    .await?;
    if !missing.is_empty() {
        return Ok(Some(format!(
            "role(s) {} missing; run `cryoprotect db bootstrap` first (as a role with CREATEROLE)",
            missing.join(", ")
        )));
    }
    let member: bool =
        sqlx::query_scalar("SELECT pg_has_role(current_user, 'cryoprotect_rls_definer', 'MEMBER')")
            .fetch_one(&mut *conn)
            .await?;
    Ok((!member).then(|| {
        "the migrating role is not a member of cryoprotect_rls_definer; run `cryoprotect db bootstrap` first"
            .to_string()
    }))
}

/// The role this connection logged in as.
pub async fn current_role(conn: &mut PgConnection) -> Result<String, DbError> {
    Ok(sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(conn)
        .await?)
}

/// A random password for a generated login role.
pub fn random_password() -> String {
    use rand::Rng;
    hex::encode(rand::rng().random::<[u8; 24]>())
}
