//! The release report (one line per service and per rule target) and the clean-up of old revisions
//! after a successful release.
//!
//! `build` is pure: everything comes from the step records, plus what finish-release observed of
//! the current task definitions (so "final" is what runs, not what we think runs). Clean-up never
//! touches a revision the release references, and never fails the release.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{ecs::family_of, EcsApi, EventsApi, ObjectStore};
use crate::records::{RecordStore, REPORT};
use crate::rollback::target_item_id;
use crate::stability::task_definition_key;
use crate::step::{
    CaughtError, DeploymentStatus, FinishInput, ItemKind, ItemOutcome, ItemResult, Outcome,
    ReleaseOutcome, ReleaseRecords, ReleaseReport, ReportItem, RestoreOutcome, RollbackPolicy,
};
use crate::Error;

/// Deregistrations per release: the task-definition modify bucket holds 20 and refills 1/s, and
/// the next release's registrations share it. What is left over goes with the next release.
pub const MAX_DEREGISTRATIONS: usize = 20;
/// Error causes are cut to this many characters: a reason is read by people, not parsed.
const MAX_REASON_CHARS: usize = 500;

/// The execution output is at most this many bytes of JSON: it is also the Fail cause, which AWS
/// caps at 32 KiB after `States.JsonToString` escapes it (≈ 10 % longer).
pub const OUTPUT_BUDGET: usize = 24_000;

/// Item id → the task definition it runs now, as observed by finish-release.
pub type Observed = BTreeMap<String, String>;

fn short(text: &str) -> String {
    if text.chars().count() <= MAX_REASON_CHARS {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX_REASON_CHARS).collect();
        format!("{cut}…")
    }
}

/// `Error: message` of a caught error; the Lambda cause is JSON with the function's message inside.
fn caught_reason(error: &CaughtError) -> String {
    let message = serde_json::from_str::<serde_json::Value>(&error.cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| error.cause.clone());
    short(&format!("{}: {message}", error.error))
}

fn verdict_outcome(outcome: Outcome) -> ItemOutcome {
    match outcome {
        Outcome::Succeeded => ItemOutcome::Deployed,
        Outcome::Failed | Outcome::InProgress => ItemOutcome::Failed,
        Outcome::TimedOut => ItemOutcome::TimedOut,
        Outcome::Superseded => ItemOutcome::Superseded,
    }
}

/// What the deployment steps and the stability rounds say about one item, before any rollback.
struct Base {
    outcome: ItemOutcome,
    new: Option<String>,
    reason: Option<String>,
    stopped_reasons: Vec<String>,
    /// Started but never confirmed either way (the release stopped first).
    unconfirmed: bool,
}

fn service_base(
    new: Option<String>,
    result: Option<&ItemResult>,
    verdict: Option<&DeploymentStatus>,
) -> Base {
    let base = |outcome, new, reason| Base {
        outcome,
        new,
        reason,
        stopped_reasons: Vec::new(),
        unconfirmed: false,
    };
    match result {
        None => base(ItemOutcome::NotStarted, None, None),
        Some(ItemResult {
            error: Some(error), ..
        }) => base(ItemOutcome::Failed, new, Some(caught_reason(error))),
        Some(ItemResult {
            deployment: Some(d),
            ..
        }) => {
            let new = Some(d.new_task_definition.clone());
            match verdict {
                Some(v) if v.outcome.is_terminal() => Base {
                    outcome: verdict_outcome(v.outcome),
                    new,
                    reason: v.reason.clone(),
                    stopped_reasons: v.stopped_reasons.clone(),
                    unconfirmed: false,
                },
                _ => Base {
                    outcome: ItemOutcome::Failed,
                    new,
                    reason: Some("the release stopped before this rollout finished".into()),
                    stopped_reasons: Vec::new(),
                    unconfirmed: true,
                },
            }
        }
        // A result with neither deployment nor error: nothing was started.
        Some(_) => base(ItemOutcome::NotStarted, None, None),
    }
}

fn join_reason(reason: Option<String>, more: String) -> Option<String> {
    Some(match reason {
        Some(r) => format!("{r}; {more}"),
        None => more,
    })
}

/// Builds the report. `observed` wins for the final task definition; without it, the final one is
/// inferred from the records.
pub fn build(input: &ReleaseRecords, observed: &Observed) -> ReleaseReport {
    let result_of = |id: &str| input.results.iter().find(|r| r.id == id);
    let verdict_of = |id: &str| {
        input
            .stability
            .as_ref()
            .and_then(|s| s.items.iter().find(|i| i.deployment.id == id))
    };
    let restore_of = |id: &str| {
        input
            .rollback
            .as_ref()
            .and_then(|r| r.restores.iter().find(|x| x.id == id))
    };
    let rollback_verdict_of = |id: &str| {
        input
            .rollback_stability
            .as_ref()
            .and_then(|s| s.items.iter().find(|i| i.deployment.id == id))
    };

    let mut items = Vec::new();
    let mut push = |id: String, kind: ItemKind, previous: &str, noop: bool, base: Base| {
        if noop {
            items.push(ReportItem {
                final_task_definition: observed.get(&id).cloned().unwrap_or(previous.to_owned()),
                id,
                kind,
                outcome: ItemOutcome::Unchanged,
                previous_task_definition: previous.to_owned(),
                new_task_definition: None,
                reason: None,
                stopped_reasons: Vec::new(),
            });
            return;
        }
        let mut outcome = base.outcome;
        let mut reason = base.reason;
        let started = base.new.is_some() && outcome != ItemOutcome::NotStarted;
        let mut inferred_final = match &base.new {
            Some(new) if started => new.clone(),
            _ => previous.to_owned(),
        };
        match restore_of(&id).map(|r| (r.outcome, r.reason.clone())) {
            Some((RestoreOutcome::Restored | RestoreOutcome::AlreadyCurrent, _)) => {
                inferred_final = previous.to_owned();
                if outcome == ItemOutcome::Deployed || (base.unconfirmed && started) {
                    outcome = ItemOutcome::RolledBack;
                    reason = join_reason(None, "restored after another item failed".into());
                } else if started {
                    reason = join_reason(reason, "restored to the previous task definition".into());
                }
                if let Some(v) = rollback_verdict_of(&id) {
                    if v.outcome != Outcome::Succeeded {
                        reason = join_reason(
                            reason,
                            format!(
                                "rollback rollout {:?}: {}",
                                v.outcome,
                                v.reason.as_deref().unwrap_or("no reason")
                            ),
                        );
                    }
                }
            }
            Some((RestoreOutcome::Failed, why)) => {
                reason = join_reason(
                    reason,
                    format!("restore failed: {}", why.as_deref().unwrap_or("unknown")),
                );
            }
            Some((RestoreOutcome::Skipped, _)) | None => {}
        }
        items.push(ReportItem {
            final_task_definition: observed.get(&id).cloned().unwrap_or(inferred_final),
            id,
            kind,
            outcome,
            previous_task_definition: previous.to_owned(),
            new_task_definition: base.new,
            reason: reason.map(|r| short(&r)),
            stopped_reasons: base.stopped_reasons,
        });
    };

    for item in &input.plan.services {
        let result = result_of(&item.id);
        let new = result
            .and_then(|r| r.deployment.as_ref())
            .map(|d| d.new_task_definition.clone())
            .or_else(|| item.new_task_definition.clone());
        let base = service_base(new, result, verdict_of(&item.id));
        push(
            item.id.clone(),
            ItemKind::Service,
            &item.previous_task_definition,
            item.noop,
            base,
        );
    }
    for rule in &input.plan.tasks {
        let result = result_of(&rule.id);
        for target in &rule.targets {
            let id = target_item_id(&rule.id, &target.target_id);
            let change = result
                .and_then(|r| r.rule.as_ref())
                .and_then(|u| u.targets.iter().find(|c| c.target_id == target.target_id));
            let base = match (result, change) {
                (None, _) => Base {
                    outcome: ItemOutcome::NotStarted,
                    new: None,
                    reason: None,
                    stopped_reasons: Vec::new(),
                    unconfirmed: false,
                },
                (Some(ItemResult { error: Some(e), .. }), _) => Base {
                    outcome: ItemOutcome::Failed,
                    new: target.new_task_definition.clone(),
                    reason: Some(caught_reason(e)),
                    stopped_reasons: Vec::new(),
                    unconfirmed: false,
                },
                (Some(_), Some(change)) => Base {
                    outcome: ItemOutcome::Deployed,
                    new: Some(change.new_task_definition.clone()),
                    reason: None,
                    stopped_reasons: Vec::new(),
                    unconfirmed: false,
                },
                (Some(_), None) => Base {
                    outcome: ItemOutcome::NotStarted,
                    new: None,
                    reason: Some("not in the rule update's result".into()),
                    stopped_reasons: Vec::new(),
                    unconfirmed: false,
                },
            };
            push(
                id,
                ItemKind::RuleTarget,
                &target.previous_task_definition,
                rule.noop || target.noop,
                base,
            );
        }
    }

    let outcome = release_outcome(input, &items);
    ReleaseReport {
        release_id: input.plan.release.id.clone(),
        outcome,
        items,
        problems: input
            .failures
            .iter()
            .map(|(state, error)| format!("{state} failed: {}", caught_reason(error)))
            .collect(),
        omitted_items: 0,
        full_report: None,
    }
}

fn release_outcome(input: &ReleaseRecords, items: &[ReportItem]) -> ReleaseOutcome {
    let all_fine = items
        .iter()
        .all(|i| matches!(i.outcome, ItemOutcome::Deployed | ItemOutcome::Unchanged));
    if all_fine && input.rollback.is_none() {
        return ReleaseOutcome::Succeeded;
    }
    let Some(rollback) = &input.rollback else {
        return ReleaseOutcome::Failed;
    };
    if input.failures.await_rollback.is_some() {
        // The restoring rollouts were never confirmed.
        return ReleaseOutcome::Failed;
    }
    let restored = input.plan.settings.rollback != RollbackPolicy::None
        && rollback
            .restores
            .iter()
            .all(|r| r.outcome != RestoreOutcome::Failed);
    let settled = input
        .rollback_stability
        .as_ref()
        .map_or(rollback.pending == 0 && rollback.failed == 0, |s| {
            s.pending == 0 && s.failed == 0
        });
    if restored && settled {
        ReleaseOutcome::RolledBack
    } else {
        ReleaseOutcome::Failed
    }
}

/// Old revisions to deregister from one family: `revisions` are its ACTIVE ones, newest first. The
/// newest `keep` stay, and so does every revision in `referenced` (by `family:revision`).
pub fn revisions_to_deregister(
    revisions: &[String],
    keep: usize,
    referenced: &BTreeSet<String>,
) -> Vec<String> {
    revisions
        .iter()
        .skip(keep)
        .filter(|r| !referenced.contains(task_definition_key(r)))
        .cloned()
        .collect()
}

/// Every task definition the release mentions (previous and new, services and rule targets).
pub fn referenced_revisions(input: &ReleaseRecords) -> BTreeSet<String> {
    let mut referenced = BTreeSet::new();
    let mut add = |td: &str| {
        if !td.is_empty() {
            referenced.insert(task_definition_key(td).to_owned());
        }
    };
    for s in &input.plan.services {
        add(&s.previous_task_definition);
        if let Some(n) = &s.new_task_definition {
            add(n);
        }
    }
    for r in &input.plan.tasks {
        for t in &r.targets {
            add(&t.previous_task_definition);
            if let Some(n) = &t.new_task_definition {
                add(n);
            }
        }
    }
    for result in &input.results {
        if let Some(d) = &result.deployment {
            add(&d.previous_task_definition);
            add(&d.new_task_definition);
        }
        if let Some(u) = &result.rule {
            for c in &u.targets {
                add(&c.previous_task_definition);
                add(&c.new_task_definition);
            }
        }
    }
    referenced
}

/// What the clean-up did, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub deregistered: Vec<String>,
    pub failed: Vec<String>,
    /// Left for the next release because of [`MAX_DEREGISTRATIONS`].
    pub deferred: usize,
}

/// Deregisters old ACTIVE revisions of each family the release changed, keeping the newest `keep`
/// and everything the release references. Failures are collected, never returned.
pub async fn cleanup(ecs: &impl EcsApi, input: &ReleaseRecords, report: &ReleaseReport) -> Cleanup {
    let keep = input.plan.settings.keep_revisions as usize;
    let mut summary = Cleanup::default();
    if keep == 0 || report.outcome != ReleaseOutcome::Succeeded {
        return summary;
    }
    let referenced = referenced_revisions(input);
    let families: BTreeSet<&str> = report
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Deployed)
        .filter_map(|i| i.new_task_definition.as_deref())
        .map(family_of)
        .collect();
    let mut budget = MAX_DEREGISTRATIONS;
    for family in families {
        let revisions = match ecs.list_task_definition_revisions(family).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(family, error = %e, "could not list revisions for clean-up");
                summary.failed.push(family.to_owned());
                continue;
            }
        };
        for old in revisions_to_deregister(&revisions, keep, &referenced) {
            if budget == 0 {
                summary.deferred += 1;
                continue;
            }
            budget -= 1;
            match ecs.deregister_task_definition(&old).await {
                Ok(()) => summary.deregistered.push(old),
                Err(e) => {
                    tracing::warn!(task_definition = %old, error = %e, "could not deregister");
                    summary.failed.push(old);
                }
            }
        }
    }
    tracing::info!(
        deregistered = summary.deregistered.len(),
        failed = summary.failed.len(),
        deferred = summary.deferred,
        "old revisions cleaned up"
    );
    summary
}

/// Looks up what every changed item runs now. Best effort: what cannot be observed is inferred by
/// [`build`] instead, and the failure is logged.
pub async fn observe(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Observed {
    let mut observed = Observed::new();
    let mut by_cluster: BTreeMap<&str, Vec<&crate::step::ServiceItem>> = BTreeMap::new();
    for s in input.plan.services.iter().filter(|s| !s.noop) {
        by_cluster.entry(s.cluster.as_str()).or_default().push(s);
    }
    for (cluster, items) in by_cluster {
        let names: Vec<String> = items.iter().map(|i| i.service.clone()).collect();
        match ecs.describe_services(cluster, &names).await {
            Ok(found) => {
                for item in items {
                    let td = found
                        .items
                        .iter()
                        .find(|s| s.service_name.as_deref() == Some(item.service.as_str()))
                        .and_then(|s| s.task_definition.clone());
                    if let Some(td) = td {
                        observed.insert(item.id.clone(), td);
                    }
                }
            }
            Err(e) => tracing::warn!(cluster, error = %e, "could not observe services"),
        }
    }
    for rule in input.plan.tasks.iter().filter(|r| !r.noop) {
        match events.list_targets(&rule.event_bus, &rule.rule).await {
            Ok(targets) => {
                for t in targets {
                    if let Some(ecs) = t.ecs_parameters {
                        observed.insert(target_item_id(&rule.id, &t.id), ecs.task_definition_arn);
                    }
                }
            }
            Err(e) => tracing::warn!(rule = %rule.id, error = %e, "could not observe rule targets"),
        }
    }
    observed
}

/// finish-release: observe, report, and clean up after a success.
pub async fn finish(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Result<ReleaseReport, Error> {
    let observed = observe(ecs, events, input).await;
    let report = build(input, &observed);
    cleanup(ecs, input, &report).await;
    Ok(report)
}

/// finish-release: reads the execution's records, reports (and cleans up), writes the full report,
/// and returns it [`bounded`] to [`OUTPUT_BUDGET`].
pub async fn finish_release(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    store: &RecordStore<impl ObjectStore>,
    input: &FinishInput,
) -> Result<ReleaseReport, Error> {
    let records = store
        .release_records(&input.records, &input.deploy, &input.failures)
        .await?;
    let report = finish(ecs, events, &records).await?;
    store.write(&input.records, REPORT, &report).await?;
    Ok(bounded(report, input.records.uri(REPORT), OUTPUT_BUDGET))
}

/// Which items a bounded report keeps first: what needs attention, then what changed.
fn attention(outcome: ItemOutcome) -> u8 {
    match outcome {
        ItemOutcome::Failed | ItemOutcome::TimedOut | ItemOutcome::Superseded => 0,
        ItemOutcome::NotStarted => 1,
        ItemOutcome::RolledBack => 2,
        ItemOutcome::Deployed => 3,
        ItemOutcome::Unchanged => 4,
    }
}

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// The report with `fullReport` set, keeping every item while the JSON fits `budget` bytes;
/// otherwise the items that need attention first (in report order among equals), and how many
/// were left out.
pub fn bounded(mut report: ReleaseReport, full_report: String, budget: usize) -> ReleaseReport {
    report.full_report = Some(full_report);
    if json_len(&report) <= budget {
        return report;
    }
    let items = std::mem::take(&mut report.items);
    // Room for the omitted-items count the bounded report gains.
    let mut size = json_len(&report) + r#","omittedItems":4294967295"#.len();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| attention(items[i].outcome));
    let mut keep = vec![false; items.len()];
    for i in order {
        let cost = json_len(&items[i]) + 1;
        if size + cost > budget {
            break;
        }
        size += cost;
        keep[i] = true;
    }
    let total = items.len();
    report.items = items
        .into_iter()
        .zip(keep)
        .filter_map(|(item, kept)| kept.then_some(item))
        .collect();
    report.omitted_items = (total - report.items.len()) as u32;
    report
}
