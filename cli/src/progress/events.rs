//! What the tracker reads: the exits of history events (which state, with what output), the
//! release records a batch of them needs, and those records once read.

use std::collections::BTreeMap;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType};
use release_core::contract::{
    ItemResult, Plan, PlanItemKind, Records, RollbackOutput, StabilityOutput, StabilityPhase,
};
use release_core::records::{result_name, stability_name, PLAN, ROLLBACK};
use serde::de::DeserializeOwned;
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
