//! Application Auto Scaling held during a release (`suspendAutoScaling`): what plan-release recorded
//! of each held service's scalable target, the record deploy-batch writes before suspending it, and
//! what the restore did.

use serde::{Deserialize, Serialize};

/// The scalable dimension of an ECS service's desired count.
pub const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";

/// The three suspend flags of a scalable target, as Application Auto Scaling reports them (absent:
/// `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuspendedState {
    pub dynamic_scaling_in_suspended: bool,
    pub dynamic_scaling_out_suspended: bool,
    pub scheduled_scaling_suspended: bool,
}

impl SuspendedState {
    /// What a release sets while it runs: nothing scales the service.
    pub const ALL: SuspendedState = SuspendedState {
        dynamic_scaling_in_suspended: true,
        dynamic_scaling_out_suspended: true,
        scheduled_scaling_suspended: true,
    };
}

/// A service's scalable target as plan-release described it: what the restore puts back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalableTarget {
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub suspended: SuspendedState,
}

impl ScalableTarget {
    /// The resource id of an ECS service's scalable target.
    pub fn resource_id(cluster: &str, service: &str) -> String {
        format!("service/{cluster}/{service}")
    }
}

/// `scaling/<cluster>/<service>.json` under the execution's records: written before the target is
/// suspended, so that whatever finishes the release (finish-release, the watchdog, `convoy
/// rollback`, `convoy resume-scaling`) knows to put `previous` back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingHold {
    /// The service's item id (`cluster/service`).
    pub id: String,
    pub release_id: String,
    pub execution_arn: String,
    /// The target's state before the release suspended it.
    pub previous: ScalableTarget,
}

/// What the restore did with each held service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingReport {
    /// Item ids whose target is back on its recorded state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restored: Vec<String>,
    /// `id: reason` of each target that could not be restored (`convoy resume-scaling` retries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}
