//! Did our deployment win? The verdict for one service (`judge`, pure) and the polling round over
//! every started deployment of the release (`check`).
//!
//! The verdict is about OUR deployment (the `ecs-svc/…` id UpdateService created), never only about
//! the service looking steady: a circuit breaker that rolled the service back to the previous task
//! definition leaves a perfectly steady service, and that is a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service, Task};

use crate::aws::{EcsApi, ObjectStore};
use crate::records::{stability_name, RecordStore};
use crate::step::{
    DeployResults, DeploymentStatus, Outcome, ServiceDeployment, StabilityCounts, StabilityInput,
    StabilityOutput, StabilityPhase,
};
use crate::Error;

/// Environment variable bounding how long one check-stability invocation keeps polling.
pub const BUDGET_ENV: &str = "CONVOY_STABILITY_BUDGET_SECONDS";
/// Well below the function's timeout, so a last DescribeServices round always fits.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);
/// At most this many stopped-task reasons per item: enough to diagnose, small in the state.
pub const MAX_STOPPED_REASONS: usize = 5;
/// Stopped tasks described per failed item.
const MAX_DESCRIBED_TASKS: usize = 20;

/// The judgement of one deployment at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub reason: String,
}

impl Verdict {
    fn new(outcome: Outcome, reason: impl Into<String>) -> Self {
        Verdict {
            outcome,
            reason: reason.into(),
        }
    }
}

/// `family:revision` of a task definition ARN (or the text itself when it is not an ARN), so an
/// ARN and its short form compare equal.
pub fn task_definition_key(task_definition: &str) -> &str {
    task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, key)| key)
}

pub fn same_task_definition(a: &str, b: &str) -> bool {
    task_definition_key(a) == task_definition_key(b)
}

/// Failed tasks that count as "not going to make it" while no task of the deployment has stayed up:
/// ECS's own circuit-breaker default, half the desired count, at least 3, at most 200. It matters
/// for services without the circuit breaker, which ECS would otherwise retry for ever.
pub fn failed_task_threshold(desired: i32) -> i32 {
    ((desired + 1) / 2).clamp(3, 200)
}

/// The verdict for `deployment` given the service as DescribeServices reports it now (`None`: the
/// service is missing) and the time `now` in Unix seconds.
pub fn judge(deployment: &ServiceDeployment, service: Option<&Service>, now: i64) -> Verdict {
    let name = &deployment.id;
    let Some(service) = service else {
        return Verdict::new(Outcome::Failed, format!("service {name} is missing"));
    };
    let status = service.status.as_deref().unwrap_or("UNKNOWN");
    if status != "ACTIVE" {
        return Verdict::new(Outcome::Failed, format!("service {name} is {status}"));
    }
    let deployments = service.deployments.as_deref().unwrap_or_default();
    let ours = deployments
        .iter()
        .find(|d| d.id.as_deref() == Some(deployment.deployment_id.as_str()));
    let primary = deployments
        .iter()
        .find(|d| d.status.as_deref() == Some("PRIMARY"));

    // Our deployment failed: ECS said so, whatever the service does next.
    if let Some(ours) = ours {
        if ours.rollout_state == Some(DeploymentRolloutState::Failed) {
            return Verdict::new(
                Outcome::Failed,
                format!(
                    "deployment {} failed ({} failed tasks): {}",
                    deployment.deployment_id,
                    ours.failed_tasks,
                    ours.rollout_state_reason
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
            );
        }
    }

    let Some(primary) = primary else {
        return in_progress_or_timed_out(
            deployment,
            now,
            format!("service {name} has no PRIMARY deployment"),
        );
    };
    let primary_td = primary.task_definition.as_deref().unwrap_or_default();
    let primary_is_ours = primary.id.as_deref() == Some(deployment.deployment_id.as_str())
        || same_task_definition(primary_td, &deployment.new_task_definition);

    if primary_is_ours {
        return judge_our_primary(deployment, primary, deployments.len(), now);
    }
    if same_task_definition(primary_td, &deployment.previous_task_definition) {
        // A circuit-breaker rollback: steady perhaps, but on the old revision.
        let ours_state = match ours {
            Some(d) => format!(
                "our deployment {} is {}",
                deployment.deployment_id,
                rollout_state_text(d)
            ),
            None => format!("our deployment {} is gone", deployment.deployment_id),
        };
        return Verdict::new(
            Outcome::Failed,
            format!(
                "service {name} rolled back to the previous task definition {} ({ours_state}){}",
                task_definition_key(primary_td),
                primary
                    .rollout_state_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        );
    }
    Verdict::new(
        Outcome::Superseded,
        format!(
            "service {name} now runs {} from deployment {}, neither ours ({}) nor the previous ({})",
            task_definition_key(primary_td),
            primary.id.as_deref().unwrap_or("?"),
            task_definition_key(&deployment.new_task_definition),
            task_definition_key(&deployment.previous_task_definition),
        ),
    )
}

fn judge_our_primary(
    deployment: &ServiceDeployment,
    primary: &Deployment,
    deployment_count: usize,
    now: i64,
) -> Verdict {
    let others = deployment_count.saturating_sub(1);
    let counts = format!(
        "running {}/{}, {} failed tasks, rollout {}, {} other deployment{}",
        primary.running_count,
        primary.desired_count,
        primary.failed_tasks,
        rollout_state_text(primary),
        others,
        if others == 1 { "" } else { "s" }
    );
    let steady = primary.running_count == primary.desired_count && others == 0;
    let completed = match &primary.rollout_state {
        Some(DeploymentRolloutState::Completed) => true,
        // Services that predate rollout states (or sit behind a Classic LB) never report one.
        None => true,
        Some(_) => false,
    };
    if completed && steady {
        return Verdict::new(Outcome::Succeeded, counts);
    }
    // failedTasks resets once a task of the deployment runs, so a high count means none stayed up.
    if primary.failed_tasks >= failed_task_threshold(primary.desired_count)
        && primary.running_count < primary.desired_count
    {
        return Verdict::new(
            Outcome::Failed,
            format!(
                "deployment {} is not progressing: {counts}",
                deployment.deployment_id
            ),
        );
    }
    in_progress_or_timed_out(deployment, now, counts)
}

fn in_progress_or_timed_out(deployment: &ServiceDeployment, now: i64, progress: String) -> Verdict {
    if now > deployment.deadline {
        Verdict::new(
            Outcome::TimedOut,
            format!(
                "deadline passed {} s ago: {progress}",
                now - deployment.deadline
            ),
        )
    } else {
        Verdict::new(Outcome::InProgress, progress)
    }
}

fn rollout_state_text(d: &Deployment) -> &str {
    d.rollout_state
        .as_ref()
        .map_or("without rollout state", DeploymentRolloutState::as_str)
}

/// Stopped-task reasons worth showing: the task's own `stoppedReason` and each container's reason
/// and exit code, deduplicated in order of appearance, at most [`MAX_STOPPED_REASONS`].
pub fn stopped_reasons(tasks: &[Task]) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    let mut push = |r: String| {
        if !r.is_empty() && !reasons.contains(&r) && reasons.len() < MAX_STOPPED_REASONS {
            reasons.push(r);
        }
    };
    for task in tasks {
        if let Some(r) = task.stopped_reason.as_deref() {
            push(r.trim().to_owned());
        }
        for c in task.containers.as_deref().unwrap_or_default() {
            let name = c.name.as_deref().unwrap_or("container");
            match (c.exit_code, c.reason.as_deref()) {
                (Some(code), Some(reason)) => push(format!("{name}: exit code {code}: {reason}")),
                (Some(code), None) if code != 0 => push(format!("{name}: exit code {code}")),
                (None, Some(reason)) => push(format!("{name}: {reason}")),
                (Some(_), None) | (None, None) => {}
            }
        }
    }
    reasons
}

/// The invocation budget from the value of [`BUDGET_ENV`]: unset or empty means [`DEFAULT_BUDGET`].
pub fn budget_from(value: Option<&str>) -> Result<Duration, Error> {
    match value.map(str::trim).unwrap_or("") {
        "" => Ok(DEFAULT_BUDGET),
        text => text.parse::<u64>().map(Duration::from_secs).map_err(|e| {
            Error::internal(format!(
                "{BUDGET_ENV} must be a whole number of seconds, got `{text}`: {e}"
            ))
        }),
    }
}

fn is_failure(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Failed | Outcome::TimedOut | Outcome::Superseded
    )
}

/// `pending` / `failed` counts of a set of statuses.
pub fn summarize(items: Vec<DeploymentStatus>) -> StabilityOutput {
    let pending = items
        .iter()
        .filter(|i| i.outcome == Outcome::InProgress)
        .count() as u32;
    let failed = items.iter().filter(|i| is_failure(i.outcome)).count() as u32;
    StabilityOutput {
        items,
        pending,
        failed,
    }
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
        let newly_failed = poll_once(ecs, &mut items, crate::plan::deploy::unix_now()).await?;
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
        .list_stopped_tasks(&d.cluster, &d.service, Some(&d.deployment_id))
        .await
    {
        Ok(tasks) if tasks.is_empty() => return,
        Ok(tasks) => tasks,
        Err(e) => {
            tracing::warn!(service = %d.id, error = %e, "could not list stopped tasks");
            return;
        }
    };
    // The most recent few are enough to explain a failure; ListTasks may return a hundred.
    let tasks = &tasks[..tasks.len().min(MAX_DESCRIBED_TASKS)];
    match ecs.describe_tasks(&d.cluster, tasks).await {
        Ok(described) => item.stopped_reasons = stopped_reasons(&described),
        Err(e) => tracing::warn!(service = %d.id, error = %e, "could not describe stopped tasks"),
    }
}
