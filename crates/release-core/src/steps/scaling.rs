//! Application Auto Scaling held during a release: pre-flight records each held service's target
//! ([`preflight`]), deploy-batch writes the hold record and suspends the target before updating the
//! service ([`suspend`]), and whatever finishes the release puts every recorded target back
//! ([`restore`]: finish-release, the watchdog, `convoy rollback`, `convoy resume-scaling`).

use std::collections::BTreeMap;

use crate::aws::{ObjectStore, ScalingApi};
use crate::contract::{
    Plan, Records, ReleaseReport, ScalableTarget, ScalingHold, ScalingReport, ServiceItem,
    SuspendedState,
};
use crate::decide::report::cut_reason;
use crate::decide::scaling::{record, to_describe};
use crate::error::with_causes;
use crate::records::RecordStore;
use crate::Error;

/// The hold record of a service: `scaling/<cluster>/<service>.json`.
pub fn hold_name(id: &str) -> String {
    format!("scaling/{id}.json")
}

/// Describes the scalable targets of the held services that change and records them in the plan;
/// a `desiredCount` outside a target's bounds is a pre-flight problem. Sends nothing when no
/// service is held.
pub async fn preflight(
    scaling: &impl ScalingApi,
    plan: &mut Plan,
    held: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let resource_ids = to_describe(&plan.services, held);
    if resource_ids.is_empty() {
        return Ok(());
    }
    let targets = scaling.describe_ecs_targets(&resource_ids).await?;
    let problems = record(&mut plan.services, held, &targets, &plan.release.source);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::PreflightFailed(problems))
    }
}

/// Before a held service is updated: the record first (so that a crash right after still gets
/// the target restored), then all three suspend flags set. Both are idempotent: a retried batch
/// writes the same record and sets the same flags.
pub async fn suspend(
    scaling: &impl ScalingApi,
    store: &RecordStore<impl ObjectStore>,
    records: &Records,
    hold: &ScalingHold,
) -> Result<(), Error> {
    store.write(records, &hold_name(&hold.id), hold).await?;
    scaling
        .set_suspended(&hold.previous.resource_id, SuspendedState::ALL)
        .await?;
    tracing::info!(service = %hold.id, "auto scaling suspended for the release");
    Ok(())
}

/// The hold of a held service, once its item is known to change.
pub fn hold_of(item: &ServiceItem, release_id: &str, execution_arn: &str) -> Option<ScalingHold> {
    item.auto_scaling.as_ref().map(|previous| ScalingHold {
        id: item.id.clone(),
        release_id: release_id.to_owned(),
        execution_arn: execution_arn.to_owned(),
        previous: previous.clone(),
    })
}

/// Puts back the recorded state of every target the release suspended (those with a hold
/// record), whatever the release's outcome. `None` when the release held nothing. A target that
/// cannot be restored is named in `failed`; running this again (`convoy resume-scaling`) retries.
pub async fn restore(
    scaling: &impl ScalingApi,
    store: &RecordStore<impl ObjectStore>,
    records: &Records,
    plan: &Plan,
) -> Option<ScalingReport> {
    let held: Vec<&ServiceItem> = plan
        .services
        .iter()
        .filter(|s| s.auto_scaling.is_some())
        .collect();
    if held.is_empty() {
        return None;
    }
    let mut report = ScalingReport::default();
    for item in held {
        let hold = match store
            .read::<ScalingHold>(records, &hold_name(&item.id))
            .await
        {
            Ok(Some(hold)) => hold,
            // Never suspended: its wave did not start, or the batch ended before it.
            Ok(None) => continue,
            Err(e) => {
                report.failed.push(failure(&item.id, &e));
                continue;
            }
        };
        let ScalableTarget {
            resource_id,
            suspended,
            ..
        } = &hold.previous;
        match scaling.set_suspended(resource_id, *suspended).await {
            Ok(()) => {
                tracing::info!(service = %item.id, ?suspended, "auto scaling restored");
                report.restored.push(item.id.clone());
            }
            Err(e) => report.failed.push(failure(&item.id, &e)),
        }
    }
    Some(report)
}

/// [`restore`] for the report of a finished release: what it did goes into `report.autoScaling`,
/// and targets left suspended are a release problem naming the way to finish them.
pub async fn restore_for_report(
    scaling: &impl ScalingApi,
    store: &RecordStore<impl ObjectStore>,
    records: &Records,
    plan: &Plan,
    report: &mut ReleaseReport,
) {
    let Some(restored) = restore(scaling, store, records, plan).await else {
        return;
    };
    if !restored.failed.is_empty() {
        report.problems.push(format!(
            "auto scaling of {} service(s) is still suspended: `convoy resume-scaling {}` puts \
             the recorded state back",
            restored.failed.len(),
            plan.release.id
        ));
    }
    report.auto_scaling = Some(restored);
}

fn failure(id: &str, e: &Error) -> String {
    let reason = cut_reason(&format!("{id}: {}", with_causes(e)));
    tracing::warn!(service = %id, reason, "auto scaling not restored");
    reason
}
