//! What deploying one item takes and leaves: the inputs of the update steps deploy-batch runs per
//! item, the deployment or rule change it records, and the item's result record.

use serde::{Deserialize, Serialize};

use super::{
    CodeDeployTarget, JobItem, JobRun, Records, RuleItem, ScheduleItem, ScheduleUpdate,
    ServiceItem, Strategy,
};

/// Which kind an item is: a service id and a rule id may be equal (`default/app`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanItemKind {
    Service,
    Rule,
    Schedule,
    Job,
}

impl PlanItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanItemKind::Service => "service",
            PlanItemKind::Rule => "rule",
            PlanItemKind::Schedule => "schedule",
            PlanItemKind::Job => "job",
        }
    }
}

/// A service or a rule of the plan; [`crate::steps::register::register_item`] fills in
/// `newTaskDefinition` (per target for rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
// Built one at a time from the plan and never stored in bulk: boxing the service would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum PlanItem {
    Service(ServiceItem),
    Rule(RuleItem),
    Schedule(ScheduleItem),
    Job(JobItem),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateServiceInput {
    pub release_id: String,
    pub records: Records,
    pub item: ServiceItem,
}

/// A deployment convoy started (UpdateService's, recorded by deploy-batch); the unit check-stability judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceDeployment {
    pub id: String,
    pub cluster: String,
    pub service: String,
    pub previous_task_definition: String,
    pub new_task_definition: String,
    /// `ecs-svc/…` id of the deployment UpdateService created: the verdict is about THIS one.
    pub deployment_id: String,
    /// Unix seconds after which the rollout counts as timed out.
    pub deadline: i64,
    /// A blue/green strategy is judged by its service deployment, not by running counts.
    #[serde(default, skip_serializing_if = "Strategy::is_rolling")]
    pub strategy: Strategy,
    /// The ECS service deployment (`currentServiceDeployment` after UpdateService): what a
    /// blue/green verdict reads and a rollback in flight stops; a rolling failure's reason is
    /// completed from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    /// What the deployment must end as to count as done.
    #[serde(default, skip_serializing_if = "Awaited::is_finished")]
    pub awaits: Awaited,
    /// A CODE_DEPLOY service's deployment group: `deploymentId` is then CodeDeploy's (`d-…`), and
    /// the verdict reads BatchGetDeployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_deploy: Option<CodeDeployTarget>,
}

/// What an awaited deployment must end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Awaited {
    /// Finished: the release's rollout, or a rollback's UpdateService back.
    #[default]
    Finished,
    /// Rolled back: a blue/green deployment the rollback stopped (StopServiceDeployment ROLLBACK),
    /// or one ECS is rolling back by itself.
    RolledBack,
}

impl Awaited {
    pub fn is_finished(&self) -> bool {
        *self == Awaited::Finished
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRuleInput {
    pub release_id: String,
    pub records: Records,
    pub item: RuleItem,
}

/// A rule's update (recorded by deploy-batch): what each target pointed at before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleUpdate {
    pub id: String,
    pub rule: String,
    pub event_bus: String,
    pub targets: Vec<TargetChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetChange {
    pub target_id: String,
    pub previous_task_definition: String,
    pub new_task_definition: String,
}

impl ItemResult {
    /// Whether this is the record of item `id` of `kind`.
    pub fn is(&self, kind: PlanItemKind, id: &str) -> bool {
        self.id == id && self.kind.is_none_or(|k| k == kind)
    }
}

/// A `Catch` result as Step Functions writes it (`ResultPath` of a Catch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl CaughtError {
    /// The message of the caught error: see [`cause_message`].
    pub fn message(&self) -> String {
        cause_message(&self.cause)
    }
}

/// The message inside a Step Functions error cause: a failed Lambda step's cause is JSON
/// (`{"errorType", "errorMessage"}`); any other cause (a `States.*` error) is its own message.
pub fn cause_message(cause: &str) -> String {
    serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| cause.to_owned())
}

/// `results/{kind}/{id}.json`: what one item's deployment did, or the error that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemResult {
    pub id: String,
    /// Which kind of item: ids of different kinds may be equal (a rule and a schedule both
    /// `default/nightly`). Set by the record store when it writes or reads the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PlanItemKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<ServiceDeployment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleUpdate>,
    /// A schedule's update: its target's revision before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleUpdate>,
    /// The task a job's RunTask started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}
