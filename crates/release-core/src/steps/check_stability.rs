//! check-stability: the polling round over every started deployment of the release (or of its
//! rollback), judged by [`crate::decide::verdict`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

// tokio's clock, so tests can run the polling loop on a paused clock.
use tokio::time::Instant;

use crate::aws::{CodeDeployApi, EcsApi, ObjectStore};
use crate::contract::{
    count, BatchItems, BatchSpec, BatchSummary, DeploymentStatus, ItemResult, JobStatus, Outcome,
    StabilityCounts, StabilityInput, StabilityOutput, StabilityPhase,
};
use crate::decide::batches::interruption;
use crate::decide::verdict::{
    judge, judge_service_deployment, rolling_failure_detail, stopped_reasons, summarize, Verdict,
};
use crate::decide::{codedeploy, job};
use crate::records::{
    batch_items_name, batch_summary_name, result_name, stability_name, wave_batches_name,
    RecordStore,
};
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

/// Judges every deployment still in progress: [`check_with_jobs`] without jobs.
pub async fn check(
    ecs: &impl EcsApi,
    codedeploy: &impl CodeDeployApi,
    items: Vec<DeploymentStatus>,
    poll_interval_seconds: u32,
    budget: Duration,
) -> Result<StabilityOutput, Error> {
    check_with_jobs(
        ecs,
        codedeploy,
        items,
        Vec::new(),
        poll_interval_seconds,
        budget,
    )
    .await
}

/// Judges every deployment and job still in progress, polling every `pollIntervalSeconds` until
/// none is pending, one has failed in this call (returned at once so the rollback starts within
/// one interval: a failure already known does not cut the polling short, or a loop that awaits the
/// rest would spin), or `budget` would be exceeded by another round. Terminal items are passed
/// through untouched.
pub async fn check_with_jobs(
    ecs: &impl EcsApi,
    codedeploy: &impl CodeDeployApi,
    mut items: Vec<DeploymentStatus>,
    mut jobs: Vec<JobStatus>,
    poll_interval_seconds: u32,
    budget: Duration,
) -> Result<StabilityOutput, Error> {
    let interval = Duration::from_secs(u64::from(poll_interval_seconds));
    let started = Instant::now();
    loop {
        let now = unix_now();
        let newly_failed = poll_once(ecs, codedeploy, &mut items, now).await?;
        let jobs_failed = poll_jobs(ecs, &mut jobs, now).await?;
        for &index in &newly_failed {
            // A CodeDeploy failure's reason is its lifecycle event's, already in the verdict.
            if items[index].deployment.code_deploy.is_none() {
                attach_stopped_reasons(ecs, &mut items[index]).await;
            }
        }
        attach_rolling_service_deployments(ecs, &mut items, &newly_failed).await;
        let out = summarize(items, jobs);
        let out_of_time = started.elapsed() + interval >= budget;
        if out.pending == 0 || !newly_failed.is_empty() || jobs_failed || out_of_time {
            return Ok(out);
        }
        items = out.items;
        jobs = out.jobs;
        tokio::time::sleep(interval).await;
    }
}

/// check-stability: one invocation of the AwaitRelease / AwaitRollback loop. Continues from the
/// phase's stability record; the first release round starts from the wave's records
/// ([`first_release_round`]). Rewrites the record and returns its counts.
pub async fn check_round(
    ecs: &impl EcsApi,
    codedeploy: &impl CodeDeployApi,
    store: &RecordStore<impl ObjectStore>,
    input: &StabilityInput,
    budget: Duration,
) -> Result<StabilityCounts, Error> {
    let name = stability_name(input.phase);
    let recorded = store.read::<StabilityOutput>(&input.records, name).await?;
    let release = input.phase == StabilityPhase::Release;
    // The waves so far stay in one record: the rollback and the report read every item from it.
    let (wave, remaining_waves) = match (&recorded, release) {
        (_, true) => (input.wave, 0),
        (Some(round), false) => (round.wave, round.remaining_waves),
        (None, false) => (0, 0),
    };
    let first_round = match &recorded {
        None => true,
        Some(round) => release && round.wave < input.wave,
    };
    let (items, jobs, deploy_failed) = match recorded {
        // A later wave's first round: the earlier waves' items, all terminal, and this wave's.
        Some(round) if release && round.wave < input.wave => {
            let (started, jobs, failed) = first_release_round(store, input).await?;
            let mut items = round.items;
            items.extend(started);
            let mut all_jobs = round.jobs;
            all_jobs.extend(jobs);
            (items, all_jobs, failed)
        }
        Some(round) => (round.items, round.jobs, round.deploy_failed),
        None if release => first_release_round(store, input).await?,
        None => {
            return Err(Error::internal(format!(
                "{}: the rollback recorded no deployments to await",
                input.records.uri(name)
            )))
        }
    };
    // Items that failed before any deployment are a failure already: the wave's first round polls
    // once, like a round that found a failed deployment, so the verdict comes at once.
    let budget = if first_round && deploy_failed > 0 {
        Duration::ZERO
    } else {
        budget
    };
    let interval = input.poll_interval_seconds;
    let mut round = check_with_jobs(ecs, codedeploy, items, jobs, interval, budget).await?;
    round.deploy_failed = deploy_failed;
    round.wave = wave;
    round.remaining_waves = remaining_waves;
    store.write(&input.records, name, &round).await?;
    Ok(round.counts())
}

/// What the wave's Map left: the deployments and jobs' tasks its batches started (from the result
/// records), and how many items failed without one — their step failed, or their batch ended before reaching
/// them, which is recorded here as their failure, saying why ([`interruption`]), so the rollback
/// and the report see them.
async fn first_release_round(
    store: &RecordStore<impl ObjectStore>,
    input: &StabilityInput,
) -> Result<(Vec<DeploymentStatus>, Vec<JobStatus>, u32), Error> {
    let records = &input.records;
    let plan = store.plan(records).await?.in_wave(input.wave);
    let results = store.results(records, &plan).await?;
    let interrupted = record_interrupted(store, input).await?;
    let failed_steps = count(results.iter().filter(|r| r.error.is_some()));
    let mut deployments = Vec::new();
    let mut jobs = Vec::new();
    for result in results {
        deployments.extend(result.deployment.map(DeploymentStatus::started));
        jobs.extend(result.job.map(JobStatus::started));
    }
    Ok((deployments, jobs, failed_steps.saturating_add(interrupted)))
}

/// Writes a failure record for every unrecorded item of each batch of the wave that did not
/// finish. Returns how many.
async fn record_interrupted(
    store: &RecordStore<impl ObjectStore>,
    input: &StabilityInput,
) -> Result<u32, Error> {
    let records = &input.records;
    let wave = input.wave;
    let list = wave_batches_name(wave);
    let specs: Vec<BatchSpec> = store.read(records, &list).await?.ok_or_else(|| {
        Error::internal(format!(
            "{}: the wave has no batch list",
            records.uri(&list)
        ))
    })?;
    let mut written = 0_u32;
    for spec in specs {
        let summary: Option<BatchSummary> = store
            .read(records, &batch_summary_name(wave, spec.batch))
            .await?;
        let Some(why) = interruption(wave, spec.batch, summary.as_ref()) else {
            continue;
        };
        let items_name = batch_items_name(wave, spec.batch);
        let items: BatchItems = store.read(records, &items_name).await?.ok_or_else(|| {
            Error::internal(format!(
                "{}: the batch has no items record",
                records.uri(&items_name)
            ))
        })?;
        let ids = items.kinds_and_ids();
        for (kind, id) in ids {
            if store
                .read::<ItemResult>(records, &result_name(kind, id))
                .await?
                .is_some()
            {
                continue;
            }
            tracing::warn!(item = %id, error = %why.error, cause = %why.cause, "not deployed");
            let failure = ItemResult {
                id: id.to_owned(),
                deployment: None,
                rule: None,
                error: Some(why.clone()),
                job: None,
                schedule: None,
                kind: None,
            };
            store.write_result(records, kind, &failure).await?;
            written = written.saturating_add(1);
        }
    }
    Ok(written)
}

/// One round over the items still in progress: DescribeServices for rolling updates,
/// DescribeServiceDeployments for blue/green ones, BatchGetDeployments for CODE_DEPLOY ones.
/// Returns the indexes of items that became Failed or TimedOut.
async fn poll_once(
    ecs: &impl EcsApi,
    codedeploy: &impl CodeDeployApi,
    items: &mut [DeploymentStatus],
    now: i64,
) -> Result<Vec<usize>, Error> {
    let mut newly_failed = poll_services(ecs, items, now).await?;
    newly_failed.extend(poll_service_deployments(ecs, items, now).await?);
    newly_failed.extend(poll_code_deploy(codedeploy, items, now).await?);
    Ok(newly_failed)
}

/// CODE_DEPLOY items: their deployments (the adapter batching 25 per call), and the ECS target of
/// each that has not succeeded, for its lifecycle events (the stage reached, the failing event,
/// whether production traffic has shifted).
async fn poll_code_deploy(
    codedeploy: &impl CodeDeployApi,
    items: &mut [DeploymentStatus],
    now: i64,
) -> Result<Vec<usize>, Error> {
    let polled: Vec<usize> = (0..items.len())
        .filter(|&i| !items[i].outcome.is_terminal() && items[i].deployment.code_deploy.is_some())
        .collect();
    if polled.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = polled
        .iter()
        .map(|&i| items[i].deployment.deployment_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = codedeploy.batch_get_deployments(&ids).await?;
    let mut newly_failed = Vec::new();
    for index in polled {
        let item = &mut items[index];
        let d = &item.deployment;
        let info = found
            .iter()
            .find(|i| i.deployment_id() == Some(d.deployment_id.as_str()));
        // The rollback stopped our deployment and CodeDeploy rolls it back: that one is awaited.
        if let Some(rollback) = info.and_then(|i| codedeploy::rollback_to_follow(i, d.awaits)) {
            item.reason = Some(format!(
                "CodeDeploy deployment {} stopped; awaiting its rollback deployment {rollback}",
                d.deployment_id
            ));
            item.deployment.deployment_id = rollback.to_owned();
            continue;
        }
        let target = match info.filter(|i| codedeploy::needs_target(i)) {
            Some(_) => {
                let target_id = format!("{}:{}", d.cluster, d.service);
                codedeploy
                    .get_deployment_target(&d.deployment_id, &target_id)
                    .await?
            }
            None => None,
        };
        let wait_for_termination = d
            .code_deploy
            .as_ref()
            .is_some_and(|g| g.wait_for_termination);
        let (outcome, reason) = codedeploy::judge(
            info,
            target.as_ref(),
            wait_for_termination,
            d.awaits,
            d.deadline,
            now,
        );
        let verdict = Verdict { outcome, reason };
        if record_verdict(item, verdict) {
            newly_failed.push(index);
        }
        if let Some(stage) = target.as_ref().and_then(codedeploy::stage) {
            item.stage = Some(stage);
        }
    }
    Ok(newly_failed)
}

/// Blue/green items (their service deployment ARN recorded), the adapter batching 20 per call.
async fn poll_service_deployments(
    ecs: &impl EcsApi,
    items: &mut [DeploymentStatus],
    now: i64,
) -> Result<Vec<usize>, Error> {
    let polled: Vec<(usize, String)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.outcome.is_terminal())
        .filter(|(_, item)| item.deployment.strategy.is_blue_green())
        .filter_map(|(i, item)| Some((i, item.deployment.service_deployment_arn.clone()?)))
        .collect();
    if polled.is_empty() {
        return Ok(Vec::new());
    }
    let arns: Vec<String> = polled
        .iter()
        .map(|(_, arn)| arn.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = ecs.describe_service_deployments(&arns).await?;
    let mut newly_failed = Vec::new();
    for (index, arn) in polled {
        let item = &mut items[index];
        let current = found
            .items
            .iter()
            .find(|d| d.service_deployment_arn() == Some(arn.as_str()));
        let verdict = judge_service_deployment(&item.deployment, current, now);
        if record_verdict(item, verdict) {
            newly_failed.push(index);
        }
        item.stage = current
            .and_then(|d| d.lifecycle_stage())
            .map(|s| s.as_str().to_owned());
    }
    Ok(newly_failed)
}

/// Jobs' tasks still in progress, by cluster (the adapter batches 100 per DescribeTasks call); a
/// task still running at its deadline is stopped. `true` when a job failed or timed out.
async fn poll_jobs(ecs: &impl EcsApi, jobs: &mut [JobStatus], now: i64) -> Result<bool, Error> {
    let mut by_cluster: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, job) in jobs.iter().enumerate() {
        if !job.outcome.is_terminal() {
            by_cluster
                .entry(job.run.cluster.clone())
                .or_default()
                .push(index);
        }
    }
    let mut newly_failed = false;
    for (cluster, indexes) in by_cluster {
        let arns: Vec<String> = indexes
            .iter()
            .map(|&i| jobs[i].run.task_arn.clone())
            .collect();
        let tasks = ecs.describe_tasks(&cluster, &arns).await?;
        for index in indexes {
            let status = &mut jobs[index];
            let task = tasks
                .iter()
                .find(|t| t.task_arn() == Some(status.run.task_arn.as_str()));
            let verdict = job::judge(&status.run, task, status.stop_requested, now);
            if verdict.stop {
                let reason = format!("convoy: job {} ran past its timeout", status.run.id);
                ecs.stop_task(&cluster, &status.run.task_arn, &reason)
                    .await?;
                status.stop_requested = true;
            }
            tracing::info!(
                job = %status.run.id,
                task = %status.run.task_arn,
                outcome = ?verdict.outcome,
                reason = %verdict.reason,
                "job verdict"
            );
            newly_failed |= verdict.outcome.is_failure();
            status.outcome = verdict.outcome;
            status.reason = Some(verdict.reason);
            status.last_status = verdict.last_status;
            if !verdict.containers.is_empty() {
                status.containers = verdict.containers;
            }
        }
    }
    Ok(newly_failed)
}

/// Logs `verdict` and records it on `item`; `true` when it fails the item (Failed or TimedOut).
fn record_verdict(item: &mut DeploymentStatus, verdict: Verdict) -> bool {
    log_verdict(item, &verdict);
    let failed = matches!(verdict.outcome, Outcome::Failed | Outcome::TimedOut);
    item.outcome = verdict.outcome;
    item.reason = Some(verdict.reason);
    failed
}

fn log_verdict(item: &DeploymentStatus, verdict: &Verdict) {
    tracing::info!(
        cluster = %item.deployment.cluster,
        service = %item.deployment.service,
        outcome = ?verdict.outcome,
        reason = %verdict.reason,
        "stability verdict"
    );
}

/// Rolling items, grouped by cluster (the adapter batches 10 services per call).
async fn poll_services(
    ecs: &impl EcsApi,
    items: &mut [DeploymentStatus],
    now: i64,
) -> Result<Vec<usize>, Error> {
    let mut by_cluster: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let blue_green = item.deployment.strategy.is_blue_green()
            && item.deployment.service_deployment_arn.is_some();
        let code_deploy = item.deployment.code_deploy.is_some();
        if !item.outcome.is_terminal() && !blue_green && !code_deploy {
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
            if record_verdict(item, verdict) {
                newly_failed.push(index);
            }
        }
    }
    Ok(newly_failed)
}

/// Rolling items that failed, with their service deployment recorded: what it says beyond the
/// DescribeServices verdict (its rollback's reason, triggered alarms) is added to the reason. Best
/// effort, one call for all of them: the verdict stands without it.
async fn attach_rolling_service_deployments(
    ecs: &impl EcsApi,
    items: &mut [DeploymentStatus],
    failed: &[usize],
) {
    let rolling: Vec<(usize, String)> = failed
        .iter()
        .filter(|&&i| !items[i].deployment.strategy.is_blue_green())
        .filter_map(|&i| Some((i, items[i].deployment.service_deployment_arn.clone()?)))
        .collect();
    if rolling.is_empty() {
        return;
    }
    let arns: Vec<String> = rolling.iter().map(|(_, arn)| arn.clone()).collect();
    let found = match ecs.describe_service_deployments(&arns).await {
        Ok(found) => found.items,
        Err(e) => {
            tracing::warn!(error = %e, "could not describe the failed rollouts' service deployments");
            return;
        }
    };
    for (index, arn) in rolling {
        let item = &mut items[index];
        let described = found
            .iter()
            .find(|d| d.service_deployment_arn() == Some(arn.as_str()));
        let reason = item.reason.clone().unwrap_or_default();
        if let Some(detail) = described.and_then(|d| rolling_failure_detail(&reason, d)) {
            item.reason = Some(format!("{reason}; {detail}"));
        }
    }
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
