//! The ECS and EventBridge resources tests start from, created in moto. A seed that fails is a broken
//! test setup, so every helper panics with the call's error.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode,
};
use aws_sdk_eventbridge::types::Target;

use crate::moto;

/// When a scheduled rule runs: 03:00 UTC daily.
pub const SCHEDULE: &str = "cron(0 3 * * ? *)";

pub async fn cluster(ecs: &aws_sdk_ecs::Client, name: &str) {
    ecs.create_cluster()
        .cluster_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create cluster {name}: {e:?}"));
}

/// Registers a Fargate revision of `family` (awsvpc, 256 CPU units, 512 MiB) with one essential
/// container per `(name, image)`; returns its ARN.
pub async fn fargate_task_definition(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    containers: &[(&str, &str)],
) -> String {
    let request = ecs
        .register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512");
    let request = containers.iter().fold(request, |request, (name, image)| {
        request.container_definitions(
            ContainerDefinition::builder()
                .name(*name)
                .image(*image)
                .essential(true)
                .build(),
        )
    });
    registered_arn(family, request.send().await)
}

/// Registers a revision of `family` in the default network mode with one essential container
/// `app` running `image` in `memory` MiB; returns its ARN.
pub async fn task_definition(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    image: &str,
    memory: i32,
) -> String {
    let registered = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .memory(memory)
                .essential(true)
                .build(),
        )
        .send()
        .await;
    registered_arn(family, registered)
}

fn registered_arn<E: std::fmt::Debug>(
    family: &str,
    registered: Result<
        aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput,
        E,
    >,
) -> String {
    registered
        .unwrap_or_else(|e| panic!("register task definition {family}: {e:?}"))
        .task_definition
        .and_then(|d| d.task_definition_arn)
        .unwrap_or_else(|| panic!("register task definition {family}: no ARN in the answer"))
}

/// A Fargate service in the seeded network (no public IP) running `task_definition`.
pub async fn fargate_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
    task_definition: &str,
    desired_count: i32,
) {
    let net = moto().network();
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(net.subnet_ids.clone()))
        .security_groups(&net.security_group_id)
        .assign_public_ip(AssignPublicIp::Disabled)
        .build()
        .expect("subnets set");
    ecs.create_service()
        .cluster(cluster)
        .service_name(name)
        .task_definition(task_definition)
        .desired_count(desired_count)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("create service {cluster}/{name}: {e:?}"));
}

/// A scheduled rule ([`SCHEDULE`]) on the default bus with `targets`, every one accepted.
pub async fn scheduled_rule(events: &aws_sdk_eventbridge::Client, name: &str, targets: &[Target]) {
    events
        .put_rule()
        .name(name)
        .schedule_expression(SCHEDULE)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put rule {name}: {e:?}"));
    let out = events
        .put_targets()
        .rule(name)
        .set_targets(Some(targets.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put targets {name}: {e:?}"));
    assert_eq!(out.failed_entry_count, 0, "put targets {name}: {out:?}");
}
