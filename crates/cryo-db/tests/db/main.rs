//! Database-layer integration tests: one binary, one module per area.

mod backup;
mod integrity;
mod leader;
mod migrations;
mod outbox;
mod schema;

use cryo_testkit::TestDb;
pub use cryo_testkit::service_tx;
use sqlx::Executor;

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

mod rls;
