//! check-stability against moto's ECS with the rollout simulator: the real wire protocol.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use crate::rollback_fixture;

use std::time::Duration;

use convoy_testkit::seed;
use release_core::aws::fake::MemoryStore;
use release_core::contract::{
    BatchSummary, CaughtError, DeploymentStatus, ItemResult, Outcome, Plan, PlanItemKind, Records,
    StabilityInput, StabilityOutput, StabilityPhase,
};
use release_core::decide::batches::{layout, AccountRates};
use release_core::records::{batch_summary_name, result_name, stability_name, RecordStore};
use release_core::steps::check_stability::{check, check_round};
use release_core::steps::unix_now;
use rollback_fixture::{aws, deploy, revision, service, unique, Aws};
use serde_json::json;

/// What plan-release records for `plan` (its batches, one a service at maxConcurrency 10 and up to
/// 50 items per batch: here one), and a finished summary for each batch in `finished`.
async fn record_batches(
    store: &RecordStore<MemoryStore>,
    records: &Records,
    plan: &Plan,
    finished: &[u32],
) {
    let cut = layout(plan, 10, AccountRates::ECS);
    store.write_layout(records, 0, &cut).await.unwrap();
    for &batch in finished {
        let spec = cut.specs[usize::try_from(batch).unwrap()];
        let summary = BatchSummary {
            batch,
            items: spec.items,
            done: spec.items,
            ..BatchSummary::default()
        };
        store
            .write(records, &batch_summary_name(0, batch), &summary)
            .await
            .unwrap();
    }
}

/// A service on revision 1 with a rollout to revision 2 started (after arming `fault`, if any).
async fn started(aws: &Aws, fault: Option<serde_json::Value>, deadline: i64) -> DeploymentStatus {
    let c = unique("stab");
    seed::cluster(&aws.ecs, &c).await;
    let old = revision(aws, &c, "web:1").await;
    let new = revision(aws, &c, "web:2").await;
    service(aws, &c, "web", &old).await;
    if let Some(mut fault) = fault {
        fault["cluster"] = json!(c);
        fault["service"] = json!("web");
        convoy_testkit::moto().post("/_fault/ecs/arm", fault);
    }
    DeploymentStatus {
        deployment: deploy(aws, &c, "web", &old, &new, deadline).await,
        outcome: Outcome::InProgress,
        reason: None,
        stopped_reasons: Vec::new(),
        stage: None,
    }
}

async fn run(aws: &Aws, item: DeploymentStatus, budget: Duration) -> StabilityOutput {
    check(&aws.ecs, &aws.codedeploy, vec![item], 0, budget)
        .await
        .unwrap()
}

#[tokio::test]
async fn rollout_succeeds() {
    let aws = aws().await;
    let item = started(&aws, None, unix_now() + 600).await;
    let out = run(&aws, item, Duration::from_secs(20)).await;
    assert_eq!((out.pending, out.failed), (0, 0));
    assert_eq!(
        out.items[0].outcome,
        Outcome::Succeeded,
        "{:?}",
        out.items[0]
    );
}

#[tokio::test]
async fn armed_failure_fails_with_reason_and_stopped_tasks() {
    let aws = aws().await;
    let fault =
        json!({"mode": "fail", "failedTasks": 3, "reason": "Essential container in task exited"});
    let item = started(&aws, Some(fault), unix_now() + 600).await;
    let out = run(&aws, item, Duration::from_secs(20)).await;
    let item = &out.items[0];
    assert_eq!(item.outcome, Outcome::Failed, "{item:?}");
    assert_eq!(out.failed, 1);
    let reason = item.reason.as_deref().unwrap();
    assert!(reason.contains("circuit breaker"), "{reason}");
    assert!(reason.contains("3 failed tasks"), "{reason}");
    assert_eq!(item.stopped_reasons, ["Essential container in task exited"]);
}

#[tokio::test]
async fn circuit_breaker_rollback_is_a_failure() {
    let aws = aws().await;
    let fault = json!({"mode": "rollback", "failedTasks": 3});
    let item = started(&aws, Some(fault), unix_now() + 600).await;
    let out = run(&aws, item, Duration::from_secs(20)).await;
    assert_eq!(out.items[0].outcome, Outcome::Failed, "{:?}", out.items[0]);
}

#[tokio::test]
async fn stuck_rollout_past_its_deadline_times_out() {
    let aws = aws().await;
    let item = started(&aws, Some(json!({"mode": "stuck"})), unix_now() - 1).await;
    let out = run(&aws, item, Duration::from_secs(20)).await;
    let item = &out.items[0];
    assert_eq!(item.outcome, Outcome::TimedOut, "{item:?}");
    assert!(item.reason.as_deref().unwrap().contains("deadline passed"));
}

#[tokio::test]
async fn stuck_rollout_before_its_deadline_stays_pending_within_the_budget() {
    let aws = aws().await;
    let item = started(&aws, Some(json!({"mode": "stuck"})), unix_now() + 600).await;
    let out = check(
        &aws.ecs,
        &aws.codedeploy,
        vec![item],
        1,
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!((out.pending, out.failed), (1, 0));
    assert_eq!(out.items[0].outcome, Outcome::InProgress);
}

#[tokio::test]
async fn rounds_start_from_the_result_records_and_continue_from_their_own() {
    let aws = aws().await;
    let done = started(&aws, None, unix_now() + 600).await.deployment;
    let stuck = started(&aws, Some(json!({"mode": "stuck"})), unix_now() + 600)
        .await
        .deployment;
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r1", "e1");
    let item = |d: &release_core::contract::ServiceDeployment| {
        json!({"id": d.id, "cluster": d.cluster, "service": d.service,
               "previousTaskDefinition": d.previous_task_definition, "images": {},
               "noop": false, "timeoutSeconds": 600})
    };
    let plan: Plan = serde_json::from_value(json!({
        "release": {"id": "r1", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 1,
                     "keepRevisions": 0},
        "services": [item(&done), item(&stuck)],
        "tasks": [],
        "changedServices": 2,
        "changedTasks": 0,
    }))
    .unwrap();
    record_batches(&store, &records, &plan, &[0]).await;
    store.write_plan(&records, plan).await.unwrap();
    for d in [&done, &stuck] {
        let result = ItemResult {
            id: d.id.clone(),
            deployment: Some(d.clone()),
            rule: None,
            error: None,
            job: None,
            schedule: None,
            kind: None,
        };
        store
            .write_result(&records, PlanItemKind::Service, &result)
            .await
            .unwrap();
    }
    let input = |phase| StabilityInput {
        release_id: "r1".into(),
        records: records.clone(),
        poll_interval_seconds: 1,
        phase,
        wave: 0,
    };
    let release = input(StabilityPhase::Release);
    let budget = Duration::from_secs(3);

    let first = check_round(&aws.ecs, &aws.codedeploy, &store, &release, budget)
        .await
        .unwrap();
    assert_eq!((first.pending, first.failed), (1, 0));
    let round: StabilityOutput = store
        .read(&records, stability_name(StabilityPhase::Release))
        .await
        .unwrap()
        .expect("the round is recorded");
    let outcomes: Vec<_> = round
        .items
        .iter()
        .map(|i| (i.deployment.id.as_str(), i.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (done.id.as_str(), Outcome::Succeeded),
            (stuck.id.as_str(), Outcome::InProgress)
        ]
    );

    // The next round continues from its record, not from the results: a verdict already given
    // (here: written by hand) is kept, not judged again.
    let mut judged = round;
    judged.items[0].outcome = Outcome::Failed;
    judged.items[0].reason = Some("judged in an earlier round".into());
    store
        .write(&records, stability_name(StabilityPhase::Release), &judged)
        .await
        .unwrap();
    let second = check_round(&aws.ecs, &aws.codedeploy, &store, &release, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((second.pending, second.failed), (1, 1), "{second:?}");
    let round: StabilityOutput = store
        .read(&records, stability_name(StabilityPhase::Release))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        round.items[0].reason.as_deref(),
        Some("judged in an earlier round")
    );

    // A rollback phase without the rollback's own record is a bug, said with the object's name.
    let err = check_round(
        &aws.ecs,
        &aws.codedeploy,
        &store,
        &input(StabilityPhase::Rollback),
        budget,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Internal");
    assert!(err.to_string().contains("stability/rollback.json"), "{err}");
}

#[tokio::test]
async fn the_first_round_fails_what_did_not_deploy_and_says_why_at_once() {
    let aws = aws().await;
    let ok = started(&aws, Some(json!({"mode": "stuck"})), unix_now() + 600)
        .await
        .deployment;
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r2", "e1");
    let item = |id: &str| {
        json!({"id": id, "cluster": "c", "service": id.rsplit('/').next().unwrap(),
               "previousTaskDefinition": format!("{id}:1"), "images": {"app": format!("{id}:2")},
               "noop": false, "timeoutSeconds": 600})
    };
    // 120 services, each its own family: three batches of 40.
    let mut services = vec![
        json!({"id": ok.id, "cluster": ok.cluster, "service": ok.service,
        "previousTaskDefinition": ok.previous_task_definition, "images": {}, "noop": false,
        "timeoutSeconds": 600}),
    ];
    services.extend((1..120).map(|i| item(&format!("c/s{i}"))));
    let plan: Plan = serde_json::from_value(json!({
        "release": {"id": "r2", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 1,
                     "keepRevisions": 0},
        "services": services, "tasks": [], "changedServices": 120, "changedTasks": 0,
    }))
    .unwrap();
    // Batch 0 finished; batch 1 failed as a whole after its first call (throttled to the end);
    // batch 2 never finished a call.
    record_batches(&store, &records, &plan, &[0]).await;
    let cut = layout(&plan, 10, AccountRates::ECS);
    assert_eq!(cut.specs.len(), 3);
    let ids = |batch: usize| -> Vec<String> {
        cut.batches[batch]
            .services
            .iter()
            .map(|s| s.id.clone())
            .collect()
    };
    let throttled = BatchSummary {
        batch: 1,
        items: 40,
        done: 1,
        remaining: 39,
        invocations: 1,
        last_error: Some(CaughtError {
            error: "Throttled".into(),
            cause: "throttled: RegisterTaskDefinition: Rate exceeded".into(),
        }),
        ..BatchSummary::default()
    };
    store
        .write(&records, &batch_summary_name(0, 1), &throttled)
        .await
        .unwrap();
    store.write_plan(&records, plan).await.unwrap();
    // Batch 0: every item recorded, one of them a failed step.
    let failed_step = ids(0)[1].clone();
    for id in ids(0) {
        let result = ItemResult {
            id: id.clone(),
            deployment: (id == ok.id).then(|| ok.clone()),
            rule: None,
            error: (id != ok.id).then(|| CaughtError {
                error: if id == failed_step {
                    "TaskDefinitionRejected"
                } else {
                    "Internal"
                }
                .into(),
                cause: "recorded by deploy-batch".into(),
            }),
            job: None,
            schedule: None,
            kind: None,
        };
        store
            .write_result(&records, PlanItemKind::Service, &result)
            .await
            .unwrap();
    }
    // Batch 1 recorded one item before it failed.
    let first_of_1 = ids(1)[0].clone();
    let recorded = ItemResult {
        id: first_of_1.clone(),
        deployment: None,
        rule: None,
        error: Some(CaughtError {
            error: "ServiceNotFound".into(),
            cause: "service not found".into(),
        }),
        job: None,
        schedule: None,
        kind: None,
    };
    store
        .write_result(&records, PlanItemKind::Service, &recorded)
        .await
        .unwrap();

    let input = StabilityInput {
        release_id: "r2".into(),
        records: records.clone(),
        poll_interval_seconds: 1,
        phase: StabilityPhase::Release,
        wave: 0,
    };
    let started_at = std::time::Instant::now();
    let counts = check_round(
        &aws.ecs,
        &aws.codedeploy,
        &store,
        &input,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert!(
        started_at.elapsed() < Duration::from_secs(10),
        "a failure already: one poll, not the whole budget"
    );
    // 39 failed steps in batch 0, 1 + 39 in batch 1, 40 in batch 2; ok's rollout still pending.
    assert_eq!((counts.pending, counts.failed), (1, 39 + 40 + 40));
    let result = |id: String| {
        let store = &store;
        let records = &records;
        async move {
            store
                .read::<ItemResult>(records, &result_name(PlanItemKind::Service, &id))
                .await
                .unwrap()
                .expect("a record")
                .error
                .expect("a failure")
        }
    };
    assert_eq!(
        result(first_of_1).await.error,
        "ServiceNotFound",
        "kept as recorded"
    );
    let second_of_1 = result(ids(1)[1].clone()).await;
    assert_eq!(second_of_1.error, "Throttled");
    assert!(
        second_of_1.cause.starts_with(
            "wave 0, batch 1 ended before deploying this item: its last call failed: throttled"
        ),
        "{}",
        second_of_1.cause
    );
    let of_2 = result(ids(2)[0].clone()).await;
    assert_eq!(of_2.error, "Internal");
    assert!(
        of_2.cause
            .contains("no call of deploy-batch for it finished"),
        "{}",
        of_2.cause
    );

    // The next round keeps counting them, without reading the batches again.
    let again = check_round(&aws.ecs, &aws.codedeploy, &store, &input, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!((again.pending, again.failed), (1, 119));
}
