//! Database-layer integration tests: one binary, one module per area.

mod migrations;
mod schema;

use cryo_testkit::TestDb;
use sqlx::{Executor, PgPool};

/// A migrated database with one valid row in every table.
pub async fn db_with_fixture() -> TestDb {
    let db = TestDb::new().await;
    load_fixture(&db.pool).await;
    db
}

pub async fn load_fixture(pool: &PgPool) {
    pool.execute(include_str!("../fixtures/one_of_each.sql"))
        .await
        .expect("fixture loads");
}
