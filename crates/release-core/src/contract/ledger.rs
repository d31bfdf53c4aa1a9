//! The release ledger: which release touched which service or rule, newest first, in the records
//! bucket beside the locks (docs/decisions/0005). One entry per execution of a release, and one per
//! item it changed; each points at the execution and its full report.

use serde::{Deserialize, Serialize};

use super::{ItemOutcome, PlanItemKind, ReleaseOutcome};

/// `ledger/releases/{release id}/…` and `ledger/items/{kind}/{item id}/…`: one execution of a
/// release, as it started and, once finished, how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerEntry {
    pub release_id: String,
    pub execution_name: String,
    pub execution_arn: String,
    /// Unix milliseconds: when the execution's first ledger entry was written (its plan-release).
    pub started_at: i64,
    /// Unix milliseconds; `None` while the release runs (or if it never finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// `None` while the release runs (or if it never finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ReleaseOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The manifest the release came from.
    pub source: String,
    /// `s3://…/report.json`: every item of the release, once it finished.
    pub report: String,
    pub changed_services: u32,
    pub changed_tasks: u32,
    /// In an item's entry: that item, with its revisions. A release's own entry has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<LedgerItem>,
}

/// One service or rule a release changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerItem {
    pub kind: PlanItemKind,
    /// `cluster/service` or `eventBus/rule`.
    pub id: String,
    /// One for a service; one per ECS target for a rule.
    pub revisions: Vec<LedgerRevisions>,
}

/// What one service or rule target ran before the release, what the release registered for it,
/// and what it ran when the release finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerRevisions {
    /// The rule target's id; `None` for a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub previous: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// Once the release finished.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "final")]
    pub final_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ItemOutcome>,
}

/// `ledger/revisions/{family}/{revision}/…`: a revision a release recorded as an item's previous
/// one, which `convoy rollback` of that release puts back. The key says it all (the clean-up reads
/// only keys); the body is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerRevisionMark {
    pub release_id: String,
    pub execution_arn: String,
    /// `service:prod/web` or `rule:default/nightly`.
    pub item: String,
    pub task_definition: String,
    /// Unix milliseconds (the release's start, as in its entries).
    pub recorded_at: i64,
}
