//! The next task definition revision: the current one with only the named containers' images
//! changed, tagged with the release. Registering is idempotent per release: a retried step finds
//! the revision it already registered and reuses it.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{Tag, TaskDefinition};
use tracing::{info, info_span, Instrument};

use crate::aws::EcsApi;
use crate::aws::ObjectStore;
use crate::records::{RecordStore, PLAN};
use crate::step::{ImageMap, PlanItem, RegisterInput, RuleItem, ServiceItem};
use crate::Error;

/// Tag naming the release that registered a revision.
pub const RELEASE_TAG: &str = "convoy:release";
/// Tag naming the revision a release started from (what rollback restores).
pub const PREVIOUS_TAG: &str = "convoy:previous-revision";
/// ECS allows at most 50 user tags per resource.
pub const MAX_TAGS: usize = 50;

/// What to register: the rewritten definition and its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

/// Container name → image, as the definition runs now.
pub fn current_images(definition: &TaskDefinition) -> ImageMap {
    definition
        .container_definitions()
        .iter()
        .filter_map(|c| {
            Some((
                c.name()?.to_owned(),
                c.image().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// `family:revision` for messages and the previous-revision tag when there is no ARN.
pub fn display_name(definition: &TaskDefinition) -> String {
    match definition.task_definition_arn() {
        Some(arn) => arn.to_owned(),
        None => format!(
            "{}:{}",
            definition.family().unwrap_or_default(),
            definition.revision()
        ),
    }
}

/// The definition to register: `images` applied to the named containers, every other field and
/// container untouched; the release's tags added to the existing ones.
pub fn rewrite(
    current: &TaskDefinition,
    tags: &[Tag],
    images: &ImageMap,
    release_id: &str,
) -> Result<Desired, Error> {
    let name = display_name(current);
    let mut definition = current.clone();
    let containers = definition
        .container_definitions
        .get_or_insert_with(Vec::new);
    let missing: Vec<&str> = images
        .keys()
        .filter(|wanted| !containers.iter().any(|c| c.name() == Some(wanted.as_str())))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Error::ContainerNotFound(format!(
            "{} in {name}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for container in containers.iter_mut() {
        if let Some(image) = container.name().and_then(|n| images.get(n)) {
            container.image = Some(image.clone());
        }
    }
    let tags = release_tags(tags, release_id, &name)?;
    Ok(Desired { definition, tags })
}

/// Existing tags kept in order, ours set once (replacing earlier values), `aws:` tags dropped:
/// that prefix is reserved for AWS, RegisterTaskDefinition refuses it and it does not count
/// against the limit.
pub fn release_tags(existing: &[Tag], release_id: &str, previous: &str) -> Result<Vec<Tag>, Error> {
    let ours = [(RELEASE_TAG, release_id), (PREVIOUS_TAG, previous)];
    let mut tags: Vec<Tag> = existing
        .iter()
        .filter(|t| {
            let key = t.key().unwrap_or_default();
            !key.to_ascii_lowercase().starts_with("aws:") && !ours.iter().any(|(k, _)| *k == key)
        })
        .cloned()
        .collect();
    tags.extend(
        ours.iter()
            .map(|(k, v)| Tag::builder().key(*k).value(*v).build()),
    );
    if tags.len() > MAX_TAGS {
        return Err(Error::TaskDefinitionRejected {
            message: format!(
                "{previous} has {} tags; with convoy's two it would have {}, ECS allows {MAX_TAGS}",
                tags.len() - ours.len(),
                tags.len()
            ),
            source: None,
        });
    }
    Ok(tags)
}

/// Only the fields RegisterTaskDefinition accepts: what makes two revisions the same definition.
fn registered_fields(d: &TaskDefinition) -> TaskDefinition {
    #[allow(deprecated)] // inferenceAccelerators: still part of what was registered.
    TaskDefinition::builder()
        .set_family(d.family.clone())
        .set_task_role_arn(d.task_role_arn.clone())
        .set_execution_role_arn(d.execution_role_arn.clone())
        .set_network_mode(d.network_mode.clone())
        .set_container_definitions(d.container_definitions.clone())
        .set_volumes(d.volumes.clone())
        .set_placement_constraints(d.placement_constraints.clone())
        .set_requires_compatibilities(d.requires_compatibilities.clone())
        .set_cpu(d.cpu.clone())
        .set_memory(d.memory.clone())
        .set_pid_mode(d.pid_mode.clone())
        .set_ipc_mode(d.ipc_mode.clone())
        .set_proxy_configuration(d.proxy_configuration.clone())
        .set_inference_accelerators(d.inference_accelerators.clone())
        .set_ephemeral_storage(d.ephemeral_storage.clone())
        .set_runtime_platform(d.runtime_platform.clone())
        .set_enable_fault_injection(d.enable_fault_injection)
        .build()
}

/// Whether `latest` (the family's newest ACTIVE revision) is what this release would register:
/// tagged with this release and equal in every registered field.
pub fn reusable(
    latest: &TaskDefinition,
    latest_tags: &[Tag],
    desired: &Desired,
    release_id: &str,
) -> bool {
    let ours = latest_tags
        .iter()
        .any(|t| t.key() == Some(RELEASE_TAG) && t.value() == Some(release_id));
    ours && registered_fields(latest) == registered_fields(&desired.definition)
}

/// Registers the next revision of `previous` with `images`, or reuses the one this release already
/// registered. Returns the new revision's ARN.
pub async fn register<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    previous: &str,
    images: &ImageMap,
) -> Result<String, Error> {
    // The family's newest revision first: it is what a retry of this release would reuse, and most
    // services run it, so one DescribeTaskDefinition usually serves both (the read bucket is shared).
    let (latest, latest_tags) = ecs.describe_task_definition(family_of(previous)).await?;
    let (current, tags) = if latest
        .task_definition_arn()
        .is_some_and(|arn| crate::stability::same_task_definition(arn, previous))
    {
        (latest.clone(), latest_tags.clone())
    } else {
        ecs.describe_task_definition(previous).await?
    };
    let desired = rewrite(&current, &tags, images, release_id)?;
    if reusable(&latest, &latest_tags, &desired, release_id) {
        let arn = display_name(&latest);
        info!(task_definition = %arn, "reusing the revision this release registered");
        return Ok(arn);
    }
    let registered = ecs
        .register_task_definition(&desired.definition, &desired.tags)
        .await?;
    let arn = display_name(&registered);
    info!(task_definition = %arn, previous, "registered");
    Ok(arn)
}

/// The family of a task definition ARN or `family:revision` (a bare family is its own family).
pub fn family_of(task_definition: &str) -> &str {
    let key = crate::stability::task_definition_key(task_definition);
    match key.rsplit_once(':') {
        Some((family, revision)) if revision.parse::<u32>().is_ok() => family,
        _ => key,
    }
}

/// register-task-definition: the plan item named by the Map iteration, with `newTaskDefinition`
/// filled in. A failure is recorded with its whole message before it is returned.
pub async fn register_planned<E: EcsApi>(
    ecs: &E,
    store: &RecordStore<impl ObjectStore>,
    input: &RegisterInput,
) -> Result<PlanItem, Error> {
    let registered = async {
        let plan = store.plan(&input.records).await?;
        let item = plan.item(input.kind, &input.id).ok_or_else(|| {
            Error::internal(format!(
                "{}: no {} `{}` in the plan",
                input.records.uri(PLAN),
                input.kind.as_str(),
                input.id
            ))
        })?;
        register_item(ecs, &input.release_id, item).await
    }
    .await;
    if let Err(e) = &registered {
        store
            .record_failure(&input.records, input.kind, &input.id, e)
            .await;
    }
    registered
}

/// The item with `newTaskDefinition` filled in. No-op items and targets pass through unchanged;
/// a rule registers once per distinct previous definition and images.
pub async fn register_item<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    item: PlanItem,
) -> Result<PlanItem, Error> {
    match item {
        PlanItem::Service(item) => {
            let span = info_span!("register", cluster = %item.cluster, service = %item.service);
            register_service(ecs, release_id, item)
                .instrument(span)
                .await
                .map(PlanItem::Service)
        }
        PlanItem::Rule(item) => {
            let span = info_span!("register", event_bus = %item.event_bus, rule = %item.rule);
            register_rule(ecs, release_id, item)
                .instrument(span)
                .await
                .map(PlanItem::Rule)
        }
    }
}

async fn register_service<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    mut item: ServiceItem,
) -> Result<ServiceItem, Error> {
    if !item.noop {
        let arn = register(
            ecs,
            release_id,
            &item.previous_task_definition,
            &item.images,
        )
        .await?;
        item.new_task_definition = Some(arn);
    }
    Ok(item)
}

async fn register_rule<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    mut item: RuleItem,
) -> Result<RuleItem, Error> {
    let mut registered: BTreeMap<(String, ImageMap), String> = BTreeMap::new();
    for target in item.targets.iter_mut().filter(|t| !t.noop) {
        let key = (
            target.previous_task_definition.clone(),
            target.images.clone(),
        );
        let arn = match registered.get(&key) {
            Some(arn) => arn.clone(),
            None => {
                let arn = register(ecs, release_id, &key.0, &key.1).await?;
                registered.insert(key, arn.clone());
                arn
            }
        };
        target.new_task_definition = Some(arn);
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ecs::fake::{container, tag, FakeEcs};
    use crate::step::RuleTaskTarget;

    const DIGEST: &str =
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:0000000000000000000000000000000000000000000000000000000000000001";

    fn definition(containers: &[(&str, &str)]) -> TaskDefinition {
        TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7")
            .family("web")
            .revision(7)
            .cpu("512")
            .memory("1024")
            .set_container_definitions(Some(
                containers.iter().map(|(n, i)| container(n, i)).collect(),
            ))
            .build()
    }

    fn images(pairs: &[(&str, &str)]) -> ImageMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn keys(tags: &[Tag]) -> Vec<(&str, &str)> {
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn rewrite_changes_only_the_named_containers_images() {
        struct Case {
            name: &'static str,
            containers: &'static [(&'static str, &'static str)],
            images: &'static [(&'static str, &'static str)],
            expect: &'static [(&'static str, &'static str)],
        }
        let cases = [
            Case {
                name: "one of two containers",
                containers: &[("app", "web:1"), ("envoy", "envoy:1.29")],
                images: &[("app", "web:2")],
                expect: &[("app", "web:2"), ("envoy", "envoy:1.29")],
            },
            Case {
                name: "both containers",
                containers: &[("app", "web:1"), ("worker", "web:1")],
                images: &[("app", "web:2"), ("worker", "web:3")],
                expect: &[("app", "web:2"), ("worker", "web:3")],
            },
            Case {
                name: "digest reference",
                containers: &[("app", "web:1"), ("log", "fluent-bit:2")],
                images: &[("app", DIGEST)],
                expect: &[("app", DIGEST), ("log", "fluent-bit:2")],
            },
            Case {
                name: "same image again",
                containers: &[("app", "web:1")],
                images: &[("app", "web:1")],
                expect: &[("app", "web:1")],
            },
        ];
        for case in cases {
            let current = definition(case.containers);
            let desired = rewrite(&current, &[], &images(case.images), "r-1").unwrap();
            let got: Vec<(String, String)> =
                current_images(&desired.definition).into_iter().collect();
            let want: Vec<(String, String)> = images(case.expect).into_iter().collect();
            assert_eq!(got, want, "{}", case.name);
            // Everything but the images is identical, container by container.
            let mut expected = current.clone();
            for c in expected.container_definitions.iter_mut().flatten() {
                if let Some(image) = c.name().and_then(|n| images(case.images).get(n).cloned()) {
                    c.image = Some(image);
                }
            }
            assert_eq!(desired.definition, expected, "{}", case.name);
        }
    }

    #[test]
    fn rewrite_rejects_unknown_containers_naming_them() {
        let current = definition(&[("app", "web:1")]);
        let err = rewrite(
            &current,
            &[],
            &images(&[("app", "x:1"), ("sidecar", "y:1")]),
            "r-1",
        )
        .unwrap_err();
        assert_eq!(err.name(), "ContainerNotFound");
        assert!(err.to_string().contains("`sidecar`"), "{err}");
        assert!(!err.to_string().contains("`app`"), "{err}");
    }

    #[test]
    fn release_tags_keep_existing_and_set_ours_once() {
        struct Case {
            name: &'static str,
            existing: Vec<Tag>,
            expect: Vec<(&'static str, &'static str)>,
        }
        let prev = "web:7";
        let cases = [
            Case {
                name: "no tags",
                existing: vec![],
                expect: vec![(RELEASE_TAG, "r-2"), (PREVIOUS_TAG, prev)],
            },
            Case {
                name: "existing kept in order",
                existing: vec![tag("team", "payments"), tag("env", "prod")],
                expect: vec![
                    ("team", "payments"),
                    ("env", "prod"),
                    (RELEASE_TAG, "r-2"),
                    (PREVIOUS_TAG, prev),
                ],
            },
            Case {
                name: "ours from an earlier release are overwritten, not duplicated",
                existing: vec![
                    tag(RELEASE_TAG, "r-1"),
                    tag("team", "payments"),
                    tag(PREVIOUS_TAG, "web:6"),
                ],
                expect: vec![
                    ("team", "payments"),
                    (RELEASE_TAG, "r-2"),
                    (PREVIOUS_TAG, prev),
                ],
            },
            Case {
                name: "reserved aws: tags are not copied",
                existing: vec![
                    tag("aws:cloudformation:stack-name", "app"),
                    tag("env", "prod"),
                ],
                expect: vec![("env", "prod"), (RELEASE_TAG, "r-2"), (PREVIOUS_TAG, prev)],
            },
        ];
        for case in cases {
            let got = release_tags(&case.existing, "r-2", prev).unwrap();
            assert_eq!(keys(&got), case.expect, "{}", case.name);
        }
    }

    #[test]
    fn release_tags_stay_within_the_limit() {
        let with = |n: usize| -> Vec<Tag> { (0..n).map(|i| tag(&format!("k{i}"), "v")).collect() };
        assert_eq!(release_tags(&with(48), "r", "p").unwrap().len(), MAX_TAGS);
        // Our own tags already present do not count twice.
        let mut at_limit = with(48);
        at_limit.push(tag(RELEASE_TAG, "old"));
        at_limit.push(tag(PREVIOUS_TAG, "old"));
        assert_eq!(release_tags(&at_limit, "r", "p").unwrap().len(), MAX_TAGS);
        let err = release_tags(&with(49), "r", "p").unwrap_err();
        assert_eq!(err.name(), "TaskDefinitionRejected");
        assert!(err.to_string().contains("51"), "{err}");
    }

    #[test]
    fn reuse_only_this_releases_identical_revision() {
        let current = definition(&[("app", "web:1"), ("envoy", "envoy:1")]);
        let desired = rewrite(&current, &[], &images(&[("app", "web:2")]), "r-2").unwrap();
        let mut registered = desired.definition.clone();
        // Describe-only fields differ between revisions and must not matter.
        registered.revision = 8;
        registered.task_definition_arn =
            Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:8".into());
        let mut other_image = registered.clone();
        if let Some(c) = other_image
            .container_definitions
            .iter_mut()
            .flatten()
            .next()
        {
            c.image = Some("web:3".into());
        }
        let mut other_memory = registered.clone();
        other_memory.memory = Some("2048".into());
        let ours = [tag(RELEASE_TAG, "r-2")];
        let cases: [(&str, &TaskDefinition, &[Tag], bool); 5] = [
            ("same release, same definition", &registered, &ours, true),
            (
                "other release",
                &registered,
                &[tag(RELEASE_TAG, "r-1")],
                false,
            ),
            ("untagged", &registered, &[], false),
            ("same release, other image", &other_image, &ours, false),
            ("same release, other memory", &other_memory, &ours, false),
        ];
        for (name, latest, tags, want) in cases {
            assert_eq!(reusable(latest, tags, &desired, "r-2"), want, "{name}");
        }
    }

    #[tokio::test]
    async fn register_twice_in_one_release_registers_once() {
        let ecs = FakeEcs::default();
        let previous = ecs.definition(
            "web",
            &[("app", "web:1"), ("envoy", "envoy:1")],
            &[tag("team", "a")],
        );
        let wanted = images(&[("app", "web:2")]);
        let first = register(&ecs, "r-2", &previous, &wanted).await.unwrap();
        let again = register(&ecs, "r-2", &previous, &wanted).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 1);
        assert!(first.ends_with("task-definition/web:2"), "{first}");
        let (def, tags) = ecs.stored(&first).unwrap();
        assert_eq!(
            current_images(&def),
            images(&[("app", "web:2"), ("envoy", "envoy:1")])
        );
        assert_eq!(
            keys(&tags),
            [
                ("team", "a"),
                (RELEASE_TAG, "r-2"),
                (PREVIOUS_TAG, previous.as_str())
            ]
        );
        // Another release with the same images gets its own revision.
        let other = register(&ecs, "r-3", &previous, &wanted).await.unwrap();
        assert!(other.ends_with("task-definition/web:3"), "{other}");
    }

    #[tokio::test]
    async fn registering_from_the_newest_revision_describes_it_once() {
        let ecs = FakeEcs::default();
        let previous = ecs.definition("web", &[("app", "web:1")], &[]);
        register(&ecs, "r-2", &previous, &images(&[("app", "web:2")]))
            .await
            .unwrap();
        assert_eq!(ecs.calls("DescribeTaskDefinition"), 1);
        // From an older revision: the newest and the previous one are both needed.
        ecs.definition("web", &[("app", "web:9")], &[]);
        register(&ecs, "r-3", &previous, &images(&[("app", "web:3")]))
            .await
            .unwrap();
        assert_eq!(ecs.calls("DescribeTaskDefinition"), 3);
    }

    #[test]
    fn family_of_arns_and_short_forms() {
        let cases = [
            (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
                "web",
            ),
            ("web:7", "web"),
            ("web", "web"),
            (
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web",
                "web",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(family_of(input), want, "{input}");
        }
    }

    #[tokio::test]
    async fn rule_registers_once_per_distinct_previous_definition() {
        let ecs = FakeEcs::default();
        let a = ecs.definition("report", &[("job", "report:1")], &[]);
        let b = ecs.definition("cleanup", &[("job", "report:1")], &[]);
        let target = |id: &str, previous: &str, noop: bool| RuleTaskTarget {
            target_id: id.into(),
            previous_task_definition: previous.into(),
            images: images(&[("job", "report:2")]),
            noop,
            new_task_definition: None,
        };
        let item = RuleItem {
            id: "default/nightly".into(),
            rule: "nightly".into(),
            event_bus: "default".into(),
            targets: vec![
                target("t1", &a, false),
                target("t2", &a, false),
                target("t3", &b, false),
                target("t4", &b, true),
            ],
            noop: false,
        };
        let out = register_item(&ecs, "r-9", PlanItem::Rule(item))
            .await
            .unwrap();
        let PlanItem::Rule(out) = out else {
            panic!("a rule item stays a rule item");
        };
        let news: Vec<Option<&str>> = out
            .targets
            .iter()
            .map(|t| {
                t.new_task_definition
                    .as_deref()
                    .map(crate::plan::deploy::short_name)
            })
            .collect();
        assert_eq!(
            news,
            [Some("report:2"), Some("report:2"), Some("cleanup:2"), None]
        );
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 2);
    }

    #[tokio::test]
    async fn noop_service_passes_through_without_calls() {
        let ecs = FakeEcs::default();
        let item = ServiceItem {
            id: "prod/web".into(),
            cluster: "prod".into(),
            service: "web".into(),
            previous_task_definition: "web:1".into(),
            images: images(&[("app", "web:1")]),
            noop: true,
            desired_count: None,
            minimum_healthy_percent: None,
            maximum_percent: None,
            timeout_seconds: 600,
            new_task_definition: None,
        };
        let out = register_item(&ecs, "r", PlanItem::Service(item.clone()))
            .await
            .unwrap();
        assert_eq!(out, PlanItem::Service(item));
        assert_eq!(ecs.total_calls(), 0);
    }
}
