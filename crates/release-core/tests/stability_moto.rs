//! check-stability against moto's ECS with the rollout simulator: the real wire protocol.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

mod rollback_fixture;

use std::time::Duration;

use convoy_testkit::seed;
use release_core::aws::fake::MemoryStore;
use release_core::contract::{
    DeploymentStatus, ItemResult, Outcome, Plan, PlanItemKind, Records, StabilityInput,
    StabilityOutput, StabilityPhase,
};
use release_core::records::{stability_name, RecordStore};
use release_core::steps::check_stability::{check, check_round};
use release_core::steps::unix_now;
use rollback_fixture::{aws, deploy, revision, service, unique, Aws};
use serde_json::json;

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
    }
}

async fn run(aws: &Aws, item: DeploymentStatus, budget: Duration) -> StabilityOutput {
    check(&aws.ecs, vec![item], 0, budget).await.unwrap()
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
    let out = check(&aws.ecs, vec![item], 1, Duration::from_secs(3))
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
    store.write_plan(&records, plan).await.unwrap();
    for d in [&done, &stuck] {
        let result = ItemResult {
            id: d.id.clone(),
            deployment: Some(d.clone()),
            rule: None,
            error: None,
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
    };
    let release = input(StabilityPhase::Release);
    let budget = Duration::from_secs(3);

    let first = check_round(&aws.ecs, &store, &release, budget)
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
    let second = check_round(&aws.ecs, &store, &release, Duration::ZERO)
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
    let err = check_round(&aws.ecs, &store, &input(StabilityPhase::Rollback), budget)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Internal");
    assert!(err.to_string().contains("stability/rollback.json"), "{err}");
}
