//! Starting a service's rollout: UpdateService to the registered revision, and the record of the
//! deployment it created, which check-stability judges.

use tracing::info;

use crate::aws::{EcsApi, ServiceUpdate};
use crate::step::{ServiceDeployment, UpdateServiceInput};
use crate::{Error, Problem};

/// `family:revision` of an ARN or of an already short reference, so ARNs and short names compare.
pub fn short_name(task_definition: &str) -> &str {
    task_definition
        .rsplit_once(":task-definition/")
        .map_or(task_definition, |(_, rest)| rest)
}

/// Points the service at the new task definition and returns the deployment UpdateService created.
///
/// `now` is Unix seconds; the deadline is `now + timeoutSeconds`.
pub async fn update_service<E: EcsApi>(
    ecs: &E,
    input: &UpdateServiceInput,
    now: i64,
) -> Result<ServiceDeployment, Error> {
    let item = &input.item;
    let Some(new_task_definition) = item.new_task_definition.as_deref() else {
        return Err(Error::ManifestInvalid(vec![Problem {
            file: "step input".into(),
            item: item.id.clone(),
            field: "item.newTaskDefinition".into(),
            message: "missing: register-task-definition must run before update-service".into(),
        }]));
    };
    let service = ecs
        .update_service(&ServiceUpdate {
            cluster: item.cluster.clone(),
            service: item.service.clone(),
            task_definition: new_task_definition.to_owned(),
            desired_count: item.desired_count,
            minimum_healthy_percent: item.minimum_healthy_percent,
            maximum_percent: item.maximum_percent,
        })
        .await?;
    let ours = service.deployments().iter().find(|d| {
        d.status() == Some("PRIMARY")
            && d.task_definition().map(short_name) == Some(short_name(new_task_definition))
    });
    let Some(deployment_id) = ours.and_then(|d| d.id()) else {
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.task_definition())
            .unwrap_or("none");
        return Err(Error::internal(format!(
            "UpdateService {}: the PRIMARY deployment runs {primary}, not {new_task_definition}",
            item.id
        )));
    };
    info!(
        deployment_id,
        task_definition = new_task_definition,
        "service updated"
    );
    Ok(ServiceDeployment {
        id: item.id.clone(),
        cluster: item.cluster.clone(),
        service: item.service.clone(),
        previous_task_definition: item.previous_task_definition.clone(),
        new_task_definition: new_task_definition.to_owned(),
        deployment_id: deployment_id.to_owned(),
        deadline: now.saturating_add(i64::from(item.timeout_seconds)),
    })
}

/// Unix seconds now (the Lambda's clock).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
