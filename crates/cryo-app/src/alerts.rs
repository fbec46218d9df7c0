//! Direct notifications for installs without Prometheus. Failures of scheduled work (backups,
//! training) and degraded health raise alerts in PostgreSQL; a sender delivers them from the
//! persistent outbox to the configured webhook, signed with HMAC-SHA256, retrying with doubling
//! back-off. De-duplication (a firing alert is re-notified only after `alerts.repeat_secs`) and
//! silences are decided when the alert is raised.
//!
//! Delivery is at most once per outbox row: the row stays locked (`FOR UPDATE SKIP LOCKED`) while
//! it is sent and its outcome is committed with the lock, so two senders never send it twice; the
//! `X-CryoProtect-Delivery` header carries the row's id for receivers that want to de-duplicate a
//! retry after a lost acknowledgement.

use crate::{App, AppError};
use cryo_db::Identity;
use cryo_db::repo::alerts::{self as repo, Raised};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Raises `fingerprint` (see [`repo::raise`]) as service_role and wakes the sender.
pub async fn raise(
    state: &App,
    fingerprint: &str,
    severity: &str,
    summary: &str,
    details: serde_json::Value,
) -> Result<Raised, AppError> {
    let repeat = state.settings.alerts.repeat_secs;
    let raised = state
        .as_service(async |tx| {
            repo::raise(tx, fingerprint, severity, summary, &details, repeat).await
        })
        .await?;
    tracing::warn!(fingerprint, severity, summary, outcome = ?raised, "alert raised");
    state.outbox.notify_waiters();
    Ok(raised)
}

/// Resolves `fingerprint` if it fires.
pub async fn resolve(state: &App, fingerprint: &str) -> Result<bool, AppError> {
    let resolved = state
        .as_service(async |tx| repo::resolve(tx, fingerprint).await)
        .await?;
    if resolved {
        tracing::info!(fingerprint, "alert resolved");
        state.outbox.notify_waiters();
    }
    Ok(resolved)
}

/// Logs instead of failing: an alert that cannot be recorded must not break the work that
/// raised it.
pub async fn raise_or_log(
    state: &App,
    fingerprint: &str,
    severity: &str,
    summary: &str,
    details: serde_json::Value,
) {
    if let Err(e) = raise(state, fingerprint, severity, summary, details).await {
        tracing::error!(fingerprint, error = %e, "could not record an alert");
    }
}

pub async fn resolve_or_log(state: &App, fingerprint: &str) {
    if let Err(e) = resolve(state, fingerprint).await {
        tracing::error!(fingerprint, error = %e, "could not resolve an alert");
    }
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers due outbox rows to `alerts.webhook_url` until aborted. Without a URL it does
/// nothing (alerts are still recorded and listed by the API).
pub fn spawn_sender(state: App) -> Option<tokio::task::JoinHandle<()>> {
    let url = state.settings.alerts.webhook_url.clone()?;
    Some(tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client");
        loop {
            match send_one(&state, &client, url.expose()).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "alert outbox"),
            }
            tokio::select! {
                _ = state.outbox.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }))
}

/// Sends the oldest due delivery, if any; true when there was one.
async fn send_one(state: &App, client: &reqwest::Client, url: &str) -> Result<bool, AppError> {
    let settings = &state.settings.alerts;
    let mut tx = state.begin(&Identity::service()).await?;
    let Some(delivery) = repo::claim_due(&mut tx).await? else {
        tx.commit().await?;
        return Ok(false);
    };
    let body = serde_json::to_vec(&delivery.payload.0)
        .map_err(|e| AppError::Internal(format!("alert payload: {e}")))?;
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-cryoprotect-delivery", delivery.id.to_string())
        .header("x-cryoprotect-timestamp", timestamp.to_string());
    if let Some(secret) = &settings.webhook_secret {
        request = request.header(
            "x-cryoprotect-signature",
            signature(secret.expose(), timestamp, &body),
        );
    }
    let outcome = match request.body(body).send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("receiver answered {}", r.status())),
        // Without the URL: it may carry a token.
        Err(e) => Err(format!("receiver unreachable: {}", e.without_url())),
    };
    match outcome {
        Ok(()) => {
            repo::mark_delivered(&mut tx, delivery.id).await?;
            tracing::info!(delivery = %delivery.id, status = %delivery.status, "alert delivered");
        }
        Err(error) => {
            let backoff =
                (settings.retry_base_secs * 2f64.powi(delivery.attempts.min(16) as i32)).min(300.0);
            repo::mark_failed(&mut tx, delivery.id, &error, backoff, settings.max_attempts).await?;
            tracing::warn!(delivery = %delivery.id, attempts = delivery.attempts + 1, retry_in_secs = backoff, %error, "alert delivery failed");
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Checks health every `alerts.health_check_secs` and raises or resolves one alert per
/// dependency (`health:<name>`). Runs until aborted. Only the cluster's leader watches: replicas
/// that each raised and resolved from their own view made alerts flap.
pub fn spawn_health_watch(state: App) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs_f64(state.settings.alerts.health_check_secs.max(1.0));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if !state.leader.leading().await {
                continue;
            }
            let health = crate::health::report(&state).await;
            for dep in &health.dependencies {
                let fingerprint = format!("health:{}", dep.name);
                if dep.status == crate::health::Status::Ok {
                    resolve_or_log(&state, &fingerprint).await;
                } else {
                    let severity = if dep.status == crate::health::Status::Failed {
                        "critical"
                    } else {
                        "warning"
                    };
                    raise_or_log(
                        &state,
                        &fingerprint,
                        severity,
                        &format!(
                            "{} is {}: {}",
                            dep.name,
                            dep.status,
                            dep.detail.as_deref().unwrap_or("")
                        ),
                        serde_json::json!({ "dependency": dep.name, "detail": dep.detail }),
                    )
                    .await;
                }
            }
        }
    })
}
