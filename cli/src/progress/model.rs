//! Per-item progress of a release, from its execution history and its release records. The
//! history says which states the items passed (planned → registered → updating → deployed, or failed
//! → rolled back); the state keeps only ids and counts (docs/decisions/0003), so the items themselves
//! come from the records in S3: the plan, a failed item's record, the stability rounds, the restores.
//!
//! What a settled item's outcome and reason are is the report's rule: the records read so far are
//! kept as the report is built from them, and `release_core::decide::report::build` says it. Only
//! what the report cannot know — where an item is while its step still runs — is decided here.
//!
//! Pure: [`Tracker::wanted`] says which records a batch of events needs, the caller reads them, and
//! [`Tracker::apply`] turns events and records into rows. Events are applied in id order and each at
//! most once, so the history can be read incrementally.

use std::collections::BTreeMap;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use release_core::contract::{
    CaughtError, ItemKind, ItemOutcome, ItemResult, Outcome, Plan, PlanItem, PlanItemKind, Records,
    ReleaseRecords, ReleaseReport, ReportItem, RestoreOutcome, RollbackOutput, StabilityOutput,
    StabilityPhase,
};
use release_core::decide::report::{build, Observed};
use release_core::decide::rollback::target_item_id;
use release_core::records::{result_name, stability_name, with_recorded_message, PLAN, ROLLBACK};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The states of `statemachine/release.asl.json` whose outputs move items forward.
pub mod states {
    pub const PLAN_RELEASE: &str = "PlanRelease";
    pub const REGISTER_SERVICE: &str = "RegisterServiceTaskDefinition";
    pub const REGISTER_RULE: &str = "RegisterRuleTaskDefinitions";
    pub const UPDATE_SERVICE: &str = "UpdateService";
    pub const UPDATE_RULE: &str = "UpdateScheduledRule";
    pub const SERVICE_FAILED: &str = "ServiceFailed";
    pub const RULE_FAILED: &str = "RuleFailed";
    pub const AWAIT_RELEASE: &str = "AwaitRelease";
    pub const ROLLBACK_RELEASE: &str = "RollbackRelease";
    pub const AWAIT_ROLLBACK: &str = "AwaitRollback";
    pub const FINISH_RELEASE: &str = "FinishRelease";

    /// Every state above (the contract test checks each exists in the ASL).
    #[cfg(test)]
    pub const ALL: [&str; 11] = [
        PLAN_RELEASE,
        REGISTER_SERVICE,
        REGISTER_RULE,
        UPDATE_SERVICE,
        UPDATE_RULE,
        SERVICE_FAILED,
        RULE_FAILED,
        AWAIT_RELEASE,
        ROLLBACK_RELEASE,
        AWAIT_ROLLBACK,
        FINISH_RELEASE,
    ];
}

/// A Task or Pass state that exited, with its output (Task and Pass states carry items forward).
#[derive(Debug, Clone, PartialEq)]
pub struct StateExit<'e> {
    pub event_id: i64,
    pub state: &'e str,
    pub output: Value,
}

impl StateExit<'_> {
    /// `key` of the output, read as `T`; why not, naming the event, when it is missing or unreadable.
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<T, String> {
        let value = self
            .output
            .get(key)
            .ok_or_else(|| self.unreadable(key, "missing"))?;
        serde_json::from_value(value.clone()).map_err(|e| self.unreadable(key, &e.to_string()))
    }

    fn unreadable(&self, key: &str, why: &str) -> String {
        format!(
            "history event {} ({} exited): `{key}` is unreadable ({why}); its items may show an older state",
            self.event_id, self.state
        )
    }
}

/// The exit of a Task or Pass state; `Some(Err)` names an event whose output is not JSON.
pub fn state_exit(event: &HistoryEvent) -> Option<Result<StateExit<'_>, String>> {
    let exited = match event.r#type() {
        HistoryEventType::TaskStateExited | HistoryEventType::PassStateExited => {
            event.state_exited_event_details()?
        }
        _ => return None,
    };
    let state = exited.name();
    Some(
        serde_json::from_str(exited.output().unwrap_or("null"))
            .map(|output| StateExit {
                event_id: event.id(),
                state,
                output,
            })
            .map_err(|e| {
                format!(
                    "history event {} ({state} exited): its output is not JSON ({e}); its items may show an older state",
                    event.id()
                )
            }),
    )
}

/// Where the records are, if `exit` is PlanRelease's: `$.plan.records` of its output.
pub fn planned_records(exit: &StateExit) -> Option<Records> {
    if exit.state != states::PLAN_RELEASE {
        return None;
    }
    serde_json::from_value(exit.output.get("plan")?.get("records")?.clone()).ok()
}

/// A release record the tracker takes item details from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `plan.json`: every item, unchanged ones and each rule's targets included.
    Plan,
    /// `results/{kind}/{id}.json` of an item whose Map iteration failed: the error's whole message
    /// (the state keeps only its name).
    Result(PlanItemKind, String),
    /// `stability/{phase}.json`: every deployment of the phase with its latest verdict.
    Stability(StabilityPhase),
    /// `rollback.json`: what the rollback restored.
    Rollback,
}

impl Record {
    /// The object's name under the execution's prefix.
    pub fn name(&self) -> String {
        match self {
            Record::Plan => PLAN.to_owned(),
            Record::Result(kind, id) => result_name(*kind, id),
            Record::Stability(phase) => stability_name(*phase).to_owned(),
            Record::Rollback => ROLLBACK.to_owned(),
        }
    }
}

/// The records a batch of events needs, and where the execution keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub records: Records,
    pub names: Vec<Record>,
}

/// The records read for a batch of events; what is missing (or could not be read) is `None`, and
/// the items it would have told about stay where they were.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub plan: Option<Plan>,
    /// Failed items' records, by [`Record::name`].
    pub results: BTreeMap<String, ItemResult>,
    pub stability: Option<StabilityOutput>,
    pub rollback: Option<RollbackOutput>,
    pub rollback_stability: Option<StabilityOutput>,
}

/// Where an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    Planned,
    Unchanged,
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
    /// The rollback policy left it on the new revision.
    NotRestored,
    NotStarted,
}

impl Stage {
    /// Steps done out of [`STEPS`], for a progress bar.
    pub fn position(self) -> u64 {
        match self {
            Stage::Planned => 0,
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
            ItemOutcome::Deployed => Stage::Deployed,
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
    /// History events that could not be read, not yet said.
    warnings: Vec<String>,
}

impl Tracker {
    /// The records [`Tracker::apply`] needs for these events: `None` when it needs none, or does not
    /// know yet where they are (PlanRelease has not ended).
    pub fn wanted(&self, events: &[HistoryEvent]) -> Option<Wanted> {
        let mut records = self.records.clone();
        let mut names = Vec::new();
        if self.read.is_none() {
            names.push(Record::Plan);
        }
        for event in self.fresh(events) {
            // An unreadable event is said once, when it is applied.
            let Some(Ok(exit)) = state_exit(event) else {
                continue;
            };
            let id = || exit.field::<String>("id").ok();
            let record = match exit.state {
                states::PLAN_RELEASE => {
                    records = planned_records(&exit).or(records);
                    None
                }
                states::SERVICE_FAILED => id().map(|id| Record::Result(PlanItemKind::Service, id)),
                states::RULE_FAILED => id().map(|id| Record::Result(PlanItemKind::Rule, id)),
                states::AWAIT_RELEASE => Some(Record::Stability(StabilityPhase::Release)),
                states::ROLLBACK_RELEASE => Some(Record::Rollback),
                states::AWAIT_ROLLBACK => Some(Record::Stability(StabilityPhase::Rollback)),
                _ => None,
            };
            if let Some(record) = record.filter(|r| !names.contains(r)) {
                names.push(record);
            }
        }
        let records = records?;
        (!names.is_empty()).then_some(Wanted { records, names })
    }

    /// Applies new events (older or repeated ones are ignored), with the records
    /// [`Tracker::wanted`] asked for. Returns each change as the row read right after it, in event
    /// order: every step shows, even several in one poll.
    pub fn apply(&mut self, events: &[HistoryEvent], fetched: &Fetched) -> Vec<Row> {
        let mut changed = Vec::new();
        if let Some(plan) = fetched.plan.as_ref().filter(|_| self.read.is_none()) {
            changed.extend(self.planned(plan));
        }
        for event in self.fresh(events) {
            self.last_event_id = event.id();
            if let Some(entered) = event.state_entered_event_details() {
                self.state = Some(entered.name().to_owned());
            }
            match state_exit(event) {
                Some(Ok(exit)) => changed.extend(self.exited(&exit, fetched)),
                Some(Err(why)) => self.warnings.push(why),
                None => {}
            }
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
            states::REGISTER_SERVICE | states::REGISTER_RULE => {
                match self.field::<PlanItem>(exit, "item") {
                    Some(PlanItem::Service(item)) => self.set(
                        &mut changed,
                        &item.id,
                        Stage::Registered,
                        item.new_task_definition,
                        None,
                    ),
                    Some(PlanItem::Rule(rule)) => {
                        for target in rule.targets.into_iter().filter(|t| !t.noop) {
                            let id = target_item_id(&rule.id, &target.target_id);
                            self.set(
                                &mut changed,
                                &id,
                                Stage::Registered,
                                target.new_task_definition,
                                None,
                            );
                        }
                    }
                    None => {}
                }
            }
            // `{id, deployment}`: the revision is the one registered just before.
            states::UPDATE_SERVICE => {
                if let Some(id) = self.field::<String>(exit, "id") {
                    self.set(&mut changed, &id, Stage::Updating, None, None);
                }
            }
            // `{id}` of the rule: every changed target points at its new revision.
            states::UPDATE_RULE => {
                if let Some(id) = self.field::<String>(exit, "id") {
                    for row in self.rows_of(&id) {
                        self.set(&mut changed, &row, Stage::Deployed, None, None);
                    }
                }
            }
            states::SERVICE_FAILED | states::RULE_FAILED => {
                let kind = if exit.state == states::SERVICE_FAILED {
                    PlanItemKind::Service
                } else {
                    PlanItemKind::Rule
                };
                let (Some(id), Some(caught)) = (
                    self.field::<String>(exit, "id"),
                    self.field::<CaughtError>(exit, "error"),
                ) else {
                    return changed;
                };
                // The state keeps the name; the item's record has the message.
                let record = fetched.results.get(&result_name(kind, &id));
                self.record_result(ItemResult {
                    id: id.clone(),
                    deployment: None,
                    rule: None,
                    error: Some(with_recorded_message(&caught, record)),
                });
                let report = self.report_so_far();
                for row in self.rows_of(&id) {
                    let reason = report_item(&report, &row).and_then(first_line_reason);
                    self.set(&mut changed, &row, Stage::Failed, None, reason);
                }
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
                    });
                }
                if let Some(read) = self.read.as_mut() {
                    read.stability = Some(stability.clone());
                }
                let report = self.report_so_far();
                for item in &stability.items {
                    let id = &item.deployment.id;
                    let (stage, reason) = match (item.outcome, report_item(&report, id)) {
                        (Outcome::InProgress, _) | (_, None) => (Stage::Updating, None),
                        (_, Some(settled)) => {
                            (Stage::of_outcome(settled.outcome), outcome_reason(settled))
                        }
                    };
                    self.set(&mut changed, id, stage, None, reason);
                }
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
                        RestoreOutcome::Skipped => (Stage::NotRestored, restore.reason.clone()),
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
        });
        self.rows.last().cloned()
    }

    /// A rule id stands for its changed targets' rows; anything else for itself.
    fn rows_of(&self, id: &str) -> Vec<String> {
        match self.rule_targets.get(id) {
            Some(targets) => targets.clone(),
            None => vec![id.to_owned()],
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

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{StateEnteredEventDetails, StateExitedEventDetails};
    use serde_json::json;

    use super::*;

    fn exited(id: i64, kind: HistoryEventType, state: &str, output: Value) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .r#type(kind)
            .timestamp(DateTime::from_secs(0))
            .state_exited_event_details(
                StateExitedEventDetails::builder()
                    .name(state)
                    .output(output.to_string())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    fn task(id: i64, state: &str, output: Value) -> HistoryEvent {
        exited(id, HistoryEventType::TaskStateExited, state, output)
    }

    fn pass(id: i64, state: &str, output: Value) -> HistoryEvent {
        exited(id, HistoryEventType::PassStateExited, state, output)
    }

    fn entered(id: i64, state: &str) -> HistoryEvent {
        HistoryEvent::builder()
            .id(id)
            .r#type(HistoryEventType::TaskStateEntered)
            .timestamp(DateTime::from_secs(0))
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name(state)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    fn parsed<T: DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn records() -> Records {
        Records::for_execution("convoy-records", "r1", "r1")
    }

    /// `plan.json`: c/web changes, c/api does not; both targets of the nightly rule change.
    fn plan() -> Plan {
        parsed(json!({
            "release": {"id": "r1", "source": "d.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5, "keepRevisions": 0},
            "services": [
                {"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
                 "images": {"web": "web:2"}, "noop": false, "timeoutSeconds": 600},
                {"id": "c/api", "cluster": "c", "service": "api", "previousTaskDefinition": "api:1",
                 "images": {"api": "api:1"}, "noop": true, "timeoutSeconds": 600}
            ],
            "tasks": [{"id": "default/nightly", "rule": "nightly", "eventBus": "default", "noop": false,
                       "targets": [{"targetId": "a", "previousTaskDefinition": "rep:1", "images": {}, "noop": false},
                                   {"targetId": "b", "previousTaskDefinition": "rep:1", "images": {}, "noop": false}]}],
            "changedServices": 1, "changedTasks": 1
        }))
    }

    /// The execution state as PlanRelease leaves it (its `ResultSelector`).
    fn planned_state(plan: &Plan) -> Value {
        json!({
            "plan": plan.planned(records()),
            "deploy": {"tasks": [], "services": []},
            "stability": null,
            "rollbackStability": null,
            "failures": {"deploy": null, "awaitRelease": null, "rollback": null, "awaitRollback": null}
        })
    }

    /// The state after a check-stability or rollback step: only counts, under `at`.
    fn counts_state(at: &str, pending: u32, failed: u32) -> Value {
        let mut state = planned_state(&plan());
        state[at] = json!({"pending": pending, "failed": failed});
        state
    }

    /// A stability record with c/web's deployment at `outcome`.
    fn stability(outcome: &str) -> StabilityOutput {
        parsed(json!({"items": [
            {"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
             "newTaskDefinition": "web:2", "deploymentId": "ecs-svc/1", "deadline": 10,
             "outcome": outcome, "reason": "running 2/2"}
        ], "pending": 0, "failed": 0}))
    }

    fn stages(t: &Tracker) -> Vec<(&str, Stage)> {
        t.rows.iter().map(|r| (r.id.as_str(), r.stage)).collect()
    }

    #[test]
    fn items_move_through_the_states_of_a_release() {
        use Stage::*;
        let rule_record = ItemResult {
            id: "default/nightly".into(),
            deployment: None,
            rule: None,
            error: Some(CaughtError {
                error: "TargetsRejected".into(),
                cause: "targets rejected: a\nmore".into(),
            }),
        };
        let bounded: ReleaseReport = parsed(json!({
            "releaseId": "r1", "outcome": "RolledBack",
            "items": [{"id": "default/nightly/b", "kind": "ruleTarget", "outcome": "Failed",
                       "previousTaskDefinition": "rep:1", "finalTaskDefinition": "rep:2"}],
            "omittedItems": 3, "fullReport": records().uri("report.json")
        }));
        /// (events, records they want, records read, stages of c/web, c/api, default/nightly/a,
        /// default/nightly/b)
        type Case = (Vec<HistoryEvent>, Vec<Record>, Fetched, [Stage; 4]);
        let cases: Vec<Case> = vec![
            (
                vec![task(2, "PlanRelease", planned_state(&plan()))],
                vec![Record::Plan],
                Fetched {
                    plan: Some(plan()),
                    ..Fetched::default()
                },
                [Planned, Unchanged, Planned, Planned],
            ),
            (
                vec![task(
                    3,
                    "RegisterServiceTaskDefinition",
                    json!({"releaseId": "r1", "records": records(), "kind": "service", "id": "c/web", "item":
                    {"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
                     "images": {}, "noop": false, "timeoutSeconds": 600, "newTaskDefinition": "web:2"}}),
                )],
                vec![],
                Fetched::default(),
                [Registered, Unchanged, Planned, Planned],
            ),
            (
                vec![task(
                    4,
                    "UpdateService",
                    json!({"id": "c/web", "deployment": "ecs-svc/1"}),
                )],
                vec![],
                Fetched::default(),
                [Updating, Unchanged, Planned, Planned],
            ),
            (
                vec![pass(
                    5,
                    "RuleFailed",
                    json!({"id": "default/nightly", "error": {"Error": "TargetsRejected"}}),
                )],
                vec![Record::Result(PlanItemKind::Rule, "default/nightly".into())],
                Fetched {
                    results: BTreeMap::from([(
                        "results/rule/default/nightly.json".to_owned(),
                        rule_record,
                    )]),
                    ..Fetched::default()
                },
                [Updating, Unchanged, Failed, Failed],
            ),
            (
                vec![task(6, "AwaitRelease", counts_state("stability", 0, 0))],
                vec![Record::Stability(StabilityPhase::Release)],
                Fetched {
                    stability: Some(stability("Succeeded")),
                    ..Fetched::default()
                },
                [Deployed, Unchanged, Failed, Failed],
            ),
            (
                vec![task(
                    7,
                    "RollbackRelease",
                    counts_state("rollbackStability", 1, 0),
                )],
                vec![Record::Rollback],
                Fetched {
                    rollback: Some(parsed(json!({"restores": [
                        {"id": "c/web", "outcome": "Restored", "taskDefinition": "web:1"},
                        {"id": "default/nightly/a", "outcome": "AlreadyCurrent", "taskDefinition": "rep:1"},
                        {"id": "default/nightly/b", "outcome": "Failed", "taskDefinition": "rep:1", "reason": "gone"}],
                        "items": [], "pending": 1, "failed": 0}))),
                    ..Fetched::default()
                },
                [RollingBack, Unchanged, RolledBack, RestoreFailed],
            ),
            (
                vec![task(
                    8,
                    "AwaitRollback",
                    counts_state("rollbackStability", 0, 0),
                )],
                vec![Record::Stability(StabilityPhase::Rollback)],
                Fetched {
                    rollback_stability: Some(stability("Succeeded")),
                    ..Fetched::default()
                },
                [RolledBack, Unchanged, RolledBack, RestoreFailed],
            ),
            (
                // The execution's report, bounded: only the failed item.
                vec![task(
                    9,
                    "FinishRelease",
                    serde_json::to_value(&bounded).unwrap(),
                )],
                vec![],
                Fetched::default(),
                [RolledBack, Unchanged, RolledBack, Failed],
            ),
        ];
        let mut tracker = Tracker::default();
        let ids = ["c/web", "c/api", "default/nightly/a", "default/nightly/b"];
        for (events, wanted, fetched, want) in cases {
            let at = events[0].id();
            assert_eq!(
                tracker.wanted(&events).map(|w| (w.records, w.names)),
                (!wanted.is_empty()).then(|| (records(), wanted)),
                "records wanted by event {at}"
            );
            tracker.apply(&events, &fetched);
            let want: Vec<(&str, Stage)> = ids.into_iter().zip(want).collect();
            assert_eq!(stages(&tracker), want, "after event {at}");
        }
        let web = tracker.row("c/web").unwrap();
        assert_eq!(web.task_definition.as_deref(), Some("web:1"));
        let a = tracker.row("default/nightly/a").unwrap();
        assert_eq!(
            a.reason.as_deref(),
            Some("TargetsRejected: targets rejected: a")
        );
        // The full report (every item) settles the items the bounded one left out.
        let full: ReleaseReport = parsed(json!({
            "releaseId": "r1", "outcome": "RolledBack",
            "items": [
                {"id": "c/web", "kind": "service", "outcome": "RolledBack", "previousTaskDefinition": "web:1", "finalTaskDefinition": "web:1"},
                {"id": "c/api", "kind": "service", "outcome": "Unchanged", "previousTaskDefinition": "api:1", "finalTaskDefinition": "api:1"},
                {"id": "default/nightly/a", "kind": "ruleTarget", "outcome": "Failed", "previousTaskDefinition": "rep:1", "finalTaskDefinition": "rep:1", "reason": "restored"},
                {"id": "default/nightly/b", "kind": "ruleTarget", "outcome": "Failed", "previousTaskDefinition": "rep:1", "finalTaskDefinition": "rep:2"}]
        }));
        let changed = tracker.report(&full);
        assert_eq!(changed.len(), 4);
        assert_eq!(
            stages(&tracker),
            ids.into_iter()
                .zip([RolledBack, Unchanged, Failed, Failed])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn records_are_wanted_once_their_place_is_known_and_the_plan_until_read() {
        let mut tracker = Tracker::default();
        let register = task(
            1,
            "RegisterServiceTaskDefinition",
            json!({"releaseId": "r1", "records": records(), "kind": "service", "id": "c/web"}),
        );
        // Before PlanRelease ended nothing says where the records are.
        assert_eq!(tracker.wanted(std::slice::from_ref(&register)), None);
        let batch = [
            task(6, "AwaitRelease", counts_state("stability", 1, 0)),
            task(2, "PlanRelease", planned_state(&plan())),
            pass(
                3,
                "ServiceFailed",
                json!({"id": "c/web", "error": {"Error": "Throttled"}}),
            ),
            task(5, "AwaitRelease", counts_state("stability", 1, 0)),
            task(
                7,
                "RollbackRelease",
                counts_state("rollbackStability", 0, 0),
            ),
        ];
        let wanted = tracker.wanted(&batch).unwrap();
        assert_eq!(wanted.records, records());
        // Each once, in event order.
        assert_eq!(
            wanted.names,
            [
                Record::Plan,
                Record::Result(PlanItemKind::Service, "c/web".into()),
                Record::Stability(StabilityPhase::Release),
                Record::Rollback,
            ]
        );
        let names: Vec<String> = wanted.names.iter().map(Record::name).collect();
        assert_eq!(
            names,
            [
                "plan.json",
                "results/service/c/web.json",
                "stability/release.json",
                "rollback.json"
            ]
        );
        // The plan could not be read: no rows yet, and the next poll asks for it again.
        assert!(tracker.apply(&batch, &Fetched::default()).is_empty());
        assert_eq!(tracker.last_event_id, 7);
        assert_eq!(
            tracker.wanted(&batch).map(|w| w.names),
            Some(vec![Record::Plan])
        );
        let fetched = Fetched {
            plan: Some(plan()),
            ..Fetched::default()
        };
        let added = tracker.apply(&[], &fetched);
        let ids: Vec<&str> = added.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["c/web", "c/api", "default/nightly/a", "default/nightly/b"]
        );
        assert_eq!(tracker.wanted(&[]), None);
    }

    #[test]
    fn failures_show_the_recorded_message_only_for_the_same_error() {
        let record = |error: &str| ItemResult {
            id: "c/web".into(),
            deployment: None,
            rule: None,
            error: Some(CaughtError {
                error: error.into(),
                cause: "UpdateService c/web: throttled after 5 attempts".into(),
            }),
        };
        // (error the state kept, record written, reason shown)
        let cases = [
            (
                "Throttled",
                Some(record("Throttled")),
                "Throttled: UpdateService c/web: throttled after 5 attempts",
            ),
            // Step Functions' own errors leave no record; an older record tells another error.
            ("States.Timeout", None, "States.Timeout"),
            (
                "States.Timeout",
                Some(record("Throttled")),
                "States.Timeout",
            ),
        ];
        for (error, recorded, want) in cases {
            let mut tracker = Tracker::default();
            let mut fetched = Fetched {
                plan: Some(plan()),
                ..Fetched::default()
            };
            tracker.apply(&[task(1, "PlanRelease", planned_state(&plan()))], &fetched);
            fetched.plan = None;
            fetched
                .results
                .extend(recorded.map(|r| ("results/service/c/web.json".to_owned(), r)));
            tracker.apply(
                &[pass(
                    2,
                    "ServiceFailed",
                    json!({"id": "c/web", "error": {"Error": error}}),
                )],
                &fetched,
            );
            let web = tracker.row("c/web").unwrap();
            assert_eq!(web.stage, Stage::Failed);
            assert_eq!(web.reason.as_deref(), Some(want), "{error}");
        }
    }

    #[test]
    fn a_rule_update_moves_only_its_changed_targets() {
        let mut plan = plan();
        plan.tasks[0].targets[1].noop = true;
        let mut tracker = Tracker::default();
        tracker.apply(
            &[task(1, "PlanRelease", planned_state(&plan))],
            &Fetched {
                plan: Some(plan),
                ..Fetched::default()
            },
        );
        let changed = tracker.apply(
            &[task(
                2,
                "UpdateScheduledRule",
                json!({"id": "default/nightly"}),
            )],
            &Fetched::default(),
        );
        assert_eq!(
            changed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["default/nightly/a"]
        );
        assert_eq!(
            tracker.row("default/nightly/a").unwrap().stage,
            Stage::Deployed
        );
        assert_eq!(
            tracker.row("default/nightly/b").unwrap().stage,
            Stage::Unchanged
        );
    }

    #[test]
    fn events_apply_once_in_id_order() {
        let update = task(
            4,
            "UpdateService",
            json!({"id": "c/web", "deployment": "ecs-svc/1"}),
        );
        let stable = task(5, "AwaitRelease", counts_state("stability", 0, 0));
        let fetched = Fetched {
            plan: Some(plan()),
            stability: Some(stability("Succeeded")),
            ..Fetched::default()
        };
        let mut tracker = Tracker::default();
        // Out of order in one batch: sorted before applying.
        let changed = tracker.apply(
            &[
                stable.clone(),
                entered(3, "UpdateService"),
                task(2, "PlanRelease", planned_state(&plan())),
                update.clone(),
            ],
            &fetched,
        );
        assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Deployed);
        let web: Vec<Stage> = changed
            .iter()
            .filter(|r| r.id == "c/web")
            .map(|r| r.stage)
            .collect();
        // Every step shows, even when several arrive in one batch.
        assert_eq!(web, [Stage::Planned, Stage::Updating, Stage::Deployed]);
        assert_eq!(tracker.state.as_deref(), Some("UpdateService"));
        // Seen again (a history re-read): ignored, and no record is wanted for it.
        assert_eq!(tracker.wanted(&[update.clone(), stable.clone()]), None);
        assert!(tracker.apply(&[update, stable], &fetched).is_empty());
        assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Deployed);
        assert_eq!(tracker.last_event_id, 5);
    }

    #[test]
    fn every_tracked_state_exists_in_the_state_machine() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../statemachine/release.asl.json"
        );
        let asl: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        fn names(v: &Value, out: &mut Vec<String>) {
            if let Some(states) = v.get("States").and_then(Value::as_object) {
                for (name, state) in states {
                    out.push(name.clone());
                    names(state, out);
                }
            }
            if let Some(processor) = v.get("ItemProcessor").or_else(|| v.get("Iterator")) {
                names(processor, out);
            }
        }
        let mut found = Vec::new();
        names(&asl, &mut found);
        for state in states::ALL {
            assert!(
                found.iter().any(|n| n == state),
                "{state} is not a state of {path}"
            );
        }
    }
}
