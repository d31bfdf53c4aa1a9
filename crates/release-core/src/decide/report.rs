//! The release report: one line per service and per rule target, built from the step records plus
//! what finish-release observed of the current task definitions (so "final" is what runs, not what
//! we think runs), and bounded to what the execution output can carry.

use std::collections::{BTreeMap, BTreeSet};

use crate::contract::{
    count, CaughtError, CleanupReport, DeploymentStatus, ItemKind, ItemOutcome, ItemResult,
    JobItem, Outcome, PlanItemKind, ReleaseOutcome, ReleaseRecords, ReleaseReport, ReportItem,
    Restore, RestoreOutcome, RollbackPolicy, StabilityOutput, TaskDefRef,
};
use crate::decide::rollback::target_item_id;

/// Error causes are cut to this many characters: a reason is read by people, not parsed.
const MAX_REASON_CHARS: usize = 500;

/// The execution output is at most this many bytes of JSON: it is also the Fail cause, which AWS
/// caps at 32 KiB after `States.JsonToString` escapes it (≈ 10 % longer).
pub const OUTPUT_BUDGET: usize = 24_000;

/// Item id → the task definition it runs now, as observed by finish-release.
pub type Observed = BTreeMap<String, String>;

/// `text` cut to [`MAX_REASON_CHARS`] characters, marked with `…` when cut.
pub fn cut_reason(text: &str) -> String {
    if text.chars().count() <= MAX_REASON_CHARS {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX_REASON_CHARS).collect();
        format!("{cut}…")
    }
}

/// `Error: message` of a caught error, cut for reading.
fn caught_reason(error: &CaughtError) -> String {
    cut_reason(&format!("{}: {}", error.error, error.message()))
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

impl Base {
    fn plain(outcome: ItemOutcome, new: Option<String>, reason: Option<String>) -> Base {
        Base {
            outcome,
            new,
            reason,
            stopped_reasons: Vec::new(),
            unconfirmed: false,
        }
    }
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

/// ` (desiredCount 2, minimumHealthyPercent 100)`: the settings a restore put back, if any.
fn restored_settings(restore: &Restore) -> String {
    let settings: Vec<String> = [
        ("desiredCount", restore.desired_count),
        ("minimumHealthyPercent", restore.minimum_healthy_percent),
        ("maximumPercent", restore.maximum_percent),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| format!("{name} {v}")))
    .collect();
    if settings.is_empty() {
        String::new()
    } else {
        format!(" ({})", settings.join(", "))
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
    let result_of = |kind, id: &str| input.results.iter().find(|r| r.is(kind, id));
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

    // A release the watchdog finishes may have been stopped (or timed out) with nothing failed.
    let why_restored = if anything_failed(input) {
        "after another item failed"
    } else {
        "because the release did not finish"
    };
    let mut items = Vec::new();
    let mut push = |(id, kind, wave): (String, ItemKind, u32),
                    previous: &str,
                    noop: bool,
                    base: Base| {
        if noop {
            items.push(ReportItem {
                final_task_definition: observed.get(&id).cloned().unwrap_or(previous.to_owned()),
                id,
                kind,
                wave,
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
        match restore_of(&id) {
            Some(
                r @ Restore {
                    outcome: RestoreOutcome::Restored | RestoreOutcome::AlreadyCurrent,
                    ..
                },
            ) => {
                inferred_final = previous.to_owned();
                let what = format!("restored{}", restored_settings(r));
                if outcome == ItemOutcome::Deployed {
                    outcome = ItemOutcome::RolledBack;
                    reason = join_reason(None, format!("{what} {why_restored}"));
                } else if base.unconfirmed && started {
                    outcome = ItemOutcome::RolledBack;
                    reason = join_reason(
                        None,
                        format!("{what}: the release stopped before its rollout was confirmed"),
                    );
                } else if started {
                    reason = join_reason(reason, format!("{what} to the previous task definition"));
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
            Some(
                r @ Restore {
                    outcome: RestoreOutcome::Failed,
                    ..
                },
            ) => {
                // It still runs what the release gave it while the release is undone: a failure
                // whatever its own rollout did.
                if outcome == ItemOutcome::Deployed {
                    outcome = ItemOutcome::Failed;
                    reason = join_reason(None, "deployed, then not restored".into());
                }
                let error = r
                    .error
                    .as_deref()
                    .map_or(String::new(), |e| format!("{e}: "));
                reason = join_reason(
                    reason,
                    format!(
                        "restore failed: {error}{}",
                        r.reason.as_deref().unwrap_or("unknown")
                    ),
                );
            }
            Some(
                r @ Restore {
                    outcome: RestoreOutcome::LeftAlone,
                    ..
                },
            ) => {
                // Someone else's revision now: whatever our rollout did, it no longer runs.
                outcome = ItemOutcome::Superseded;
                if let Some(running) = &r.running {
                    inferred_final = running.clone();
                }
                reason = join_reason(
                    reason,
                    r.reason
                        .clone()
                        .unwrap_or_else(|| "runs another revision: left alone".into()),
                );
            }
            Some(
                r @ Restore {
                    outcome: RestoreOutcome::Skipped,
                    ..
                },
            ) if started => {
                reason = join_reason(
                    reason,
                    format!(
                        "left alone by the rollback: {}",
                        r.reason.as_deref().unwrap_or("not selected")
                    ),
                );
            }
            Some(_) | None => {}
        }
        items.push(ReportItem {
            final_task_definition: observed.get(&id).cloned().unwrap_or(inferred_final),
            id,
            kind,
            wave,
            outcome,
            previous_task_definition: previous.to_owned(),
            new_task_definition: base.new,
            reason: reason.map(|r| cut_reason(&r)),
            stopped_reasons: base.stopped_reasons,
        });
    };

    for item in &input.plan.services {
        let result = result_of(PlanItemKind::Service, &item.id);
        let new = result
            .and_then(|r| r.deployment.as_ref())
            .map(|d| d.new_task_definition.clone())
            .or_else(|| item.new_task_definition.clone());
        let base = service_base(new, result, verdict_of(&item.id));
        push(
            (item.id.clone(), ItemKind::Service, item.wave),
            &item.previous_task_definition,
            item.noop,
            base,
        );
    }
    for rule in &input.plan.tasks {
        let result = result_of(PlanItemKind::Rule, &rule.id);
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
                (id, ItemKind::RuleTarget, rule.wave),
                &target.previous_task_definition,
                rule.noop || target.noop,
                base,
            );
        }
    }

    for item in &input.plan.schedules {
        let result = result_of(PlanItemKind::Schedule, &item.id);
        let outcome = match result {
            None => Base::plain(ItemOutcome::NotStarted, None, None),
            Some(ItemResult { error: Some(e), .. }) => Base::plain(
                ItemOutcome::Failed,
                item.new_task_definition.clone(),
                Some(caught_reason(e)),
            ),
            Some(ItemResult {
                schedule: Some(update),
                ..
            }) => Base::plain(
                ItemOutcome::Deployed,
                Some(update.new_task_definition.clone()),
                None,
            ),
            Some(_) => Base::plain(
                ItemOutcome::NotStarted,
                None,
                Some("not in the schedule update's result".into()),
            ),
        };
        push(
            (item.id.clone(), ItemKind::Schedule, item.wave),
            &item.previous_task_definition,
            item.noop,
            outcome,
        );
    }
    for job in &input.plan.jobs {
        items.push(job_item(input, job));
    }
    say_which_waves_never_started(&mut items);

    let outcome = release_outcome(input, &items);
    ReleaseReport {
        release_id: input.plan.release.id.clone(),
        outcome,
        items,
        problems: input
            .plan
            .problems
            .iter()
            .cloned()
            .chain(
                input
                    .failures
                    .iter()
                    .map(|(state, error)| format!("{state} failed: {}", caught_reason(error))),
            )
            .collect(),
        omitted_items: 0,
        full_report: None,
        cleanup: None,
        auto_scaling: None,
    }
}

/// Whether a step, a deployment or a job failed: why a rollback ran, unless the release was
/// stopped or timed out first.
fn anything_failed(input: &ReleaseRecords) -> bool {
    let judged_failed = |s: &StabilityOutput| s.failed > 0 || s.deploy_failed > 0;
    input.results.iter().any(|r| r.error.is_some())
        || input.stability.as_ref().is_some_and(judged_failed)
        || input.failures.iter().next().is_some()
}

/// The items of waves after the one the release stopped in (the last wave any item started in)
/// say so: a failure stops the release, and no later wave starts.
fn say_which_waves_never_started(items: &mut [ReportItem]) {
    let started = |i: &&mut ReportItem| {
        !matches!(i.outcome, ItemOutcome::NotStarted | ItemOutcome::Unchanged)
    };
    let Some(last) = items.iter_mut().filter(started).map(|i| i.wave).max() else {
        return;
    };
    for item in items.iter_mut() {
        if item.outcome == ItemOutcome::NotStarted && item.wave > last && item.reason.is_none() {
            item.reason = Some(format!(
                "wave {} never started: the release stopped in wave {}",
                item.wave + 1,
                last + 1
            ));
        }
    }
}

/// A job's line: how its task ended (the rollback's rounds, which await a job still running when
/// the release failed, have the last word), each container's exit, and — once something failed —
/// that a job that ran is not undone.
fn job_item(input: &ReleaseRecords, job: &JobItem) -> ReportItem {
    let result = input
        .results
        .iter()
        .find(|r| r.is(PlanItemKind::Job, &job.id));
    let judged = |record: Option<&StabilityOutput>| {
        record.and_then(|s| s.jobs.iter().find(|j| j.run.id == job.id).cloned())
    };
    let status = judged(input.rollback_stability.as_ref())
        .filter(|j| j.outcome.is_terminal())
        .or_else(|| judged(input.stability.as_ref()));
    let line = |outcome, new: Option<String>, reason: Option<String>| ReportItem {
        id: job.id.clone(),
        kind: ItemKind::Job,
        wave: job.wave,
        outcome,
        previous_task_definition: job.previous_task_definition.clone(),
        final_task_definition: new
            .clone()
            .unwrap_or_else(|| job.previous_task_definition.clone()),
        new_task_definition: new,
        reason: reason.map(|r| cut_reason(&r)),
        stopped_reasons: Vec::new(),
    };
    let run = match result {
        None => return line(ItemOutcome::NotStarted, None, None),
        Some(ItemResult {
            error: Some(error), ..
        }) => return line(ItemOutcome::Failed, None, Some(caught_reason(error))),
        Some(ItemResult { job: Some(run), .. }) => run,
        Some(_) => return line(ItemOutcome::NotStarted, None, None),
    };
    let new = Some(run.task_definition.clone());
    let Some(status) = status.filter(|s| s.outcome.is_terminal()) else {
        let reason = format!(
            "the release stopped before its task ended: {} may still be running",
            run.task_arn
        );
        return line(ItemOutcome::Failed, new, Some(reason));
    };
    let outcome = match status.outcome {
        Outcome::Succeeded => ItemOutcome::Ran,
        Outcome::TimedOut => ItemOutcome::TimedOut,
        _ => ItemOutcome::Failed,
    };
    let mut reason = status.reason.clone();
    if outcome == ItemOutcome::Ran && input.rollback.is_some() {
        reason = join_reason(
            reason,
            "a job that ran is not undone by the rollback (point of no return)".into(),
        );
    }
    let mut item = line(outcome, new, reason);
    item.stopped_reasons = status
        .containers
        .iter()
        .map(|c| {
            let exit = c
                .exit_code
                .map_or("no exit code".to_owned(), |code| format!("exit {code}"));
            let reason = c
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let essential = if c.essential { "" } else { ", not essential" };
            format!("{}: {exit}{reason}{essential}", c.name)
        })
        .collect();
    item
}

fn release_outcome(input: &ReleaseRecords, items: &[ReportItem]) -> ReleaseOutcome {
    let all_fine = items.iter().all(|i| {
        matches!(
            i.outcome,
            ItemOutcome::Deployed | ItemOutcome::Unchanged | ItemOutcome::Ran
        )
    });
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
    // Something was put back (or found back already): a release whose only change was a job
    // that failed has nothing the rollback undid, and is not called rolled back.
    let put_back = rollback.restores.iter().any(|r| {
        matches!(
            r.outcome,
            RestoreOutcome::Restored | RestoreOutcome::AlreadyCurrent
        )
    });
    let restored = input.plan.settings.rollback != RollbackPolicy::None
        && put_back
        && rollback
            .restores
            .iter()
            .all(|r| r.outcome != RestoreOutcome::Failed);
    let settled = input
        .rollback_stability
        .as_ref()
        // A job the rollback awaited is not restored: how it ended is its own line, not the
        // rollback's.
        .map_or(rollback.pending == 0 && rollback.failed == 0, |s| {
            s.pending == 0 && s.items.iter().all(|i| !i.outcome.is_failure())
        });
    if restored && settled {
        ReleaseOutcome::RolledBack
    } else {
        ReleaseOutcome::Failed
    }
}

/// Every task definition the release mentions (previous and new, services and rule targets).
pub fn referenced_revisions(input: &ReleaseRecords) -> BTreeSet<String> {
    let mut referenced = BTreeSet::new();
    let mut add = |td: &str| {
        if !td.is_empty() {
            referenced.insert(TaskDefRef::new(td).key().to_owned());
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

/// Which items a bounded report keeps first: what needs attention, then what changed.
fn attention(outcome: ItemOutcome) -> u8 {
    match outcome {
        ItemOutcome::Failed | ItemOutcome::TimedOut | ItemOutcome::Superseded => 0,
        ItemOutcome::NotStarted => 1,
        ItemOutcome::RolledBack => 2,
        ItemOutcome::Deployed | ItemOutcome::Ran => 3,
        ItemOutcome::Unchanged => 4,
    }
}

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// Clean-up problems a bounded report keeps.
const MAX_CLEANUP_PROBLEMS: usize = 3;

/// The clean-up's counts without its lists (and its first few problems).
fn cleanup_counts(cleanup: &mut CleanupReport) {
    cleanup.lists_omitted |=
        !(cleanup.deregistered.is_empty() && cleanup.kept.is_empty() && cleanup.failed.is_empty());
    cleanup.deregistered = Vec::new();
    cleanup.kept = Vec::new();
    cleanup.failed = Vec::new();
    cleanup.problems.truncate(MAX_CLEANUP_PROBLEMS);
}

/// The report with `fullReport` set, whole while the JSON fits `budget` bytes; otherwise the
/// clean-up keeps only its counts, then items are kept by what needs attention first (in report
/// order among equals), saying how many were left out.
pub fn bounded(mut report: ReleaseReport, full_report: String, budget: usize) -> ReleaseReport {
    report.full_report = Some(full_report);
    if json_len(&report) <= budget {
        return report;
    }
    if let Some(cleanup) = report.cleanup.as_mut() {
        cleanup_counts(cleanup);
        if json_len(&report) <= budget {
            return report;
        }
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
    report.omitted_items = count(0..total - report.items.len());
    report
}
