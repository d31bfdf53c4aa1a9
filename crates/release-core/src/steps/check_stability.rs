//! check-stability: the polling round over every started deployment of the release (or of its
//! rollback), judged by [`crate::decide::verdict`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

// tokio's clock, so tests can run the polling loop on a paused clock.
use tokio::time::Instant;

use crate::aws::{EcsApi, ObjectStore};
use crate::contract::{
    DeployResults, DeploymentStatus, Outcome, StabilityCounts, StabilityInput, StabilityOutput,
    StabilityPhase,
};
use crate::decide::verdict::{judge, stopped_reasons, summarize};
use crate::records::{stability_name, RecordStore};
use crate::steps::unix_now;
use crate::Error;

/// Environment variable bounding how long one check-stability invocation keeps polling.
pub const BUDGET_ENV: &str = "CONVOY_STABILITY_BUDGET_SECONDS";

/// Well below the function's timeout, so a last DescribeServices round always fits.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// Stopped tasks of a failed item's service looked at: one DescribeTasks call. They are the
/// service's, of every deployment (ListTasks filters on `startedBy` only alone), so more than the
/// few reasons kept are described to find this deployment's.
const MAX_DESCRIBED_TASKS: usize = crate::aws::ecs::DESCRIBE_TASKS_BATCH;

/// The invocation budget from the value of [`BUDGET_ENV`]: unset or empty means [`DEFAULT_BUDGET`].
pub fn budget_from(value: Option<&str>) -> Result<Duration, Error> {
    crate::steps::seconds_from(BUDGET_ENV, value, DEFAULT_BUDGET)
}

/// Judges every item still in progress, polling every `pollIntervalSeconds` until none is pending,
/// one has failed (returned at once so the rollback starts within one interval), or `budget` would
/// be exceeded by another round. Terminal items are passed through untouched.
pub async fn check(
    ecs: &impl EcsApi,
    mut items: Vec<DeploymentStatus>,
    poll_interval_seconds: u32,
    budget: Duration,
) -> Result<StabilityOutput, Error> {
    let interval = Duration::from_secs(u64::from(poll_interval_seconds));
    let started = Instant::now();
    loop {
        let newly_failed = poll_once(ecs, &mut items, unix_now()).await?;
        for index in newly_failed {
            attach_stopped_reasons(ecs, &mut items[index]).await;
        }
        let out = summarize(items);
        let out_of_time = started.elapsed() + interval >= budget;
        if out.pending == 0 || out.failed > 0 || out_of_time {
            return Ok(out);
        }
        items = out.items;
        tokio::time::sleep(interval).await;
    }
}

/// check-stability: one invocation of the AwaitRelease / AwaitRollback loop. Continues from the
/// phase's stability record; the first release round starts from the result records (every service
/// update-service started). Rewrites the record and returns its counts.
pub async fn check_round(
    ecs: &impl EcsApi,
    store: &RecordStore<impl ObjectStore>,
    input: &StabilityInput,
    budget: Duration,
) -> Result<StabilityCounts, Error> {
    let name = stability_name(input.phase);
    let items = match store.read::<StabilityOutput>(&input.records, name).await? {
        Some(round) => round.items,
        None if input.phase == StabilityPhase::Release => {
            let plan = store.plan(&input.records).await?;
            store
                .results(&input.records, &plan, &DeployResults::default())
                .await?
                .into_iter()
                .filter_map(|r| r.deployment)
                .map(DeploymentStatus::started)
                .collect()
        }
        None => {
            return Err(Error::internal(format!(
                "{}: the rollback recorded no deployments to await",
                input.records.uri(name)
            )))
        }
    };
    let round = check(ecs, items, input.poll_interval_seconds, budget).await?;
    store.write(&input.records, name, &round).await?;
    Ok(round.counts())
}

/// One DescribeServices round over the items still in progress (grouped by cluster, the adapter
/// batches 10 per call). Returns the indexes of items that became Failed or TimedOut.
async fn poll_once(
    ecs: &impl EcsApi,
    items: &mut [DeploymentStatus],
    now: i64,
) -> Result<Vec<usize>, Error> {
    let mut by_cluster: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        if !item.outcome.is_terminal() {
            by_cluster
                .entry(item.deployment.cluster.clone())
                .or_default()
                .push(index);
        }
    }
    let mut newly_failed = Vec::new();
    for (cluster, indexes) in by_cluster {
        let names: Vec<String> = indexes
            .iter()
            .map(|&i| items[i].deployment.service.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let services = match ecs.describe_services(&cluster, &names).await {
            Ok(found) => found.items,
            // A deleted cluster takes its services with it: judged as missing below.
            Err(Error::ClusterNotFound(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        for index in indexes {
            let item = &mut items[index];
            let service = services
                .iter()
                .find(|s| s.service_name.as_deref() == Some(item.deployment.service.as_str()));
            let verdict = judge(&item.deployment, service, now);
            tracing::info!(
                cluster = %item.deployment.cluster,
                service = %item.deployment.service,
                outcome = ?verdict.outcome,
                reason = %verdict.reason,
                "stability verdict"
            );
            if matches!(verdict.outcome, Outcome::Failed | Outcome::TimedOut) {
                newly_failed.push(index);
            }
            item.outcome = verdict.outcome;
            item.reason = Some(verdict.reason);
        }
    }
    Ok(newly_failed)
}

/// Best effort: the verdict stands without them, so a failure here is logged, not returned.
async fn attach_stopped_reasons(ecs: &impl EcsApi, item: &mut DeploymentStatus) {
    let d = &item.deployment;
    let tasks = match ecs
        .list_stopped_tasks(&d.cluster, &d.service, MAX_DESCRIBED_TASKS)
        .await
    {
        Ok(tasks) if tasks.is_empty() => return,
        Ok(tasks) => tasks,
        Err(e) => {
            tracing::warn!(service = %d.id, error = %e, "could not list stopped tasks");
            return;
        }
    };
    match ecs.describe_tasks(&d.cluster, &tasks).await {
        Ok(described) => item.stopped_reasons = stopped_reasons(&described, &d.deployment_id),
        Err(e) => tracing::warn!(service = %d.id, error = %e, "could not describe stopped tasks"),
    }
}
