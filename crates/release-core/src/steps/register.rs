//! Registering an item's next revision, idempotently per release: a retried call finds the revision
//! this release already registered and reuses it (deploy-batch's registrations).

use std::collections::BTreeMap;

use tracing::{info, info_span, Instrument};

use crate::aws::EcsApi;
use crate::contract::{ImageMap, PlanItem, RuleItem, ServiceItem, TaskDefRef};
use crate::decide::taskdef::{check_copyable, display_name, reusable, rewrite};
use crate::Error;

/// Registers the next revision of `previous` with `images`, or reuses the one this release already
/// registered. Returns the new revision's ARN.
pub async fn register<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    previous: &str,
    images: &ImageMap,
) -> Result<String, Error> {
    register_or_reuse(ecs, release_id, previous, images)
        .await
        .map(|r| r.arn)
}

/// A revision [`register_or_reuse`] settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub arn: String,
    /// Registered by an earlier attempt of this release: no RegisterTaskDefinition call was made.
    pub reused: bool,
}

/// [`register`], saying whether it called RegisterTaskDefinition.
pub async fn register_or_reuse<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    previous: &str,
    images: &ImageMap,
) -> Result<Registration, Error> {
    // The family's newest revision first: it is what a retry of this release would reuse, and most
    // services run it, so one DescribeTaskDefinition usually serves both (the read bucket is shared).
    let (latest, latest_tags, latest_uncopied) = ecs
        .describe_task_definition_to_copy(TaskDefRef::new(previous).family())
        .await?;
    let (current, tags, uncopied) = if latest
        .task_definition_arn()
        .is_some_and(|arn| TaskDefRef::new(arn).same_as(previous))
    {
        (latest.clone(), latest_tags.clone(), latest_uncopied)
    } else {
        ecs.describe_task_definition_to_copy(previous).await?
    };
    // A field the request cannot carry would be lost in the new revision: refuse, naming it.
    check_copyable(&current, &uncopied)?;
    let desired = rewrite(&current, &tags, images, release_id)?;
    if reusable(&latest, &latest_tags, &desired, release_id) {
        let arn = display_name(&latest);
        info!(task_definition = %arn, "reusing the revision this release registered");
        return Ok(Registration { arn, reused: true });
    }
    let registered = ecs
        .register_task_definition(&desired.definition, &desired.tags)
        .await?;
    let arn = display_name(&registered);
    info!(task_definition = %arn, previous, "registered");
    Ok(Registration { arn, reused: false })
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
        PlanItem::Schedule(mut item) => {
            let span = info_span!("register", group = %item.group, schedule = %item.schedule);
            let (previous, images) = (&item.previous_task_definition, &item.images);
            fill(
                ecs,
                release_id,
                !item.noop,
                previous,
                images,
                &mut item.new_task_definition,
            )
            .instrument(span)
            .await?;
            Ok(PlanItem::Schedule(item))
        }
        // A job whose newest revision already has its images runs that one (plan-release set it).
        PlanItem::Job(mut item) => {
            let span = info_span!("register", cluster = %item.cluster, job = %item.name);
            let needed = item.new_task_definition.is_none();
            let (previous, images) = (&item.previous_task_definition, &item.images);
            fill(
                ecs,
                release_id,
                needed,
                previous,
                images,
                &mut item.new_task_definition,
            )
            .instrument(span)
            .await?;
            Ok(PlanItem::Job(item))
        }
    }
}

/// `new_task_definition` set to the registration of `previous` with `images`, when `needed`.
async fn fill<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    needed: bool,
    previous: &str,
    images: &ImageMap,
    new_task_definition: &mut Option<String>,
) -> Result<(), Error> {
    if needed {
        *new_task_definition = Some(register(ecs, release_id, previous, images).await?);
    }
    Ok(())
}

async fn register_service<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    mut item: ServiceItem,
) -> Result<ServiceItem, Error> {
    let (previous, images) = (&item.previous_task_definition, &item.images);
    fill(
        ecs,
        release_id,
        !item.noop,
        previous,
        images,
        &mut item.new_task_definition,
    )
    .await?;
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
    use crate::aws::fake::{tag, FakeEcs};
    use crate::contract::RuleTaskTarget;
    use crate::decide::taskdef::test_support::{images, keys};
    use crate::decide::taskdef::{current_images, PREVIOUS_TAG, RELEASE_TAG};

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
            wave: 0,
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
                    .map(|td| TaskDefRef::new(td).key())
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
            previous_desired_count: None,
            previous_minimum_healthy_percent: None,
            previous_maximum_percent: None,
            images: images(&[("app", "web:1")]),
            noop: true,
            desired_count: None,
            minimum_healthy_percent: None,
            maximum_percent: None,
            timeout_seconds: 600,
            new_task_definition: None,
            previous_deployment_strategy: None,
            deployment_strategy: None,
            code_deploy: None,
            wave: 0,
            auto_scaling: None,
        };
        let out = register_item(&ecs, "r", PlanItem::Service(item.clone()))
            .await
            .unwrap();
        assert_eq!(out, PlanItem::Service(item));
        assert_eq!(ecs.total_calls(), 0);
    }

    #[tokio::test]
    async fn a_job_registers_only_when_plan_release_found_no_revision_with_its_images() {
        let ecs = FakeEcs::default();
        let previous = ecs.definition("migrate", &[("app", "app:1")], &[]);
        let job = crate::contract::JobItem {
            id: "prod/migrate".into(),
            wave: 0,
            cluster: "prod".into(),
            name: "migrate".into(),
            previous_task_definition: previous.clone(),
            images: images(&[("app", "app:1")]),
            essential_containers: vec!["app".into()],
            overrides: Default::default(),
            launch: Default::default(),
            timeout_seconds: 600,
            new_task_definition: Some(previous.clone()),
        };
        let out = register_item(&ecs, "r", PlanItem::Job(job.clone()))
            .await
            .unwrap();
        assert_eq!(out, PlanItem::Job(job.clone()));
        assert_eq!(ecs.total_calls(), 0);
        let unregistered = crate::contract::JobItem {
            images: images(&[("app", "app:2")]),
            new_task_definition: None,
            ..job
        };
        let PlanItem::Job(out) = register_item(&ecs, "r", PlanItem::Job(unregistered))
            .await
            .unwrap()
        else {
            panic!("a job item stays a job item");
        };
        let new = out.new_task_definition.unwrap();
        assert!(new.ends_with("task-definition/migrate:2"), "{new}");
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 1);
    }
}
