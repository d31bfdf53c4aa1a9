//! plan-release against moto: what a rollback needs is recorded — each service's desiredCount and
//! deployment percentages, and the concrete revision of a rule target that names its family only.

mod rollback_fixture;

use aws_sdk_ecs::types::DeploymentConfiguration;
use release_core::contract::ReleaseInput;
use release_core::steps::plan_release::plan;
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
    let plan = plan(&aws.ecs, &aws.events, input).await.unwrap();

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
