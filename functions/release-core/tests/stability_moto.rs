//! check-stability against moto's ECS with the rollout simulator: the real wire protocol.

mod rollback_fixture;

use std::time::Duration;

use convoy_testkit::seed;
use release_core::plan::deploy::unix_now;
use release_core::stability::check;
use release_core::step::{DeploymentStatus, Outcome, StabilityInput, StabilityOutput};
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
    let input = StabilityInput {
        release_id: "r1".into(),
        poll_interval_seconds: 0,
        items: vec![item],
    };
    check(&aws.ecs, input, budget).await.unwrap()
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
    let input = StabilityInput {
        release_id: "r1".into(),
        poll_interval_seconds: 1,
        items: vec![item],
    };
    let out = check(&aws.ecs, input, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!((out.pending, out.failed), (1, 0));
    assert_eq!(out.items[0].outcome, Outcome::InProgress);
}
