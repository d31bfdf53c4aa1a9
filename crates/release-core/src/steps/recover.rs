//! watchdog: finishes an execution that ended outside the state machine — stopped by an operator
//! (ABORTED), out of time (TIMED_OUT), or failed where no Catch sees it (FAILED) — and so never
//! reached finish-release: no report, locks still held, items possibly half deployed.
//!
//! From the execution's records it applies the release's rollback policy (the rollback step's own
//! selection and restores, every rollout the execution never saw end counting as failed), writes
//! `rollback.json`, `stability/rollback.json`, `report.json` and the release ledger's entries,
//! then gives back the locks. The restoring rollouts are started, not awaited; the report says so.
//!
//! Running it again changes nothing: once `report.json` exists only locks this execution still
//! holds are given back, which is also all a normal failed release (which ends FAILED after its
//! report) gets. Before the report exists, a second run finds restored items `AlreadyCurrent`, and
//! an item whose lock another release took over since is left alone.

use crate::aws::locks::{ExecutionInputs, Executions, LockStore};
use crate::aws::{CodeDeployApi, EcsApi, EventsApi, ObjectStore, ScalingApi, SchedulerApi};
use crate::contract::{
    ExecutionStatus, ExecutionStatusChange, Plan, Records, Recovery, RecoveryAction,
    ReleaseRecords, ReleaseReport, StepFailures,
};
use crate::decide::lock::{items_to_lock, lock_item};
use crate::decide::recover::{acts_on, needs_rollback, problems, rollback_input, HeldByOthers};
use crate::decide::release_event::{rejection_announced, Rejected, Timing};
use crate::decide::report::{bounded, build, OUTPUT_BUDGET};
use crate::decide::rollback::Overwrite;
use crate::error::with_causes;
use crate::records::{RecordStore, PLAN, REPORT};
use crate::steps::finish_release::{announce_finished, observe, Finished};
use crate::steps::release_events::{announce_rejection, Rejection};
use crate::steps::{ledger, lock, rollback, scaling};
use crate::{Error, Problem};

/// Everything the execution recorded, read back as finish-release would read it (without the
/// state machine's own state: the Map results and failed steps are the records' alone). `None`
/// when there is no plan: the execution ended before pre-flight passed, and changed nothing.
///
/// For whatever finishes a release from its records alone: the watchdog, `convoy rollback` of an
/// execution that left no report.
pub async fn recorded_release(
    store: &RecordStore<impl ObjectStore>,
    records: &Records,
) -> Result<Option<ReleaseRecords>, Error> {
    if store.read::<Plan>(records, PLAN).await?.is_none() {
        return Ok(None);
    }
    store
        .release_records(records, &StepFailures::default())
        .await
        .map(Some)
}

/// The ended execution the watchdog works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub owner: lock::Owner,
    pub records: Records,
    pub status: ExecutionStatus,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// When the execution started (Unix ms), for the release event.
    pub started_at: Option<i64>,
}

/// The release id from the execution input (`release.id`); the input is read with
/// DescribeExecution when the event left it out.
pub async fn release_id(
    executions: &impl ExecutionInputs,
    change: &ExecutionStatusChange,
) -> Result<String, Error> {
    let input = match &change.input {
        Some(input) => input.clone(),
        None => executions
            .input(&change.execution_arn)
            .await?
            .ok_or_else(|| {
                Error::internal(format!(
                    "{}: the event carries no input and DescribeExecution has none",
                    change.execution_arn
                ))
            })?,
    };
    let invalid = |message: String| {
        Error::StepInputInvalid(vec![Problem {
            file: "execution input".into(),
            item: change.execution_arn.clone(),
            field: "release.id".into(),
            message,
        }])
    };
    let value: serde_json::Value =
        serde_json::from_str(&input).map_err(|e| invalid(format!("not JSON: {e}")))?;
    value
        .pointer("/release/id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| invalid("missing: not a convoy release".into()))
}

/// The watchdog function: acts on an execution that ABORTED, TIMED_OUT or FAILED and no longer
/// runs (a redriven execution runs again and finishes itself); anything else is `Ignored`.
#[allow(clippy::too_many_arguments)] // its four AWS clients, the records and the locks
pub async fn watch(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    codedeploy: &impl CodeDeployApi,
    scheduler: &impl SchedulerApi,
    scaling: &impl ScalingApi,
    store: &RecordStore<impl ObjectStore>,
    locks: &impl LockStore,
    executions: &(impl Executions + ExecutionInputs),
    bucket: &str,
    change: &ExecutionStatusChange,
    event_bus: Option<&str>,
) -> Result<Recovery, Error> {
    let ignored = |release_id: Option<String>| Recovery {
        execution_arn: change.execution_arn.clone(),
        status: change.status,
        action: RecoveryAction::Ignored,
        release_id,
        locks_given_back: 0,
        report: None,
    };
    if !acts_on(change.status) {
        tracing::info!(
            status = change.status.as_str(),
            "not an ending the watchdog acts on"
        );
        return Ok(ignored(None));
    }
    let release_id = release_id(executions, change).await?;
    if executions.is_running(&change.execution_arn).await? {
        tracing::warn!(
            release_id,
            "the execution runs again (redriven): left to finish itself"
        );
        return Ok(ignored(Some(release_id)));
    }
    let ended = Ended {
        owner: lock::Owner {
            release_id: release_id.clone(),
            execution_arn: change.execution_arn.clone(),
        },
        records: Records::for_execution(bucket, &release_id, &change.name),
        status: change.status,
        error: change.error.clone(),
        cause: change.cause.clone(),
        started_at: change.start_date,
    };
    recover(
        ecs, events, codedeploy, scheduler, scaling, store, locks, &ended, event_bus,
    )
    .await
}

/// Finishes one ended execution from its records (see the module documentation), and puts the
/// release's Finished event unless it was put already.
#[allow(clippy::too_many_arguments)] // its four AWS clients, the records, the locks and the bus
pub async fn recover(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    codedeploy: &impl CodeDeployApi,
    scheduler: &impl SchedulerApi,
    scaling: &impl ScalingApi,
    store: &RecordStore<impl ObjectStore>,
    locks: &impl LockStore,
    ended: &Ended,
    event_bus: Option<&str>,
) -> Result<Recovery, Error> {
    let timing = Timing {
        started_at: ended.started_at,
        now: ledger::now_millis(),
    };
    let bucket = &ended.records.bucket;
    let answer = |action, locks_given_back: usize, report| Recovery {
        execution_arn: ended.owner.execution_arn.clone(),
        status: ended.status,
        action,
        release_id: Some(ended.owner.release_id.clone()),
        locks_given_back: u32::try_from(locks_given_back).unwrap_or(u32::MAX),
        report,
    };

    // Reported already (a failed release's Fail state, or an earlier run of this watchdog): only
    // the locks it may still hold are left, found through the plan (or by listing them).
    if store
        .read::<serde_json::Value>(&ended.records, REPORT)
        .await?
        .is_some()
    {
        let given_back = match store.read::<Plan>(&ended.records, PLAN).await? {
            Some(plan) => lock::release(locks, bucket, &ended.owner, &plan).await,
            None => lock::give_back_all(locks, bucket, &ended.owner).await?,
        };
        tracing::info!(
            given_back,
            "the execution wrote its report: only locks were left"
        );
        return Ok(answer(RecoveryAction::AlreadyReported, given_back, None));
    }
    let Some(recorded) = recorded_release(store, &ended.records).await? else {
        // No plan: pre-flight never passed, nothing was changed. Locks it may have taken before
        // it ended are found by listing them.
        let given_back = lock::give_back_all(locks, bucket, &ended.owner).await?;
        tracing::info!(
            given_back,
            "the execution ended before its plan: nothing to finish"
        );
        if !rejection_announced(ended.status, ended.error.as_deref()) {
            let error = ended.error.as_deref().unwrap_or(ended.status.as_str());
            let who = Rejected::Unread {
                release_id: &ended.owner.release_id,
            };
            let problems: Vec<String> = ended.cause.iter().cloned().collect();
            let rejection = Rejection {
                who,
                execution_arn: &ended.owner.execution_arn,
                error,
                problems: &problems,
                timing,
            };
            announce_rejection(events, event_bus, rejection).await;
        }
        return Ok(answer(RecoveryAction::NothingChanged, given_back, None));
    };

    let report = finish(
        ecs,
        events,
        codedeploy,
        scheduler,
        store,
        locks,
        ended,
        recorded.clone(),
    )
    .await?;
    let mut report = report;
    // After the rollback's restores were started (not awaited: the watchdog has no time to).
    scaling::restore_for_report(scaling, store, &ended.records, &recorded.plan, &mut report).await;
    // Written before the locks go: the next release of these items finds where each one stands.
    store.write(&ended.records, REPORT, &report).await?;
    let finished = Finished {
        plan: &recorded.plan,
        records: &ended.records,
        execution_arn: &ended.owner.execution_arn,
        timing,
    };
    announce_finished(events, event_bus, store, &finished, &mut report).await?;
    // The release ledger's entries get the outcome and revisions, as finish-release writes them.
    ledger::record_or_warn(
        store.objects(),
        &ended.records,
        &ended.owner.execution_arn,
        &recorded.plan,
        Some(&report),
        ledger::now_millis(),
    )
    .await;
    let given_back = lock::release(locks, bucket, &ended.owner, &recorded.plan).await;
    tracing::info!(
        outcome = ?report.outcome,
        given_back,
        "the watchdog finished the release"
    );
    Ok(answer(
        RecoveryAction::Reported,
        given_back,
        Some(bounded(report, ended.records.uri(REPORT), OUTPUT_BUDGET)),
    ))
}

/// Applies the rollback policy when something did not succeed (recording the rollback), then
/// builds the report from the records and what every item runs now.
#[allow(clippy::too_many_arguments)] // its four AWS clients, the records, the locks and the release
async fn finish(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    codedeploy: &impl CodeDeployApi,
    scheduler: &impl SchedulerApi,
    store: &RecordStore<impl ObjectStore>,
    locks: &impl LockStore,
    ended: &Ended,
    mut recorded: ReleaseRecords,
) -> Result<ReleaseReport, Error> {
    let policy = recorded.plan.settings.rollback;
    let mut started = 0;
    let rolled_back = needs_rollback(&recorded);
    if rolled_back {
        let held =
            held_by_others(locks, &ended.records.bucket, &ended.owner, &recorded.plan).await?;
        let (input, mut left_alone) = rollback_input(&recorded, &held);
        let execution = ended.records.execution();
        let mut output = rollback::rollback(
            ecs,
            events,
            codedeploy,
            scheduler,
            &input,
            execution,
            Overwrite::OwnWorkOnly,
        )
        .await;
        output.restores.append(&mut left_alone);
        let awaited = rollback::record(store, &ended.records, &output).await?;
        started = awaited.pending;
        recorded.rollback = Some(output);
        recorded.rollback_stability = Some(awaited);
    }
    let observed = observe(ecs, events, &recorded).await;
    let mut report = build(&recorded, &observed);
    report.problems.extend(problems(
        ended.status,
        ended.error.as_deref(),
        ended.cause.as_deref(),
        rolled_back.then_some(policy),
        started,
    ));
    Ok(report)
}

/// The plan's items whose lock another execution holds now. A lock that cannot be read is an
/// error: the rollback must not touch an item it cannot tell is still this release's.
pub async fn held_by_others(
    locks: &impl LockStore,
    bucket: &str,
    owner: &lock::Owner,
    plan: &Plan,
) -> Result<HeldByOthers, Error> {
    let mut held = HeldByOthers::new();
    for (kind, id) in items_to_lock(plan) {
        match lock::holder(locks, bucket, kind, &id).await {
            Ok(Some(found)) if found.execution_arn != owner.execution_arn => {
                tracing::warn!(item = %found.item, holder = %found.execution_arn,
                    "another release holds this item now: left alone");
                held.insert(lock_item(kind, &id), found);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(item = %id, error = %with_causes(&e), "could not read the lock");
                return Err(e);
            }
        }
    }
    Ok(held)
}
