//! The tracker against hand-made history events and records: every state a release passes,
//! each record wanted once, unreadable events named.

use std::collections::BTreeMap;

use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use aws_sdk_sfn::types::{StateEnteredEventDetails, StateExitedEventDetails};
use release_core::contract::{
    CaughtError, ItemResult, Plan, PlanItemKind, Records, ReleaseReport, StabilityOutput,
    StabilityPhase,
};
use serde::de::DeserializeOwned;
use serde_json::json;
use serde_json::Value;

use super::events::*;
use super::model::*;

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

#[test]
fn unreadable_history_events_are_named_not_dropped() {
    let mut tracker = Tracker::default();
    let not_json = HistoryEvent::builder()
        .id(3)
        .r#type(HistoryEventType::TaskStateExited)
        .timestamp(DateTime::from_secs(0))
        .state_exited_event_details(
            StateExitedEventDetails::builder()
                .name("UpdateService")
                .output("{cut short")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let fetched = Fetched {
        plan: Some(plan()),
        ..Fetched::default()
    };
    tracker.apply(
        &[
            task(2, "PlanRelease", planned_state(&plan())),
            not_json,
            task(4, "UpdateService", json!({"deployment": "ecs-svc/1"})),
            task(5, "FinishRelease", json!({"releaseId": 7})),
        ],
        &fetched,
    );
    let warnings = tracker.take_warnings();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("history event 3 (UpdateService exited): its output is not JSON"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1]
            .starts_with("history event 4 (UpdateService exited): `id` is unreadable (missing)"),
        "{}",
        warnings[1]
    );
    assert!(
        warnings[2].starts_with(
            "history event 5 (FinishRelease exited): its output is not a release report"
        ),
        "{}",
        warnings[2]
    );
    assert!(tracker.take_warnings().is_empty());
    assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Planned);
}
