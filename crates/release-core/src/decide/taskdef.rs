//! The next task definition revision: the current one with only the named containers' images
//! changed, tagged with the release, and the one RegisterTaskDefinition request made from it.

use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
use aws_sdk_ecs::types::{Tag, TaskDefinition};

use crate::contract::ImageMap;
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

/// The RegisterTaskDefinition request for `definition`: every field the API accepts, copied from a
/// described definition, and `tags`. The one list of those fields: the adapter sends this request
/// and [`reusable`] compares two definitions through it.
///
/// The SDK structs are `#[non_exhaustive]`, so a destructuring pattern cannot turn a new field into
/// a compile error. Instead `register_copies_every_accepted_field` (tests/ecs_adapter.rs) fills
/// every field of a TaskDefinition, captures the request the SDK would send and fails on any
/// request field left `None` — which is what a field added to RegisterTaskDefinition in a newer
/// SDK looks like until it is copied here. A field AWS already sends but this SDK does not know
/// cannot be copied at all: [`uncopied_fields`] finds it in the raw answer and the register step
/// refuses the clone ([`check_copyable`]).
// `inferenceAccelerators` is deprecated by ECS but still accepted: a definition that has them
// keeps them, or the clone would not be lossless.
#[allow(deprecated)]
pub fn register_input(
    definition: &TaskDefinition,
    tags: &[Tag],
) -> RegisterTaskDefinitionInputBuilder {
    let d = definition.clone();
    RegisterTaskDefinitionInput::builder()
        .set_family(d.family)
        .set_task_role_arn(d.task_role_arn)
        .set_execution_role_arn(d.execution_role_arn)
        .set_network_mode(d.network_mode)
        .set_container_definitions(d.container_definitions)
        .set_volumes(d.volumes)
        .set_placement_constraints(d.placement_constraints)
        .set_requires_compatibilities(d.requires_compatibilities)
        .set_cpu(d.cpu)
        .set_memory(d.memory)
        // ECS rejects an empty tag list; no tags means no `tags` member at all.
        .set_tags((!tags.is_empty()).then(|| tags.to_vec()))
        .set_pid_mode(d.pid_mode)
        .set_ipc_mode(d.ipc_mode)
        .set_proxy_configuration(d.proxy_configuration)
        .set_inference_accelerators(d.inference_accelerators)
        .set_ephemeral_storage(d.ephemeral_storage)
        .set_runtime_platform(d.runtime_platform)
        .set_enable_fault_injection(d.enable_fault_injection)
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
    ours && register_input(latest, &[]) == register_input(&desired.definition, &[])
}

/// Fields of a DescribeTaskDefinition answer that only describe a revision (ECS sets them); a
/// registration does not take them.
const DESCRIBED_ONLY: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
];

/// The fields of a described task definition (`described`: the `taskDefinition` JSON of
/// DescribeTaskDefinition, as AWS sent it) that its registration request (`request`: the JSON the
/// SDK sends for [`register_input`]) would not carry, as paths (`trustedExecutionConfiguration`,
/// `containerDefinitions[0].newSetting`, sorted): fields this SDK does not know (it drops them when it
/// reads the answer) or that [`register_input`] does not copy. A new revision registered anyway
/// would silently lose them. A field left out whose value is zero, false, empty or null counts as
/// carried: the SDK leaves such defaults out of a request.
pub fn uncopied_fields(described: &serde_json::Value, request: &serde_json::Value) -> Vec<String> {
    let mut uncopied = Vec::new();
    if let serde_json::Value::Object(fields) = described {
        for (key, value) in fields {
            if !DESCRIBED_ONLY.contains(&key.as_str()) {
                compare(key, value, request.get(key), &mut uncopied);
            }
        }
    }
    uncopied.sort();
    uncopied
}

fn compare(
    path: &str,
    described: &serde_json::Value,
    request: Option<&serde_json::Value>,
    uncopied: &mut Vec<String>,
) {
    use serde_json::Value;
    let Some(request) = request else {
        let default = match described {
            Value::Null => true,
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Array(items) => items.is_empty(),
            Value::Object(fields) => fields.is_empty(),
        };
        if !default {
            uncopied.push(path.to_string());
        }
        return;
    };
    match described {
        Value::Object(fields) => {
            for (key, value) in fields {
                compare(&format!("{path}.{key}"), value, request.get(key), uncopied);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                compare(&format!("{path}[{i}]"), value, request.get(i), uncopied);
            }
        }
        _ => {}
    }
}

/// Refuses to clone `definition` when its registration would lose `uncopied` fields (see
/// [`uncopied_fields`]), naming them: a release never registers a revision that differs from the
/// one it replaces in more than its images and tags.
pub fn check_copyable(definition: &TaskDefinition, uncopied: &[String]) -> Result<(), Error> {
    if uncopied.is_empty() {
        return Ok(());
    }
    let fields = uncopied
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::TaskDefinitionRejected {
        message: format!(
            "{}: {fields} cannot be copied into a new revision by this convoy (its AWS SDK does \
             not know them), so a new revision would lose them: none is registered; update \
             convoy, or register the revision by hand",
            display_name(definition)
        ),
        source: None,
    })
}

/// Builders the decision tests and the register step's tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use aws_sdk_ecs::types::{ContainerDefinition, Tag};

    use crate::contract::ImageMap;

    pub(crate) fn tag(key: &str, value: &str) -> Tag {
        Tag::builder().key(key).value(value).build()
    }

    pub(crate) fn container(name: &str, image: &str) -> ContainerDefinition {
        ContainerDefinition::builder()
            .name(name)
            .image(image)
            .essential(true)
            .build()
    }

    pub(crate) fn images(pairs: &[(&str, &str)]) -> ImageMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    pub(crate) fn keys(tags: &[Tag]) -> Vec<(&str, &str)> {
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{container, images, keys, tag};
    use super::*;

    #[test]
    fn fields_a_request_would_not_carry_are_named_by_path() {
        let described = serde_json::json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
            "revision": 7,
            "status": "ACTIVE",
            "registeredAt": 1_700_000_000.0,
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "web:1", "cpu": 0, "essential": true,
                 "environment": [], "mountPoints": [], "newSetting": {"on": true}},
                {"name": "log", "image": "fluent:1", "cpu": 0, "disableNetworking": false}
            ],
            "volumes": [],
            "trustedExecutionConfiguration": {"isolationMode": "ISOLATED_SANDBOX"}
        });
        let request = serde_json::json!({
            "family": "web",
            "containerDefinitions": [
                {"name": "app", "image": "web:2", "essential": true, "environment": [],
                 "mountPoints": []},
                {"name": "log", "image": "fluent:1"}
            ],
            "volumes": []
        });
        assert_eq!(
            uncopied_fields(&described, &request),
            [
                "containerDefinitions[0].newSetting",
                "trustedExecutionConfiguration"
            ]
        );
        assert_eq!(uncopied_fields(&request, &request), Vec::<String>::new());
        let web = TaskDefinition::builder().family("web").revision(7).build();
        let err = check_copyable(&web, &["trustedExecutionConfiguration".into()]).unwrap_err();
        assert_eq!(err.name(), "TaskDefinitionRejected");
        assert!(
            err.to_string()
                .contains("web:7: `trustedExecutionConfiguration` cannot be copied"),
            "{err}"
        );
        assert!(check_copyable(&web, &[]).is_ok());
    }

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
}
