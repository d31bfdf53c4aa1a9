//! finish-release: the release report and everything it is made of.

use serde::{Deserialize, Serialize};

use super::{
    CaughtError, ItemResult, Plan, Records, RollbackOutput, ScalingReport, StabilityOutput,
};

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
    /// What the clean-up of old revisions did after a success (`keepRevisions` above 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupReport>,
    /// The scalable targets the release held, put back (or not) at its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<ScalingReport>,
}

/// The clean-up of old task-definition revisions. `report.json` lists every revision; the
/// execution output may drop the lists to stay small (`listsOmitted`), never the counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CleanupReport {
    /// Revisions deregistered (ARNs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deregistered: Vec<String>,
    /// Old revisions left ACTIVE, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<KeptRevision>,
    /// Deregistrations ECS refused (`ARN: reason`); the revision stays ACTIVE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    pub deregistered_count: u32,
    pub kept_count: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_count: u32,
    /// Candidates not looked at or not deregistered this time (per-release limits); the next
    /// successful release of the family takes them up.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deferred: u32,
    /// What could not be listed or described; while any of it is unknown nothing it could protect
    /// is deregistered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The lists above were left out of this copy to keep it small; `fullReport` has them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lists_omitted: bool,
}

/// An old revision the clean-up left ACTIVE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeptRevision {
    pub task_definition: String,
    pub reason: KeepReason,
    /// Who uses it (`prod/api`, `default/nightly target report`), or what could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why an old revision stays ACTIVE, first reason that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeepReason {
    /// Among the newest `keepRevisions` of its family.
    Newest,
    /// This release names it (the previous or the new revision of an item).
    ReferencedByRelease,
    /// A release of the last 30 days recorded it as an item's previous revision (the release
    /// ledger), so `convoy rollback` of that release can put it back.
    PreviousOfRecentRelease,
    /// The current task definition, or one of the deployments, of a service in the release's
    /// clusters.
    InUseByService,
    /// The task definition of an ECS target of a rule on the release's event buses.
    InUseByRuleTarget,
    /// Not tagged `convoy:release`: registered by someone else.
    NotTaggedByConvoy,
    /// Something needed to decide could not be listed or described.
    Unverified,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// A job whose task stopped with every essential container's exit code 0. Forward-only: a
    /// rollback does not undo it.
    Ran,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportItem {
    pub id: String,
    pub kind: ItemKind,
    /// The wave it deploys in, from 0 (left out for the first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wave: u32,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Service,
    RuleTarget,
    /// An EventBridge Scheduler schedule's ECS target.
    Schedule,
    Job,
}

/// finish-release input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FinishInput {
    pub release_id: String,
    /// `$$.Execution.Id`: the release's locks are given back only while they are this execution's.
    pub execution_arn: String,
    /// `$$.Execution.StartTime` (RFC 3339), for the release event's duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    pub records: Records,
    #[serde(default)]
    pub failures: StepFailures,
}

/// Everything a rollback and the report are made of, read back from the execution's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseRecords {
    pub plan: Plan,
    /// One per item deploy-batch reached (or AwaitRelease found not deployed): its record.
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
    /// The wave's Map failing as a whole (not one item, not one batch).
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
