//! plan-release against moto: what a rollback needs is recorded — each service's desiredCount and
//! deployment percentages, and the concrete revision of a rule target that names its family only;
//! clusters and services named by ARN are planned by name; the roles a release would pass are
//! checked against the roles the functions may pass.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use crate::rollback_fixture;

use aws_sdk_ecs::types::DeploymentConfiguration;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::contract::ReleaseInput;
use release_core::decide::manifest::arn::Home;
use release_core::decide::preflight::Reach;
use release_core::steps::plan_release::plan;
use release_core::Error;
use rollback_fixture::{aws, ecs_target, revision, unique};
use serde_json::json;

#[tokio::test]
async fn the_plan_records_service_settings_and_concrete_rule_target_revisions() {
    let aws = aws().await;
    let c = unique("plan");
    convoy_testkit::seed::cluster(&aws.ecs, &c).await;
    let web = revision(&aws, &format!("{c}-web"), "web:1").await;
    aws.ecs
        .create_service()
        .cluster(&c)
        .service_name("web")
        .task_definition(&web)
        .desired_count(3)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(50)
                .maximum_percent(150)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let family = format!("{c}-report");
    revision(&aws, &family, "report:1").await;
    let report_2 = revision(&aws, &family, "report:2").await;
    let rule = unique("plan-nightly");
    let cluster_arn = format!("arn:aws:ecs:us-east-1:123456789012:cluster/{c}");
    convoy_testkit::seed::scheduled_rule(
        &aws.events,
        &rule,
        // By family: whatever revision is newest when the rule fires.
        &[ecs_target("a", &cluster_arn, &family)],
    )
    .await;

    let input: ReleaseInput = serde_json::from_value(json!({
        "release": {"id": "r1", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5, "keepRevisions": 3},
        "services": [{
            "cluster": c, "service": "web",
            "images": {"containers": {"app": "web:2"}},
            "desiredCount": 5, "minimumHealthyPercent": 100, "maximumPercent": 200,
            "timeoutSeconds": 600
        }],
        "tasks": [{"rule": rule, "eventBus": "default", "images": {"containers": {"app": "report:3"}}}]
    }))
    .unwrap();
    let plan = plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        input,
        &Reach::default(),
    )
    .await
    .unwrap();

    let web_item = &plan.services[0];
    assert_eq!(web_item.previous_task_definition, web);
    assert_eq!(
        (
            web_item.previous_desired_count,
            web_item.previous_minimum_healthy_percent,
            web_item.previous_maximum_percent
        ),
        (Some(3), Some(50), Some(150))
    );
    assert_eq!(
        (
            web_item.desired_count,
            web_item.minimum_healthy_percent,
            web_item.maximum_percent
        ),
        (Some(5), Some(100), Some(200)),
        "what the release sets is kept apart from what it found"
    );
    let target = &plan.tasks[0].targets[0];
    assert_eq!(target.previous_task_definition, report_2);
    assert!(!target.noop);
}

const ACCOUNT: &str = "123456789012";

/// Where moto's resources are: the functions' account and region.
fn moto_home() -> Home {
    Home::of_arn(&format!(
        "arn:aws:states:us-east-1:{ACCOUNT}:execution:convoy-release:r1"
    ))
}

fn release(services: serde_json::Value, tasks: serde_json::Value) -> ReleaseInput {
    serde_json::from_value(json!({
        "release": {"id": "r1", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5, "keepRevisions": 0},
        "services": services,
        "tasks": tasks,
    }))
    .unwrap()
}

fn web_item(cluster: &str, service: &str) -> serde_json::Value {
    json!({"cluster": cluster, "service": service,
           "images": {"containers": {"app": "web:2"}}, "timeoutSeconds": 600})
}

fn problems(err: Error) -> Vec<(String, String, String)> {
    match err {
        Error::PreflightFailed(list) | Error::ManifestInvalid(list) => list
            .into_iter()
            .map(|p| (p.item, p.field, p.message))
            .collect(),
        other => panic!("expected problems, got {other}"),
    }
}

#[tokio::test]
async fn clusters_and_services_named_by_arn_are_planned_by_name() {
    let aws = aws().await;
    let c = unique("arn");
    convoy_testkit::seed::cluster(&aws.ecs, &c).await;
    let web = revision(&aws, &format!("{c}-web"), "web:1").await;
    let api = revision(&aws, &format!("{c}-api"), "web:1").await;
    rollback_fixture::service(&aws, &c, "web", &web).await;
    rollback_fixture::service(&aws, &c, "api", &api).await;
    let cluster_arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{c}");
    let reach = Reach {
        home: moto_home(),
        passable_roles: None,
    };

    // The new service ARN format (with its cluster) and the old one (without).
    let input = release(
        json!([
            web_item(
                &cluster_arn,
                &format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/{c}/web")
            ),
            web_item(&c, &format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/api")),
        ]),
        json!([]),
    );
    let planned = plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        input,
        &reach,
    )
    .await
    .unwrap();
    let items: Vec<(&str, &str, &str)> = planned
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.cluster.as_str(), s.service.as_str()))
        .collect();
    let (web_id, api_id) = (format!("{c}/web"), format!("{c}/api"));
    assert_eq!(
        items,
        [
            (web_id.as_str(), c.as_str(), "web"),
            (api_id.as_str(), c.as_str(), "api")
        ]
    );
    assert_eq!(planned.services[0].previous_task_definition, web);

    // One service named by name and by ARN is one service named twice.
    let twice = release(
        json!([
            web_item(&c, "web"),
            web_item(
                &cluster_arn,
                &format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/{c}/web")
            ),
        ]),
        json!([]),
    );
    let err = plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        twice,
        &reach,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "ManifestInvalid");
    let found = problems(err);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, format!("services[1] ({c}/web)"));
    assert_eq!(found[0].1, "serviceName");
    assert!(found[0].2.contains("duplicates services[0]"), "{found:#?}");

    // An ARN of another region or account: refused before any call, naming the item and field.
    let other_region = format!("arn:aws:ecs:eu-west-1:{ACCOUNT}:service/{c}/web");
    let other_account = format!("arn:aws:ecs:us-east-1:210987654321:cluster/{c}");
    let foreign = release(
        json!([web_item(&c, &other_region), web_item(&other_account, "api")]),
        json!([]),
    );
    let err = plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        foreign,
        &reach,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "PreflightFailed");
    let found = problems(err);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1.as_str()),
        (format!("services[0] ({c}/web)").as_str(), "serviceName")
    );
    assert!(
        found[0].2.contains(&format!(
            "`{other_region}` is in region eu-west-1 (the release runs in us-east-1)"
        )),
        "{found:#?}"
    );
    assert_eq!(
        (found[1].0.as_str(), found[1].1.as_str()),
        (format!("services[1] ({c}/api)").as_str(), "clusterName")
    );
    assert!(
        found[1]
            .2
            .contains("account 210987654321 (the release runs in 123456789012)"),
        "{found:#?}"
    );
}

#[tokio::test]
async fn roles_the_release_would_pass_must_be_passable() {
    let aws = aws().await;
    let c = unique("roles");
    convoy_testkit::seed::cluster(&aws.ecs, &c).await;
    let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    let definition = |family: String, task_role: String| {
        let aws = &aws;
        let execution_role = role("ecsTaskExecutionRole");
        async move {
            aws.ecs
                .register_task_definition()
                .family(family)
                .task_role_arn(task_role)
                .execution_role_arn(execution_role)
                .container_definitions(
                    aws_sdk_ecs::types::ContainerDefinition::builder()
                        .name("app")
                        .image("web:1")
                        .memory(256)
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .task_definition
                .unwrap()
                .task_definition_arn
                .unwrap()
        }
    };
    let web = definition(format!("{c}-web"), role("app-web")).await;
    let job = definition(format!("{c}-job"), role("app-job")).await;
    rollback_fixture::service(&aws, &c, "web", &web).await;
    let rule = unique("roles-nightly");
    let cluster_arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/{c}");
    // ecs_target's RoleArn is role/ecsEventsRole.
    convoy_testkit::seed::scheduled_rule(
        &aws.events,
        &rule,
        &[ecs_target("a", &cluster_arn, &job)],
    )
    .await;
    let input = || {
        release(
            json!([web_item(&c, "web")]),
            json!([{"rule": rule, "eventBus": "default", "images": {"containers": {"app": "job:2"}}}]),
        )
    };
    let reach = |patterns: Option<&[&str]>| Reach {
        home: moto_home(),
        passable_roles: patterns.map(|p| p.iter().map(|s| (*s).to_owned()).collect()),
    };

    // Only the application roles are passable: the execution role (twice) and the target's
    // RoleArn are named, with the patterns.
    let apps = format!("arn:aws:iam::{ACCOUNT}:role/app-*");
    let err = plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        input(),
        &reach(Some(&[&apps])),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "PreflightFailed");
    let found = problems(err);
    let web_label = format!("services[0] ({c}/web)");
    let rule_label = format!("tasks[0] ({rule})");
    let expected = [
        (
            web_label.as_str(),
            "service",
            format!("execution role `{}`", role("ecsTaskExecutionRole")),
        ),
        (
            rule_label.as_str(),
            "rule",
            format!(
                "target `a`: task definition {c}-job:1: execution role `{}`",
                role("ecsTaskExecutionRole")
            ),
        ),
        (
            rule_label.as_str(),
            "rule",
            format!("target `a`: RoleArn `{}`", role("ecsEventsRole")),
        ),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((item, field, message), (want_item, want_field, fragment)) in found.iter().zip(&expected) {
        assert_eq!(
            (item.as_str(), field.as_str()),
            (*want_item, *want_field),
            "{found:#?}"
        );
        assert!(message.contains(fragment.as_str()), "{fragment}: {message}");
        assert!(
            message.contains(&format!("(PassableRoleArns: {apps})")),
            "{message}"
        );
    }

    // Every role covered (`?` one character, `*` any run): the plan passes; unset checks nothing.
    let all = [
        apps.as_str(),
        "arn:aws:iam::123456789012:role/ecsTaskExecutionRol?",
        "arn:aws:iam::*:role/ecsEvents*",
    ];
    plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        input(),
        &reach(Some(&all)),
    )
    .await
    .unwrap();
    plan(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &FakeScheduler::default(),
        input(),
        &reach(None),
    )
    .await
    .unwrap();
}
