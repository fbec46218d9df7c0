//! Accounts, login bookkeeping and refresh tokens. Runs as service_role: these rows are the
//! authentication service's, not the user's.

use super::Conn;
use crate::DbError;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginRecord {
    pub id: Uuid,
    pub password_hash: Option<String>,
    pub global_role: String,
    pub is_active: bool,
    pub failed_logins: i32,
    pub locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub global_role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Create an account; `Ok(None)` when the e-mail is taken.
pub async fn create_user(
    conn: &mut Conn,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<Option<UserRow>, DbError> {
    let row = sqlx::query_as(
        "INSERT INTO users (email, display_name, password_hash) VALUES ($1, $2, $3)
         ON CONFLICT ((lower(email))) DO NOTHING
         RETURNING id, email, display_name, global_role, created_at",
    )
    .bind(email)
    .bind(display_name)
    .bind(password_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row)
}

/// Make sure a user id from a trusted external token (e.g. Supabase) has an account row.
pub async fn ensure_external_user(
    conn: &mut Conn,
    id: Uuid,
    email: Option<&str>,
) -> Result<(), DbError> {
    let email = email
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{id}@external.invalid"));
    sqlx::query(
        "INSERT INTO users (id, email, display_name) VALUES ($1, $2, split_part($2, '@', 1))
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(email)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_for_login(conn: &mut Conn, email: &str) -> Result<Option<LoginRecord>, DbError> {
    Ok(sqlx::query_as(
        "SELECT id, password_hash, global_role, is_active, failed_logins, locked_until
         FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?)
}

/// What a request's access token is checked against: (global role, active, tokens issued
/// before this Unix second are refused).
pub async fn session_state(
    conn: &mut Conn,
    id: Uuid,
) -> Result<Option<(String, bool, Option<i64>)>, DbError> {
    Ok(sqlx::query_as(
        "SELECT global_role, is_active, extract(epoch FROM sessions_valid_after)::bigint
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Ends every session of a user: access tokens issued before this second stop working.
pub async fn end_sessions(conn: &mut Conn, id: Uuid) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE users SET sessions_valid_after = date_trunc('second', now()) WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn find_user(conn: &mut Conn, id: Uuid) -> Result<Option<UserRow>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, email, display_name, global_role, created_at FROM users WHERE id = $1 AND is_active")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Record a failed login; after `free_attempts` failures the account locks for
/// 2^(n − free_attempts) minutes, at most an hour.
pub async fn record_failure(conn: &mut Conn, id: Uuid, free_attempts: i32) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE users SET failed_logins = failed_logins + 1,
            locked_until = CASE WHEN failed_logins + 1 >= $2
                THEN now() + least(interval '60 minutes', interval '1 minute' * power(2, failed_logins + 1 - $2))
                ELSE locked_until END
         WHERE id = $1",
    )
    .bind(id)
    .bind(free_attempts)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn record_success(conn: &mut Conn, id: Uuid) -> Result<(), DbError> {
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn store_refresh_token(
    conn: &mut Conn,
    user: Uuid,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> Result<Uuid, DbError> {
    Ok(sqlx::query_scalar("INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(user)
        .bind(token_hash)
        .bind(expires_at)
        .fetch_one(conn)
        .await?)
}

#[derive(Debug, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

/// Find a refresh token by hash and lock it, so two concurrent refreshes cannot both use it.
pub async fn take_refresh_token(
    conn: &mut Conn,
    token_hash: &[u8],
) -> Result<Option<RefreshToken>, DbError> {
    Ok(
        sqlx::query_as("SELECT id, user_id, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE")
            .bind(token_hash)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn revoke_refresh_token(
    conn: &mut Conn,
    id: Uuid,
    replaced_by: Option<Uuid>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()), replaced_by = $2 WHERE id = $1")
        .bind(id)
        .bind(replaced_by)
        .execute(conn)
        .await?;
    Ok(())
}

/// A reused (already revoked) token means it leaked: revoke every token of that user.
pub async fn revoke_all_refresh_tokens(conn: &mut Conn, user: Uuid) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets an account's global role; returns its id and previous role, or `None` if no account has
/// that e-mail.
pub async fn set_global_role(
    conn: &mut Conn,
    email: &str,
    role: &str,
) -> Result<Option<(Uuid, String)>, DbError> {
    Ok(sqlx::query_as(
        "UPDATE users u SET global_role = $2
         FROM (SELECT id, global_role FROM users WHERE lower(email) = lower($1) FOR UPDATE) old
         WHERE u.id = old.id
         RETURNING u.id, old.global_role",
    )
    .bind(email)
    .bind(role)
    .fetch_optional(conn)
    .await?)
}

pub async fn audit(
    conn: &mut Conn,
    actor: Option<Uuid>,
    role: &str,
    action: &str,
    table: Option<&str>,
    target: Option<Uuid>,
    details: serde_json::Value,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor_role, action, target_table, target_id, details)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(actor)
    .bind(role)
    .bind(action)
    .bind(table)
    .bind(target)
    .bind(details)
    .execute(conn)
    .await?;
    Ok(())
}
