//! An ECS that remembers what it described. The plan's pre-flight describes every service and
//! task definition of the release; `release_core`'s plan keeps only the facts the release needs
//! (ARNs, images to change), while `convoy plan` shows more of them (every tag, the service's
//! counts). Planning through this wrapper lets the view read them from what the pre-flight
//! already described instead of asking ECS again.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_ecs::types::{Cluster, Service, ServiceDeployment, Tag, Task, TaskDefinition};
use release_core::aws::{EcsApi, Found, JobTaskRun, ServiceUpdate};
use release_core::Error;

pub struct Remembered<'a, E> {
    ecs: &'a E,
    /// Task definitions by the reference they were described with.
    definitions: Mutex<BTreeMap<String, (TaskDefinition, Vec<Tag>)>>,
    /// Services by `cluster/service`.
    services: Mutex<BTreeMap<String, Service>>,
}

impl<'a, E: EcsApi> Remembered<'a, E> {
    pub fn new(ecs: &'a E) -> Self {
        Remembered {
            ecs,
            definitions: Mutex::default(),
            services: Mutex::default(),
        }
    }

    /// Service `cluster/service` as it was last described.
    pub fn service(&self, id: &str) -> Option<Service> {
        self.services.lock().expect("services").get(id).cloned()
    }
}

impl<E: EcsApi> EcsApi for Remembered<'_, E> {
    async fn describe_clusters(&self, clusters: &[String]) -> Result<Found<Cluster>, Error> {
        self.ecs.describe_clusters(clusters).await
    }

    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<Found<Service>, Error> {
        let found = self.ecs.describe_services(cluster, services).await?;
        let mut remembered = self.services.lock().expect("services");
        for service in &found.items {
            let name = service.service_name().unwrap_or_default();
            remembered.insert(format!("{cluster}/{name}"), service.clone());
        }
        Ok(found)
    }

    /// Described once per reference: a second ask is answered from memory.
    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>), Error> {
        if let Some(known) = self
            .definitions
            .lock()
            .expect("definitions")
            .get(task_definition)
        {
            return Ok(known.clone());
        }
        let described = self.ecs.describe_task_definition(task_definition).await?;
        self.definitions
            .lock()
            .expect("definitions")
            .insert(task_definition.to_owned(), described.clone());
        Ok(described)
    }

    // Planning changes nothing; these pass through untouched.
    async fn register_task_definition(
        &self,
        definition: &TaskDefinition,
        tags: &[Tag],
    ) -> Result<TaskDefinition, Error> {
        self.ecs.register_task_definition(definition, tags).await
    }

    async fn list_task_definition_revisions(&self, family: &str) -> Result<Vec<String>, Error> {
        self.ecs.list_task_definition_revisions(family).await
    }

    async fn deregister_task_definition(&self, task_definition: &str) -> Result<(), Error> {
        self.ecs.deregister_task_definition(task_definition).await
    }

    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, Error> {
        self.ecs.update_service(update).await
    }

    async fn list_stopped_tasks(
        &self,
        cluster: &str,
        service: &str,
        limit: usize,
    ) -> Result<Vec<String>, Error> {
        self.ecs.list_stopped_tasks(cluster, service, limit).await
    }

    async fn describe_tasks(&self, cluster: &str, tasks: &[String]) -> Result<Vec<Task>, Error> {
        self.ecs.describe_tasks(cluster, tasks).await
    }

    async fn describe_service_deployments(
        &self,
        arns: &[String],
    ) -> Result<Found<ServiceDeployment>, Error> {
        self.ecs.describe_service_deployments(arns).await
    }

    async fn stop_service_deployment(&self, arn: &str) -> Result<(), Error> {
        self.ecs.stop_service_deployment(arn).await
    }

    async fn run_task(&self, run: &JobTaskRun<'_>) -> Result<Task, Error> {
        self.ecs.run_task(run).await
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> Result<(), Error> {
        self.ecs.stop_task(cluster, task, reason).await
    }
}
