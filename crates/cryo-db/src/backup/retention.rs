//! Grandfather-father-son retention: which backups to keep.

use super::*;

/// Grandfather-father-son retention.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
    pub yearly: usize,
    /// Backups older than this are removed even if a GFS slot would keep them (days).
    pub max_age_days: Option<i64>,
    /// The newest this many are kept whatever `max_age_days` says: a server whose backups
    /// stopped is never pruned down to nothing.
    #[serde(default)]
    pub min_kept: usize,
}

impl RetentionPolicy {
    /// The policy `backup.keep_*` and `backup.max_age_days` configure.
    pub fn from_settings(s: &cryo_config::BackupSettings) -> RetentionPolicy {
        RetentionPolicy {
            daily: s.keep_daily,
            weekly: s.keep_weekly,
            monthly: s.keep_monthly,
            yearly: s.keep_yearly,
            max_age_days: s.max_age_days,
            min_kept: s.keep_min,
        }
    }
}

/// Maps a time to the period (year, index within year) it falls in.
pub(super) type PeriodOf = fn(OffsetDateTime) -> (i32, u32);

/// Which backups to keep and which to delete at `now`. Labelled and pinned backups, and the
/// newest `min_kept`, are always kept. For each granularity the newest backup of each of the
/// most recent N periods that have one is kept.
pub fn plan_prune(
    backups: &[Manifest],
    policy: &RetentionPolicy,
    now: OffsetDateTime,
) -> (Vec<String>, Vec<String>) {
    let mut sorted: Vec<&Manifest> = backups.iter().collect();
    sorted.sort_by_key(|m| std::cmp::Reverse(m.started_at));
    let mut keep = std::collections::BTreeSet::new();
    let periods: [(usize, PeriodOf); 4] = [
        (policy.daily, |t| (t.year(), t.ordinal() as u32)),
        (policy.weekly, |t| {
            let (y, w, _) = t.to_iso_week_date();
            (y, w as u32)
        }),
        (policy.monthly, |t| (t.year(), t.month() as u32)),
        (policy.yearly, |t| (t.year(), 0)),
    ];
    for (count, period_of) in periods {
        let mut seen = Vec::new();
        for m in &sorted {
            let p = period_of(m.started_at);
            if !seen.contains(&p) {
                if seen.len() == count {
                    break;
                }
                seen.push(p);
                keep.insert(m.id.clone());
            }
        }
    }
    let too_old = |m: &Manifest| {
        policy
            .max_age_days
            .is_some_and(|d| now - m.started_at > time::Duration::days(d))
    };
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for (newest, m) in sorted.into_iter().enumerate() {
        let protected = m.pinned || m.label.is_some() || newest < policy.min_kept;
        if protected || (keep.contains(&m.id) && !too_old(m)) {
            kept.push(m.id.clone());
        } else {
            deleted.push(m.id.clone());
        }
    }
    (kept, deleted)
}
