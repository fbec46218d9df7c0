//! Database health in one look: named checks, each with a status, the measured value, the
//! threshold it was held against and what to do about it. The statistics checks run as
//! `cryoprotect_monitor` (a member of `pg_monitor` with no table privileges) in a read-only
//! transaction; orphan counts run as the BYPASSRLS helper, read-only. A check that cannot run says
//! `error` with the reason; it is never folded into `ok`. Overall status = the worst.

use crate::backup::Store;
use crate::{DbError, integrity, migrate, rls};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// What was measured (a number, or an object for multi-part values).
    pub value: Value,
    /// What the value was compared with, in words.
    pub threshold: String,
    pub message: String,
    pub recommendation: Option<String>,
    pub millis: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub status: Status,
    pub checks: Vec<Check>,
    /// Whether the statistics checks ran as the dedicated monitoring role.
    pub monitor_role: bool,
    pub millis: f64,
}

/// Every threshold; defaults are conservative (they flag real trouble, not noise).
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    pub latency_warn_ms: f64,
    pub latency_critical_ms: f64,
    pub dead_tuple_ratio: f64,
    /// Tables with fewer dead rows than this are not judged on their ratio.
    pub dead_tuple_min_rows: i64,
    pub cache_hit_warn: f64,
    pub cache_hit_critical: f64,
    pub connections_warn: f64,
    pub connections_critical: f64,
    pub long_query_warn_secs: f64,
    pub long_query_critical_secs: f64,
    pub idle_in_transaction_warn_secs: f64,
    pub idle_in_transaction_critical_secs: f64,
    pub lock_wait_critical_secs: f64,
    pub xid_age_warn: i64,
    pub xid_age_critical: i64,
    pub database_size_warn_bytes: i64,
    /// Unused indexes smaller than this are not reported.
    pub unused_index_min_bytes: i64,
    pub backup_warn_hours: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            latency_warn_ms: 50.0,
            latency_critical_ms: 500.0,
            dead_tuple_ratio: 0.2,
            dead_tuple_min_rows: 10_000,
            cache_hit_warn: 0.95,
            cache_hit_critical: 0.90,
            connections_warn: 0.75,
            connections_critical: 0.90,
            long_query_warn_secs: 60.0,
            long_query_critical_secs: 300.0,
            idle_in_transaction_warn_secs: 30.0,
            idle_in_transaction_critical_secs: 300.0,
            lock_wait_critical_secs: 60.0,
            xid_age_warn: 500_000_000,
            xid_age_critical: 1_500_000_000,
            database_size_warn_bytes: 50 * (1 << 30),
            unused_index_min_bytes: 10 * (1 << 20),
            backup_warn_hours: 25.0,
        }
    }
}

/// The names `run` accepts in `only`, in the order they run.
pub const CHECKS: &[&str] = &[
    "connectivity",
    "migrations",
    "rls_coverage",
    "orphans",
    "unindexed_foreign_keys",
    "duplicate_indexes",
    "unused_indexes",
    "dead_tuples",
    "vacuum_analyze",
    "cache_hit_ratio",
    "connections",
    "long_running_queries",
    "idle_in_transaction",
    "blocked_locks",
    "xid_wraparound",
    "database_size",
    "last_backup",
];

struct Outcome {
    status: Status,
    value: Value,
    threshold: String,
    message: String,
    recommendation: Option<String>,
}

fn outcome(
    status: Status,
    value: Value,
    threshold: impl Into<String>,
    message: impl Into<String>,
) -> Outcome {
    Outcome {
        status,
        value,
        threshold: threshold.into(),
        message: message.into(),
        recommendation: None,
    }
}

impl Outcome {
    fn advise(mut self, when_not_ok: &str) -> Outcome {
        if self.status != Status::Ok {
            self.recommendation = Some(when_not_ok.into());
        }
        self
    }
}

/// Higher is worse: `warn` and `critical` are lower bounds.
fn grade(value: f64, warn: f64, critical: f64) -> Status {
    if value >= critical {
        Status::Critical
    } else if value >= warn {
        Status::Warning
    } else {
        Status::Ok
    }
}

pub async fn run(
    pool: &PgPool,
    t: &Thresholds,
    backups: Option<&Store>,
    only: Option<&[String]>,
) -> Result<Report, DbError> {
    if let Some(names) = only
        && let Some(bad) = names.iter().find(|n| !CHECKS.contains(&n.as_str()))
    {
        return Err(DbError::Refused(format!(
            "unknown check {bad:?}; known: {}",
            CHECKS.join(", ")
        )));
    }
    let wanted = |name: &str| only.is_none_or(|names| names.iter().any(|n| n == name));
    let started = Instant::now();
    let mut checks = Vec::new();
    let record = |checks: &mut Vec<Check>,
                  name: &'static str,
                  began: Instant,
                  result: Result<Outcome, DbError>| {
        let o = result.unwrap_or_else(|e| {
            outcome(
                Status::Error,
                Value::Null,
                "",
                format!("could not run: {e}"),
            )
        });
        checks.push(Check {
            name,
            status: o.status,
            value: o.value,
            threshold: o.threshold,
            message: o.message,
            recommendation: o.recommendation,
            millis: began.elapsed().as_secs_f64() * 1000.0,
        });
    };
    // Checks that take their own connections run first, so a one-connection pool suffices.
    // The two integrity checks share one scan.
    let mut integrity: Option<Result<integrity::IntegrityReport, String>> = None;
    for &name in &CHECKS[..5] {
        if wanted(name) {
            let began = Instant::now();
            let result = match name {
                "connectivity" => connectivity(pool, t).await,
                "migrations" => migrations(pool).await,
                "rls_coverage" => rls_coverage(pool).await,
                _ => {
                    if integrity.is_none() {
                        // Quick mode: validated constraints are trusted, so this stays fast.
                        integrity = Some(
                            integrity::check(pool, false)
                                .await
                                .map_err(|e| e.to_string()),
                        );
                    }
                    match integrity.as_ref().expect("just computed") {
                        Ok(report) => Ok(integrity_outcome(report, name)),
                        Err(e) => Err(DbError::Refused(e.clone())),
                    }
                }
            };
            record(&mut checks, name, began, result);
        }
    }
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    tx.execute("SET TRANSACTION READ ONLY").await?;
    let monitor_role = crate::set_local_role_if_member(&mut tx, "cryoprotect_monitor").await?;
    // Sizes come from the catalog (no relation locks), and nothing here may wait behind a lock
    // it is meant to report.
    tx.execute("SET LOCAL lock_timeout = '2s'; SET LOCAL statement_timeout = '20s'")
        .await?;
    for &name in &CHECKS[5..] {
        if !wanted(name) {
            continue;
        }
        let began = Instant::now();
        let result = if name == "last_backup" {
            Ok(last_backup(backups, t))
        } else {
            // A failing query must not abort the checks after it.
            tx.execute("SAVEPOINT health_check").await?;
            let r = statistic(&mut tx, name, t).await;
            tx.execute(if r.is_ok() {
                "RELEASE SAVEPOINT health_check"
            } else {
                "ROLLBACK TO SAVEPOINT health_check"
            })
            .await?;
            r
        };
        record(&mut checks, name, began, result);
    }
    tx.rollback().await?;
    let status = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    Ok(Report {
        status,
        checks,
        monitor_role,
        millis: started.elapsed().as_secs_f64() * 1000.0,
    })
}

async fn connectivity(pool: &PgPool, t: &Thresholds) -> Result<Outcome, DbError> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let began = Instant::now();
        sqlx::query("SELECT 1").execute(pool).await?;
        best = best.min(began.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(outcome(
        grade(best, t.latency_warn_ms, t.latency_critical_ms),
        json!(best),
        format!(
            "warning ≥ {} ms, critical ≥ {} ms",
            t.latency_warn_ms, t.latency_critical_ms
        ),
        format!("round trip {best:.2} ms (best of 3)"),
    )
    .advise("check network distance and server load between the application and PostgreSQL"))
}

async fn migrations(pool: &PgPool) -> Result<Outcome, DbError> {
    let (known, newer) = migrate::status(pool).await?;
    // A database ahead of this binary is what a rollback after a migrating deploy looks like:
    // it serves (migrations are expand-only), but this binary is not the newest release.
    let (status, message) = if !migrate::compatible(&known) {
        (Status::Critical, "pending or edited migrations".to_string())
    } else if !newer.is_empty() {
        (
            Status::Warning,
            format!(
                "the database has {} migration(s) newer than this binary ({newer:?}): a newer release migrated it",
                newer.len()
            ),
        )
    } else {
        (Status::Ok, "schema is current".to_string())
    };
    Ok(outcome(
        status,
        json!({"current": status == Status::Ok, "newer_than_binary": newer}),
        "every embedded migration applied, none edited",
        message,
    )
    .advise("run `cryoprotect db status`; pending: `cryoprotect db migrate`; newer: deploy the release that applied them"))
}

async fn rls_coverage(pool: &PgPool) -> Result<Outcome, DbError> {
    let report = rls::verify_coverage(pool).await?;
    let gaps: Vec<String> = report
        .failures()
        .map(|f| format!("{}: {}", f.table, f.detail))
        .collect();
    Ok(outcome(
        if gaps.is_empty() {
            Status::Ok
        } else {
            Status::Critical
        },
        json!(gaps.len()),
        "every table: RLS enabled and forced, a policy for every role and command",
        if gaps.is_empty() {
            "every table is covered".to_string()
        } else {
            gaps.join("; ")
        },
    )
    .advise("run `cryoprotect db rls apply`, then `cryoprotect db rls verify`"))
}

fn integrity_outcome(report: &integrity::IntegrityReport, name: &str) -> Outcome {
    if name == "orphans" {
        let orphans = report.orphans();
        let missing = report
            .foreign_keys
            .iter()
            .filter(|f| f.state != integrity::FkState::Valid)
            .count();
        let unguarded = report.polymorphic.iter().filter(|p| !p.guarded).count();
        let status = if orphans > 0 || missing > 0 || unguarded > 0 {
            Status::Warning
        } else {
            Status::Ok
        };
        return outcome(
            status,
            json!({"orphans": orphans, "missing_or_unvalidated_constraints": missing, "unguarded_polymorphic": unguarded}),
            "0 orphans, every expected constraint present and validated",
            format!("{orphans} orphan rows, {missing} constraints missing or not validated, {unguarded} polymorphic references unguarded"),
        )
        .advise("run `cryoprotect db integrity check`, then `db integrity fix --strategy quarantine`");
    }
    let unindexed: Vec<String> = report
        .unindexed()
        .map(|f| format!("{}.{}", f.table, f.column))
        .collect();
    outcome(
        if unindexed.is_empty() {
            Status::Ok
        } else {
            Status::Warning
        },
        json!(unindexed),
        "every foreign key column leads an index",
        format!(
            "{} foreign keys without a supporting index",
            unindexed.len()
        ),
    )
    .advise("CREATE INDEX CONCURRENTLY on each listed column")
}

fn last_backup(store: Option<&Store>, t: &Thresholds) -> Outcome {
    let threshold = format!("warning when older than {} h", t.backup_warn_hours);
    let Some(store) = store else {
        return outcome(
            Status::Warning,
            Value::Null,
            threshold,
            "no backup folder configured",
        )
        .advise("set backup.dir and a backup.schedule");
    };
    match store.list() {
        Err(e) => outcome(
            Status::Error,
            Value::Null,
            threshold,
            format!("cannot read backups: {e}"),
        ),
        Ok(list) => match list.into_iter().max_by_key(|m| m.finished_at) {
            None => outcome(
                Status::Warning,
                Value::Null,
                threshold,
                "no valid backup yet",
            )
            .advise("run `cryoprotect backup create` and set backup.schedule"),
            Some(m) => {
                let hours =
                    (time::OffsetDateTime::now_utc() - m.finished_at).as_seconds_f64() / 3600.0;
                outcome(
                    if hours > t.backup_warn_hours {
                        Status::Warning
                    } else {
                        Status::Ok
                    },
                    json!(hours),
                    threshold,
                    format!("last good backup {} finished {hours:.1} h ago", m.id),
                )
                .advise("check the backup schedule and the server log for backup failures")
            }
        },
    }
}

/// Checks answered from PostgreSQL's statistics views, as the monitoring role.
async fn statistic(
    conn: &mut PgConnection,
    name: &str,
    t: &Thresholds,
) -> Result<Outcome, DbError> {
    Ok(match name {
        "duplicate_indexes" => {
            let dups: Vec<String> = sqlx::query_scalar(
                "SELECT string_agg(indexrelid::regclass::text, ' = ' ORDER BY indexrelid::regclass::text)
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
                 WHERE c.relnamespace = 'public'::regnamespace
                 GROUP BY indrelid, indkey::text, indclass::text, coalesce(pg_get_expr(indpred, indrelid), ''),
                          coalesce(pg_get_expr(indexprs, indrelid), '')
                 HAVING count(*) > 1",
            )
            .fetch_all(&mut *conn)
            .await?;
            outcome(
                if dups.is_empty() {
                    Status::Ok
                } else {
                    Status::Warning
                },
                json!(dups),
                "no two indexes on the same columns with the same predicate",
                format!("{} sets of duplicate indexes", dups.len()),
            )
            .advise("drop all but one index of each set (keep the one backing a constraint)")
        }
        "unused_indexes" => {
            let unused: Vec<(String, i64)> = sqlx::query_as(
                "SELECT s.indexrelid::regclass::text, c.relpages::bigint * current_setting('block_size')::bigint
                 FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
                 JOIN pg_class c ON c.oid = s.indexrelid
                 WHERE s.schemaname = 'public' AND s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
                   AND c.relpages::bigint * current_setting('block_size')::bigint >= $1",
            )
            .bind(t.unused_index_min_bytes)
            .fetch_all(&mut *conn)
            .await?;
            outcome(
                if unused.is_empty() {
                    Status::Ok
                } else {
                    Status::Warning
                },
                json!(
                    unused
                        .iter()
                        .map(|(n, b)| json!({"index": n, "bytes": b}))
                        .collect::<Vec<_>>()
                ),
                format!(
                    "non-unique indexes ≥ {} bytes never scanned since statistics were reset",
                    t.unused_index_min_bytes
                ),
                format!("{} large indexes never used", unused.len()),
            )
            .advise("confirm on a replica's statistics too, then drop indexes nobody uses")
        }
        "dead_tuples" => {
            let bloated: Vec<(String, i64, f64)> = sqlx::query_as(
                "SELECT relname::text, n_dead_tup, n_dead_tup::float8 / greatest(n_live_tup + n_dead_tup, 1)
                 FROM pg_stat_user_tables
                 WHERE schemaname = 'public' AND n_dead_tup >= $1
                   AND n_dead_tup::float8 / greatest(n_live_tup + n_dead_tup, 1) >= $2
                 ORDER BY 3 DESC",
            )
            .bind(t.dead_tuple_min_rows)
            .bind(t.dead_tuple_ratio)
            .fetch_all(&mut *conn)
            .await?;
            outcome(
                if bloated.is_empty() { Status::Ok } else { Status::Warning },
                json!(bloated.iter().map(|(n, d, r)| json!({"table": n, "dead": d, "ratio": r})).collect::<Vec<_>>()),
                format!("dead/total ≥ {} with ≥ {} dead rows", t.dead_tuple_ratio, t.dead_tuple_min_rows),
                format!("{} tables with many dead rows", bloated.len()),
            )
            .advise("VACUUM (ANALYZE) the listed tables; check autovacuum settings and long transactions")
        }
        "vacuum_analyze" => {
            let never: Vec<String> = sqlx::query_scalar(
                "SELECT relname::text FROM pg_stat_user_tables
                 WHERE schemaname = 'public' AND n_live_tup >= $1
                   AND coalesce(last_analyze, last_autoanalyze) IS NULL",
            )
            .bind(t.dead_tuple_min_rows)
            .fetch_all(&mut *conn)
            .await?;
            outcome(
                if never.is_empty() {
                    Status::Ok
                } else {
                    Status::Warning
                },
                json!(never),
                format!(
                    "tables with ≥ {} rows analysed at least once",
                    t.dead_tuple_min_rows
                ),
                format!("{} large tables never analysed", never.len()),
            )
            .advise("run ANALYZE on them; planner estimates are guesses until then")
        }
        "cache_hit_ratio" => {
            let (hit, read): (i64, i64) = sqlx::query_as(
                "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()",
            )
            .fetch_one(&mut *conn)
            .await?;
            let total = hit + read;
            if total < 10_000 {
                outcome(
                    Status::Ok,
                    json!(null),
                    "judged after 10,000 block reads",
                    format!("only {total} block reads so far"),
                )
            } else {
                let ratio = hit as f64 / total as f64;
                let status = if ratio < t.cache_hit_critical {
                    Status::Critical
                } else if ratio < t.cache_hit_warn {
                    Status::Warning
                } else {
                    Status::Ok
                };
                outcome(
                    status,
                    json!(ratio),
                    format!(
                        "warning < {}, critical < {}",
                        t.cache_hit_warn, t.cache_hit_critical
                    ),
                    format!(
                        "{:.2}% of block reads served from shared buffers",
                        ratio * 100.0
                    ),
                )
                .advise(
                    "raise shared_buffers or memory, or find the queries that scan large tables",
                )
            }
        }
        "connections" => {
            let (used, max): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
                        current_setting('max_connections')::bigint",
            )
            .fetch_one(&mut *conn)
            .await?;
            let share = used as f64 / max.max(1) as f64;
            outcome(
                grade(share, t.connections_warn, t.connections_critical),
                json!({"used": used, "max": max}),
                format!(
                    "warning ≥ {:.0}%, critical ≥ {:.0}% of max_connections",
                    t.connections_warn * 100.0,
                    t.connections_critical * 100.0
                ),
                format!("{used} of {max} connections in use"),
            )
            .advise("lower pool sizes or put a pooler (pgbouncer) in front")
        }
        "long_running_queries" => {
            let rows: Vec<(i32, f64, String)> = sqlx::query_as(
                "SELECT pid, extract(epoch FROM now() - query_start)::float8, left(query, 200)
                 FROM pg_stat_activity
                 WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                   AND now() - query_start >= make_interval(secs => $1)
                 ORDER BY 2 DESC",
            )
            .bind(t.long_query_warn_secs)
            .fetch_all(&mut *conn)
            .await?;
            let longest = rows.first().map_or(0.0, |r| r.1);
            outcome(
                grade(longest, t.long_query_warn_secs, t.long_query_critical_secs),
                json!(
                    rows.iter()
                        .map(|(p, s, q)| json!({"pid": p, "seconds": s, "query": q}))
                        .collect::<Vec<_>>()
                ),
                format!(
                    "warning ≥ {} s, critical ≥ {} s",
                    t.long_query_warn_secs, t.long_query_critical_secs
                ),
                format!(
                    "{} queries running longer than {} s",
                    rows.len(),
                    t.long_query_warn_secs
                ),
            )
            .advise("inspect with EXPLAIN; cancel with pg_cancel_backend(pid) if runaway")
        }
        "idle_in_transaction" => {
            let rows: Vec<(i32, f64)> = sqlx::query_as(
                "SELECT pid, extract(epoch FROM now() - state_change)::float8 FROM pg_stat_activity
                 WHERE state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()
                   AND now() - state_change >= make_interval(secs => $1)
                 ORDER BY 2 DESC",
            )
            .bind(t.idle_in_transaction_warn_secs)
            .fetch_all(&mut *conn)
            .await?;
            let longest = rows.first().map_or(0.0, |r| r.1);
            outcome(
                grade(longest, t.idle_in_transaction_warn_secs, t.idle_in_transaction_critical_secs),
                json!(rows.iter().map(|(p, s)| json!({"pid": p, "seconds": s})).collect::<Vec<_>>()),
                format!("warning ≥ {} s, critical ≥ {} s", t.idle_in_transaction_warn_secs, t.idle_in_transaction_critical_secs),
                format!("{} sessions idle inside an open transaction", rows.len()),
            )
            .advise("find the client that leaves transactions open; set idle_in_transaction_session_timeout")
        }
        "blocked_locks" => {
            let rows: Vec<(i32, Vec<i32>, f64)> = sqlx::query_as(
                "SELECT pid, pg_blocking_pids(pid), extract(epoch FROM now() - coalesce(state_change, query_start))::float8
                 FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0 ORDER BY 3 DESC",
            )
            .fetch_all(&mut *conn)
            .await?;
            let longest = rows.first().map_or(0.0, |r| r.2);
            let status = if rows.is_empty() {
                Status::Ok
            } else if longest >= t.lock_wait_critical_secs {
                Status::Critical
            } else {
                Status::Warning
            };
            outcome(
                status,
                json!(
                    rows.iter()
                        .map(|(p, by, s)| json!({"pid": p, "blocked_by": by, "seconds": s}))
                        .collect::<Vec<_>>()
                ),
                format!(
                    "warning when any session waits on a lock, critical after {} s",
                    t.lock_wait_critical_secs
                ),
                format!("{} sessions waiting on locks", rows.len()),
            )
            .advise(
                "look at the blocking pids' queries; a long or idle transaction is the usual cause",
            )
        }
        "xid_wraparound" => {
            let age: i64 = sqlx::query_scalar("SELECT age(datfrozenxid)::bigint FROM pg_database WHERE datname = current_database()")
                .fetch_one(&mut *conn)
                .await?;
            outcome(
                grade(age as f64, t.xid_age_warn as f64, t.xid_age_critical as f64),
                json!(age),
                format!("warning ≥ {}, critical ≥ {} transactions", t.xid_age_warn, t.xid_age_critical),
                format!("oldest unfrozen transaction id is {age} transactions old"),
            )
            .advise("run VACUUM (FREEZE) on the oldest tables; check for stuck autovacuum or prepared transactions")
        }
        "database_size" => {
            let (size, largest): (i64, Value) = sqlx::query_as(
                "SELECT pg_database_size(current_database()),
                        coalesce((SELECT jsonb_agg(jsonb_build_object('table', relname, 'bytes', bytes)) FROM (
                            SELECT c.relname, (c.relpages::bigint + coalesce(t.relpages, 0)) * current_setting('block_size')::bigint AS bytes
                            FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
                            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                            ORDER BY 2 DESC LIMIT 5) t), '[]'::jsonb)",
            )
            .fetch_one(&mut *conn)
            .await?;
            outcome(
                if size >= t.database_size_warn_bytes {
                    Status::Warning
                } else {
                    Status::Ok
                },
                json!({"bytes": size, "largest_tables": largest}),
                format!("warning ≥ {} bytes", t.database_size_warn_bytes),
                format!("{:.1} MB", size as f64 / 1e6),
            )
            .advise("archive old data or plan storage growth")
        }
        other => outcome(
            Status::Error,
            Value::Null,
            "",
            format!("no check named {other}"),
        ),
    })
}

impl Thresholds {
    /// The configured thresholds; the critical levels follow from the warning ones.
    pub fn from_settings(settings: &cryo_config::Settings) -> Thresholds {
        let h = &settings.health;
        Thresholds {
            latency_warn_ms: h.latency_warn_ms,
            latency_critical_ms: h.latency_warn_ms * 10.0,
            long_query_warn_secs: h.long_query_warn_secs,
            long_query_critical_secs: h.long_query_warn_secs * 5.0,
            idle_in_transaction_warn_secs: h.idle_in_transaction_warn_secs,
            idle_in_transaction_critical_secs: h.idle_in_transaction_warn_secs * 10.0,
            connections_warn: h.connections_warn,
            connections_critical: h.connections_warn.max(0.9),
            dead_tuple_ratio: h.dead_tuple_ratio,
            backup_warn_hours: settings.backup.warn_after_hours,
            ..Thresholds::default()
        }
    }
}
