//! finish-release: observe what every changed item runs, build the report, and after a success clean
//! up old revisions. Clean-up never touches a revision the release references, and never fails the
//! release.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{EcsApi, EventsApi, ObjectStore};
use crate::contract::{
    FinishInput, ItemOutcome, ReleaseOutcome, ReleaseRecords, ReleaseReport, ServiceItem,
    TaskDefRef,
};
use crate::decide::report::{
    bounded, build, referenced_revisions, revisions_to_deregister, Observed, MAX_DEREGISTRATIONS,
    OUTPUT_BUDGET,
};
use crate::decide::rollback::target_item_id;
use crate::records::{RecordStore, REPORT};
use crate::Error;

/// What the clean-up did, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub deregistered: Vec<String>,
    pub failed: Vec<String>,
    /// Left for the next release because of [`MAX_DEREGISTRATIONS`].
    pub deferred: usize,
}

/// Deregisters old ACTIVE revisions of each family the release changed, keeping the newest `keep`
/// and everything the release references. Failures are collected, never returned.
pub async fn cleanup(ecs: &impl EcsApi, input: &ReleaseRecords, report: &ReleaseReport) -> Cleanup {
    let keep = input.plan.settings.keep_revisions as usize;
    let mut summary = Cleanup::default();
    if keep == 0 || report.outcome != ReleaseOutcome::Succeeded {
        return summary;
    }
    let referenced = referenced_revisions(input);
    let families: BTreeSet<&str> = report
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Deployed)
        .filter_map(|i| i.new_task_definition.as_deref())
        .map(|td| TaskDefRef::new(td).family())
        .collect();
    let mut budget = MAX_DEREGISTRATIONS;
    for family in families {
        let revisions = match ecs.list_task_definition_revisions(family).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(family, error = %e, "could not list revisions for clean-up");
                summary.failed.push(family.to_owned());
                continue;
            }
        };
        for old in revisions_to_deregister(&revisions, keep, &referenced) {
            if budget == 0 {
                summary.deferred += 1;
                continue;
            }
            budget -= 1;
            match ecs.deregister_task_definition(&old).await {
                Ok(()) => summary.deregistered.push(old),
                Err(e) => {
                    tracing::warn!(task_definition = %old, error = %e, "could not deregister");
                    summary.failed.push(old);
                }
            }
        }
    }
    tracing::info!(
        deregistered = summary.deregistered.len(),
        failed = summary.failed.len(),
        deferred = summary.deferred,
        "old revisions cleaned up"
    );
    summary
}

/// Looks up what every changed item runs now. Best effort: what cannot be observed is inferred by
/// [`build`] instead, and the failure is logged.
pub async fn observe(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Observed {
    let mut observed = Observed::new();
    let mut by_cluster: BTreeMap<&str, Vec<&ServiceItem>> = BTreeMap::new();
    for s in input.plan.services.iter().filter(|s| !s.noop) {
        by_cluster.entry(s.cluster.as_str()).or_default().push(s);
    }
    for (cluster, items) in by_cluster {
        let names: Vec<String> = items.iter().map(|i| i.service.clone()).collect();
        match ecs.describe_services(cluster, &names).await {
            Ok(found) => {
                for item in items {
                    let td = found
                        .items
                        .iter()
                        .find(|s| s.service_name.as_deref() == Some(item.service.as_str()))
                        .and_then(|s| s.task_definition.clone());
                    if let Some(td) = td {
                        observed.insert(item.id.clone(), td);
                    }
                }
            }
            Err(e) => tracing::warn!(cluster, error = %e, "could not observe services"),
        }
    }
    for rule in input.plan.tasks.iter().filter(|r| !r.noop) {
        match events.list_targets(&rule.event_bus, &rule.rule).await {
            Ok(targets) => {
                for t in targets {
                    if let Some(ecs) = t.ecs_parameters {
                        observed.insert(target_item_id(&rule.id, &t.id), ecs.task_definition_arn);
                    }
                }
            }
            Err(e) => tracing::warn!(rule = %rule.id, error = %e, "could not observe rule targets"),
        }
    }
    observed
}

/// finish-release: observe, report, and clean up after a success.
pub async fn finish(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Result<ReleaseReport, Error> {
    let observed = observe(ecs, events, input).await;
    let report = build(input, &observed);
    cleanup(ecs, input, &report).await;
    Ok(report)
}

/// finish-release: reads the execution's records, reports (and cleans up), writes the full report,
/// and returns it [`bounded`] to [`OUTPUT_BUDGET`].
pub async fn finish_release(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    store: &RecordStore<impl ObjectStore>,
    input: &FinishInput,
) -> Result<ReleaseReport, Error> {
    let records = store
        .release_records(&input.records, &input.deploy, &input.failures)
        .await?;
    let report = finish(ecs, events, &records).await?;
    store.write(&input.records, REPORT, &report).await?;
    Ok(bounded(report, input.records.uri(REPORT), OUTPUT_BUDGET))
}
