//! Capability traits over the AWS APIs convoy uses, and their aws-sdk adapters.
//!
//! The traits speak the SDK's own data types (`Service`, `TaskDefinition`, `Target`), which are plain
//! structs, so decisions can be table-tested with hand-built values and the adapters stay thin:
//! batching, pagination and error mapping only. Adapters are tested with aws-smithy-mocks and moto.

use std::future::Future;

use aws_sdk_ecs::types::{Cluster, Failure, Service, Tag, Task, TaskDefinition};
use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};

use crate::Error;

pub mod ecs;
pub mod events;

/// DescribeServices / DescribeClusters style answer: what was found and what was reported missing.
#[derive(Debug, Clone, Default)]
pub struct Found<T> {
    pub items: Vec<T>,
    pub failures: Vec<Failure>,
}

/// The service fields convoy changes; `None` leaves the current value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceUpdate {
    pub cluster: String,
    pub service: String,
    pub task_definition: String,
    pub desired_count: Option<i32>,
    pub minimum_healthy_percent: Option<i32>,
    pub maximum_percent: Option<i32>,
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

    /// STOPPED tasks of a cluster, filtered by `startedBy` (the deployment id) when given.
    fn list_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        started_by: Option<&str>,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;

    /// Any number of tasks of one cluster; the adapter batches 100 per call.
    fn describe_tasks(
        &self,
        cluster: &str,
        tasks: &[String],
    ) -> impl Future<Output = Result<Vec<Task>, Error>> + Send;
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
}
