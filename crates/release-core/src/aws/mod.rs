//! Capability traits over the AWS APIs convoy uses (ECS, EventBridge, S3 objects), and their aws-sdk
//! adapters.
//!
//! The traits speak the SDK's own data types (`Service`, `TaskDefinition`, `Target`), which are plain
//! structs, so decisions can be table-tested with hand-built values and the adapters stay thin:
//! batching, pagination and error mapping only. Adapters are tested with aws-smithy-mocks and moto.

use std::future::Future;

use aws_sdk_codedeploy::types::{
    DeploymentConfigInfo, DeploymentGroupInfo, DeploymentInfo, DeploymentStatus, EcsTarget,
};
use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::SdkError;
use aws_sdk_ecs::types::{
    Cluster, Failure, Service, ServiceDeployment as EcsServiceDeployment, Tag, Task, TaskDefinition,
};
use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleInput;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::contract::{DeploymentStrategy, ScalableTarget, SuspendedState};
use crate::Error;

pub mod autoscaling;
pub mod codedeploy;
pub mod ecs;
pub mod events;
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
#[cfg(any(test, feature = "test-util"))]
pub mod fake_codedeploy;
#[cfg(any(test, feature = "test-util"))]
pub mod fake_scaling;
#[cfg(any(test, feature = "test-util"))]
pub mod fake_scheduler;
pub mod iam;
pub mod locks;
pub mod s3;
pub mod scheduler;

/// DescribeServices / DescribeClusters style answer: what was found and what was reported missing.
#[derive(Debug, Clone)]
pub struct Found<T> {
    pub items: Vec<T>,
    pub failures: Vec<Failure>,
}

// By hand: the derive would demand `T: Default`, which SDK types need not be.
impl<T> Default for Found<T> {
    fn default() -> Self {
        Found {
            items: Vec::new(),
            failures: Vec::new(),
        }
    }
}

/// The service fields convoy changes; `None` leaves the current value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceUpdate {
    pub cluster: String,
    pub service: String,
    pub task_definition: Option<String>,
    pub desired_count: Option<i32>,
    pub minimum_healthy_percent: Option<i32>,
    pub maximum_percent: Option<i32>,
    /// The deployment strategy to set, every other field of the configuration kept.
    pub strategy: Option<DeploymentStrategy>,
}

/// A job's RunTask request.
#[derive(Debug, Clone, Copy)]
pub struct JobTaskRun<'a> {
    pub cluster: &'a str,
    pub task_definition: &'a str,
    /// The same on every attempt of one execution's job (`decide::job::client_token`).
    pub client_token: &'a str,
    /// `convoy/<release id>`, cut to ECS's 128 characters.
    pub started_by: &'a str,
    pub overrides: &'a std::collections::BTreeMap<String, crate::contract::ContainerOverride>,
    pub launch: &'a crate::contract::JobLaunch,
}

/// A rule as DescribeRule reports it (only what convoy reads).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleInfo {
    pub name: String,
    pub event_bus: String,
    pub arn: String,
    pub state: Option<String>,
}

pub trait EcsApi: Send + Sync {
    /// Any number of clusters; the adapter batches 100 per call.
    fn describe_clusters(
        &self,
        clusters: &[String],
    ) -> impl Future<Output = Result<Found<Cluster>, Error>> + Send;

    /// Any number of services of one cluster; the adapter batches 10 per call.
    fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Found<Service>, Error>> + Send;

    /// A task definition (ARN, `family:revision` or `family` for the latest ACTIVE) with its tags.
    fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<(TaskDefinition, Vec<Tag>), Error>> + Send;

    /// [`Self::describe_task_definition`] of a definition a new revision is to be cloned from, with
    /// the fields its registration request could not carry (see
    /// [`crate::decide::taskdef::uncopied_fields`]): none for definitions built from the SDK's types.
    fn describe_task_definition_to_copy(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<(TaskDefinition, Vec<Tag>, Vec<String>), Error>> + Send {
        async move {
            let (definition, tags) = self.describe_task_definition(task_definition).await?;
            Ok((definition, tags, Vec::new()))
        }
    }

    /// Registers `definition` as a new revision of its family, every field that RegisterTaskDefinition
    /// accepts carried over. Returns the registered definition.
    fn register_task_definition(
        &self,
        definition: &TaskDefinition,
        tags: &[Tag],
    ) -> impl Future<Output = Result<TaskDefinition, Error>> + Send;

    /// ACTIVE revisions of a family, newest first (ARNs).
    fn list_task_definition_revisions(
        &self,
        family: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    fn deregister_task_definition(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    fn update_service(
        &self,
        update: &ServiceUpdate,
    ) -> impl Future<Output = Result<Service, Error>> + Send;

    /// Up to `limit` STOPPED tasks of one service (ARNs). ListTasks takes `startedBy` only as its
    /// sole filter, so telling one deployment's tasks apart is the caller's, on DescribeTasks.
    fn list_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Any number of tasks of one cluster; the adapter batches 100 per call.
    fn describe_tasks(
        &self,
        cluster: &str,
        tasks: &[String],
    ) -> impl Future<Output = Result<Vec<Task>, Error>> + Send;

    /// Starts one task of a job (RunTask with its client token): the started task. ECS's
    /// `failures` are [`Error::TaskRunRejected`].
    fn run_task(&self, run: &JobTaskRun<'_>) -> impl Future<Output = Result<Task, Error>> + Send;

    /// StopTask: the task's containers get SIGTERM, then SIGKILL.
    fn stop_task(
        &self,
        cluster: &str,
        task: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Any number of service deployments by ARN (blue/green rollouts); the adapter batches 20 per
    /// call. An ARN ECS does not know is in `failures`.
    fn describe_service_deployments(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Found<EcsServiceDeployment>, Error>> + Send;

    /// StopServiceDeployment with `stopType: ROLLBACK`: ECS shifts traffic back to the revision
    /// the deployment started from.
    fn stop_service_deployment(&self, arn: &str) -> impl Future<Output = Result<(), Error>> + Send;

    /// Every service of a cluster (ARNs; the adapter follows `nextToken`). An implementation
    /// without it answers an error, which the clean-up reads as "keep everything".
    fn list_services(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        let message = format!("ListServices {cluster}: not available here");
        async move { Err(Error::internal(message)) }
    }
}

/// Application Auto Scaling: the scalable targets of the services a release holds still.
pub trait ScalingApi: Send + Sync {
    /// The scalable targets (`ecs:service:DesiredCount`) of these resource ids
    /// (`service/<cluster>/<service>`; the adapter asks 50 at a time); a service without one is
    /// not in the answer.
    fn describe_ecs_targets(
        &self,
        resource_ids: &[String],
    ) -> impl Future<Output = Result<Vec<ScalableTarget>, Error>> + Send;

    /// RegisterScalableTarget with `suspended` alone: min and max are left out, so they stay.
    fn set_suspended(
        &self,
        resource_id: &str,
        suspended: SuspendedState,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

/// EventBridge Scheduler: the schedules whose ECS target a release points at its revisions.
pub trait SchedulerApi: Send + Sync {
    /// `Ok(None)` when the schedule (or its group) does not exist.
    fn get_schedule(
        &self,
        group: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<GetScheduleOutput>, Error>> + Send;

    /// UpdateSchedule with every field of `update` ([`crate::decide::schedule::retargeted`]).
    fn update_schedule(
        &self,
        update: &UpdateScheduleInput,
    ) -> impl Future<Output = Result<(), Error>> + Send;
}

pub trait EventsApi: Send + Sync {
    /// `Ok(None)` when the rule does not exist.
    fn describe_rule(
        &self,
        event_bus: &str,
        rule: &str,
    ) -> impl Future<Output = Result<Option<RuleInfo>, Error>> + Send;

    /// Every target of the rule (the adapter follows `NextToken`).
    fn list_targets(
        &self,
        event_bus: &str,
        rule: &str,
    ) -> impl Future<Output = Result<Vec<Target>, Error>> + Send;

    /// Returns the failed entries; an empty list means every target was accepted.
    fn put_targets(
        &self,
        event_bus: &str,
        rule: &str,
        targets: &[Target],
    ) -> impl Future<Output = Result<Vec<PutTargetsResultEntry>, Error>> + Send;

    /// Puts one event (PutEvents with one entry). An entry EventBridge refuses is an error naming
    /// its code. An implementation without it answers an error: the caller records a problem.
    fn put_event(&self, event: &OutgoingEvent) -> impl Future<Output = Result<(), Error>> + Send {
        let message = format!("PutEvents {}: not available here", event.event_bus);
        async move { Err(Error::internal(message)) }
    }

    /// The names of every rule on an event bus (the adapter follows `NextToken`). An
    /// implementation without it answers an error, which the clean-up reads as "keep everything".
    fn list_rules(
        &self,
        event_bus: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        let message = format!("ListRules {event_bus}: not available here");
        async move { Err(Error::internal(message)) }
    }
}

/// One event for PutEvents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEvent {
    /// A bus name or ARN.
    pub event_bus: String,
    pub source: String,
    pub detail_type: String,
    pub resources: Vec<String>,
    /// JSON.
    pub detail: String,
}

/// A CodeDeploy deployment of an ECS service's new revision (blue/green through CodeDeploy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeDeployRequest {
    pub application: String,
    pub deployment_group: String,
    /// `None`: the group's own deployment configuration.
    pub deployment_config: Option<String>,
    /// Carries the release id: CreateDeployment has no idempotency token, so a retried step finds
    /// its own deployment by it.
    pub description: String,
    /// The AppSpec (JSON), sent as `AppSpecContent` with its SHA-256.
    pub app_spec: String,
}

/// What CreateDeployment answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Deployment(String),
    /// The group already has an active deployment (`DeploymentLimitExceededException`), with
    /// CodeDeploy's message.
    GroupBusy(String),
}

pub trait CodeDeployApi: Send + Sync {
    /// `Ok(None)` when the application or the group does not exist.
    fn get_deployment_group(
        &self,
        application: &str,
        group: &str,
    ) -> impl Future<Output = Result<Option<DeploymentGroupInfo>, Error>> + Send;

    /// A deployment configuration (its compute platform and traffic routing); `Ok(None)` when it
    /// does not exist. CodeDeploy's predefined ECS configurations need no call
    /// ([`crate::decide::codedeploy::predefined_config`]).
    fn get_deployment_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<DeploymentConfigInfo>, Error>> + Send;

    /// Deployment ids of a group in `statuses` (every status when empty), as CodeDeploy lists them
    /// (the adapter follows `nextToken`).
    fn list_deployments(
        &self,
        application: &str,
        group: &str,
        statuses: &[DeploymentStatus],
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Any number of deployments; the adapter batches 25 per call.
    fn batch_get_deployments(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<DeploymentInfo>, Error>> + Send;

    fn create_deployment(
        &self,
        request: &CodeDeployRequest,
    ) -> impl Future<Output = Result<Created, Error>> + Send;

    /// StopDeployment; with `auto_rollback` CodeDeploy starts a deployment back to what ran before.
    fn stop_deployment(
        &self,
        id: &str,
        auto_rollback: bool,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The ECS target (`cluster:service`) of a deployment: its lifecycle events and task sets.
    /// `Ok(None)` when the deployment has no such target (yet).
    fn get_deployment_target(
        &self,
        id: &str,
        target: &str,
    ) -> impl Future<Output = Result<Option<EcsTarget>, Error>> + Send;
}

/// Whole objects in a bucket: the release records (docs/decisions/0003).
pub trait ObjectStore: Send + Sync {
    /// `Ok(None)` when the key does not exist.
    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, Error>> + Send;

    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Every key under `prefix`, in ascending order (the adapter follows continuation tokens). An
    /// implementation without it answers an error: the ledger is then not written, and the
    /// clean-up keeps everything.
    fn list_keys(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send {
        let message = format!("ListObjectsV2 s3://{bucket}/{prefix}: not available here");
        async move { Err(Error::internal(message)) }
    }
}

/// Error codes AWS services use for throttling (the list the SDK's retry classifier uses, plus
/// ECS's `RequestThrottled`).
const THROTTLING_CODES: [&str; 10] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "SlowDown",
];

const ACCESS_DENIED_CODES: [&str; 5] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "NotAuthorized",
];

/// Codes that say "try again later" without being throttling.
const UNAVAILABLE_CODES: [&str; 7] = [
    "InternalError",
    "InternalException",
    "InternalFailure",
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ConcurrentModificationException",
];

/// What an error is, before it gets its message and source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Throttled,
    AccessDenied,
    ClusterNotFound,
    ServiceNotFound,
    AwsUnavailable,
    TaskDefinitionRejected,
    TaskRunRejected,
    Internal,
}

/// How far a failed call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// The service answered with an error it names by code.
    ServiceError,
    /// An answer came that the SDK could not read.
    Unreadable,
    /// No answer at all (timeout, connection refused, DNS).
    Unreachable,
    /// The request could not even be built: a bug on our side.
    NotSent,
}

/// What a failed AWS call told us, read off the SDK error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallFailure<'a> {
    pub reached: Reached,
    pub code: Option<&'a str>,
    pub message: Option<&'a str>,
    /// HTTP status of the answer, `None` when there was none.
    pub status: Option<u16>,
}

impl<'a> CallFailure<'a> {
    /// A service error as the table tests describe it: code, message and status.
    pub fn service_error(
        code: Option<&'a str>,
        message: Option<&'a str>,
        status: Option<u16>,
    ) -> Self {
        CallFailure {
            reached: Reached::ServiceError,
            code,
            message,
            status,
        }
    }
}

/// Classifies a failed call. `specific` is asked first: it holds what only one service's codes
/// or one operation mean (ECS's `ClusterNotFoundException`, a rejected task definition); `None`
/// leaves the decision to the codes and statuses every AWS service shares.
pub fn classify(
    failure: &CallFailure<'_>,
    specific: impl FnOnce(&CallFailure<'_>) -> Option<ErrorKind>,
) -> ErrorKind {
    if let Some(kind) = specific(failure) {
        return kind;
    }
    let code = failure.code.unwrap_or_default();
    let status = failure.status;
    if THROTTLING_CODES.contains(&code) || status == Some(429) {
        ErrorKind::Throttled
    } else if ACCESS_DENIED_CODES.contains(&code) || status == Some(403) {
        ErrorKind::AccessDenied
    } else if UNAVAILABLE_CODES.contains(&code)
        || status.is_some_and(|s| s >= 500)
        || failure.reached == Reached::Unreachable
    {
        ErrorKind::AwsUnavailable
    } else {
        ErrorKind::Internal
    }
}

/// The one place an SDK error (of any aws-sdk client: they share `SdkError` and `HttpResponse`)
/// becomes a convoy [`Error`]; the SDK error stays as the source. `context` names the call and the
/// resource (`PutTargets default/nightly`), so the message alone can be acted on; `specific` is
/// handed to [`classify`].
pub fn map_sdk_error<E>(
    context: &str,
    err: SdkError<E, HttpResponse>,
    specific: impl FnOnce(&CallFailure<'_>) -> Option<ErrorKind>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = match &err {
        SdkError::ServiceError(ctx) => CallFailure::service_error(
            ctx.err().code(),
            ctx.err().message(),
            Some(ctx.raw().status().as_u16()),
        ),
        SdkError::ResponseError(ctx) => CallFailure {
            reached: Reached::Unreadable,
            code: None,
            message: None,
            status: Some(ctx.raw().status().as_u16()),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => CallFailure {
            reached: Reached::Unreachable,
            code: None,
            message: None,
            status: None,
        },
        // ConstructionFailure and any future variant: our request was wrong.
        _ => CallFailure {
            reached: Reached::NotSent,
            code: None,
            message: None,
            status: None,
        },
    };
    let kind = classify(&failure, specific);
    // One line in AWS's own words: the code and the message of a service error, else what kind
    // of failure it was and its innermost cause. The SDK error stays the source for its `Debug`,
    // but its chain is not told again: its displays repeat the message, or dump metadata.
    let said = match (failure.code, failure.message) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        (None, Some(message)) => message.to_owned(),
        (None, None) if failure.reached == Reached::ServiceError => match failure.status {
            Some(status) => format!("HTTP {status} without an error code"),
            None => err.to_string(),
        },
        (None, None) => match innermost_cause(&err) {
            Some(cause) => format!("{err}: {cause}"),
            None => err.to_string(),
        },
    };
    let message = format!("{context}: {}", one_line(&said, MAX_SAID_BYTES));
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = Some(Box::new(SdkCause {
        said: message.clone(),
        error: Box::new(err),
    }));
    match kind {
        ErrorKind::Throttled => Error::Throttled { message, source },
        ErrorKind::AccessDenied => Error::AccessDenied { message, source },
        ErrorKind::ClusterNotFound => Error::ClusterNotFound(message),
        ErrorKind::ServiceNotFound => Error::ServiceNotFound(message),
        ErrorKind::AwsUnavailable => Error::AwsUnavailable { message, source },
        ErrorKind::TaskDefinitionRejected => Error::TaskDefinitionRejected { message, source },
        ErrorKind::TaskRunRejected => Error::TaskRunRejected { message, source },
        ErrorKind::Internal => Error::Internal { message, source },
    }
}

/// The longest part of an SDK error's message that is AWS's (a proxy's HTML page can be a 5xx
/// answer's whole message).
const MAX_SAID_BYTES: usize = 1024;

/// The SDK error behind a convoy error. It displays as the convoy error's message, which says
/// everything worth saying, and has no source of its own, so `error::with_causes` ends here instead
/// of repeating the message or printing the SDK's metadata; `Debug` shows the whole SDK error.
struct SdkCause {
    said: String,
    error: Box<dyn std::error::Error + Send + Sync>,
}

impl std::fmt::Debug for SdkCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.error, f)
    }
}

impl std::fmt::Display for SdkCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said)
    }
}

impl std::error::Error for SdkCause {}

/// The display of the last error in `err`'s chain of sources (a connection refused, a timeout).
fn innermost_cause(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut innermost = err.source()?;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    Some(innermost.to_string())
}

/// `text` on one line (every run of whitespace one space), at most about `max` bytes.
fn one_line(text: &str, max: usize) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > max {
        let mut end = max;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str(" …");
    }
    line
}

/// [`map_sdk_error`] for calls whose errors mean nothing beyond what every AWS service shares.
pub fn sdk_error<E>(context: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map_sdk_error(context, err, |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod one_line_errors {
        use aws_sdk_sfn::config::http::HttpResponse;
        use aws_sdk_sfn::error::{ConnectorError, ErrorMetadata};
        use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
        use aws_sdk_sfn::types::error::ExecutionDoesNotExist;
        use aws_smithy_types::body::SdkBody;

        use super::*;
        use crate::error::with_causes;

        const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:r-9";

        fn response(status: u16) -> HttpResponse {
            HttpResponse::new(status.try_into().expect("a status"), SdkBody::empty())
        }

        fn told(err: SdkError<DescribeExecutionError, HttpResponse>) -> String {
            with_causes(&sdk_error(&format!("DescribeExecution {ARN}"), err))
        }

        #[test]
        fn an_sdk_error_is_one_line_with_its_code_and_message() {
            let missing = format!("Execution Does Not Exist: '{ARN}'");
            let not_found = ExecutionDoesNotExist::builder()
                .message(&missing)
                .meta(
                    ErrorMetadata::builder()
                        .code("ExecutionDoesNotExist")
                        .message(&missing)
                        .custom("aws_request_id", "4f1c2a9e-0000-4000-8000-000000000000")
                        .build(),
                )
                .build();
            let unmodeled = DescribeExecutionError::generic(
                ErrorMetadata::builder()
                    .code("PermanentRedirect")
                    .message("The bucket you are attempting to access\n  must be addressed")
                    .custom("s3_extended_request_id", "x".repeat(2048))
                    .build(),
            );
            let refused = std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "tcp connect error:\n    Connection refused (os error 111)",
            );
            let cases = [
                (
                    SdkError::service_error(
                        DescribeExecutionError::ExecutionDoesNotExist(not_found),
                        response(400),
                    ),
                    format!("DescribeExecution {ARN}: ExecutionDoesNotExist: {missing}"),
                ),
                (
                    SdkError::service_error(unmodeled, response(301)),
                    format!(
                        "DescribeExecution {ARN}: PermanentRedirect: The bucket you are \
                         attempting to access must be addressed"
                    ),
                ),
                (
                    SdkError::service_error(
                        DescribeExecutionError::generic(ErrorMetadata::builder().build()),
                        response(502),
                    ),
                    format!("DescribeExecution {ARN}: HTTP 502 without an error code"),
                ),
                (
                    SdkError::dispatch_failure(ConnectorError::io(Box::new(refused))),
                    format!(
                        "DescribeExecution {ARN}: dispatch failure: tcp connect error: \
                         Connection refused (os error 111)"
                    ),
                ),
            ];
            for (err, want) in cases {
                let text = told(err);
                assert!(text.ends_with(&want), "{text}\nwant …{want}");
                assert!(!text.contains('\n'), "{text}");
                assert!(!text.contains("service error"), "{text}");
                assert!(!text.contains("xxxx"), "{text}");
            }
        }

        #[test]
        fn a_long_answer_is_cut() {
            let page = format!("<html>{}</html>", "<p>bad gateway</p>\n".repeat(500));
            let err = SdkError::service_error(
                DescribeExecutionError::generic(
                    ErrorMetadata::builder()
                        .code("BadGateway")
                        .message(page)
                        .build(),
                ),
                response(502),
            );
            let text = told(err);
            assert!(text.len() < MAX_SAID_BYTES + 200, "{}", text.len());
            assert!(text.ends_with(" …") && !text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn shared_classification_table() {
        use ErrorKind::*;
        use Reached::*;
        // how far the call got, code, HTTP status → kind
        let cases: [(Reached, Option<&str>, Option<u16>, ErrorKind); 14] = [
            (
                ServiceError,
                Some("ThrottlingException"),
                Some(400),
                Throttled,
            ),
            (ServiceError, Some("RequestThrottled"), Some(400), Throttled),
            (ServiceError, Some("SlowDown"), Some(503), Throttled),
            (ServiceError, Some("SomethingNew"), Some(429), Throttled),
            (ServiceError, Some("NotAuthorized"), Some(400), AccessDenied),
            (ServiceError, Some("SomethingNew"), Some(403), AccessDenied),
            (
                ServiceError,
                Some("InternalException"),
                Some(400),
                AwsUnavailable,
            ),
            (
                ServiceError,
                Some("ServerException"),
                Some(500),
                AwsUnavailable,
            ),
            (
                ServiceError,
                Some("SomethingNew"),
                Some(502),
                AwsUnavailable,
            ),
            (
                ServiceError,
                Some("ValidationException"),
                Some(400),
                Internal,
            ),
            (Unreadable, None, Some(429), Throttled),
            (Unreadable, None, Some(200), Internal),
            (Unreachable, None, None, AwsUnavailable),
            (NotSent, None, None, Internal),
        ];
        for (reached, code, status, want) in cases {
            let failure = CallFailure {
                reached,
                code,
                message: None,
                status,
            };
            assert_eq!(
                classify(&failure, |_| None),
                want,
                "{reached:?} {code:?} {status:?}"
            );
        }
    }

    #[test]
    fn the_specific_answer_comes_first() {
        let failure = CallFailure::service_error(Some("ThrottlingException"), None, Some(400));
        assert_eq!(
            classify(&failure, |_| Some(ErrorKind::ClusterNotFound)),
            ErrorKind::ClusterNotFound
        );
    }
}
