//! Seeding for the moto integration tests: clusters, revisions, services and scheduled rules with
//! unique names (moto's state is shared by every test of the process).

#![allow(dead_code)] // each test file uses a different part

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_ecs::types::DeploymentRolloutState;
use aws_sdk_eventbridge::types::{
    AwsVpcConfiguration, EcsParameters, LaunchType, NetworkConfiguration, PropagateTags,
    RetryPolicy, Tag, Target,
};
use convoy_testkit::seed;
use release_core::aws::{EcsApi, ServiceUpdate};
use release_core::step::ServiceDeployment;

pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub events: aws_sdk_eventbridge::Client,
}

pub async fn aws() -> Aws {
    let moto = convoy_testkit::moto();
    Aws {
        ecs: moto.ecs().await,
        events: moto.events().await,
    }
}

pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

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
            task_definition: new.into(),
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
    }
}

/// The task definition a service runs now.
pub async fn running(aws: &Aws, cluster: &str, service: &str) -> String {
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
