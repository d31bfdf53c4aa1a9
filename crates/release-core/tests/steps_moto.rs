//! The rollback and finish-release steps as the state machine calls them, against moto: everything
//! read from the execution's records, the restores and the report written back. (Its own process:
//! the rollback tests count moto's calls.)

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use crate::rollback_fixture;

use std::time::Duration;

use release_core::aws::fake::MemoryStore;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::aws::locks::fake::MemoryLocks;
use release_core::contract::{
    FinishInput, ItemOutcome, PlanItemKind, Records, ReleaseOutcome, ReleaseReport, RestoreOutcome,
    RollbackInput, RollbackOutput, RollbackPolicy, StabilityInput, StabilityOutput, StabilityPhase,
};
use release_core::records::{stability_name, RecordStore, REPORT, ROLLBACK};
use release_core::steps::check_stability::check_round;
use release_core::steps::finish_release::finish_release;
use release_core::steps::rollback::rollback_release;
use rollback_fixture::{aws, released, running, Aws};
use serde_json::json;

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
        wave: 0,
    };
    let counts = rollback_release(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &store,
        &input,
    )
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
    let output = await_rollback_then_finish(&aws, &store, &records).await;
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

/// The execution's records of a released fixture, in a fresh store.
#[allow(clippy::unwrap_used)] // a test helper: a failed unwrap is a failed test
/// The rest of a rolled-back release, as the state machine runs it: AwaitRollback until every
/// restoring rollout settled, then FinishRelease.
async fn await_rollback_then_finish(
    aws: &Aws,
    store: &RecordStore<MemoryStore>,
    records: &Records,
) -> ReleaseReport {
    let await_rollback = StabilityInput {
        release_id: "r1".into(),
        records: records.clone(),
        poll_interval_seconds: 0,
        phase: StabilityPhase::Rollback,
        wave: 0,
    };
    let awaited = check_round(
        &aws.ecs,
        &aws.codedeploy,
        store,
        &await_rollback,
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert_eq!((awaited.pending, awaited.failed), (0, 0));
    let finish = FinishInput {
        release_id: "r1".into(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:r1".into(),
        records: records.clone(),
        failures: Default::default(),
        started_at: None,
    };
    finish_release(
        &aws.ecs,
        &aws.events,
        &release_core::aws::fake_scaling::FakeScaling::default(),
        store,
        &MemoryLocks::default(),
        &finish,
        None,
    )
    .await
    .unwrap()
}

async fn recorded(
    r: &rollback_fixture::Release,
    execution: &str,
) -> (RecordStore<MemoryStore>, Records) {
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r1", execution);
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
    (store, records)
}

#[allow(clippy::unwrap_used)] // a test helper: a failed unwrap is a failed test
fn outcome_of(output: &RollbackOutput, id: &str) -> (RestoreOutcome, Option<String>) {
    let r = output
        .restores
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no restore of {id}: {output:?}"));
    (r.outcome, r.error.clone())
}

/// A restore refused for a while: the step records what it did, then fails with `Throttled` (which
/// the state machine retries); the retry restores the rest. A restore refused for good: the step
/// records it and returns, what was restored is awaited, and the report says the release failed
/// and why per item.
#[tokio::test]
async fn a_partial_rollback_is_recorded_then_retried_or_reported() {
    let aws = aws().await;
    let moto = convoy_testkit::moto();

    // Transient: api's restore throttled once.
    let r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    let (store, records) = recorded(&r, "transient").await;
    let input = RollbackInput {
        release_id: "r1".into(),
        records: records.clone(),
        wave: 0,
    };
    moto.post(
        "/_fault/throttle",
        json!({"operation": "ecs.UpdateService", "count": 1, "match": format!("{c}-api:1\"")}),
    );
    let err = rollback_release(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &store,
        &input,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Throttled");
    assert!(err.to_string().contains(&format!("{c}/api")), "{err}");
    let first: RollbackOutput = store.read(&records, ROLLBACK).await.unwrap().unwrap();
    assert_eq!(
        outcome_of(&first, &format!("{c}/api")),
        (RestoreOutcome::Failed, Some("Throttled".into()))
    );
    assert_eq!(
        outcome_of(&first, &format!("{c}/web")).0,
        RestoreOutcome::Restored
    );
    let awaited: StabilityOutput = store
        .read(&records, stability_name(StabilityPhase::Rollback))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        awaited.items.len(),
        1,
        "web's restoring rollout is recorded"
    );
    // The state machine's retry.
    let counts = rollback_release(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &store,
        &input,
    )
    .await
    .unwrap();
    assert!(counts.pending >= 1, "{counts:?}");
    let second: RollbackOutput = store.read(&records, ROLLBACK).await.unwrap().unwrap();
    assert_eq!(
        outcome_of(&second, &format!("{c}/api")).0,
        RestoreOutcome::Restored
    );
    assert_eq!(running(&aws, &c, "api").await, r.old[1]);

    // Permanent: web's restore refused.
    let r = released(&aws, RollbackPolicy::All).await;
    let c = r.cluster.clone();
    let (store, records) = recorded(&r, "permanent").await;
    let input = RollbackInput {
        release_id: "r1".into(),
        records: records.clone(),
        wave: 0,
    };
    moto.post(
        "/_fault/error",
        json!({"operation": "ecs.UpdateService", "count": 1, "match": format!("{c}-web:1\""),
               "code": "InvalidParameterException", "message": "injected: web refused"}),
    );
    let counts = rollback_release(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &store,
        &input,
    )
    .await
    .unwrap();
    assert_eq!(
        (counts.pending, counts.failed),
        (1, 0),
        "api's restore is awaited"
    );
    let restores: RollbackOutput = store.read(&records, ROLLBACK).await.unwrap().unwrap();
    assert_eq!(
        outcome_of(&restores, &format!("{c}/web")).0,
        RestoreOutcome::Failed
    );
    let report = await_rollback_then_finish(&aws, &store, &records).await;
    assert_eq!(report.outcome, ReleaseOutcome::Failed);
    let item = |id: String| {
        report
            .items
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone()
    };
    let web = item(format!("{c}/web"));
    assert_eq!(web.outcome, ItemOutcome::Failed, "{web:?}");
    let reason = web.reason.unwrap_or_default();
    assert!(
        reason.contains("restore failed") && reason.contains("web refused"),
        "{reason}"
    );
    assert_eq!(item(format!("{c}/api")).outcome, ItemOutcome::RolledBack);
}
