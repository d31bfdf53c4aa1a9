//! The clean-up after a successful release (`keepRevisions`): which old task-definition revisions
//! are deregistered and why every other one stays ACTIVE.
//!
//! ECS cannot start a task from an INACTIVE revision nor update a service to one, so a revision
//! goes only when all of this is known and true: it is not among the newest `keepRevisions` of its
//! family, not protected ([`Protected`]: what this release references, and the previous revisions
//! recent releases recorded in the release ledger), not used by any service of the release's
//! clusters (current task definition, any deployment or task set) nor by any ECS target of a rule
//! on the release's event buses ([`Usage`]), and tagged `convoy:release` (registered by convoy).
//! Whatever could not be listed or described keeps what it could protect.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{Service, Tag};
use aws_sdk_eventbridge::types::Target;

use crate::contract::{count, CleanupReport, KeepReason, KeptRevision, ReleaseRecords, TaskDefRef};
use crate::decide::report::referenced_revisions;
use crate::decide::taskdef::RELEASE_TAG;

/// Deregistrations per release: the task-definition modify bucket holds 20 and refills 1/s, and
/// the next release's registrations share it. What is left over goes with the next release.
pub const MAX_DEREGISTRATIONS: usize = 20;

/// DescribeTaskDefinition calls per release for the tag check: candidates beyond it are deferred.
pub const MAX_DESCRIBES: usize = 100;

/// DescribeTaskDefinition calls in flight at once (ECS's describe bucket is shared with every
/// other reader of the account).
pub const DESCRIBE_CONCURRENCY: usize = 5;

/// Revisions that stay whatever else is true, by `family:revision`, with why (and whose).
pub type Protected = BTreeMap<String, (KeepReason, Option<String>)>;

/// The revisions this release references (previous and new of every item).
pub fn protected_by_release(input: &ReleaseRecords) -> Protected {
    referenced_revisions(input)
        .into_iter()
        .map(|key| (key, (KeepReason::ReferencedByRelease, None)))
        .collect()
}

/// What the release ledger protects (`decide::ledger::protected_by_ledger`: the previous revisions
/// recent releases recorded), and what of it could not be listed: like a gap in [`Usage`], any
/// of those keeps every revision outside the newest and the protected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerProtected {
    pub protected: Protected,
    pub gaps: Vec<String>,
}

/// What the release's clusters and event buses run now: `family:revision` → who uses it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    by: BTreeMap<String, (KeepReason, String)>,
}

impl InUse {
    fn add(&mut self, task_definition: Option<&str>, reason: KeepReason, who: &str) {
        if let Some(td) = task_definition.filter(|td| !td.is_empty()) {
            self.by
                .entry(TaskDefRef::new(td).key().to_owned())
                .or_insert_with(|| (reason, who.to_owned()));
        }
    }

    /// Every revision a service runs or is moving to or from: its task definition, every
    /// deployment's (PRIMARY, ACTIVE and any other listed) and every task set's.
    pub fn services(&mut self, cluster: &str, services: &[Service]) {
        for s in services {
            let who = format!("{cluster}/{}", s.service_name().unwrap_or("?"));
            self.add(s.task_definition(), KeepReason::InUseByService, &who);
            for d in s.deployments() {
                self.add(d.task_definition(), KeepReason::InUseByService, &who);
            }
            for t in s.task_sets() {
                self.add(t.task_definition(), KeepReason::InUseByService, &who);
            }
        }
    }

    /// The task definition of every ECS target of one rule.
    pub fn rule_targets(&mut self, event_bus: &str, rule: &str, targets: &[Target]) {
        for t in targets {
            let who = format!("{event_bus}/{rule} target {}", t.id());
            let td = t.ecs_parameters().map(|e| e.task_definition_arn());
            self.add(td, KeepReason::InUseByRuleTarget, &who);
        }
    }

    /// Why and by whom `task_definition` is in use, if it is.
    pub fn get(&self, task_definition: &str) -> Option<(KeepReason, &str)> {
        self.by
            .get(TaskDefRef::new(task_definition).key())
            .map(|(reason, who)| (*reason, who.as_str()))
    }
}

/// What finish-release learnt about use, and what it could not list (`gaps`): with any gap,
/// nothing outside the newest and the protected revisions can be shown unused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub in_use: InUse,
    pub gaps: Vec<String>,
}

/// One family sorted before anything is described: what stays and why, and the candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triage {
    pub kept: Vec<KeptRevision>,
    /// Oldest first: over several releases the oldest go first.
    pub candidates: Vec<String>,
}

fn kept(task_definition: &str, reason: KeepReason, detail: Option<String>) -> KeptRevision {
    KeptRevision {
        task_definition: task_definition.to_owned(),
        reason,
        detail,
    }
}

/// Sorts one family's ACTIVE `revisions` (newest first): the newest `keep` stay, then the
/// protected, then those in use; with gaps in `usage` every other one stays unverified; what is
/// left is a candidate for the tag check.
pub fn triage(revisions: &[String], keep: usize, protected: &Protected, usage: &Usage) -> Triage {
    let mut triage = Triage::default();
    for (index, td) in revisions.iter().enumerate() {
        if index < keep {
            triage
                .kept
                .push(kept(td, KeepReason::Newest, Some(format!("newest {keep}"))));
        } else if let Some((reason, detail)) = protected.get(TaskDefRef::new(td).key()) {
            triage.kept.push(kept(td, *reason, detail.clone()));
        } else if let Some((reason, who)) = usage.in_use.get(td) {
            triage.kept.push(kept(td, reason, Some(who.to_owned())));
        } else if let Some(first) = usage.gaps.first() {
            triage
                .kept
                .push(kept(td, KeepReason::Unverified, Some(first.clone())));
        } else {
            triage.candidates.push(td.clone());
        }
    }
    triage.candidates.reverse();
    triage
}

/// Whether convoy registered the revision (it carries the `convoy:release` tag).
pub fn registered_by_convoy(tags: &[Tag]) -> bool {
    tags.iter().any(|t| t.key() == Some(RELEASE_TAG))
}

/// A candidate once described: deregister it (`None`) or keep it, untagged or undescribed.
pub fn judge(task_definition: &str, described: Result<&[Tag], String>) -> Option<KeptRevision> {
    match described {
        Ok(tags) if registered_by_convoy(tags) => None,
        Ok(_) => Some(kept(task_definition, KeepReason::NotTaggedByConvoy, None)),
        Err(why) => Some(kept(task_definition, KeepReason::Unverified, Some(why))),
    }
}

/// The counts of a clean-up report, from its lists.
pub fn counted(mut report: CleanupReport) -> CleanupReport {
    report.deregistered_count = count(report.deregistered.iter());
    report.kept_count = count(report.kept.iter());
    report.failed_count = count(report.failed.iter());
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convoy_tag_is_the_key_whatever_its_value() {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        assert!(registered_by_convoy(&[
            tag("env", "prod"),
            tag(RELEASE_TAG, "r-1")
        ]));
        assert!(!registered_by_convoy(&[tag("env", "prod")]));
        assert!(!registered_by_convoy(&[tag(
            "convoy:previous-revision",
            "x:1"
        )]));
        assert!(!registered_by_convoy(&[]));
    }
}
