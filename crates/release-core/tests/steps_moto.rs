//! The rollback and finish-release steps as the state machine calls them, against moto: everything
//! read from the execution's records, the restores and the report written back. (Its own process:
//! the rollback tests count moto's calls.)

mod rollback_fixture;

use std::time::Duration;

use release_core::aws::fake::MemoryStore;
use release_core::contract::{
    DeployResults, FinishInput, ItemOutcome, PlanItemKind, Records, ReleaseOutcome, ReleaseReport,
    RollbackInput, RollbackOutput, RollbackPolicy, StabilityInput, StabilityOutput, StabilityPhase,
};
use release_core::records::{stability_name, RecordStore, REPORT, ROLLBACK};
use release_core::steps::check_stability::check_round;
use release_core::steps::finish_release::finish_release;
use release_core::steps::rollback::rollback_release;
use rollback_fixture::{aws, released, running};

/// The rollback and finish-release steps as the state machine calls them: everything read from
/// the execution's records, the restores and the report written back.
#[tokio::test]
async fn the_rollback_and_finish_steps_work_from_the_records() {
    let aws = aws().await;
    let r = released(&aws, RollbackPolicy::All).await;
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r1", "e1");
    store
        .write_plan(&records, r.input.plan.clone())
        .await
        .unwrap();
    for result in &r.input.results {
        let kind = if result.rule.is_some() {
            PlanItemKind::Rule
        } else {
            PlanItemKind::Service
        };
        store.write_result(&records, kind, result).await.unwrap();
    }

    let input = RollbackInput {
        release_id: "r1".into(),
        records: records.clone(),
        deploy: DeployResults::default(),
    };
    let counts = rollback_release(&aws.ecs, &aws.events, &store, &input)
        .await
        .unwrap();
    assert_eq!((counts.pending, counts.failed), (2, 0));
    let restores: RollbackOutput = store.read(&records, ROLLBACK).await.unwrap().unwrap();
    assert_eq!(restores.restores.len(), 4, "{restores:?}");
    let awaited: StabilityOutput = store
        .read(&records, stability_name(StabilityPhase::Rollback))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(awaited.items.len(), 2);
    assert_eq!(running(&aws, &r.cluster, "web").await, r.old[0]);
    let await_rollback = StabilityInput {
        release_id: "r1".into(),
        records: records.clone(),
        poll_interval_seconds: 0,
        phase: StabilityPhase::Rollback,
    };
    let awaited = check_round(&aws.ecs, &store, &await_rollback, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!((awaited.pending, awaited.failed), (0, 0));

    let finish = FinishInput {
        release_id: "r1".into(),
        records: records.clone(),
        deploy: DeployResults::default(),
        failures: Default::default(),
    };
    let output = finish_release(&aws.ecs, &aws.events, &store, &finish)
        .await
        .unwrap();
    assert_eq!(output.outcome, ReleaseOutcome::RolledBack);
    assert_eq!(
        output.full_report.as_deref(),
        Some("s3://records/releases/r1/e1/report.json")
    );
    let full: ReleaseReport = store.read(&records, REPORT).await.unwrap().unwrap();
    assert_eq!(
        full.items, output.items,
        "a small report is whole in the output"
    );
    assert_eq!(full.items.len(), 4);
    assert!(full
        .items
        .iter()
        .all(|i| i.outcome == ItemOutcome::RolledBack));
}
