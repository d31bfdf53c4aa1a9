//! What deploy-batch sends for a rule: every ECS target of the rule pointed at its new task
//! definition, every other field of the target preserved.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};

use crate::contract::{TargetChange, TaskDefRef, UpdateRuleInput};
use crate::error::ItemFailure;
use crate::{Error, Problem};

/// `target` with its task definition replaced; `None` for a target that is not an ECS target.
pub fn with_task_definition(target: &Target, task_definition: &str) -> Option<Target> {
    let mut changed = target.clone();
    changed.ecs_parameters.as_mut()?.task_definition_arn = task_definition.to_owned();
    Some(changed)
}

/// The targets to send so that each target id in `wanted` runs its task definition. Targets that
/// already do, and targets not named in `wanted`, are left out.
pub fn retarget(current: &[Target], wanted: &BTreeMap<&str, &str>) -> Vec<Target> {
    current
        .iter()
        .filter_map(|target| {
            let want = wanted.get(target.id.as_str())?;
            let ecs = target.ecs_parameters.as_ref()?;
            if TaskDefRef::new(&ecs.task_definition_arn).same_as(want) {
                None
            } else {
                with_task_definition(target, want)
            }
        })
        .collect()
}

/// `TargetsRejected` naming every rejected target with its code and message, or `Ok` when none was.
pub fn check_failed_entries(rule_id: &str, failed: &[PutTargetsResultEntry]) -> Result<(), Error> {
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::TargetsRejected {
        kind: "rule",
        rule: rule_id.to_owned(),
        targets: failed
            .iter()
            .map(|e| ItemFailure {
                id: e.target_id.clone().unwrap_or_else(|| "?".into()),
                reason: format!(
                    "{}: {}",
                    e.error_code.as_deref().unwrap_or("?"),
                    e.error_message.as_deref().unwrap_or("no message")
                ),
            })
            .collect(),
    })
}

/// Decides what deploy-batch sends for a rule: the changed targets and the per-target change record.
///
/// The rule's ECS targets must be exactly the plan's: a target added or removed since plan-release
/// is an error, because guessing which task definition it should run could start the wrong task.
pub fn plan_update(
    input: &UpdateRuleInput,
    current: &[Target],
) -> Result<(Vec<Target>, Vec<TargetChange>), Error> {
    let item = &input.item;
    // Targets that changed on the rule since plan-release: the world moved, re-plan.
    let mut rejected = Vec::new();
    // Fields an earlier step should have filled: the steps ran out of order.
    let mut unfilled = Vec::new();
    for target in current.iter().filter(|t| t.ecs_parameters.is_some()) {
        if !item.targets.iter().any(|p| p.target_id == target.id) {
            rejected.push(ItemFailure {
                id: target.id.clone(),
                reason:
                    "ECS target is on the rule but not in the plan (added after plan-release?); \
                         re-plan the release"
                        .into(),
            });
        }
    }
    let mut wanted = BTreeMap::new();
    let mut changes = Vec::new();
    for (index, planned) in item.targets.iter().enumerate() {
        let on_rule = current
            .iter()
            .find(|t| t.id == planned.target_id && t.ecs_parameters.is_some());
        if on_rule.is_none() {
            rejected.push(ItemFailure {
                id: planned.target_id.clone(),
                reason: format!(
                    "planned ECS target (targets[{index}]) is no longer on the rule; re-plan the release"
                ),
            });
            continue;
        }
        if planned.noop {
            continue;
        }
        let Some(new) = planned.new_task_definition.as_deref() else {
            unfilled.push(Problem {
                file: "step input".into(),
                item: item.id.clone(),
                field: format!("item.targets[{index}].newTaskDefinition"),
                message: format!(
                    "target `{}` has no new task definition (it was not registered first)",
                    planned.target_id
                ),
            });
            continue;
        };
        wanted.insert(planned.target_id.as_str(), new);
        changes.push(TargetChange {
            target_id: planned.target_id.clone(),
            previous_task_definition: planned.previous_task_definition.clone(),
            new_task_definition: new.to_owned(),
        });
    }
    if !unfilled.is_empty() {
        return Err(Error::StepInputInvalid(unfilled));
    }
    if !rejected.is_empty() {
        return Err(Error::TargetsRejected {
            kind: "rule",
            rule: item.id.clone(),
            targets: rejected,
        });
    }
    Ok((retarget(current, &wanted), changes))
}
