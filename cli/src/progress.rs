//! Per-item progress of a release, derived from its execution history: the outputs of the states
//! the items pass through (planned → registered → updating → deployed, or failed → rolled back).
//!
//! Pure: events in, rows out. Events are applied in id order and each at most once, so the history
//! can be read incrementally.

use std::collections::BTreeMap;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use release_core::rollback::target_item_id;
use release_core::step::{
    CaughtError, ItemKind, ItemOutcome, Outcome, Plan, PlanItem, ReleaseReport, RestoreOutcome,
    RollbackOutput, RuleUpdate, ServiceDeployment, StabilityOutput,
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
    pub const START_AWAIT_ROLLBACK: &str = "StartAwaitRollback";
    pub const AWAIT_ROLLBACK: &str = "AwaitRollback";
    pub const FINISH_RELEASE: &str = "FinishRelease";

    /// Every state above (the contract test checks each exists in the ASL).
    #[cfg(test)]
    pub const ALL: [&str; 12] = [
        PLAN_RELEASE,
        REGISTER_SERVICE,
        REGISTER_RULE,
        UPDATE_SERVICE,
        UPDATE_RULE,
        SERVICE_FAILED,
        RULE_FAILED,
        AWAIT_RELEASE,
        ROLLBACK_RELEASE,
        START_AWAIT_ROLLBACK,
        AWAIT_ROLLBACK,
        FINISH_RELEASE,
    ];
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
    index: BTreeMap<String, usize>,
    /// Rule id → its target rows.
    rule_targets: BTreeMap<String, Vec<String>>,
}

impl Tracker {
    /// Applies new events (older or repeated ones are ignored). Returns each change as the row
    /// read right after it, in event order: every step shows, even several in one poll.
    pub fn apply(&mut self, events: &[HistoryEvent]) -> Vec<Row> {
        let mut ordered: Vec<&HistoryEvent> = events
            .iter()
            .filter(|e| e.id() > self.last_event_id)
            .collect();
        ordered.sort_by_key(|e| e.id());
        let mut changed = Vec::new();
        for event in ordered {
            if event.id() <= self.last_event_id {
                continue; // a duplicate within the batch
            }
            self.last_event_id = event.id();
            if let Some(entered) = event.state_entered_event_details() {
                self.state = Some(entered.name().to_owned());
            }
            let exited = match event.r#type() {
                HistoryEventType::TaskStateExited | HistoryEventType::PassStateExited => {
                    event.state_exited_event_details()
                }
                _ => None,
            };
            if let Some(exited) = exited {
                let output = exited.output().unwrap_or("null");
                if let Ok(value) = serde_json::from_str::<Value>(output) {
                    changed.extend(self.exited(exited.name(), &value));
                }
            }
        }
        changed
    }

    #[cfg(test)]
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.index.get(id).map(|&i| &self.rows[i])
    }

    fn exited(&mut self, state: &str, output: &Value) -> Vec<Row> {
        let mut changed = Vec::new();
        match state {
            states::PLAN_RELEASE => {
                if let Some(plan) = field::<Plan>(output, "plan") {
                    changed.extend(self.planned(&plan));
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
            states::UPDATE_SERVICE => {
                if let Some(d) = field::<ServiceDeployment>(output, "deployment") {
                    self.set(
                        &mut changed,
                        &d.id,
                        Stage::Updating,
                        Some(d.new_task_definition),
                        None,
                    );
                }
            }
            states::UPDATE_RULE => {
                if let Some(rule) = field::<RuleUpdate>(output, "rule") {
                    for t in rule.targets {
                        let id = target_item_id(&rule.id, &t.target_id);
                        self.set(
                            &mut changed,
                            &id,
                            Stage::Deployed,
                            Some(t.new_task_definition),
                            None,
                        );
                    }
                }
            }
            states::SERVICE_FAILED | states::RULE_FAILED => {
                let id = output
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let reason = field::<CaughtError>(output, "error").map(|e| error_reason(&e));
                for row in self.rows_of(&id) {
                    self.set(&mut changed, &row, Stage::Failed, None, reason.clone());
                }
            }
            states::AWAIT_RELEASE => {
                if let Some(stability) = field::<StabilityOutput>(output, "stability") {
                    for item in stability.items {
                        let stage = match item.outcome {
                            Outcome::InProgress => Stage::Updating,
                            Outcome::Succeeded => Stage::Deployed,
                            Outcome::Failed | Outcome::TimedOut | Outcome::Superseded => {
                                Stage::Failed
                            }
                        };
                        let reason = (stage == Stage::Failed).then(|| {
                            failure_reason(
                                item.outcome,
                                item.reason.as_deref(),
                                &item.stopped_reasons,
                            )
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
            }
            states::ROLLBACK_RELEASE => {
                if let Some(rollback) = field::<RollbackOutput>(output, "rollback") {
                    for restore in rollback.restores {
                        let (stage, reason) = match restore.outcome {
                            RestoreOutcome::Restored => (Stage::RollingBack, None),
                            RestoreOutcome::AlreadyCurrent => (Stage::RolledBack, None),
                            RestoreOutcome::Skipped => (Stage::NotRestored, restore.reason),
                            RestoreOutcome::Failed => (Stage::RestoreFailed, restore.reason),
                        };
                        self.set(
                            &mut changed,
                            &restore.id,
                            stage,
                            Some(restore.task_definition),
                            reason,
                        );
                    }
                }
            }
            states::START_AWAIT_ROLLBACK | states::AWAIT_ROLLBACK => {
                if let Some(stability) = field::<StabilityOutput>(output, "rollbackStability") {
                    for item in stability.items {
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
            }
            states::FINISH_RELEASE => {
                if let Ok(report) = serde_json::from_value::<ReleaseReport>(output.clone()) {
                    for item in report.items {
                        let stage = match item.outcome {
                            ItemOutcome::Deployed => Stage::Deployed,
                            ItemOutcome::Unchanged => Stage::Unchanged,
                            ItemOutcome::Failed
                            | ItemOutcome::TimedOut
                            | ItemOutcome::Superseded => Stage::Failed,
                            ItemOutcome::RolledBack => Stage::RolledBack,
                            ItemOutcome::NotStarted => Stage::NotStarted,
                        };
                        // Items the plan did not show (a history cut short): from the report.
                        let _ = self.add(item.id.clone(), item.kind, Stage::Planned);
                        self.set(
                            &mut changed,
                            &item.id,
                            stage,
                            Some(item.final_task_definition),
                            item.reason,
                        );
                    }
                }
            }
            _ => {}
        }
        changed
    }

    fn planned(&mut self, plan: &Plan) -> Vec<Row> {
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
                self.rule_targets
                    .entry(rule.id.clone())
                    .or_default()
                    .push(id.clone());
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

    /// A rule id stands for all its target rows; anything else for itself.
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

/// `Error: message` of a caught Lambda error (its cause is the function's JSON error).
fn error_reason(error: &CaughtError) -> String {
    let message = serde_json::from_str::<Value>(&error.cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| error.cause.clone());
    let first = message.lines().next().unwrap_or_default();
    format!("{}: {first}", error.error)
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

    fn plan() -> Value {
        json!({"plan": {
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
        }})
    }

    /// What UpdateService returns.
    fn started() -> Value {
        json!({"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
               "newTaskDefinition": "web:2", "deploymentId": "ecs-svc/1", "deadline": 10})
    }

    /// A check-stability record of that deployment.
    fn deployment(outcome: &str, reason: &str) -> Value {
        let mut status = started();
        status["outcome"] = json!(outcome);
        status["reason"] = json!(reason);
        status
    }

    fn stages(t: &Tracker) -> Vec<(&str, Stage)> {
        t.rows.iter().map(|r| (r.id.as_str(), r.stage)).collect()
    }

    #[test]
    fn items_move_through_the_states_of_a_release() {
        use Stage::*;
        let lambda_error =
            json!({"errorType": "TargetsRejected", "errorMessage": "targets rejected: a\nmore"});
        // (events, expected stages of c/web, c/api, default/nightly/a, default/nightly/b)
        let cases: Vec<(Vec<HistoryEvent>, [Stage; 4])> = vec![
            (
                vec![task(2, "PlanRelease", plan())],
                [Planned, Unchanged, Planned, Planned],
            ),
            (
                vec![task(
                    3,
                    "RegisterServiceTaskDefinition",
                    json!({"releaseId": "r1", "item":
                    {"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
                     "images": {}, "noop": false, "timeoutSeconds": 600, "newTaskDefinition": "web:2"}}),
                )],
                [Registered, Unchanged, Planned, Planned],
            ),
            (
                vec![task(
                    4,
                    "UpdateService",
                    json!({"id": "c/web", "deployment": started()}),
                )],
                [Updating, Unchanged, Planned, Planned],
            ),
            (
                vec![exited(
                    5,
                    HistoryEventType::PassStateExited,
                    "RuleFailed",
                    json!({"id": "default/nightly", "error": {"Error": "TargetsRejected", "Cause": lambda_error.to_string()}}),
                )],
                [Updating, Unchanged, Failed, Failed],
            ),
            (
                vec![task(
                    6,
                    "AwaitRelease",
                    json!({"stability": {"items": [deployment("Succeeded", "ok")], "pending": 0, "failed": 0}}),
                )],
                [Deployed, Unchanged, Failed, Failed],
            ),
            (
                vec![task(
                    7,
                    "RollbackRelease",
                    json!({"rollback": {"restores": [
                    {"id": "c/web", "outcome": "Restored", "taskDefinition": "web:1"},
                    {"id": "default/nightly/a", "outcome": "AlreadyCurrent", "taskDefinition": "rep:1"},
                    {"id": "default/nightly/b", "outcome": "Failed", "taskDefinition": "rep:1", "reason": "gone"}],
                    "items": [], "pending": 1, "failed": 0}}),
                )],
                [RollingBack, Unchanged, RolledBack, RestoreFailed],
            ),
            (
                vec![task(
                    8,
                    "AwaitRollback",
                    json!({"rollbackStability": {"items": [deployment("Succeeded", "ok")], "pending": 0, "failed": 0}}),
                )],
                [RolledBack, Unchanged, RolledBack, RestoreFailed],
            ),
            (
                vec![task(
                    9,
                    "FinishRelease",
                    json!({"releaseId": "r1", "outcome": "RolledBack", "items": [
                    {"id": "c/web", "kind": "service", "outcome": "RolledBack", "previousTaskDefinition": "web:1", "finalTaskDefinition": "web:1"},
                    {"id": "default/nightly/b", "kind": "ruleTarget", "outcome": "Failed", "previousTaskDefinition": "rep:1", "finalTaskDefinition": "rep:2"}]}),
                )],
                [RolledBack, Unchanged, RolledBack, Failed],
            ),
        ];
        let mut tracker = Tracker::default();
        let ids = ["c/web", "c/api", "default/nightly/a", "default/nightly/b"];
        for (events, want) in cases {
            tracker.apply(&events);
            let want: Vec<(&str, Stage)> = ids.into_iter().zip(want).collect();
            assert_eq!(
                stages(&tracker),
                want,
                "after event {}",
                tracker.last_event_id
            );
        }
        let a = tracker.row("default/nightly/a").unwrap();
        assert_eq!(
            a.reason.as_deref(),
            Some("TargetsRejected: targets rejected: a")
        );
    }

    #[test]
    fn events_apply_once_in_id_order() {
        let update = task(
            4,
            "UpdateService",
            json!({"id": "c/web", "deployment": started()}),
        );
        let stable = task(
            5,
            "AwaitRelease",
            json!({"stability": {"items": [deployment("Succeeded", "ok")], "pending": 0, "failed": 0}}),
        );
        let mut tracker = Tracker::default();
        // Out of order in one batch: sorted before applying.
        let changed = tracker.apply(&[
            stable.clone(),
            entered(3, "UpdateService"),
            task(2, "PlanRelease", plan()),
            update.clone(),
        ]);
        assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Deployed);
        let web: Vec<Stage> = changed
            .iter()
            .filter(|r| r.id == "c/web")
            .map(|r| r.stage)
            .collect();
        // Every step shows, even when several arrive in one batch.
        assert_eq!(web, [Stage::Planned, Stage::Updating, Stage::Deployed]);
        assert_eq!(tracker.state.as_deref(), Some("UpdateService"));
        // Seen again (a history re-read): ignored.
        assert!(tracker.apply(&[update, stable]).is_empty());
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
