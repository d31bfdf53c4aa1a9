//! Per-item progress of a release, from its execution history and its release records. The
//! history says which states the release passed (planned → deploying → registered → updating →
//! deployed, or failed → rolled back); the state keeps only counts (docs/decisions/0003, 0006), and
//! a wave's items are deployed by the children of a Distributed Map, whose events are not in the
//! history, so the items themselves come from the records in S3: the plan, the wave's batches and
//! their summaries, the items' results, the stability rounds, the restores.
//!
//! What a settled item's outcome and reason are is the report's rule: the records read so far are
//! kept as the report is built from them, and `release_core::decide::report::build` says it. Only
//! what the report cannot know — where an item is while its step still runs — is decided here.
//!
//! Pure: [`Tracker::wanted`] says which records a batch of events needs (given those already read
//! for it: a wave's batch list leads to its batches, their summaries to the items' results), the
//! caller reads them, and [`Tracker::apply`] turns events and records into rows. Events are applied
//! in id order and each at most once, so the history can be read incrementally.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sfn::types::HistoryEvent;
use release_core::contract::{
    BatchItems, BatchSpec, BatchSummary, CaughtError, DeploymentStatus, ItemKind, ItemOutcome,
    ItemResult, Outcome, Plan, PlanItemKind, Records, ReleaseRecords, ReleaseReport, ReportItem,
    RestoreOutcome, StabilityOutput, StabilityPhase,
};
use release_core::decide::batches::interruption;
use release_core::decide::report::{build, Observed};
use release_core::decide::rollback::target_item_id;
use release_core::records::result_name;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::events::{
    map_event, planned_records, state_exit, states, Fetched, MapEvent, Record, StateExit, Wanted,
    WaveState,
};

/// Where an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    Planned,
    Unchanged,
    /// Its batch is deploying: registering the batch's task definitions, updating its items.
    Deploying,
    /// Its new task definition is registered.
    Registered,
    /// UpdateService started its rollout.
    Updating,
    /// Rollout stable (services) or targets pointed at the new revision (rule targets).
    Deployed,
    Failed,
    RollingBack,
    RolledBack,
    RestoreFailed,
    /// The rollback policy left it on the new revision, or it runs a revision the release did
    /// not deploy (left alone).
    NotRestored,
    NotStarted,
}

impl Stage {
    /// Steps done out of [`STEPS`], for a progress bar.
    pub fn position(self) -> u64 {
        match self {
            Stage::Planned | Stage::Deploying => 0,
            Stage::Registered => 1,
            Stage::Updating | Stage::RollingBack => 2,
            Stage::Unchanged
            | Stage::Deployed
            | Stage::Failed
            | Stage::RolledBack
            | Stage::RestoreFailed
            | Stage::NotRestored
            | Stage::NotStarted => STEPS,
        }
    }

    /// An item that went wrong: its reason is worth the space.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Stage::Failed | Stage::RestoreFailed | Stage::NotRestored
        )
    }

    /// Where an item the report settled is.
    pub fn of_outcome(outcome: ItemOutcome) -> Stage {
        match outcome {
            ItemOutcome::Deployed | ItemOutcome::Ran => Stage::Deployed,
            ItemOutcome::Unchanged => Stage::Unchanged,
            ItemOutcome::Failed | ItemOutcome::TimedOut | ItemOutcome::Superseded => Stage::Failed,
            ItemOutcome::RolledBack => Stage::RolledBack,
            ItemOutcome::NotStarted => Stage::NotStarted,
        }
    }
}

/// register → update → stable.
pub const STEPS: u64 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub id: String,
    pub kind: ItemKind,
    pub stage: Stage,
    /// The revision it is moving to (or, rolling back, back to).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// CodeDeploy's deployment (`d-…`) of a CODE_DEPLOY service, once a stability round polled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
}

/// A report item's reason with its stopped tasks' reasons: `reason [tasks: a; b]`.
pub fn report_reason(item: &ReportItem) -> Option<String> {
    let mut reason = item.reason.clone().unwrap_or_default();
    if !item.stopped_reasons.is_empty() {
        reason = format!("{reason} [tasks: {}]", item.stopped_reasons.join("; "))
            .trim()
            .to_owned();
    }
    (!reason.is_empty()).then_some(reason)
}

#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pub rows: Vec<Row>,
    /// The state the execution entered last.
    pub state: Option<String>,
    /// Highest event id applied.
    pub last_event_id: i64,
    /// Where the execution keeps its records (PlanRelease's output says).
    records: Option<Records>,
    /// The records read so far, as the report is built from them; `None` until the plan is read
    /// (until then, every batch wants the plan again).
    read: Option<ReleaseRecords>,
    index: BTreeMap<String, usize>,
    /// Rule id → the rows of its changed targets.
    rule_targets: BTreeMap<String, Vec<String>>,
    /// The wave WaveStart named last.
    wave: Option<u32>,
    /// The wave whose Map runs: its batches' records are read on every poll, and once more when
    /// it ends.
    open: Option<OpenWave>,
    /// Each wave's batches (`waves/<k>/batches.json`), once read.
    batches: BTreeMap<u32, Vec<BatchSpec>>,
    /// The items of each (wave, batch), once read.
    batch_items: BTreeMap<(u32, u32), Vec<(PlanItemKind, String)>>,
    /// The last summary read of each (wave, batch).
    summaries: BTreeMap<(u32, u32), BatchSummary>,
    /// Items whose result is applied, by their record's name.
    settled: BTreeSet<String>,
    /// History events that could not be read, not yet said.
    warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenWave {
    index: u32,
    /// MapRunStarted: its children run.
    running: bool,
}

/// A batch's items as its record lists them: services, rules, schedules, jobs.
fn batch_ids(items: &BatchItems) -> Vec<(PlanItemKind, String)> {
    items
        .kinds_and_ids()
        .map(|(kind, id)| (kind, id.to_owned()))
        .collect()
}

impl Tracker {
    /// The records [`Tracker::apply`] needs for these events, as far as those already read for them
    /// tell (`read`: a wave's batch list names its batches, their summaries the items whose results
    /// to read), so the caller reads until nothing new is wanted. `None` when it needs none, or
    /// does not know yet where they are (PlanRelease has not ended).
    pub fn wanted(&self, events: &[HistoryEvent], read: &Fetched) -> Option<Wanted> {
        let mut records = self.records.clone();
        let mut names = Vec::new();
        if self.read.is_none() {
            names.push(Record::Plan);
        }
        let mut wave = self.wave;
        if let Some(open) = self.open {
            self.wave_wanted(open.index, read, &mut names);
        }
        for event in self.fresh(events) {
            if map_event(event) == Some(MapEvent::Entered) {
                if let Some(index) = wave {
                    self.wave_wanted(index, read, &mut names);
                }
                continue;
            }
            // An unreadable event is said once, when it is applied.
            let Some(Ok(exit)) = state_exit(event) else {
                continue;
            };
            let record = match exit.state {
                states::PLAN_RELEASE => {
                    records = planned_records(&exit).or(records);
                    None
                }
                states::WAVE_START => {
                    wave = exit.field::<WaveState>("wave").ok().map(|w| w.index);
                    None
                }
                states::AWAIT_RELEASE => Some(Record::Stability(StabilityPhase::Release)),
                states::ROLLBACK_RELEASE => Some(Record::Rollback),
                states::AWAIT_ROLLBACK => Some(Record::Stability(StabilityPhase::Rollback)),
                _ => None,
            };
            if let Some(record) = record {
                want(&mut names, record);
            }
        }
        let records = records?;
        (!names.is_empty()).then_some(Wanted { records, names })
    }

    /// The records of wave `index` that tell where its items are: its batch list, each batch's
    /// items, the summary of each batch not finished yet, and the result of each item a summary
    /// says is done (failed, or one of `done`) whose result is not applied yet.
    fn wave_wanted(&self, index: u32, read: &Fetched, names: &mut Vec<Record>) {
        if !self.batches.contains_key(&index) {
            want(names, Record::Batches(index));
        }
        let Some(specs) = self.batches.get(&index).or(read.batches.get(&index)) else {
            return;
        };
        for spec in specs {
            let key = (index, spec.batch);
            let ids = match self.batch_items.get(&key) {
                Some(ids) => Some(ids.clone()),
                None => {
                    want(names, Record::Batch(index, spec.batch));
                    read.batch_items.get(&key).map(batch_ids)
                }
            };
            // A finished batch's summary does not change.
            let kept = self.summaries.get(&key);
            if kept.is_none_or(|s| s.remaining > 0) {
                want(names, Record::Summary(index, spec.batch));
            }
            let (Some(ids), Some(summary)) = (ids, read.summaries.get(&key).or(kept)) else {
                continue;
            };
            let unsettled: Vec<&(PlanItemKind, String)> = ids
                .iter()
                .filter(|(kind, id)| !self.settled.contains(&result_name(*kind, id)))
                .collect();
            let settled = ids.len() - unsettled.len();
            let some_done = usize::try_from(summary.done).unwrap_or(usize::MAX) > settled;
            for (kind, id) in unsettled {
                let failed = summary
                    .failed
                    .iter()
                    .any(|f| f.kind == *kind && f.id == *id);
                if some_done || failed {
                    want(names, Record::Result(*kind, id.clone()));
                }
            }
        }
    }

    /// Applies new events (older or repeated ones are ignored), with the records
    /// [`Tracker::wanted`] asked for. Returns each change as the row read right after it, in event
    /// order: every step shows, even several in one poll.
    pub fn apply(&mut self, events: &[HistoryEvent], fetched: &Fetched) -> Vec<Row> {
        let mut changed = Vec::new();
        if let Some(plan) = fetched.plan.as_ref().filter(|_| self.read.is_none()) {
            changed.extend(self.planned(plan));
        }
        // What a wave's batches are does not change: kept once read.
        for (wave, specs) in &fetched.batches {
            self.batches.entry(*wave).or_insert_with(|| specs.clone());
        }
        for (key, items) in &fetched.batch_items {
            self.batch_items
                .entry(*key)
                .or_insert_with(|| batch_ids(items));
        }
        for event in self.fresh(events) {
            self.last_event_id = event.id();
            if let Some(entered) = event.state_entered_event_details() {
                // Entering any other state (a Catch's target) means the Map ended.
                if self.open.is_some() && entered.name() != states::DEPLOY_WAVE {
                    changed.extend(self.wave_progress(fetched, true));
                }
                self.state = Some(entered.name().to_owned());
            }
            match map_event(event) {
                Some(MapEvent::Entered) => {
                    self.open = self.wave.map(|index| OpenWave {
                        index,
                        running: false,
                    });
                }
                Some(MapEvent::RunStarted) => {
                    if let Some(open) = self.open.as_mut() {
                        open.running = true;
                        let index = open.index;
                        changed.extend(self.deploying(index));
                    }
                }
                Some(MapEvent::Ended) => changed.extend(self.wave_progress(fetched, true)),
                None => {}
            }
            match state_exit(event) {
                Some(Ok(exit)) => changed.extend(self.exited(&exit, fetched)),
                Some(Err(why)) => self.warnings.push(why),
                None => {}
            }
        }
        // The Map still runs: where its batches are now.
        changed.extend(self.wave_progress(fetched, false));
        changed
    }

    /// What the records of the open wave's batches say: each item's result once its batch is done
    /// with it, or the error's name when a summary lists it failed and its record cannot be read.
    /// Once the Map `ended`, a batch whose last summary still has items left was interrupted: those
    /// items fail as the first AwaitRelease round records it ([`interruption`]).
    fn wave_progress(&mut self, fetched: &Fetched, ended: bool) -> Vec<Row> {
        let mut changed = Vec::new();
        let Some(open) = self.open else {
            return changed;
        };
        if ended {
            self.open = None;
        }
        let index = open.index;
        if open.running {
            changed.extend(self.deploying(index));
        }
        let specs = self.batches.get(&index).cloned().unwrap_or_default();
        for spec in specs {
            let key = (index, spec.batch);
            let read = fetched.summaries.get(&key);
            if let Some(summary) = read {
                self.summaries.insert(key, summary.clone());
            }
            let Some(ids) = self.batch_items.get(&key).cloned() else {
                continue;
            };
            for (kind, id) in &ids {
                let name = result_name(*kind, id);
                if self.settled.contains(&name) {
                    continue;
                }
                if let Some(result) = fetched.results.get(&name) {
                    self.settled.insert(name);
                    changed.extend(self.settle(*kind, result.clone()));
                }
            }
            let failed = self
                .summaries
                .get(&key)
                .map(|s| s.failed.clone())
                .unwrap_or_default();
            for item in failed {
                let name = result_name(item.kind, &item.id);
                if self.settled.insert(name) {
                    let result = ItemResult {
                        id: item.id.clone(),
                        deployment: None,
                        rule: None,
                        error: Some(CaughtError {
                            error: item.error,
                            cause: String::new(),
                        }),
                        job: None,
                        schedule: None,
                        kind: None,
                    };
                    changed.extend(self.settle(item.kind, result));
                }
            }
            let Some(why) = read
                .filter(|_| ended)
                .and_then(|s| interruption(index, spec.batch, Some(s)))
            else {
                continue;
            };
            // Only when the items left are exactly the ones without a result: a result that
            // could not be read leaves them where they were.
            let left: Vec<(PlanItemKind, String)> = ids
                .into_iter()
                .filter(|(kind, id)| !self.settled.contains(&result_name(*kind, id)))
                .collect();
            if read.is_some_and(|s| usize::try_from(s.remaining).ok() == Some(left.len())) {
                for (kind, id) in left {
                    self.settled.insert(result_name(kind, &id));
                    let result = ItemResult {
                        id,
                        deployment: None,
                        rule: None,
                        error: Some(why.clone()),
                        job: None,
                        schedule: None,
                        kind: None,
                    };
                    changed.extend(self.settle(kind, result));
                }
            }
        }
        changed
    }

    /// The items of wave `index` not started yet are deploying: its children run.
    fn deploying(&mut self, index: u32) -> Vec<Row> {
        let mut changed = Vec::new();
        let ids: Vec<(PlanItemKind, String)> = self
            .batch_items
            .range((index, 0)..=(index, u32::MAX))
            .flat_map(|(_, ids)| ids.iter().cloned())
            .collect();
        for (kind, id) in ids {
            for row in self.rows_of(kind, &id) {
                if self.stage(&row) == Some(Stage::Planned) {
                    self.set(&mut changed, &row, Stage::Deploying, None, None);
                }
            }
        }
        changed
    }

    /// An item's result record, as the report reads it: a service registered and updating, a
    /// rule's targets registered and pointed at their new revisions, or the item failed.
    fn settle(&mut self, kind: PlanItemKind, result: ItemResult) -> Vec<Row> {
        let mut changed = Vec::new();
        let id = result.id.clone();
        self.record_result(result.clone());
        if result.error.is_some() {
            let report = self.report_so_far();
            for row in self.rows_of(kind, &id) {
                let reason = report_item(&report, &row).and_then(first_line_reason);
                self.set(&mut changed, &row, Stage::Failed, None, reason);
            }
        } else if let Some(deployment) = result.deployment {
            let registered = Some(deployment.new_task_definition);
            self.set(&mut changed, &id, Stage::Registered, registered, None);
            self.set(&mut changed, &id, Stage::Updating, None, None);
        } else if let Some(update) = result.rule {
            for target in update.targets {
                let row = target_item_id(&update.id, &target.target_id);
                let registered = Some(target.new_task_definition);
                self.set(&mut changed, &row, Stage::Registered, registered, None);
                self.set(&mut changed, &row, Stage::Deployed, None, None);
            }
        } else if let Some(update) = result.schedule {
            let registered = Some(update.new_task_definition);
            self.set(&mut changed, &id, Stage::Registered, registered, None);
            self.set(&mut changed, &id, Stage::Deployed, None, None);
        } else if let Some(run) = result.job {
            let registered = Some(run.task_definition);
            self.set(&mut changed, &id, Stage::Registered, registered, None);
            self.set(&mut changed, &id, Stage::Updating, None, None);
        }
        changed
    }

    /// What could not be read since the last call (history events; each said once).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The events after the last one applied, in id order, each once.
    fn fresh<'e>(&self, events: &'e [HistoryEvent]) -> Vec<&'e HistoryEvent> {
        let mut fresh: Vec<&HistoryEvent> = events
            .iter()
            .filter(|e| e.id() > self.last_event_id)
            .collect();
        fresh.sort_by_key(|e| e.id());
        fresh.dedup_by_key(|e| e.id());
        fresh
    }

    #[cfg(test)]
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.index.get(id).map(|&i| &self.rows[i])
    }

    /// `key` of the exit's output, or a warning naming the event.
    fn field<T: DeserializeOwned>(&mut self, exit: &StateExit, key: &str) -> Option<T> {
        exit.field(key).map_err(|why| self.warnings.push(why)).ok()
    }

    fn exited(&mut self, exit: &StateExit, fetched: &Fetched) -> Vec<Row> {
        let mut changed = Vec::new();
        match exit.state {
            states::PLAN_RELEASE => {
                if let Some(records) = planned_records(exit) {
                    self.records = Some(records);
                }
            }
            // Unreadable, the wave is not known: its Map's records are not read.
            states::WAVE_START => {
                self.wave = self.field::<WaveState>(exit, "wave").map(|w| w.index);
            }
            states::AWAIT_RELEASE => {
                let Some(stability) = fetched.stability.clone() else {
                    return changed;
                };
                // The round's deployments are the services' results as the report reads them.
                for item in &stability.items {
                    self.record_result(ItemResult {
                        id: item.deployment.id.clone(),
                        deployment: Some(item.deployment.clone()),
                        rule: None,
                        error: None,
                        job: None,
                        schedule: None,
                        kind: None,
                    });
                }
                if let Some(read) = self.read.as_mut() {
                    read.stability = Some(stability.clone());
                }
                let report = self.report_so_far();
                for item in &stability.items {
                    let id = &item.deployment.id;
                    let (stage, reason) = match (item.outcome, report_item(&report, id)) {
                        (Outcome::InProgress, _) | (_, None) => {
                            (Stage::Updating, in_progress_reason(item))
                        }
                        (_, Some(settled)) => {
                            (Stage::of_outcome(settled.outcome), outcome_reason(settled))
                        }
                    };
                    let code_deploy = item.deployment.code_deploy.as_ref();
                    let deployment_id = code_deploy.map(|_| item.deployment.deployment_id.as_str());
                    self.progressed(id, deployment_id);
                    self.set(&mut changed, id, stage, None, reason);
                }
                self.jobs_judged(&mut changed, &stability);
            }
            states::ROLLBACK_RELEASE => {
                let Some(rollback) = fetched.rollback.clone() else {
                    return changed;
                };
                for restore in &rollback.restores {
                    // A restored service is on its way back until AwaitRollback says it arrived.
                    let (stage, reason) = match restore.outcome {
                        RestoreOutcome::Restored => (Stage::RollingBack, None),
                        RestoreOutcome::AlreadyCurrent => (Stage::RolledBack, None),
                        RestoreOutcome::Skipped | RestoreOutcome::LeftAlone => {
                            (Stage::NotRestored, restore.reason.clone())
                        }
                        RestoreOutcome::Failed => (Stage::RestoreFailed, restore.reason.clone()),
                    };
                    self.set(
                        &mut changed,
                        &restore.id,
                        stage,
                        Some(restore.task_definition.clone()),
                        reason,
                    );
                }
                if let Some(read) = self.read.as_mut() {
                    read.rollback = Some(rollback);
                }
            }
            states::AWAIT_ROLLBACK => {
                let Some(stability) = fetched.rollback_stability.clone() else {
                    return changed;
                };
                if let Some(read) = self.read.as_mut() {
                    read.rollback_stability = Some(stability.clone());
                }
                let report = self.report_so_far();
                for item in &stability.items {
                    let id = &item.deployment.id;
                    let (stage, reason) = match item.outcome {
                        Outcome::InProgress => (Stage::RollingBack, None),
                        Outcome::Succeeded => (Stage::RolledBack, None),
                        // The report joins the rollout's verdict to what the item went through.
                        Outcome::Failed | Outcome::TimedOut | Outcome::Superseded => (
                            Stage::RestoreFailed,
                            report_item(&report, id).and_then(first_line_reason),
                        ),
                    };
                    self.set(&mut changed, id, stage, None, reason);
                }
                self.jobs_judged(&mut changed, &stability);
            }
            states::FINISH_RELEASE => {
                // The execution's own report: the full one may leave none out (`report` applies it).
                match serde_json::from_value::<ReleaseReport>(exit.output.clone()) {
                    Ok(report) => changed.extend(self.report(&report)),
                    Err(e) => self.warnings.push(format!(
                        "history event {} (FinishRelease exited): its output is not a release report ({e})",
                        exit.event_id
                    )),
                }
            }
            _ => {}
        }
        changed
    }

    /// Jobs a stability round judged: running (its task's status), or at their report outcome.
    fn jobs_judged(&mut self, changed: &mut Vec<Row>, stability: &StabilityOutput) {
        for job in &stability.jobs {
            self.record_result(ItemResult {
                id: job.run.id.clone(),
                deployment: None,
                rule: None,
                error: None,
                job: Some(job.run.clone()),
                schedule: None,
                kind: None,
            });
        }
        let report = self.report_so_far();
        for job in &stability.jobs {
            let id = &job.run.id;
            let (stage, reason) = match (job.outcome, report_item(&report, id)) {
                (Outcome::InProgress, _) | (_, None) => (Stage::Updating, job.reason.clone()),
                (_, Some(settled)) => (Stage::of_outcome(settled.outcome), outcome_reason(settled)),
            };
            let task_definition = Some(job.run.task_definition.clone());
            self.set(changed, id, stage, task_definition, reason);
        }
    }

    /// Keeps an item's result as the report reads it; an error already recorded wins over a
    /// deployment seen later (the report gives the error).
    fn record_result(&mut self, result: ItemResult) {
        let Some(read) = self.read.as_mut() else {
            return;
        };
        match read.results.iter_mut().find(|r| r.id == result.id) {
            Some(known) if known.error.is_some() => {}
            Some(known) => *known = result,
            None => read.results.push(result),
        }
    }

    /// The report as it would read if the release ended now, from the records read so far.
    fn report_so_far(&self) -> Option<ReleaseReport> {
        self.read.as_ref().map(|read| build(read, &Observed::new()))
    }

    /// Every item of a release report at its outcome; returns the rows it changed.
    pub fn report(&mut self, report: &ReleaseReport) -> Vec<Row> {
        let mut changed = Vec::new();
        for item in &report.items {
            // Items the plan did not show (its record unread, a history cut short): from the report.
            let _ = self.add(item.id.clone(), item.kind, Stage::Planned);
            self.set(
                &mut changed,
                &item.id,
                Stage::of_outcome(item.outcome),
                Some(item.final_task_definition.clone()),
                first_line_reason(item),
            );
        }
        changed
    }

    fn planned(&mut self, plan: &Plan) -> Vec<Row> {
        self.read = Some(ReleaseRecords::new(plan.clone(), Vec::new()));
        let mut added = Vec::new();
        let stage = |noop: bool| {
            if noop {
                Stage::Unchanged
            } else {
                Stage::Planned
            }
        };
        for s in &plan.services {
            added.extend(self.add(s.id.clone(), ItemKind::Service, stage(s.noop)));
        }
        for rule in &plan.tasks {
            for t in &rule.targets {
                let id = target_item_id(&rule.id, &t.target_id);
                if !t.noop {
                    self.rule_targets
                        .entry(rule.id.clone())
                        .or_default()
                        .push(id.clone());
                }
                added.extend(self.add(id, ItemKind::RuleTarget, stage(t.noop)));
            }
        }
        for schedule in &plan.schedules {
            let id = schedule.id.clone();
            added.extend(self.add(id, ItemKind::Schedule, stage(schedule.noop)));
        }
        for job in &plan.jobs {
            added.extend(self.add(job.id.clone(), ItemKind::Job, Stage::Planned));
        }
        added
    }

    /// Adds a row unless there is one; returns it when added.
    fn add(&mut self, id: String, kind: ItemKind, stage: Stage) -> Option<Row> {
        if self.index.contains_key(&id) {
            return None;
        }
        self.index.insert(id.clone(), self.rows.len());
        self.rows.push(Row {
            id,
            kind,
            stage,
            task_definition: None,
            reason: None,
            deployment_id: None,
        });
        self.rows.last().cloned()
    }

    /// A rule stands for its changed targets' rows; a service for itself.
    fn rows_of(&self, kind: PlanItemKind, id: &str) -> Vec<String> {
        match kind {
            PlanItemKind::Rule => self.rule_targets.get(id).cloned().unwrap_or_default(),
            PlanItemKind::Service | PlanItemKind::Schedule | PlanItemKind::Job => {
                vec![id.to_owned()]
            }
        }
    }

    fn stage(&self, id: &str) -> Option<Stage> {
        self.index.get(id).map(|&i| self.rows[i].stage)
    }

    /// A stability round polled the row's rollout: where it was in the last round is no longer
    /// its reason (a settled rollout is not `at BAKE_TIME` any more), and the CodeDeploy deployment
    /// that deploys it, if one does, is as the round read it. The next [`Tracker::set`] shows it.
    fn progressed(&mut self, id: &str, deployment_id: Option<&str>) {
        if let Some(&i) = self.index.get(id) {
            let row = &mut self.rows[i];
            row.reason = None;
            if deployment_id.is_some() {
                row.deployment_id = deployment_id.map(str::to_owned);
            }
        }
    }

    fn set(
        &mut self,
        changed: &mut Vec<Row>,
        id: &str,
        stage: Stage,
        task_definition: Option<String>,
        reason: Option<String>,
    ) {
        let Some(&i) = self.index.get(id) else {
            return; // not in the plan (an event of another shape): nothing to show
        };
        let row = &mut self.rows[i];
        row.stage = stage;
        if task_definition.is_some() {
            row.task_definition = task_definition;
        }
        if reason.is_some() {
            row.reason = reason;
        }
        changed.push(row.clone());
    }
}

fn report_item<'r>(report: &'r Option<ReleaseReport>, id: &str) -> Option<&'r ReportItem> {
    report.as_ref()?.items.iter().find(|i| i.id == id)
}

/// Where a rollout in progress is: a blue/green deployment its lifecycle stage
/// (`BLUE_GREEN at BAKE_TIME`), a CODE_DEPLOY one the lifecycle event CodeDeploy is at
/// (`CODE_DEPLOY at AfterAllowTestTraffic`, or only `CODE_DEPLOY` before its target is read); a
/// rolling one nothing more than "updating".
fn in_progress_reason(item: &DeploymentStatus) -> Option<String> {
    let stage = item.stage.as_deref();
    if item.deployment.code_deploy.is_some() {
        return Some(match stage {
            Some(stage) => format!("CODE_DEPLOY at {stage}"),
            None => "CODE_DEPLOY".to_owned(),
        });
    }
    stage.map(|stage| format!("{} at {stage}", item.deployment.strategy))
}

/// A row is one line: the first line of the report's reason (the report keeps the rest).
fn first_line_reason(item: &ReportItem) -> Option<String> {
    let reason = report_reason(item)?;
    let first = reason.lines().next().unwrap_or_default();
    let first = first.trim_end_matches([' ', ':']);
    (!first.is_empty()).then(|| first.to_owned())
}

/// A settled rollout's reason led by its outcome (`Failed: deployment … failed`), as the
/// stability check words it; none for a success.
fn outcome_reason(item: &ReportItem) -> Option<String> {
    if item.outcome == ItemOutcome::Deployed {
        return None;
    }
    Some(match first_line_reason(item) {
        Some(reason) => format!("{:?}: {reason}", item.outcome),
        None => format!("{:?}", item.outcome),
    })
}

/// Adds `record` to the names unless it is there: each record once, in the order first wanted.
fn want(names: &mut Vec<Record>, record: Record) {
    if !names.contains(&record) {
        names.push(record);
    }
}
