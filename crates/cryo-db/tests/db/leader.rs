//! Cluster leadership by a session-level advisory lock: one leader among replicas, kept while
//! its session lives, taken over when it ends.

use cryo_db::leader::Lease;
use cryo_testkit::TestDb;

#[tokio::test]
async fn one_replica_leads_and_another_takes_over_when_its_session_ends() {
    let db = TestDb::new().await;
    let (a, b) = (Lease::new(&db.pool), Lease::new(&db.pool));
    assert!(a.leading().await);
    assert!(!b.leading().await, "the lock is held");
    assert!(a.leading().await, "the leader stays leader");

    a.release().await;
    assert!(b.leading().await, "released: the next one to ask leads");
    assert!(!a.leading().await);

    // The leader's session is killed (a crashed replica, a dropped connection): the lock goes
    // with it, and the old leader notices it no longer leads.
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(killed, 1);
    // Termination is asynchronous: the lock is free once the backend has exited.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !a.leading().await {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock was never freed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        !b.leading().await,
        "the killed session's owner no longer leads"
    );
}
