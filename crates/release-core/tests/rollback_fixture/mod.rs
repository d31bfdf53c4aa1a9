//! Seeding for the moto integration tests: clusters, revisions, services and scheduled rules with
//! unique names (moto's state is shared by every test of the process).

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]
#![allow(dead_code)] // each test file uses a different part

use aws_sdk_ecs::types::DeploymentRolloutState;
use aws_sdk_eventbridge::types::{
    AwsVpcConfiguration, EcsParameters, LaunchType, NetworkConfiguration, PropagateTags,
    RetryPolicy, Tag, Target,
};
use convoy_testkit::seed;
use release_core::aws::{EcsApi, ServiceUpdate};
use release_core::contract::{
    ItemResult, Plan, ReleaseMeta, ReleaseRecords, RollbackPolicy, RuleItem, RuleTaskTarget,
    RuleUpdate, ServiceDeployment, ServiceItem, Settings, TargetChange,
};
use release_core::steps::unix_now;

pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
}

pub async fn aws() -> Aws {
    let moto = convoy_testkit::moto();
    Aws {
        ecs: moto.ecs().await,
        events: moto.events().await,
        codedeploy: moto.codedeploy().await,
    }
}

pub use convoy_testkit::unique;

/// Registers a revision of `family` running `image`; returns its ARN.
pub async fn revision(aws: &Aws, family: &str, image: &str) -> String {
    seed::task_definition(&aws.ecs, family, image, 256).await
}

pub async fn service(aws: &Aws, cluster: &str, name: &str, task_definition: &str) {
    aws.ecs
        .create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(2)
        .send()
        .await
        .unwrap();
}

/// Starts a rollout to `new` the way update-service does; returns the record check-stability judges.
pub async fn deploy(
    aws: &Aws,
    cluster: &str,
    service: &str,
    previous: &str,
    new: &str,
    deadline: i64,
) -> ServiceDeployment {
    let updated = EcsApi::update_service(
        &aws.ecs,
        &ServiceUpdate {
            cluster: cluster.into(),
            service: service.into(),
            task_definition: Some(new.into()),
            ..ServiceUpdate::default()
        },
    )
    .await
    .unwrap();
    let primary = updated
        .deployments
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.status.as_deref() == Some("PRIMARY"))
        .expect("a PRIMARY deployment");
    assert_eq!(
        primary.rollout_state,
        Some(DeploymentRolloutState::InProgress)
    );
    ServiceDeployment {
        id: format!("{cluster}/{service}"),
        cluster: cluster.into(),
        service: service.into(),
        previous_task_definition: previous.into(),
        new_task_definition: new.into(),
        deployment_id: primary.id.unwrap(),
        deadline,
        strategy: Default::default(),
        service_deployment_arn: None,
        awaits: Default::default(),
        code_deploy: None,
    }
}

/// `cluster/service` as DescribeServices has it now.
pub async fn described(aws: &Aws, cluster: &str, service: &str) -> aws_sdk_ecs::types::Service {
    aws.ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap()
        .services
        .unwrap()
        .remove(0)
}

/// The task definition a service runs now.
pub async fn running(aws: &Aws, cluster: &str, service: &str) -> String {
    described(aws, cluster, service)
        .await
        .task_definition
        .unwrap()
}

/// An ECS target with every field a scheduled task commonly sets.
pub fn ecs_target(id: &str, cluster_arn: &str, task_definition: &str) -> Target {
    let net = convoy_testkit::moto().network();
    Target::builder()
        .id(id)
        .arn(cluster_arn)
        .role_arn("arn:aws:iam::123456789012:role/ecsEventsRole")
        .input(r#"{"containerOverrides":[{"name":"app","command":["report","--full"]}]}"#)
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(3)
                .maximum_event_age_in_seconds(3600)
                .build(),
        )
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(task_definition)
                .task_count(2)
                .launch_type(LaunchType::Fargate)
                .platform_version("1.4.0")
                .group(format!("group-{id}"))
                .propagate_tags(PropagateTags::TaskDefinition)
                .enable_ecs_managed_tags(true)
                .tags(Tag::builder().key("team").value("data").build().unwrap())
                .network_configuration(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            AwsVpcConfiguration::builder()
                                .set_subnets(Some(net.subnet_ids.clone()))
                                .security_groups(net.security_group_id.clone())
                                .assign_public_ip(
                                    aws_sdk_eventbridge::types::AssignPublicIp::Disabled,
                                )
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

pub fn queue_target(id: &str) -> Target {
    Target::builder()
        .id(id)
        .arn("arn:aws:sqs:us-east-1:123456789012:audit")
        .input(r#"{"audit":true}"#)
        .build()
        .unwrap()
}

pub async fn targets(aws: &Aws, rule: &str) -> Vec<Target> {
    let mut targets = aws
        .events
        .list_targets_by_rule()
        .rule(rule)
        .send()
        .await
        .unwrap()
        .targets
        .unwrap_or_default();
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    targets
}

pub fn task_definition_of(target: &Target) -> &str {
    &target.ecs_parameters.as_ref().unwrap().task_definition_arn
}

pub struct Release {
    pub cluster: String,
    pub rule: String,
    pub old: [String; 2],
    pub new: [String; 2],
    pub report_old: String,
    pub report_new: String,
    pub input: ReleaseRecords,
}

/// Two services and a two-target rule, all moved to new revisions (the rule by hand, as
/// update-scheduled-rule would), with the plan and Map results a real release would record.
pub async fn released(aws: &Aws, policy: RollbackPolicy) -> Release {
    let c = unique("rb");
    seed::cluster(&aws.ecs, &c).await;
    let cluster_arn = format!("arn:aws:ecs:us-east-1:123456789012:cluster/{c}");
    let old = [
        revision(aws, &format!("{c}-web"), "web:1").await,
        revision(aws, &format!("{c}-api"), "api:1").await,
    ];
    let new = [
        revision(aws, &format!("{c}-web"), "web:2").await,
        revision(aws, &format!("{c}-api"), "api:2").await,
    ];
    let report_old = revision(aws, &format!("{c}-report"), "report:1").await;
    let report_new = revision(aws, &format!("{c}-report"), "report:2").await;
    let mut results = Vec::new();
    let mut services = Vec::new();
    for (i, name) in ["web", "api"].into_iter().enumerate() {
        service(aws, &c, name, &old[i]).await;
        let d = deploy(aws, &c, name, &old[i], &new[i], unix_now() + 600).await;
        services.push(ServiceItem {
            id: d.id.clone(),
            cluster: c.clone(),
            service: name.into(),
            previous_task_definition: old[i].clone(),
            previous_desired_count: None,
            previous_minimum_healthy_percent: None,
            previous_maximum_percent: None,
            images: Default::default(),
            noop: false,
            desired_count: None,
            minimum_healthy_percent: None,
            maximum_percent: None,
            timeout_seconds: 300,
            new_task_definition: None,
            previous_deployment_strategy: None,
            deployment_strategy: None,
            code_deploy: None,
            wave: 0,
            auto_scaling: None,
        });
        results.push(ItemResult {
            id: d.id.clone(),
            deployment: Some(d),
            rule: None,
            error: None,
            job: None,
            schedule: None,
            kind: None,
        });
    }
    let rule_name = unique("rb-nightly");
    seed::scheduled_rule(
        &aws.events,
        &rule_name,
        &[
            ecs_target("a", &cluster_arn, &report_new),
            ecs_target("b", &cluster_arn, &report_new),
            queue_target("q"),
        ],
    )
    .await;
    let rule_id = format!("default/{rule_name}");
    let planned = |id: &str| RuleTaskTarget {
        target_id: id.into(),
        previous_task_definition: report_old.clone(),
        images: Default::default(),
        noop: false,
        new_task_definition: None,
    };
    results.push(ItemResult {
        id: rule_id.clone(),
        deployment: None,
        rule: Some(RuleUpdate {
            id: rule_id.clone(),
            rule: rule_name.clone(),
            event_bus: "default".into(),
            targets: ["a", "b"]
                .map(|id| TargetChange {
                    target_id: id.into(),
                    previous_task_definition: report_old.clone(),
                    new_task_definition: report_new.clone(),
                })
                .to_vec(),
        }),
        error: None,
        job: None,
        schedule: None,
        kind: None,
    });
    let plan = Plan {
        release: ReleaseMeta {
            id: "r1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings {
            rollback: policy,
            ..Settings::default()
        },
        services,
        tasks: vec![RuleItem {
            id: rule_id,
            rule: rule_name.clone(),
            event_bus: "default".into(),
            noop: false,
            targets: vec![planned("a"), planned("b")],
            wave: 0,
        }],
        changed_services: 2,
        changed_tasks: 1,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    };
    Release {
        cluster: c,
        rule: rule_name,
        old,
        new,
        report_old,
        report_new,
        input: ReleaseRecords::new(plan, results),
    }
}
