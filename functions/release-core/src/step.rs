//! Typed input and output of every step of the release state machine.
//!
//! These types are the contract between the Lambda functions and `statemachine/release.asl.json`:
//! the JSON field names here are the paths the ASL reads (`$.item.newTaskDefinition`, ...), and the
//! contract tests deserialize every file in `events/` into them. Keep records small: the whole release
//! travels through the execution state, which is limited to 256 KiB.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Container name → image reference.
pub type ImageMap = BTreeMap<String, String>;

// ---------------------------------------------------------------------------------------------
// Release input: what `convoy render` prints and what the state machine is started with.
// ---------------------------------------------------------------------------------------------

/// The validated, normalized release. Produced by `manifest::render`, consumed by `plan-release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseInput {
    pub release: ReleaseMeta,
    pub settings: Settings,
    #[serde(default)]
    pub services: Vec<ServiceTarget>,
    #[serde(default)]
    pub tasks: Vec<RuleTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseMeta {
    /// Also the Step Functions execution name: `[A-Za-z0-9_-]{1,80}`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The manifest file the release came from, for messages.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RollbackPolicy {
    /// Any failure restores every changed service and rule target.
    #[default]
    All,
    /// Only the items that failed are restored; the rest stay on the new revision.
    Failed,
    /// Nothing is restored; the report still says what failed.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    pub rollback: RollbackPolicy,
    /// Map state concurrency for register + update.
    pub max_concurrency: u32,
    /// Seconds between DescribeServices polls inside check-stability.
    pub poll_interval_seconds: u32,
    /// After success, keep this many ACTIVE revisions per family (0 = no cleanup).
    pub keep_revisions: u32,
    /// Images without a tag or digest, or tagged `latest`, are accepted (re-checked by plan-release).
    #[serde(default)]
    pub allow_latest: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rollback: RollbackPolicy::All,
            max_concurrency: 10,
            poll_interval_seconds: 5,
            keep_revisions: 0,
            allow_latest: false,
        }
    }
}

/// Which containers get which image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Images {
    /// Explicit `containers: {name: image}`.
    Containers(ImageMap),
    /// The GitOps sample format: the container named `preferred` (the item's `service` field),
    /// else the task definition's only container. Resolved against AWS in plan-release.
    Default { preferred: String, image: String },
}

/// One ECS service of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceTarget {
    pub cluster: String,
    pub service: String,
    pub images: Images,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    /// Deadline for this service's rollout, from UpdateService.
    pub timeout_seconds: u32,
}

/// One EventBridge rule whose ECS targets run scheduled tasks; every ECS target is updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleTarget {
    pub rule: String,
    pub event_bus: String,
    pub images: Images,
}

// ---------------------------------------------------------------------------------------------
// plan-release output: the release with AWS facts recorded. Input of both Map states.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    pub release: ReleaseMeta,
    pub settings: Settings,
    pub services: Vec<ServiceItem>,
    pub tasks: Vec<RuleItem>,
    /// Counts the ASL branches on without iterating.
    pub changed_services: u32,
    pub changed_tasks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceItem {
    /// `cluster/service`, unique in the release.
    pub id: String,
    pub cluster: String,
    pub service: String,
    /// The task definition ARN the service runs now: what rollback restores.
    pub previous_task_definition: String,
    /// Resolved container name → desired image (only the containers that change or were named).
    pub images: ImageMap,
    /// Every named container already runs its desired image.
    pub noop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    pub timeout_seconds: u32,
    /// Filled by register-task-definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleItem {
    /// `eventBus/rule`, unique in the release.
    pub id: String,
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
    pub previous_task_definition: String,
    /// Resolved per target: targets of one rule may run different task definitions.
    pub images: ImageMap,
    pub noop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Per-item steps inside the Map states.
// ---------------------------------------------------------------------------------------------

/// What a Map iteration hands to register-task-definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInput {
    pub release_id: String,
    pub item: PlanItem,
}

/// A service or a rule, as the register step sees it. Output of register-task-definition is the
/// same item with `newTaskDefinition` filled in (per target for rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PlanItem {
    Service(ServiceItem),
    Rule(RuleItem),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateServiceInput {
    pub release_id: String,
    pub item: ServiceItem,
}

/// A deployment convoy started (update-service output); the unit check-stability judges.
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateRuleInput {
    pub release_id: String,
    pub item: RuleItem,
}

/// update-scheduled-rule output: what each target pointed at before and after.
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

/// A `Catch` result as Step Functions writes it (`ResultPath` of a Catch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The result of one Map iteration; failures are data here, never a failed Map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemResult {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<ServiceDeployment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleUpdate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

// ---------------------------------------------------------------------------------------------
// check-stability: judges many deployments at once, polled by the AwaitRelease loop.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StabilityInput {
    pub release_id: String,
    pub poll_interval_seconds: u32,
    /// First round: the started deployments; later rounds: the previous round's `items`.
    pub items: Vec<DeploymentStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Outcome {
    #[default]
    InProgress,
    Succeeded,
    Failed,
    TimedOut,
    /// Someone else's deployment replaced ours before it finished.
    Superseded,
}

impl Outcome {
    pub fn is_terminal(self) -> bool {
        !matches!(self, Outcome::InProgress)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentStatus {
    #[serde(flatten)]
    pub deployment: ServiceDeployment,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Reasons of stopped tasks of our deployment (few, deduplicated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped_reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StabilityOutput {
    pub items: Vec<DeploymentStatus>,
    /// Items still InProgress: the Choice loops while this is > 0 and nothing failed.
    pub pending: u32,
    /// Items Failed, TimedOut or Superseded.
    pub failed: u32,
}

// ---------------------------------------------------------------------------------------------
// rollback and the final report.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackInput {
    pub plan: Plan,
    /// Map results of both Map states.
    pub results: Vec<ItemResult>,
    /// The last AwaitRelease round, if the release got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<StabilityOutput>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoreOutcome {
    /// UpdateService / PutTargets back to the previous task definition was issued.
    Restored,
    /// It already ran the previous task definition.
    AlreadyCurrent,
    /// The policy left it alone.
    Skipped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Restore {
    pub id: String,
    pub outcome: RestoreOutcome,
    pub task_definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackOutput {
    pub restores: Vec<Restore>,
    /// Deployments the rollback started, awaited by AwaitRollback (same shape as AwaitRelease).
    pub items: Vec<DeploymentStatus>,
    pub pending: u32,
    pub failed: u32,
}

/// The execution output: one line per item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseReport {
    pub release_id: String,
    pub outcome: ReleaseOutcome,
    pub items: Vec<ReportItem>,
    /// Release-level problems: steps that failed as a whole (`AwaitRelease failed: Throttled: …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleaseOutcome {
    Succeeded,
    /// Something failed and the rollback policy restored what it covers.
    RolledBack,
    /// Something failed and was not (fully) restored.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemOutcome {
    Deployed,
    Unchanged,
    Failed,
    TimedOut,
    Superseded,
    /// Deployed fine, then restored because another item failed.
    RolledBack,
    /// Never started because the release stopped first.
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportItem {
    pub id: String,
    pub kind: ItemKind,
    pub outcome: ItemOutcome,
    pub previous_task_definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
    /// The task definition it runs at the end of the release.
    pub final_task_definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped_reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Service,
    RuleTarget,
}

/// finish-release input: everything the report is made of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FinishInput {
    pub plan: Plan,
    pub results: Vec<ItemResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<StabilityOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackOutput>,
    /// The last AwaitRollback round, if a rollback ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_stability: Option<StabilityOutput>,
    /// Steps that failed as a whole after their retries; their records above are then partial.
    #[serde(default)]
    pub failures: StepFailures,
}

/// What the state machine caught from a step that failed as a whole (each `null` when it did not).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepFailures {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub await_release: Option<CaughtError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<CaughtError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub await_rollback: Option<CaughtError>,
}

impl StepFailures {
    /// `(state name, error)` of every failed step, in execution order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &CaughtError)> {
        [
            ("AwaitRelease", &self.await_release),
            ("RollbackRelease", &self.rollback),
            ("AwaitRollback", &self.await_rollback),
        ]
        .into_iter()
        .filter_map(|(state, error)| error.as_ref().map(|e| (state, e)))
    }
}

/// Parses a step's raw JSON input into its type. A mismatch (the ASL and the Rust types drifted, or
/// a hand-written event is wrong) becomes `ManifestInvalid` naming the JSON path of the bad field,
/// never the runtime's default error type.
pub fn parse<T: serde::de::DeserializeOwned>(input: serde_json::Value) -> Result<T, crate::Error> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        crate::Error::ManifestInvalid(vec![crate::Problem {
            file: "step input".into(),
            item: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or_default()
                .into(),
            field: if path == "." { String::new() } else { path },
            message: e.into_inner().to_string(),
        }])
    })
}
