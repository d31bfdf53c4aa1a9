//! rollback: what it restored and the deployments it started.

use serde::{Deserialize, Serialize};

use super::{DeploymentStatus, Records};

/// rollback input; its output is the first AwaitRollback round's [`StabilityCounts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackInput {
    pub release_id: String,
    pub records: Records,
    /// The wave to restore: the one the release stopped in, then each below it, one a call, down
    /// to wave 0.
    #[serde(default)]
    pub wave: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoreOutcome {
    /// UpdateService / PutTargets back to the previous task definition was issued.
    Restored,
    /// It already ran the previous task definition.
    AlreadyCurrent,
    /// The policy left it alone.
    Skipped,
    /// It runs a revision this release did not deploy (a newer release, a hotfix): never
    /// overwritten without `convoy rollback --force`.
    LeftAlone,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Restore {
    pub id: String,
    pub outcome: RestoreOutcome,
    pub task_definition: String,
    /// The desiredCount and deployment percentages a `Restored` service was set back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    /// Why it was `Skipped`, `LeftAlone` or `Failed`, or what a forced restore overwrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What a `LeftAlone` item runs instead of this release's revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<String>,
    /// The error name of a `Failed` restore (`Throttled`, `AwsUnavailable`, `ServiceNotFound`, …):
    /// whether running the rollback again may restore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `rollback.json`: what the rollback restored, and the deployments it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackOutput {
    /// Every wave's restores so far.
    pub restores: Vec<Restore>,
    /// Deployments the rollback started, awaited by AwaitRollback (same shape as AwaitRelease).
    pub items: Vec<DeploymentStatus>,
    pub pending: u32,
    pub failed: u32,
    /// The wave the last call restored.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wave: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
