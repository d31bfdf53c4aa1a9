//! In-memory ECS, EventBridge and object store for tests of steps that need a few calls (register reuse, plan,
//! records). They count calls so tests can prove "described once" and "nothing registered".
//! Compiled for this crate's tests and, with the `test-util` feature, for other crates' tests;
//! never into a Lambda.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Cluster, Container, ContainerDefinition, Deployment,
    DeploymentConfiguration, DeploymentController, DeploymentControllerType,
    DeploymentStrategy as EcsStrategy, Failure, LoadBalancer, Service, ServiceDeployment,
    ServiceDeploymentLifecycleStage, ServiceDeploymentStatus, Tag, Task, TaskDefinition,
    TaskDefinitionStatus, TaskStopCode,
};
use aws_sdk_ecs::types::{LaunchType, NetworkConfiguration, NetworkMode};

use aws_sdk_eventbridge::types::{EcsParameters, PutTargetsResultEntry, Target};

use crate::aws::{
    EcsApi, EventsApi, Found, JobTaskRun, ObjectStore, OutgoingEvent, RuleInfo, ServiceUpdate,
};
use crate::contract::{ContainerOverride, JobLaunch};
use crate::decide::strategy;
use crate::decide::verdict::PRIMARY;
use crate::Error;

const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012";

#[derive(Default)]
struct State {
    clusters: BTreeMap<String, String>,
    services: BTreeMap<(String, String), Service>,
    definitions: Vec<(TaskDefinition, Vec<Tag>)>,
    calls: BTreeMap<&'static str, u32>,
    deployments: u32,
    /// Operations that answer AccessDenied.
    refused: BTreeSet<&'static str>,
    /// Operations whose next calls answer Throttled, and how many.
    throttled: BTreeMap<&'static str, u32>,
    /// When each call was made, on tokio's clock (paused in pacing tests).
    times: Vec<(&'static str, tokio::time::Instant)>,
    /// Service deployments by ARN, in the order they were created.
    service_deployments: Vec<ServiceDeployment>,
    /// Tasks RunTask started, in order.
    tasks: Vec<RunTask>,
}

/// A task RunTask started, with what it was asked.
#[derive(Debug, Clone)]
pub struct RunTask {
    pub cluster: String,
    pub client_token: String,
    pub started_by: String,
    pub overrides: BTreeMap<String, ContainerOverride>,
    pub launch: JobLaunch,
    pub task: Task,
}

#[derive(Default)]
pub struct FakeEcs {
    state: Mutex<State>,
}

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

pub fn container(name: &str, image: &str) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .image(image)
        .essential(true)
        .memory(256)
        .build()
}

impl FakeEcs {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, op: &'static str) {
        let mut state = self.state();
        *state.calls.entry(op).or_default() += 1;
        state.times.push((op, tokio::time::Instant::now()));
    }

    /// The next `calls` calls of `op` answer Throttled (counted, changing nothing).
    pub fn throttle(&self, op: &'static str, calls: u32) {
        self.state().throttled.insert(op, calls);
    }

    /// When each call of `op` was made.
    pub fn times(&self, op: &str) -> Vec<tokio::time::Instant> {
        self.state()
            .times
            .iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, at)| *at)
            .collect()
    }

    /// Every later call of `op` ("ListServices") answers AccessDenied.
    pub fn refuse(&self, op: &'static str) {
        self.state().refused.insert(op);
    }

    fn check(&self, op: &'static str, subject: &str) -> Result<(), Error> {
        self.count(op);
        let mut state = self.state();
        if state.refused.contains(op) {
            return Err(refused(op, subject));
        }
        if let Some(left) = state.throttled.get_mut(op).filter(|n| **n > 0) {
            *left -= 1;
            return Err(Error::Throttled {
                message: format!("{op} {subject}: ThrottlingException: Rate exceeded"),
                source: None,
            });
        }
        Ok(())
    }

    pub fn calls(&self, op: &str) -> u32 {
        self.state().calls.get(op).copied().unwrap_or_default()
    }

    pub fn total_calls(&self) -> u32 {
        self.state().calls.values().sum()
    }

    pub fn cluster(self, name: &str, status: &str) -> Self {
        self.state().clusters.insert(name.into(), status.into());
        self
    }

    /// Adds the next revision of `family`; returns its ARN.
    pub fn definition(&self, family: &str, containers: &[(&str, &str)], tags: &[Tag]) -> String {
        let definition = TaskDefinition::builder()
            .family(family)
            .set_container_definitions(Some(
                containers.iter().map(|(n, i)| container(n, i)).collect(),
            ))
            .cpu("256")
            .memory("512")
            .build();
        self.store(definition, tags.to_vec())
    }

    fn store(&self, mut definition: TaskDefinition, tags: Vec<Tag>) -> String {
        let mut state = self.state();
        let family = definition.family().unwrap_or_default().to_owned();
        let revision = state
            .definitions
            .iter()
            .filter(|(d, _)| d.family() == Some(family.as_str()))
            .map(|(d, _)| d.revision())
            .max()
            .unwrap_or(0)
            + 1;
        let arn = format!("{ARN_PREFIX}:task-definition/{family}:{revision}");
        definition.revision = revision;
        definition.task_definition_arn = Some(arn.clone());
        definition.status = Some(TaskDefinitionStatus::Active);
        state.definitions.push((definition, tags));
        arn
    }

    pub fn service(
        self,
        cluster: &str,
        name: &str,
        task_definition: &str,
        status: &str,
        controller: DeploymentControllerType,
    ) -> Self {
        let service = Service::builder()
            .service_name(name)
            .service_arn(format!("{ARN_PREFIX}:service/{cluster}/{name}"))
            .cluster_arn(format!("{ARN_PREFIX}:cluster/{cluster}"))
            .status(status)
            .task_definition(task_definition)
            .deployment_controller(
                DeploymentController::builder()
                    .r#type(controller)
                    .build()
                    .expect("type is set"),
            )
            .deployments(
                Deployment::builder()
                    .id("ecs-svc/0")
                    .status(PRIMARY)
                    .task_definition(task_definition)
                    .build(),
            )
            .build();
        self.state()
            .services
            .insert((cluster.into(), name.into()), service);
        self
    }

    /// Gives the service this deployment configuration (a blue/green strategy makes every later
    /// UpdateService start a service deployment, PENDING until [`Self::set_service_deployment`]).
    pub fn configure(&self, cluster: &str, name: &str, config: DeploymentConfiguration) {
        if let Some(service) = self
            .state()
            .services
            .get_mut(&(cluster.to_owned(), name.to_owned()))
        {
            service.deployment_configuration = Some(config);
        }
    }

    /// Runs the service on Fargate in `subnets` with `security_group` (what a job's `networkFrom`
    /// lends).
    pub fn awsvpc_service(
        &self,
        cluster: &str,
        name: &str,
        subnets: &[&str],
        security_group: &str,
    ) {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets.iter().map(|s| (*s).to_owned()).collect()))
            .security_groups(security_group)
            .assign_public_ip(AssignPublicIp::Disabled)
            .build()
            .expect("subnets are set");
        if let Some(service) = self
            .state()
            .services
            .get_mut(&(cluster.to_owned(), name.to_owned()))
        {
            service.network_configuration = Some(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            );
            service.launch_type = Some(LaunchType::Fargate);
            service.platform_version = Some("1.4.0".into());
        }
    }

    /// Gives a stored task definition network mode awsvpc.
    pub fn awsvpc_definition(&self, task_definition: &str) {
        let mut state = self.state();
        let Some(index) = state
            .definitions
            .iter()
            .position(|(d, _)| d.task_definition_arn() == Some(task_definition))
        else {
            panic!("no task definition {task_definition}");
        };
        state.definitions[index].0.network_mode = Some(NetworkMode::Awsvpc);
    }

    /// Puts the service behind a load balancer forwarding to `container`:`port` (what a CODE_DEPLOY
    /// service's AppSpec names).
    pub fn load_balancer(&self, cluster: &str, name: &str, container: &str, port: i32) {
        if let Some(service) = self
            .state()
            .services
            .get_mut(&(cluster.to_owned(), name.to_owned()))
        {
            service.load_balancers = Some(vec![LoadBalancer::builder()
                .target_group_arn(format!("{ARN_PREFIX}:targetgroup/{name}-blue/1"))
                .container_name(container)
                .container_port(port)
                .build()]);
        }
    }

    /// Moves a service deployment to `status` (at `stage`, when given).
    pub fn set_service_deployment(
        &self,
        arn: &str,
        status: ServiceDeploymentStatus,
        stage: Option<ServiceDeploymentLifecycleStage>,
    ) {
        let mut state = self.state();
        if let Some(d) = state
            .service_deployments
            .iter_mut()
            .find(|d| d.service_deployment_arn() == Some(arn))
        {
            d.status = Some(status);
            if stage.is_some() {
                d.lifecycle_stage = stage;
            }
        }
    }

    /// Every service deployment, oldest first.
    pub fn service_deployments(&self) -> Vec<ServiceDeployment> {
        self.state().service_deployments.clone()
    }

    pub fn stored(&self, task_definition: &str) -> Option<(TaskDefinition, Vec<Tag>)> {
        let state = self.state();
        find(&state.definitions, task_definition).cloned()
    }

    /// Every task RunTask started.
    pub fn run_tasks(&self) -> Vec<RunTask> {
        self.state().tasks.clone()
    }

    /// Stops a started task as ECS reports an ended one: every container with its exit code
    /// (`exits`, the others 0), `stopCode` and `stoppedReason`.
    pub fn stop(
        &self,
        task_arn: &str,
        exits: &[(&str, Option<i32>)],
        code: TaskStopCode,
        reason: &str,
    ) {
        let mut state = self.state();
        let Some(run) = state
            .tasks
            .iter_mut()
            .find(|t| t.task.task_arn() == Some(task_arn))
        else {
            panic!("no task {task_arn}");
        };
        let task = &mut run.task;
        task.last_status = Some("STOPPED".into());
        task.stop_code = Some(code);
        task.stopped_reason = Some(reason.into());
        for container in task.containers.iter_mut().flatten() {
            let name = container.name().unwrap_or_default().to_owned();
            container.last_status = Some("STOPPED".into());
            container.exit_code = exits
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Some(0), |(_, code)| *code);
        }
    }

    pub fn service_state(&self, cluster: &str, name: &str) -> Option<Service> {
        self.state()
            .services
            .get(&(cluster.to_owned(), name.to_owned()))
            .cloned()
    }
}

/// ARN, `family:revision`, or `family` (latest ACTIVE).
fn find<'a>(
    definitions: &'a [(TaskDefinition, Vec<Tag>)],
    reference: &str,
) -> Option<&'a (TaskDefinition, Vec<Tag>)> {
    let short = reference
        .rsplit_once(":task-definition/")
        .map_or(reference, |(_, rest)| rest);
    match short.rsplit_once(':') {
        Some((family, revision)) => definitions
            .iter()
            .find(|(d, _)| d.family() == Some(family) && d.revision().to_string() == revision),
        None => definitions
            .iter()
            .filter(|(d, _)| {
                d.family() == Some(short) && d.status() == Some(&TaskDefinitionStatus::Active)
            })
            .max_by_key(|(d, _)| d.revision()),
    }
}

fn refused(op: &str, subject: &str) -> Error {
    Error::AccessDenied {
        message: format!("{op} {subject}: AccessDeniedException: not allowed"),
        source: None,
    }
}

fn missing(arn: String) -> Failure {
    Failure::builder().arn(arn).reason("MISSING").build()
}

impl EcsApi for FakeEcs {
    async fn describe_clusters(&self, clusters: &[String]) -> Result<Found<Cluster>, Error> {
        self.count("DescribeClusters");
        let state = self.state();
        let mut found = Found::default();
        for name in clusters {
            match state.clusters.get(name) {
                Some(status) => found.items.push(
                    Cluster::builder()
                        .cluster_name(name)
                        .cluster_arn(format!("{ARN_PREFIX}:cluster/{name}"))
                        .status(status)
                        .build(),
                ),
                None => found
                    .failures
                    .push(missing(format!("{ARN_PREFIX}:cluster/{name}"))),
            }
        }
        Ok(found)
    }

    async fn describe_services(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<Found<Service>, Error> {
        self.count("DescribeServices");
        let state = self.state();
        if !state.clusters.contains_key(cluster) {
            return Err(Error::ClusterNotFound(cluster.into()));
        }
        let mut found = Found::default();
        for name in services {
            match state.services.get(&(cluster.to_owned(), name.clone())) {
                Some(service) => found.items.push(service.clone()),
                None => found
                    .failures
                    .push(missing(format!("{ARN_PREFIX}:service/{cluster}/{name}"))),
            }
        }
        Ok(found)
    }

    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>), Error> {
        self.check("DescribeTaskDefinition", task_definition)?;
        self.stored(task_definition).ok_or_else(|| {
            Error::internal(format!(
                "DescribeTaskDefinition {task_definition}: ClientException: Unable to describe task definition."
            ))
        })
    }

    async fn register_task_definition(
        &self,
        definition: &TaskDefinition,
        tags: &[Tag],
    ) -> Result<TaskDefinition, Error> {
        self.check(
            "RegisterTaskDefinition",
            definition.family().unwrap_or_default(),
        )?;
        let arn = self.store(definition.clone(), tags.to_vec());
        Ok(self
            .stored(&arn)
            .map(|(d, _)| d)
            .unwrap_or_else(|| definition.clone()))
    }

    async fn list_task_definition_revisions(&self, family: &str) -> Result<Vec<String>, Error> {
        self.check("ListTaskDefinitions", family)?;
        let state = self.state();
        let mut revisions: Vec<&TaskDefinition> = state
            .definitions
            .iter()
            .map(|(d, _)| d)
            .filter(|d| {
                d.family() == Some(family) && d.status() == Some(&TaskDefinitionStatus::Active)
            })
            .collect();
        revisions.sort_by_key(|d| std::cmp::Reverse(d.revision()));
        Ok(revisions
            .into_iter()
            .filter_map(|d| d.task_definition_arn().map(str::to_owned))
            .collect())
    }

    async fn deregister_task_definition(&self, task_definition: &str) -> Result<(), Error> {
        self.check("DeregisterTaskDefinition", task_definition)?;
        let mut state = self.state();
        let short = task_definition
            .rsplit_once(":task-definition/")
            .map_or(task_definition, |(_, rest)| rest)
            .to_owned();
        for (d, _) in &mut state.definitions {
            if format!("{}:{}", d.family().unwrap_or_default(), d.revision()) == short {
                d.status = Some(TaskDefinitionStatus::Inactive);
            }
        }
        Ok(())
    }

    async fn update_service(&self, update: &ServiceUpdate) -> Result<Service, Error> {
        self.check("UpdateService", &update.service)?;
        let mut state = self.state();
        state.deployments += 1;
        let id = format!("ecs-svc/{}", state.deployments);
        let key = (update.cluster.clone(), update.service.clone());
        let service = state
            .services
            .get_mut(&key)
            .ok_or_else(|| Error::ServiceNotFound(format!("{}/{}", key.0, key.1)))?;
        if let Some(set) = &update.strategy {
            let current = service
                .deployment_configuration
                .clone()
                .unwrap_or_else(|| DeploymentConfiguration::builder().build());
            service.deployment_configuration = Some(strategy::applied(current, set));
        }
        let code_deploy = service
            .deployment_controller()
            .is_some_and(|c| *c.r#type() == DeploymentControllerType::CodeDeploy);
        if code_deploy && update.task_definition.is_some() {
            // As ECS answers: CodeDeploy changes a CODE_DEPLOY service's task definition.
            return Err(Error::internal(format!(
                "UpdateService {}: Unable to update task definition on services with a CODE_DEPLOY \
                 deployment controller. Use AWS CodeDeploy to trigger a new deployment.",
                update.service
            )));
        }
        if update.task_definition.is_none() {
            // Configuration only: ECS starts no deployment.
            if let Some(count) = update.desired_count {
                service.desired_count = count;
            }
            return Ok(service.clone());
        }
        let mut deployments: Vec<Deployment> = service
            .deployments()
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d.status = Some("ACTIVE".into());
                d
            })
            .collect();
        deployments.insert(
            0,
            Deployment::builder()
                .id(id)
                .status(PRIMARY)
                .set_task_definition(
                    update
                        .task_definition
                        .clone()
                        .or_else(|| service.task_definition.clone()),
                )
                .set_desired_count(update.desired_count)
                .build(),
        );
        service.deployments = Some(deployments);
        if let Some(task_definition) = &update.task_definition {
            service.task_definition = Some(task_definition.clone());
        }
        let blue_green = service
            .deployment_configuration()
            .and_then(|c| c.strategy())
            .is_some_and(|s| *s != EcsStrategy::Rolling);
        if blue_green {
            let arn = format!(
                "{ARN_PREFIX}:service-deployment/{}/{}/{}",
                key.0, key.1, state.deployments
            );
            let service = state.services.get_mut(&key).expect("found above");
            service.current_service_deployment = Some(arn.clone());
            let answer = service.clone();
            state.service_deployments.push(
                ServiceDeployment::builder()
                    .service_deployment_arn(arn)
                    .status(ServiceDeploymentStatus::Pending)
                    .build(),
            );
            return Ok(answer);
        }
        Ok(service.clone())
    }

    async fn describe_service_deployments(
        &self,
        arns: &[String],
    ) -> Result<Found<ServiceDeployment>, Error> {
        self.check("DescribeServiceDeployments", &arns.join(","))?;
        let state = self.state();
        let mut found = Found::default();
        for arn in arns {
            match state
                .service_deployments
                .iter()
                .find(|d| d.service_deployment_arn() == Some(arn.as_str()))
            {
                Some(d) => found.items.push(d.clone()),
                None => found.failures.push(missing(arn.clone())),
            }
        }
        Ok(found)
    }

    async fn stop_service_deployment(&self, arn: &str) -> Result<(), Error> {
        self.check("StopServiceDeployment", arn)?;
        let mut state = self.state();
        let Some(d) = state
            .service_deployments
            .iter_mut()
            .find(|d| d.service_deployment_arn() == Some(arn))
        else {
            return Err(Error::internal(format!(
                "StopServiceDeployment {arn}: ServiceDeploymentNotFoundException"
            )));
        };
        match d.status() {
            Some(ServiceDeploymentStatus::Pending | ServiceDeploymentStatus::InProgress) => {
                d.status = Some(ServiceDeploymentStatus::RollbackRequested);
                Ok(())
            }
            _ => Err(Error::internal(format!(
                "StopServiceDeployment {arn}: ConflictException: The service deployment is not \
                 in a state that can be stopped"
            ))),
        }
    }

    async fn list_stopped_tasks(
        &self,
        _cluster: &str,
        _service: &str,
        _limit: usize,
    ) -> Result<Vec<String>, Error> {
        self.count("ListTasks");
        Ok(Vec::new())
    }

    async fn describe_tasks(&self, cluster: &str, tasks: &[String]) -> Result<Vec<Task>, Error> {
        self.check("DescribeTasks", cluster)?;
        let state = self.state();
        Ok(state
            .tasks
            .iter()
            .filter(|t| t.cluster == cluster)
            .filter(|t| tasks.iter().any(|a| t.task.task_arn() == Some(a.as_str())))
            .map(|t| t.task.clone())
            .collect())
    }

    async fn run_task(&self, run: &JobTaskRun<'_>) -> Result<Task, Error> {
        self.check("RunTask", run.task_definition)?;
        let mut state = self.state();
        if !state.clusters.contains_key(run.cluster) {
            return Err(Error::ClusterNotFound(run.cluster.into()));
        }
        // ECS's client token: the same request again gets the task it started.
        if let Some(started) = state
            .tasks
            .iter()
            .find(|t| t.cluster == run.cluster && t.client_token == run.client_token)
        {
            return Ok(started.task.clone());
        }
        let Some((definition, _)) = find(&state.definitions, run.task_definition) else {
            return Err(Error::TaskRunRejected {
                message: format!(
                    "RunTask {}: ClientException: TaskDefinition not found",
                    run.task_definition
                ),
                source: None,
            });
        };
        let containers = definition
            .container_definitions()
            .iter()
            .map(|c| {
                Container::builder()
                    .name(c.name().unwrap_or_default())
                    .last_status("RUNNING")
                    .build()
            })
            .collect();
        let arn = format!(
            "{ARN_PREFIX}:task/{}/{:032x}",
            run.cluster,
            state.tasks.len() + 1
        );
        let task = Task::builder()
            .task_arn(&arn)
            .cluster_arn(format!("{ARN_PREFIX}:cluster/{}", run.cluster))
            .task_definition_arn(definition.task_definition_arn().unwrap_or_default())
            .last_status("RUNNING")
            .started_by(run.started_by)
            .set_containers(Some(containers))
            .build();
        state.tasks.push(RunTask {
            cluster: run.cluster.into(),
            client_token: run.client_token.into(),
            started_by: run.started_by.into(),
            overrides: run.overrides.clone(),
            launch: run.launch.clone(),
            task: task.clone(),
        });
        Ok(task)
    }

    async fn stop_task(&self, cluster: &str, task: &str, reason: &str) -> Result<(), Error> {
        self.check("StopTask", task)?;
        let known = self
            .state()
            .tasks
            .iter()
            .any(|t| t.cluster == cluster && t.task.task_arn() == Some(task));
        if !known {
            return Err(Error::internal(format!(
                "StopTask {task}: InvalidParameterException: The referenced task was not found."
            )));
        }
        self.stop(task, &[], TaskStopCode::UserInitiated, reason);
        let mut state = self.state();
        if let Some(run) = state
            .tasks
            .iter_mut()
            .find(|t| t.task.task_arn() == Some(task))
        {
            for container in run.task.containers.iter_mut().flatten() {
                container.exit_code = Some(137);
            }
        }
        Ok(())
    }

    async fn list_services(&self, cluster: &str) -> Result<Vec<String>, Error> {
        self.check("ListServices", cluster)?;
        let state = self.state();
        if !state.clusters.contains_key(cluster) {
            return Err(Error::ClusterNotFound(cluster.into()));
        }
        Ok(state
            .services
            .iter()
            .filter(|((c, _), _)| c == cluster)
            .filter_map(|(_, s)| s.service_arn().map(str::to_owned))
            .collect())
    }
}

/// Rules with their targets, by `(event bus, rule)`; counts calls and refuses what it is told to.
#[derive(Debug, Default)]
pub struct FakeEvents {
    rules: Mutex<BTreeMap<(String, String), Vec<Target>>>,
    put: Mutex<Vec<OutgoingEvent>>,
    calls: Mutex<BTreeMap<&'static str, u32>>,
    refused: Mutex<BTreeSet<&'static str>>,
    /// Operations whose next calls answer Throttled, and how many.
    throttled: Mutex<BTreeMap<&'static str, u32>>,
}

/// An ECS target of a rule running `task_definition`.
pub fn ecs_target(id: &str, task_definition: &str) -> Target {
    Target::builder()
        .id(id)
        .arn(format!("{ARN_PREFIX}:cluster/prod"))
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(task_definition)
                .build()
                .expect("task definition is set"),
        )
        .build()
        .expect("id and arn are set")
}

impl FakeEvents {
    pub fn rule(self, event_bus: &str, rule: &str, targets: Vec<Target>) -> Self {
        self.rules
            .lock()
            .expect("rules lock")
            .insert((event_bus.into(), rule.into()), targets);
        self
    }

    /// Every later call of `op` ("ListRules") answers AccessDenied.
    pub fn refuse(&self, op: &'static str) {
        self.refused.lock().expect("refused lock").insert(op);
    }

    /// The next `calls` calls of `op` ("PutEvents") answer Throttled, changing nothing.
    pub fn throttle(&self, op: &'static str, calls: u32) {
        self.throttled
            .lock()
            .expect("throttled lock")
            .insert(op, calls);
    }

    pub fn calls(&self, op: &str) -> u32 {
        let calls = self.calls.lock().expect("calls lock");
        calls.get(op).copied().unwrap_or_default()
    }

    fn check(&self, op: &'static str, subject: &str) -> Result<(), Error> {
        *self
            .calls
            .lock()
            .expect("calls lock")
            .entry(op)
            .or_default() += 1;
        if self.refused.lock().expect("refused lock").contains(op) {
            return Err(refused(op, subject));
        }
        let mut throttled = self.throttled.lock().expect("throttled lock");
        if let Some(left) = throttled.get_mut(op).filter(|n| **n > 0) {
            *left -= 1;
            return Err(Error::Throttled {
                message: format!("{op} {subject}: ThrottlingException: Rate exceeded"),
                source: None,
            });
        }
        Ok(())
    }

    /// Every event put, in order.
    pub fn events_put(&self) -> Vec<OutgoingEvent> {
        self.put.lock().expect("events lock").clone()
    }

    fn targets(&self, event_bus: &str, rule: &str) -> Option<Vec<Target>> {
        let rules = self.rules.lock().expect("rules lock");
        rules.get(&(event_bus.to_owned(), rule.to_owned())).cloned()
    }
}

impl EventsApi for FakeEvents {
    async fn describe_rule(&self, event_bus: &str, rule: &str) -> Result<Option<RuleInfo>, Error> {
        self.check("DescribeRule", rule)?;
        Ok(self.targets(event_bus, rule).map(|_| RuleInfo {
            name: rule.into(),
            event_bus: event_bus.into(),
            arn: format!("arn:aws:events:us-east-1:123456789012:rule/{rule}"),
            state: Some("ENABLED".into()),
        }))
    }

    async fn list_targets(&self, event_bus: &str, rule: &str) -> Result<Vec<Target>, Error> {
        self.check("ListTargetsByRule", rule)?;
        self.targets(event_bus, rule)
            .ok_or_else(|| Error::RuleNotFound(format!("{event_bus}/{rule}")))
    }

    async fn put_targets(
        &self,
        event_bus: &str,
        rule: &str,
        targets: &[Target],
    ) -> Result<Vec<PutTargetsResultEntry>, Error> {
        self.check("PutTargets", rule)?;
        let mut rules = self.rules.lock().expect("rules lock");
        let current = rules
            .get_mut(&(event_bus.to_owned(), rule.to_owned()))
            .ok_or_else(|| Error::RuleNotFound(format!("{event_bus}/{rule}")))?;
        for t in targets {
            current.retain(|c| c.id() != t.id());
            current.push(t.clone());
        }
        Ok(Vec::new())
    }

    async fn put_event(&self, event: &OutgoingEvent) -> Result<(), Error> {
        self.check("PutEvents", &event.event_bus)?;
        self.put.lock().expect("events lock").push(event.clone());
        Ok(())
    }

    async fn list_rules(&self, event_bus: &str) -> Result<Vec<String>, Error> {
        self.check("ListRules", event_bus)?;
        let rules = self.rules.lock().expect("rules lock");
        Ok(rules
            .keys()
            .filter(|(bus, _)| bus == event_bus)
            .map(|(_, rule)| rule.clone())
            .collect())
    }
}

/// Objects in memory, keyed by `(bucket, key)`; counts calls so tests can prove what was read.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    gets: Mutex<u32>,
}

impl MemoryStore {
    /// Every key of a bucket, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let objects = self.objects.lock().expect("store lock");
        objects
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let objects = self.objects.lock().expect("store lock");
        objects.get(&(bucket.to_owned(), key.to_owned())).cloned()
    }

    pub fn gets(&self) -> u32 {
        *self.gets.lock().expect("store lock")
    }
}

impl ObjectStore for MemoryStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        *self.gets.lock().expect("store lock") += 1;
        Ok(self.object(bucket, key))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), Error> {
        let mut objects = self.objects.lock().expect("store lock");
        objects.insert((bucket.to_owned(), key.to_owned()), body);
        Ok(())
    }

    async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .keys(bucket)
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect())
    }
}
