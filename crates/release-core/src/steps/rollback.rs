//! rollback: restore changed services and rule targets to the task definitions recorded in the plan.
//!
//! What is restored is decided by [`crate::decide::rollback::select`]; the restore itself looks at
//! the CURRENT state first, so running it twice is harmless: what already runs its previous task
//! definition is reported `AlreadyCurrent`.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::DeploymentRolloutState;

use crate::aws::{EcsApi, EventsApi, ObjectStore, ServiceUpdate};
use crate::contract::{
    DeploymentStatus, ReleaseRecords, Restore, RestoreOutcome, RollbackInput, RollbackOutput,
    RuleItem, RuleTaskTarget, ServiceItem, StabilityCounts, StabilityOutput, StabilityPhase,
    TaskDefRef,
};
use crate::decide::rollback::{await_record, restore, select, target_item_id, Candidate};
use crate::decide::rules::retarget;
use crate::decide::verdict::{summarize, PRIMARY};
use crate::error::{with_causes, ItemFailure};
use crate::records::{stability_name, RecordStore, ROLLBACK};
use crate::steps::unix_now;
use crate::Error;

/// The rollback function: restores what the policy selects, continuing past individual failures.
/// `RollbackFailed` (listing every item left un-restored) only if something could not be restored.
pub async fn rollback(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Result<RollbackOutput, Error> {
    let selection = select(&input.plan, &input.results, input.stability.as_ref());
    let now = unix_now();
    let mut restores = Vec::new();
    let mut awaits = Vec::new();

    let mut services_by_cluster: BTreeMap<&str, Vec<(&ServiceItem, Option<String>)>> =
        BTreeMap::new();
    let mut targets_by_rule: BTreeMap<&str, (&RuleItem, Vec<&RuleTaskTarget>)> = BTreeMap::new();
    for candidate in &selection.restore {
        match candidate {
            Candidate::Service {
                item,
                new_task_definition,
            } => services_by_cluster
                .entry(item.cluster.as_str())
                .or_default()
                .push((item, new_task_definition.clone())),
            Candidate::Target { rule, target } => targets_by_rule
                .entry(rule.id.as_str())
                .or_insert_with(|| (rule, Vec::new()))
                .1
                .push(target),
        }
    }
    for (candidate, reason) in &selection.skip {
        restores.push(restore(
            candidate.id(),
            RestoreOutcome::Skipped,
            candidate.previous_task_definition(),
            Some(reason.clone()),
        ));
    }

    for (cluster, items) in services_by_cluster {
        restore_services(ecs, cluster, &items, now, &mut restores, &mut awaits).await;
    }
    for (rule, targets) in targets_by_rule.into_values() {
        restore_targets(events, rule, &targets, &mut restores).await;
    }

    let failed: Vec<ItemFailure> = restores
        .iter()
        .filter(|r| r.outcome == RestoreOutcome::Failed)
        .map(|r| ItemFailure {
            id: r.id.clone(),
            reason: r.reason.clone().unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    if !failed.is_empty() {
        return Err(Error::RollbackFailed(failed));
    }
    let awaited = summarize(awaits);
    Ok(RollbackOutput {
        restores,
        items: awaited.items,
        pending: awaited.pending,
        failed: awaited.failed,
    })
}

/// The rollback function: restores from the execution's records, then records what it restored
/// and the deployments it started (the first AwaitRollback round); returns that round's counts.
pub async fn rollback_release(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    store: &RecordStore<impl ObjectStore>,
    input: &RollbackInput,
) -> Result<StabilityCounts, Error> {
    let records = store.deployed(&input.records, &input.deploy).await?;
    let output = rollback(ecs, events, &records).await?;
    let awaited = StabilityOutput {
        items: output.items.clone(),
        pending: output.pending,
        failed: output.failed,
    };
    store.write(&input.records, ROLLBACK, &output).await?;
    store
        .write(
            &input.records,
            stability_name(StabilityPhase::Rollback),
            &awaited,
        )
        .await?;
    Ok(awaited.counts())
}

async fn restore_services(
    ecs: &impl EcsApi,
    cluster: &str,
    items: &[(&ServiceItem, Option<String>)],
    now: i64,
    restores: &mut Vec<Restore>,
    awaits: &mut Vec<DeploymentStatus>,
) {
    let names: Vec<String> = items.iter().map(|(i, _)| i.service.clone()).collect();
    let services = match ecs.describe_services(cluster, &names).await {
        Ok(found) => found.items,
        Err(e) => {
            for (item, _) in items {
                restores.push(restore(
                    item.id.clone(),
                    RestoreOutcome::Failed,
                    &item.previous_task_definition,
                    Some(format!(
                        "could not describe the service: {}",
                        with_causes(&e)
                    )),
                ));
            }
            return;
        }
    };
    for (item, new_task_definition) in items {
        let previous = &item.previous_task_definition;
        let current = services
            .iter()
            .find(|s| s.service_name.as_deref() == Some(item.service.as_str()));
        let Some(current) = current.filter(|s| s.status.as_deref() == Some("ACTIVE")) else {
            restores.push(restore(
                item.id.clone(),
                RestoreOutcome::Failed,
                previous,
                Some("service is missing or not ACTIVE".into()),
            ));
            continue;
        };
        let current_td = current.task_definition.clone().unwrap_or_default();
        if TaskDefRef::new(&current_td).same_as(previous) {
            // Possibly ECS's circuit breaker, or a first rollback call, is still rolling it back:
            // hand that deployment to the await loop too.
            let rolling = current
                .deployments
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|d| {
                    d.status.as_deref() == Some(PRIMARY)
                        && d.rollout_state == Some(DeploymentRolloutState::InProgress)
                });
            if rolling {
                let from = new_task_definition.clone().unwrap_or_default();
                awaits.push(await_record(item, from, current, now));
            }
            restores.push(restore(
                item.id.clone(),
                RestoreOutcome::AlreadyCurrent,
                previous,
                None,
            ));
            continue;
        }
        let update = ServiceUpdate {
            cluster: item.cluster.clone(),
            service: item.service.clone(),
            task_definition: previous.clone(),
            desired_count: None,
            minimum_healthy_percent: None,
            maximum_percent: None,
        };
        match ecs.update_service(&update).await {
            Ok(updated) => {
                tracing::info!(service = %item.id, task_definition = %previous, "service restored");
                awaits.push(await_record(item, current_td, &updated, now));
                restores.push(restore(
                    item.id.clone(),
                    RestoreOutcome::Restored,
                    previous,
                    None,
                ));
            }
            Err(e) => restores.push(restore(
                item.id.clone(),
                RestoreOutcome::Failed,
                previous,
                Some(with_causes(&e)),
            )),
        }
    }
}

async fn restore_targets(
    events: &impl EventsApi,
    rule: &RuleItem,
    targets: &[&RuleTaskTarget],
    restores: &mut Vec<Restore>,
) {
    let fail_all = |restores: &mut Vec<Restore>, targets: &[&RuleTaskTarget], why: String| {
        for t in targets {
            restores.push(restore(
                target_item_id(&rule.id, &t.target_id),
                RestoreOutcome::Failed,
                &t.previous_task_definition,
                Some(why.clone()),
            ));
        }
    };
    let current = match events.list_targets(&rule.event_bus, &rule.rule).await {
        Ok(current) => current,
        Err(e) => {
            return fail_all(
                restores,
                targets,
                format!("could not list targets: {}", with_causes(&e)),
            )
        }
    };
    let wanted: BTreeMap<&str, &str> = targets
        .iter()
        .map(|t| (t.target_id.as_str(), t.previous_task_definition.as_str()))
        .collect();
    let to_put = retarget(&current, &wanted);
    // Per target: `None` accepted, `Some(why)` rejected (PutTargets can reject some entries only).
    let mut rejected: BTreeMap<String, String> = BTreeMap::new();
    if !to_put.is_empty() {
        match events
            .put_targets(&rule.event_bus, &rule.rule, &to_put)
            .await
        {
            Ok(failed) => {
                for entry in failed {
                    let why = format!(
                        "PutTargets rejected it: {}: {}",
                        entry.error_code.as_deref().unwrap_or("?"),
                        entry.error_message.as_deref().unwrap_or("no message")
                    );
                    rejected.insert(entry.target_id.unwrap_or_default(), why);
                }
            }
            Err(e) => {
                for t in &to_put {
                    rejected.insert(t.id.clone(), with_causes(&e));
                }
            }
        }
    }
    for t in targets {
        let id = target_item_id(&rule.id, &t.target_id);
        let previous = &t.previous_task_definition;
        let on_rule = current
            .iter()
            .any(|c| c.id == t.target_id && c.ecs_parameters.is_some());
        let sent = to_put.iter().any(|c| c.id == t.target_id);
        let (outcome, reason) = match (on_rule, sent, rejected.get(&t.target_id)) {
            (false, _, _) => (
                RestoreOutcome::Failed,
                Some("target is no longer on the rule".to_owned()),
            ),
            (true, false, _) => (RestoreOutcome::AlreadyCurrent, None),
            (true, true, None) => (RestoreOutcome::Restored, None),
            (true, true, Some(why)) => (RestoreOutcome::Failed, Some(why.clone())),
        };
        restores.push(restore(id, outcome, previous, reason));
    }
}
