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
        "SELECT id, password_hash, global_role, is_active
         FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(conn)
    .await?)
}

/// What a request's access token is checked against: (global role, active, tokens issued
/// before this Unix second are refused).
/// Runs on any executor acting as service_role: a transaction, or a connection of
/// [`crate::identity::service_reader`].
pub async fn session_state<'e>(
    conn: impl sqlx::PgExecutor<'e>,
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

/// The throttle row of one (account, client) pair, or of a client as a whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counter {
    pub attempts: i64,
    pub blocked_until: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
}

/// Counters untouched this long start again from zero.
const FORGET_AFTER: time::Duration = time::Duration::hours(24);
/// The longest wait one more attempt can cost.
const MAX_BLOCK: time::Duration = time::Duration::hours(1);

/// One more attempt on `counter` at `now`, `free` of which pass without delay: the counter to
/// store, or how long to wait. From the `free`-th attempt on, each attempt starts a block of
/// 2^(n − free) minutes (at most an hour) that it passes through and the next one waits out;
/// the block is set when the attempt is admitted, before its password is checked, so
/// concurrent guesses cannot slip in behind it.
pub fn admit(counter: Counter, now: OffsetDateTime, free: i64) -> Result<Counter, time::Duration> {
    if let Some(until) = counter.blocked_until
        && until > now
    {
        return Err(until - now);
    }
    let previous = if now - counter.updated_at > FORGET_AFTER {
        0
    } else {
        counter.attempts
    };
    let attempts = previous.saturating_add(1);
    let blocked_until = if attempts >= free.max(1) {
        let doublings = (attempts - free.max(1)).min(6) as u32;
        Some(now + (time::Duration::minutes(1) * 2_i32.pow(doublings)).min(MAX_BLOCK))
    } else {
        None
    };
    Ok(Counter {
        attempts,
        blocked_until,
        updated_at: now,
    })
}

/// The key a client as a whole is counted under (beside its per-account pairs).
pub const ANY_ACCOUNT: &str = "*";

/// Admit one sign-in attempt for `account_key` from `client`: both its pair counter (`free_pair`
/// attempts) and the client's overall counter (`free_client`) must admit it. Commit before the
/// password is checked. `Err(wait)` when either refuses; nothing is counted then.
pub async fn admit_login(
    conn: &mut Conn,
    account_key: &str,
    client: &str,
    free_pair: i64,
    free_client: i64,
) -> Result<Result<(), time::Duration>, DbError> {
    sqlx::query(
        "INSERT INTO login_throttle (account_key, client) VALUES ($1, $3), ($2, $3)
         ON CONFLICT (account_key, client) DO NOTHING",
    )
    .bind(account_key)
    .bind(ANY_ACCOUNT)
    .bind(client)
    .execute(&mut *conn)
    .await?;
    // Locked in one order (key), so two attempts never wait on each other crosswise.
    let rows: Vec<(
        String,
        i64,
        Option<OffsetDateTime>,
        OffsetDateTime,
        OffsetDateTime,
    )> = sqlx::query_as(
        "SELECT account_key, attempts, blocked_until, updated_at, now() FROM login_throttle
             WHERE client = $3 AND account_key IN ($1, $2) ORDER BY account_key FOR UPDATE",
    )
    .bind(account_key)
    .bind(ANY_ACCOUNT)
    .bind(client)
    .fetch_all(&mut *conn)
    .await?;
    let mut next = Vec::with_capacity(2);
    for (key, attempts, blocked_until, updated_at, now) in rows {
        let free = if key == ANY_ACCOUNT {
            free_client
        } else {
            free_pair
        };
        let counter = Counter {
            attempts,
            blocked_until,
            updated_at,
        };
        match admit(counter, now, free) {
            Ok(c) => next.push((key, c)),
            Err(wait) => return Ok(Err(wait)),
        }
    }
    for (key, c) in next {
        sqlx::query(
            "UPDATE login_throttle SET attempts = $3, blocked_until = $4, updated_at = $5
             WHERE account_key = $1 AND client = $2",
        )
        .bind(&key)
        .bind(client)
        .bind(c.attempts)
        .bind(c.blocked_until)
        .bind(c.updated_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Ok(()))
}

/// The attempt was the right password: the pair starts again, and the client's overall count
/// gives the attempt back (a success is not a failure, but it does not wipe other failures).
pub async fn login_succeeded(
    conn: &mut Conn,
    account_key: &str,
    client: &str,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM login_throttle WHERE account_key = $1 AND client = $2")
        .bind(account_key)
        .bind(client)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE login_throttle SET attempts = greatest(attempts - 1, 0)
         WHERE account_key = $1 AND client = $2",
    )
    .bind(ANY_ACCOUNT)
    .bind(client)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forget counters nobody has touched for a day (they would start from zero anyway).
pub async fn prune_login_throttle(conn: &mut Conn) -> Result<u64, DbError> {
    Ok(
        sqlx::query("DELETE FROM login_throttle WHERE updated_at < now() - interval '24 hours'")
            .execute(conn)
            .await?
            .rows_affected(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::minutes(minutes)
    }

    fn fresh() -> Counter {
        Counter {
            attempts: 0,
            blocked_until: None,
            updated_at: at(0),
        }
    }

    #[test]
    fn free_attempts_pass_then_each_one_doubles_the_wait() {
        let mut c = fresh();
        for n in 1..=4 {
            c = admit(c, at(0), 5).unwrap();
            assert_eq!((c.attempts, c.blocked_until), (n, None));
        }
        // The fifth passes and blocks the sixth for a minute.
        c = admit(c, at(0), 5).unwrap();
        assert_eq!(c.blocked_until, Some(at(1)));
        assert_eq!(admit(c, at(0), 5), Err(time::Duration::minutes(1)));
        c = admit(c, at(1), 5).unwrap();
        assert_eq!(c.blocked_until, Some(at(3)));
        c = admit(c, at(3), 5).unwrap();
        assert_eq!(c.blocked_until, Some(at(7)));
        for _ in 0..20 {
            let now = c.blocked_until.unwrap();
            c = admit(c, now, 5).unwrap();
        }
        assert_eq!(c.blocked_until.unwrap() - c.updated_at, MAX_BLOCK);
    }

    #[test]
    fn a_day_of_quiet_forgets() {
        let c = Counter {
            attempts: 40,
            blocked_until: Some(at(60)),
            updated_at: at(0),
        };
        let c = admit(c, at(60 * 25), 5).unwrap();
        assert_eq!((c.attempts, c.blocked_until), (1, None));
    }
}
