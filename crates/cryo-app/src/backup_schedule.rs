//! Backups on the configured schedule (`backup.schedule`, cron, UTC) inside `serve`, and the
//! alert a failed one raises. Every replica keeps the schedule; only the cluster's leader
//! ([`cryo_db::leader`]) takes the backup at a tick, so a tick gives one backup and one prune.

/// Runs backups on `cron` until aborted (see [`scheduled_backup`]).
pub async fn run_schedule(state: crate::App, cron: croner::Cron) {
    let Some(service) = state.admin.clone() else {
        return;
    };
    loop {
        let now = chrono::Utc::now();
        let Ok(next) = cron.find_next_occurrence(&now, false) else {
            tracing::error!("backup schedule has no next occurrence; scheduler stopped");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tracing::info!(next = %next, "next scheduled backup");
        tokio::time::sleep(wait).await;
        on_tick(&state, &service).await;
    }
}

/// What every replica does at a scheduled tick: the leader takes the backup, the others leave
/// it to the leader. Returns whether this replica took it.
pub async fn on_tick(state: &crate::App, service: &crate::system::AdminService) -> bool {
    if state.leader.leading().await {
        scheduled_backup(state, service).await;
        true
    } else {
        tracing::info!("scheduled backup left to the cluster's leader");
        false
    }
}

/// One scheduled backup: unlabelled, so the retention policy applies to it. A failure raises
/// the `backup_failed` alert; the next success resolves it.
pub async fn scheduled_backup(state: &crate::App, service: &crate::system::AdminService) {
    match service.run(None).await {
        Ok(_) => crate::alerts::resolve_or_log(state, "backup_failed").await,
        Err(e) => {
            crate::alerts::raise_or_log(
                state,
                "backup_failed",
                "critical",
                &format!("the scheduled backup failed: {e}"),
                serde_json::json!({ "error": e.to_string() }),
            )
            .await
        }
    }
}
