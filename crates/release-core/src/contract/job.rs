//! One-off jobs (migrations): the manifest's `jobs:` entries, the plan's job items, the task a
//! release started for one, and its verdict (docs/decisions/0006 § jobs).
//!
//! A job is forward-only: once its task has run, nothing undoes it. It succeeds when its task
//! STOPPED with every essential container's exit code 0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ImageMap, Images, Outcome};

/// One `jobs:` entry of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobTarget {
    /// What `dependsOn` calls it; with the cluster, its id (`cluster/name`).
    pub name: String,
    /// Items of the release that must be Deployed before it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    pub cluster: String,
    /// A family: its newest ACTIVE revision is cloned with `images`.
    pub task_definition: String,
    pub images: Images,
    /// Container name → what its task runs instead of the definition's command and environment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, ContainerOverride>,
    #[serde(flatten)]
    pub launch: JobLaunchSettings,
    /// Until it must have stopped; then it is stopped (StopTask) and counts as timed out.
    pub timeout_seconds: u32,
}

/// How the manifest says to launch a job's task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobLaunchSettings {
    /// `cluster/service` whose network configuration (and, unless given here, launch type or
    /// capacity provider strategy and platform version) the task gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<AwsVpcSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

/// What one container of a job's task runs instead of its definition's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Added to (or replacing) the definition's variables of the same names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

/// An `awsvpc` network configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsVpcSettings {
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityProviderShare {
    pub capacity_provider: String,
    #[serde(default)]
    pub weight: i32,
    #[serde(default)]
    pub base: i32,
}

/// How a job's task is launched, resolved by plan-release (`networkFrom` read from its service).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobLaunch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<AwsVpcSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
}

/// A job of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobItem {
    /// `cluster/name`, unique in the release.
    pub id: String,
    #[serde(default, skip_serializing_if = "super::plan::is_first_wave")]
    pub wave: u32,
    pub cluster: String,
    pub name: String,
    /// The family's newest ACTIVE revision when planned: what the job's revision is cloned from.
    pub previous_task_definition: String,
    /// Resolved container name → image.
    pub images: ImageMap,
    /// The containers whose exit code decides the verdict (`essential`, the default).
    pub essential_containers: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, ContainerOverride>,
    #[serde(default)]
    pub launch: JobLaunch,
    pub timeout_seconds: u32,
    /// The revision the task runs: set by plan-release when the newest revision already has the
    /// images (nothing to register), else filled in when registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
}

/// The task deploy-batch started for a job; the unit check-stability judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobRun {
    pub id: String,
    pub cluster: String,
    pub task_arn: String,
    pub task_definition: String,
    pub essential_containers: Vec<String>,
    /// Unix seconds after which a task still running is stopped and the job timed out.
    pub deadline: i64,
}

/// How one container of a job's task ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerExit {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub essential: bool,
}

/// A job's task with its latest verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobStatus {
    #[serde(flatten)]
    pub run: JobRun,
    #[serde(default)]
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The task's last status when polled (`PROVISIONING`, `RUNNING`, `STOPPED`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// Its containers, once the task stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerExit>,
    /// StopTask was called at the deadline (once).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_requested: bool,
}

impl JobStatus {
    /// A job's task not judged yet.
    pub fn started(run: JobRun) -> Self {
        JobStatus {
            run,
            outcome: Outcome::InProgress,
            reason: None,
            last_status: None,
            containers: Vec::new(),
            stop_requested: false,
        }
    }
}
