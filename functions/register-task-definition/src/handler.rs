use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::EcsApi;
use release_core::step::{self, PlanItem, RegisterInput};
use release_core::{taskdef, telemetry};
use serde_json::Value;

pub async fn handle<E: EcsApi>(ecs: &E, event: LambdaEvent<Value>) -> Result<PlanItem, Diagnostic> {
    let input: RegisterInput = step::parse(event.payload)?;
    let span = tracing::info_span!("register_task_definition", release_id = %input.release_id);
    let work = taskdef::register_item(ecs, input);
    telemetry::traced("register-task-definition", span, work).await
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::{
        Compatibility, ContainerDefinition, CpuArchitecture, EphemeralStorage,
        HostVolumeProperties, KeyValuePair, NetworkMode, OsFamily, PortMapping, RuntimePlatform,
        Tag, TaskDefinition, Volume,
    };
    use lambda_runtime::{Context, LambdaEvent};
    use release_core::taskdef::{PREVIOUS_TAG, RELEASE_TAG};
    use serde_json::json;

    use super::*;

    fn event(payload: Value) -> LambdaEvent<Value> {
        LambdaEvent::new(payload, Context::default())
    }

    async fn ecs() -> aws_sdk_ecs::Client {
        convoy_testkit::moto().ecs().await
    }

    /// A two-container Fargate definition with the fields a lossy clone usually drops.
    async fn seed(ecs: &aws_sdk_ecs::Client, family: &str) -> String {
        let app = ContainerDefinition::builder()
            .name("app")
            .image("registry.example.com/web:v1")
            .essential(true)
            .cpu(256)
            .memory(512)
            .port_mappings(PortMapping::builder().container_port(8080).build())
            .environment(KeyValuePair::builder().name("MODE").value("prod").build())
            .build();
        let envoy = ContainerDefinition::builder()
            .name("envoy")
            .image("envoyproxy/envoy:v1.29.1")
            .essential(true)
            .memory(128)
            .build();
        let out = ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("512")
            .memory("1024")
            .task_role_arn("arn:aws:iam::123456789012:role/web-task")
            .execution_role_arn("arn:aws:iam::123456789012:role/web-exec")
            .container_definitions(app)
            .container_definitions(envoy)
            .volumes(
                Volume::builder()
                    .name("scratch")
                    .host(HostVolumeProperties::builder().build())
                    .build(),
            )
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
            .tags(Tag::builder().key("team").value("payments").build())
            .tags(Tag::builder().key(RELEASE_TAG).value("r-older").build())
            .send()
            .await
            .expect("seed task definition");
        out.task_definition()
            .and_then(|d| d.task_definition_arn())
            .expect("registered ARN")
            .to_owned()
    }

    fn service_item(previous: &str, images: Value) -> Value {
        json!({
            "id": "prod/web", "cluster": "prod", "service": "web",
            "previousTaskDefinition": previous,
            "images": images,
            "noop": false,
            "timeoutSeconds": 600
        })
    }

    /// Describe-only fields: what legitimately differs between two revisions.
    fn registered_part(mut d: TaskDefinition) -> TaskDefinition {
        d.task_definition_arn = None;
        d.revision = 0;
        d.registered_at = None;
        d.registered_by = None;
        d
    }

    fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
        tags.iter()
            .map(|t| {
                let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
                (text(t.key()), text(t.value()))
            })
            .collect()
    }

    #[tokio::test]
    async fn new_revision_differs_only_in_image_and_release_tags_and_is_reused_on_retry() {
        let ecs = ecs().await;
        let moto = convoy_testkit::moto();
        let previous = seed(&ecs, "register-lossless").await;
        let payload = json!({
            "releaseId": "r-lossless",
            "item": service_item(&previous, json!({"app": "registry.example.com/web:v2"})),
        });
        let registrations = moto.calls("ecs.RegisterTaskDefinition");
        let out = handle(&ecs, event(payload.clone())).await.unwrap();
        let PlanItem::Service(item) = out else {
            panic!("a service item stays a service item");
        };
        let new = item
            .new_task_definition
            .clone()
            .expect("newTaskDefinition set");
        assert_ne!(new, previous);
        assert!(
            new.ends_with("task-definition/register-lossless:2"),
            "{new}"
        );

        let (old_def, old_tags) = EcsApi::describe_task_definition(&ecs, &previous)
            .await
            .unwrap();
        let (new_def, new_tags) = EcsApi::describe_task_definition(&ecs, &new).await.unwrap();
        let mut expected = registered_part(old_def);
        for c in expected.container_definitions.iter_mut().flatten() {
            if c.name() == Some("app") {
                c.image = Some("registry.example.com/web:v2".into());
            }
        }
        assert_eq!(registered_part(new_def), expected);
        assert_eq!(
            tag_pairs(&old_tags),
            [
                ("team".into(), "payments".into()),
                (RELEASE_TAG.into(), "r-older".into())
            ]
        );
        assert_eq!(
            tag_pairs(&new_tags),
            [
                ("team".to_string(), "payments".to_string()),
                (RELEASE_TAG.into(), "r-lossless".into()),
                (PREVIOUS_TAG.into(), previous.clone()),
            ]
        );

        // A retried step (same release) finds its revision instead of registering another.
        let again = handle(&ecs, event(payload)).await.unwrap();
        let PlanItem::Service(again) = again else {
            panic!("a service item stays a service item");
        };
        assert_eq!(again.new_task_definition.as_deref(), Some(new.as_str()));
        assert_eq!(moto.calls("ecs.RegisterTaskDefinition") - registrations, 1);
    }

    #[tokio::test]
    async fn unknown_container_is_container_not_found() {
        let ecs = ecs().await;
        let previous = seed(&ecs, "register-unknown-container").await;
        let payload = json!({
            "releaseId": "r-unknown",
            "item": service_item(&previous, json!({"sidecar": "registry.example.com/x:v2"})),
        });
        let err = handle(&ecs, event(payload)).await.unwrap_err();
        assert_eq!(err.error_type, "ContainerNotFound");
        assert!(
            err.error_message.contains("`sidecar`"),
            "{}",
            err.error_message
        );
    }

    #[tokio::test]
    async fn malformed_input_names_the_field() {
        let ecs = ecs().await;
        let payload = json!({"releaseId": "r", "item": {"id": "prod/web", "cluster": "prod"}});
        let err = handle(&ecs, event(payload)).await.unwrap_err();
        assert_eq!(err.error_type, "ManifestInvalid");
        assert!(err.error_message.contains("item"), "{}", err.error_message);
    }
}
