//! Which changed items a rollback restores: a pure decision over the plan, the Map results and the
//! last stability round, under the release's rollback policy.

use aws_sdk_ecs::types::Service;

use crate::contract::{
    DeploymentStatus, ItemResult, Outcome, Plan, Restore, RestoreOutcome, RollbackPolicy, RuleItem,
    RuleTaskTarget, ServiceDeployment, ServiceItem, StabilityOutput,
};
use crate::decide::verdict::PRIMARY;

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
    },
}

impl Candidate<'_> {
    pub fn id(&self) -> String {
        match self {
            Candidate::Service { item, .. } => item.id.clone(),
            Candidate::Target { rule, target } => target_item_id(&rule.id, &target.target_id),
        }
    }

    pub fn previous_task_definition(&self) -> &str {
        match self {
            Candidate::Service { item, .. } => &item.previous_task_definition,
            Candidate::Target { target, .. } => &target.previous_task_definition,
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
    let result_of = |id: &str| results.iter().find(|r| r.id == id);
    let verdict_of = |id: &str| {
        stability
            .and_then(|s| s.items.iter().find(|i| i.deployment.id == id))
            .map(|i| i.outcome)
    };
    let mut selection = Selection::default();
    let policy = plan.settings.rollback;
    for item in plan.services.iter().filter(|s| !s.noop) {
        let result = result_of(&item.id);
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
        let why_failed = match result_of(&rule.id) {
            None => Some("no result from its update step"),
            Some(r) if r.error.is_some() => Some("its update step failed"),
            Some(_) => None,
        };
        for target in rule.targets.iter().filter(|t| !t.noop) {
            decide(
                &mut selection,
                policy,
                Candidate::Target { rule, target },
                why_failed,
            );
        }
    }
    selection
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
        reason,
    }
}

/// The record check-stability awaits for a rollback deployment: "new" is the previous revision.
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
    DeploymentStatus {
        deployment: ServiceDeployment {
            id: item.id.clone(),
            cluster: item.cluster.clone(),
            service: item.service.clone(),
            previous_task_definition: from_task_definition,
            new_task_definition: item.previous_task_definition.clone(),
            // Without an id the verdict still recognises the deployment by its task definition.
            deployment_id: primary.and_then(|d| d.id.clone()).unwrap_or_default(),
            deadline: now + i64::from(item.timeout_seconds),
        },
        outcome: Outcome::InProgress,
        reason: Some("rollback to the previous task definition".into()),
        stopped_reasons: Vec::new(),
    }
}
