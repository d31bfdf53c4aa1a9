//! Per-item progress of a release, from its execution history and its release records. The
//! history says which states the items passed (planned → registered → updating → deployed, or failed
//! → rolled back); the state keeps only ids and counts (docs/decisions/0003), so the items themselves
//! come from the records in S3: the plan, a failed item's record, the stability rounds, the restores.
//!
//! Pure: [`Tracker::wanted`] says which records a batch of events needs, the caller reads them, and
//! [`Tracker::apply`] turns events and records into rows. Events are applied in id order and each at
//! most once, so the history can be read incrementally.

use std::collections::BTreeMap;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use release_core::records::{result_name, stability_name, with_recorded_message, PLAN, ROLLBACK};
use release_core::rollback::target_item_id;
use release_core::step::{
    CaughtError, ItemKind, ItemOutcome, ItemResult, Outcome, Plan, PlanItem, PlanItemKind, Records,
    ReleaseReport, RestoreOutcome, RollbackOutput, StabilityOutput, StabilityPhase,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::output::{paint, short, table, Tone};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    pub fn label(self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Unchanged => "unchanged",
            Stage::Registered => "registered",
            Stage::Updating => "updating",
            Stage::Deployed => "deployed",
            Stage::Failed => "failed",
            Stage::RollingBack => "rolling back",
            Stage::RolledBack => "rolled back",
            Stage::RestoreFailed => "restore failed",
            Stage::NotRestored => "not restored",
            Stage::NotStarted => "not started",
        }
    }

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

    pub fn tone(self) -> Tone {
        match self {
            Stage::Planned | Stage::NotStarted => Tone::Plain,
            Stage::Unchanged | Stage::Deployed => Tone::Good,
            Stage::Registered | Stage::Updating | Stage::RollingBack | Stage::RolledBack => {
                Tone::Busy
            }
            Stage::Failed | Stage::RestoreFailed | Stage::NotRestored => Tone::Bad,
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

#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pub rows: Vec<Row>,
    /// The state the execution entered last.
    pub state: Option<String>,
    /// Highest event id applied.
    pub last_event_id: i64,
    /// Where the execution keeps its records (PlanRelease's output says).
    records: Option<Records>,
    /// The plan's rows are there: until then, every batch wants the plan again.
    planned: bool,
    index: BTreeMap<String, usize>,
    /// Rule id → the rows of its changed targets.
    rule_targets: BTreeMap<String, Vec<String>>,
}

impl Tracker {
    /// The records [`Tracker::apply`] needs for these events: `None` when it needs none, or does not
    /// know yet where they are (PlanRelease has not ended).
    pub fn wanted(&self, events: &[HistoryEvent]) -> Option<Wanted> {
        let mut records = self.records.clone();
        let mut names = Vec::new();
        if !self.planned {
            names.push(Record::Plan);
        }
        for event in self.fresh(events) {
            let Some((state, output)) = exit(event) else {
                continue;
            };
            let record = match state {
                states::PLAN_RELEASE => {
                    records = records_of(&output).or(records);
                    None
                }
                states::SERVICE_FAILED => {
                    id_of(&output).map(|id| Record::Result(PlanItemKind::Service, id))
                }
                states::RULE_FAILED => {
                    id_of(&output).map(|id| Record::Result(PlanItemKind::Rule, id))
                }
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
        if let Some(plan) = fetched.plan.as_ref().filter(|_| !self.planned) {
            changed.extend(self.planned(plan));
        }
        for event in self.fresh(events) {
            self.last_event_id = event.id();
            if let Some(entered) = event.state_entered_event_details() {
                self.state = Some(entered.name().to_owned());
            }
            if let Some((state, output)) = exit(event) {
                changed.extend(self.exited(state, &output, fetched));
            }
        }
        changed
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

    fn exited(&mut self, state: &str, output: &Value, fetched: &Fetched) -> Vec<Row> {
        let mut changed = Vec::new();
        match state {
            states::PLAN_RELEASE => {
                if let Some(records) = records_of(output) {
                    self.records = Some(records);
                }
            }
            states::REGISTER_SERVICE | states::REGISTER_RULE => {
                match field::<PlanItem>(output, "item") {
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
                if let Some(id) = id_of(output) {
                    self.set(&mut changed, &id, Stage::Updating, None, None);
                }
            }
            // `{id}` of the rule: every changed target points at its new revision.
            states::UPDATE_RULE => {
                if let Some(id) = id_of(output) {
                    for row in self.rows_of(&id) {
                        self.set(&mut changed, &row, Stage::Deployed, None, None);
                    }
                }
            }
            states::SERVICE_FAILED | states::RULE_FAILED => {
                let kind = if state == states::SERVICE_FAILED {
                    PlanItemKind::Service
                } else {
                    PlanItemKind::Rule
                };
                let id = id_of(output).unwrap_or_default();
                // The state keeps the name; the item's record has the message.
                let reason = field::<CaughtError>(output, "error").map(|caught| {
                    let record = fetched.results.get(&result_name(kind, &id));
                    error_reason(&with_recorded_message(&caught, record))
                });
                for row in self.rows_of(&id) {
                    self.set(&mut changed, &row, Stage::Failed, None, reason.clone());
                }
            }
            states::AWAIT_RELEASE => {
                for item in fetched.stability.iter().flat_map(|s| &s.items) {
                    let stage = match item.outcome {
                        Outcome::InProgress => Stage::Updating,
                        Outcome::Succeeded => Stage::Deployed,
                        Outcome::Failed | Outcome::TimedOut | Outcome::Superseded => Stage::Failed,
                    };
                    let reason = (stage == Stage::Failed).then(|| {
                        failure_reason(item.outcome, item.reason.as_deref(), &item.stopped_reasons)
                    });
                    self.set(
                        &mut changed,
                        &item.deployment.id,
                        stage,
                        None,
                        reason.flatten(),
                    );
                }
            }
            states::ROLLBACK_RELEASE => {
                for restore in fetched.rollback.iter().flat_map(|r| &r.restores) {
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
            }
            states::AWAIT_ROLLBACK => {
                for item in fetched.rollback_stability.iter().flat_map(|s| &s.items) {
                    let (stage, reason) = match item.outcome {
                        Outcome::InProgress => (Stage::RollingBack, None),
                        Outcome::Succeeded => (Stage::RolledBack, None),
                        Outcome::Failed | Outcome::TimedOut | Outcome::Superseded => (
                            Stage::RestoreFailed,
                            failure_reason(
                                item.outcome,
                                item.reason.as_deref(),
                                &item.stopped_reasons,
                            ),
                        ),
                    };
                    self.set(&mut changed, &item.deployment.id, stage, None, reason);
                }
            }
            states::FINISH_RELEASE => {
                // The execution's own report: the full one may leave none out (`report` applies it).
                if let Ok(report) = serde_json::from_value::<ReleaseReport>(output.clone()) {
                    changed.extend(self.report(&report));
                }
            }
            _ => {}
        }
        changed
    }

    /// Every item of a release report at its outcome; returns the rows it changed.
    pub fn report(&mut self, report: &ReleaseReport) -> Vec<Row> {
        let mut changed = Vec::new();
        for item in &report.items {
            let stage = match item.outcome {
                ItemOutcome::Deployed => Stage::Deployed,
                ItemOutcome::Unchanged => Stage::Unchanged,
                ItemOutcome::Failed | ItemOutcome::TimedOut | ItemOutcome::Superseded => {
                    Stage::Failed
                }
                ItemOutcome::RolledBack => Stage::RolledBack,
                ItemOutcome::NotStarted => Stage::NotStarted,
            };
            // Items the plan did not show (its record unread, a history cut short): from the report.
            let _ = self.add(item.id.clone(), item.kind, Stage::Planned);
            self.set(
                &mut changed,
                &item.id,
                stage,
                Some(item.final_task_definition.clone()),
                item.reason.clone(),
            );
        }
        changed
    }

    fn planned(&mut self, plan: &Plan) -> Vec<Row> {
        self.planned = true;
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

    /// One line per item: ITEM, STATE, TASK DEFINITION, REASON.
    pub fn table(&self, color: bool) -> String {
        let rows: Vec<Vec<(String, Tone)>> = self.rows.iter().map(row_cells).collect();
        table(
            &["ITEM", "STATE", "TASK DEFINITION", "REASON"],
            &rows,
            color,
        )
    }
}

/// The name and output of a state that exited (Task and Pass states carry items forward).
fn exit(event: &HistoryEvent) -> Option<(&str, Value)> {
    let exited = match event.r#type() {
        HistoryEventType::TaskStateExited | HistoryEventType::PassStateExited => {
            event.state_exited_event_details()?
        }
        _ => return None,
    };
    let output = serde_json::from_str(exited.output().unwrap_or("null")).ok()?;
    Some((exited.name(), output))
}

/// `$.plan.records` of PlanRelease's output.
fn records_of(output: &Value) -> Option<Records> {
    field(output.get("plan")?, "records")
}

fn id_of(output: &Value) -> Option<String> {
    output.get("id")?.as_str().map(str::to_owned)
}

fn row_cells(row: &Row) -> Vec<(String, Tone)> {
    vec![
        (row.id.clone(), Tone::Plain),
        (row.stage.label().to_owned(), row.stage.tone()),
        (
            row.task_definition
                .as_deref()
                .map(short)
                .unwrap_or("-")
                .to_owned(),
            Tone::Plain,
        ),
        (row.reason.clone().unwrap_or_default(), Tone::Plain),
    ]
}

/// One line of a row, for plain (non-terminal) progress output.
pub fn line(row: &Row, color: bool) -> String {
    let mut text = format!(
        "{}: {}",
        row.id,
        paint(row.stage.label(), row.stage.tone(), color)
    );
    if let Some(td) = &row.task_definition {
        text.push_str(&format!(" ({})", short(td)));
    }
    if let Some(reason) = &row.reason {
        text.push_str(&format!(": {reason}"));
    }
    text
}

fn field<T: DeserializeOwned>(value: &Value, key: &str) -> Option<T> {
    serde_json::from_value(value.get(key)?.clone()).ok()
}

/// `Error: message` of a caught error (a Lambda's cause is the function's JSON error), or the name
/// alone when there is no message.
fn error_reason(error: &CaughtError) -> String {
    let message = serde_json::from_str::<Value>(&error.cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| error.cause.clone());
    match message.lines().next().filter(|first| !first.is_empty()) {
        Some(first) => format!("{}: {first}", error.error),
        None => error.error.clone(),
    }
}

fn failure_reason(outcome: Outcome, reason: Option<&str>, stopped: &[String]) -> Option<String> {
    let mut text = format!("{outcome:?}");
    if let Some(reason) = reason {
        text.push_str(&format!(": {reason}"));
    }
    if !stopped.is_empty() {
        text.push_str(&format!(" [tasks: {}]", stopped.join("; ")));
    }
    Some(text)
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
