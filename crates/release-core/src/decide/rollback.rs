//! Which changed items a rollback restores: a pure decision over the plan, the Map results and the
//! last stability round, under the release's rollback policy.

use aws_sdk_ecs::types::Service;

use crate::contract::{
    Awaited, DeploymentStatus, DeploymentStrategy, ItemResult, Plan, PlanItemKind, Restore,
    RestoreOutcome, RollbackPolicy, RuleItem, RuleTaskTarget, ScheduleItem, ServiceDeployment,
    ServiceItem, StabilityOutput, Strategy, TaskDefRef,
};
use crate::decide::strategy::{deadline_after, described, rollout_deadline};
use crate::decide::taskdef::RELEASE_TAG;
use crate::decide::verdict::PRIMARY;
use crate::Error;

/// The report and restore id of one rule target: `eventBus/rule/targetId`.
pub fn target_item_id(rule_id: &str, target_id: &str) -> String {
    format!("{rule_id}/{target_id}")
}

/// One service or rule target the rollback considers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Candidate<'a> {
    Service {
        item: &'a ServiceItem,
        /// What the release pointed it at, when known (for the await record).
        new_task_definition: Option<String>,
    },
    Target {
        rule: &'a RuleItem,
        target: &'a RuleTaskTarget,
        /// What the release pointed it at, when known.
        new_task_definition: Option<String>,
    },
    Schedule {
        item: &'a ScheduleItem,
        /// What the release pointed it at, when known.
        new_task_definition: Option<String>,
    },
}

impl Candidate<'_> {
    pub fn id(&self) -> String {
        match self {
            Candidate::Service { item, .. } => item.id.clone(),
            Candidate::Target { rule, target, .. } => target_item_id(&rule.id, &target.target_id),
            Candidate::Schedule { item, .. } => item.id.clone(),
        }
    }

    /// The revision this release moved it to, when the records know it.
    pub fn new_task_definition(&self) -> Option<&str> {
        match self {
            Candidate::Service {
                new_task_definition,
                ..
            }
            | Candidate::Target {
                new_task_definition,
                ..
            }
            | Candidate::Schedule {
                new_task_definition,
                ..
            } => new_task_definition.as_deref(),
        }
    }

    pub fn previous_task_definition(&self) -> &str {
        match self {
            Candidate::Service { item, .. } => &item.previous_task_definition,
            Candidate::Target { target, .. } => &target.previous_task_definition,
            Candidate::Schedule { item, .. } => &item.previous_task_definition,
        }
    }
}

/// The policy's decision: what to restore, and what it leaves alone (with why).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection<'a> {
    pub restore: Vec<Candidate<'a>>,
    pub skip: Vec<(Candidate<'a>, String)>,
}

/// Applies `plan.settings.rollback` to every changed (non-noop) service and rule target.
///
/// `failed` restores the items whose rollout failed, timed out or was superseded, the items whose Map
/// iteration errored, and the items without any Map result: their state is unknown, and restoring
/// an untouched item costs one look (it is `AlreadyCurrent`).
pub fn select<'a>(
    plan: &'a Plan,
    results: &[ItemResult],
    stability: Option<&StabilityOutput>,
) -> Selection<'a> {
    let result_of = |kind, id: &str| results.iter().find(|r| r.is(kind, id));
    let verdict_of = |id: &str| {
        stability
            .and_then(|s| s.items.iter().find(|i| i.deployment.id == id))
            .map(|i| i.outcome)
    };
    let mut selection = Selection::default();
    let policy = plan.settings.rollback;
    for item in plan.services.iter().filter(|s| !s.noop) {
        let result = result_of(PlanItemKind::Service, &item.id);
        let new_task_definition = result
            .and_then(|r| r.deployment.as_ref())
            .map(|d| d.new_task_definition.clone())
            .or_else(|| item.new_task_definition.clone());
        let candidate = Candidate::Service {
            item,
            new_task_definition,
        };
        let why_failed = match (result, verdict_of(&item.id)) {
            (None, _) => Some("no result from its deployment step"),
            (Some(r), _) if r.error.is_some() => Some("its deployment step failed"),
            (Some(_), Some(outcome)) if outcome.is_failure() => Some("its rollout did not succeed"),
            (Some(_), _) => None,
        };
        decide(&mut selection, policy, candidate, why_failed);
    }
    for rule in plan.tasks.iter().filter(|r| !r.noop) {
        let result = result_of(PlanItemKind::Rule, &rule.id);
        let why_failed = update_failed(result);
        for target in rule.targets.iter().filter(|t| !t.noop) {
            let new_task_definition = result
                .and_then(|r| r.rule.as_ref())
                .and_then(|u| u.targets.iter().find(|c| c.target_id == target.target_id))
                .map(|c| c.new_task_definition.clone())
                .or_else(|| target.new_task_definition.clone());
            decide(
                &mut selection,
                policy,
                Candidate::Target {
                    rule,
                    target,
                    new_task_definition,
                },
                why_failed,
            );
        }
    }
    for item in plan.schedules.iter().filter(|s| !s.noop) {
        let result = result_of(PlanItemKind::Schedule, &item.id);
        let new_task_definition = result
            .and_then(|r| r.schedule.as_ref())
            .map(|u| u.new_task_definition.clone())
            .or_else(|| item.new_task_definition.clone());
        let candidate = Candidate::Schedule {
            item,
            new_task_definition,
        };
        decide(&mut selection, policy, candidate, update_failed(result));
    }
    selection
}

/// Why a rule's or schedule's update counts as failed, by its result.
fn update_failed(result: Option<&ItemResult>) -> Option<&'static str> {
    match result {
        None => Some("no result from its update step"),
        Some(r) if r.error.is_some() => Some("its update step failed"),
        Some(_) => None,
    }
}

fn decide<'a>(
    selection: &mut Selection<'a>,
    policy: RollbackPolicy,
    candidate: Candidate<'a>,
    why_failed: Option<&str>,
) {
    match (policy, why_failed) {
        (RollbackPolicy::All, _) | (RollbackPolicy::Failed, Some(_)) => {
            selection.restore.push(candidate)
        }
        (RollbackPolicy::Failed, None) => selection.skip.push((
            candidate,
            "rollback policy `failed`: this item did not fail".into(),
        )),
        (RollbackPolicy::None, _) => selection
            .skip
            .push((candidate, "rollback policy `none`".into())),
    }
}

/// Whether a restore may overwrite what someone else deployed since the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overwrite {
    /// Restore only what still runs this release's revision (or its previous one): a newer
    /// release or a hotfix is left alone. What the state machine and `convoy rollback` do.
    #[default]
    OwnWorkOnly,
    /// `convoy rollback --force`: restore whatever the item runs now, and say so.
    Forced,
}

/// Whose revision an item runs now, as far as its rollback is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    /// The revision the plan recorded before the release: nothing of the release's to overwrite.
    Previous,
    /// This release's revision.
    Ours,
    /// Another revision, registered by the release named here (another release) or by anyone
    /// (`None`: a hand-made revision, a hotfix).
    Other { registered_by: Option<String> },
}

/// Whose revision `now` is, from what the records say: `None` when they cannot tell (the
/// release's revision is not recorded), and the revision's `convoy:release` tag must decide.
pub fn runs_by_record(now: &str, previous: &str, ours: Option<&str>) -> Option<Runs> {
    let now = TaskDefRef::new(now);
    if now.same_as(previous) {
        return Some(Runs::Previous);
    }
    ours.filter(|o| now.same_as(o)).map(|_| Runs::Ours)
}

/// Whose revision it is by its tags: every revision a release registers (or reuses) carries
/// `convoy:release = <release id>`.
pub fn runs_by_tags(tags: &[aws_sdk_ecs::types::Tag], release_id: &str) -> Runs {
    let registered_by = tags
        .iter()
        .find(|t| t.key() == Some(RELEASE_TAG))
        .and_then(|t| t.value())
        .map(str::to_owned);
    match registered_by {
        Some(by) if by == release_id => Runs::Ours,
        registered_by => Runs::Other { registered_by },
    }
}

/// What another actor's revision is, in words: "web:7 from deployment ecs-svc/1 (registered by
/// release r-2)".
fn someone_elses(now: &str, deployment: Option<&str>, registered_by: Option<&str>) -> String {
    let from = deployment.map_or(String::new(), |d| format!(" from deployment {d}"));
    let by = registered_by.map_or(" (not registered by a release)".to_owned(), |r| {
        format!(" (registered by release {r})")
    });
    format!("{}{from}{by}", TaskDefRef::new(now))
}

fn this_releases(ours: Option<&str>) -> String {
    ours.map_or("a revision of this release".to_owned(), |o| {
        format!("this release's {}", TaskDefRef::new(o))
    })
}

/// Why an item that now runs someone else's revision is not restored.
pub fn left_alone_reason(
    now: &str,
    deployment: Option<&str>,
    registered_by: Option<&str>,
    ours: Option<&str>,
) -> String {
    format!(
        "now runs {}, not {}: left alone",
        someone_elses(now, deployment, registered_by),
        this_releases(ours)
    )
}

/// What a forced restore overwrote.
pub fn forced_reason(
    now: &str,
    deployment: Option<&str>,
    registered_by: Option<&str>,
    ours: Option<&str>,
) -> String {
    format!(
        "forced: it ran {}, not {}",
        someone_elses(now, deployment, registered_by),
        this_releases(ours)
    )
}

pub fn restore(
    id: String,
    outcome: RestoreOutcome,
    task_definition: &str,
    reason: Option<String>,
) -> Restore {
    Restore {
        id,
        outcome,
        task_definition: task_definition.to_owned(),
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        reason,
        running: None,
        error: None,
    }
}

/// A `Failed` restore: why, and the name of the error (whether a retry may restore it).
pub fn failed_restore(id: String, task_definition: &str, error: &str, reason: String) -> Restore {
    Restore {
        error: Some(error.to_owned()),
        ..restore(id, RestoreOutcome::Failed, task_definition, Some(reason))
    }
}

/// What the service as it is now needs to be back where the plan found it (`None`: leave alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceRestore {
    pub task_definition: Option<String>,
    pub desired_count: Option<i32>,
    pub minimum_healthy_percent: Option<i32>,
    pub maximum_percent: Option<i32>,
    /// The strategy the service had, when the release set another one.
    pub strategy: Option<DeploymentStrategy>,
}

impl ServiceRestore {
    /// Only the desiredCount and percentages need restoring (or nothing at all).
    pub fn keeps_task_definition(&self) -> bool {
        self.task_definition.is_none()
    }

    pub fn is_empty(&self) -> bool {
        *self == ServiceRestore::default()
    }
}

/// One setting the release may have changed: what it set, what pre-flight found, what is now.
/// Restored only when the release changed it and it is not back already.
fn setting_to_restore(set: Option<i32>, previous: Option<i32>, now: Option<i32>) -> Option<i32> {
    match (set, previous) {
        (Some(set), Some(previous)) if set != previous && now != Some(previous) => Some(previous),
        _ => None,
    }
}

/// What restoring `item` sends, given the service as it is `now`:
/// - the task definition, unless it already runs the recorded one;
/// - desiredCount, only when the service still has the count this release set (anything else
///   means something — autoscaling, a person — changed it since, and that one wins);
/// - each deployment percentage this release changed, unless it is back already.
pub fn service_restore(item: &ServiceItem, now: &Service) -> ServiceRestore {
    let runs = now.task_definition.as_deref().unwrap_or_default();
    let config = now.deployment_configuration.as_ref();
    let desired_count = match (item.desired_count, item.previous_desired_count) {
        (Some(set), Some(previous)) if set != previous && now.desired_count == set => {
            Some(previous)
        }
        _ => None,
    };
    ServiceRestore {
        task_definition: (!TaskDefRef::new(runs).same_as(&item.previous_task_definition))
            .then(|| item.previous_task_definition.clone()),
        desired_count,
        minimum_healthy_percent: setting_to_restore(
            item.minimum_healthy_percent,
            item.previous_minimum_healthy_percent,
            config.and_then(|c| c.minimum_healthy_percent),
        ),
        maximum_percent: setting_to_restore(
            item.maximum_percent,
            item.previous_maximum_percent,
            config.and_then(|c| c.maximum_percent),
        ),
        strategy: strategy_to_restore(item, now),
    }
}

/// The strategy to put back: only when the release set one other than the service had, and the
/// service does not have the old one back already.
pub fn strategy_to_restore(item: &ServiceItem, now: &Service) -> Option<DeploymentStrategy> {
    let set = item.deployment_strategy?;
    let previous = item.previous_deployment_strategy.unwrap_or_default();
    let has = described(now.deployment_configuration()).unwrap_or_default();
    (set != previous && has != previous).then_some(previous)
}

/// How the rollback step ends once its restores are recorded: with `Throttled` or
/// `AwsUnavailable` (which the state machine retries; restores are idempotent, so a retry redoes
/// only what is left) when every failed restore failed with one of those; otherwise `None`: the
/// step returns, what was restored is awaited, and the failed restores fail the release.
pub fn retry_error(restores: &[Restore]) -> Option<Error> {
    let failed: Vec<&Restore> = restores
        .iter()
        .filter(|r| r.outcome == RestoreOutcome::Failed)
        .collect();
    let first = failed.first()?;
    let retryable = |r: &&Restore| {
        r.error
            .as_deref()
            .is_some_and(|e| Error::RETRYABLE.contains(&e))
    };
    if !failed.iter().all(retryable) {
        return None;
    }
    let message = format!(
        "{} of {} restores failed and may succeed on a retry: {}",
        failed.len(),
        restores.len(),
        failed
            .iter()
            .map(|r| format!("{}: {}", r.id, r.reason.as_deref().unwrap_or("no reason")))
            .collect::<Vec<_>>()
            .join("; ")
    );
    Some(match first.error.as_deref() {
        Some("AwsUnavailable") => Error::AwsUnavailable {
            message,
            source: None,
        },
        _ => Error::Throttled {
            message,
            source: None,
        },
    })
}

/// The record check-stability awaits for a rollback deployment: "new" is the previous revision.
/// A blue/green service (by the strategy it has now) is judged by the service deployment the
/// restore started.
pub fn await_record(
    item: &ServiceItem,
    from_task_definition: String,
    service: &Service,
    now: i64,
) -> DeploymentStatus {
    let primary = service
        .deployments
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|d| d.status.as_deref() == Some(PRIMARY));
    let strategy = described(service.deployment_configuration()).unwrap_or_default();
    let service_deployment_arn = strategy
        .strategy
        .is_blue_green()
        .then(|| service.current_service_deployment().map(str::to_owned))
        .flatten();
    let deployment = ServiceDeployment {
        // Without an id the verdict still recognises the deployment by its task definition.
        deployment_id: primary.and_then(|d| d.id.clone()).unwrap_or_default(),
        strategy: if service_deployment_arn.is_some() {
            strategy.strategy
        } else {
            Strategy::Rolling
        },
        service_deployment_arn,
        ..back_to_previous(
            item,
            from_task_definition,
            rollout_deadline(item.timeout_seconds, &strategy, now),
        )
    };
    DeploymentStatus {
        reason: Some("rollback to the previous task definition".into()),
        ..DeploymentStatus::started(deployment)
    }
}

/// The record check-stability awaits for a blue/green deployment the rollback stopped, or that
/// ECS rolls back by itself: done once it is ROLLBACK_SUCCESSFUL.
pub fn rolled_back_record(
    item: &ServiceItem,
    from_task_definition: String,
    arn: &str,
    now: i64,
) -> DeploymentStatus {
    let strategy = item.strategy();
    let deployment = ServiceDeployment {
        strategy: strategy.strategy,
        service_deployment_arn: Some(arn.to_owned()),
        awaits: Awaited::RolledBack,
        ..back_to_previous(
            item,
            from_task_definition,
            rollout_deadline(item.timeout_seconds, &strategy, now),
        )
    };
    DeploymentStatus {
        reason: Some("rolling back to the previous task definition".into()),
        ..DeploymentStatus::started(deployment)
    }
}

/// The record check-stability awaits for a CODE_DEPLOY item's way back: CodeDeploy's rollback of
/// our deployment (`awaits` RolledBack), or a new deployment to the recorded revision (Finished).
/// `None` when the item has no deployment group (it is not a CODE_DEPLOY item).
pub fn code_deploy_record(
    item: &ServiceItem,
    from_task_definition: String,
    deployment_id: &str,
    awaits: Awaited,
    now: i64,
) -> Option<DeploymentStatus> {
    let group = item.code_deploy.clone()?;
    let deadline = deadline_after(item.timeout_seconds, group.wait_seconds, now);
    let deployment = ServiceDeployment {
        deployment_id: deployment_id.to_owned(),
        awaits,
        code_deploy: Some(group),
        ..back_to_previous(item, from_task_definition, deadline)
    };
    let reason = match awaits {
        Awaited::RolledBack => "CodeDeploy rolls it back to the original task set",
        Awaited::Finished => "a CodeDeploy deployment back to the previous task definition",
    };
    Some(DeploymentStatus {
        reason: Some(reason.into()),
        ..DeploymentStatus::started(deployment)
    })
}

/// A deployment from `from_task_definition` back to the item's recorded revision, judged as a
/// rolling update unless the caller says otherwise.
fn back_to_previous(
    item: &ServiceItem,
    from_task_definition: String,
    deadline: i64,
) -> ServiceDeployment {
    ServiceDeployment {
        id: item.id.clone(),
        cluster: item.cluster.clone(),
        service: item.service.clone(),
        previous_task_definition: from_task_definition,
        new_task_definition: item.previous_task_definition.clone(),
        deployment_id: String::new(),
        deadline,
        strategy: Strategy::Rolling,
        service_deployment_arn: None,
        awaits: Awaited::Finished,
        code_deploy: None,
    }
}
