//! check-stability: judges many deployments at once, polled by the AwaitRelease loop.

use serde::{Deserialize, Serialize};

use super::{JobStatus, Records, ServiceDeployment};

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
    /// The wave whose batches the first release round reads.
    #[serde(default)]
    pub wave: u32,
}

/// What the AwaitRelease / AwaitRollback loops branch on (the items are in the stability record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StabilityCounts {
    pub pending: u32,
    pub failed: u32,
    /// Rollback phase: the waves below the one just rolled back that are still to roll back
    /// (RollbackRelease is called again for the next one); 0 otherwise.
    #[serde(default)]
    pub remaining_waves: u32,
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

impl DeploymentStatus {
    /// A deployment not judged yet.
    pub fn started(deployment: ServiceDeployment) -> Self {
        DeploymentStatus {
            deployment,
            outcome: Outcome::InProgress,
            reason: None,
            stopped_reasons: Vec::new(),
            stage: None,
        }
    }
}

impl StabilityOutput {
    pub fn counts(&self) -> StabilityCounts {
        StabilityCounts {
            pending: self.pending,
            failed: self.failed.saturating_add(self.deploy_failed),
            remaining_waves: self.remaining_waves,
        }
    }
}

impl Outcome {
    pub fn is_terminal(self) -> bool {
        !matches!(self, Outcome::InProgress)
    }

    /// Failed, timed out or superseded: the release cannot count this deployment as done.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::TimedOut | Outcome::Superseded
        )
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
    /// A blue/green deployment's lifecycle stage when last polled (`BAKE_TIME`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
}

/// `stability/{phase}.json`: every deployment of the phase with its latest verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StabilityOutput {
    pub items: Vec<DeploymentStatus>,
    /// Jobs' tasks: a rollback's record carries the wave's jobs still running, awaited until they
    /// stop (a migration is never left running unobserved).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobStatus>,
    /// Items still InProgress: the Choice loops while this is > 0 and nothing failed.
    pub pending: u32,
    /// Items Failed, TimedOut or Superseded.
    pub failed: u32,
    /// Items whose deployment step failed, or whose batch ended before deploying them: never
    /// polled, but a failure of the release all the same.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deploy_failed: u32,
    /// The wave whose items were added last: a release's record holds every wave deployed so far
    /// (the earlier ones all terminal), a rollback's every wave restored so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub wave: u32,
    /// Rollback phase: the waves below [`Self::wave`] still to roll back.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remaining_waves: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
