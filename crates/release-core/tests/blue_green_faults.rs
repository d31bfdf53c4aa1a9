//! Blue/green items when ECS refuses or throttles the service-deployment calls: the polling round
//! fails with a name the state machine retries, and a rollback that cannot read or stop the
//! deployment still restores the service by its task definition.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentControllerType, DeploymentStrategy as EcsStrategy,
};
use release_core::aws::fake::{FakeEcs, FakeEvents};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::contract::{
    examples, Awaited, DeploymentStatus, DeploymentStrategy, ItemResult, Outcome, Plan, Records,
    ReleaseMeta, ReleaseRecords, RestoreOutcome, ServiceDeployment, ServiceItem, Settings,
    Strategy, UpdateServiceInput,
};
use release_core::decide::rollback::Overwrite;
use release_core::steps::check_stability::check;
use release_core::steps::rollback::rollback;
use release_core::steps::unix_now;
use release_core::steps::update_service::update_service;

const BLUE_GREEN: DeploymentStrategy = DeploymentStrategy {
    strategy: Strategy::BlueGreen,
    bake_time_in_minutes: Some(1),
    linear_configuration: None,
    canary_configuration: None,
};

/// prod/web on revision 1, blue/green, with its deployment to revision 2 started.
async fn started() -> (FakeEcs, ServiceItem, ServiceDeployment) {
    let ecs = FakeEcs::default();
    let old = ecs.definition("web", &[("app", "web:1")], &[]);
    let new = ecs.definition("web", &[("app", "web:2")], &[]);
    let ecs = ecs.cluster("prod", "ACTIVE").service(
        "prod",
        "web",
        &old,
        "ACTIVE",
        DeploymentControllerType::Ecs,
    );
    ecs.configure(
        "prod",
        "web",
        DeploymentConfiguration::builder()
            .strategy(EcsStrategy::BlueGreen)
            .bake_time_in_minutes(1)
            .build(),
    );
    let item = ServiceItem {
        previous_deployment_strategy: Some(BLUE_GREEN),
        new_task_definition: Some(new),
        ..examples::service_item("prod", "web", &old, Default::default())
    };
    let input = UpdateServiceInput {
        release_id: "r-1".into(),
        records: Records::for_execution("convoy-records", "r-1", "e"),
        item: item.clone(),
    };
    let deployment = update_service(&ecs, &input, unix_now()).await.unwrap();
    assert!(deployment.service_deployment_arn.is_some());
    (ecs, item, deployment)
}

fn records(item: ServiceItem, deployment: ServiceDeployment) -> ReleaseRecords {
    let plan = Plan {
        release: ReleaseMeta {
            id: "r-1".into(),
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
async fn a_throttled_poll_fails_the_round_as_throttled_and_the_next_round_judges() {
    let (ecs, _, deployment) = started().await;
    ecs.throttle("DescribeServiceDeployments", 1);
    let items = vec![DeploymentStatus::started(deployment)];
    let err = check(
        &ecs,
        &FakeCodeDeploy::default(),
        items.clone(),
        0,
        Duration::ZERO,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Throttled", "{err}");
    let out = check(&ecs, &FakeCodeDeploy::default(), items, 0, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(out.items[0].outcome, Outcome::InProgress);
    assert!(
        out.items[0].reason.as_deref().unwrap().contains("PENDING"),
        "{:?}",
        out.items[0].reason
    );
}

#[tokio::test]
async fn a_rollback_that_may_not_stop_the_deployment_restores_by_task_definition() {
    for refused in ["StopServiceDeployment", "DescribeServiceDeployments"] {
        let (ecs, item, deployment) = started().await;
        ecs.refuse(refused);
        let out = rollback(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &records(item.clone(), deployment),
            "r/e",
            Overwrite::OwnWorkOnly,
        )
        .await;
        let restore = &out.restores[0];
        assert_eq!(
            restore.outcome,
            RestoreOutcome::Restored,
            "{refused}: {restore:?}"
        );
        assert_eq!(
            ecs.calls("UpdateService"),
            2,
            "{refused}: the release's, then the restore's"
        );
        let service = ecs.service_state("prod", "web").unwrap();
        assert_eq!(
            service.task_definition(),
            Some(item.previous_task_definition.as_str())
        );
        // The restore's own blue/green deployment is awaited as a finished one, not a rollback.
        let awaited = &out.items[0].deployment;
        assert_eq!(awaited.awaits, Awaited::Finished, "{refused}");
        assert_eq!(
            awaited.service_deployment_arn.as_deref(),
            service.current_service_deployment(),
            "{refused}"
        );
    }
}
