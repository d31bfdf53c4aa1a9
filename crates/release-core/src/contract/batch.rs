//! deploy-batch: one child of a wave's Distributed Map deploys one batch of the plan's changed
//! items, paced to its share of ECS's account buckets (docs/decisions/0006).

use serde::{Deserialize, Serialize};

use super::{CaughtError, JobItem, PlanItemKind, Records, RuleItem, ScheduleItem, ServiceItem};

/// A token bucket: `burst` calls at once, then one more every `refill_interval_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bucket {
    pub burst: u32,
    pub refill_interval_ms: u64,
}

/// A batch's shares of the account's RegisterTaskDefinition and UpdateService buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pace {
    pub registrations: Bucket,
    pub updates: Bucket,
}

/// One element of `waves/<k>/batches.json`, what the Map's ItemReader hands each child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchSpec {
    /// The batch's index in its wave: `waves/<k>/batches/<batch>.json` holds its items.
    pub batch: u32,
    /// Changed items (services and rules) in the batch.
    pub items: u32,
    /// Distinct task definitions the batch registers.
    pub registrations: u32,
    pub pace: Pace,
}

/// `waves/<k>/batches/<i>.json`: the plan items of one batch, whole, so a call reads only its own.
/// Items that share a registration are in the same batch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchItems {
    #[serde(default)]
    pub services: Vec<ServiceItem>,
    #[serde(default)]
    pub tasks: Vec<RuleItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobItem>,
}

impl BatchItems {
    /// Every item's kind and id, in the batch's order: services, rules, schedules, jobs.
    pub fn kinds_and_ids(&self) -> impl Iterator<Item = (PlanItemKind, &str)> {
        let services = self
            .services
            .iter()
            .map(|s| (PlanItemKind::Service, s.id.as_str()));
        let rules = self
            .tasks
            .iter()
            .map(|r| (PlanItemKind::Rule, r.id.as_str()));
        let schedules = self
            .schedules
            .iter()
            .map(|s| (PlanItemKind::Schedule, s.id.as_str()));
        let jobs = self.jobs.iter().map(|j| (PlanItemKind::Job, j.id.as_str()));
        services.chain(rules).chain(schedules).chain(jobs)
    }
}

/// deploy-batch input: the Map's ItemSelector around one element of `batches.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchInput {
    pub release_id: String,
    pub records: Records,
    /// The parent execution (a child's own context is not the release's).
    pub execution_arn: String,
    pub wave: u32,
    pub batch: BatchSpec,
}

/// deploy-batch output: what the child's loop branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchProgress {
    /// Items not deployed yet: the child calls again.
    pub remaining: u32,
    pub failed: u32,
}

/// An item of the batch that failed, with its error's stable name (the message is in its record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailedItem {
    pub kind: PlanItemKind,
    pub id: String,
    pub error: String,
}

/// What a batch's calls did at ECS. Every attempt is counted once, whatever it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallCounts {
    /// RegisterTaskDefinition calls that registered a revision.
    pub registered: u32,
    /// Registrations found already made by an earlier attempt of this release (no call).
    pub reused: u32,
    /// UpdateService calls that started a deployment.
    pub updated: u32,
    /// RunTask calls that started a job's task.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub started: u32,
    /// Attempts ECS (or EventBridge) answered with throttling: retried after the next token.
    pub throttled: u32,
    /// Attempts that found AWS unavailable: retried after a pause.
    pub unavailable: u32,
}

impl CallCounts {
    pub fn add(&mut self, other: CallCounts) {
        self.registered = self.registered.saturating_add(other.registered);
        self.reused = self.reused.saturating_add(other.reused);
        self.updated = self.updated.saturating_add(other.updated);
        self.started = self.started.saturating_add(other.started);
        self.throttled = self.throttled.saturating_add(other.throttled);
        self.unavailable = self.unavailable.saturating_add(other.unavailable);
    }
}

/// `waves/<k>/batches/<i>/summary.json`, rewritten after every call of deploy-batch. A batch
/// without one at the end of its wave was interrupted: its items count as failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchSummary {
    pub batch: u32,
    pub items: u32,
    /// Items with a result record (deployed or failed).
    pub done: u32,
    pub remaining: u32,
    pub failed: Vec<FailedItem>,
    /// Every call's counts, added up.
    pub calls: CallCounts,
    /// Calls of deploy-batch for this batch so far.
    pub invocations: u32,
    /// Why the last call failed as a whole (AWS still throttling or unavailable after every
    /// attempt, a record that could not be written); none when it ended normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<CaughtError>,
}

impl BatchSummary {
    pub fn progress(&self) -> BatchProgress {
        BatchProgress {
            remaining: self.remaining,
            failed: super::count(self.failed.iter()),
        }
    }
}

impl FailedItem {
    pub fn new(kind: PlanItemKind, id: &str, error: &CaughtError) -> Self {
        FailedItem {
            kind,
            id: id.to_owned(),
            error: error.error.clone(),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
