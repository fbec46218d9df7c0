//! The alert outbox delivers an alert's notifications in the order they were made.

use crate::service_tx;
use cryo_db::repo::alerts::{self as outbox, Raised};
use cryo_testkit::TestDb;
use sqlx::Executor;

#[tokio::test]
async fn a_resolved_waits_for_the_firing_it_ends_and_other_alerts_do_not() {
    let db = TestDb::new().await;
    let details = serde_json::json!({});
    // Fires; its notification fails once and goes into back-off for a minute.
    let mut tx = service_tx(&db.pool).await;
    let raised = outbox::raise(&mut tx, "health:db", "critical", "down", &details, 3600.0)
        .await
        .unwrap();
    assert_eq!(raised, Raised::Queued);
    tx.commit().await.unwrap();
    let mut tx = service_tx(&db.pool).await;
    let firing = outbox::claim_due(&mut tx).await.unwrap().unwrap();
    assert_eq!(firing.status, "firing");
    outbox::mark_failed(&mut tx, firing.id, "timed out", 60.0, 5)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Resolves while the firing waits; another alert fires.
    let mut tx = service_tx(&db.pool).await;
    assert!(outbox::resolve(&mut tx, "health:db").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = service_tx(&db.pool).await;
    outbox::raise(&mut tx, "backup_failed", "critical", "no", &details, 3600.0)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Due now: the resolved one (never before its firing) and the other alert's.
    let mut tx = service_tx(&db.pool).await;
    let next = outbox::claim_due(&mut tx).await.unwrap().unwrap();
    assert_eq!(
        next.payload.0["fingerprint"], "backup_failed",
        "{:?}",
        next.payload
    );
    outbox::mark_delivered(&mut tx, next.id).await.unwrap();
    assert!(
        outbox::claim_due(&mut tx).await.unwrap().is_none(),
        "the resolved notification waits behind its firing"
    );
    // The firing's back-off ends: it goes first, then the resolved.
    tx.execute(
        sqlx::query("UPDATE alert_deliveries SET next_attempt_at = now() WHERE id = $1")
            .bind(firing.id),
    )
    .await
    .unwrap();
    let first = outbox::claim_due(&mut tx).await.unwrap().unwrap();
    assert_eq!((first.id, first.status.as_str()), (firing.id, "firing"));
    outbox::mark_delivered(&mut tx, first.id).await.unwrap();
    let second = outbox::claim_due(&mut tx).await.unwrap().unwrap();
    assert_eq!(second.status, "resolved");
    tx.commit().await.unwrap();
}
