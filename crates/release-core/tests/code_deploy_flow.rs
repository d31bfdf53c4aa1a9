//! CODE_DEPLOY services through every step, on in-memory ECS and CodeDeploy: pre-flight finds and
//! checks the deployment group, deploy-batch's step creates (or adopts) the deployment,
//! check-stability judges it by CodeDeploy's status and lifecycle events, and a rollback stops it,
//! awaits CodeDeploy's rollback, or deploys the previous revision again.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_codedeploy::types::{
    DeploymentStatus as CdStatus, EcsTarget, ErrorCode, ErrorInformation, LifecycleEvent,
    LifecycleEventStatus, RollbackInfo,
};
use aws_sdk_ecs::types::DeploymentControllerType;
use release_core::aws::fake::{FakeEcs, FakeEvents};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::contract::{
    examples, Awaited, CodeDeploySettings, DeploymentStatus, DeploymentStrategy, Images,
    ItemResult, Outcome, Plan, Records, ReleaseInput, ReleaseMeta, ReleaseRecords, RestoreOutcome,
    ServiceDeployment, ServiceItem, ServiceTarget, Settings, Strategy, UpdateServiceInput,
};
use release_core::decide::preflight::Reach;
use release_core::decide::rollback::Overwrite;
use release_core::steps::check_stability::check;
use release_core::steps::code_deploy::deploy;
use release_core::steps::plan_release::plan;
use release_core::steps::rollback::rollback;
use release_core::Error;

const APP: &str = "AppECS-prod-shop";
const GROUP: &str = "DgpECS-prod-shop";
const CANARY: &str = "CodeDeployDefault.ECSCanary10Percent5Minutes";
/// `Records::execution` of the records below.
const EXECUTION: &str = "r-1/e-1";

/// prod/shop (CODE_DEPLOY, behind a load balancer to app:8080) on shop:1, its default group
/// deploying with a 5-minute canary; prod/web (ECS controller) on web:1.
fn world() -> (FakeEcs, FakeCodeDeploy, String, String) {
    let ecs = FakeEcs::default();
    let old = ecs.definition("shop", &[("app", "repo/shop:v1")], &[]);
    let new = ecs.definition("shop", &[("app", "repo/shop:v2")], &[]);
    let web = ecs.definition("web", &[("app", "repo/web:v1")], &[]);
    let ecs = ecs
        .cluster("prod", "ACTIVE")
        .service(
            "prod",
            "shop",
            &old,
            "ACTIVE",
            DeploymentControllerType::CodeDeploy,
        )
        .service("prod", "web", &web, "ACTIVE", DeploymentControllerType::Ecs);
    ecs.load_balancer("prod", "shop", "app", 8080);
    let codedeploy = FakeCodeDeploy::default().group(APP, GROUP, "prod", "shop", CANARY);
    (ecs, codedeploy, old, new)
}

fn target(service: &str, image: &str) -> ServiceTarget {
    ServiceTarget {
        cluster: "prod".into(),
        service: service.into(),
        images: Images::Containers([("app".to_owned(), image.to_owned())].into()),
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        deployment_strategy: None,
        code_deploy: None,
        timeout_seconds: 600,
        depends_on: Vec::new(),
        name: None,
        suspend_auto_scaling: None,
    }
}

fn release(services: Vec<ServiceTarget>) -> ReleaseInput {
    ReleaseInput {
        release: ReleaseMeta {
            id: "r-1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services,
        tasks: Vec::new(),
        waves: Vec::new(),
        jobs: Vec::new(),
        schedules: Vec::new(),
    }
}

async fn planned(ecs: &FakeEcs, codedeploy: &FakeCodeDeploy) -> ServiceItem {
    let input = release(vec![target("shop", "repo/shop:v2")]);
    let plan = plan(
        ecs,
        &FakeEvents::default(),
        codedeploy,
        &FakeScheduler::default(),
        input,
        &Reach::default(),
    )
    .await
    .unwrap();
    plan.services[0].clone()
}

/// The pre-flight problems of `services`, as (item, field, message).
async fn problems(
    ecs: &FakeEcs,
    codedeploy: &FakeCodeDeploy,
    services: Vec<ServiceTarget>,
) -> Vec<(String, String, String)> {
    let err = plan(
        ecs,
        &FakeEvents::default(),
        codedeploy,
        &FakeScheduler::default(),
        release(services),
        &Reach::default(),
    )
    .await
    .unwrap_err();
    let Error::PreflightFailed(problems) = err else {
        panic!("not a pre-flight failure: {err}");
    };
    problems
        .into_iter()
        .map(|p| (p.item, p.field, p.message))
        .collect()
}

async fn started(
    ecs: &FakeEcs,
    codedeploy: &FakeCodeDeploy,
    new: &str,
) -> (ServiceItem, ServiceDeployment) {
    let item = ServiceItem {
        new_task_definition: Some(new.to_owned()),
        ..planned(ecs, codedeploy).await
    };
    let now = release_core::steps::unix_now();
    let deployment = deploy(ecs, codedeploy, &input(&item), now).await.unwrap();
    (item, deployment)
}

fn input(item: &ServiceItem) -> UpdateServiceInput {
    UpdateServiceInput {
        release_id: "r-1".into(),
        records: Records::for_execution("convoy-records", "r-1", "e-1"),
        item: item.clone(),
    }
}

fn records(item: &ServiceItem, deployment: Option<ServiceDeployment>) -> ReleaseRecords {
    let plan = Plan {
        release: ReleaseMeta {
            id: "r-1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services: vec![item.clone()],
        tasks: Vec::new(),
        changed_services: 1,
        changed_tasks: 0,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    };
    let results = deployment
        .map(|d| ItemResult {
            id: d.id.clone(),
            deployment: Some(d),
            rule: None,
            error: None,
            job: None,
            schedule: None,
            kind: None,
        })
        .into_iter()
        .collect();
    ReleaseRecords::new(plan, results)
}

fn event(name: &str, status: LifecycleEventStatus) -> LifecycleEvent {
    LifecycleEvent::builder()
        .lifecycle_event_name(name)
        .status(status)
        .build()
}

fn ecs_target(id: &str, events: Vec<LifecycleEvent>) -> EcsTarget {
    EcsTarget::builder()
        .deployment_id(id)
        .target_id("prod:shop")
        .set_lifecycle_events(Some(events))
        .build()
}

async fn judged(codedeploy: &FakeCodeDeploy, deployment: ServiceDeployment) -> DeploymentStatus {
    let out = check(
        &FakeEcs::default(),
        codedeploy,
        vec![DeploymentStatus::started(deployment)],
        0,
        Duration::ZERO,
    )
    .await
    .unwrap();
    out.items[0].clone()
}

#[tokio::test]
async fn pre_flight_records_the_default_group_its_configuration_and_its_wait() {
    let (ecs, codedeploy, old, _) = world();
    let item = planned(&ecs, &codedeploy).await;
    let group = item.code_deploy.clone().unwrap();
    assert_eq!(
        (group.application.as_str(), group.deployment_group.as_str()),
        (APP, GROUP)
    );
    assert_eq!(group.deployment_config, CANARY);
    // The canary's 5 minutes come on top of the timeout.
    assert_eq!(group.wait_seconds, 300);
    assert!(!group.wait_for_termination);
    assert_eq!(item.previous_task_definition, old);
    assert_eq!(codedeploy.calls("GetDeploymentGroup"), 1);
    assert_eq!(codedeploy.calls("ListDeployments"), 1);
    // A predefined configuration needs no call.
    assert_eq!(codedeploy.calls("GetDeploymentConfig"), 0);
}

#[tokio::test]
async fn pre_flight_refuses_what_codedeploy_could_not_deploy_each_on_its_field() {
    let (ecs, codedeploy, _, _) = world();
    let other_group = ServiceTarget {
        code_deploy: Some(CodeDeploySettings {
            deployment_group: Some("DgpECS-prod-missing".into()),
            ..Default::default()
        }),
        ..target("shop", "repo/shop:v2")
    };
    let with_strategy = ServiceTarget {
        deployment_strategy: Some(DeploymentStrategy {
            strategy: Strategy::BlueGreen,
            bake_time_in_minutes: Some(1),
            linear_configuration: None,
            canary_configuration: None,
        }),
        desired_count: Some(4),
        ..target("shop", "repo/shop:v2")
    };
    let on_ecs_service = ServiceTarget {
        code_deploy: Some(CodeDeploySettings::default()),
        ..target("web", "repo/web:v2")
    };
    let unknown_config = ServiceTarget {
        code_deploy: Some(CodeDeploySettings {
            deployment_config: Some("Mine.ECSHalfAtOnce".into()),
            ..Default::default()
        }),
        ..target("shop", "repo/shop:v2")
    };
    let too_long = ServiceTarget {
        timeout_seconds: 3 * 3600,
        ..target("shop", "repo/shop:v2")
    };
    let cases: [(ServiceTarget, &str, &str); 5] = [
        (
            other_group,
            "codeDeploy",
            "CodeDeploy deployment group `AppECS-prod-shop/DgpECS-prod-missing` does not exist",
        ),
        (with_strategy, "strategy", "is deployed by CodeDeploy"),
        (
            on_ecs_service,
            "codeDeploy",
            "service `web` has the ECS deployment controller: codeDeploy applies to CODE_DEPLOY services only",
        ),
        (
            unknown_config,
            "codeDeploy",
            "CodeDeploy deployment configuration `Mine.ECSHalfAtOnce` does not exist",
        ),
        (
            too_long,
            "timeoutSeconds",
            "timeoutSeconds 10800 plus CodeDeploy configuration CodeDeployDefault.ECSCanary10Percent5Minutes's 300 s",
        ),
    ];
    for (service, field, fragment) in cases {
        let got = problems(&ecs, &codedeploy, vec![service]).await;
        assert!(
            got.iter()
                .any(|(_, f, message)| f == field && message.contains(fragment)),
            "{field}: {fragment}: {got:?}"
        );
    }
    // desiredCount is UpdateService's too: reported with strategy, each on its field.
    let both = ServiceTarget {
        desired_count: Some(4),
        code_deploy: None,
        ..target("shop", "repo/shop:v2")
    };
    let got = problems(&ecs, &codedeploy, vec![both]).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "desiredCount");
    assert_eq!(codedeploy.calls("CreateDeployment"), 0);
}

#[tokio::test]
async fn pre_flight_refuses_a_group_with_an_active_deployment_and_ignores_an_unchanged_service() {
    let (ecs, codedeploy, _, _) = world();
    let busy = codedeploy.add_deployment(
        aws_sdk_codedeploy::types::DeploymentInfo::builder()
            .application_name(APP)
            .deployment_group_name(GROUP)
            .status(CdStatus::InProgress)
            .build(),
    );
    let got = problems(&ecs, &codedeploy, vec![target("shop", "repo/shop:v2")]).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "services[0] (prod/shop)");
    assert_eq!(got[0].1, "codeDeploy");
    assert!(
        got[0]
            .2
            .contains(&format!("`{APP}/{GROUP}` has an active deployment {busy}")),
        "{got:?}"
    );

    // Unchanged, it deploys nothing: its group is not even looked at.
    let (ecs, codedeploy, _, _) = world();
    let codedeploy_without_group = FakeCodeDeploy::default();
    let plan = plan(
        &ecs,
        &FakeEvents::default(),
        &codedeploy_without_group,
        &FakeScheduler::default(),
        release(vec![target("shop", "repo/shop:v1")]),
        &Reach::default(),
    )
    .await
    .unwrap();
    assert!(plan.services[0].noop);
    assert_eq!(plan.services[0].code_deploy, None);
    assert_eq!(codedeploy_without_group.total_calls(), 0);
    drop(codedeploy);
}

#[tokio::test]
async fn a_custom_configuration_is_read_and_its_linear_shift_counts() {
    use aws_sdk_codedeploy::types::{TimeBasedLinear, TrafficRoutingConfig, TrafficRoutingType};
    let (ecs, _, _, _) = world();
    let routing = TrafficRoutingConfig::builder()
        .r#type(TrafficRoutingType::TimeBasedLinear)
        .time_based_linear(
            TimeBasedLinear::builder()
                .linear_interval(2)
                .linear_percentage(25)
                .build(),
        )
        .build();
    let codedeploy = FakeCodeDeploy::default()
        .group(APP, GROUP, "prod", "shop", "Mine.Linear25Every2")
        .config("Mine.Linear25Every2", routing);
    let item = planned(&ecs, &codedeploy).await;
    // Four steps of 25 %, three waits of 2 minutes between them.
    assert_eq!(item.code_deploy.unwrap().wait_seconds, 360);
    assert_eq!(codedeploy.calls("GetDeploymentConfig"), 1);
}

#[tokio::test]
async fn the_deployment_carries_the_appspec_and_a_retry_adopts_it() {
    let (ecs, codedeploy, _, new) = world();
    let item = ServiceItem {
        new_task_definition: Some(new.clone()),
        ..planned(&ecs, &codedeploy).await
    };
    let deployment = deploy(&ecs, &codedeploy, &input(&item), 1_000)
        .await
        .unwrap();
    let created = codedeploy.created();
    assert_eq!(created.len(), 1);
    let request = &created[0];
    assert_eq!(
        (
            request.application.as_str(),
            request.deployment_group.as_str()
        ),
        (APP, GROUP)
    );
    assert_eq!(request.deployment_config.as_deref(), Some(CANARY));
    assert_eq!(request.description, "convoy release r-1/e-1: prod/shop");
    let spec: serde_json::Value = serde_json::from_str(&request.app_spec).unwrap();
    let properties = &spec["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(properties["TaskDefinition"], new.as_str());
    assert_eq!(properties["LoadBalancerInfo"]["ContainerName"], "app");
    assert_eq!(properties["LoadBalancerInfo"]["ContainerPort"], 8080);
    // The timeout plus the canary's wait; judged by CodeDeploy, never by UpdateService.
    assert_eq!(deployment.deadline, 1_000 + 600 + 300);
    assert_eq!(deployment.code_deploy, item.code_deploy);
    assert!(deployment.deployment_id.starts_with("d-"));
    assert_eq!(ecs.calls("UpdateService"), 0);

    // The step retried (its answer was lost): the same deployment, not a second one.
    let again = deploy(&ecs, &codedeploy, &input(&item), 1_050)
        .await
        .unwrap();
    assert_eq!(again.deployment_id, deployment.deployment_id);
    assert_eq!(codedeploy.created().len(), 1);
}

#[tokio::test]
async fn a_group_busy_with_someone_elses_deployment_rejects_ours() {
    let (ecs, codedeploy, _, new) = world();
    let item = ServiceItem {
        new_task_definition: Some(new.clone()),
        ..planned(&ecs, &codedeploy).await
    };
    // Someone started a deployment after pre-flight.
    let theirs = codedeploy.add_deployment(
        aws_sdk_codedeploy::types::DeploymentInfo::builder()
            .application_name(APP)
            .deployment_group_name(GROUP)
            .description("a hotfix")
            .status(CdStatus::InProgress)
            .build(),
    );
    let err = deploy(&ecs, &codedeploy, &input(&item), 1_000)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "DeploymentRejected", "{err}");
    assert!(
        err.to_string().contains(&format!("`{APP}/{GROUP}`")),
        "{err}"
    );
    assert!(codedeploy.created().is_empty());
    assert_eq!(
        codedeploy.deployment(&theirs).unwrap().status(),
        Some(&CdStatus::InProgress)
    );
}

#[tokio::test]
async fn the_verdict_follows_codedeploy_status_and_names_the_failing_event() {
    let (ecs, codedeploy, _, new) = world();
    let (_, deployment) = started(&ecs, &codedeploy, &new).await;
    let id = deployment.deployment_id.clone();

    codedeploy.set_status(&id, CdStatus::InProgress);
    codedeploy.set_target(
        &id,
        ecs_target(
            &id,
            vec![
                event("BeforeInstall", LifecycleEventStatus::Succeeded),
                event("Install", LifecycleEventStatus::Succeeded),
                event("AfterAllowTestTraffic", LifecycleEventStatus::InProgress),
            ],
        ),
    );
    let moving = judged(&codedeploy, deployment.clone()).await;
    assert_eq!(moving.outcome, Outcome::InProgress, "{moving:?}");
    assert_eq!(moving.stage.as_deref(), Some("AfterAllowTestTraffic"));

    codedeploy.update(&id, |info| {
        info.status = Some(CdStatus::Failed);
        info.error_information = Some(
            ErrorInformation::builder()
                .code(ErrorCode::HookExecutionFailure)
                .message("the smoke test failed")
                .build(),
        );
    });
    codedeploy.set_target(
        &id,
        ecs_target(
            &id,
            vec![
                event("Install", LifecycleEventStatus::Succeeded),
                event("AfterAllowTestTraffic", LifecycleEventStatus::Failed),
            ],
        ),
    );
    let failed = judged(&codedeploy, deployment.clone()).await;
    assert_eq!(failed.outcome, Outcome::Failed);
    let reason = failed.reason.unwrap();
    assert!(
        reason.contains("HOOK_EXECUTION_FAILURE: the smoke test failed"),
        "{reason}"
    );
    assert!(
        reason.contains("lifecycle event AfterAllowTestTraffic failed"),
        "{reason}"
    );
    assert_eq!(failed.stage.as_deref(), Some("AfterAllowTestTraffic"));

    codedeploy.update(&id, |info| {
        info.status = Some(CdStatus::Succeeded);
        info.error_information = None;
    });
    let done = judged(&codedeploy, deployment).await;
    assert_eq!(done.outcome, Outcome::Succeeded, "{done:?}");
}

#[tokio::test]
async fn a_rollback_stops_a_deployment_in_flight_and_awaits_codedeploys_rollback() {
    let (ecs, codedeploy, old, new) = world();
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    let id = deployment.deployment_id.clone();
    codedeploy.set_status(&id, CdStatus::InProgress);

    let out = rolled_back(
        &ecs,
        &codedeploy,
        &records(&item, Some(deployment)),
        EXECUTION,
    )
    .await;
    assert_eq!(codedeploy.stops(), vec![(id.clone(), true)]);
    assert_eq!(out.restores[0].outcome, RestoreOutcome::Restored, "{out:?}");
    assert_eq!(out.items.len(), 1);
    let awaited = &out.items[0].deployment;
    let rollback_id = codedeploy
        .deployment(&id)
        .unwrap()
        .rollback_info()
        .unwrap()
        .rollback_deployment_id()
        .unwrap()
        .to_owned();
    assert_eq!(awaited.deployment_id, rollback_id);
    assert_eq!(awaited.awaits, Awaited::RolledBack);
    assert_eq!(awaited.new_task_definition, old);
    assert_eq!(ecs.calls("UpdateService"), 0);

    codedeploy.set_status(&rollback_id, CdStatus::Succeeded);
    let back = judged(&codedeploy, awaited.clone()).await;
    assert_eq!(back.outcome, Outcome::Succeeded, "{back:?}");

    // Run again (a retried rollback): nothing more is stopped or created.
    let again = rolled_back(
        &ecs,
        &codedeploy,
        &records(&item, Some(awaited_source(&item, &id, &new))),
        EXECUTION,
    )
    .await;
    assert_eq!(codedeploy.stops().len(), 1);
    assert!(
        codedeploy.created().len() == 1,
        "{:?}",
        codedeploy.created()
    );
    assert_eq!(again.items[0].deployment.deployment_id, rollback_id);
}

/// The rollback of `records` by execution `execution`, restoring only this release's work.
async fn rolled_back(
    ecs: &FakeEcs,
    codedeploy: &FakeCodeDeploy,
    records: &ReleaseRecords,
    execution: &str,
) -> release_core::contract::RollbackOutput {
    rollback(
        ecs,
        &FakeEvents::default(),
        codedeploy,
        &FakeScheduler::default(),
        records,
        execution,
        Overwrite::OwnWorkOnly,
    )
    .await
}

/// The record deploy-batch wrote for `id`.
fn awaited_source(item: &ServiceItem, id: &str, new: &str) -> ServiceDeployment {
    ServiceDeployment {
        id: item.id.clone(),
        cluster: item.cluster.clone(),
        service: item.service.clone(),
        previous_task_definition: item.previous_task_definition.clone(),
        new_task_definition: new.to_owned(),
        deployment_id: id.to_owned(),
        deadline: 2_000,
        strategy: Strategy::Rolling,
        service_deployment_arn: None,
        awaits: Awaited::Finished,
        code_deploy: item.code_deploy.clone(),
    }
}

#[tokio::test]
async fn a_rollback_after_success_deploys_the_previous_revision_again() {
    let (ecs, codedeploy, old, new) = world();
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    codedeploy.set_status(&deployment.deployment_id, CdStatus::Succeeded);
    // CodeDeploy moved the service to the new revision.
    let ecs = ecs.service(
        "prod",
        "shop",
        &new,
        "ACTIVE",
        DeploymentControllerType::CodeDeploy,
    );
    ecs.load_balancer("prod", "shop", "app", 8080);

    let out = rolled_back(
        &ecs,
        &codedeploy,
        &records(&item, Some(deployment)),
        EXECUTION,
    )
    .await;
    assert_eq!(out.restores[0].outcome, RestoreOutcome::Restored, "{out:?}");
    assert!(codedeploy.stops().is_empty());
    let created = codedeploy.created();
    assert_eq!(created.len(), 2);
    assert_eq!(
        created[1].description,
        "convoy release r-1/e-1: prod/shop rollback"
    );
    assert!(
        created[1].app_spec.contains(&old),
        "{}",
        created[1].app_spec
    );
    let awaited = &out.items[0].deployment;
    assert_eq!(awaited.awaits, Awaited::Finished);
    assert_eq!(awaited.new_task_definition, old);
    assert_eq!(awaited.previous_task_definition, new);
    assert_eq!(ecs.calls("UpdateService"), 0);
}

#[tokio::test]
async fn a_deployment_never_recorded_is_found_by_its_description_and_stopped() {
    let (ecs, codedeploy, _, new) = world();
    // deploy-batch created it, then stopped before writing its result.
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    codedeploy.set_status(&deployment.deployment_id, CdStatus::InProgress);
    let out = rolled_back(&ecs, &codedeploy, &records(&item, None), EXECUTION).await;
    assert_eq!(
        codedeploy.stops(),
        vec![(deployment.deployment_id.clone(), true)]
    );
    assert_eq!(out.items[0].deployment.awaits, Awaited::RolledBack);

    // Another execution's deployment of the same item is not ours to stop.
    let (ecs, codedeploy, old, new) = world();
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    codedeploy.set_status(&deployment.deployment_id, CdStatus::InProgress);
    let out = rolled_back(&ecs, &codedeploy, &records(&item, None), "r-1/e-2").await;
    assert!(codedeploy.stops().is_empty());
    // The service still runs the previous revision: nothing to do.
    assert_eq!(
        out.restores[0].outcome,
        RestoreOutcome::AlreadyCurrent,
        "{out:?}"
    );
    assert_eq!(out.restores[0].task_definition, old);
}

#[tokio::test]
async fn a_failed_deployment_codedeploy_rolls_back_is_awaited_not_redeployed() {
    let (ecs, codedeploy, _, new) = world();
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    let back = codedeploy.add_deployment(
        aws_sdk_codedeploy::types::DeploymentInfo::builder()
            .application_name(APP)
            .deployment_group_name(GROUP)
            .status(CdStatus::InProgress)
            .creator(aws_sdk_codedeploy::types::DeploymentCreator::CodeDeployRollback)
            .build(),
    );
    codedeploy.update(&deployment.deployment_id, |info| {
        info.status = Some(CdStatus::Failed);
        info.rollback_info = Some(
            RollbackInfo::builder()
                .rollback_deployment_id(back.clone())
                .build(),
        );
    });
    let out = rolled_back(
        &ecs,
        &codedeploy,
        &records(&item, Some(deployment)),
        EXECUTION,
    )
    .await;
    assert!(codedeploy.stops().is_empty());
    assert_eq!(codedeploy.created().len(), 1);
    assert_eq!(out.items[0].deployment.deployment_id, back);
    assert_eq!(out.items[0].deployment.awaits, Awaited::RolledBack);
    assert!(
        out.restores[0]
            .reason
            .as_deref()
            .unwrap()
            .contains(&format!("CodeDeploy rolls it back with deployment {back}")),
        "{out:?}"
    );
}

#[tokio::test]
async fn the_await_follows_a_stopped_deployment_to_its_rollback() {
    let (ecs, codedeploy, _, new) = world();
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    let id = deployment.deployment_id.clone();
    // Awaiting our own deployment's rollback before CodeDeploy named it.
    let awaiting = ServiceDeployment {
        awaits: Awaited::RolledBack,
        ..deployment
    };
    codedeploy.set_status(&id, CdStatus::InProgress);
    use release_core::aws::CodeDeployApi;
    codedeploy.stop_deployment(&id, true).await.unwrap();
    let rollback_id = codedeploy
        .deployment(&id)
        .unwrap()
        .rollback_info()
        .unwrap()
        .rollback_deployment_id()
        .unwrap()
        .to_owned();
    let out = check(
        &ecs,
        &codedeploy,
        vec![DeploymentStatus::started(awaiting)],
        0,
        Duration::ZERO,
    )
    .await
    .unwrap();
    assert_eq!(
        out.items[0].outcome,
        Outcome::InProgress,
        "{:?}",
        out.items[0]
    );
    assert_eq!(out.items[0].deployment.deployment_id, rollback_id);
    drop(item);
}

#[test]
fn the_examples_item_is_not_a_code_deploy_item() {
    // Records written before CODE_DEPLOY support read the same.
    let item = examples::service_item("prod", "web", "web:1", Default::default());
    let json = serde_json::to_value(&item).unwrap();
    assert!(json.get("codeDeploy").is_none(), "{json}");
}

#[tokio::test]
async fn a_rollback_that_cannot_read_or_stop_the_deployment_fails_the_restore_with_the_error() {
    let (ecs, codedeploy, _, new) = world();
    let (item, deployment) = started(&ecs, &codedeploy, &new).await;
    codedeploy.set_status(&deployment.deployment_id, CdStatus::InProgress);
    let restore_of = |out: release_core::contract::RollbackOutput| out.restores[0].clone();

    // Not knowing what became of it: nothing is redeployed over it, and a retry may know.
    codedeploy.throttle("BatchGetDeployments", 1);
    let out = rolled_back(
        &ecs,
        &codedeploy,
        &records(&item, Some(deployment.clone())),
        EXECUTION,
    )
    .await;
    assert!(out.items.is_empty());
    let restore = restore_of(out);
    assert_eq!(restore.outcome, RestoreOutcome::Failed, "{restore:?}");
    assert_eq!(restore.error.as_deref(), Some("Throttled"));
    assert!(codedeploy.stops().is_empty());
    assert_eq!(codedeploy.created().len(), 1);

    // Refused the stop while it still runs: failed with the stop's error.
    codedeploy.refuse("StopDeployment");
    let out = rolled_back(
        &ecs,
        &codedeploy,
        &records(&item, Some(deployment)),
        EXECUTION,
    )
    .await;
    let restore = restore_of(out);
    assert_eq!(restore.outcome, RestoreOutcome::Failed, "{restore:?}");
    assert_eq!(restore.error.as_deref(), Some("AccessDenied"));
    assert!(
        restore
            .reason
            .as_deref()
            .unwrap()
            .contains("still runs and could not be stopped"),
        "{restore:?}"
    );
    assert_eq!(codedeploy.created().len(), 1);
}

#[tokio::test]
async fn a_throttled_or_refused_codedeploy_read_fails_the_round_with_its_name_and_the_next_round_judges(
) {
    let (ecs, codedeploy, _, new) = world();
    let (_, deployment) = started(&ecs, &codedeploy, &new).await;
    codedeploy.set_status(&deployment.deployment_id, CdStatus::InProgress);
    let items = vec![DeploymentStatus::started(deployment)];
    let round = |items| check(&ecs, &codedeploy, items, 0, Duration::ZERO);

    // A name the state machine retries, never a verdict on the item.
    codedeploy.throttle("BatchGetDeployments", 1);
    let err = round(items.clone()).await.unwrap_err();
    assert_eq!(err.name(), "Throttled", "{err}");
    codedeploy.fail(
        "GetDeploymentTarget",
        Error::AccessDenied {
            message: "GetDeploymentTarget: not authorized".into(),
            source: None,
        },
    );
    let err = round(items.clone()).await.unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");

    let out = round(items).await.unwrap();
    assert_eq!(
        out.items[0].outcome,
        Outcome::InProgress,
        "{:?}",
        out.items[0]
    );
}
