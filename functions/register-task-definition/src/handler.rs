use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, ObjectStore};
use release_core::contract::{PlanItem, RegisterInput};
use release_core::records::RecordStore;
use release_core::steps::register;
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, S: ObjectStore>(
    ecs: &E,
    store: &RecordStore<S>,
    event: LambdaEvent<Value>,
) -> Result<PlanItem, Diagnostic> {
    let input: RegisterInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!(
        "register_task_definition",
        release_id = %input.release_id,
        item = %input.id,
    );
    let work = register::register_planned(ecs, store, &input);
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
    use release_core::aws::fake::MemoryStore;
    use release_core::contract::{ItemResult, Plan, PlanItemKind, Records};
    use release_core::decide::taskdef::{PREVIOUS_TAG, RELEASE_TAG};
    use release_core::records::result_name;
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

    /// A store holding a one-service plan, and the Map iteration's input naming that service.
    async fn planned(release_id: &str, item: Value) -> (RecordStore<MemoryStore>, Records, Value) {
        let plan: Plan = serde_json::from_value(json!({
            "release": {"id": release_id, "source": "deployment.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                         "keepRevisions": 0},
            "services": [item],
            "tasks": [],
            "changedServices": 1,
            "changedTasks": 0,
        }))
        .expect("a plan");
        let records = Records::for_execution("records", release_id, "e1");
        let store = RecordStore::new(MemoryStore::default());
        store.write_plan(&records, plan).await.unwrap();
        let payload = json!({
            "releaseId": release_id, "records": records, "kind": "service", "id": "prod/web",
        });
        (store, records, payload)
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
        let previous = seed(&ecs, "register-lossless").await;
        let item = service_item(&previous, json!({"app": "registry.example.com/web:v2"}));
        let (store, _, payload) = planned("r-lossless", item).await;
        let out = handle(&ecs, &store, event(payload.clone())).await.unwrap();
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
        let again = handle(&ecs, &store, event(payload)).await.unwrap();
        let PlanItem::Service(again) = again else {
            panic!("a service item stays a service item");
        };
        assert_eq!(again.new_task_definition.as_deref(), Some(new.as_str()));
        // Counted per family: other tests register their own families in parallel.
        let revisions = EcsApi::list_task_definition_revisions(&ecs, "register-lossless")
            .await
            .unwrap();
        assert_eq!(revisions.len(), 2, "{revisions:?}");
        assert_eq!(
            store.objects().gets(),
            0,
            "the plan was read from the cache"
        );
    }

    #[tokio::test]
    async fn unknown_container_is_container_not_found() {
        let ecs = ecs().await;
        let previous = seed(&ecs, "register-unknown-container").await;
        let item = service_item(&previous, json!({"sidecar": "registry.example.com/x:v2"}));
        let (store, records, payload) = planned("r-unknown", item).await;
        let err = handle(&ecs, &store, event(payload)).await.unwrap_err();
        assert_eq!(err.error_type, "ContainerNotFound");
        assert!(
            err.error_message.contains("`sidecar`"),
            "{}",
            err.error_message
        );
        // The state machine keeps only the name; the item's record keeps the whole message.
        let record: ItemResult = store
            .read(&records, &result_name(PlanItemKind::Service, "prod/web"))
            .await
            .unwrap()
            .expect("failure recorded");
        let caught = record.error.expect("an error record");
        assert_eq!(caught.error, "ContainerNotFound");
        assert_eq!(caught.cause, err.error_message);
    }

    #[tokio::test]
    async fn an_item_missing_from_the_plan_is_internal_and_named() {
        let ecs = ecs().await;
        let (store, _, mut payload) = planned("r-missing", service_item("web:1", json!({}))).await;
        payload["id"] = json!("prod/elsewhere");
        let err = handle(&ecs, &store, event(payload)).await.unwrap_err();
        assert_eq!(err.error_type, "Internal");
        assert!(
            err.error_message
                .contains("no service `prod/elsewhere` in the plan"),
            "{}",
            err.error_message
        );
    }

    #[tokio::test]
    async fn malformed_input_names_the_field() {
        let ecs = ecs().await;
        let store = RecordStore::new(MemoryStore::default());
        let payload = json!({"releaseId": "r", "records": {"bucket": "b", "prefix": "p/"},
                             "kind": "task", "id": "prod/web"});
        let err = handle(&ecs, &store, event(payload)).await.unwrap_err();
        assert_eq!(err.error_type, "StepInputInvalid");
        assert!(err.error_message.contains("kind"), "{}", err.error_message);
    }
}
