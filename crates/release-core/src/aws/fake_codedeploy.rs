//! In-memory CodeDeploy for tests of the steps that deploy `CODE_DEPLOY` services: deployment groups
//! and configurations a test registers, deployments that CreateDeployment starts and the test then
//! moves along (`set_status`, `update`), StopDeployment with CodeDeploy's automatic rollback, and
//! the ECS targets a test sets. It refuses a second deployment to a busy group as CodeDeploy does,
//! counts calls, and answers the errors it is told to, like [`crate::aws::fake::FakeEcs`].
//! Compiled for this crate's tests and, with the `test-util` feature, for other crates' tests;
//! never into a Lambda.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

use aws_sdk_codedeploy::types::{
    AppSpecContent, BlueGreenDeploymentConfiguration, ComputePlatform, DeploymentConfigInfo,
    DeploymentCreator, DeploymentGroupInfo, DeploymentInfo, DeploymentOption, DeploymentStatus,
    DeploymentStyle, DeploymentType, EcsService, EcsTarget, ErrorCode, ErrorInformation,
    RevisionLocation, RevisionLocationType, RollbackInfo, TrafficRoutingConfig,
};
use aws_smithy_types::DateTime;

use crate::aws::codedeploy::BATCH_GET_DEPLOYMENTS;
use crate::aws::{CodeDeployApi, CodeDeployRequest, Created};
use crate::decide::codedeploy::predefined_config;
use crate::decide::release_ref::sha256_hex;
use crate::Error;

/// The create time of the first deployment (2026-01-01T00:00:00Z); each later one is a second on.
const FIRST_CREATE_TIME: i64 = 1_767_225_600;

#[derive(Default)]
struct State {
    /// By `(application, group)`.
    groups: BTreeMap<(String, String), DeploymentGroupInfo>,
    /// Custom deployment configurations by name (the predefined ones are always known).
    configs: BTreeMap<String, DeploymentConfigInfo>,
    /// Oldest first.
    deployments: Vec<DeploymentInfo>,
    /// The requests of the deployments CreateDeployment created, in order.
    created: Vec<CodeDeployRequest>,
    /// The StopDeployment requests that were accepted: id and auto-rollback.
    stops: Vec<(String, bool)>,
    /// ECS targets by deployment id.
    targets: BTreeMap<String, Vec<EcsTarget>>,
    /// How many deployments were created (ids and create times come from it).
    counter: u32,
    calls: BTreeMap<&'static str, u32>,
    /// Every call, in order: the operation and its subject.
    log: Vec<(&'static str, String)>,
    /// When each call was made, on tokio's clock (paused in pacing tests).
    times: Vec<(&'static str, tokio::time::Instant)>,
    /// Operations that answer AccessDenied.
    refused: BTreeSet<&'static str>,
    /// Operations whose next calls answer Throttled, and how many.
    throttled: BTreeMap<&'static str, u32>,
    /// Errors the next calls of an operation answer, one each, in order.
    failures: BTreeMap<&'static str, VecDeque<Error>>,
}

/// CodeDeploy in memory. Operations are named as in CodeDeploy's API: `GetDeploymentGroup`,
/// `GetDeploymentConfig`, `ListDeployments`, `BatchGetDeployments` (one call per 25 ids),
/// `CreateDeployment`, `StopDeployment`, `GetDeploymentTarget`.
#[derive(Default)]
pub struct FakeCodeDeploy {
    state: Mutex<State>,
}

/// Created, Queued, InProgress, Baking or Ready: CodeDeploy still works on it, and the group takes
/// no other deployment.
fn is_active(status: Option<&DeploymentStatus>) -> bool {
    use DeploymentStatus as S;
    matches!(
        status,
        Some(S::Created | S::Queued | S::InProgress | S::Baking | S::Ready)
    )
}

/// An error as the adapter maps a CodeDeploy client error (HTTP 400) that means nothing more:
/// `Internal`, with `context: code: message`.
fn client_error(op: &str, subject: &str, code: &str, message: &str) -> Error {
    Error::internal(format!("{op} {subject}: {code}: {message}"))
}

impl FakeCodeDeploy {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the call and answers the failure it was told to, if any.
    fn check(&self, op: &'static str, subject: &str) -> Result<(), Error> {
        let mut state = self.state();
        *state.calls.entry(op).or_default() += 1;
        state.log.push((op, subject.to_owned()));
        state.times.push((op, tokio::time::Instant::now()));
        if state.refused.contains(op) {
            return Err(Error::AccessDenied {
                message: format!("{op} {subject}: AccessDeniedException: not allowed"),
                source: None,
            });
        }
        if let Some(error) = state.failures.get_mut(op).and_then(VecDeque::pop_front) {
            return Err(error);
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

    // ---- failures ----

    /// The next `calls` calls of `op` answer Throttled (counted, changing nothing).
    pub fn throttle(&self, op: &'static str, calls: u32) {
        self.state().throttled.insert(op, calls);
    }

    /// Every later call of `op` answers AccessDenied.
    pub fn refuse(&self, op: &'static str) {
        self.state().refused.insert(op);
    }

    /// The next call of `op` answers `error` (counted, changing nothing); several `fail`s of one
    /// operation answer one call each, in order.
    pub fn fail(&self, op: &'static str, error: Error) {
        self.state()
            .failures
            .entry(op)
            .or_default()
            .push_back(error);
    }

    // ---- calls ----

    /// How many calls of `op` were made (failed ones too).
    pub fn calls(&self, op: &str) -> u32 {
        self.state().calls.get(op).copied().unwrap_or_default()
    }

    pub fn total_calls(&self) -> u32 {
        self.state().calls.values().sum()
    }

    /// Every call, in order: the operation and its subject (`app/group`, the deployment id, the
    /// ids of a BatchGetDeployments call joined by `,`, `id cluster:service`).
    pub fn log(&self) -> Vec<(&'static str, String)> {
        self.state().log.clone()
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

    // ---- groups and configurations ----

    /// Registers the ECS blue/green deployment group `application/group` of `cluster/service`,
    /// deploying with `config_name` unless a deployment names another.
    pub fn group(
        self,
        application: &str,
        group: &str,
        cluster: &str,
        service: &str,
        config_name: &str,
    ) -> Self {
        let info = DeploymentGroupInfo::builder()
            .application_name(application)
            .deployment_group_name(group)
            .deployment_group_id(format!("dg-{application}-{group}"))
            .deployment_config_name(config_name)
            .compute_platform(ComputePlatform::Ecs)
            .deployment_style(
                DeploymentStyle::builder()
                    .deployment_type(DeploymentType::BlueGreen)
                    .deployment_option(DeploymentOption::WithTrafficControl)
                    .build(),
            )
            .ecs_services(
                EcsService::builder()
                    .cluster_name(cluster)
                    .service_name(service)
                    .build(),
            )
            .build();
        self.set_group(application, group, info);
        self
    }

    /// Gives the group registered with [`Self::group`] its blue/green configuration (what happens
    /// to the blue task set, and when); its deployments carry it too.
    pub fn blue_green(
        self,
        application: &str,
        group: &str,
        config: BlueGreenDeploymentConfiguration,
    ) -> Self {
        if let Some(info) = self
            .state()
            .groups
            .get_mut(&(application.to_owned(), group.to_owned()))
        {
            info.blue_green_deployment_configuration = Some(config);
        }
        self
    }

    /// Sets (or replaces) what GetDeploymentGroup answers for `application/group`, as given.
    pub fn set_group(&self, application: &str, group: &str, info: DeploymentGroupInfo) {
        self.state()
            .groups
            .insert((application.to_owned(), group.to_owned()), info);
    }

    /// Registers a custom ECS deployment configuration. CodeDeploy's predefined ECS
    /// configurations (`CodeDeployDefault.ECS…`) are known without it.
    pub fn config(self, name: &str, routing: TrafficRoutingConfig) -> Self {
        let info = DeploymentConfigInfo::builder()
            .deployment_config_name(name)
            .deployment_config_id(format!("dc-{name}"))
            .compute_platform(ComputePlatform::Ecs)
            .traffic_routing_config(routing)
            .build();
        self.state().configs.insert(name.to_owned(), info);
        self
    }

    // ---- deployments ----

    fn next_id(state: &mut State) -> (String, DateTime) {
        state.counter += 1;
        let id = format!("d-{:09}", state.counter);
        let at = DateTime::from_secs(FIRST_CREATE_TIME + i64::from(state.counter));
        (id, at)
    }

    /// Adds a deployment as if someone had created it (another release's, an old one): `info`
    /// as given, with an id (`d-…`) and a create time when it has none. Returns its id.
    pub fn add_deployment(&self, mut info: DeploymentInfo) -> String {
        let mut state = self.state();
        let (id, at) = Self::next_id(&mut state);
        let id = info.deployment_id.clone().unwrap_or(id);
        info.deployment_id = Some(id.clone());
        info.create_time.get_or_insert(at);
        state.deployments.push(info);
        id
    }

    /// Every deployment, oldest first (rollback deployments included).
    pub fn deployments(&self) -> Vec<DeploymentInfo> {
        self.state().deployments.clone()
    }

    pub fn deployment(&self, id: &str) -> Option<DeploymentInfo> {
        self.state()
            .deployments
            .iter()
            .find(|d| d.deployment_id() == Some(id))
            .cloned()
    }

    /// The requests of the deployments CreateDeployment created, in order (refused ones are not
    /// here).
    pub fn created(&self) -> Vec<CodeDeployRequest> {
        self.state().created.clone()
    }

    /// The accepted StopDeployment requests, in order: the id and whether to roll back.
    pub fn stops(&self) -> Vec<(String, bool)> {
        self.state().stops.clone()
    }

    /// Changes deployment `id` with `change`. Panics when there is no such deployment: a test's
    /// mistake.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut DeploymentInfo)) {
        let mut state = self.state();
        let Some(info) = state
            .deployments
            .iter_mut()
            .find(|d| d.deployment_id() == Some(id))
        else {
            panic!("FakeCodeDeploy has no deployment {id}");
        };
        change(info);
    }

    /// Moves deployment `id` to `status`.
    pub fn set_status(&self, id: &str, status: DeploymentStatus) {
        self.update(id, |info| info.status = Some(status));
    }

    /// Replaces what CodeDeploy reports of deployment `id` (its id is kept).
    pub fn set_info(&self, id: &str, info: DeploymentInfo) {
        self.update(id, |current| {
            *current = info;
            current.deployment_id = Some(id.to_owned());
        });
    }

    /// What GetDeploymentTarget answers for deployment `id` and the target's `target_id`
    /// (`cluster:service`; a target without one answers for any).
    pub fn set_target(&self, id: &str, target: EcsTarget) {
        let mut state = self.state();
        let targets = state.targets.entry(id.to_owned()).or_default();
        targets.retain(|t| t.target_id() != target.target_id());
        targets.push(target);
    }
}

impl CodeDeployApi for FakeCodeDeploy {
    async fn get_deployment_group(
        &self,
        application: &str,
        group: &str,
    ) -> Result<Option<DeploymentGroupInfo>, Error> {
        self.check("GetDeploymentGroup", &format!("{application}/{group}"))?;
        Ok(self
            .state()
            .groups
            .get(&(application.to_owned(), group.to_owned()))
            .cloned())
    }

    async fn get_deployment_config(
        &self,
        name: &str,
    ) -> Result<Option<DeploymentConfigInfo>, Error> {
        self.check("GetDeploymentConfig", name)?;
        if let Some(info) = self.state().configs.get(name) {
            return Ok(Some(info.clone()));
        }
        Ok(predefined_config(name).map(|routing| {
            DeploymentConfigInfo::builder()
                .deployment_config_name(name)
                .deployment_config_id(format!("dc-{name}"))
                .compute_platform(ComputePlatform::Ecs)
                .traffic_routing_config(routing)
                .build()
        }))
    }

    async fn list_deployments(
        &self,
        application: &str,
        group: &str,
        statuses: &[DeploymentStatus],
    ) -> Result<Vec<String>, Error> {
        let subject = format!("{application}/{group}");
        self.check("ListDeployments", &subject)?;
        let state = self.state();
        known_group(&state, "ListDeployments", application, group)?;
        Ok(state
            .deployments
            .iter()
            .rev()
            .filter(|d| {
                d.application_name() == Some(application)
                    && d.deployment_group_name() == Some(group)
            })
            .filter(|d| statuses.is_empty() || d.status().is_some_and(|s| statuses.contains(s)))
            .filter_map(|d| d.deployment_id().map(str::to_owned))
            .collect())
    }

    async fn batch_get_deployments(&self, ids: &[String]) -> Result<Vec<DeploymentInfo>, Error> {
        let mut found = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH_GET_DEPLOYMENTS) {
            self.check("BatchGetDeployments", &batch.join(","))?;
            let state = self.state();
            found.extend(batch.iter().filter_map(|id| {
                state
                    .deployments
                    .iter()
                    .find(|d| d.deployment_id() == Some(id.as_str()))
                    .cloned()
            }));
        }
        Ok(found)
    }

    async fn create_deployment(&self, request: &CodeDeployRequest) -> Result<Created, Error> {
        const OP: &str = "CreateDeployment";
        let (application, group) = (&request.application, &request.deployment_group);
        let subject = format!("{application}/{group}");
        self.check(OP, &subject)?;
        let mut state = self.state();
        let group_info = known_group(&state, OP, application, group)?.clone();
        let config_name = match &request.deployment_config {
            Some(name) => {
                if !state.configs.contains_key(name) && predefined_config(name).is_none() {
                    return Err(client_error(
                        OP,
                        &subject,
                        "DeploymentConfigDoesNotExistException",
                        &format!("No deployment configuration found for name: {name}"),
                    ));
                }
                Some(name.clone())
            }
            None => group_info.deployment_config_name.clone(),
        };
        let active = state.deployments.iter().rev().find(|d| {
            d.application_name() == Some(application.as_str())
                && d.deployment_group_name() == Some(group.as_str())
                && is_active(d.status())
        });
        if let Some(active) = active {
            return Ok(Created::GroupBusy(format!(
                "The Deployment Group '{group}' already has an active Deployment '{}'",
                active.deployment_id().unwrap_or_default()
            )));
        }
        let (id, at) = Self::next_id(&mut state);
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(
                AppSpecContent::builder()
                    .content(&request.app_spec)
                    .sha256(sha256_hex(request.app_spec.as_bytes()))
                    .build(),
            )
            .build();
        let info = DeploymentInfo::builder()
            .deployment_id(&id)
            .application_name(application)
            .deployment_group_name(group)
            .set_deployment_config_name(config_name)
            .description(&request.description)
            .status(DeploymentStatus::Created)
            .creator(DeploymentCreator::User)
            .compute_platform(ComputePlatform::Ecs)
            .revision(revision)
            .create_time(at)
            .set_deployment_style(group_info.deployment_style)
            .set_blue_green_deployment_configuration(group_info.blue_green_deployment_configuration)
            .build();
        state.deployments.push(info);
        state.created.push(request.clone());
        Ok(Created::Deployment(id))
    }

    async fn stop_deployment(&self, id: &str, auto_rollback: bool) -> Result<(), Error> {
        const OP: &str = "StopDeployment";
        self.check(OP, id)?;
        let mut state = self.state();
        let Some(index) = state
            .deployments
            .iter()
            .position(|d| d.deployment_id() == Some(id))
        else {
            return Err(client_error(
                OP,
                id,
                "DeploymentDoesNotExistException",
                &format!("The deployment {id} could not be found."),
            ));
        };
        if !is_active(state.deployments[index].status()) {
            return Err(client_error(
                OP,
                id,
                "DeploymentAlreadyCompletedException",
                &format!("The deployment {id} has already completed."),
            ));
        }
        state.stops.push((id.to_owned(), auto_rollback));
        let rollback = if auto_rollback {
            let stopped = &state.deployments[index];
            let template = (
                stopped.application_name.clone(),
                stopped.deployment_group_name.clone(),
                stopped.deployment_config_name.clone(),
                stopped.deployment_style.clone(),
                stopped.blue_green_deployment_configuration.clone(),
            );
            let (rollback_id, at) = Self::next_id(&mut state);
            let (application, group, config, style, blue_green) = template;
            state.deployments.push(
                DeploymentInfo::builder()
                    .deployment_id(&rollback_id)
                    .set_application_name(application)
                    .set_deployment_group_name(group)
                    .set_deployment_config_name(config)
                    .status(DeploymentStatus::InProgress)
                    .creator(DeploymentCreator::CodeDeployRollback)
                    .compute_platform(ComputePlatform::Ecs)
                    .create_time(at)
                    .set_deployment_style(style)
                    .set_blue_green_deployment_configuration(blue_green)
                    .rollback_info(
                        RollbackInfo::builder()
                            .rollback_triggering_deployment_id(id)
                            .build(),
                    )
                    .build(),
            );
            Some(rollback_id)
        } else {
            None
        };
        let stopped = &mut state.deployments[index];
        stopped.status = Some(DeploymentStatus::Stopped);
        stopped.error_information = Some(
            ErrorInformation::builder()
                .code(ErrorCode::ManualStop)
                .message("The deployment was stopped by the user.")
                .build(),
        );
        if let Some(rollback_id) = rollback {
            stopped.rollback_info = Some(
                RollbackInfo::builder()
                    .rollback_message(format!(
                        "Deployment {id} was stopped; CodeDeploy rolls it back with deployment \
                         {rollback_id}."
                    ))
                    .rollback_deployment_id(rollback_id)
                    .build(),
            );
        }
        Ok(())
    }

    async fn get_deployment_target(
        &self,
        id: &str,
        target: &str,
    ) -> Result<Option<EcsTarget>, Error> {
        self.check("GetDeploymentTarget", &format!("{id} {target}"))?;
        let state = self.state();
        let targets = state.targets.get(id).map(Vec::as_slice).unwrap_or_default();
        Ok(targets
            .iter()
            .find(|t| t.target_id() == Some(target))
            .or_else(|| targets.iter().find(|t| t.target_id().is_none()))
            .cloned())
    }
}

/// The group `application/group`, or CodeDeploy's error for a missing application or group.
fn known_group<'a>(
    state: &'a State,
    op: &str,
    application: &str,
    group: &str,
) -> Result<&'a DeploymentGroupInfo, Error> {
    let subject = format!("{application}/{group}");
    if let Some(info) = state
        .groups
        .get(&(application.to_owned(), group.to_owned()))
    {
        return Ok(info);
    }
    if state.groups.keys().any(|(app, _)| app == application) {
        Err(client_error(
            op,
            &subject,
            "DeploymentGroupDoesNotExistException",
            &format!("No Deployment Group found for name: {group}"),
        ))
    } else {
        Err(client_error(
            op,
            &subject,
            "ApplicationDoesNotExistException",
            &format!("No application found for name: {application}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_codedeploy::types::{TimeBasedCanary, TrafficRoutingType};

    use super::*;

    const APP: &str = "AppECS-prod-web";
    const DGP: &str = "DgpECS-prod-web";

    fn fake() -> FakeCodeDeploy {
        FakeCodeDeploy::default().group(APP, DGP, "prod", "web", "CodeDeployDefault.ECSAllAtOnce")
    }

    fn request(description: &str) -> CodeDeployRequest {
        CodeDeployRequest {
            application: APP.into(),
            deployment_group: DGP.into(),
            deployment_config: None,
            description: description.into(),
            app_spec: r#"{"version":0.0}"#.into(),
        }
    }

    async fn create(fake: &FakeCodeDeploy, description: &str) -> String {
        match fake.create_deployment(&request(description)).await.unwrap() {
            Created::Deployment(id) => id,
            busy @ Created::GroupBusy(_) => panic!("expected a deployment, got {busy:?}"),
        }
    }

    #[tokio::test]
    async fn a_deployment_is_created_with_the_request_and_the_groups_config() {
        let fake = fake();
        let id = create(&fake, "convoy release r-1: prod/web").await;
        assert_eq!(id, "d-000000001");
        assert_eq!(id.len(), 11);
        let info = fake.deployment(&id).unwrap();
        assert_eq!(info.status(), Some(&DeploymentStatus::Created));
        assert_eq!(info.creator(), Some(&DeploymentCreator::User));
        assert_eq!(info.description(), Some("convoy release r-1: prod/web"));
        assert_eq!(
            info.deployment_config_name(),
            Some("CodeDeployDefault.ECSAllAtOnce")
        );
        assert_eq!(fake.created(), [request("convoy release r-1: prod/web")]);
        assert_eq!(fake.calls("CreateDeployment"), 1);
    }

    #[tokio::test]
    async fn a_group_with_an_active_deployment_is_busy() {
        let fake = fake();
        let first = create(&fake, "first").await;
        for status in [
            DeploymentStatus::Created,
            DeploymentStatus::Queued,
            DeploymentStatus::InProgress,
            DeploymentStatus::Baking,
            DeploymentStatus::Ready,
        ] {
            fake.set_status(&first, status.clone());
            let answer = fake.create_deployment(&request("second")).await.unwrap();
            assert_eq!(
                answer,
                Created::GroupBusy(format!(
                    "The Deployment Group '{DGP}' already has an active Deployment '{first}'"
                )),
                "{status:?}"
            );
        }
        assert_eq!(fake.deployments().len(), 1);
        assert_eq!(fake.created().len(), 1);

        fake.set_status(&first, DeploymentStatus::Succeeded);
        let second = create(&fake, "second").await;
        assert_ne!(second, first);
        assert_eq!(fake.created().len(), 2);
    }

    #[tokio::test]
    async fn an_unknown_group_or_config_is_an_error_and_a_missing_group_is_none() {
        let fake = fake();
        let mut other = request("x");
        other.deployment_group = "DgpECS-prod-api".into();
        let err = fake.create_deployment(&other).await.unwrap_err();
        assert_eq!(err.name(), "Internal");
        assert!(
            err.to_string()
                .contains("DeploymentGroupDoesNotExistException"),
            "{err}"
        );
        let mut other = request("x");
        other.deployment_config = Some("Custom".into());
        let err = fake.create_deployment(&other).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("DeploymentConfigDoesNotExistException"),
            "{err}"
        );
        assert!(fake.created().is_empty());
        assert!(fake
            .get_deployment_group(APP, "DgpECS-prod-api")
            .await
            .unwrap()
            .is_none());
        let group = fake.get_deployment_group(APP, DGP).await.unwrap().unwrap();
        assert_eq!(group.compute_platform(), Some(&ComputePlatform::Ecs));
        assert_eq!(group.ecs_services()[0].service_name(), Some("web"));
    }

    #[tokio::test]
    async fn configs_are_the_registered_and_the_predefined_ones() {
        let routing = TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedCanary)
            .time_based_canary(
                TimeBasedCanary::builder()
                    .canary_interval(2)
                    .canary_percentage(20)
                    .build(),
            )
            .build();
        let fake = fake().config("Canary20", routing.clone());
        let info = fake
            .get_deployment_config("Canary20")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(info.traffic_routing_config(), Some(&routing));
        assert_eq!(info.compute_platform(), Some(&ComputePlatform::Ecs));
        let predefined = fake
            .get_deployment_config("CodeDeployDefault.ECSAllAtOnce")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            predefined.traffic_routing_config().and_then(|r| r.r#type()),
            Some(&TrafficRoutingType::AllAtOnce)
        );
        assert!(fake.get_deployment_config("Nope").await.unwrap().is_none());
        assert_eq!(fake.calls("GetDeploymentConfig"), 3);
    }

    #[tokio::test]
    async fn deployments_are_listed_newest_first_by_group_and_status() {
        let fake = fake().group(
            APP,
            "DgpECS-prod-api",
            "prod",
            "api",
            "CodeDeployDefault.ECSAllAtOnce",
        );
        let old = create(&fake, "old").await;
        fake.set_status(&old, DeploymentStatus::Failed);
        let done = create(&fake, "done").await;
        fake.set_status(&done, DeploymentStatus::Succeeded);
        let running = create(&fake, "running").await;
        fake.set_status(&running, DeploymentStatus::InProgress);
        let mut api = request("api");
        api.deployment_group = "DgpECS-prod-api".into();
        fake.create_deployment(&api).await.unwrap();

        let all = fake.list_deployments(APP, DGP, &[]).await.unwrap();
        assert_eq!(all, [running.clone(), done.clone(), old.clone()]);
        let some = fake
            .list_deployments(
                APP,
                DGP,
                &[DeploymentStatus::Failed, DeploymentStatus::InProgress],
            )
            .await
            .unwrap();
        assert_eq!(some, [running, old]);
        let none = fake
            .list_deployments(APP, DGP, &[DeploymentStatus::Stopped])
            .await
            .unwrap();
        assert!(none.is_empty());
        let err = fake
            .list_deployments("AppECS-x", DGP, &[])
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("ApplicationDoesNotExistException"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_stop_without_rollback_only_stops() {
        let fake = fake();
        let id = create(&fake, "r-1").await;
        fake.set_status(&id, DeploymentStatus::InProgress);
        fake.stop_deployment(&id, false).await.unwrap();
        let stopped = fake.deployment(&id).unwrap();
        assert_eq!(stopped.status(), Some(&DeploymentStatus::Stopped));
        assert_eq!(
            stopped.error_information().and_then(|e| e.code()),
            Some(&ErrorCode::ManualStop)
        );
        assert!(stopped.rollback_info().is_none());
        assert_eq!(fake.deployments().len(), 1);
        assert_eq!(fake.stops(), [(id, false)]);
        // The group is free again.
        create(&fake, "r-2").await;
    }

    #[tokio::test]
    async fn a_stop_with_rollback_starts_the_rollback_deployment() {
        let fake = fake();
        let id = create(&fake, "r-1").await;
        fake.set_status(&id, DeploymentStatus::Ready);
        fake.stop_deployment(&id, true).await.unwrap();

        let stopped = fake.deployment(&id).unwrap();
        assert_eq!(stopped.status(), Some(&DeploymentStatus::Stopped));
        assert_eq!(
            stopped.error_information().and_then(|e| e.code()),
            Some(&ErrorCode::ManualStop)
        );
        let rollback_id = stopped
            .rollback_info()
            .and_then(|r| r.rollback_deployment_id())
            .unwrap()
            .to_owned();
        let rollback = fake.deployment(&rollback_id).unwrap();
        assert_eq!(rollback.status(), Some(&DeploymentStatus::InProgress));
        assert_eq!(
            rollback.creator(),
            Some(&DeploymentCreator::CodeDeployRollback)
        );
        assert_eq!(
            rollback
                .rollback_info()
                .and_then(|r| r.rollback_triggering_deployment_id()),
            Some(id.as_str())
        );
        assert_eq!(rollback.deployment_group_name(), Some(DGP));
        assert_eq!(
            fake.list_deployments(APP, DGP, &[]).await.unwrap(),
            [rollback_id.clone(), id]
        );
        // The rollback keeps the group busy.
        let answer = fake.create_deployment(&request("r-2")).await.unwrap();
        assert!(matches!(answer, Created::GroupBusy(ref m) if m.contains(&rollback_id)));
    }

    #[tokio::test]
    async fn a_completed_or_unknown_deployment_cannot_be_stopped() {
        let fake = fake();
        let id = create(&fake, "r-1").await;
        for status in [
            DeploymentStatus::Succeeded,
            DeploymentStatus::Failed,
            DeploymentStatus::Stopped,
        ] {
            fake.set_status(&id, status.clone());
            let err = fake.stop_deployment(&id, true).await.unwrap_err();
            assert_eq!(err.name(), "Internal", "{status:?}");
            assert!(
                err.to_string().contains(&format!(
                    "StopDeployment {id}: DeploymentAlreadyCompletedException"
                )),
                "{err}"
            );
        }
        assert_eq!(fake.deployments().len(), 1);
        assert!(fake.stops().is_empty());
        let err = fake
            .stop_deployment("d-NOPE00000", false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("DeploymentDoesNotExistException"),
            "{err}"
        );
        assert_eq!(fake.calls("StopDeployment"), 4);
    }

    #[tokio::test]
    async fn deployments_are_read_twenty_five_per_call_and_unknown_ids_are_absent() {
        let fake = fake();
        let mut ids = Vec::new();
        for n in 0..30 {
            let id = create(&fake, &format!("r-{n}")).await;
            fake.set_status(&id, DeploymentStatus::Succeeded);
            ids.push(id);
        }
        ids.extend((0..30).map(|n| format!("d-UNKNOWN{n:02}")));
        let found = fake.batch_get_deployments(&ids).await.unwrap();
        assert_eq!(found.len(), 30);
        assert_eq!(found[0].deployment_id(), Some(ids[0].as_str()));
        assert_eq!(fake.calls("BatchGetDeployments"), 3);
        assert!(fake.batch_get_deployments(&[]).await.unwrap().is_empty());
        assert_eq!(fake.calls("BatchGetDeployments"), 3);
        assert_eq!(fake.total_calls(), 30 + 3);
    }

    #[tokio::test]
    async fn failures_answer_as_told_and_are_counted() {
        let fake = fake();
        fake.throttle("BatchGetDeployments", 1);
        fake.fail("CreateDeployment", Error::internal("boom"));
        let ids: Vec<String> = (0..30).map(|n| format!("d-{n:09}")).collect();
        let err = fake.batch_get_deployments(&ids).await.unwrap_err();
        assert_eq!(err.name(), "Throttled");
        assert_eq!(fake.calls("BatchGetDeployments"), 1);
        assert_eq!(fake.batch_get_deployments(&ids).await.unwrap().len(), 0);
        assert_eq!(fake.calls("BatchGetDeployments"), 3);

        let err = fake.create_deployment(&request("r-1")).await.unwrap_err();
        assert_eq!(err.name(), "Internal");
        assert!(err.to_string().contains("boom"), "{err}");
        assert!(fake.deployments().is_empty());
        create(&fake, "r-1").await;

        fake.refuse("GetDeploymentGroup");
        let err = fake.get_deployment_group(APP, DGP).await.unwrap_err();
        assert_eq!(err.name(), "AccessDenied");
        assert_eq!(
            fake.log().last(),
            Some(&("GetDeploymentGroup", format!("{APP}/{DGP}")))
        );
    }

    #[tokio::test]
    async fn targets_and_test_controls() {
        let fake = fake();
        let id = create(&fake, "r-1").await;
        assert!(fake
            .get_deployment_target(&id, "prod:web")
            .await
            .unwrap()
            .is_none());
        fake.set_target(&id, EcsTarget::builder().target_id("prod:web").build());
        let target = fake
            .get_deployment_target(&id, "prod:web")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(target.target_id(), Some("prod:web"));
        assert!(fake
            .get_deployment_target(&id, "prod:api")
            .await
            .unwrap()
            .is_none());

        fake.update(&id, |info| {
            info.instance_termination_wait_time_started = true
        });
        assert!(fake
            .deployment(&id)
            .unwrap()
            .instance_termination_wait_time_started());
        fake.set_info(
            &id,
            DeploymentInfo::builder()
                .status(DeploymentStatus::Failed)
                .build(),
        );
        let info = fake.deployment(&id).unwrap();
        assert_eq!(info.deployment_id(), Some(id.as_str()));
        assert_eq!(info.status(), Some(&DeploymentStatus::Failed));

        let other = fake.add_deployment(
            DeploymentInfo::builder()
                .application_name(APP)
                .deployment_group_name(DGP)
                .status(DeploymentStatus::InProgress)
                .build(),
        );
        assert_eq!(other, "d-000000002");
        assert_eq!(
            fake.list_deployments(APP, DGP, &[DeploymentStatus::InProgress])
                .await
                .unwrap(),
            [other]
        );
    }
}
