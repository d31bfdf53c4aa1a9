//! ECS-native blue/green services against moto with the simulator's ServiceDeployments API: the
//! deploy step records OUR service deployment, check-stability judges it by its status and stage,
//! and a rollback stops one still in flight.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use crate::rollback_fixture;

use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentStrategy as EcsStrategy,
};
use convoy_testkit::seed;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::contract::{
    Awaited, DeploymentStatus, DeploymentStrategy, ItemResult, Outcome, Plan, Records, ReleaseMeta,
    ReleaseRecords, RestoreOutcome, ServiceDeployment, ServiceItem, Settings, Strategy,
    UpdateServiceInput,
};
use release_core::steps::check_stability::check;
use release_core::steps::rollback::rollback;
use release_core::steps::unix_now;
use release_core::steps::update_service::update_service;
use rollback_fixture::{aws, described, revision, running, unique, Aws};
use serde_json::json;

const BLUE_GREEN: DeploymentStrategy = DeploymentStrategy {
    strategy: Strategy::BlueGreen,
    bake_time_in_minutes: Some(1),
    linear_configuration: None,
    canary_configuration: None,
};

struct World {
    cluster: String,
    old: String,
    new: String,
}

/// A service on revision 1 whose deployment configuration has `strategy` (and the circuit
/// breaker, which a release must keep), with revision 2 registered.
async fn world(aws: &Aws, strategy: Option<EcsStrategy>) -> World {
    let cluster = unique("bg");
    seed::cluster(&aws.ecs, &cluster).await;
    let old = revision(aws, &format!("{cluster}-web"), "web:1").await;
    let new = revision(aws, &format!("{cluster}-web"), "web:2").await;
    let mut config = DeploymentConfiguration::builder().deployment_circuit_breaker(
        DeploymentCircuitBreaker::builder()
            .enable(true)
            .rollback(false)
            .build(),
    );
    if let Some(strategy) = strategy {
        config = config.strategy(strategy).bake_time_in_minutes(1);
    }
    aws.ecs
        .create_service()
        .cluster(&cluster)
        .service_name("web")
        .task_definition(&old)
        .desired_count(2)
        .deployment_configuration(config.build())
        .send()
        .await
        .unwrap();
    World { cluster, old, new }
}

fn item(
    w: &World,
    had: Option<DeploymentStrategy>,
    set: Option<DeploymentStrategy>,
) -> ServiceItem {
    ServiceItem {
        id: format!("{}/web", w.cluster),
        cluster: w.cluster.clone(),
        service: "web".into(),
        previous_task_definition: w.old.clone(),
        previous_desired_count: None,
        previous_minimum_healthy_percent: None,
        previous_maximum_percent: None,
        previous_deployment_strategy: had,
        images: Default::default(),
        noop: false,
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        deployment_strategy: set,
        timeout_seconds: 300,
        new_task_definition: Some(w.new.clone()),
        code_deploy: None,
        wave: 0,
        auto_scaling: None,
    }
}

async fn deploy(aws: &Aws, item: &ServiceItem) -> ServiceDeployment {
    let input = UpdateServiceInput {
        release_id: "r-bg".into(),
        records: Records::for_execution("convoy-records", "r-bg", "e"),
        item: item.clone(),
    };
    update_service(&aws.ecs, &input, unix_now()).await.unwrap()
}

fn arm(w: &World, fault: serde_json::Value) {
    let mut fault = fault;
    fault["cluster"] = json!(w.cluster);
    fault["service"] = json!("web");
    convoy_testkit::moto().post("/_fault/ecs/arm", fault);
}

async fn judged(aws: &Aws, deployment: ServiceDeployment, budget: u64) -> DeploymentStatus {
    let out = check(
        &aws.ecs,
        &aws.codedeploy,
        vec![DeploymentStatus::started(deployment)],
        0,
        Duration::from_secs(budget),
    )
    .await
    .unwrap();
    out.items.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_blue_green_rollout_is_done_when_its_service_deployment_is_successful() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    let d = deploy(&aws, &item(&w, Some(BLUE_GREEN), None)).await;
    assert_eq!(d.strategy, Strategy::BlueGreen);
    let arn = d.service_deployment_arn.clone().unwrap();
    assert!(arn.contains(":service-deployment/"), "{arn}");
    // The bake time (1 min) comes on top of the rollout's 300 s.
    assert!(d.deadline >= unix_now() + 300 + 60 - 5, "{}", d.deadline);

    let status = judged(&aws, d, 30).await;
    assert_eq!(status.outcome, Outcome::Succeeded, "{:?}", status.reason);
    let reason = status.reason.unwrap();
    assert!(
        reason.contains("BLUE_GREEN deployment") && reason.contains("SUCCESSFUL"),
        "{reason}"
    );
    assert_eq!(running(&aws, &w.cluster, "web").await, w.new);
}

#[tokio::test]
async fn ecs_rolling_a_blue_green_deployment_back_during_bake_fails_it_with_the_stage_and_reason() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    arm(
        &w,
        json!({"mode": "fail", "stage": "BAKE_TIME", "reason": "alarm web-5xx in ALARM"}),
    );
    let d = deploy(&aws, &item(&w, Some(BLUE_GREEN), None)).await;
    let status = judged(&aws, d, 30).await;
    assert_eq!(status.outcome, Outcome::Failed, "{:?}", status.reason);
    let reason = status.reason.unwrap();
    assert!(
        reason.contains("ROLLBACK_IN_PROGRESS at BAKE_TIME"),
        "{reason}"
    );
    assert!(reason.contains("alarm web-5xx in ALARM"), "{reason}");
    assert_eq!(status.stage.as_deref(), Some("BAKE_TIME"));
}

#[tokio::test]
async fn a_blue_green_deployment_stuck_past_its_deadline_times_out() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    arm(&w, json!({"mode": "stuck", "stage": "TEST_TRAFFIC_SHIFT"}));
    let mut d = deploy(&aws, &item(&w, Some(BLUE_GREEN), None)).await;
    // Within its deadline it stays in progress at the stage it is stuck at...
    let stuck = judged(&aws, d.clone(), 3).await;
    assert_eq!(stuck.outcome, Outcome::InProgress, "{:?}", stuck.reason);
    assert_eq!(stuck.stage.as_deref(), Some("TEST_TRAFFIC_SHIFT"));
    // ...and past it, it times out saying where it stood.
    d.deadline = unix_now() - 1;
    let status = judged(&aws, d, 0).await;
    assert_eq!(status.outcome, Outcome::TimedOut, "{:?}", status.reason);
    let reason = status.reason.unwrap();
    assert!(
        reason.contains("IN_PROGRESS at TEST_TRAFFIC_SHIFT"),
        "{reason}"
    );
}

fn records(item: ServiceItem, deployment: ServiceDeployment) -> ReleaseRecords {
    let plan = Plan {
        release: ReleaseMeta {
            id: "r-bg".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services: vec![item],
        tasks: Vec::new(),
        changed_services: 1,
        changed_tasks: 0,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    };
    let result = ItemResult {
        id: deployment.id.clone(),
        deployment: Some(deployment),
        rule: None,
        error: None,
        job: None,
        schedule: None,
        kind: None,
    };
    ReleaseRecords::new(plan, vec![result])
}

#[tokio::test]
async fn a_rollback_stops_a_deployment_still_baking_and_awaits_its_rollback() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    arm(&w, json!({"mode": "stuck", "stage": "BAKE_TIME"}));
    let planned = item(&w, Some(BLUE_GREEN), None);
    let d = deploy(&aws, &planned).await;
    let arn = d.service_deployment_arn.clone().unwrap();
    // Into the bake: still in flight.
    let baking = judged(&aws, d.clone(), 5).await;
    assert_eq!(baking.outcome, Outcome::InProgress, "{:?}", baking.reason);

    let out = rolled_back(&aws, planned, d).await;
    let restore = &out.restores[0];
    assert_eq!(restore.outcome, RestoreOutcome::Restored, "{restore:?}");
    assert!(
        restore
            .reason
            .as_deref()
            .unwrap()
            .contains("StopServiceDeployment ROLLBACK"),
        "{restore:?}"
    );
    let awaited = out.items[0].clone();
    assert_eq!(awaited.deployment.awaits, Awaited::RolledBack);
    assert_eq!(
        awaited.deployment.service_deployment_arn.as_deref(),
        Some(arn.as_str())
    );
    let back = judged(&aws, awaited.deployment, 30).await;
    assert_eq!(back.outcome, Outcome::Succeeded, "{:?}", back.reason);
    assert!(back.reason.unwrap().contains("ROLLBACK_SUCCESSFUL"));
    assert_eq!(running(&aws, &w.cluster, "web").await, w.old);

    // Run again (a retried step): the deployment is rolled back already; nothing is stopped twice.
    let again = rolled_back(
        &aws,
        item(&w, Some(BLUE_GREEN), None),
        back_deployment(&w, &arn),
    )
    .await;
    assert_eq!(
        again.restores[0].outcome,
        RestoreOutcome::AlreadyCurrent,
        "{again:?}"
    );
    assert!(
        again.items.is_empty(),
        "nothing to await: {:?}",
        again.items
    );
    assert_eq!(service_deployment(&arn)["status"], "ROLLBACK_SUCCESSFUL");
}

/// The simulator's record of a service deployment.
fn service_deployment(arn: &str) -> serde_json::Value {
    convoy_testkit::moto()
        .get("/_stats/service-deployments")
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["serviceDeploymentArn"] == json!(arn))
        .cloned()
        .unwrap_or_else(|| panic!("no service deployment {arn}"))
}

/// The release's record of the deployment `arn` (what a retried rollback reads again).
fn back_deployment(w: &World, arn: &str) -> ServiceDeployment {
    ServiceDeployment {
        id: format!("{}/web", w.cluster),
        cluster: w.cluster.clone(),
        service: "web".into(),
        previous_task_definition: w.old.clone(),
        new_task_definition: w.new.clone(),
        deployment_id: String::new(),
        deadline: unix_now() + 600,
        strategy: Strategy::BlueGreen,
        service_deployment_arn: Some(arn.to_owned()),
        awaits: Awaited::Finished,
        code_deploy: None,
    }
}

/// The rollback step over the records of a one-service release.
async fn rolled_back(
    aws: &Aws,
    planned: ServiceItem,
    deployment: ServiceDeployment,
) -> release_core::contract::RollbackOutput {
    let events = convoy_testkit::moto().events().await;
    rollback(
        &aws.ecs,
        &events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        &records(planned, deployment),
        "r/e",
        Default::default(),
    )
    .await
}

#[tokio::test]
async fn a_strategy_set_by_the_release_keeps_the_rest_of_the_configuration_and_is_put_back() {
    let aws = aws().await;
    let w = world(&aws, None).await;
    let canary = DeploymentStrategy {
        strategy: Strategy::Canary,
        bake_time_in_minutes: Some(1),
        linear_configuration: None,
        canary_configuration: Some(release_core::contract::CanaryConfiguration {
            canary_percent: release_core::contract::Percent(10.0),
            canary_bake_time_in_minutes: 1,
        }),
    };
    arm(
        &w,
        json!({"mode": "fail", "stage": "PRODUCTION_TRAFFIC_SHIFT"}),
    );
    let planned = item(&w, None, Some(canary));
    let d = deploy(&aws, &planned).await;
    assert_eq!(d.strategy, Strategy::Canary);
    let config = described(&aws, &w.cluster, "web")
        .await
        .deployment_configuration
        .unwrap();
    assert_eq!(config.strategy(), Some(&EcsStrategy::Canary));
    assert!(config
        .deployment_circuit_breaker()
        .is_some_and(|b| b.enable()));

    let failed = judged(&aws, d.clone(), 30).await;
    assert_eq!(failed.outcome, Outcome::Failed, "{:?}", failed.reason);
    let out = rolled_back(&aws, planned, d).await;
    let restore = &out.restores[0];
    assert_ne!(restore.outcome, RestoreOutcome::Failed, "{restore:?}");
    for awaited in out.items {
        let done = judged(&aws, awaited.deployment, 30).await;
        assert_eq!(done.outcome, Outcome::Succeeded, "{:?}", done.reason);
    }
    let after = described(&aws, &w.cluster, "web").await;
    assert_eq!(after.task_definition.as_deref(), Some(w.old.as_str()));
    let config = after.deployment_configuration.unwrap();
    assert_eq!(
        config.strategy().map_or("ROLLING", |s| s.as_str()),
        "ROLLING",
        "the strategy the service had is back: {config:?}"
    );
    assert!(config
        .deployment_circuit_breaker()
        .is_some_and(|b| b.enable()));
}

#[tokio::test]
async fn a_retried_update_adopts_the_deployment_the_first_attempt_started() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    let planned = item(&w, Some(BLUE_GREEN), None);
    // The first attempt's UpdateService went through, but its record was never written (a crash):
    // the retry sends the same task definition, which starts nothing new, and judges the same one.
    let first = deploy(&aws, &planned).await;
    let again = deploy(&aws, &planned).await;
    assert_eq!(again.service_deployment_arn, first.service_deployment_arn);
    let started: Vec<serde_json::Value> = convoy_testkit::moto()
        .get("/_stats/service-deployments")
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["cluster"] == json!(w.cluster))
        .cloned()
        .collect();
    assert_eq!(
        started.len(),
        2,
        "the service's first and ours: {started:#?}"
    );
    let status = judged(&aws, again, 30).await;
    assert_eq!(status.outcome, Outcome::Succeeded, "{:?}", status.reason);
}

#[tokio::test]
async fn a_hotfix_during_the_bake_fails_our_deployment_and_the_rollback_leaves_the_hotfix_alone() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    arm(&w, json!({"mode": "stuck", "stage": "BAKE_TIME"}));
    let planned = item(&w, Some(BLUE_GREEN), None);
    let d = deploy(&aws, &planned).await;
    let baking = judged(&aws, d.clone(), 5).await;
    assert_eq!(baking.stage.as_deref(), Some("BAKE_TIME"));

    // Someone deploys a hotfix by hand: a revision no release registered.
    let hotfix = revision(&aws, &format!("{}-web", w.cluster), "web:hotfix").await;
    aws.ecs
        .update_service()
        .cluster(&w.cluster)
        .service("web")
        .task_definition(&hotfix)
        .send()
        .await
        .unwrap();
    let ours = judged(&aws, d.clone(), 5).await;
    assert_eq!(ours.outcome, Outcome::Failed, "{:?}", ours.reason);
    assert!(ours.reason.unwrap().contains("STOPPED"));

    let arn = d.service_deployment_arn.clone().unwrap();
    let out = rolled_back(&aws, planned, d).await;
    let restore = &out.restores[0];
    assert_eq!(restore.outcome, RestoreOutcome::LeftAlone, "{restore:?}");
    assert!(
        out.items.is_empty(),
        "nothing of ours to await: {:?}",
        out.items
    );
    // Ours was not stopped with a rollback (that would take the hotfix's traffic away).
    assert_eq!(service_deployment(&arn)["status"], "STOPPED");
    assert_eq!(running(&aws, &w.cluster, "web").await, hotfix);
}

#[tokio::test]
async fn a_failed_rolling_update_is_still_judged_by_its_counts_and_named_by_its_service_deployment()
{
    let aws = aws().await;
    let w = world(&aws, None).await;
    arm(&w, json!({"mode": "fail"}));
    let d = deploy(&aws, &item(&w, None, None)).await;
    assert_eq!(d.strategy, Strategy::Rolling);
    let arn = d
        .service_deployment_arn
        .clone()
        .expect("recorded for rolling updates too");
    let status = judged(&aws, d, 30).await;
    assert_eq!(status.outcome, Outcome::Failed, "{:?}", status.reason);
    let reason = status.reason.unwrap();
    // The DescribeServices verdict first, then what only the service deployment says.
    assert!(reason.starts_with("deployment ecs-svc/"), "{reason}");
    let short = arn.rsplit('/').next().unwrap();
    assert!(
        reason.contains(&format!(
            "; service deployment {short} STOPPED: circuit breaker TRIGGERED"
        )),
        "{reason}"
    );
    assert_eq!(status.stage, None);
}

#[tokio::test]
async fn a_stopped_deployment_gets_back_the_desired_count_the_release_changed() {
    let aws = aws().await;
    let w = world(&aws, Some(EcsStrategy::BlueGreen)).await;
    arm(&w, json!({"mode": "stuck", "stage": "BAKE_TIME"}));
    let planned = ServiceItem {
        previous_desired_count: Some(2),
        desired_count: Some(3),
        ..item(&w, Some(BLUE_GREEN), None)
    };
    let d = deploy(&aws, &planned).await;
    assert_eq!(described(&aws, &w.cluster, "web").await.desired_count, 3);
    let baking = judged(&aws, d.clone(), 5).await;
    assert_eq!(baking.outcome, Outcome::InProgress, "{:?}", baking.reason);

    let out = rolled_back(&aws, planned, d).await;
    let restore = &out.restores[0];
    assert_eq!(restore.outcome, RestoreOutcome::Restored, "{restore:?}");
    assert_eq!(restore.desired_count, Some(2), "{restore:?}");
    assert_eq!(described(&aws, &w.cluster, "web").await.desired_count, 2);
    let back = judged(&aws, out.items[0].deployment.clone(), 30).await;
    assert_eq!(back.outcome, Outcome::Succeeded, "{:?}", back.reason);
    assert_eq!(running(&aws, &w.cluster, "web").await, w.old);
}
