//! plan-release: re-validate the release, pre-flight it against AWS without changing anything, and
//! record what each item runs now. Every problem is collected and reported at once. Also the start
//! of each service's rollout (`deploy`).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{DeploymentControllerType, Service, TaskDefinition};
use futures::stream::{self, StreamExt};
use tracing::{info, info_span, Instrument};

use crate::aws::{EcsApi, EventsApi, ObjectStore};
use crate::manifest;
use crate::records::{RecordStore, BUCKET_VAR};
use crate::step::{
    ImageMap, Images, Plan, PlanRequest, PlannedRelease, Records, ReleaseInput, RuleItem,
    RuleTarget, RuleTaskTarget, ServiceItem, ServiceTarget,
};
use crate::taskdef::current_images;
use crate::{Error, Problem};

pub mod deploy;

/// The event bus the manifest means when it names none.
const DEFAULT_EVENT_BUS: &str = "default";
/// DescribeTaskDefinition calls in flight during pre-flight: well inside ECS's describe rate, and
/// the SDK retries what gets throttled.
const DESCRIBE_CONCURRENCY: usize = 8;

/// Validates `input`, checks every cluster, service, rule, target, task definition and container
/// against AWS, and returns the plan. Read-only: nothing is registered or updated.
pub async fn plan<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    input: ReleaseInput,
) -> Result<Plan, Error> {
    let problems = manifest::check_input(&input);
    if !problems.is_empty() {
        return Err(Error::ManifestInvalid(problems));
    }
    let span = info_span!("plan", release_id = %input.release.id);
    async {
        let mut preflight = Preflight {
            file: input.release.source.clone(),
            problems: Vec::new(),
            definitions: BTreeMap::new(),
        };
        let services = preflight.services(ecs, &input.services).await?;
        let rules = preflight.rules(events, &input.tasks).await?;
        preflight.describe_definitions(ecs).await?;
        let services = preflight.service_items(&input.services, services);
        let tasks = preflight.rule_items(&input.tasks, rules);
        if !preflight.problems.is_empty() {
            return Err(Error::PreflightFailed(preflight.problems));
        }
        let changed_services = count(services.iter().filter(|s| !s.noop));
        let changed_tasks = count(tasks.iter().filter(|t| !t.noop));
        info!(
            services = services.len(),
            changed_services,
            tasks = tasks.len(),
            changed_tasks,
            "planned"
        );
        Ok(Plan {
            release: input.release.clone(),
            settings: input.settings.clone(),
            services,
            tasks,
            changed_services,
            changed_tasks,
        })
    }
    .instrument(span)
    .await
}

/// plan-release: [`plan`], then the plan recorded under the execution's prefix in `bucket` (the
/// function's `CONVOY_RECORDS_BUCKET`). Nothing is written when the release is rejected.
pub async fn plan_release<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    store: &RecordStore<impl ObjectStore>,
    bucket: Option<&str>,
    request: PlanRequest,
) -> Result<PlannedRelease, Error> {
    let Some(bucket) = bucket.filter(|b| !b.is_empty()) else {
        return Err(Error::internal(format!(
            "{BUCKET_VAR} is not set: plan-release has nowhere to record the release"
        )));
    };
    let plan = plan(ecs, events, request.release).await?;
    let records = Records::for_execution(bucket, &plan.release.id, &request.execution_name);
    let plan = store.write_plan(&records, plan).await?;
    Ok(plan.planned(records))
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

/// `services[2] (prod/web)`, as the manifest's own messages name items.
pub fn service_label(index: usize, target: &ServiceTarget) -> String {
    format!("services[{index}] ({}/{})", target.cluster, target.service)
}

/// `tasks[0] (nightly)` on the default bus, `tasks[0] (bus/nightly)` elsewhere.
pub fn task_label(index: usize, target: &RuleTarget) -> String {
    if target.event_bus == DEFAULT_EVENT_BUS {
        format!("tasks[{index}] ({})", target.rule)
    } else {
        format!("tasks[{index}] ({}/{})", target.event_bus, target.rule)
    }
}

/// The manifest field an item's images came from, for problem reports.
fn images_field(images: &Images) -> &'static str {
    match images {
        Images::Containers(_) => "containers",
        Images::Default { .. } => "image",
    }
}

/// Errors that say nothing about the release but about AWS or our permissions: retrying or fixing
/// IAM is the answer, so they abort the plan instead of becoming a problem of one item.
fn aborts_plan(e: &Error) -> bool {
    match e {
        Error::Throttled { .. } | Error::AwsUnavailable { .. } | Error::AccessDenied { .. } => true,
        Error::ManifestInvalid(_)
        | Error::PreflightFailed(_)
        | Error::ClusterNotFound(_)
        | Error::ServiceNotFound(_)
        | Error::ContainerNotFound(_)
        | Error::RuleNotFound(_)
        | Error::TaskDefinitionRejected { .. }
        | Error::TargetsRejected(_)
        | Error::RollbackFailed(_)
        | Error::Internal { .. } => false,
    }
}

/// Why a service cannot be deployed by convoy, if it cannot.
pub fn service_problem(service: &Service) -> Option<String> {
    let status = service.status().unwrap_or("UNKNOWN");
    if status != "ACTIVE" {
        return Some(format!("service is {status}, not ACTIVE"));
    }
    let controller = service
        .deployment_controller()
        .map(|c| c.r#type().clone())
        .unwrap_or(DeploymentControllerType::Ecs);
    match controller {
        DeploymentControllerType::Ecs => {}
        DeploymentControllerType::CodeDeploy | DeploymentControllerType::External => {
            return Some(format!(
                "deployment controller {controller} is not supported; convoy deploys services \
                 with the ECS deployment controller"
            ))
        }
        other => return Some(format!("unknown deployment controller {other}")),
    }
    if service.task_definition().is_none() {
        return Some("service has no task definition".into());
    }
    None
}

/// Per service target: its current task definition, once found and deployable.
type ServiceFacts = Vec<Option<String>>;
/// Per rule target: (target id, task definition) of each ECS target, once found.
type RuleFacts = Vec<Option<Vec<(String, String)>>>;

struct Preflight {
    file: String,
    problems: Vec<Problem>,
    /// Every referenced task definition, described once: ARN → definition, or why it failed.
    definitions: BTreeMap<String, Result<TaskDefinition, String>>,
}

impl Preflight {
    fn problem(&mut self, item: &str, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.clone(),
            item: item.into(),
            field: field.into(),
            message: message.into(),
        });
    }

    /// Clusters (batched) and services (batched per cluster): the task definition each runs.
    async fn services<E: EcsApi>(
        &mut self,
        ecs: &E,
        targets: &[ServiceTarget],
    ) -> Result<ServiceFacts, Error> {
        let mut facts = vec![None; targets.len()];
        if targets.is_empty() {
            return Ok(facts);
        }
        let clusters: Vec<String> = targets
            .iter()
            .map(|t| t.cluster.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found = ecs.describe_clusters(&clusters).await?;
        let active: BTreeSet<&str> = found
            .items
            .iter()
            .filter(|c| c.status() == Some("ACTIVE"))
            .filter_map(|c| c.cluster_name())
            .collect();
        let mut by_cluster: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, target) in targets.iter().enumerate() {
            if active.contains(target.cluster.as_str()) {
                by_cluster.entry(&target.cluster).or_default().push(i);
                continue;
            }
            let status = found
                .items
                .iter()
                .find(|c| c.cluster_name() == Some(target.cluster.as_str()))
                .and_then(|c| c.status());
            let message = match status {
                Some(status) => format!("cluster `{}` is {status}, not ACTIVE", target.cluster),
                None => format!("cluster `{}` not found", target.cluster),
            };
            self.problem(&service_label(i, target), "cluster", message);
        }
        for (cluster, indexes) in by_cluster {
            let names: Vec<String> = indexes
                .iter()
                .map(|&i| targets[i].service.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let found = match ecs.describe_services(cluster, &names).await {
                Ok(found) => found,
                Err(e) if aborts_plan(&e) => return Err(e),
                Err(e) => {
                    for &i in &indexes {
                        self.problem(&service_label(i, &targets[i]), "service", e.to_string());
                    }
                    continue;
                }
            };
            for i in indexes {
                let target = &targets[i];
                let label = service_label(i, target);
                let service = found
                    .items
                    .iter()
                    .find(|s| s.service_name() == Some(target.service.as_str()));
                let Some(service) = service else {
                    let reason = found
                        .failures
                        .iter()
                        .find(|f| {
                            f.arn()
                                .is_some_and(|a| a.ends_with(&format!("/{}", target.service)))
                        })
                        .and_then(|f| f.reason())
                        .unwrap_or("MISSING");
                    let message = format!(
                        "service `{}` not found in cluster `{cluster}` ({reason})",
                        target.service
                    );
                    self.problem(&label, "service", message);
                    continue;
                };
                if let Some(message) = service_problem(service) {
                    self.problem(&label, "service", message);
                    continue;
                }
                let definition = service.task_definition().unwrap_or_default().to_owned();
                self.definitions
                    .entry(definition.clone())
                    .or_insert(Err(String::new()));
                facts[i] = Some(definition);
            }
        }
        Ok(facts)
    }

    /// Rules exist and have ECS targets; the task definition of each target.
    async fn rules<V: EventsApi>(
        &mut self,
        events: &V,
        targets: &[RuleTarget],
    ) -> Result<RuleFacts, Error> {
        let mut facts = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            let label = task_label(i, target);
            let checked = self.rule_targets(events, target).await;
            match checked {
                Ok(Ok(ecs_targets)) => {
                    for (_, definition) in &ecs_targets {
                        self.definitions
                            .entry(definition.clone())
                            .or_insert(Err(String::new()));
                    }
                    facts.push(Some(ecs_targets));
                }
                Ok(Err(message)) => {
                    self.problem(&label, "rule", message);
                    facts.push(None);
                }
                Err(e) if aborts_plan(&e) => return Err(e),
                Err(e) => {
                    self.problem(&label, "rule", e.to_string());
                    facts.push(None);
                }
            }
        }
        Ok(facts)
    }

    async fn rule_targets<V: EventsApi>(
        &self,
        events: &V,
        target: &RuleTarget,
    ) -> Result<Result<Vec<(String, String)>, String>, Error> {
        let Some(_rule) = events
            .describe_rule(&target.event_bus, &target.rule)
            .await?
        else {
            return Ok(Err(format!(
                "rule `{}` not found on event bus `{}`",
                target.rule, target.event_bus
            )));
        };
        let all = events.list_targets(&target.event_bus, &target.rule).await?;
        let ecs_targets: Vec<(String, String)> = all
            .iter()
            .filter_map(|t| {
                let definition = t.ecs_parameters()?.task_definition_arn();
                Some((t.id().to_owned(), definition.to_owned()))
            })
            .collect();
        if ecs_targets.is_empty() {
            return Ok(Err(format!(
                "rule `{}` has no ECS targets ({} other target{})",
                target.rule,
                all.len(),
                if all.len() == 1 { "" } else { "s" }
            )));
        }
        Ok(Ok(ecs_targets))
    }

    /// Describes every referenced task definition once, a few at a time: a release of hundreds of
    /// services has hundreds of families, and one after another that is minutes of pre-flight.
    async fn describe_definitions<E: EcsApi>(&mut self, ecs: &E) -> Result<(), Error> {
        let arns: Vec<String> = self.definitions.keys().cloned().collect();
        let mut described = stream::iter(arns)
            .map(|arn| async move {
                let answer = ecs.describe_task_definition(&arn).await;
                (arn, answer)
            })
            .buffer_unordered(DESCRIBE_CONCURRENCY);
        while let Some((arn, answer)) = described.next().await {
            let definition = match answer {
                Ok((definition, _tags)) => Ok(definition),
                Err(e) if aborts_plan(&e) => return Err(e),
                Err(e) => Err(format!("task definition {arn} could not be described: {e}")),
            };
            self.definitions.insert(arn, definition);
        }
        Ok(())
    }

    /// The containers `images` resolves to in `definition`, or a problem recorded on `label`
    /// (a definition that could not be described is reported on `owner_field`).
    fn resolve(
        &mut self,
        label: &str,
        owner_field: &str,
        images: &Images,
        definition: &str,
        context: &str,
    ) -> Option<(ImageMap, bool)> {
        let current = match self.definitions.get(definition) {
            Some(Ok(described)) => current_images(described),
            Some(Err(message)) => {
                let message = format!("{context}{message}");
                self.problem(label, owner_field, message);
                return None;
            }
            None => {
                let message = format!("{context}{definition} was not described");
                self.problem(label, owner_field, message);
                return None;
            }
        };
        match manifest::resolve_images(images, &current) {
            Ok(desired) => {
                let noop = manifest::is_noop(&desired, &current);
                Some((desired, noop))
            }
            Err(message) => {
                self.problem(label, images_field(images), format!("{context}{message}"));
                None
            }
        }
    }

    fn service_items(
        &mut self,
        targets: &[ServiceTarget],
        facts: ServiceFacts,
    ) -> Vec<ServiceItem> {
        let mut items = Vec::with_capacity(targets.len());
        for (i, (target, definition)) in targets.iter().zip(facts).enumerate() {
            let Some(definition) = definition else {
                continue;
            };
            let label = service_label(i, target);
            let Some((images, noop)) =
                self.resolve(&label, "service", &target.images, &definition, "")
            else {
                continue;
            };
            items.push(ServiceItem {
                id: format!("{}/{}", target.cluster, target.service),
                cluster: target.cluster.clone(),
                service: target.service.clone(),
                previous_task_definition: definition,
                images,
                noop,
                desired_count: target.desired_count,
                minimum_healthy_percent: target.minimum_healthy_percent,
                maximum_percent: target.maximum_percent,
                timeout_seconds: target.timeout_seconds,
                new_task_definition: None,
            });
        }
        items
    }

    fn rule_items(&mut self, targets: &[RuleTarget], facts: RuleFacts) -> Vec<RuleItem> {
        let mut items = Vec::with_capacity(targets.len());
        for (i, (target, ecs_targets)) in targets.iter().zip(facts).enumerate() {
            let Some(ecs_targets) = ecs_targets else {
                continue;
            };
            let label = task_label(i, target);
            let mut resolved = Vec::with_capacity(ecs_targets.len());
            for (target_id, definition) in ecs_targets {
                let context = format!("target `{target_id}`: ");
                if let Some((images, noop)) =
                    self.resolve(&label, "rule", &target.images, &definition, &context)
                {
                    resolved.push(RuleTaskTarget {
                        target_id,
                        previous_task_definition: definition,
                        images,
                        noop,
                        new_task_definition: None,
                    });
                }
            }
            let noop = resolved.iter().all(|t| t.noop);
            items.push(RuleItem {
                id: format!("{}/{}", target.event_bus, target.rule),
                rule: target.rule.clone(),
                event_bus: target.event_bus.clone(),
                targets: resolved,
                noop,
            });
        }
        items
    }
}

#[cfg(test)]
mod tests;
