//! The fixture against a real moto: start, seed, simulator, faults, call counters.

use aws_sdk_ecs::types::{ContainerDefinition, Deployment};
use aws_sdk_ecs::Client;
use convoy_testkit::{moto, seed};
use serde_json::json;

async fn register(ecs: &Client, family: &str, image: &str) -> String {
    seed::fargate_task_definition(ecs, family, &[("app", image)]).await
}

/// A cluster with one ACTIVE service whose first deployment is COMPLETED, on `family:1`.
async fn service(ecs: &Client, cluster: &str, family: &str) -> String {
    seed::cluster(ecs, cluster).await;
    let first = register(ecs, family, "repo/app:1").await;
    seed::fargate_service(ecs, cluster, "svc", &first, 2).await;
    moto().post(
        "/_fault/ecs/service",
        json!({"cluster": cluster, "service": "svc", "runningCount": 2, "pendingCount": 0,
               "rolloutState": "COMPLETED"}),
    );
    first
}

async fn deployments(ecs: &Client, cluster: &str) -> Vec<Deployment> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services("svc")
        .send()
        .await
        .expect("describe services");
    out.services()[0].deployments().to_vec()
}

fn summary(deployments: &[Deployment]) -> Vec<(String, String, String)> {
    deployments
        .iter()
        .map(|d| {
            (
                d.status().unwrap_or_default().to_string(),
                d.task_definition()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                d.rollout_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn row(status: &str, td: &str, state: &str) -> (String, String, String) {
    (status.into(), td.into(), state.into())
}

#[tokio::test]
async fn seeds_the_network_once() {
    let net = moto().network();
    assert!(net.vpc_id.starts_with("vpc-"), "{net:?}");
    assert_eq!(net.subnet_ids.len(), 2);
    assert!(net.security_group_id.starts_with("sg-"));
    let again = moto().post("/_seed/network", json!({}));
    assert_eq!(again["vpcId"], json!(net.vpc_id));
}

#[tokio::test]
async fn rollout_completes_after_two_describes_and_drains_the_old_deployment() {
    let ecs = moto().ecs().await;
    service(&ecs, "testkit-ok", "testkit-ok").await;
    let second = register(&ecs, "testkit-ok", "repo/app:2").await;
    let updated = ecs
        .update_service()
        .cluster("testkit-ok")
        .service("svc")
        .task_definition("testkit-ok:2")
        .send()
        .await
        .expect("update service");
    assert_eq!(
        updated.service().and_then(|s| s.task_definition()),
        Some(second.as_str())
    );

    assert_eq!(
        summary(&deployments(&ecs, "testkit-ok").await),
        [
            row("PRIMARY", "testkit-ok:2", "IN_PROGRESS"),
            row("ACTIVE", "testkit-ok:1", "COMPLETED")
        ]
    );
    let done = deployments(&ecs, "testkit-ok").await;
    assert_eq!(
        summary(&done),
        [row("PRIMARY", "testkit-ok:2", "COMPLETED")]
    );
    assert_eq!(done[0].running_count(), 2);
}

#[tokio::test]
async fn armed_failure_fails_the_next_rollout_with_stopped_tasks() {
    let ecs = moto().ecs().await;
    service(&ecs, "testkit-fail", "testkit-fail").await;
    register(&ecs, "testkit-fail", "repo/app:2").await;
    moto().post(
        "/_fault/ecs/arm",
        json!({"cluster": "testkit-fail", "service": "svc", "mode": "fail", "failedTasks": 3,
               "reason": "CannotPullContainerError: not found"}),
    );
    ecs.update_service()
        .cluster("testkit-fail")
        .service("svc")
        .task_definition("testkit-fail:2")
        .send()
        .await
        .expect("update service");
    deployments(&ecs, "testkit-fail").await;
    let failed = deployments(&ecs, "testkit-fail").await;
    assert_eq!(
        summary(&failed),
        [
            row("PRIMARY", "testkit-fail:2", "FAILED"),
            row("ACTIVE", "testkit-fail:1", "COMPLETED")
        ]
    );
    assert_eq!(failed[0].failed_tasks(), 3);

    let id = failed[0].id().expect("deployment id");
    // As convoy asks on AWS, where `startedBy` must be ListTasks' only filter: the service's
    // stopped tasks, then the deployment's by their `startedBy`.
    let stopped = ecs
        .list_tasks()
        .cluster("testkit-fail")
        .service_name("svc")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .expect("list tasks");
    let tasks = ecs
        .describe_tasks()
        .cluster("testkit-fail")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .expect("describe tasks");
    let ours: Vec<_> = tasks
        .tasks()
        .iter()
        .filter(|t| t.started_by() == Some(id))
        .collect();
    assert_eq!(ours.len(), 3);
    for task in ours {
        assert_eq!(
            task.stopped_reason(),
            Some("CannotPullContainerError: not found")
        );
    }

    // The fault was consumed: rolling back to the previous revision completes.
    ecs.update_service()
        .cluster("testkit-fail")
        .service("svc")
        .task_definition("testkit-fail:1")
        .send()
        .await
        .expect("roll back");
    deployments(&ecs, "testkit-fail").await;
    assert_eq!(
        summary(&deployments(&ecs, "testkit-fail").await),
        [row("PRIMARY", "testkit-fail:1", "COMPLETED")]
    );
}

#[tokio::test]
async fn throttles_the_next_calls_and_counts_every_request() {
    let ecs = moto().ecs().await;
    let before = moto().calls("RegisterTaskDefinition");
    moto().post(
        "/_fault/throttle",
        json!({"operation": "ecs.RegisterTaskDefinition", "count": 1}),
    );
    let err = ecs
        .register_task_definition()
        .family("testkit-throttle")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("a:1")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .expect_err("the armed throttle answers first");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ThrottlingException")
    );
    register(&ecs, "testkit-throttle", "a:1").await;
    // other tests of this process may register concurrently: at least our two requests were counted
    assert!(moto().calls("RegisterTaskDefinition") >= before + 2);
    assert!(moto().calls("ecs.RegisterTaskDefinition") >= before + 2);
    assert_eq!(moto().calls("NoSuchOperation"), 0);
}
