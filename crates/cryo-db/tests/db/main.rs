//! Database-layer integration tests: one binary, one module per area.

mod backup;
mod integrity;
mod migrations;
mod schema;

use cryo_testkit::TestDb;
use sqlx::{Executor, PgPool, Postgres, Transaction};

/// A migrated database with one valid row in every table.
pub async fn db_with_fixture() -> TestDb {
    let db = TestDb::new().await;
    let mut tx = service_tx(&db.pool).await;
    tx.execute(include_str!("../fixtures/one_of_each.sql"))
        .await
        .expect("fixture loads");
    tx.commit().await.unwrap();
    db
}

/// A transaction as service_role: RLS is forced even for the owner, so schema tests act as the
/// administrative role, whose policies admit every row.
pub async fn service_tx(pool: &PgPool) -> Transaction<'static, Postgres> {
    cryo_db::identity::begin(pool, &cryo_db::Identity::service())
        .await
        .unwrap()
}
mod rls;
