//! The ECS adapter against moto: the real wire protocol, SDK retries on throttling, `failures`.

use std::time::Duration;

use aws_sdk_ecs::config::retry::RetryConfig;
use release_core::aws::EcsApi;
use serde_json::json;

/// A client on moto with the retries convoy runs with (the fixture's default is one attempt).
async fn ecs_with_retries(max_attempts: u32) -> aws_sdk_ecs::Client {
    let conf = convoy_testkit::moto().sdk_config().await;
    let conf = aws_sdk_ecs::config::Builder::from(&conf)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .build();
    aws_sdk_ecs::Client::from_conf(conf)
}

async fn register(ecs: &aws_sdk_ecs::Client, family: &str) {
    convoy_testkit::seed::task_definition(ecs, family, "registry.example.com/app:v1", 128).await;
}

/// ListTaskDefinitions is throttled only by this test, so the armed fault cannot hit another one.
#[tokio::test]
async fn throttled_calls_are_retried_and_throttled_after_the_last_attempt() {
    let moto = convoy_testkit::moto();
    let ecs = ecs_with_retries(3).await;
    register(&ecs, "moto-revisions").await;
    register(&ecs, "moto-revisions").await;
    register(&ecs, "moto-revisions-worker").await;

    moto.post(
        "/_fault/throttle",
        json!({"operation": "ecs.ListTaskDefinitions", "count": 2}),
    );
    let before = moto.calls("ecs.ListTaskDefinitions");
    let revisions = EcsApi::list_task_definition_revisions(&ecs, "moto-revisions")
        .await
        .unwrap();
    assert_eq!(
        moto.calls("ecs.ListTaskDefinitions") - before,
        3,
        "two throttled, one served"
    );
    let short: Vec<&str> = revisions
        .iter()
        .map(|arn| arn.rsplit('/').next().unwrap_or_default())
        .collect();
    assert_eq!(
        short,
        ["moto-revisions:2", "moto-revisions:1"],
        "newest first, prefix matches dropped"
    );

    moto.post(
        "/_fault/throttle",
        json!({"operation": "ecs.ListTaskDefinitions", "count": 3}),
    );
    let err = EcsApi::list_task_definition_revisions(&ecs, "moto-revisions")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Throttled", "{err}");
}

#[tokio::test]
async fn missing_clusters_and_services_are_failures_not_errors() {
    let ecs = ecs_with_retries(1).await;
    ecs.create_cluster()
        .cluster_name("moto-present")
        .send()
        .await
        .expect("cluster");
    let clusters = EcsApi::describe_clusters(&ecs, &["moto-present".into(), "moto-absent".into()])
        .await
        .unwrap();
    let names: Vec<&str> = clusters
        .items
        .iter()
        .filter_map(|c| c.cluster_name())
        .collect();
    assert_eq!(names, ["moto-present"]);
    assert_eq!(clusters.failures.len(), 1);
    assert_eq!(clusters.failures[0].reason(), Some("MISSING"));

    let services = EcsApi::describe_services(&ecs, "moto-present", &["ghost".into()])
        .await
        .unwrap();
    assert!(services.items.is_empty());
    assert_eq!(services.failures[0].reason(), Some("MISSING"));

    let err = EcsApi::describe_task_definition(&ecs, "moto-never-registered:1")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Internal", "{err}");
}
