//! `EcsApi` over `aws_sdk_ecs::Client`: batching, pagination and SDK error mapping, nothing else.
//!
//! The SDK retries throttling and 5xx itself (see `config`); what still fails after its retries is
//! mapped to the stable error names by the shared [`map_sdk_error`], told here what ECS's own codes
//! mean ([`classify`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_ecs::config::{BehaviorVersion, ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ecs::error::BoxError;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem,
    ContainerOverride as EcsContainerOverride, KeyValuePair, LaunchType, NetworkConfiguration,
    TaskOverride,
};
use aws_sdk_ecs::types::{
    Cluster, DeploymentConfiguration, DesiredStatus, Service, ServiceDeployment, SortOrder,
    StopServiceDeploymentStopType, Tag, Task, TaskDefinition, TaskDefinitionField,
    TaskDefinitionStatus,
};
use aws_sdk_ecs::Client;

use super::{
    map_sdk_error, CallFailure, EcsApi, ErrorKind, Found, JobTaskRun, Reached, ServiceUpdate,
};
use crate::contract::{ContainerOverride, JobLaunch, TaskDefRef};
use crate::decide::strategy;
use crate::decide::taskdef::{register_input, uncopied_fields};
use crate::Error;

/// DescribeClusters accepts up to 100 clusters per call.
pub const DESCRIBE_CLUSTERS_BATCH: usize = 100;
/// DescribeServices accepts up to 10 services per call.
pub const DESCRIBE_SERVICES_BATCH: usize = 10;
/// DescribeTasks accepts up to 100 tasks per call.
pub const DESCRIBE_TASKS_BATCH: usize = 100;
/// ListTasks answers up to 100 tasks per page.
pub const LIST_TASKS_PAGE: i32 = 100;
/// ListServices answers up to 100 services per page (10 unless asked).
pub const LIST_SERVICES_PAGE: i32 = 100;
/// DescribeServiceDeployments accepts up to 20 ARNs per call.
pub const DESCRIBE_SERVICE_DEPLOYMENTS_BATCH: usize = 20;

/// The ECS operation an error came from: the same code means different things on different calls
/// (a `ClientException` on RegisterTaskDefinition is a rejected definition, elsewhere a bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    DescribeClusters,
    DescribeServices,
    DescribeTaskDefinition,
    RegisterTaskDefinition,
    ListTaskDefinitions,
    DeregisterTaskDefinition,
    UpdateService,
    ListTasks,
    DescribeTasks,
    ListServices,
    DescribeServiceDeployments,
    StopServiceDeployment,
    RunTask,
    StopTask,
}

/// Classifies an ECS service error by its code, message and HTTP status.
pub fn classify(
    op: Op,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
) -> ErrorKind {
    super::classify(&CallFailure::service_error(code, message, status), |f| {
        ecs_specific(op, f)
    })
}

/// What ECS's own codes mean, and what the same code means on one operation; the rest is shared
/// by every AWS service ([`super::classify`]).
fn ecs_specific(op: Op, failure: &CallFailure<'_>) -> Option<ErrorKind> {
    if failure.reached == Reached::Unreadable {
        // An ECS answer the SDK could not read is taken for a passing outage.
        return Some(ErrorKind::AwsUnavailable);
    }
    let server_error = failure.status.is_some_and(|s| s >= 500);
    match (op, failure.code.unwrap_or_default()) {
        // ECS reports its per-API rate limit as a plain ClientException; the message is the only
        // thing that tells it apart from a real client error.
        (_, "ClientException") if failure.message.is_some_and(|m| m.contains("Rate exceeded")) => {
            Some(ErrorKind::Throttled)
        }
        (_, "ClusterNotFoundException") => Some(ErrorKind::ClusterNotFound),
        (_, "ServiceNotFoundException" | "ServiceNotActiveException") => {
            Some(ErrorKind::ServiceNotFound)
        }
        (Op::RegisterTaskDefinition, "ClientException" | "InvalidParameterException")
            if !server_error =>
        {
            Some(ErrorKind::TaskDefinitionRejected)
        }
        (
            Op::RunTask,
            "ClientException"
            | "InvalidParameterException"
            | "PlatformUnknownException"
            | "PlatformTaskDefinitionIncompatibilityException"
            | "UnsupportedFeatureException"
            | "BlockedException",
        ) if !server_error => Some(ErrorKind::TaskRunRejected),
        _ => None,
    }
}

/// An ECS SDK error as a convoy [`Error`], through the shared [`map_sdk_error`].
fn ecs_error<E>(op: Op, subject: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map_sdk_error(&format!("{op:?} {subject}"), err, |f| ecs_specific(op, f))
}

/// Merges the requested percentages and strategy into the service's current deployment
/// configuration: ECS replaces the whole structure on UpdateService, so sending only what changes
/// would drop the circuit breaker, the alarms, the strategy and its lifecycle hooks.
pub fn merged_deployment_configuration(
    current: Option<&DeploymentConfiguration>,
    update: &ServiceUpdate,
) -> Option<DeploymentConfiguration> {
    if !changes_deployment_configuration(update) {
        return None;
    }
    let mut merged = current
        .cloned()
        .unwrap_or_else(|| DeploymentConfiguration::builder().build());
    if let Some(min) = update.minimum_healthy_percent {
        merged.minimum_healthy_percent = Some(min);
    }
    if let Some(max) = update.maximum_percent {
        merged.maximum_percent = Some(max);
    }
    if let Some(set) = &update.strategy {
        merged = strategy::applied(merged, set);
    }
    Some(merged)
}

fn changes_deployment_configuration(update: &ServiceUpdate) -> bool {
    update.minimum_healthy_percent.is_some()
        || update.maximum_percent.is_some()
        || update.strategy.is_some()
}

impl EcsApi for Client {
    async fn describe_clusters(&self, clusters: &[String]) -> Result<Found<Cluster>, Error> {
        let mut found = Found::default();
        for batch in clusters.chunks(DESCRIBE_CLUSTERS_BATCH) {
            let out = self
                .describe_clusters()
                .set_clusters(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| ecs_error(Op::DescribeClusters, &batch.join(","), e))?;
            found.items.extend(out.clusters.unwrap_or_default());
            found.failures.extend(out.failures.unwrap_or_default());
        }
        Ok(found)
    }

    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<Found<Service>, Error> {
        let mut found = Found::default();
        for batch in services.chunks(DESCRIBE_SERVICES_BATCH) {
            let out = self
                .describe_services()
                .cluster(cluster)
                .set_services(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| ecs_error(Op::DescribeServices, cluster, e))?;
            found.items.extend(out.services.unwrap_or_default());
            found.failures.extend(out.failures.unwrap_or_default());
        }
        Ok(found)
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>), Error> {
        let out = self
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| ecs_error(Op::DescribeTaskDefinition, task_definition, e))?;
        let definition = out.task_definition.ok_or_else(|| {
            Error::internal(format!(
                "DescribeTaskDefinition {task_definition}: no task definition in the response"
            ))
        })?;
        Ok((definition, out.tags.unwrap_or_default()))
    }

    async fn describe_task_definition_to_copy(
        &self,
        task_definition: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>, Vec<String>), Error> {
        let answer = Captured::default();
        let out = self
            .describe_task_definition()
            .task_definition(task_definition)
            .include(TaskDefinitionField::Tags)
            .customize()
            .interceptor(answer.clone())
            .send()
            .await
            .map_err(|e| ecs_error(Op::DescribeTaskDefinition, task_definition, e))?;
        let definition = out.task_definition.ok_or_else(|| {
            Error::internal(format!(
                "DescribeTaskDefinition {task_definition}: no task definition in the response"
            ))
        })?;
        let unreadable = |what: &str| {
            Error::internal(format!(
                "DescribeTaskDefinition {task_definition}: {what} could not be read to check that \
                 a new revision keeps every field"
            ))
        };
        let described = answer
            .json()
            .and_then(|answer| answer.get("taskDefinition").cloned())
            .ok_or_else(|| unreadable("the answer"))?;
        let request = registration_json(&definition)
            .await
            .ok_or_else(|| unreadable("the registration request"))?;
        let uncopied = uncopied_fields(&described, &request);
        Ok((definition, out.tags.unwrap_or_default(), uncopied))
    }

    async fn register_task_definition(
        &self,
        definition: &TaskDefinition,
        tags: &[Tag],
    ) -> Result<TaskDefinition, Error> {
        let family = definition.family.clone().unwrap_or_default();
        let out = register_input(definition, tags)
            .send_with(self)
            .await
            .map_err(|e| ecs_error(Op::RegisterTaskDefinition, &family, e))?;
        out.task_definition.ok_or_else(|| {
            Error::internal(format!(
                "RegisterTaskDefinition {family}: no task definition in the response"
            ))
        })
    }

    async fn list_task_definition_revisions(&self, family: &str) -> Result<Vec<String>, Error> {
        let arns: Vec<String> = self
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .sort(SortOrder::Desc)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| ecs_error(Op::ListTaskDefinitions, family, e))?;
        // `familyPrefix` is a prefix: `web` also lists `web-worker`.
        let mut arns: Vec<String> = arns
            .into_iter()
            .filter(|arn| TaskDefRef::new(arn).family() == family)
            .collect();
        // Newest first whatever order the server kept (moto ignores `sort`).
        arns.sort_by_key(|arn| std::cmp::Reverse(TaskDefRef::new(arn).revision()));
        Ok(arns)
    }

    async fn deregister_task_definition(&self, task_definition: &str) -> Result<(), Error> {
        self.deregister_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| ecs_error(Op::DeregisterTaskDefinition, task_definition, e))?;
        Ok(())
    }

    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, Error> {
        let subject = format!("{}/{}", update.cluster, update.service);
        let deployment_configuration = if changes_deployment_configuration(update) {
            let found = EcsApi::describe_services(
                self,
                &update.cluster,
                std::slice::from_ref(&update.service),
            )
            .await?;
            let Some(current) = found.items.first() else {
                return Err(Error::ServiceNotFound(subject));
            };
            merged_deployment_configuration(current.deployment_configuration.as_ref(), update)
        } else {
            None
        };
        let out = self
            .update_service()
            .cluster(&update.cluster)
            .service(&update.service)
            .set_task_definition(update.task_definition.clone())
            .set_desired_count(update.desired_count)
            .set_deployment_configuration(deployment_configuration)
            .send()
            .await
            .map_err(|e| ecs_error(Op::UpdateService, &subject, e))?;
        out.service.ok_or_else(|| {
            Error::internal(format!(
                "UpdateService {subject}: no service in the response"
            ))
        })
    }

    async fn list_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        // `serviceName` + `desiredStatus`: ECS refuses `startedBy` together with any other filter.
        let mut pages = self
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Stopped)
            .max_results(LIST_TASKS_PAGE)
            .into_paginator()
            .items()
            .send();
        let mut arns = Vec::new();
        while arns.len() < limit {
            match pages.next().await {
                Some(arn) => {
                    arns.push(arn.map_err(|e| {
                        ecs_error(Op::ListTasks, &format!("{cluster}/{service}"), e)
                    })?)
                }
                None => break,
            }
        }
        Ok(arns)
    }

    async fn describe_tasks(&self, cluster: &str, tasks: &[String]) -> Result<Vec<Task>, Error> {
        let mut found = Vec::with_capacity(tasks.len());
        for batch in tasks.chunks(DESCRIBE_TASKS_BATCH) {
            let out = self
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| ecs_error(Op::DescribeTasks, cluster, e))?;
            found.extend(out.tasks.unwrap_or_default());
        }
        Ok(found)
    }

    async fn run_task(&self, run: &JobTaskRun<'_>) -> Result<Task, Error> {
        let subject = format!("{} in {}", run.task_definition, run.cluster);
        let out = self
            .run_task()
            .cluster(run.cluster)
            .task_definition(run.task_definition)
            .client_token(run.client_token)
            .started_by(run.started_by)
            .count(1)
            .set_overrides(job_overrides(run.overrides))
            .set_network_configuration(job_network(run.launch))
            .set_launch_type(run.launch.launch_type.as_deref().map(LaunchType::from))
            .set_capacity_provider_strategy(job_capacity(run.launch))
            .set_platform_version(run.launch.platform_version.clone())
            .send()
            .await
            .map_err(|e| ecs_error(Op::RunTask, &subject, e))?;
        if let Some(task) = out.tasks.unwrap_or_default().into_iter().next() {
            return Ok(task);
        }
        let failures: Vec<String> = out
            .failures
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let detail = f.detail().map(|d| format!(" ({d})")).unwrap_or_default();
                format!(
                    "{}: {}{detail}",
                    f.arn().unwrap_or(run.cluster),
                    f.reason().unwrap_or("no reason given")
                )
            })
            .collect();
        Err(Error::TaskRunRejected {
            message: format!(
                "RunTask {subject} started no task: {}",
                if failures.is_empty() {
                    "ECS gave no reason".to_owned()
                } else {
                    failures.join("; ")
                }
            ),
            source: None,
        })
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> Result<(), Error> {
        self.stop_task()
            .cluster(cluster)
            .task(task)
            .reason(reason)
            .send()
            .await
            .map_err(|e| ecs_error(Op::StopTask, task, e))?;
        Ok(())
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, Error> {
        self.list_services()
            .cluster(cluster)
            .max_results(LIST_SERVICES_PAGE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| ecs_error(Op::ListServices, cluster, e))
    }

    async fn describe_service_deployments(
        &self,
        arns: &[String],
    ) -> Result<Found<ServiceDeployment>, Error> {
        let mut found = Found::default();
        for batch in arns.chunks(DESCRIBE_SERVICE_DEPLOYMENTS_BATCH) {
            let out = self
                .describe_service_deployments()
                .set_service_deployment_arns(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| ecs_error(Op::DescribeServiceDeployments, &batch.join(","), e))?;
            found
                .items
                .extend(out.service_deployments.unwrap_or_default());
            found.failures.extend(out.failures.unwrap_or_default());
        }
        Ok(found)
    }

    async fn stop_service_deployment(&self, arn: &str) -> Result<(), Error> {
        self.stop_service_deployment()
            .service_deployment_arn(arn)
            .stop_type(StopServiceDeploymentStopType::Rollback)
            .send()
            .await
            .map_err(|e| ecs_error(Op::StopServiceDeployment, arn, e))?;
        Ok(())
    }
}

/// A body of one call, kept by an interceptor: DescribeTaskDefinition's answer as AWS sent it (the
/// SDK drops the fields it does not know when it reads it), or a registration request as the SDK
/// would send it.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Option<Vec<u8>>>>);

impl Captured {
    fn keep(&self, body: Option<&[u8]>) {
        if let Ok(mut kept) = self.0.lock() {
            *kept = body.map(<[u8]>::to_vec);
        }
    }

    fn json(&self) -> Option<serde_json::Value> {
        let kept = self.0.lock().ok()?;
        serde_json::from_slice(kept.as_deref()?).ok()
    }
}

impl Intercept for Captured {
    fn name(&self) -> &'static str {
        "convoy::Captured"
    }

    /// The answer's body, read into memory by now.
    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.keep(context.response().body().bytes());
        Ok(())
    }
}

/// Keeps the serialized request and ends the call there, before it is signed or sent.
#[derive(Debug)]
struct SerializeOnly(Captured);

impl Intercept for SerializeOnly {
    fn name(&self) -> &'static str {
        "convoy::SerializeOnly"
    }

    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.keep(context.request().body().bytes());
        Err("serialized only: a registration request is read, never sent".into())
    }
}

/// The JSON the SDK sends to register `definition` ([`register_input`], no tags): serialized by a
/// client of its own that is stopped before signing, so it needs no region or credentials and
/// sends nothing.
async fn registration_json(definition: &TaskDefinition) -> Option<serde_json::Value> {
    let request = Captured::default();
    let offline = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .interceptor(SerializeOnly(request.clone()))
        .build();
    // The call ends in SerializeOnly's error by design; what counts is the kept request.
    let _ = register_input(definition, &[])
        .send_with(&Client::from_conf(offline))
        .await;
    request.json()
}

/// The job's per-container overrides as RunTask takes them; `None` when there are none.
fn job_overrides(overrides: &BTreeMap<String, ContainerOverride>) -> Option<TaskOverride> {
    if overrides.is_empty() {
        return None;
    }
    let containers = overrides
        .iter()
        .map(|(name, o)| {
            let environment: Vec<KeyValuePair> = o
                .environment
                .iter()
                .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                .collect();
            EcsContainerOverride::builder()
                .name(name)
                .set_command(o.command.clone())
                .set_environment((!environment.is_empty()).then_some(environment))
                .build()
        })
        .collect();
    Some(
        TaskOverride::builder()
            .set_container_overrides(Some(containers))
            .build(),
    )
}

fn job_network(launch: &JobLaunch) -> Option<NetworkConfiguration> {
    let given = launch.network_configuration.as_ref()?;
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(given.subnets.clone()))
        .set_security_groups(
            (!given.security_groups.is_empty()).then(|| given.security_groups.clone()),
        )
        .assign_public_ip(if given.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .ok()?;
    Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build(),
    )
}

fn job_capacity(launch: &JobLaunch) -> Option<Vec<CapacityProviderStrategyItem>> {
    if launch.capacity_provider_strategy.is_empty() {
        return None;
    }
    launch
        .capacity_provider_strategy
        .iter()
        .map(|c| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(&c.capacity_provider)
                .weight(c.weight)
                .base(c.base)
                .build()
                .ok()
        })
        .collect()
}
