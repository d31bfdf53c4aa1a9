use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, ObjectStore};
use release_core::contract::{ServiceDeployment, UpdateServiceInput};
use release_core::records::RecordStore;
use release_core::steps::{unix_now, update_service};
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, S: ObjectStore>(
    ecs: &E,
    store: &RecordStore<S>,
    event: LambdaEvent<Value>,
) -> Result<ServiceDeployment, Diagnostic> {
    let input: UpdateServiceInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!(
        "update_service",
        release_id = %input.release_id,
        cluster = %input.item.cluster,
        service = %input.item.service,
    );
    let work = update_service::update_planned_service(ecs, store, &input, unix_now());
    telemetry::traced("update-service", span, work).await
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration};
    use convoy_testkit::seed;
    use lambda_runtime::{Context, LambdaEvent};
    use release_core::contract::{ItemResult, PlanItemKind, Records};
    use release_core::records::result_name;
    use serde_json::json;

    use super::*;

    async fn ecs() -> aws_sdk_ecs::Client {
        convoy_testkit::moto().ecs().await
    }

    /// A Fargate service with the circuit breaker on, running `family:1`; returns (old, new) ARNs.
    async fn seed(ecs: &aws_sdk_ecs::Client, cluster: &str, service: &str) -> (String, String) {
        seed::cluster(ecs, cluster).await;
        let old =
            seed::fargate_task_definition(ecs, service, &[("app", "registry.example.com/web:v1")])
                .await;
        let new =
            seed::fargate_task_definition(ecs, service, &[("app", "registry.example.com/web:v2")])
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

    fn payload(cluster: &str, service: &str, old: &str, new: &str) -> Value {
        json!({
            "releaseId": "r-update",
            "records": records(),
            "item": {
                "id": format!("{cluster}/{service}"),
                "cluster": cluster,
                "service": service,
                "previousTaskDefinition": old,
                "images": {"app": "registry.example.com/web:v2"},
                "noop": false,
                "desiredCount": 3,
                "minimumHealthyPercent": 50,
                "timeoutSeconds": 900,
                "newTaskDefinition": new
            }
        })
    }

    fn records() -> Records {
        Records::for_execution("update-records", "r-update", "e1")
    }

    async fn store() -> RecordStore<aws_sdk_s3::Client> {
        RecordStore::new(convoy_testkit::moto().bucket("update-records").await)
    }

    async fn record(store: &RecordStore<aws_sdk_s3::Client>, id: &str) -> ItemResult {
        store
            .read(&records(), &result_name(PlanItemKind::Service, id))
            .await
            .unwrap()
            .expect("the item's record")
    }

    #[tokio::test]
    async fn returns_the_deployment_update_service_created() {
        let ecs = ecs().await;
        let store = store().await;
        let (cluster, service) = ("update-ok", "web");
        let (old, new) = seed(&ecs, cluster, service).await;
        let before = unix_now();
        let event = LambdaEvent::new(payload(cluster, service, &old, &new), Context::default());
        let out = handle(&ecs, &store, event).await.unwrap();
        let recorded = record(&store, "update-ok/web").await;
        assert_eq!(recorded.deployment.as_ref(), Some(&out), "recorded in S3");
        assert!(recorded.error.is_none());

        let described = ecs
            .describe_services()
            .cluster(cluster)
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
        assert_eq!(primary.task_definition(), Some(new.as_str()));
        assert_eq!(Some(out.deployment_id.as_str()), primary.id());
        assert!(
            svc.deployments().len() >= 2,
            "the old deployment is still draining"
        );
        assert_eq!(out.new_task_definition, new);
        assert_eq!(out.previous_task_definition, old);
        assert_eq!(out.id, "update-ok/web");
        assert!((before + 900..=unix_now() + 900).contains(&out.deadline));
        assert_eq!(svc.desired_count(), 3);
        let config = svc
            .deployment_configuration()
            .expect("deployment configuration");
        assert_eq!(config.minimum_healthy_percent(), Some(50));
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
        let (old, new) = seed(&ecs, "update-missing", "present").await;
        let event = LambdaEvent::new(
            payload("update-missing", "absent", &old, &new),
            Context::default(),
        );
        let store = store().await;
        let err = handle(&ecs, &store, event).await.unwrap_err();
        assert_eq!(err.error_type, "ServiceNotFound", "{}", err.error_message);
        let caught = record(&store, "update-missing/absent").await.error;
        assert_eq!(
            caught.map(|c| (c.error, c.cause)),
            Some(("ServiceNotFound".into(), err.error_message))
        );
    }
}
