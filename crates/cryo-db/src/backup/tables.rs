//! Restoring chosen tables from a backup into the live database.

use super::*;

/// What a table-level restore did (or would do) to one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableRestore {
    pub table: String,
    pub rows_before: i64,
    pub rows_restored: i64,
}

/// Puts the rows of `tables` back as they were in backup `id`, in the live database, in one
/// transaction; every other table is left alone. The backup must be at the database's schema
/// version, and a table that rows of an unnamed table still reference must be restored together
/// with it (name both), so no reference is cut or cascaded away. The backup is restored into a
/// scratch database first and the rows are streamed from there with COPY.
pub async fn restore_tables(
    pool: &PgPool,
    store: &Store,
    spec: &ConnSpec,
    id: &str,
    tables: &[String],
    dry_run: bool,
) -> Result<Vec<TableRestore>, BackupError> {
    use crate::integrity::EXPECTED_FKS;
    use sqlx::Connection;
    let m = store.get(id)?;
    let known: Vec<&String> = m.table_counts.keys().collect();
    if let Some(bad) = tables.iter().find(|t| !m.table_counts.contains_key(*t)) {
        return Err(BackupError::Refused(format!(
            "backup {} has no table `{bad}` (it has: {})",
            m.id,
            known
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await?;
    if current != m.migration_version {
        return Err(BackupError::Refused(format!(
            "backup {} is at migration {:?} and the database at {current:?}: tables may differ; restore the whole backup into a new database instead",
            m.id, m.migration_version
        )));
    }
    // Tables that reference a named one but are not named themselves must hold no such reference.
    let mut tx = pool.begin().await?;
    tx.execute("SET LOCAL ROLE cryoprotect_rls_definer").await?;
    for fk in EXPECTED_FKS.iter().filter(|f| {
        tables.iter().any(|t| t == f.references) && !tables.iter().any(|t| t == f.table)
    }) {
        let sql = format!(
            "SELECT count(*) FROM public.{} WHERE {} IS NOT NULL",
            quote_ident(fk.table),
            quote_ident(fk.column)
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Err(BackupError::Refused(format!(
                "{n} rows of `{}` reference `{}`; restore them together (--tables {},{})",
                fk.table, fk.references, fk.references, fk.table
            )));
        }
    }
    tx.rollback().await?;
    // Parents before children when inserting; the reverse when deleting.
    let mut order: Vec<&String> = Vec::new();
    let mut left: Vec<&String> = tables.iter().collect();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|t| {
                !EXPECTED_FKS.iter().any(|f| {
                    f.table == t.as_str()
                        && f.references != f.table
                        && left.iter().any(|o| o.as_str() == f.references)
                })
            })
            .unwrap_or(0);
        order.push(left.remove(ready));
    }
    check_integrity(store, &m)?;
    let restored = with_restored_copy(store, spec, id, async |copy: ConnSpec| -> Result<Vec<TableRestore>, BackupError> {
        let mut source = PgConnection::connect_with(&copy.options()).await?;
        let mut source_tx = source.begin().await?;
        source_tx.execute("SET LOCAL ROLE cryoprotect_rls_definer").await?;
        let mut target = pool.begin().await?;
        let mut report = Vec::new();
        for t in order.iter().rev() {
            let q = quote_ident(t);
            // The owner bypasses row-level security only while FORCE is off; the lock this takes
            // keeps everyone else out until commit, when FORCE is back.
            target.execute(AssertSqlSafe(format!("ALTER TABLE public.{q} NO FORCE ROW LEVEL SECURITY"))).await?;
            let before: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM public.{q}"))).fetch_one(&mut *target).await?;
            target.execute(AssertSqlSafe(format!("DELETE FROM public.{q}"))).await?;
            report.push(TableRestore { table: t.to_string(), rows_before: before, rows_restored: 0 });
        }
        for t in &order {
            let q = quote_ident(t);
            let mut rows = source_tx.copy_out_raw(&format!("COPY (SELECT * FROM public.{q}) TO STDOUT (FORMAT binary)")).await?;
            let mut sink = target.copy_in_raw(&format!("COPY public.{q} FROM STDIN (FORMAT binary)")).await?;
            while let Some(chunk) = futures_util::StreamExt::next(&mut rows).await {
                sink.send(chunk?).await?;
            }
            drop(rows);
            let n = sink.finish().await? as i64;
            if let Some(r) = report.iter_mut().find(|r| r.table == t.as_str()) {
                r.rows_restored = n;
            }
            target.execute(AssertSqlSafe(format!("ALTER TABLE public.{q} FORCE ROW LEVEL SECURITY"))).await?;
        }
        target.execute("ALTER TABLE public.audit_log NO FORCE ROW LEVEL SECURITY").await?;
        sqlx::query("INSERT INTO audit_log (actor_role, action, details) VALUES ('owner', 'restore_tables', $1)")
            .bind(serde_json::json!({"backup": id, "tables": &report}))
            .execute(&mut *target)
            .await?;
        target.execute("ALTER TABLE public.audit_log FORCE ROW LEVEL SECURITY").await?;
        if dry_run {
            target.rollback().await?;
        } else {
            target.commit().await?;
        }
        source_tx.rollback().await?;
        Ok(report)
    })
    .await??;
    Ok(restored)
}
