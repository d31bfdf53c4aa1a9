//! Did our deployment win? The verdict for one service at one moment.
//!
//! The verdict is about OUR deployment (the `ecs-svc/…` id UpdateService created), never only about
//! the service looking steady: a circuit breaker that rolled the service back to the previous task
//! definition leaves a perfectly steady service, and that is a failure.

use aws_sdk_ecs::types::{
    Deployment, DeploymentRolloutState, Service, ServiceDeployment as EcsServiceDeployment,
    ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus, Task,
};

use crate::contract::{
    count, DeploymentStatus, JobStatus, Outcome, ServiceDeployment, StabilityOutput, Strategy,
    TaskDefRef,
};
use crate::decide::strategy::{outcome_of, stage_text};

/// The status ECS gives the deployment that new tasks are started for.
pub const PRIMARY: &str = "PRIMARY";

/// At most this many stopped-task reasons per item: enough to diagnose, small in the state.
pub const MAX_STOPPED_REASONS: usize = 5;

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
        .find(|d| d.status.as_deref() == Some(PRIMARY));

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
            deployment.deadline,
            now,
            format!("service {name} has no PRIMARY deployment"),
        );
    };
    let primary_td = primary.task_definition.as_deref().unwrap_or_default();
    let primary_is_ours = primary.id.as_deref() == Some(deployment.deployment_id.as_str())
        || TaskDefRef::new(primary_td).same_as(&deployment.new_task_definition);

    if primary_is_ours {
        return judge_our_primary(deployment, primary, deployments.len(), now);
    }
    if TaskDefRef::new(primary_td).same_as(&deployment.previous_task_definition) {
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
                TaskDefRef::new(primary_td),
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
            TaskDefRef::new(primary_td),
            primary.id.as_deref().unwrap_or("?"),
            TaskDefRef::new(&deployment.new_task_definition),
            TaskDefRef::new(&deployment.previous_task_definition),
        ),
    )
}

/// The verdict for a blue/green `deployment` (BLUE_GREEN, LINEAR, CANARY) from its service
/// deployment as DescribeServiceDeployments reports it now (`None`: ECS does not know it, which
/// right after UpdateService may only mean its reads have not caught up: asked again next round
/// until the deadline). Both revisions run until the bake ends, so only the service deployment's
/// status tells: SUCCESSFUL is done, a stop or any rollback is a failure (or, for a rollback
/// convoy awaits, the success).
pub fn judge_service_deployment(
    deployment: &ServiceDeployment,
    found: Option<&EcsServiceDeployment>,
    now: i64,
) -> Verdict {
    let arn = deployment.service_deployment_arn.as_deref().unwrap_or("?");
    let Some(found) = found else {
        let missing = format!(
            "service deployment {arn} of {} not found (ECS reads are eventually consistent)",
            deployment.id
        );
        return in_progress_or_timed_out(deployment.deadline, now, missing);
    };
    let status = found
        .status()
        .cloned()
        .unwrap_or(ServiceDeploymentStatus::Pending);
    let progress = service_deployment_text(deployment.strategy, found, &status);
    match outcome_of(&status, deployment.awaits) {
        None => in_progress_or_timed_out(deployment.deadline, now, progress),
        Some(outcome) => Verdict::new(outcome, progress),
    }
}

/// `BLUE_GREEN deployment …/7 IN_PROGRESS at BAKE_TIME, target revision 2/2 running, 100 % of
/// production traffic: reason; rollback: reason; circuit breaker TRIGGERED (3 failed tasks); alarms
/// triggered: web-5xx`.
fn service_deployment_text(
    strategy: Strategy,
    found: &EcsServiceDeployment,
    status: &ServiceDeploymentStatus,
) -> String {
    let arn = found.service_deployment_arn().unwrap_or("?");
    let short = arn.rsplit('/').next().unwrap_or(arn);
    let mut text = format!(
        "{strategy} deployment {short} {} at {}",
        status.as_str(),
        stage_text(found.lifecycle_stage())
    );
    if let Some(target) = found.target_service_revision() {
        text.push_str(&format!(
            ", target revision {}/{} running",
            target.running_task_count(),
            target.requested_task_count()
        ));
        if let Some(weight) = target.requested_production_traffic_weight() {
            text.push_str(&format!(", {weight} % of production traffic"));
        }
    }
    if let Some(reason) = found.status_reason().filter(|r| !r.is_empty()) {
        text.push_str(&format!(": {reason}"));
    }
    for part in monitors(found) {
        text.push_str(&format!("; {part}"));
    }
    text
}

/// What a service deployment says about why it failed beyond its status: its rollback's reason, a
/// triggered circuit breaker, triggered alarms.
fn monitors(found: &EcsServiceDeployment) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(reason) = found.rollback().and_then(|r| r.reason()) {
        parts.push(format!("rollback: {reason}"));
    }
    if let Some(breaker) = found.deployment_circuit_breaker() {
        if breaker.status() == Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered) {
            parts.push(format!(
                "circuit breaker TRIGGERED ({} failed tasks)",
                breaker.failure_count()
            ));
        }
    }
    if let Some(alarms) = found.alarms() {
        let triggered = alarms.triggered_alarm_names();
        if !triggered.is_empty() {
            parts.push(format!("alarms triggered: {}", triggered.join(", ")));
        }
    }
    parts
}

/// What a rolling update's service deployment adds to its failure `reason` (read from
/// DescribeServices): the deployment by name and status, and only what the reason does not say
/// already (a rollback's reason, the alarms that triggered it). `None` when it adds nothing.
pub fn rolling_failure_detail(reason: &str, found: &EcsServiceDeployment) -> Option<String> {
    let arn = found.service_deployment_arn().unwrap_or("?");
    let short = arn.rsplit('/').next().unwrap_or(arn);
    let status = found
        .status()
        .map_or("UNKNOWN", ServiceDeploymentStatus::as_str);
    let mut new: Vec<String> = monitors(found)
        .into_iter()
        .filter(|part| !reason.contains(part.split_once(": ").map_or(part.as_str(), |p| p.1)))
        .collect();
    if let Some(said) = found
        .status_reason()
        .filter(|r| !r.is_empty() && !reason.contains(*r))
    {
        new.insert(0, said.to_owned());
    }
    if new.is_empty() {
        return None;
    }
    Some(format!(
        "service deployment {short} {status}: {}",
        new.join("; ")
    ))
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
    in_progress_or_timed_out(deployment.deadline, now, counts)
}

/// In progress, or timed out once `now` is past `deadline` (Unix seconds), saying by how much.
pub fn in_progress_or_timed_out(deadline: i64, now: i64, progress: String) -> Verdict {
    if now > deadline {
        Verdict::new(
            Outcome::TimedOut,
            format!("deadline passed {} s ago: {progress}", now - deadline),
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

/// Stopped-task reasons worth showing of the tasks `deployment` started (their `startedBy`): the
/// task's own `stoppedReason` and each container's reason and exit code, deduplicated in order of
/// appearance, at most [`MAX_STOPPED_REASONS`]. Tasks of the service's other deployments (the
/// previous one's, stopped as the rollout replaced them) are left out.
pub fn stopped_reasons(tasks: &[Task], deployment: &str) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    let mut push = |r: String| {
        if !r.is_empty() && !reasons.contains(&r) && reasons.len() < MAX_STOPPED_REASONS {
            reasons.push(r);
        }
    };
    for task in tasks.iter().filter(|t| t.started_by() == Some(deployment)) {
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

/// `pending` / `failed` counts of a set of statuses.
pub fn summarize(items: Vec<DeploymentStatus>, jobs: Vec<JobStatus>) -> StabilityOutput {
    let outcomes = || {
        items
            .iter()
            .map(|i| i.outcome)
            .chain(jobs.iter().map(|j| j.outcome))
    };
    let pending = count(outcomes().filter(|o| *o == Outcome::InProgress));
    let failed = count(outcomes().filter(|o| o.is_failure()));
    StabilityOutput {
        items,
        jobs,
        pending,
        failed,
        deploy_failed: 0,
        remaining_waves: 0,
        wave: 0,
    }
}
