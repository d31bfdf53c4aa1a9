//! plan-release: the release with AWS facts recorded, kept as `plan.json`; the state gets the ids.

use serde::{Deserialize, Serialize};

use super::{
    count, CodeDeployTarget, DeploymentStrategy, ImageMap, JobItem, PlanItem, PlanItemKind,
    ReleaseMeta, ReleaseSource, ScalableTarget, ScheduleItem, Settings,
};

/// plan-release input: the release, and the execution whose records it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    /// The execution input: the release, or a reference to it in the records bucket.
    pub release: ReleaseSource,
    /// `$$.Execution.Name`: two executions of one release keep separate records.
    pub execution_name: String,
    /// `$$.Execution.Id`: the execution that holds the release's locks.
    pub execution_arn: String,
    /// `$$.Execution.StartTime` (RFC 3339), for the release events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}

/// Where an execution keeps its release records: `s3://{bucket}/{prefix}…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Records {
    pub bucket: String,
    /// `releases/{release id}/{execution name}/`.
    pub prefix: String,
}

/// plan-release output: what the state machine needs to drive the release, counts only: the items
/// are in `plan.json`, cut into batches under `waves/<k>/` (docs/decisions/0006).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedRelease {
    pub release_id: String,
    pub records: Records,
    pub settings: Settings,
    /// Waves to deploy: 0 when nothing changes.
    pub waves: u32,
    /// Items that change (services and rules), and jobs.
    pub changed: u32,
    /// Items whose images already run: reported `Unchanged`.
    pub unchanged: u32,
}

/// `plan.json`: every item with the AWS facts plan-release recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub release: ReleaseMeta,
    pub settings: Settings,
    pub services: Vec<ServiceItem>,
    pub tasks: Vec<RuleItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleItem>,
    /// Jobs always run: each counts as a change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobItem>,
    pub changed_services: u32,
    pub changed_tasks: u32,
    /// What went wrong while planning without stopping the release (a Started event that could
    /// not be put): the report lists these first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceItem {
    /// `cluster/service`, unique in the release.
    pub id: String,
    /// The wave it deploys in (0: the first, or the only one).
    #[serde(default, skip_serializing_if = "is_first_wave")]
    pub wave: u32,
    pub cluster: String,
    pub service: String,
    /// The task definition ARN the service runs now: what rollback restores.
    pub previous_task_definition: String,
    /// The service's desiredCount as pre-flight described it: what rollback restores when the
    /// release set another one (and the service still has that one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_desired_count: Option<i32>,
    /// The service's deploymentConfiguration percentages as pre-flight described them: what
    /// rollback restores when the release set others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_maximum_percent: Option<i32>,
    /// The strategy part of the service's deploymentConfiguration as pre-flight described it
    /// (`None`: ROLLING with nothing more): what the rollout runs unless the release sets another,
    /// and what rollback restores when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_deployment_strategy: Option<DeploymentStrategy>,
    /// Resolved container name → desired image (only the containers that change or were named).
    pub images: ImageMap,
    /// Every named container already runs its desired image.
    pub noop: bool,
    /// The service's scalable target as pre-flight described it, when the release holds its
    /// scaling (`suspendAutoScaling`) and it has one: what the restore puts back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<ScalableTarget>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    /// The strategy the release sets; `None` leaves the service's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_strategy: Option<DeploymentStrategy>,
    /// Set when the service's deployment controller is CODE_DEPLOY: its deployment group, which
    /// deploys it instead of UpdateService.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_deploy: Option<CodeDeployTarget>,
    pub timeout_seconds: u32,
    /// Filled in when it is registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleItem {
    /// `eventBus/rule`, unique in the release.
    pub id: String,
    /// The wave it deploys in (0: the first, or the only one).
    #[serde(default, skip_serializing_if = "is_first_wave")]
    pub wave: u32,
    pub rule: String,
    pub event_bus: String,
    pub targets: Vec<RuleTaskTarget>,
    pub noop: bool,
}

/// One ECS target of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleTaskTarget {
    pub target_id: String,
    /// The concrete revision the target runs now (the ARN DescribeTaskDefinition returned, also
    /// when the target names its family only): what rollback restores.
    pub previous_task_definition: String,
    /// Resolved per target: targets of one rule may run different task definitions.
    pub images: ImageMap,
    pub noop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
}

impl ServiceItem {
    /// The strategy its rollout runs: the release's, else the one the service had.
    pub fn strategy(&self) -> DeploymentStrategy {
        self.deployment_strategy
            .or(self.previous_deployment_strategy)
            .unwrap_or_default()
    }
}

impl Plan {
    /// The item of `kind` with this id.
    pub fn item(&self, kind: PlanItemKind, id: &str) -> Option<PlanItem> {
        match kind {
            PlanItemKind::Service => self
                .services
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .map(PlanItem::Service),
            PlanItemKind::Rule => self
                .tasks
                .iter()
                .find(|r| r.id == id)
                .cloned()
                .map(PlanItem::Rule),
            PlanItemKind::Schedule => self
                .schedules
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .map(PlanItem::Schedule),
            PlanItemKind::Job => self
                .jobs
                .iter()
                .find(|j| j.id == id)
                .cloned()
                .map(PlanItem::Job),
        }
    }

    /// The kind and id of every item the release changes, in plan order: services, rules and
    /// schedules that change, and every job.
    pub fn changed_items(&self) -> impl Iterator<Item = (PlanItemKind, &str)> {
        let services = self.services.iter().filter(|s| !s.noop);
        let rules = self.tasks.iter().filter(|r| !r.noop);
        let schedules = self.schedules.iter().filter(|s| !s.noop);
        services
            .map(|s| (PlanItemKind::Service, s.id.as_str()))
            .chain(rules.map(|r| (PlanItemKind::Rule, r.id.as_str())))
            .chain(schedules.map(|s| (PlanItemKind::Schedule, s.id.as_str())))
            .chain(self.jobs.iter().map(|j| (PlanItemKind::Job, j.id.as_str())))
    }

    /// What the state machine drives: how many items change, in how many waves.
    /// The plan with only the items of wave `wave`.
    pub fn in_wave(&self, wave: u32) -> Plan {
        Plan {
            services: self
                .services
                .iter()
                .filter(|s| s.wave == wave)
                .cloned()
                .collect(),
            tasks: self
                .tasks
                .iter()
                .filter(|r| r.wave == wave)
                .cloned()
                .collect(),
            schedules: self
                .schedules
                .iter()
                .filter(|s| s.wave == wave)
                .cloned()
                .collect(),
            jobs: self
                .jobs
                .iter()
                .filter(|j| j.wave == wave)
                .cloned()
                .collect(),
            release: self.release.clone(),
            settings: self.settings.clone(),
            changed_services: self.changed_services,
            changed_tasks: self.changed_tasks,
            problems: Vec::new(),
        }
    }

    /// How many waves deploy something: one past the last changed item's wave; 0 when nothing
    /// changes.
    pub fn waves(&self) -> u32 {
        let changed = self
            .services
            .iter()
            .filter(|s| !s.noop)
            .map(|s| s.wave)
            .chain(self.tasks.iter().filter(|r| !r.noop).map(|r| r.wave))
            .chain(self.schedules.iter().filter(|s| !s.noop).map(|s| s.wave))
            .chain(self.jobs.iter().map(|j| j.wave));
        changed.max().map_or(0, |last| last.saturating_add(1))
    }

    pub fn planned(&self, records: Records) -> PlannedRelease {
        let changed = count(self.services.iter().filter(|s| !s.noop))
            .saturating_add(count(self.tasks.iter().filter(|r| !r.noop)))
            .saturating_add(count(self.schedules.iter().filter(|s| !s.noop)))
            .saturating_add(count(self.jobs.iter()));
        PlannedRelease {
            release_id: self.release.id.clone(),
            records,
            settings: self.settings.clone(),
            waves: self.waves(),
            changed,
            unchanged: count(self.services.iter().filter(|s| s.noop))
                .saturating_add(count(self.tasks.iter().filter(|r| r.noop)))
                .saturating_add(count(self.schedules.iter().filter(|s| s.noop))),
        }
    }
}

pub(super) fn is_first_wave(wave: &u32) -> bool {
    *wave == 0
}
