//! The alert outbox (service_role only): raising and resolving alerts with de-duplication and a
//! repeat interval, deliveries claimed with SKIP LOCKED and retried with back-off, and silences.

use super::Conn;
use crate::DbError;
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// What raising an alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A notification was queued.
    Queued,
    /// Already firing and notified within the repeat interval: nothing queued.
    Deduplicated,
    /// A silence matches: recorded as silenced, not sent.
    Silenced,
}

/// Raises (or re-raises) `fingerprint`. A notification is queued when the alert starts firing,
/// and again only after `repeat_secs` while it keeps firing.
pub async fn raise(
    conn: &mut Conn,
    fingerprint: &str,
    severity: &str,
    summary: &str,
    details: &serde_json::Value,
    repeat_secs: f64,
) -> Result<Raised, DbError> {
    let (id, due): (Uuid, bool) = sqlx::query_as(
        "INSERT INTO alerts (fingerprint, severity, summary, details, firing, since)
         VALUES ($1, $2, $3, $4, true, now())
         ON CONFLICT (fingerprint) DO UPDATE SET
             severity = EXCLUDED.severity, summary = EXCLUDED.summary, details = EXCLUDED.details,
             since = CASE WHEN alerts.firing THEN alerts.since ELSE now() END,
             -- Firing again after it resolved: a new episode, notified at once.
             last_notified_at = CASE WHEN alerts.firing THEN alerts.last_notified_at END,
             firing = true
         RETURNING id,
             (last_notified_at IS NULL OR last_notified_at <= now() - make_interval(secs => $5)) AS due",
    )
    .bind(fingerprint)
    .bind(severity)
    .bind(summary)
    .bind(Json(details))
    .bind(repeat_secs)
    .fetch_one(&mut *conn)
    .await?;
    if !due {
        return Ok(Raised::Deduplicated);
    }
    enqueue(conn, id, fingerprint, "firing", severity, summary, details).await
}

/// Resolves `fingerprint` if it is firing, queueing a "resolved" notification.
pub async fn resolve(conn: &mut Conn, fingerprint: &str) -> Result<bool, DbError> {
    let row: Option<(Uuid, String, String, Json<serde_json::Value>)> = sqlx::query_as(
        "UPDATE alerts SET firing = false WHERE fingerprint = $1 AND firing
         RETURNING id, severity, summary, details",
    )
    .bind(fingerprint)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, severity, summary, details)) = row else {
        return Ok(false);
    };
    enqueue(
        conn,
        id,
        fingerprint,
        "resolved",
        &severity,
        &summary,
        &details.0,
    )
    .await?;
    Ok(true)
}

async fn enqueue(
    conn: &mut Conn,
    alert: Uuid,
    fingerprint: &str,
    status: &str,
    severity: &str,
    summary: &str,
    details: &serde_json::Value,
) -> Result<Raised, DbError> {
    let silenced: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM alert_silences
                        WHERE starts_at <= now() AND ends_at > now() AND starts_with($1, matcher))",
    )
    .bind(fingerprint)
    .fetch_one(&mut *conn)
    .await?;
    let payload = serde_json::json!({
        "fingerprint": fingerprint,
        "status": status,
        "severity": severity,
        "summary": summary,
        "details": details,
        "at": OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    });
    sqlx::query(
        "INSERT INTO alert_deliveries (alert_id, status, payload, state) VALUES ($1, $2, $3, $4)",
    )
    .bind(alert)
    .bind(status)
    .bind(Json(&payload))
    .bind(if silenced { "silenced" } else { "pending" })
    .execute(&mut *conn)
    .await?;
    if silenced {
        return Ok(Raised::Silenced);
    }
    sqlx::query("UPDATE alerts SET last_notified_at = now() WHERE id = $1")
        .bind(alert)
        .execute(conn)
        .await?;
    Ok(Raised::Queued)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: Uuid,
    pub alert_id: Uuid,
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Json<serde_json::Value>,
    /// pending, delivered, dead or silenced.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub delivered_at: Option<OffsetDateTime>,
}

macro_rules! delivery_select {
    () => {
        "SELECT id, alert_id, status, payload, state, attempts, last_error, created_at, delivered_at
    FROM alert_deliveries"
    };
}

/// The oldest due delivery, locked for this transaction (other senders skip it). The caller
/// sends it and records the outcome before committing, so a delivery is never sent twice by
/// two senders. An alert's notifications go out in the order they were made: one waits while
/// an older one of the same alert is still pending (in back-off), so a `resolved` never
/// arrives before the `firing` it ends.
pub async fn claim_due(conn: &mut Conn) -> Result<Option<Delivery>, DbError> {
    let sql = concat!(
        delivery_select!(),
        " d WHERE state = 'pending' AND next_attempt_at <= now()
           AND NOT EXISTS (SELECT 1 FROM alert_deliveries older
                           WHERE older.alert_id = d.alert_id AND older.state = 'pending'
                             AND (older.created_at, older.id) < (d.created_at, d.id))
         ORDER BY next_attempt_at, created_at FOR UPDATE SKIP LOCKED LIMIT 1"
    );
    Ok(sqlx::query_as(sql).fetch_optional(conn).await?)
}

pub async fn mark_delivered(conn: &mut Conn, id: Uuid) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE alert_deliveries SET state = 'delivered', delivered_at = now(), attempts = attempts + 1,
                last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: retried after `backoff_secs`, or dead after `max_attempts`.
pub async fn mark_failed(
    conn: &mut Conn,
    id: Uuid,
    error: &str,
    backoff_secs: f64,
    max_attempts: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $2,
                state = CASE WHEN attempts + 1 >= $4 THEN 'dead' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => $3)
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(backoff_secs)
    .bind(max_attempts)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn recent_deliveries(conn: &mut Conn, limit: i64) -> Result<Vec<Delivery>, DbError> {
    let sql = concat!(delivery_select!(), " ORDER BY created_at DESC, id LIMIT $1");
    Ok(sqlx::query_as(sql).bind(limit).fetch_all(conn).await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: Uuid,
    pub fingerprint: String,
    pub severity: String,
    pub summary: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Json<serde_json::Value>,
    pub firing: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub since: OffsetDateTime,
    /// Whether an active silence matches it.
    pub silenced: bool,
}

pub async fn list_alerts(conn: &mut Conn) -> Result<Vec<Alert>, DbError> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.fingerprint, a.severity, a.summary, a.details, a.firing, a.since,
                EXISTS (SELECT 1 FROM alert_silences s WHERE s.starts_at <= now() AND s.ends_at > now()
                        AND starts_with(a.fingerprint, s.matcher)) AS silenced
         FROM alerts a ORDER BY a.firing DESC, a.updated_at DESC",
    )
    .fetch_all(conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Silence {
    pub id: Uuid,
    /// Alerts whose fingerprint starts with this are silenced.
    pub matcher: String,
    pub comment: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ends_at: OffsetDateTime,
    pub created_by: Option<Uuid>,
    pub active: bool,
}

macro_rules! silence_select {
    () => {
        "SELECT id, matcher, comment, starts_at, ends_at, created_by,
        (starts_at <= now() AND ends_at > now()) AS active FROM alert_silences"
    };
}

pub async fn create_silence(
    conn: &mut Conn,
    matcher: &str,
    comment: &str,
    minutes: f64,
    by: Option<Uuid>,
) -> Result<Silence, DbError> {
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO alert_silences (matcher, comment, ends_at, created_by)
         VALUES ($1, $2, now() + make_interval(secs => $3 * 60), $4) RETURNING id",
    )
    .bind(matcher)
    .bind(comment)
    .bind(minutes)
    .bind(by)
    .fetch_one(&mut *conn)
    .await?;
    let sql = concat!(silence_select!(), " WHERE id = $1");
    Ok(sqlx::query_as(sql).bind(id).fetch_one(conn).await?)
}

pub async fn list_silences(conn: &mut Conn) -> Result<Vec<Silence>, DbError> {
    let sql = concat!(silence_select!(), " ORDER BY ends_at DESC, id");
    Ok(sqlx::query_as(sql).fetch_all(conn).await?)
}

/// Ends a silence now (kept as a record). False when it does not exist or has already ended.
pub async fn expire_silence(conn: &mut Conn, id: Uuid) -> Result<bool, DbError> {
    Ok(sqlx::query(
        "UPDATE alert_silences SET ends_at = greatest(now(), starts_at + interval '1 microsecond')
         WHERE id = $1 AND ends_at > now()",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}
