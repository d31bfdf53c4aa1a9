//! EventBridge Scheduler schedules whose target runs an ECS task: the manifest's `schedules:`
//! entries, the plan's schedule items and what deploying one changed (docs/decisions/0006 § step 7).
//!
//! A schedule is the third kind of scheduled task, next to a rule's ECS targets: the release
//! points its target at the new revision (UpdateSchedule with every other field as GetSchedule
//! read it), and a rollback points it back.

use serde::{Deserialize, Serialize};

use super::{ImageMap, Images};

/// The schedule group a schedule is in unless the manifest names another.
pub const DEFAULT_SCHEDULE_GROUP: &str = "default";

/// One `schedules:` entry of the release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleTarget {
    /// What `dependsOn` calls it; `None`: the schedule's name (`group/name` off the default group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Items of the release that must be Deployed before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The schedule's name.
    pub schedule: String,
    /// Its schedule group.
    pub group: String,
    pub images: Images,
}

/// A schedule of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleItem {
    /// `group/schedule`, unique in the release.
    pub id: String,
    #[serde(default, skip_serializing_if = "super::plan::is_first_wave")]
    pub wave: u32,
    pub group: String,
    pub schedule: String,
    /// The concrete revision its ECS target runs now: what rollback restores.
    pub previous_task_definition: String,
    pub images: ImageMap,
    pub noop: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_task_definition: Option<String>,
}

/// A schedule's update (recorded by deploy-batch): what its target pointed at before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleUpdate {
    pub id: String,
    pub group: String,
    pub schedule: String,
    pub previous_task_definition: String,
    pub new_task_definition: String,
}
