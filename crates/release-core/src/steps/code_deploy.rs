//! The CodeDeploy deployment of a CODE_DEPLOY service (deploy-batch's, and a rollback's back to the
//! recorded revision): the AppSpec from the service as ECS describes it now, one deployment per
//! item however often the step is retried.

use tracing::info;

use aws_sdk_codedeploy::types::DeploymentInfo;

use crate::aws::{CodeDeployApi, CodeDeployRequest, Created, EcsApi};
use crate::contract::{Awaited, CodeDeployTarget, ServiceDeployment, Strategy, UpdateServiceInput};
use crate::decide::codedeploy::{active_statuses, app_spec, app_spec_target, description, is_ours};
use crate::decide::strategy::deadline_after;
use crate::{Error, Problem};

/// What to deploy where: `task_definition` to `cluster`/`service` through `group`, for `item`
/// (`prod/web`, or `prod/web rollback`) of the release execution `execution`
/// ([`crate::records::Records::execution`]), which the deployment's description names.
pub struct DeploymentRequest<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    pub group: &'a CodeDeployTarget,
    pub task_definition: &'a str,
    pub execution: &'a str,
    pub item: String,
}

/// The id of the deployment of `request`: the group's active deployment with its description
/// when there is one (a retried step adopts its own, CreateDeployment has no idempotency token),
/// else a new one. A group busy with a deployment that is not ours is `DeploymentRejected`.
pub async fn start_deployment(
    ecs: &impl EcsApi,
    codedeploy: &impl CodeDeployApi,
    request: &DeploymentRequest<'_>,
) -> Result<String, Error> {
    if let Some(id) =
        own_active(codedeploy, request.group, request.execution, &request.item).await?
    {
        info!(deployment_id = %id, "adopted our CodeDeploy deployment");
        return Ok(id);
    }
    let found = ecs
        .describe_services(request.cluster, &[request.service.to_owned()])
        .await?;
    let Some(service) = found
        .items
        .iter()
        .find(|s| s.service_name() == Some(request.service))
    else {
        return Err(Error::ServiceNotFound(format!(
            "{}/{}",
            request.cluster, request.service
        )));
    };
    let target = app_spec_target(service, request.task_definition).map_err(|message| {
        Error::DeploymentRejected {
            service: format!("{}/{}", request.cluster, request.service),
            message,
        }
    })?;
    let group = request.group;
    let created = codedeploy
        .create_deployment(&CodeDeployRequest {
            application: group.application.clone(),
            deployment_group: group.deployment_group.clone(),
            deployment_config: Some(group.deployment_config.clone()),
            description: description(request.execution, &request.item),
            app_spec: app_spec(&target, &group.hooks),
        })
        .await?;
    match created {
        Created::Deployment(id) => Ok(id),
        // A retry racing its first attempt finds that one now; anyone else's is a refusal.
        Created::GroupBusy(said) => {
            match own_active(codedeploy, group, request.execution, &request.item).await? {
                Some(id) => Ok(id),
                None => Err(Error::DeploymentRejected {
                    service: format!("{}/{}", request.cluster, request.service),
                    message: format!(
                    "CodeDeploy deployment group `{}` has an active deployment that is not this \
                     release's: {said}",
                    group.group_label()
                ),
                }),
            }
        }
    }
}

/// The active deployment of `group` that `item` of `execution` started (its description is
/// theirs), if there is one, as CodeDeploy reports it now.
pub async fn own_active_info(
    codedeploy: &impl CodeDeployApi,
    group: &CodeDeployTarget,
    execution: &str,
    item: &str,
) -> Result<Option<DeploymentInfo>, Error> {
    let active = codedeploy
        .list_deployments(
            &group.application,
            &group.deployment_group,
            &active_statuses(),
        )
        .await?;
    if active.is_empty() {
        return Ok(None);
    }
    let described = codedeploy.batch_get_deployments(&active).await?;
    Ok(described.into_iter().find(|d| is_ours(d, execution, item)))
}

async fn own_active(
    codedeploy: &impl CodeDeployApi,
    group: &CodeDeployTarget,
    execution: &str,
    item: &str,
) -> Result<Option<String>, Error> {
    let found = own_active_info(codedeploy, group, execution, item).await?;
    Ok(found.and_then(|d| d.deployment_id))
}

/// deploy-batch's CODE_DEPLOY item: its registered revision deployed by CodeDeploy, recorded for
/// check-stability like an UpdateService rollout. `now` is Unix seconds; the deadline is the
/// timeout plus the deployment configuration's waiting.
pub async fn deploy(
    ecs: &impl EcsApi,
    codedeploy: &impl CodeDeployApi,
    input: &UpdateServiceInput,
    now: i64,
) -> Result<ServiceDeployment, Error> {
    let item = &input.item;
    let missing = |field: &str, message: &str| {
        Error::StepInputInvalid(vec![Problem {
            file: "step input".into(),
            item: item.id.clone(),
            field: field.into(),
            message: message.into(),
        }])
    };
    let Some(new_task_definition) = item.new_task_definition.as_deref() else {
        return Err(missing(
            "item.newTaskDefinition",
            "missing: the revision is registered before it is deployed",
        ));
    };
    let Some(group) = item.code_deploy.as_ref() else {
        return Err(missing(
            "item.codeDeploy",
            "missing: pre-flight records the deployment group of a CODE_DEPLOY service",
        ));
    };
    let request = DeploymentRequest {
        cluster: &item.cluster,
        service: &item.service,
        group,
        task_definition: new_task_definition,
        execution: input.records.execution(),
        item: item.id.clone(),
    };
    let deployment_id = start_deployment(ecs, codedeploy, &request).await?;
    info!(
        deployment_id,
        group = %group.group_label(),
        task_definition = new_task_definition,
        "CodeDeploy deployment started"
    );
    Ok(ServiceDeployment {
        id: item.id.clone(),
        cluster: item.cluster.clone(),
        service: item.service.clone(),
        previous_task_definition: item.previous_task_definition.clone(),
        new_task_definition: new_task_definition.to_owned(),
        deployment_id,
        deadline: deadline_after(item.timeout_seconds, group.wait_seconds, now),
        strategy: Strategy::Rolling,
        service_deployment_arn: None,
        awaits: Awaited::Finished,
        code_deploy: Some(group.clone()),
    })
}
