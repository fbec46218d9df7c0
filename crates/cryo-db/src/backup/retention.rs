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
}

/// Maps a time to the period (year, index within year) it falls in.
pub(super) type PeriodOf = fn(OffsetDateTime) -> (i32, u32);

/// Which backups to keep and which to delete at `now`. Labelled and pinned backups are always
/// kept. For each granularity the newest backup of each of the most recent N periods that have
/// one is kept.
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
    for m in sorted {
        let protected = m.pinned || m.label.is_some();
        if protected || (keep.contains(&m.id) && !too_old(m)) {
            kept.push(m.id.clone());
        } else {
            deleted.push(m.id.clone());
        }
    }
    (kept, deleted)
}
