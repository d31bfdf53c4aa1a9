//! The tracker against hand-made history events and records: every state a release passes (the
//! wave's Distributed Map through its batches' summaries and the items' results), each record
//! wanted once, unreadable events named.

use std::collections::BTreeMap;

use aws_sdk_sfn::primitives::DateTime;
use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use aws_sdk_sfn::types::{StateEnteredEventDetails, StateExitedEventDetails};
use release_core::contract::{
    BatchItems, BatchSpec, BatchSummary, CaughtError, ItemResult, Plan, PlanItemKind, Records,
    ReleaseReport, StabilityOutput, StabilityPhase,
};
use release_core::records::wave_batches_name;
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

fn entered_as(id: i64, kind: HistoryEventType, state: &str) -> HistoryEvent {
    HistoryEvent::builder()
        .id(id)
        .r#type(kind)
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

fn entered(id: i64, state: &str) -> HistoryEvent {
    entered_as(id, HistoryEventType::TaskStateEntered, state)
}

/// An event of the Map itself (no state details): MapRunStarted, MapRunSucceeded, MapRunFailed.
fn map_run(id: i64, kind: HistoryEventType) -> HistoryEvent {
    HistoryEvent::builder()
        .id(id)
        .r#type(kind)
        .timestamp(DateTime::from_secs(0))
        .build()
        .unwrap()
}

/// WaveStart, then DeployWave entered: the Map reads the wave's batch list.
fn wave_entered(id: i64, wave: u32) -> Vec<HistoryEvent> {
    vec![
        pass(id, "WaveStart", wave_state(wave)),
        entered_as(id + 1, HistoryEventType::MapStateEntered, "DeployWave"),
    ]
}

fn map_exited(id: i64) -> HistoryEvent {
    exited(
        id,
        HistoryEventType::MapStateExited,
        "DeployWave",
        wave_state(0),
    )
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
        "wave": {"index": 0},
        "stability": null,
        "rollbackStability": null,
        "failures": {"deploy": null, "awaitRelease": null, "rollback": null, "awaitRollback": null}
    })
}

/// The state as WaveStart leaves it.
fn wave_state(wave: u32) -> Value {
    let mut state = planned_state(&plan());
    state["wave"] = json!({"index": wave, "itemsKey": records().key(&wave_batches_name(wave))});
    state
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

/// Wave 0 of `plan`: batch 0 holds c/web, batch 1 the nightly rule.
fn batches(plan: &Plan) -> Fetched {
    let spec = |batch: u32| -> BatchSpec {
        parsed(
            json!({"batch": batch, "items": 1, "registrations": 1, "pace": {
            "registrations": {"burst": 10, "refillIntervalMs": 2000},
            "updates": {"burst": 25, "refillIntervalMs": 400}}}),
        )
    };
    Fetched {
        batches: BTreeMap::from([(0, vec![spec(0), spec(1)])]),
        batch_items: BTreeMap::from([
            (
                (0, 0),
                BatchItems {
                    services: vec![plan.services[0].clone()],
                    tasks: Vec::new(),
                    jobs: Vec::new(),
                    schedules: Vec::new(),
                },
            ),
            (
                (0, 1),
                BatchItems {
                    services: Vec::new(),
                    tasks: vec![plan.tasks[0].clone()],
                    jobs: Vec::new(),
                    schedules: Vec::new(),
                },
            ),
        ]),
        ..Fetched::default()
    }
}

/// Batch `batch` of wave 0 with one item, `done` or not, failed with `failed` (an error name).
fn summary(batch: u32, done: bool, failed: Option<(PlanItemKind, &str, &str)>) -> BatchSummary {
    BatchSummary {
        batch,
        items: 1,
        done: u32::from(done),
        remaining: u32::from(!done),
        failed: failed
            .map(|(kind, id, error)| parsed(json!({"kind": kind, "id": id, "error": error})))
            .into_iter()
            .collect(),
        invocations: 1,
        ..BatchSummary::default()
    }
}

fn summaries(entries: Vec<BatchSummary>) -> BTreeMap<(u32, u32), BatchSummary> {
    entries.into_iter().map(|s| ((0, s.batch), s)).collect()
}

/// c/web's record: UpdateService started ecs-svc/1 on web:2.
fn web_deployed() -> ItemResult {
    parsed(json!({"id": "c/web", "deployment": {
        "id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
        "newTaskDefinition": "web:2", "deploymentId": "ecs-svc/1", "deadline": 10}}))
}

/// The nightly rule's record: its changed targets pointed at rep:2.
fn rule_updated(targets: &[&str]) -> ItemResult {
    let targets: Vec<Value> = targets
        .iter()
        .map(|t| json!({"targetId": t, "previousTaskDefinition": "rep:1", "newTaskDefinition": "rep:2"}))
        .collect();
    parsed(json!({"id": "default/nightly", "rule": {
        "id": "default/nightly", "rule": "nightly", "eventBus": "default", "targets": targets}}))
}

fn failure(id: &str, error: &str, cause: &str) -> ItemResult {
    ItemResult {
        id: id.into(),
        deployment: None,
        rule: None,
        error: Some(CaughtError {
            error: error.into(),
            cause: cause.into(),
        }),
        job: None,
        schedule: None,
        kind: None,
    }
}

/// A tracker that has applied PlanRelease, with its plan read.
fn planned(plan: Plan) -> Tracker {
    let mut tracker = Tracker::default();
    tracker.apply(
        &[task(1, "PlanRelease", planned_state(&plan))],
        &Fetched {
            plan: Some(plan),
            ..Fetched::default()
        },
    );
    tracker
}

fn stages(t: &Tracker) -> Vec<(&str, Stage)> {
    t.rows.iter().map(|r| (r.id.as_str(), r.stage)).collect()
}

#[test]
fn items_move_through_the_states_of_a_release() {
    use Stage::*;
    let bounded: ReleaseReport = parsed(json!({
        "releaseId": "r1", "outcome": "RolledBack",
        "items": [{"id": "default/nightly/b", "kind": "ruleTarget", "outcome": "Failed",
                   "previousTaskDefinition": "rep:1", "finalTaskDefinition": "rep:2"}],
        "omittedItems": 3, "fullReport": records().uri("report.json")
    }));
    let rule_failed = Some((PlanItemKind::Rule, "default/nightly", "TargetsRejected"));
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
            // The Map reads the batch list; no batch has finished a call yet.
            wave_entered(3, 0),
            vec![
                Record::Batches(0),
                Record::Batch(0, 0),
                Record::Summary(0, 0),
                Record::Batch(0, 1),
                Record::Summary(0, 1),
            ],
            batches(&plan()),
            [Planned, Unchanged, Planned, Planned],
        ),
        (
            vec![map_run(5, HistoryEventType::MapRunStarted)],
            vec![Record::Summary(0, 0), Record::Summary(0, 1)],
            Fetched::default(),
            [Deploying, Unchanged, Deploying, Deploying],
        ),
        (
            // A poll without events while the Map runs: the rule's batch is done, it failed.
            vec![],
            vec![
                Record::Summary(0, 0),
                Record::Summary(0, 1),
                Record::Result(PlanItemKind::Rule, "default/nightly".into()),
            ],
            Fetched {
                summaries: summaries(vec![summary(1, true, rule_failed)]),
                results: BTreeMap::from([(
                    "results/rule/default/nightly.json".to_owned(),
                    failure(
                        "default/nightly",
                        "TargetsRejected",
                        "targets rejected: a\nmore",
                    ),
                )]),
                ..Fetched::default()
            },
            [Deploying, Unchanged, Failed, Failed],
        ),
        (
            // The Map ended: the summaries once more (a finished one is not read again).
            vec![map_run(6, HistoryEventType::MapRunSucceeded), map_exited(7)],
            vec![
                Record::Summary(0, 0),
                Record::Result(PlanItemKind::Service, "c/web".into()),
            ],
            Fetched {
                summaries: summaries(vec![summary(0, true, None)]),
                results: BTreeMap::from([(
                    "results/service/c/web.json".to_owned(),
                    web_deployed(),
                )]),
                ..Fetched::default()
            },
            [Updating, Unchanged, Failed, Failed],
        ),
        (
            vec![task(8, "AwaitRelease", counts_state("stability", 0, 0))],
            vec![Record::Stability(StabilityPhase::Release)],
            Fetched {
                stability: Some(stability("Succeeded")),
                ..Fetched::default()
            },
            [Deployed, Unchanged, Failed, Failed],
        ),
        (
            vec![task(
                9,
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
                10,
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
                11,
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
        let at = events
            .first()
            .map_or(tracker.last_event_id, HistoryEvent::id);
        // Given every record they lead to, the events want exactly these.
        assert_eq!(
            tracker
                .wanted(&events, &fetched)
                .map(|w| (w.records, w.names)),
            (!wanted.is_empty()).then(|| (records(), wanted)),
            "records wanted by event {at}"
        );
        tracker.apply(&events, &fetched);
        let want: Vec<(&str, Stage)> = ids.into_iter().zip(want).collect();
        assert_eq!(stages(&tracker), want, "after event {at}");
        if at == 7 {
            // Registered on the revision its record names, then updating.
            let web = tracker.row("c/web").unwrap();
            assert_eq!(web.task_definition.as_deref(), Some("web:2"));
        }
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
    let map = wave_entered(3, 0);
    // Before PlanRelease ended nothing says where the records are.
    assert_eq!(tracker.wanted(&map, &Fetched::default()), None);
    let mut batch = vec![
        task(9, "AwaitRelease", counts_state("stability", 1, 0)),
        task(2, "PlanRelease", planned_state(&plan())),
        map_run(5, HistoryEventType::MapRunStarted),
        map_exited(6),
        task(7, "AwaitRelease", counts_state("stability", 1, 0)),
        task(
            8,
            "RollbackRelease",
            counts_state("rollbackStability", 0, 0),
        ),
    ];
    batch.extend(map);
    // Read round by round: what a record names is wanted once it is read.
    let mut read = Fetched::default();
    let wanted = tracker.wanted(&batch, &read).unwrap();
    assert_eq!(wanted.records, records());
    // Each once, in event order.
    assert_eq!(
        wanted.names,
        [
            Record::Plan,
            Record::Batches(0),
            Record::Stability(StabilityPhase::Release),
            Record::Rollback,
        ]
    );
    read.extend(Fetched {
        batches: batches(&plan()).batches,
        ..Fetched::default()
    });
    let wanted = tracker.wanted(&batch, &read).unwrap();
    assert_eq!(
        wanted.names[1..6],
        [
            Record::Batches(0),
            Record::Batch(0, 0),
            Record::Summary(0, 0),
            Record::Batch(0, 1),
            Record::Summary(0, 1),
        ]
    );
    // c/web's batch is done with it; the rule's batch has not finished a call.
    read.extend(batches(&plan()));
    read.summaries = summaries(vec![summary(0, true, None), summary(1, false, None)]);
    let wanted = tracker.wanted(&batch, &read).unwrap();
    assert_eq!(
        wanted.names[4],
        Record::Result(PlanItemKind::Service, "c/web".into())
    );
    let names: Vec<String> = wanted.names.iter().map(Record::name).collect();
    assert_eq!(
        names,
        [
            "plan.json",
            "waves/0/batches.json",
            "waves/0/batches/0.json",
            "waves/0/batches/0/summary.json",
            "results/service/c/web.json",
            "waves/0/batches/1.json",
            "waves/0/batches/1/summary.json",
            "stability/release.json",
            "rollback.json"
        ]
    );
    // The plan could not be read: no rows yet, and the next poll asks for it again (the Map
    // ended, so its records are not read again).
    assert!(tracker.apply(&batch, &Fetched::default()).is_empty());
    assert_eq!(tracker.last_event_id, 9);
    assert_eq!(
        tracker.wanted(&batch, &Fetched::default()).map(|w| w.names),
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
    assert_eq!(tracker.wanted(&[], &Fetched::default()), None);
}

#[test]
fn a_running_map_reads_only_what_changed() {
    let mut tracker = planned(plan());
    let mut events = wave_entered(2, 0);
    events.push(map_run(4, HistoryEventType::MapRunStarted));
    let mut read = batches(&plan());
    read.summaries = summaries(vec![summary(0, true, None), summary(1, false, None)]);
    read.results = BTreeMap::from([("results/service/c/web.json".to_owned(), web_deployed())]);
    tracker.apply(&events, &read);
    assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Updating);
    // Next poll: the batch list, the batches and c/web's batch (finished, its item applied) are
    // known; only the rule's batch is read again, and its item once its summary says it is done.
    let none = Fetched::default();
    assert_eq!(
        tracker.wanted(&[], &none).map(|w| w.names),
        Some(vec![Record::Summary(0, 1)])
    );
    let done = Fetched {
        summaries: summaries(vec![summary(1, true, None)]),
        ..Fetched::default()
    };
    assert_eq!(
        tracker.wanted(&[], &done).map(|w| w.names),
        Some(vec![
            Record::Summary(0, 1),
            Record::Result(PlanItemKind::Rule, "default/nightly".into())
        ])
    );
    // The summary says done, the record is not readable yet: asked again next poll.
    tracker.apply(&[], &done);
    assert_eq!(
        tracker.row("default/nightly/a").unwrap().stage,
        Stage::Deploying
    );
    assert_eq!(
        tracker.wanted(&[], &none).map(|w| w.names),
        Some(vec![Record::Result(
            PlanItemKind::Rule,
            "default/nightly".into()
        )])
    );
}

#[test]
fn a_failed_item_shows_its_recorded_message_or_the_summarys_error_name() {
    let record = failure(
        "c/web",
        "Throttled",
        "UpdateService c/web: throttled after 5 attempts",
    );
    // (record read, reason shown)
    let cases = [
        (
            Some(record),
            "Throttled: UpdateService c/web: throttled after 5 attempts",
        ),
        // The record could not be read: the name the summary kept.
        (None, "Throttled"),
    ];
    for (recorded, want) in cases {
        let mut tracker = planned(plan());
        let mut fetched = batches(&plan());
        fetched.summaries = summaries(vec![summary(
            0,
            true,
            Some((PlanItemKind::Service, "c/web", "Throttled")),
        )]);
        fetched
            .results
            .extend(recorded.map(|r| ("results/service/c/web.json".to_owned(), r)));
        let mut events = wave_entered(2, 0);
        events.push(map_exited(4));
        tracker.apply(&events, &fetched);
        let web = tracker.row("c/web").unwrap();
        assert_eq!(web.stage, Stage::Failed);
        assert_eq!(web.reason.as_deref(), Some(want));
    }
}

#[test]
fn a_rule_update_moves_only_its_changed_targets() {
    let mut plan = plan();
    plan.tasks[0].targets[1].noop = true;
    let mut tracker = planned(plan.clone());
    let mut events = wave_entered(2, 0);
    events.push(map_run(4, HistoryEventType::MapRunStarted));
    let running = tracker.apply(&events, &batches(&plan));
    assert_eq!(
        running.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["c/web", "default/nightly/a"]
    );
    let mut fetched = Fetched {
        summaries: summaries(vec![summary(1, true, None)]),
        ..Fetched::default()
    };
    fetched.results.insert(
        "results/rule/default/nightly.json".to_owned(),
        rule_updated(&["a"]),
    );
    let changed = tracker.apply(&[map_exited(5)], &fetched);
    assert_eq!(
        changed
            .iter()
            .map(|r| (r.id.as_str(), r.stage))
            .collect::<Vec<_>>(),
        [
            ("default/nightly/a", Stage::Registered),
            ("default/nightly/a", Stage::Deployed)
        ]
    );
    let a = tracker.row("default/nightly/a").unwrap();
    assert_eq!(a.task_definition.as_deref(), Some("rep:2"));
    assert_eq!(
        tracker.row("default/nightly/b").unwrap().stage,
        Stage::Unchanged
    );
    // c/web's batch left no summary: it stays where it was.
    assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Deploying);
}

#[test]
fn a_batch_that_ended_with_items_left_fails_them_saying_why() {
    // c/api changes too, in the rule's batch.
    let mut plan = plan();
    plan.services[1].noop = false;
    let mut tracker = planned(plan.clone());
    let mut read = batches(&plan);
    if let Some(items) = read.batch_items.get_mut(&(0, 1)) {
        items.services.push(plan.services[1].clone());
    }
    let mut events = wave_entered(2, 0);
    events.push(map_run(4, HistoryEventType::MapRunStarted));
    tracker.apply(&events, &read);
    // The Map failed as a whole and its Catch went on: entering AwaitRelease ends it. c/web's
    // batch stopped with its item left (its last call throttled to the end); the other batch says
    // one of its two items is left, but no record tells which was done: they stay where they were.
    let mut web = summary(0, false, None);
    web.last_error = Some(CaughtError {
        error: "Throttled".into(),
        cause: "RegisterTaskDefinition: throttled after 8 attempts".into(),
    });
    let mut other = summary(1, false, None);
    other.items = 2;
    other.done = 1;
    let fetched = Fetched {
        summaries: summaries(vec![web, other]),
        ..Fetched::default()
    };
    assert_eq!(
        tracker.wanted(&[], &fetched).map(|w| w.names),
        Some(vec![
            Record::Summary(0, 0),
            Record::Summary(0, 1),
            Record::Result(PlanItemKind::Service, "c/api".into()),
            Record::Result(PlanItemKind::Rule, "default/nightly".into())
        ])
    );
    let changed = tracker.apply(
        &[
            map_run(5, HistoryEventType::MapRunFailed),
            entered(6, "AwaitRelease"),
        ],
        &fetched,
    );
    let web = tracker.row("c/web").unwrap();
    assert_eq!(web.stage, Stage::Failed);
    assert_eq!(
        web.reason.as_deref(),
        Some(
            "Throttled: wave 0, batch 0 ended before deploying this item: its last call failed: \
             RegisterTaskDefinition: throttled after 8 attempts"
        )
    );
    assert_eq!(
        changed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["c/web"]
    );
    for id in ["c/api", "default/nightly/a"] {
        assert_eq!(tracker.row(id).unwrap().stage, Stage::Deploying, "{id}");
    }
    assert_eq!(tracker.state.as_deref(), Some("AwaitRelease"));
    // The Map ended: its records are not read again.
    assert_eq!(tracker.wanted(&[], &Fetched::default()), None);
}

#[test]
fn events_apply_once_in_id_order() {
    let exit = map_exited(6);
    let stable = task(8, "AwaitRelease", counts_state("stability", 0, 0));
    let mut fetched = batches(&plan());
    fetched.plan = Some(plan());
    fetched.summaries = summaries(vec![summary(0, true, None)]);
    fetched.results = BTreeMap::from([("results/service/c/web.json".to_owned(), web_deployed())]);
    fetched.stability = Some(stability("Succeeded"));
    let mut tracker = Tracker::default();
    // Out of order in one batch: sorted before applying.
    let mut batch = vec![
        stable.clone(),
        map_run(5, HistoryEventType::MapRunStarted),
        entered(7, "AwaitRelease"),
        task(2, "PlanRelease", planned_state(&plan())),
        exit.clone(),
    ];
    batch.extend(wave_entered(3, 0));
    let changed = tracker.apply(&batch, &fetched);
    assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Deployed);
    let web: Vec<Stage> = changed
        .iter()
        .filter(|r| r.id == "c/web")
        .map(|r| r.stage)
        .collect();
    // Every step shows, even when several arrive in one batch.
    assert_eq!(
        web,
        [
            Stage::Planned,
            Stage::Deploying,
            Stage::Registered,
            Stage::Updating,
            Stage::Deployed
        ]
    );
    assert_eq!(tracker.state.as_deref(), Some("AwaitRelease"));
    // Seen again (a history re-read): ignored, and no record is wanted for it.
    assert_eq!(
        tracker.wanted(&[exit.clone(), stable.clone()], &Fetched::default()),
        None
    );
    assert!(tracker.apply(&[exit, stable], &fetched).is_empty());
    assert_eq!(tracker.row("c/web").unwrap().stage, Stage::Deployed);
    assert_eq!(tracker.last_event_id, 8);
}

#[test]
fn every_tracked_state_is_in_the_execution_history_of_the_state_machine() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../statemachine/release.asl.json"
    );
    let asl: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    /// The states whose events reach the execution's own history, with their type: not those of
    /// a Distributed Map's children, which run as executions of their own.
    fn visible(v: &Value, out: &mut Vec<(String, String)>) {
        let Some(states) = v.get("States").and_then(Value::as_object) else {
            return;
        };
        for (name, state) in states {
            let kind = state["Type"].as_str().unwrap_or_default();
            out.push((name.clone(), kind.to_owned()));
            if let Some(processor) = state.get("ItemProcessor").or_else(|| state.get("Iterator")) {
                if processor["ProcessorConfig"]["Mode"] != "DISTRIBUTED" {
                    visible(processor, out);
                }
            }
        }
    }
    let mut found = Vec::new();
    visible(&asl, &mut found);
    for (state, kind) in states::ALL {
        assert!(
            found.iter().any(|(n, k)| n == state && k == kind),
            "{state} is not a {kind} state of {path} whose events the execution's history holds"
        );
    }
    // The Map's items are the batch list the tracker reads.
    let deploy_wave = &asl["States"][states::DEPLOY_WAVE];
    assert_eq!(
        deploy_wave["ItemProcessor"]["ProcessorConfig"]["Mode"],
        "DISTRIBUTED"
    );
    assert_eq!(
        deploy_wave["ItemReader"]["Parameters"]["Key.$"],
        "$.wave.itemsKey"
    );
    let items_key = asl["States"][states::WAVE_START]["Parameters"]["itemsKey.$"]
        .as_str()
        .unwrap();
    // `States.Format('{}waves/{}/batches.json', prefix, index)`
    let format = items_key.split('\'').nth(1).unwrap();
    let key = format
        .replacen("{}", &records().prefix, 1)
        .replacen("{}", "7", 1);
    assert_eq!(key, records().key(&wave_batches_name(7)), "{items_key}");
}

#[test]
fn unreadable_history_events_are_named_not_dropped() {
    let mut tracker = Tracker::default();
    let not_json = HistoryEvent::builder()
        .id(3)
        .r#type(HistoryEventType::PassStateExited)
        .timestamp(DateTime::from_secs(0))
        .state_exited_event_details(
            StateExitedEventDetails::builder()
                .name("WaveStart")
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
            pass(4, "WaveStart", json!({"wave": {"itemsKey": "x"}})),
            task(5, "FinishRelease", json!({"releaseId": 7})),
        ],
        &fetched,
    );
    let warnings = tracker.take_warnings();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert!(
        warnings[0].starts_with("history event 3 (WaveStart exited): its output is not JSON"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].starts_with("history event 4 (WaveStart exited): `wave` is unreadable"),
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

#[test]
fn a_blue_green_item_in_progress_shows_its_lifecycle_stage() {
    let mut tracker = planned(plan());
    let baking: StabilityOutput = parsed(json!({"items": [
        {"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
         "newTaskDefinition": "web:2", "deploymentId": "ecs-svc/1", "deadline": 10,
         "strategy": "BLUE_GREEN", "serviceDeploymentArn": "arn:aws:ecs:us-east-1:1:service-deployment/c/web/7",
         "outcome": "InProgress", "reason": "BLUE_GREEN deployment 7 IN_PROGRESS at BAKE_TIME",
         "stage": "BAKE_TIME"}
    ], "pending": 1, "failed": 0}));
    tracker.apply(
        &[task(8, "AwaitRelease", counts_state("stability", 1, 0))],
        &Fetched {
            stability: Some(baking),
            ..Fetched::default()
        },
    );
    let web = tracker.row("c/web").unwrap();
    assert_eq!(web.stage, Stage::Updating);
    assert_eq!(web.reason.as_deref(), Some("BLUE_GREEN at BAKE_TIME"));

    // A rolling item in progress says nothing more than "updating".
    let mut tracker = planned(plan());
    tracker.apply(
        &[task(8, "AwaitRelease", counts_state("stability", 1, 0))],
        &Fetched {
            stability: Some(stability("InProgress")),
            ..Fetched::default()
        },
    );
    assert_eq!(tracker.row("c/web").unwrap().reason, None);
}

/// A stability record with c/web deployed by CodeDeploy (deployment d-ABC123) at `outcome`,
/// its ECS target at lifecycle event `stage` when read.
fn code_deploy_stability(outcome: &str, stage: Option<&str>) -> StabilityOutput {
    let mut item = json!({
        "id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
        "newTaskDefinition": "web:2", "deploymentId": "d-ABC123", "deadline": 10,
        "codeDeploy": {"application": "AppECS-c-web", "deploymentGroup": "DgpECS-c-web",
                       "deploymentConfig": "CodeDeployDefault.ECSCanary10Percent5Minutes",
                       "waitSeconds": 300},
        "outcome": outcome, "reason": "CodeDeploy deployment d-ABC123 InProgress"});
    if let Some(stage) = stage {
        item["stage"] = json!(stage);
    }
    parsed(json!({"items": [item], "pending": 1, "failed": 0}))
}

fn await_release(tracker: &mut Tracker, id: i64, stability: StabilityOutput) {
    tracker.apply(
        &[task(id, "AwaitRelease", counts_state("stability", 1, 0))],
        &Fetched {
            stability: Some(stability),
            ..Fetched::default()
        },
    );
}

#[test]
fn a_code_deploy_item_in_progress_shows_its_lifecycle_event() {
    use super::render::{items_table, line};

    let mut tracker = planned(plan());
    // Its ECS target not read yet: CodeDeploy deploys it, no event to name.
    await_release(&mut tracker, 8, code_deploy_stability("InProgress", None));
    let web = tracker.row("c/web").unwrap();
    assert_eq!(web.stage, Stage::Updating);
    assert_eq!(web.reason.as_deref(), Some("CODE_DEPLOY"));

    await_release(
        &mut tracker,
        9,
        code_deploy_stability("InProgress", Some("AfterAllowTestTraffic")),
    );
    let web = tracker.row("c/web").unwrap().clone();
    assert_eq!(web.stage, Stage::Updating);
    assert_eq!(
        web.reason.as_deref(),
        Some("CODE_DEPLOY at AfterAllowTestTraffic")
    );
    assert_eq!(web.deployment_id.as_deref(), Some("d-ABC123"));
    // A line and the table have room for its deployment id; a progress bar shows the reason only.
    assert_eq!(
        line(&web, false),
        "c/web: updating: CODE_DEPLOY at AfterAllowTestTraffic (d-ABC123)"
    );
    let table = items_table(&tracker, false);
    assert!(
        table.contains("CODE_DEPLOY at AfterAllowTestTraffic (d-ABC123)"),
        "{table}"
    );
    let json = serde_json::to_value(&web).unwrap();
    assert_eq!(json["deploymentId"], "d-ABC123");

    // Settled, it shows its outcome, not where it was.
    await_release(
        &mut tracker,
        10,
        code_deploy_stability("Succeeded", Some("AfterAllowTraffic")),
    );
    let web = tracker.row("c/web").unwrap();
    assert_eq!(web.stage, Stage::Deployed);
    assert_eq!(line(web, false), "c/web: deployed");
}

#[test]
fn an_ecs_item_has_no_code_deploy_deployment_id() {
    let mut tracker = planned(plan());
    await_release(&mut tracker, 8, stability("InProgress"));
    let web = tracker.row("c/web").unwrap();
    assert_eq!(web.stage, Stage::Updating);
    assert_eq!(web.deployment_id, None);
    assert!(serde_json::to_value(web)
        .unwrap()
        .get("deploymentId")
        .is_none());
}

#[test]
fn a_job_row_follows_its_task_then_settles_at_its_outcome() {
    let mut with_job = plan();
    with_job.jobs = vec![parsed(json!({
        "id": "c/migrate", "cluster": "c", "name": "migrate", "previousTaskDefinition": "mig:1",
        "images": {"app": "app:2"}, "essentialContainers": ["app"], "timeoutSeconds": 600}))];
    let mut tracker = planned(with_job);
    let row = |t: &Tracker| {
        t.rows
            .iter()
            .find(|r| r.id == "c/migrate")
            .map(|r| (r.kind, r.stage, r.reason.clone()))
    };
    assert_eq!(
        row(&tracker),
        Some((release_core::contract::ItemKind::Job, Stage::Planned, None))
    );
    let run = json!({"id": "c/migrate", "cluster": "c", "taskArn": "arn:task/c/1",
                     "taskDefinition": "mig:2", "essentialContainers": ["app"], "deadline": 10});
    let judged = |outcome: &str, reason: &str, containers: Value| -> StabilityOutput {
        let mut job = run.clone();
        job["outcome"] = json!(outcome);
        job["reason"] = json!(reason);
        job["containers"] = containers;
        parsed(json!({"items": [], "jobs": [job], "pending": 0, "failed": 0}))
    };
    tracker.apply(
        &[task(8, "AwaitRelease", counts_state("stability", 1, 0))],
        &Fetched {
            stability: Some(judged("InProgress", "task RUNNING", json!([]))),
            ..Fetched::default()
        },
    );
    assert_eq!(
        row(&tracker),
        Some((
            release_core::contract::ItemKind::Job,
            Stage::Updating,
            Some("task RUNNING".into())
        ))
    );
    tracker.apply(
        &[task(9, "AwaitRelease", counts_state("stability", 0, 1))],
        &Fetched {
            stability: Some(judged(
                "Failed",
                "container app exited 1; task stopped (EssentialContainerExited): x",
                json!([{"name": "app", "exitCode": 1, "essential": true}]),
            )),
            ..Fetched::default()
        },
    );
    assert_eq!(
        row(&tracker),
        Some((
            release_core::contract::ItemKind::Job,
            Stage::Failed,
            Some(
                "Failed: container app exited 1; task stopped (EssentialContainerExited): x \
                 [tasks: app: exit 1]"
                    .into()
            )
        ))
    );
}
