//! RunTask for a job (deploy-batch's job items): starts its one task from the revision registered
//! for it, and returns the run check-stability judges.

use tracing::info;

use crate::aws::{EcsApi, JobTaskRun};
use crate::contract::{JobItem, JobRun};
use crate::decide::job::client_token;
use crate::{Error, Problem};

/// ECS's limit on `startedBy`.
const MAX_STARTED_BY_CHARS: usize = 128;

/// Starts the job's task. The client token is the execution's and the job's: an attempt whose
/// answer was lost, or a call after a crash before the run was recorded, gets the task the first
/// one started instead of a second migration. `now` is Unix seconds; the deadline is
/// `now + timeoutSeconds`.
pub async fn run_job<E: EcsApi>(
    ecs: &E,
    release_id: &str,
    execution_arn: &str,
    item: &JobItem,
    now: i64,
) -> Result<JobRun, Error> {
    let Some(task_definition) = item.new_task_definition.as_deref() else {
        return Err(Error::StepInputInvalid(vec![Problem {
            file: "step input".into(),
            item: item.id.clone(),
            field: "item.newTaskDefinition".into(),
            message: "missing: the job's revision must be registered before it runs".into(),
        }]));
    };
    let started_by: String = format!("convoy/{release_id}")
        .chars()
        .take(MAX_STARTED_BY_CHARS)
        .collect();
    let token = client_token(execution_arn, &item.id);
    let task = ecs
        .run_task(&JobTaskRun {
            cluster: &item.cluster,
            task_definition,
            client_token: &token,
            started_by: &started_by,
            overrides: &item.overrides,
            launch: &item.launch,
        })
        .await?;
    let Some(task_arn) = task.task_arn() else {
        return Err(Error::internal(format!(
            "RunTask {task_definition} in {}: the started task has no ARN",
            item.cluster
        )));
    };
    info!(job = %item.id, task = %task_arn, task_definition, client_token = %token, "job started");
    Ok(JobRun {
        id: item.id.clone(),
        cluster: item.cluster.clone(),
        task_arn: task_arn.to_owned(),
        task_definition: task_definition.to_owned(),
        essential_containers: item.essential_containers.clone(),
        deadline: now.saturating_add(i64::from(item.timeout_seconds)),
    })
}
