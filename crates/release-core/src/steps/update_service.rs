//! UpdateService to the registered revision (deploy-batch's service items), returning the deployment
//! it created, which deploy-batch records and check-stability judges.

use tracing::info;

use crate::aws::{EcsApi, ServiceUpdate};
use crate::contract::{Awaited, ServiceDeployment, TaskDefRef, UpdateServiceInput};
use crate::decide::strategy::rollout_deadline;
use crate::decide::verdict::PRIMARY;
use crate::{Error, Problem};

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
        return Err(Error::StepInputInvalid(vec![Problem {
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
            task_definition: Some(new_task_definition.to_owned()),
            desired_count: item.desired_count,
            minimum_healthy_percent: item.minimum_healthy_percent,
            maximum_percent: item.maximum_percent,
            strategy: item.deployment_strategy,
        })
        .await?;
    let ours = service.deployments().iter().find(|d| {
        d.status() == Some(PRIMARY)
            && d.task_definition()
                .is_some_and(|td| TaskDefRef::new(td).same_as(new_task_definition))
    });
    let Some(deployment_id) = ours.and_then(|d| d.id()) else {
        let primary = service
            .deployments()
            .iter()
            .find(|d| d.status() == Some(PRIMARY))
            .and_then(|d| d.task_definition())
            .unwrap_or("none");
        return Err(Error::internal(format!(
            "UpdateService {}: the PRIMARY deployment runs {primary}, not {new_task_definition}",
            item.id
        )));
    };
    let strategy = item.strategy();
    // The service deployment UpdateService started: ECS creates it within the call, so the
    // service it answers names it. A blue/green verdict cannot do without it.
    let service_deployment_arn = service.current_service_deployment().map(str::to_owned);
    if strategy.strategy.is_blue_green() && service_deployment_arn.is_none() {
        return Err(Error::internal(format!(
            "UpdateService {}: a {} service answered no currentServiceDeployment, which the \
             verdict reads (aws-sdk-ecs 1.107 or later, and an ECS that has the \
             ServiceDeployments API)",
            item.id, strategy.strategy
        )));
    }
    info!(
        deployment_id,
        service_deployment = service_deployment_arn.as_deref().unwrap_or("none"),
        strategy = %strategy.strategy,
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
        deadline: rollout_deadline(item.timeout_seconds, &strategy, now),
        strategy: strategy.strategy,
        // Rolling updates too: their failure's reason is completed from it.
        service_deployment_arn,
        awaits: Awaited::Finished,
        code_deploy: None,
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::DeploymentControllerType;

    use super::*;
    use crate::aws::fake::FakeEcs;
    use crate::contract::{Records, ServiceItem};

    fn input(new_task_definition: Option<String>) -> UpdateServiceInput {
        UpdateServiceInput {
            release_id: "r-1".into(),
            records: Records::for_execution("convoy-records", "r", "e"),
            item: ServiceItem {
                id: "prod/web".into(),
                cluster: "prod".into(),
                service: "web".into(),
                previous_task_definition: "web:1".into(),
                previous_desired_count: None,
                previous_minimum_healthy_percent: None,
                previous_maximum_percent: None,
                images: Default::default(),
                noop: false,
                desired_count: Some(3),
                minimum_healthy_percent: None,
                maximum_percent: None,
                previous_deployment_strategy: None,
                deployment_strategy: None,
                timeout_seconds: 900,
                new_task_definition,
                code_deploy: None,
                wave: 0,
                auto_scaling: None,
            },
        }
    }

    #[tokio::test]
    async fn returns_the_deployment_running_our_definition_and_the_deadline() {
        let ecs = FakeEcs::default();
        let old = ecs.definition("web", &[("app", "web:1")], &[]);
        let new = ecs.definition("web", &[("app", "web:2")], &[]);
        let ecs = ecs.cluster("prod", "ACTIVE").service(
            "prod",
            "web",
            &old,
            "ACTIVE",
            DeploymentControllerType::Ecs,
        );
        let got = update_service(&ecs, &input(Some(new.clone())), 1_000)
            .await
            .unwrap();
        assert_eq!(got.deployment_id, "ecs-svc/1");
        assert_eq!(got.deadline, 1_900);
        assert_eq!(got.new_task_definition, new);
        assert_eq!(got.previous_task_definition, "web:1");
        let service = ecs.service_state("prod", "web").unwrap();
        assert_eq!(service.task_definition(), Some(new.as_str()));
        assert_eq!(service.deployments()[0].desired_count(), 3);
    }

    #[tokio::test]
    async fn without_a_registered_definition_nothing_is_called() {
        let ecs = FakeEcs::default();
        let err = update_service(&ecs, &input(None), 0).await.unwrap_err();
        assert_eq!(err.name(), "StepInputInvalid");
        assert!(err.to_string().contains("item.newTaskDefinition"), "{err}");
        assert_eq!(ecs.total_calls(), 0);
    }
}
