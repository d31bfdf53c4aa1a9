//! Registering a release's revision against moto: the clone is lossless (only the named
//! container's image and the release tags change), a retry of the same release reuses it, and a
//! container the definition does not have is refused before anything is registered.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, EphemeralStorage, HostVolumeProperties,
    KeyValuePair, NetworkMode, OsFamily, PortMapping, RuntimePlatform, Tag, TaskDefinition, Volume,
};
use release_core::aws::EcsApi;
use release_core::contract::{examples, ImageMap, PlanItem};
use release_core::decide::taskdef::{PREVIOUS_TAG, RELEASE_TAG};
use release_core::steps::register::{register_item, register_or_reuse, Registration};

async fn ecs() -> aws_sdk_ecs::Client {
    convoy_testkit::moto().ecs().await
}

use convoy_testkit::unique;

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

fn images(pairs: &[(&str, &str)]) -> ImageMap {
    pairs
        .iter()
        .map(|(name, image)| ((*name).to_owned(), (*image).to_owned()))
        .collect()
}

fn service_item(previous: &str, images: ImageMap) -> PlanItem {
    PlanItem::Service(examples::service_item("prod", "web", previous, images))
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
    let family = unique("reg-moto-lossless");
    let previous = seed(&ecs, &family).await;
    let wanted = images(&[("app", "registry.example.com/web:v2")]);
    let out = register_item(&ecs, "r-lossless", service_item(&previous, wanted.clone()))
        .await
        .unwrap();
    let PlanItem::Service(item) = out else {
        panic!("a service item stays a service item");
    };
    let new = item.new_task_definition.expect("newTaskDefinition set");
    assert_ne!(new, previous);
    assert!(
        new.ends_with(&format!("task-definition/{family}:2")),
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
    // The user's tags stay; the release tag is this release's; the previous revision is named.
    assert_eq!(
        tag_pairs(&new_tags),
        [
            ("team".to_string(), "payments".to_string()),
            (RELEASE_TAG.into(), "r-lossless".into()),
            (PREVIOUS_TAG.into(), previous.clone()),
        ]
    );

    // A retried attempt (same release) finds its revision instead of registering another.
    let again = register_or_reuse(&ecs, "r-lossless", &previous, &wanted)
        .await
        .unwrap();
    assert_eq!(
        again,
        Registration {
            arn: new.clone(),
            reused: true
        }
    );
    // Counted per family: other tests register their own families in parallel.
    let revisions = EcsApi::list_task_definition_revisions(&ecs, &family)
        .await
        .unwrap();
    assert_eq!(revisions.len(), 2, "{revisions:?}");
}

#[tokio::test]
async fn unknown_container_is_container_not_found() {
    let ecs = ecs().await;
    let family = unique("reg-moto-unknown-container");
    let previous = seed(&ecs, &family).await;
    let item = service_item(
        &previous,
        images(&[("sidecar", "registry.example.com/x:v2")]),
    );
    let err = register_item(&ecs, "r-unknown", item).await.unwrap_err();
    assert_eq!(err.name(), "ContainerNotFound", "{err}");
    // The message names the container, so the report says which one.
    assert!(err.to_string().contains("`sidecar`"), "{err}");
    // Refused before RegisterTaskDefinition: the family still has only the seeded revision.
    let revisions = EcsApi::list_task_definition_revisions(&ecs, &family)
        .await
        .unwrap();
    assert_eq!(revisions, [previous]);
}
