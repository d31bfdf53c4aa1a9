//! UpdateService to the registered revision against moto: the step returns the deployment the call
//! created, with the deadline, and changes only what the release asked for; a missing service is
//! ServiceNotFound.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration};
use convoy_testkit::seed;
use release_core::contract::{Records, ServiceItem, UpdateServiceInput};
use release_core::steps::unix_now;
use release_core::steps::update_service::update_service;

async fn ecs() -> aws_sdk_ecs::Client {
    convoy_testkit::moto().ecs().await
}

use convoy_testkit::unique;

/// A Fargate service with the circuit breaker on, running `family:1`; returns (old, new) ARNs.
async fn seed(ecs: &aws_sdk_ecs::Client, cluster: &str, service: &str) -> (String, String) {
    seed::cluster(ecs, cluster).await;
    let family = format!("{cluster}-{service}");
    let old =
        seed::fargate_task_definition(ecs, &family, &[("app", "registry.example.com/web:v1")])
            .await;
    let new =
        seed::fargate_task_definition(ecs, &family, &[("app", "registry.example.com/web:v2")])
            .await;
    seed::fargate_service(ecs, cluster, service, &old, 2).await;
    // moto keeps a deployment configuration only when UpdateService sets it.
    ecs.update_service()
        .cluster(cluster)
        .service(service)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .minimum_healthy_percent(100)
                .maximum_percent(200)
                .build(),
        )
        .send()
        .await
        .expect("deployment configuration");
    (old, new)
}

/// The release asks for 3 tasks and 50 % minimum healthy; it leaves the maximum percent alone.
fn input(cluster: &str, service: &str, old: &str, new: &str) -> UpdateServiceInput {
    UpdateServiceInput {
        release_id: "r-update".into(),
        records: Records::for_execution("update-records", "r-update", "e1"),
        item: ServiceItem {
            id: format!("{cluster}/{service}"),
            cluster: cluster.into(),
            service: service.into(),
            previous_task_definition: old.into(),
            previous_desired_count: None,
            previous_minimum_healthy_percent: None,
            previous_maximum_percent: None,
            images: [("app".to_owned(), "registry.example.com/web:v2".to_owned())].into(),
            noop: false,
            desired_count: Some(3),
            minimum_healthy_percent: Some(50),
            maximum_percent: None,
            timeout_seconds: 900,
            new_task_definition: Some(new.into()),
            previous_deployment_strategy: None,
            deployment_strategy: None,
            code_deploy: None,
            wave: 0,
            auto_scaling: None,
        },
    }
}

#[tokio::test]
async fn returns_our_deployment_with_deadline_and_keeps_what_the_release_left_alone() {
    let ecs = ecs().await;
    let cluster = unique("upd-moto-ok");
    let service = "web";
    let (old, new) = seed(&ecs, &cluster, service).await;
    let before = unix_now();
    let out = update_service(&ecs, &input(&cluster, service, &old, &new), unix_now())
        .await
        .unwrap();

    let described = ecs
        .describe_services()
        .cluster(&cluster)
        .services(service)
        .send()
        .await
        .unwrap();
    let svc = &described.services()[0];
    let primary = svc
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .expect("a PRIMARY deployment");
    // The deployment check-stability judges is the one running the new revision, not the old.
    assert_eq!(primary.task_definition(), Some(new.as_str()));
    assert_eq!(Some(out.deployment_id.as_str()), primary.id());
    assert!(
        svc.deployments().len() >= 2,
        "the old deployment is still draining"
    );
    assert_eq!(out.new_task_definition, new);
    assert_eq!(out.previous_task_definition, old);
    assert_eq!(out.id, format!("{cluster}/{service}"));
    assert_eq!(
        (out.cluster.as_str(), out.service.as_str()),
        (cluster.as_str(), service)
    );
    assert!((before + 900..=unix_now() + 900).contains(&out.deadline));
    assert_eq!(svc.desired_count(), 3);
    let config = svc
        .deployment_configuration()
        .expect("deployment configuration");
    assert_eq!(config.minimum_healthy_percent(), Some(50));
    // Not in the release: the service's own settings stay.
    assert_eq!(config.maximum_percent(), Some(200));
    assert!(
        config
            .deployment_circuit_breaker()
            .is_some_and(|b| b.enable() && b.rollback()),
        "circuit breaker kept: {config:?}"
    );
}

#[tokio::test]
async fn missing_service_is_service_not_found() {
    let ecs = ecs().await;
    let cluster = unique("upd-moto-missing");
    let (old, new) = seed(&ecs, &cluster, "present").await;
    let err = update_service(&ecs, &input(&cluster, "absent", &old, &new), unix_now())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ServiceNotFound", "{err}");
    // The present service was not touched in its place.
    let described = ecs
        .describe_services()
        .cluster(&cluster)
        .services("present")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.services()[0].task_definition(),
        Some(old.as_str())
    );
}
