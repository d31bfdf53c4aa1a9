//! What the tracker reads: the exits of history events (which state, with what output), the
//! events of the wave's Distributed Map, the release records a batch of them needs, and those
//! records once read.

use std::collections::BTreeMap;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use release_core::contract::{
    BatchItems, BatchSpec, BatchSummary, ItemResult, Plan, PlanItemKind, Records, RollbackOutput,
    StabilityOutput, StabilityPhase,
};
use release_core::records::{
    batch_items_name, batch_summary_name, result_name, stability_name, wave_batches_name, PLAN,
    ROLLBACK,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The states of `statemachine/release.asl.json` whose events move items forward.
pub mod states {
    pub const PLAN_RELEASE: &str = "PlanRelease";
    /// Its output's `wave.index` names the wave the Map deploys next.
    pub const WAVE_START: &str = "WaveStart";
    /// The wave's Distributed Map: its children's events are not in the history, so while it runs
    /// (and once it ended) the items come from its batches' records.
    pub const DEPLOY_WAVE: &str = "DeployWave";
    pub const AWAIT_RELEASE: &str = "AwaitRelease";
    pub const ROLLBACK_RELEASE: &str = "RollbackRelease";
    pub const AWAIT_ROLLBACK: &str = "AwaitRollback";
    pub const FINISH_RELEASE: &str = "FinishRelease";

    /// Every state above with its `Type` (the contract test checks each is a state of the ASL whose
    /// events reach the execution's own history, of that type).
    #[cfg(test)]
    pub const ALL: [(&str, &str); 7] = [
        (PLAN_RELEASE, "Task"),
        (WAVE_START, "Pass"),
        (DEPLOY_WAVE, "Map"),
        (AWAIT_RELEASE, "Task"),
        (ROLLBACK_RELEASE, "Task"),
        (AWAIT_ROLLBACK, "Task"),
        (FINISH_RELEASE, "Task"),
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
    pub fn field<T: DeserializeOwned>(&self, key: &str) -> Result<T, String> {
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

/// `$.wave` as WaveStart leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct WaveState {
    pub index: u32,
}

/// What an event says of the wave's Distributed Map ([`states::DEPLOY_WAVE`], the only Map of the
/// state machine, one at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapEvent {
    /// MapStateEntered: it reads the wave's batch list.
    Entered,
    /// MapRunStarted: its children (one per batch) run.
    RunStarted,
    /// MapStateExited, or MapStateFailed / MapStateAborted: every child has ended.
    Ended,
}

pub fn map_event(event: &HistoryEvent) -> Option<MapEvent> {
    let deploy_wave = |name: Option<&str>| name == Some(states::DEPLOY_WAVE);
    match event.r#type() {
        HistoryEventType::MapStateEntered
            if deploy_wave(event.state_entered_event_details().map(|d| d.name())) =>
        {
            Some(MapEvent::Entered)
        }
        HistoryEventType::MapRunStarted => Some(MapEvent::RunStarted),
        HistoryEventType::MapStateExited
            if deploy_wave(event.state_exited_event_details().map(|d| d.name())) =>
        {
            Some(MapEvent::Ended)
        }
        HistoryEventType::MapStateFailed | HistoryEventType::MapStateAborted => {
            Some(MapEvent::Ended)
        }
        _ => None,
    }
}

/// A release record the tracker takes item details from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `plan.json`: every item, unchanged ones and each rule's targets included.
    Plan,
    /// `waves/{k}/batches.json`: the batches of wave k.
    Batches(u32),
    /// `waves/{k}/batches/{i}.json`: the items of batch i of wave k.
    Batch(u32, u32),
    /// `waves/{k}/batches/{i}/summary.json`: how far batch i of wave k got, rewritten after every
    /// call of deploy-batch.
    Summary(u32, u32),
    /// `results/{kind}/{id}.json` of an item its batch is done with: its deployment, or the error's
    /// whole message (the summary keeps only its name).
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
            Record::Batches(wave) => wave_batches_name(*wave),
            Record::Batch(wave, batch) => batch_items_name(*wave, *batch),
            Record::Summary(wave, batch) => batch_summary_name(*wave, *batch),
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

/// The records read for a batch of events; what is missing (or could not be read) is `None` or
/// absent, and the items it would have told about stay where they were.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    pub plan: Option<Plan>,
    /// By wave.
    pub batches: BTreeMap<u32, Vec<BatchSpec>>,
    /// By (wave, batch).
    pub batch_items: BTreeMap<(u32, u32), BatchItems>,
    /// By (wave, batch).
    pub summaries: BTreeMap<(u32, u32), BatchSummary>,
    /// Items' results, by [`Record::name`].
    pub results: BTreeMap<String, ItemResult>,
    pub stability: Option<StabilityOutput>,
    pub rollback: Option<RollbackOutput>,
    pub rollback_stability: Option<StabilityOutput>,
}

impl Fetched {
    /// Adds what a further read found (the records it leads to: a wave's batches, their items'
    /// results).
    pub fn extend(&mut self, more: Fetched) {
        self.plan = self.plan.take().or(more.plan);
        self.batches.extend(more.batches);
        self.batch_items.extend(more.batch_items);
        self.summaries.extend(more.summaries);
        self.results.extend(more.results);
        self.stability = self.stability.take().or(more.stability);
        self.rollback = self.rollback.take().or(more.rollback);
        self.rollback_stability = self.rollback_stability.take().or(more.rollback_stability);
    }
}
