//! Pre-flight judgement: what AWS answered about each item, turned into plan items or problems.
//! The describing itself is plan-release's ([`crate::steps::plan_release`]).

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    AssignPublicIp, DeploymentControllerType, NetworkMode, Service, TaskDefinition,
};
use aws_sdk_eventbridge::types::Target;

use crate::contract::{
    AwsVpcSettings, CapacityProviderShare, DeploymentStrategy, ImageMap, Images, JobItem,
    JobLaunch, JobTarget, RuleItem, RuleTarget, RuleTaskTarget, ScheduleItem, ScheduleTarget,
    ServiceItem, ServiceTarget,
};
use crate::decide::manifest::arn::Home;
use crate::decide::manifest::{self, is_noop, resolve_images};
use crate::decide::strategy;
use crate::decide::taskdef::current_images;
use crate::{Error, Problem};

/// What a release may reach from where it runs, checked before anything changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// The account and region the functions call: a cluster or service ARN must be there.
    pub home: Home,
    /// The role ARN patterns the functions may pass (`iam:PassRole`, the stack's
    /// `PassableRoleArns`); `None` checks no role (the local stack evaluates no IAM).
    pub passable_roles: Option<Vec<String>>,
}

impl Reach {
    /// The patterns of `CONVOY_PASSABLE_ROLE_ARNS` (comma-separated); `None` when unset or blank.
    pub fn passable_roles_from(value: Option<&str>) -> Option<Vec<String>> {
        let patterns: Vec<String> = value?
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        (!patterns.is_empty()).then_some(patterns)
    }
}

/// Whether IAM would match `arn` against the Resource `pattern`: `*` any run of characters (`/`
/// and `:` too), `?` any one character, everything else itself, case included.
pub fn iam_matches(pattern: &str, arn: &str) -> bool {
    let (p, a): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    let (mut pi, mut ai) = (0, 0);
    // The last `*` seen and where in `arn` it started matching: where to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while ai < a.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ai));
                pi += 1;
            }
            Some(&c) if c == '?' || c == a[ai] => {
                pi += 1;
                ai += 1;
            }
            _ => match star {
                Some((sp, sa)) => {
                    pi = sp + 1;
                    ai = sa + 1;
                    star = Some((sp, sa + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Why passing `role` would be denied, if it would: none of `patterns` matches it.
pub fn role_problem(what: &str, role: &str, patterns: &[String], home: &Home) -> Option<String> {
    // A role given by name is the account's `role/NAME`.
    let arn = match (&home.account, role.starts_with("arn:")) {
        (Some(account), false) => format!("arn:aws:iam::{account}:role/{role}"),
        _ => role.to_owned(),
    };
    if patterns.iter().any(|p| iam_matches(p, &arn)) {
        return None;
    }
    Some(format!(
        "{what} `{role}` matches none of the roles convoy may pass (PassableRoleArns: {}): \
         iam:PassRole would be denied mid-release; add it to PassableRoleArns",
        patterns.join(", ")
    ))
}

/// What pre-flight found a deployable service running: what a rollback puts back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceFact {
    pub task_definition: String,
    pub desired_count: Option<i32>,
    pub minimum_healthy_percent: Option<i32>,
    pub maximum_percent: Option<i32>,
    /// The strategy part of its deploymentConfiguration (`None`: a plain rolling update).
    pub strategy: Option<DeploymentStrategy>,
    /// Its deployment controller is CODE_DEPLOY: CodeDeploy deploys it.
    pub code_deploy: bool,
}

impl ServiceFact {
    /// The facts of a described service (its task definition, desiredCount and percentages).
    pub fn of(service: &Service) -> Self {
        let config = service.deployment_configuration();
        ServiceFact {
            task_definition: service.task_definition().unwrap_or_default().to_owned(),
            desired_count: Some(service.desired_count()),
            minimum_healthy_percent: config.and_then(|c| c.minimum_healthy_percent()),
            maximum_percent: config.and_then(|c| c.maximum_percent()),
            strategy: strategy::described(config),
            code_deploy: is_code_deploy(service),
        }
    }
}

/// Per service target: what it runs now, once found and deployable.
pub type ServiceFacts = Vec<Option<ServiceFact>>;

/// Per rule target: (target id, task definition) of each ECS target, once found.
pub type RuleFacts = Vec<Option<Vec<(String, String)>>>;

/// Per schedule: the task definition its ECS target runs, once found.
pub type ScheduleFacts = Vec<Option<String>>;

/// `schedules[0] (nightly)` in the default group, `schedules[0] (reports/nightly)` elsewhere.
pub fn schedule_label(index: usize, target: &ScheduleTarget) -> String {
    manifest::schedule_label(index, &target.group, Some(&target.schedule))
}

/// Per job: how its task is launched (the manifest's settings with `networkFrom` read from its
/// service), once its cluster and that service were found.
pub type JobFacts = Vec<Option<JobLaunch>>;

/// `jobs[0] (migrate)`, as the manifest's own messages name items.
pub fn job_label(index: usize, target: &JobTarget) -> String {
    format!("jobs[{index}] ({})", target.name)
}

/// How a job's task is launched: what the manifest gives, the rest from `from` (the described
/// `networkFrom` service): its awsvpc configuration, and its launch type or capacity provider
/// strategy and platform version unless the manifest sets how to launch. Err: why `from` cannot
/// lend its network.
pub fn job_launch(target: &JobTarget, from: Option<&Service>) -> Result<JobLaunch, String> {
    let given = &target.launch;
    let mut launch = JobLaunch {
        network_configuration: given.network_configuration.clone(),
        launch_type: given.launch_type.clone(),
        capacity_provider_strategy: given.capacity_provider_strategy.clone(),
        platform_version: given.platform_version.clone(),
    };
    let Some(service) = from else {
        return Ok(launch);
    };
    let name = given.network_from.as_deref().unwrap_or_default();
    let Some(vpc) = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
    else {
        return Err(format!(
            "service `{name}` has no awsvpc network configuration to lend"
        ));
    };
    launch.network_configuration = Some(AwsVpcSettings {
        subnets: vpc.subnets().to_vec(),
        security_groups: vpc.security_groups().to_vec(),
        assign_public_ip: vpc.assign_public_ip() == Some(&AssignPublicIp::Enabled),
    });
    let sets_launch = launch.launch_type.is_some() || !launch.capacity_provider_strategy.is_empty();
    if !sets_launch {
        launch.launch_type = service.launch_type().map(|t| t.as_str().to_owned());
        launch.capacity_provider_strategy = service
            .capacity_provider_strategy()
            .iter()
            .map(|c| CapacityProviderShare {
                capacity_provider: c.capacity_provider().to_owned(),
                weight: c.weight(),
                base: c.base(),
            })
            .collect();
    }
    if launch.platform_version.is_none() {
        launch.platform_version = service.platform_version().map(str::to_owned);
    }
    Ok(launch)
}

/// `services[2] (prod/web)`, as the manifest's own messages name items.
pub fn service_label(index: usize, target: &ServiceTarget) -> String {
    manifest::service_label(index, Some(&target.cluster), Some(&target.service))
}

/// `tasks[0] (nightly)` on the default bus, `tasks[0] (bus/nightly)` elsewhere.
pub fn task_label(index: usize, target: &RuleTarget) -> String {
    manifest::task_label(index, &target.event_bus, Some(&target.rule))
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
pub fn aborts_plan(e: &Error) -> bool {
    match e {
        Error::Throttled { .. } | Error::AwsUnavailable { .. } | Error::AccessDenied { .. } => true,
        Error::ManifestInvalid(_)
        | Error::StepInputInvalid(_)
        | Error::ReleaseLocked(_)
        | Error::PreflightFailed(_)
        | Error::ClusterNotFound(_)
        | Error::ServiceNotFound(_)
        | Error::ContainerNotFound(_)
        | Error::RuleNotFound(_)
        | Error::ScheduleNotFound(_)
        | Error::TaskDefinitionRejected { .. }
        | Error::TargetsRejected { .. }
        | Error::DeploymentRejected { .. }
        | Error::TaskRunRejected { .. }
        | Error::RollbackFailed(_)
        | Error::Internal { .. } => false,
    }
}

/// Whether CodeDeploy deploys `service` (its deployment controller is CODE_DEPLOY).
pub fn is_code_deploy(service: &Service) -> bool {
    service
        .deployment_controller()
        .is_some_and(|c| *c.r#type() == DeploymentControllerType::CodeDeploy)
}

/// Why the manifest's settings of `target` do not fit how `service` is deployed (its deployment
/// controller), as (field, message) pairs: ECS's strategy and counts are UpdateService's, which a
/// CODE_DEPLOY service is not deployed with; `codeDeploy` is for CODE_DEPLOY services only.
pub fn controller_problems(
    service: &Service,
    target: &ServiceTarget,
) -> Vec<(&'static str, String)> {
    let name = service.service_name().unwrap_or("?");
    if !is_code_deploy(service) {
        return match target.code_deploy {
            Some(_) => vec![(
                "codeDeploy",
                format!(
                    "service `{name}` has the ECS deployment controller: codeDeploy applies to \
                     CODE_DEPLOY services only (for ECS's own blue/green, set strategy)"
                ),
            )],
            None => Vec::new(),
        };
    }
    let set = [
        ("strategy", target.deployment_strategy.is_some()),
        ("desiredCount", target.desired_count.is_some()),
        (
            "minimumHealthyPercent",
            target.minimum_healthy_percent.is_some(),
        ),
        ("maximumPercent", target.maximum_percent.is_some()),
    ];
    set.into_iter()
        .filter(|(_, given)| *given)
        .map(|(field, _)| {
            (
                field,
                format!(
                    "service `{name}` is deployed by CodeDeploy (deployment controller \
                     CODE_DEPLOY): {field} is UpdateService's, which does not deploy it; the \
                     traffic shifting is the deployment configuration's (codeDeploy.deploymentConfig) \
                     and the counts are the service's own"
                ),
            )
        })
        .collect()
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
        DeploymentControllerType::Ecs | DeploymentControllerType::CodeDeploy => {}
        DeploymentControllerType::External => {
            return Some(format!(
                "deployment controller {controller} is not supported; convoy deploys services \
                 with the ECS or the CODE_DEPLOY deployment controller"
            ))
        }
        other => return Some(format!("unknown deployment controller {other}")),
    }
    if service.task_definition().is_none() {
        return Some("service has no task definition".into());
    }
    None
}

/// The ECS targets of a rule as `(target id, task definition)`, or why the rule cannot be released.
pub fn ecs_targets(rule: &str, all: &[Target]) -> Result<Vec<(String, String)>, String> {
    let ecs_targets: Vec<(String, String)> = all
        .iter()
        .filter_map(|t| {
            let definition = t.ecs_parameters()?.task_definition_arn();
            Some((t.id().to_owned(), definition.to_owned()))
        })
        .collect();
    if ecs_targets.is_empty() {
        return Err(format!(
            "rule `{rule}` has no ECS targets ({} other target{})",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        ));
    }
    Ok(ecs_targets)
}

/// What pre-flight found so far: the problems (all of them are reported at once) and every
/// referenced task definition, described once: ARN → definition, or why it could not be.
pub struct Findings {
    file: String,
    pub problems: Vec<Problem>,
    pub definitions: BTreeMap<String, Result<TaskDefinition, String>>,
    /// Per rule (its index in the release) and target id: the target's `RoleArn`, if it has one.
    pub target_roles: BTreeMap<(usize, String), String>,
    reach: Reach,
}

impl Findings {
    pub fn new(file: impl Into<String>) -> Self {
        Self::within(file, Reach::default())
    }

    /// Findings that also check what the release passes against `reach`.
    pub fn within(file: impl Into<String>, reach: Reach) -> Self {
        Findings {
            file: file.into(),
            problems: Vec::new(),
            definitions: BTreeMap::new(),
            target_roles: BTreeMap::new(),
            reach,
        }
    }

    /// The task and execution role of `definition`, which the next revision passes again: each must
    /// be one the functions may pass. `context` says where the definition comes from.
    fn check_definition_roles(
        &mut self,
        label: &str,
        field: &str,
        definition: &str,
        context: &str,
    ) {
        let Some(patterns) = self.reach.passable_roles.clone() else {
            return;
        };
        let Some(Ok(described)) = self.definitions.get(definition) else {
            return;
        };
        let name = described
            .task_definition_arn()
            .map_or(definition, |arn| arn.rsplit('/').next().unwrap_or(arn))
            .to_owned();
        let roles = [
            ("task role", described.task_role_arn().map(str::to_owned)),
            (
                "execution role",
                described.execution_role_arn().map(str::to_owned),
            ),
        ];
        for (what, role) in roles {
            let Some(role) = role else { continue };
            let what = format!("{context}task definition {name}: {what}");
            if let Some(message) = role_problem(&what, &role, &patterns, &self.reach.home) {
                self.problem(label, field, message);
            }
        }
    }

    /// The `RoleArn` of a rule target PutTargets sends again.
    fn check_target_role(&mut self, label: &str, rule_index: usize, target_id: &str) {
        let Some(patterns) = self.reach.passable_roles.clone() else {
            return;
        };
        let Some(role) = self
            .target_roles
            .get(&(rule_index, target_id.to_owned()))
            .cloned()
        else {
            return;
        };
        let what = format!("target `{target_id}`: RoleArn");
        if let Some(message) = role_problem(&what, &role, &patterns, &self.reach.home) {
            self.problem(label, "rule", message);
        }
    }

    pub fn problem(&mut self, item: &str, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.clone(),
            item: item.into(),
            field: field.into(),
            message: message.into(),
        });
    }

    /// Notes a task definition to describe (once, however many items run it).
    pub fn wants(&mut self, task_definition: &str) {
        self.definitions
            .entry(task_definition.to_owned())
            .or_insert(Err(String::new()));
    }

    /// The concrete revision `definition` names: the ARN DescribeTaskDefinition returned (a
    /// family without revision names whatever is newest, which after a release is the new one).
    fn concrete(&self, definition: String) -> String {
        match self.definitions.get(&definition) {
            Some(Ok(described)) => described
                .task_definition_arn()
                .map_or(definition, str::to_owned),
            _ => definition,
        }
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
        match resolve_images(images, &current) {
            Ok(desired) => {
                let noop = is_noop(&desired, &current);
                Some((desired, noop))
            }
            Err(message) => {
                self.problem(label, images_field(images), format!("{context}{message}"));
                None
            }
        }
    }

    pub fn service_items(
        &mut self,
        targets: &[ServiceTarget],
        facts: ServiceFacts,
    ) -> Vec<ServiceItem> {
        let mut items = Vec::with_capacity(targets.len());
        for (i, (target, fact)) in targets.iter().zip(facts).enumerate() {
            let Some(fact) = fact else {
                continue;
            };
            let label = service_label(i, target);
            let definition = fact.task_definition;
            let Some((images, noop)) =
                self.resolve(&label, "service", &target.images, &definition, "")
            else {
                continue;
            };
            if !noop {
                self.check_definition_roles(&label, "service", &definition, "");
                // A CODE_DEPLOY service's waiting is its deployment configuration's, checked when
                // its group is resolved.
                if target.deployment_strategy.is_none() && !fact.code_deploy {
                    // The service's own strategy: its bake time counts against the deadline too.
                    let own = fact.strategy.unwrap_or_default();
                    if let Err(message) = strategy::deadline_fits(target.timeout_seconds, &own) {
                        self.problem(&label, "timeoutSeconds", message);
                    }
                }
            }
            items.push(ServiceItem {
                id: format!("{}/{}", target.cluster, target.service),
                cluster: target.cluster.clone(),
                service: target.service.clone(),
                previous_task_definition: self.concrete(definition),
                previous_desired_count: fact.desired_count,
                previous_minimum_healthy_percent: fact.minimum_healthy_percent,
                previous_maximum_percent: fact.maximum_percent,
                previous_deployment_strategy: fact.strategy,
                images,
                noop,
                desired_count: target.desired_count,
                minimum_healthy_percent: target.minimum_healthy_percent,
                maximum_percent: target.maximum_percent,
                deployment_strategy: target.deployment_strategy,
                timeout_seconds: target.timeout_seconds,
                new_task_definition: None,
                code_deploy: None,
                wave: 0,
                auto_scaling: None,
            });
        }
        items
    }

    /// The schedules whose ECS target was found, each resolved against the task definition it runs.
    pub fn schedule_items(
        &mut self,
        targets: &[ScheduleTarget],
        facts: ScheduleFacts,
    ) -> Vec<ScheduleItem> {
        let mut items = Vec::with_capacity(targets.len());
        for (i, (target, definition)) in targets.iter().zip(facts).enumerate() {
            let Some(definition) = definition else {
                continue;
            };
            let label = schedule_label(i, target);
            let Some((images, noop)) =
                self.resolve(&label, "scheduleName", &target.images, &definition, "")
            else {
                continue;
            };
            if !noop {
                self.check_definition_roles(&label, "scheduleName", &definition, "");
            }
            items.push(ScheduleItem {
                id: format!("{}/{}", target.group, target.schedule),
                wave: 0,
                group: target.group.clone(),
                schedule: target.schedule.clone(),
                previous_task_definition: self.concrete(definition),
                images,
                noop,
                new_task_definition: None,
            });
        }
        items
    }

    /// The role a schedule's target names, which UpdateSchedule passes again.
    pub fn check_schedule_role(&mut self, label: &str, role: &str) {
        let Some(patterns) = self.reach.passable_roles.clone() else {
            return;
        };
        if let Some(message) = role_problem("target: RoleArn", role, &patterns, &self.reach.home) {
            self.problem(label, "scheduleName", message);
        }
    }

    /// The jobs whose cluster, launch and family were found, each resolved against its family's
    /// newest ACTIVE revision; problems for the rest.
    pub fn job_items(&mut self, targets: &[JobTarget], facts: JobFacts) -> Vec<JobItem> {
        let mut items = Vec::with_capacity(targets.len());
        for (i, (target, launch)) in targets.iter().zip(facts).enumerate() {
            let Some(launch) = launch else {
                continue;
            };
            let label = job_label(i, target);
            let family = &target.task_definition;
            let Some((images, unchanged)) =
                self.resolve(&label, "taskDefinition", &target.images, family, "")
            else {
                continue;
            };
            let Some(Ok(described)) = self.definitions.get(family).cloned() else {
                continue;
            };
            let containers = described.container_definitions();
            let essential_containers: Vec<String> = containers
                .iter()
                .filter(|c| c.essential().unwrap_or(true))
                .filter_map(|c| c.name().map(str::to_owned))
                .collect();
            for name in target.overrides.keys() {
                if !containers.iter().any(|c| c.name() == Some(name.as_str())) {
                    let known: Vec<&str> = containers.iter().filter_map(|c| c.name()).collect();
                    let message = format!(
                        "task definition {family} has no container `{name}` (it has: {})",
                        known.join(", ")
                    );
                    self.problem(&label, &format!("overrides.{name}"), message);
                }
            }
            let awsvpc = described.network_mode() == Some(&NetworkMode::Awsvpc);
            if awsvpc && launch.network_configuration.is_none() {
                let message = format!(
                    "task definition {family} uses network mode awsvpc: give                      `networkConfiguration`, or `networkFrom: cluster/service` to run it in a                      service's subnets and security groups"
                );
                self.problem(&label, "networkConfiguration", message);
            }
            self.check_definition_roles(&label, "taskDefinition", family, "");
            let previous = self.concrete(family.clone());
            items.push(JobItem {
                id: format!("{}/{}", target.cluster, target.name),
                wave: 0,
                cluster: target.cluster.clone(),
                name: target.name.clone(),
                // The newest revision already has the images: it runs as it is.
                new_task_definition: unchanged.then(|| previous.clone()),
                previous_task_definition: previous,
                images,
                essential_containers,
                overrides: target.overrides.clone(),
                launch,
                timeout_seconds: target.timeout_seconds,
            });
        }
        items
    }

    pub fn rule_items(&mut self, targets: &[RuleTarget], facts: RuleFacts) -> Vec<RuleItem> {
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
                    if !noop {
                        // Registered again, and put back with its RoleArn by PutTargets.
                        self.check_definition_roles(&label, "rule", &definition, &context);
                        self.check_target_role(&label, i, &target_id);
                    }
                    resolved.push(RuleTaskTarget {
                        target_id,
                        previous_task_definition: self.concrete(definition),
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
                wave: 0,
            });
        }
        items
    }
}

#[cfg(test)]
mod role_tests {
    use super::*;

    #[test]
    fn iam_wildcards_as_iam_matches_them() {
        let role = "arn:aws:iam::123456789012:role/app/web-task";
        let cases = [
            ("arn:aws:iam::123456789012:role/app/web-task", true),
            ("arn:aws:iam::123456789012:role/*", true),
            ("arn:aws:iam::*:role/app/*", true),
            ("arn:aws:iam::123456789012:role/app/web-tas?", true),
            ("arn:aws:iam::123456789012:role/app/web-task?", false),
            ("arn:aws:iam::123456789012:role/App/*", false),
            ("arn:aws:iam::123456789012:role/web-*", false),
            ("*", true),
            ("arn:aws:iam::123456789012:role/*-task", true),
            ("arn:aws:iam::123456789012:role/*-job", false),
            ("", false),
        ];
        for (pattern, want) in cases {
            assert_eq!(iam_matches(pattern, role), want, "{pattern}");
        }
    }

    #[test]
    fn the_patterns_come_from_a_comma_separated_variable() {
        assert_eq!(Reach::passable_roles_from(None), None);
        assert_eq!(Reach::passable_roles_from(Some(" , ")), None);
        assert_eq!(
            Reach::passable_roles_from(Some("arn:aws:iam::1:role/a-*, arn:aws:iam::1:role/b")),
            Some(vec![
                "arn:aws:iam::1:role/a-*".to_owned(),
                "arn:aws:iam::1:role/b".to_owned()
            ])
        );
        let home = Home {
            region: None,
            account: Some("123456789012".into()),
        };
        let patterns = ["arn:aws:iam::123456789012:role/app-*".to_owned()];
        assert_eq!(role_problem("task role", "app-web", &patterns, &home), None);
        let refused = role_problem("task role", "ops", &patterns, &home).unwrap();
        assert!(
            refused.starts_with("task role `ops` matches none of the roles convoy may pass"),
            "{refused}"
        );
    }
}
