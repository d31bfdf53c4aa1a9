//! Typed input and output of every step of the release state machine.
//!
//! These types are the contract between the Lambda functions and `statemachine/release.asl.json`:
//! the JSON field names here are the paths the ASL reads (`$.plan.records`, ...), and the contract
//! tests deserialize every file in `events/` into them. Per-item records (the plan, each item's
//! result, stability rounds, restores, the full report) are S3 objects under the execution's
//! [`Records`] prefix; the state carries only ids, counts and error names, so it stays far below
//! the 256 KiB limit whatever the size of the release (docs/decisions/0003).

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
// plan-release: the release with AWS facts recorded, kept as `plan.json`; the state gets the ids.
// ---------------------------------------------------------------------------------------------

/// plan-release input: the release, and the execution whose records it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanRequest {
    pub release: ReleaseInput,
    /// `$$.Execution.Name`: two executions of one release keep separate records.
    pub execution_name: String,
}

/// Where an execution keeps its release records: `s3://{bucket}/{prefix}…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Records {
    pub bucket: String,
    /// `releases/{release id}/{execution name}/`.
    pub prefix: String,
}

/// plan-release output: what the state machine needs to drive the release. The Maps iterate over
/// `services` and `tasks`, which hold only the ids of items that change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedRelease {
    pub release_id: String,
    pub records: Records,
    pub settings: Settings,
    pub services: Vec<String>,
    pub tasks: Vec<String>,
    /// Items whose images already run: no iteration, reported `Unchanged`.
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

/// Which Map an item belongs to: a service id and a rule id may be equal (`default/app`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanItemKind {
    Service,
    Rule,
}

impl PlanItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanItemKind::Service => "service",
            PlanItemKind::Rule => "rule",
        }
    }
}

/// What a Map iteration hands to register-task-definition: which plan item to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterInput {
    pub release_id: String,
    pub records: Records,
    pub kind: PlanItemKind,
    pub id: String,
}

/// A service or a rule of the plan. Output of register-task-definition: the item with
/// `newTaskDefinition` filled in (per target for rules).
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
    pub records: Records,
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
    pub records: Records,
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

/// `results/{kind}/{id}.json`: what one item's deployment did, or the error that stopped it.
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

/// The output of one Map iteration as the state keeps it: the error *name* only (the message is in
/// the item's record), so even a release whose every item failed stays small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MapItemResult {
    pub id: String,
    /// The `ecs-svc/…` id of the deployment update-service started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CaughtError>,
}

/// Both Maps' outputs (`$.deploy`); empty lists when a Map did not run or failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployResults {
    #[serde(default)]
    pub services: Vec<MapItemResult>,
    #[serde(default)]
    pub tasks: Vec<MapItemResult>,
}

// ---------------------------------------------------------------------------------------------
// check-stability: judges many deployments at once, polled by the AwaitRelease loop.
// ---------------------------------------------------------------------------------------------

/// Which deployments a check-stability round judges: the release's, or the rollback's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StabilityPhase {
    Release,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StabilityInput {
    pub release_id: String,
    pub records: Records,
    pub poll_interval_seconds: u32,
    /// The round reads and rewrites `stability/{phase}.json`; the first release round starts from
    /// the result records, the first rollback round is written by the rollback.
    pub phase: StabilityPhase,
}

/// What the AwaitRelease / AwaitRollback loops branch on (the items are in the stability record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StabilityCounts {
    pub pending: u32,
    pub failed: u32,
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

impl Plan {
    /// The item a Map iteration names.
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
        }
    }

    /// What the state machine drives: the ids of the items that change.
    pub fn planned(&self, records: Records) -> PlannedRelease {
        PlannedRelease {
            release_id: self.release.id.clone(),
            records,
            settings: self.settings.clone(),
            services: changed_ids(self.services.iter().map(|s| (&s.id, s.noop))),
            tasks: changed_ids(self.tasks.iter().map(|r| (&r.id, r.noop))),
            unchanged: (self.services.iter().filter(|s| s.noop).count()
                + self.tasks.iter().filter(|r| r.noop).count()) as u32,
        }
    }
}

fn changed_ids<'a>(items: impl Iterator<Item = (&'a String, bool)>) -> Vec<String> {
    items
        .filter(|(_, noop)| !noop)
        .map(|(id, _)| id.clone())
        .collect()
}

impl DeploymentStatus {
    /// A deployment not judged yet.
    pub fn started(deployment: ServiceDeployment) -> Self {
        DeploymentStatus {
            deployment,
            outcome: Outcome::InProgress,
            reason: None,
            stopped_reasons: Vec::new(),
        }
    }
}

impl StabilityOutput {
    pub fn counts(&self) -> StabilityCounts {
        StabilityCounts {
            pending: self.pending,
            failed: self.failed,
        }
    }
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

/// `stability/{phase}.json`: every deployment of the phase with its latest verdict.
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

/// rollback input; its output is the first AwaitRollback round's [`StabilityCounts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackInput {
    pub release_id: String,
    pub records: Records,
    #[serde(default)]
    pub deploy: DeployResults,
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

/// `rollback.json`: what the rollback restored, and the deployments it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackOutput {
    pub restores: Vec<Restore>,
    /// Deployments the rollback started, awaited by AwaitRollback (same shape as AwaitRelease).
    pub items: Vec<DeploymentStatus>,
    pub pending: u32,
    pub failed: u32,
}

/// One line per item. `report.json` holds every item; the execution output (also the Fail cause,
/// which AWS caps at 32 KiB) holds as many as fit, failures first, and says how many it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseReport {
    pub release_id: String,
    pub outcome: ReleaseOutcome,
    pub items: Vec<ReportItem>,
    /// Release-level problems: steps that failed as a whole (`AwaitRelease failed: Throttled: …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Items left out of `items` to keep the output small; `fullReport` has them all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_items: u32,
    /// `s3://…/report.json`, once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_report: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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

/// finish-release input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FinishInput {
    pub release_id: String,
    pub records: Records,
    #[serde(default)]
    pub deploy: DeployResults,
    #[serde(default)]
    pub failures: StepFailures,
}

/// Everything a rollback and the report are made of, read back from the execution's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRecords {
    pub plan: Plan,
    /// One per item a Map reached: its record, with the error name the state kept when it failed.
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

impl ReleaseRecords {
    /// The records of a release that has not been awaited or rolled back yet.
    pub fn new(plan: Plan, results: Vec<ItemResult>) -> Self {
        ReleaseRecords {
            plan,
            results,
            stability: None,
            rollback: None,
            rollback_stability: None,
            failures: StepFailures::default(),
        }
    }
}

/// What the state machine caught from a step that failed as a whole (each `null` when it did not).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepFailures {
    /// A Map (DeployScheduledTasks or DeployServices) that failed as a whole, not one item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<CaughtError>,
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
            ("Deploy", &self.deploy),
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
