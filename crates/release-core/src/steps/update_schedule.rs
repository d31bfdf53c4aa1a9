//! Pointing a schedule's ECS target at its new task definition (deploy-batch's schedule items), and
//! back (the rollback): GetSchedule, then UpdateSchedule with every field as read but the target's
//! task definition.

use crate::aws::SchedulerApi;
use crate::contract::{ScheduleItem, ScheduleUpdate, TaskDefRef};
use crate::decide::schedule::{ecs_task_definition, retargeted};
use crate::error::ItemFailure;
use crate::{Error, Problem};

/// Where a schedule's target stands against what a change expects of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retarget {
    /// It ran `from` and now runs `to`.
    Changed,
    /// It already ran `to` (a retried call, or restored by someone already).
    AlreadyThere,
}

/// Moves the schedule `group/name` from `from` to `to`. A schedule whose target runs something
/// else (changed since the plan by someone else) is not touched: [`Error::TargetsRejected`].
pub async fn retarget(
    scheduler: &impl SchedulerApi,
    group: &str,
    name: &str,
    from: &str,
    to: &str,
) -> Result<Retarget, Error> {
    let id = format!("{group}/{name}");
    let Some(found) = scheduler.get_schedule(group, name).await? else {
        return Err(Error::ScheduleNotFound(id));
    };
    let rejected = |reason: String| Error::TargetsRejected {
        kind: "schedule",
        rule: id.clone(),
        targets: vec![ItemFailure {
            id: "ECS target".into(),
            reason,
        }],
    };
    let current = ecs_task_definition(&found).map_err(rejected)?;
    if TaskDefRef::new(current).same_as(to) {
        return Ok(Retarget::AlreadyThere);
    }
    if !TaskDefRef::new(current).same_as(from) {
        return Err(rejected(format!(
            "runs {}, not {} as planned: someone changed it since; left as it is",
            TaskDefRef::new(current),
            TaskDefRef::new(from)
        )));
    }
    let request = retargeted(&found, to).map_err(rejected)?;
    scheduler.update_schedule(&request).await?;
    Ok(Retarget::Changed)
}

/// The schedule's target to the item's new task definition.
pub async fn update_schedule(
    scheduler: &impl SchedulerApi,
    item: &ScheduleItem,
) -> Result<ScheduleUpdate, Error> {
    let Some(new) = item.new_task_definition.as_deref() else {
        return Err(Error::StepInputInvalid(vec![Problem {
            file: "step input".into(),
            item: item.id.clone(),
            field: "item.newTaskDefinition".into(),
            message: "missing: the schedule's revision must be registered before it is updated"
                .into(),
        }]));
    };
    let previous = &item.previous_task_definition;
    let moved = retarget(scheduler, &item.group, &item.schedule, previous, new).await?;
    tracing::info!(schedule = %item.id, ?moved, task_definition = new, "schedule target updated");
    Ok(ScheduleUpdate {
        id: item.id.clone(),
        group: item.group.clone(),
        schedule: item.schedule.clone(),
        previous_task_definition: previous.clone(),
        new_task_definition: new.to_owned(),
    })
}
