//! watchdog: an execution that ended outside the state machine (stopped by an operator, timed out,
//! or failed where no Catch sees it) and what the watchdog did about it.

use serde::{Deserialize, Serialize};

use super::ReleaseReport;

/// The `detail` of a Step Functions "Execution Status Change" event, as EventBridge delivers it.
/// Unknown fields are ignored: AWS adds fields to this event (redrive, versions, aliases).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    pub state_machine_arn: String,
    /// The execution name: the last part of the records prefix.
    pub name: String,
    pub status: ExecutionStatus,
    /// Unix milliseconds.
    #[serde(default)]
    pub start_date: Option<i64>,
    #[serde(default)]
    pub stop_date: Option<i64>,
    /// The execution input as a JSON string; absent (`inputDetails.included` false) when it did not
    /// fit the event, and then read with DescribeExecution.
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
}

/// A Step Functions execution status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
    PendingRedrive,
    /// A status this version does not know; never acted on.
    #[serde(other)]
    Unknown,
}

impl ExecutionStatus {
    /// As AWS spells it (`TIMED_OUT`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
            ExecutionStatus::PendingRedrive => "PENDING_REDRIVE",
            ExecutionStatus::Unknown => "UNKNOWN",
        }
    }
}

/// What the watchdog did with one ended execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecoveryAction {
    /// Not an ending the watchdog acts on (the execution runs, or it succeeded).
    Ignored,
    /// The execution had written its report: only locks it still held were given back.
    AlreadyReported,
    /// The execution ended before it recorded a plan: nothing was changed, nothing is written;
    /// locks it still held were given back.
    NothingChanged,
    /// The watchdog applied the rollback policy, wrote the report and gave back the locks.
    Reported,
}

/// The watchdog's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recovery {
    pub execution_arn: String,
    pub status: ExecutionStatus,
    pub action: RecoveryAction,
    /// `None` when the execution was ignored before its input was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// Release locks of this execution given back now.
    pub locks_given_back: u32,
    /// The report written (bounded like an execution output), for `Reported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReleaseReport>,
}
