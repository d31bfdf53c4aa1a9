//! The EventBridge events a release puts on the configured bus: one "Convoy Release Started" after
//! pre-flight, one "Convoy Release Finished" at the end whatever the outcome (pre-flight rejection
//! included). The detail is flat and typed so that rules can match on it
//! (`{"detail": {"outcome": ["FAILED", "ROLLED_BACK"]}}`); docs/operations.md documents it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ItemKind, ItemOutcome, RollbackPolicy};

/// `Source` of every convoy event.
pub const EVENT_SOURCE: &str = "convoy";
/// `DetailType` of the event put once pre-flight passed and the plan is recorded.
pub const RELEASE_STARTED: &str = "Convoy Release Started";
/// `DetailType` of the event put once per release, at its end.
pub const RELEASE_FINISHED: &str = "Convoy Release Finished";
/// Raised only when a field changes meaning or goes away; new fields keep it.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// A release's outcome as events spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventOutcome {
    Succeeded,
    RolledBack,
    /// Something failed and the rollback put nothing back (policy `none`, a job that ran, or
    /// restores that failed).
    Failed,
    /// Validation, pre-flight or a lock stopped the release before anything changed.
    Rejected,
}

/// Where the release came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventSource {
    /// The manifest file.
    pub manifest: String,
    /// The source commit when the render step knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The detail of both events; the Started event leaves the outcome fields out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseEventDetail {
    pub schema_version: u32,
    pub release_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Absent when the release could not be read (a rejected, unreadable input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EventSource>,
    pub execution_arn: String,
    /// The execution in the Step Functions console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_url: Option<String>,
    /// Finished only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<EventOutcome>,
    /// `REJECTED`: the error that stopped the release (`PreflightFailed`, `ReleaseLocked`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_policy: Option<RollbackPolicy>,
    /// RFC 3339, UTC: when the execution started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339, UTC: when the event was built.
    pub at: String,
    /// Finished only: from `startedAt` to `at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// Started only: what the plan will do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<PlannedCounts>,
    /// Finished only: report items per outcome (`Deployed`, `RolledBack`, ...), every item counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<ItemOutcome, u32>,
    /// The items that did not end as planned (at most [`MAX_EVENT_FAILURES`]), first failures
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<EventFailure>,
    /// Failures left out of `failures` (see `fullReport`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_items: u32,
    /// Release-level problems (a step that failed as a whole, a rejection's problems), cut.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// `s3://` URI of the whole report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_report: Option<String>,
}

/// The plan's counts in the Started event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedCounts {
    pub changed: u32,
    pub unchanged: u32,
    pub waves: u32,
}

/// One item that did not end as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventFailure {
    pub id: String,
    pub kind: ItemKind,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wave: u32,
    pub outcome: ItemOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped_reasons: Vec<String>,
}

/// Failures an event lists; the rest are counted in `omittedItems`.
pub const MAX_EVENT_FAILURES: usize = 50;

fn is_zero(n: &u32) -> bool {
    *n == 0
}
