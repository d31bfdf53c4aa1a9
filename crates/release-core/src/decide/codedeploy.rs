//! Services whose deployment controller is `CODE_DEPLOY`: blue/green through AWS CodeDeploy. Which
//! deployment group deploys a service and whether it can, the AppSpec a release sends, how a
//! retried step finds its own deployment, what a deployment's status means for the release, how
//! long it waits on purpose, and what a rollback does with it.

use std::collections::BTreeMap;

use aws_sdk_codedeploy::types::{
    BlueGreenDeploymentConfiguration, ComputePlatform, DeploymentConfigInfo, DeploymentCreator,
    DeploymentGroupInfo, DeploymentInfo, DeploymentReadyAction, DeploymentStatus, EcsTarget,
    InstanceAction, LifecycleEvent, LifecycleEventStatus, TargetLabel, TimeBasedCanary,
    TimeBasedLinear, TrafficRoutingConfig, TrafficRoutingType,
};
use aws_sdk_ecs::types::{CapacityProviderStrategyItem, NetworkConfiguration, Service};
use serde_json::{json, Map, Value};

use crate::contract::{Awaited, Outcome, Percent};
use crate::decide::strategy::linear_steps;
use crate::decide::verdict::in_progress_or_timed_out;

/// The AppSpec lifecycle events of an ECS deployment that run a Lambda hook, in the order
/// CodeDeploy runs them (the others, Install, AllowTestTraffic and AllowTraffic, are its own).
pub const HOOK_EVENTS: [&str; 5] = [
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

/// CodeDeploy keeps at most this much of a deployment's description (counted here in bytes, the
/// stricter reading).
pub const MAX_DESCRIPTION: usize = 512;

/// The name of an ECS cluster or service given as a name or an ARN (`…:cluster/NAME`,
/// `…:service/NAME` or `…:service/CLUSTER/NAME`).
fn name_of(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// The application and deployment group CodeDeploy's console (and the GitHub action) create for a
/// service: `AppECS-<cluster>-<service>` and `DgpECS-<cluster>-<service>`; the manifest names
/// others.
pub fn default_names(cluster: &str, service: &str) -> (String, String) {
    let (cluster, service) = (name_of(cluster), name_of(service));
    (
        format!("AppECS-{cluster}-{service}"),
        format!("DgpECS-{cluster}-{service}"),
    )
}

/// Why the deployment group `found` (GetDeploymentGroup's answer, `None`: it does not exist)
/// cannot deploy `cluster`/`service`; `None` when it can. Cluster and service may be names or
/// ARNs: names are compared.
pub fn group_problem(
    found: Option<&DeploymentGroupInfo>,
    application: &str,
    group: &str,
    cluster: &str,
    service: &str,
) -> Option<String> {
    let (cluster, service) = (name_of(cluster), name_of(service));
    let Some(found) = found else {
        let (app, dgp) = default_names(cluster, service);
        return Some(format!(
            "CodeDeploy deployment group `{application}/{group}` does not exist: name it with \
             `codeDeploy: {{application, deploymentGroup}}` on service `{cluster}/{service}` (the \
             default is `{app}/{dgp}`), or create it"
        ));
    };
    match found.compute_platform() {
        Some(ComputePlatform::Ecs) => {}
        platform => {
            return Some(format!(
                "CodeDeploy deployment group `{application}/{group}` deploys to the {} compute \
                 platform, not ECS: it cannot deploy service `{cluster}/{service}`",
                platform.map_or("unknown", ComputePlatform::as_str)
            ))
        }
    }
    let targets = found.ecs_services();
    let ours = targets.iter().any(|s| {
        s.cluster_name().map(name_of) == Some(cluster)
            && s.service_name().map(name_of) == Some(service)
    });
    if ours {
        return None;
    }
    let named: Vec<String> = targets
        .iter()
        .map(|s| {
            format!(
                "`{}/{}`",
                s.cluster_name().unwrap_or("?"),
                s.service_name().unwrap_or("?")
            )
        })
        .collect();
    let instead = if named.is_empty() {
        "no ECS service".to_owned()
    } else {
        named.join(", ")
    };
    Some(format!(
        "CodeDeploy deployment group `{application}/{group}` targets {instead}, not \
         `{cluster}/{service}`"
    ))
}

/// Pre-flight refuses a group with an active deployment (`active_ids`, from ListDeployments over
/// the active statuses): CodeDeploy runs one deployment per ECS group at a time, so ours would be
/// refused, or would fight someone else's.
pub fn active_deployment_problem(active_ids: &[String], group: &str) -> Option<String> {
    match active_ids {
        [] => None,
        [one] => Some(format!(
            "CodeDeploy deployment group `{group}` has an active deployment {one}: wait for it or \
             stop it"
        )),
        many => Some(format!(
            "CodeDeploy deployment group `{group}` has active deployments {}: wait for them or \
             stop them",
            many.join(", ")
        )),
    }
}

/// The `TargetService` of an ECS AppSpec: what CodeDeploy's replacement task set runs.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpecTarget {
    pub task_definition: String,
    pub container_name: String,
    pub container_port: i32,
    pub platform_version: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
}

/// The container and port of `service`'s load balancer, through which CodeDeploy shifts traffic
/// (the AppSpec's `LoadBalancerInfo`), or why it has none.
pub fn load_balancer(service: &Service) -> Result<(String, i32), String> {
    let name = service.service_name().unwrap_or("?");
    let Some(lb) = service.load_balancers().first() else {
        return Err(format!(
            "service `{name}` has no load balancer: a CODE_DEPLOY service shifts traffic through \
             one, with its containerName and containerPort"
        ));
    };
    let Some(container_name) = lb.container_name().filter(|c| !c.is_empty()) else {
        return Err(format!(
            "service `{name}`'s load balancer names no containerName: the AppSpec needs it"
        ));
    };
    let Some(container_port) = lb.container_port() else {
        return Err(format!(
            "service `{name}`'s load balancer names no containerPort: the AppSpec needs it"
        ));
    };
    Ok((container_name.to_owned(), container_port))
}

/// The AppSpec target that deploys `task_definition` to `service` as DescribeServices reports
/// it: the load balancer's container and port ([`load_balancer`]), and the platform version,
/// network and capacity providers the replacement task set keeps.
pub fn app_spec_target(service: &Service, task_definition: &str) -> Result<AppSpecTarget, String> {
    let (container_name, container_port) = load_balancer(service)?;
    Ok(AppSpecTarget {
        task_definition: task_definition.to_owned(),
        container_name,
        container_port,
        platform_version: service.platform_version().map(str::to_owned),
        network_configuration: service.network_configuration().cloned(),
        capacity_provider_strategy: service.capacity_provider_strategy().to_vec(),
    })
}

/// The AppSpec (JSON) CodeDeploy reads for an ECS deployment of `target`, with `hooks` (lifecycle
/// event → Lambda function) in lifecycle order. Keys come out in a fixed order and absent parts
/// are left out, so the same target gives the same bytes (and SHA-256). A hook event not in
/// [`HOOK_EVENTS`] (the manifest checks them) is kept after the others, for CodeDeploy to refuse.
pub fn app_spec(target: &AppSpecTarget, hooks: &BTreeMap<String, String>) -> String {
    let mut properties = Map::new();
    properties.insert("TaskDefinition".into(), json!(target.task_definition));
    properties.insert(
        "LoadBalancerInfo".into(),
        json!({
            "ContainerName": target.container_name,
            "ContainerPort": target.container_port,
        }),
    );
    if let Some(version) = &target.platform_version {
        properties.insert("PlatformVersion".into(), json!(version));
    }
    if let Some(vpc) = target
        .network_configuration
        .as_ref()
        .and_then(NetworkConfiguration::awsvpc_configuration)
    {
        let mut awsvpc = Map::new();
        awsvpc.insert("Subnets".into(), json!(vpc.subnets()));
        if !vpc.security_groups().is_empty() {
            awsvpc.insert("SecurityGroups".into(), json!(vpc.security_groups()));
        }
        if let Some(public) = vpc.assign_public_ip() {
            awsvpc.insert("AssignPublicIp".into(), json!(public.as_str()));
        }
        properties.insert(
            "NetworkConfiguration".into(),
            json!({ "AwsvpcConfiguration": awsvpc }),
        );
    }
    if !target.capacity_provider_strategy.is_empty() {
        let strategy: Vec<Value> = target
            .capacity_provider_strategy
            .iter()
            .map(|item| {
                json!({
                    "Base": item.base(),
                    "CapacityProvider": item.capacity_provider(),
                    "Weight": item.weight(),
                })
            })
            .collect();
        properties.insert("CapacityProviderStrategy".into(), Value::Array(strategy));
    }
    let mut spec = Map::new();
    spec.insert("version".into(), json!(0.0));
    spec.insert(
        "Resources".into(),
        json!([{
            "TargetService": {
                "Type": "AWS::ECS::Service",
                "Properties": properties,
            }
        }]),
    );
    let known = HOOK_EVENTS.iter().filter_map(|e| hooks.get_key_value(*e));
    let unknown = hooks
        .iter()
        .filter(|(e, _)| !HOOK_EVENTS.contains(&e.as_str()));
    let ordered: Vec<Value> = known
        .chain(unknown)
        .map(|(event, lambda)| json!({ event: lambda }))
        .collect();
    if !ordered.is_empty() {
        spec.insert("Hooks".into(), Value::Array(ordered));
    }
    Value::Object(spec).to_string()
}

/// The description convoy gives the deployment of `item_id` in release `release_id`: CreateDeployment
/// has no idempotency token, so a retried step knows its own deployment by it. At most
/// [`MAX_DESCRIPTION`] bytes, cut on a character boundary.
pub fn description(release_id: &str, item_id: &str) -> String {
    let mut text = format!("convoy release {release_id}: {item_id}");
    if text.len() > MAX_DESCRIPTION {
        let cut = (0..=MAX_DESCRIPTION)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
    }
    text
}

/// The rollback deployment to await instead of `info`, for an item awaiting a rollback
/// (`awaits`) from it: `info` is not itself a rollback, it failed or was stopped, and CodeDeploy
/// started one for it.
pub fn rollback_to_follow(info: &DeploymentInfo, awaits: Awaited) -> Option<&str> {
    let ended = matches!(
        info.status(),
        Some(DeploymentStatus::Failed | DeploymentStatus::Stopped)
    );
    if awaits != Awaited::RolledBack || !ended || is_rollback(info) {
        return None;
    }
    rollback_id(info)
}

/// Whether the verdict on `info` needs its ECS target's lifecycle events: every status but
/// Succeeded (the stage reached, whether production traffic has shifted, the failing event).
pub fn needs_target(info: &DeploymentInfo) -> bool {
    info.status() != Some(&DeploymentStatus::Succeeded)
}

/// The lifecycle event a deployment is at, or failed at (`AfterAllowTestTraffic`), for the
/// report and `convoy watch`; `None` before CodeDeploy lists any.
pub fn stage(target: &EcsTarget) -> Option<String> {
    let events = target.lifecycle_events();
    events
        .iter()
        .find(|e| e.status() == Some(&LifecycleEventStatus::Failed))
        .or_else(|| current_event(target))
        .or_else(|| events.last())
        .and_then(LifecycleEvent::lifecycle_event_name)
        .map(str::to_owned)
}

/// Whether `info` is the deployment of `item_id` in release `release_id` (its description is
/// exactly ours): a retried step adopts it rather than create a second one.
pub fn is_ours(info: &DeploymentInfo, release_id: &str, item_id: &str) -> bool {
    info.description() == Some(description(release_id, item_id).as_str())
}

/// The deployment CodeDeploy started to roll `info` back, when it did.
pub fn rollback_id(info: &DeploymentInfo) -> Option<&str> {
    info.rollback_info()
        .and_then(|r| r.rollback_deployment_id())
        .filter(|id| !id.is_empty() && Some(*id) != info.deployment_id())
}

/// Whether CodeDeploy created `info` to roll another deployment back.
fn is_rollback(info: &DeploymentInfo) -> bool {
    info.creator() == Some(&DeploymentCreator::CodeDeployRollback)
        || info
            .rollback_info()
            .and_then(|r| r.rollback_triggering_deployment_id())
            .is_some_and(|id| !id.is_empty())
}

/// The statuses of a deployment CodeDeploy still works on: a group has at most one.
pub fn active_statuses() -> [DeploymentStatus; 5] {
    use DeploymentStatus as S;
    [S::Created, S::Queued, S::InProgress, S::Baking, S::Ready]
}

/// Created, Queued, InProgress, Baking or Ready: CodeDeploy still works on it.
fn is_active(status: &DeploymentStatus) -> bool {
    active_statuses().contains(status)
}

/// The outcome and reason for a deployment CodeDeploy reports as `info` now (`None`: it does not
/// know it), with its ECS target's lifecycle events and task sets when known, for an item awaiting
/// `awaits` from it, with its deadline and the time `now` (Unix seconds).
///
/// Awaiting `Finished` (our deployment): Succeeded is done; Failed or Stopped fails with CodeDeploy's
/// error and the failing lifecycle event; anything active is in progress until the deadline.
/// Unless the item waits for the blue task set's termination, production traffic on green (the
/// AfterAllowTraffic event, or AllowTraffic when there is none, succeeded) is done already.
/// Awaiting `RolledBack` (the rollback deployment CodeDeploy started, see [`rollback_id`]):
/// Succeeded is done, Failed or Stopped fails, anything active is in progress; a deployment that
/// succeeded but is no rollback (CodeDeploy did not create it for one) rolled nothing back, a
/// failure. An unknown status is a failure, never a success.
pub fn judge(
    info: Option<&DeploymentInfo>,
    target: Option<&EcsTarget>,
    wait_for_termination: bool,
    awaits: Awaited,
    deadline: i64,
    now: i64,
) -> (Outcome, String) {
    use DeploymentStatus as S;
    let Some(info) = info else {
        return (
            Outcome::Failed,
            "the CodeDeploy deployment is missing: BatchGetDeployments does not know it".to_owned(),
        );
    };
    let id = info.deployment_id().unwrap_or("?");
    // The target of another deployment says nothing about this one.
    let target = target.filter(|t| t.deployment_id().is_none_or(|d| d == id));
    let status = info.status().cloned().unwrap_or(S::Created);
    let moving = |progress: String| {
        let verdict = in_progress_or_timed_out(deadline, now, progress);
        (verdict.outcome, verdict.reason)
    };
    match (&status, awaits) {
        (S::Succeeded, Awaited::Finished) => (
            Outcome::Succeeded,
            format!("CodeDeploy deployment {id} Succeeded"),
        ),
        (S::Failed | S::Stopped, Awaited::Finished) => {
            (Outcome::Failed, failure_text(id, &status, info, target))
        }
        (S::InProgress | S::Baking, Awaited::Finished)
            if !wait_for_termination && traffic_shifted(info, target) =>
        {
            (
                Outcome::Succeeded,
                format!(
                    "{}: production traffic shifted; the blue task set is terminated after the \
                     wait",
                    progress_text(id, &status, info, target)
                ),
            )
        }
        (s, _) if is_active(s) => moving(progress_text(id, s, info, target)),
        (S::Succeeded, Awaited::RolledBack) if !is_rollback(info) => (
            Outcome::Failed,
            format!(
                "CodeDeploy deployment {id} Succeeded: it is not a rollback, nothing was rolled \
                 back"
            ),
        ),
        (S::Succeeded, Awaited::RolledBack) => (
            Outcome::Succeeded,
            format!(
                "CodeDeploy rollback deployment {id} Succeeded: production traffic is back on the \
                 original task set"
            ),
        ),
        (S::Failed | S::Stopped, Awaited::RolledBack) => {
            let mut text = failure_text(id, &status, info, target);
            if let Some(rollback) = rollback_id(info) {
                text.push_str(&format!(
                    " (its rollback is deployment {rollback}: await that)"
                ));
            }
            (Outcome::Failed, text)
        }
        (other, _) => (
            Outcome::Failed,
            format!(
                "CodeDeploy deployment {id} has status {}, unknown to this build",
                other.as_str()
            ),
        ),
    }
}

/// Whether production traffic is on the green task set: the termination wait began, or the last
/// traffic event (AfterAllowTraffic, else AllowTraffic) succeeded.
fn traffic_shifted(info: &DeploymentInfo, target: Option<&EcsTarget>) -> bool {
    if info.instance_termination_wait_time_started() {
        return true;
    }
    let Some(target) = target else {
        return false;
    };
    let events = target.lifecycle_events();
    let named = |name: &str| {
        events
            .iter()
            .find(|e| e.lifecycle_event_name() == Some(name))
    };
    named("AfterAllowTraffic")
        .or_else(|| named("AllowTraffic"))
        .is_some_and(|e| e.status() == Some(&LifecycleEventStatus::Succeeded))
}

/// The lifecycle event CodeDeploy is at: the first neither succeeded nor skipped.
fn current_event(target: &EcsTarget) -> Option<&LifecycleEvent> {
    target.lifecycle_events().iter().find(|e| {
        !matches!(
            e.status(),
            Some(LifecycleEventStatus::Succeeded | LifecycleEventStatus::Skipped)
        )
    })
}

fn event_text(event: &LifecycleEvent) -> String {
    format!(
        "{} ({})",
        event.lifecycle_event_name().unwrap_or("?"),
        event
            .status()
            .map_or("no status", LifecycleEventStatus::as_str)
    )
}

/// `CodeDeploy deployment d-X InProgress at AllowTraffic (InProgress), green task set 2/2 running,
/// 10 % of production traffic`.
fn progress_text(
    id: &str,
    status: &DeploymentStatus,
    info: &DeploymentInfo,
    target: Option<&EcsTarget>,
) -> String {
    let mut text = format!("CodeDeploy deployment {id} {}", status.as_str());
    if let Some(target) = target {
        match current_event(target) {
            Some(event) => text.push_str(&format!(" at {}", event_text(event))),
            None if !target.lifecycle_events().is_empty() => {
                text.push_str(", every lifecycle event done");
            }
            None => {}
        }
        let green = target
            .task_sets_info()
            .iter()
            .find(|s| s.task_set_label() == Some(&TargetLabel::Green));
        if let Some(green) = green {
            text.push_str(&format!(
                ", green task set {}/{} running, {} % of production traffic",
                green.running_count(),
                green.desired_count(),
                green.traffic_weight()
            ));
        }
    }
    if *status == DeploymentStatus::Ready {
        text.push_str(
            ": the green task set is ready and waits for ContinueDeployment (the group's \
             deploymentReadyOption)",
        );
    }
    if info.instance_termination_wait_time_started() {
        text.push_str("; waiting to terminate the blue task set");
    }
    text
}

/// `CodeDeploy deployment d-X Failed: HOOK_EXECUTION_FAILURE: message; lifecycle event
/// AfterAllowTestTraffic failed: ScriptFailed: message; rollback: message`.
fn failure_text(
    id: &str,
    status: &DeploymentStatus,
    info: &DeploymentInfo,
    target: Option<&EcsTarget>,
) -> String {
    let mut text = format!("CodeDeploy deployment {id} {}", status.as_str());
    match info.error_information() {
        Some(error) => text.push_str(&format!(
            ": {}: {}",
            error.code().map_or("no error code", |c| c.as_str()),
            error.message().unwrap_or("no message")
        )),
        None => text.push_str(": no error information"),
    }
    let failed = target.and_then(|t| {
        t.lifecycle_events()
            .iter()
            .find(|e| e.status() == Some(&LifecycleEventStatus::Failed))
    });
    if let Some(event) = failed {
        text.push_str(&format!(
            "; lifecycle event {} failed",
            event.lifecycle_event_name().unwrap_or("?")
        ));
        if let Some(diagnostics) = event.diagnostics() {
            text.push_str(&format!(
                ": {}: {}",
                diagnostics
                    .error_code()
                    .map_or("no error code", |c| c.as_str()),
                diagnostics.message().unwrap_or("no message")
            ));
        }
    }
    if let Some(message) = info
        .rollback_info()
        .and_then(|r| r.rollback_message())
        .filter(|m| !m.is_empty())
    {
        text.push_str(&format!("; rollback: {message}"));
    }
    text
}

/// Minutes as CodeDeploy gives them (i32), negatives as none.
fn minutes(m: i32) -> u32 {
    u32::try_from(m).unwrap_or(0)
}

/// How long a deployment waits on purpose, in seconds: the traffic shift's intervals (a canary's
/// one, a linear shift's between its steps), the wait for ContinueDeployment when the group stops
/// the deployment after it (STOP_DEPLOYMENT), and, only when the item waits for it, the wait before
/// the blue task set is terminated. A CODE_DEPLOY service's deadline is its timeout plus this.
pub fn wait_seconds(
    routing: Option<&TrafficRoutingConfig>,
    blue_green: Option<&BlueGreenDeploymentConfiguration>,
    wait_for_termination: bool,
) -> u32 {
    let shifting = routing.map_or(0, |r| match r.r#type() {
        Some(TrafficRoutingType::TimeBasedCanary) => r
            .time_based_canary()
            .map_or(0, |c| minutes(c.canary_interval())),
        Some(TrafficRoutingType::TimeBasedLinear) => r.time_based_linear().map_or(0, |l| {
            linear_steps(Percent(f64::from(l.linear_percentage())))
                .saturating_sub(1)
                .saturating_mul(minutes(l.linear_interval()))
        }),
        // AllAtOnce, none, or a type newer than this build.
        _ => 0,
    });
    let ready = blue_green
        .and_then(BlueGreenDeploymentConfiguration::deployment_ready_option)
        .filter(|o| o.action_on_timeout() == Some(&DeploymentReadyAction::StopDeployment))
        .map_or(0, |o| minutes(o.wait_time_in_minutes()));
    let termination = blue_green
        .and_then(BlueGreenDeploymentConfiguration::terminate_blue_instances_on_deployment_success)
        .filter(|t| wait_for_termination && t.action() != Some(&InstanceAction::KeepAlive))
        .map_or(0, |t| minutes(t.termination_wait_time_in_minutes()));
    shifting
        .saturating_add(ready)
        .saturating_add(termination)
        .saturating_mul(60)
}

/// The configuration of an ECS deployment group that names none: all traffic at once.
pub const DEFAULT_CONFIG: &str = "CodeDeployDefault.ECSAllAtOnce";

/// Why the deployment configuration `name` (GetDeploymentConfig's `info`) cannot deploy an ECS
/// service, if it cannot.
pub fn config_problem(info: &DeploymentConfigInfo, name: &str) -> Option<String> {
    match info.compute_platform() {
        Some(ComputePlatform::Ecs) => None,
        platform => Some(format!(
            "CodeDeploy deployment configuration `{name}` is for the {} compute platform, not ECS",
            platform.map_or("unknown", ComputePlatform::as_str)
        )),
    }
}

/// The routing of CodeDeploy's predefined ECS deployment configurations, so that they need no
/// GetDeploymentConfig call: the type, the interval in minutes and the percentage per step
/// (AllAtOnce: 0 minutes, 100 %).
pub fn predefined_routing(config_name: &str) -> Option<(TrafficRoutingType, u32, u32)> {
    let found = match config_name {
        "CodeDeployDefault.ECSAllAtOnce" => (TrafficRoutingType::AllAtOnce, 0, 100),
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes" => {
            (TrafficRoutingType::TimeBasedLinear, 1, 10)
        }
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes" => {
            (TrafficRoutingType::TimeBasedLinear, 3, 10)
        }
        "CodeDeployDefault.ECSCanary10Percent5Minutes" => {
            (TrafficRoutingType::TimeBasedCanary, 5, 10)
        }
        "CodeDeployDefault.ECSCanary10Percent15Minutes" => {
            (TrafficRoutingType::TimeBasedCanary, 15, 10)
        }
        _ => return None,
    };
    Some(found)
}

/// [`predefined_routing`] as the `TrafficRoutingConfig` GetDeploymentConfig would answer, for
/// [`wait_seconds`].
pub fn predefined_config(config_name: &str) -> Option<TrafficRoutingConfig> {
    let (kind, interval, percent) = predefined_routing(config_name)?;
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let config = TrafficRoutingConfig::builder().r#type(kind.clone());
    let config = match kind {
        TrafficRoutingType::TimeBasedCanary => config.time_based_canary(
            TimeBasedCanary::builder()
                .canary_interval(int(interval))
                .canary_percentage(int(percent))
                .build(),
        ),
        TrafficRoutingType::TimeBasedLinear => config.time_based_linear(
            TimeBasedLinear::builder()
                .linear_interval(int(interval))
                .linear_percentage(int(percent))
                .build(),
        ),
        _ => config,
    };
    Some(config.build())
}

/// What a rollback does with a CODE_DEPLOY item's deployment, by what CodeDeploy reports of it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeDeployRestore {
    /// Still deploying (Created, Queued, InProgress, Baking, Ready): StopDeployment with
    /// auto-rollback, and CodeDeploy shifts traffic back to the blue task set.
    Stop,
    /// Failed or stopped, and CodeDeploy rolls it back with this deployment: await that.
    AwaitRollback(String),
    /// Succeeded, unknown, or ended without a rollback: restore the recorded revision with a new
    /// deployment (the caller decides whether the service needs one).
    ByTaskDefinition,
}

/// [`CodeDeployRestore`] for the deployment CodeDeploy reports as `info` (`None`: it does not know
/// it).
pub fn restore(info: Option<&DeploymentInfo>) -> CodeDeployRestore {
    use DeploymentStatus as S;
    let Some(info) = info else {
        return CodeDeployRestore::ByTaskDefinition;
    };
    match info.status() {
        Some(s) if is_active(s) => CodeDeployRestore::Stop,
        Some(S::Failed | S::Stopped) => rollback_id(info)
            .map_or(CodeDeployRestore::ByTaskDefinition, |id| {
                CodeDeployRestore::AwaitRollback(id.to_owned())
            }),
        _ => CodeDeployRestore::ByTaskDefinition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codedeploy::types::{
        BlueInstanceTerminationOption, DeploymentReadyOption, Diagnostics, EcsService, EcsTaskSet,
        ErrorCode, ErrorInformation, LifecycleErrorCode, RollbackInfo,
    };
    use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, LoadBalancer};

    const NOW: i64 = 1_000;

    fn info(status: Option<DeploymentStatus>) -> DeploymentInfo {
        DeploymentInfo::builder()
            .deployment_id("d-OURS")
            .set_status(status)
            .build()
    }

    fn failed_info(status: DeploymentStatus, rollback: Option<&str>) -> DeploymentInfo {
        let mut builder = DeploymentInfo::builder()
            .deployment_id("d-OURS")
            .status(status)
            .error_information(
                ErrorInformation::builder()
                    .code(ErrorCode::HookExecutionFailure)
                    .message("the hook said no")
                    .build(),
            );
        if let Some(id) = rollback {
            builder = builder.rollback_info(
                RollbackInfo::builder()
                    .rollback_deployment_id(id)
                    .rollback_message("rolled back by d-BACK")
                    .build(),
            );
        }
        builder.build()
    }

    fn rollback_deployment(status: DeploymentStatus) -> DeploymentInfo {
        DeploymentInfo::builder()
            .deployment_id("d-BACK")
            .status(status)
            .creator(DeploymentCreator::CodeDeployRollback)
            .rollback_info(
                RollbackInfo::builder()
                    .rollback_triggering_deployment_id("d-OURS")
                    .build(),
            )
            .build()
    }

    fn event(name: &str, status: LifecycleEventStatus) -> LifecycleEvent {
        LifecycleEvent::builder()
            .lifecycle_event_name(name)
            .status(status)
            .build()
    }

    /// The ECS events with the ones before `at` succeeded, `at` in `status`, the rest pending.
    fn target(at: &str, status: LifecycleEventStatus, green_weight: f64) -> EcsTarget {
        const EVENTS: [&str; 8] = [
            "BeforeInstall",
            "Install",
            "AfterInstall",
            "AllowTestTraffic",
            "AfterAllowTestTraffic",
            "BeforeAllowTraffic",
            "AllowTraffic",
            "AfterAllowTraffic",
        ];
        let mut builder = EcsTarget::builder().deployment_id("d-OURS");
        let mut reached = false;
        for name in EVENTS {
            let s = if name == at {
                reached = true;
                status.clone()
            } else if reached {
                LifecycleEventStatus::Pending
            } else {
                LifecycleEventStatus::Succeeded
            };
            builder = builder.lifecycle_events(event(name, s));
        }
        builder
            .task_sets_info(
                EcsTaskSet::builder()
                    .task_set_label(TargetLabel::Blue)
                    .desired_count(2)
                    .running_count(2)
                    .traffic_weight(100.0 - green_weight)
                    .build(),
            )
            .task_sets_info(
                EcsTaskSet::builder()
                    .task_set_label(TargetLabel::Green)
                    .desired_count(2)
                    .running_count(1)
                    .traffic_weight(green_weight)
                    .build(),
            )
            .build()
    }

    fn group(platform: Option<ComputePlatform>, services: &[(&str, &str)]) -> DeploymentGroupInfo {
        let mut builder = DeploymentGroupInfo::builder()
            .application_name("app")
            .deployment_group_name("dg")
            .set_compute_platform(platform);
        for (cluster, service) in services {
            builder = builder.ecs_services(
                EcsService::builder()
                    .cluster_name(*cluster)
                    .service_name(*service)
                    .build(),
            );
        }
        builder.build()
    }

    #[test]
    fn default_names_follow_the_console_convention_with_names_not_arns() {
        let rows = [
            ("prod", "web", "AppECS-prod-web", "DgpECS-prod-web"),
            (
                "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
                "AppECS-prod-web",
                "DgpECS-prod-web",
            ),
            (
                "prod",
                "arn:aws:ecs:eu-west-1:123456789012:service/web",
                "AppECS-prod-web",
                "DgpECS-prod-web",
            ),
        ];
        for (cluster, service, app, dgp) in rows {
            assert_eq!(
                default_names(cluster, service),
                (app.to_owned(), dgp.to_owned()),
                "{cluster} {service}"
            );
        }
    }

    #[test]
    fn a_group_that_cannot_deploy_the_service_says_why() {
        let ecs = Some(ComputePlatform::Ecs);
        let ours = group(ecs.clone(), &[("prod", "api"), ("prod", "web")]);
        let elsewhere = group(ecs.clone(), &[("staging", "web"), ("prod", "api")]);
        let empty = group(ecs, &[]);
        let server = group(Some(ComputePlatform::Server), &[("prod", "web")]);
        let no_platform = group(None, &[("prod", "web")]);
        let arn_cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod";
        let arn_service = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web";
        let rows: [(Option<&DeploymentGroupInfo>, &str, &str, Option<&str>); 7] = [
            (Some(&ours), "prod", "web", None),
            (Some(&ours), arn_cluster, arn_service, None),
            (
                None,
                "prod",
                "web",
                Some(
                    "CodeDeploy deployment group `app/dg` does not exist: name it with \
                     `codeDeploy: {application, deploymentGroup}` on service `prod/web` (the \
                     default is `AppECS-prod-web/DgpECS-prod-web`), or create it",
                ),
            ),
            (
                Some(&server),
                "prod",
                "web",
                Some(
                    "CodeDeploy deployment group `app/dg` deploys to the Server compute platform, \
                     not ECS: it cannot deploy service `prod/web`",
                ),
            ),
            (
                Some(&no_platform),
                "prod",
                "web",
                Some(
                    "CodeDeploy deployment group `app/dg` deploys to the unknown compute \
                     platform, not ECS: it cannot deploy service `prod/web`",
                ),
            ),
            (
                Some(&elsewhere),
                arn_cluster,
                arn_service,
                Some(
                    "CodeDeploy deployment group `app/dg` targets `staging/web`, `prod/api`, not \
                     `prod/web`",
                ),
            ),
            (
                Some(&empty),
                "prod",
                "web",
                Some("CodeDeploy deployment group `app/dg` targets no ECS service, not `prod/web`"),
            ),
        ];
        for (found, cluster, service, want) in rows {
            assert_eq!(
                group_problem(found, "app", "dg", cluster, service).as_deref(),
                want,
                "{cluster} {service}"
            );
        }
    }

    #[test]
    fn a_group_with_an_active_deployment_is_refused() {
        let rows: [(&[&str], Option<&str>); 3] = [
            (&[], None),
            (
                &["d-X"],
                Some(
                    "CodeDeploy deployment group `app/dg` has an active deployment d-X: wait for \
                     it or stop it",
                ),
            ),
            (
                &["d-X", "d-Y"],
                Some(
                    "CodeDeploy deployment group `app/dg` has active deployments d-X, d-Y: wait \
                     for them or stop them",
                ),
            ),
        ];
        for (ids, want) in rows {
            let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(
                active_deployment_problem(&ids, "app/dg").as_deref(),
                want,
                "{ids:?}"
            );
        }
    }

    fn service(lb: Option<(Option<&str>, Option<i32>)>, full: bool) -> Service {
        let mut builder = Service::builder().service_name("web");
        if let Some((name, port)) = lb {
            builder = builder.load_balancers(
                LoadBalancer::builder()
                    .target_group_arn("arn:aws:elasticloadbalancing:tg/blue")
                    .set_container_name(name.map(str::to_owned))
                    .set_container_port(port)
                    .build(),
            );
        }
        if full {
            builder = builder
                .platform_version("1.4.0")
                .network_configuration(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            AwsVpcConfiguration::builder()
                                .subnets("subnet-a")
                                .subnets("subnet-b")
                                .security_groups("sg-1")
                                .assign_public_ip(AssignPublicIp::Disabled)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .capacity_provider_strategy(
                    CapacityProviderStrategyItem::builder()
                        .capacity_provider("FARGATE")
                        .base(1)
                        .weight(1)
                        .build()
                        .unwrap(),
                )
                .capacity_provider_strategy(
                    CapacityProviderStrategyItem::builder()
                        .capacity_provider("FARGATE_SPOT")
                        .weight(3)
                        .build()
                        .unwrap(),
                );
        }
        builder.build()
    }

    const TD: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7";

    #[test]
    fn the_app_spec_target_needs_the_load_balancer_container_and_port() {
        let rows = [
            (
                service(None, false),
                Err(
                    "service `web` has no load balancer: a CODE_DEPLOY service shifts traffic \
                     through one, with its containerName and containerPort",
                ),
            ),
            (
                service(Some((None, Some(8080))), false),
                Err("service `web`'s load balancer names no containerName: the AppSpec needs it"),
            ),
            (
                service(Some((Some(""), Some(8080))), false),
                Err("service `web`'s load balancer names no containerName: the AppSpec needs it"),
            ),
            (
                service(Some((Some("app"), None)), false),
                Err("service `web`'s load balancer names no containerPort: the AppSpec needs it"),
            ),
            (service(Some((Some("app"), Some(8080))), false), Ok(())),
        ];
        for (given, want) in rows {
            let got = app_spec_target(&given, TD);
            match want {
                Err(e) => assert_eq!(got, Err(e.to_owned())),
                Ok(()) => assert_eq!(
                    got,
                    Ok(AppSpecTarget {
                        task_definition: TD.to_owned(),
                        container_name: "app".to_owned(),
                        container_port: 8080,
                        platform_version: None,
                        network_configuration: None,
                        capacity_provider_strategy: Vec::new(),
                    })
                ),
            }
        }
        let full = app_spec_target(&service(Some((Some("app"), Some(8080))), true), TD).unwrap();
        assert_eq!(full.platform_version.as_deref(), Some("1.4.0"));
        assert!(full.network_configuration.is_some());
        assert_eq!(full.capacity_provider_strategy.len(), 2);
    }

    #[test]
    fn the_app_spec_is_exact_json_in_a_fixed_order() {
        let minimal =
            app_spec_target(&service(Some((Some("app"), Some(8080))), false), TD).unwrap();
        assert_eq!(
            app_spec(&minimal, &BTreeMap::new()),
            r#"{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7","LoadBalancerInfo":{"ContainerName":"app","ContainerPort":8080}}}}]}"#
        );

        let full = app_spec_target(&service(Some((Some("app"), Some(8080))), true), TD).unwrap();
        // Named out of lifecycle order: they come out in it.
        let hooks: BTreeMap<String, String> = [
            ("AfterAllowTraffic", "smoke"),
            ("BeforeInstall", "prepare"),
            ("AfterAllowTestTraffic", "test"),
        ]
        .into_iter()
        .map(|(e, f)| (e.to_owned(), f.to_owned()))
        .collect();
        assert_eq!(
            app_spec(&full, &hooks),
            concat!(
                r#"{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","#,
                r#""Properties":{"TaskDefinition":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7","#,
                r#""LoadBalancerInfo":{"ContainerName":"app","ContainerPort":8080},"#,
                r#""PlatformVersion":"1.4.0","#,
                r#""NetworkConfiguration":{"AwsvpcConfiguration":{"Subnets":["subnet-a","subnet-b"],"#,
                r#""SecurityGroups":["sg-1"],"AssignPublicIp":"DISABLED"}},"#,
                r#""CapacityProviderStrategy":[{"Base":1,"CapacityProvider":"FARGATE","Weight":1},"#,
                r#"{"Base":0,"CapacityProvider":"FARGATE_SPOT","Weight":3}]}}}],"#,
                r#""Hooks":[{"BeforeInstall":"prepare"},{"AfterAllowTestTraffic":"test"},"#,
                r#"{"AfterAllowTraffic":"smoke"}]}"#
            )
        );
        // It is JSON CodeDeploy can read.
        let parsed: Value = serde_json::from_str(&app_spec(&full, &hooks)).unwrap();
        assert_eq!(parsed["version"], json!(0.0));
    }

    #[test]
    fn hooks_come_out_in_lifecycle_order_and_an_unknown_one_last() {
        let target = app_spec_target(&service(Some((Some("app"), Some(80))), false), TD).unwrap();
        let all: BTreeMap<String, String> = HOOK_EVENTS
            .iter()
            .rev()
            .chain(["Install"].iter())
            .map(|e| ((*e).to_owned(), format!("fn-{e}")))
            .collect();
        let spec: Value = serde_json::from_str(&app_spec(&target, &all)).unwrap();
        let order: Vec<String> = spec["Hooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_object().unwrap().keys().next().unwrap().clone())
            .collect();
        let mut want: Vec<String> = HOOK_EVENTS.iter().map(|e| (*e).to_owned()).collect();
        want.push("Install".to_owned());
        assert_eq!(order, want);
    }

    #[test]
    fn the_description_is_at_most_512_bytes_cut_on_a_char_boundary() {
        assert_eq!(description("r-1", "web"), "convoy release r-1: web");
        // "convoy release r: " is 18 bytes; 493 ASCII bytes reach 511, then a 2-byte "é" ends
        // at 513: it is dropped whole.
        let item = format!("{}é", "a".repeat(493));
        let cut = description("r", &item);
        assert_eq!(cut.len(), 511);
        assert!(cut.ends_with('a'));
        // Exactly 512 bytes: kept.
        let item = format!("{}é", "a".repeat(492));
        let kept = description("r", &item);
        assert_eq!(kept.len(), 512);
        assert!(kept.ends_with('é'));
        // A 4-byte char across the boundary.
        let item = format!("{}🚀", "a".repeat(492));
        assert_eq!(description("r", &item).len(), 510);
    }

    #[test]
    fn a_deployment_is_ours_when_its_description_is_exactly_ours() {
        let with = |d: Option<&str>| {
            DeploymentInfo::builder()
                .deployment_id("d-X")
                .set_description(d.map(str::to_owned))
                .build()
        };
        let long = "x".repeat(600);
        let rows = [
            (with(Some("convoy release r-1: web")), "r-1", "web", true),
            (with(Some("convoy release r-1: web")), "r-1", "api", false),
            (with(Some("convoy release r-1: web")), "r-2", "web", false),
            (with(Some("convoy release r-1: web ")), "r-1", "web", false),
            (with(None), "r-1", "web", false),
            (with(Some(&description("r-1", &long))), "r-1", &long, true),
        ];
        for (info, release, item, want) in rows {
            assert_eq!(
                is_ours(&info, release, item),
                want,
                "{:?}",
                info.description()
            );
        }
    }

    #[test]
    fn every_status_means_what_the_item_awaits() {
        use DeploymentStatus as S;
        use Outcome::*;
        let rows = [
            (S::Created, Awaited::Finished, InProgress),
            (S::Queued, Awaited::Finished, InProgress),
            (S::InProgress, Awaited::Finished, InProgress),
            (S::Baking, Awaited::Finished, InProgress),
            (S::Ready, Awaited::Finished, InProgress),
            (S::Succeeded, Awaited::Finished, Succeeded),
            (S::Failed, Awaited::Finished, Failed),
            (S::Stopped, Awaited::Finished, Failed),
            (S::from("SomethingNew"), Awaited::Finished, Failed),
            (S::Created, Awaited::RolledBack, InProgress),
            (S::Queued, Awaited::RolledBack, InProgress),
            (S::InProgress, Awaited::RolledBack, InProgress),
            (S::Baking, Awaited::RolledBack, InProgress),
            (S::Ready, Awaited::RolledBack, InProgress),
            (S::Succeeded, Awaited::RolledBack, Succeeded),
            (S::Failed, Awaited::RolledBack, Failed),
            (S::Stopped, Awaited::RolledBack, Failed),
            (S::from("SomethingNew"), Awaited::RolledBack, Failed),
        ];
        for (status, awaits, want) in rows {
            let given = match awaits {
                Awaited::Finished => info(Some(status.clone())),
                Awaited::RolledBack => rollback_deployment(status.clone()),
            };
            // In time, and past the deadline: only what still moves times out.
            let (got, reason) = judge(Some(&given), None, true, awaits, NOW, NOW);
            assert_eq!(got, want, "{status:?} {awaits:?}: {reason}");
            let (late, reason) = judge(Some(&given), None, true, awaits, NOW - 30, NOW);
            let want_late = if want == InProgress { TimedOut } else { want };
            assert_eq!(late, want_late, "{status:?} {awaits:?} late: {reason}");
            if late == TimedOut {
                assert!(reason.starts_with("deadline passed 30 s ago: "), "{reason}");
            }
        }
    }

    #[test]
    fn the_reasons_name_the_status_the_event_and_the_errors() {
        use LifecycleEventStatus as E;
        let running = target("AllowTraffic", E::InProgress, 10.0);
        let mut failing = target("AfterAllowTestTraffic", E::InProgress, 0.0);
        failing.lifecycle_events = Some(
            failing
                .lifecycle_events()
                .iter()
                .map(|e| {
                    if e.lifecycle_event_name() == Some("AfterAllowTestTraffic") {
                        LifecycleEvent::builder()
                            .lifecycle_event_name("AfterAllowTestTraffic")
                            .status(E::Failed)
                            .diagnostics(
                                Diagnostics::builder()
                                    .error_code(LifecycleErrorCode::ScriptFailed)
                                    .message("smoke test: 500")
                                    .build(),
                            )
                            .build()
                    } else {
                        e.clone()
                    }
                })
                .collect(),
        );
        let ready = target("AllowTestTraffic", E::Pending, 0.0);
        let ours = |s: DeploymentStatus| info(Some(s));
        let rows: Vec<(DeploymentInfo, Option<&EcsTarget>, Awaited, &str)> = vec![
            (
                ours(DeploymentStatus::InProgress),
                Some(&running),
                Awaited::Finished,
                "CodeDeploy deployment d-OURS InProgress at AllowTraffic (InProgress), green task \
                 set 1/2 running, 10 % of production traffic",
            ),
            (
                ours(DeploymentStatus::Created),
                None,
                Awaited::Finished,
                "CodeDeploy deployment d-OURS Created",
            ),
            (
                ours(DeploymentStatus::Ready),
                Some(&ready),
                Awaited::Finished,
                "CodeDeploy deployment d-OURS Ready at AllowTestTraffic (Pending), green task set \
                 1/2 running, 0 % of production traffic: the green task set is ready and waits \
                 for ContinueDeployment (the group's deploymentReadyOption)",
            ),
            (
                failed_info(DeploymentStatus::Failed, Some("d-BACK")),
                Some(&failing),
                Awaited::Finished,
                "CodeDeploy deployment d-OURS Failed: HOOK_EXECUTION_FAILURE: the hook said no; \
                 lifecycle event AfterAllowTestTraffic failed: ScriptFailed: smoke test: 500; \
                 rollback: rolled back by d-BACK",
            ),
            (
                DeploymentInfo::builder()
                    .deployment_id("d-OURS")
                    .status(DeploymentStatus::Stopped)
                    .build(),
                None,
                Awaited::Finished,
                "CodeDeploy deployment d-OURS Stopped: no error information",
            ),
            (
                ours(DeploymentStatus::Succeeded),
                None,
                Awaited::Finished,
                "CodeDeploy deployment d-OURS Succeeded",
            ),
            (
                ours(DeploymentStatus::from("SomethingNew")),
                None,
                Awaited::Finished,
                "CodeDeploy deployment d-OURS has status SomethingNew, unknown to this build",
            ),
            (
                rollback_deployment(DeploymentStatus::Succeeded),
                None,
                Awaited::RolledBack,
                "CodeDeploy rollback deployment d-BACK Succeeded: production traffic is back on \
                 the original task set",
            ),
            // Not a rollback deployment: what succeeded is the release's own revision.
            (
                ours(DeploymentStatus::Succeeded),
                None,
                Awaited::RolledBack,
                "CodeDeploy deployment d-OURS Succeeded: it is not a rollback, nothing was rolled \
                 back",
            ),
            // Ours, stopped: the caller awaits its rollback deployment instead.
            (
                failed_info(DeploymentStatus::Stopped, Some("d-BACK")),
                None,
                Awaited::RolledBack,
                "CodeDeploy deployment d-OURS Stopped: HOOK_EXECUTION_FAILURE: the hook said no; \
                 rollback: rolled back by d-BACK (its rollback is deployment d-BACK: await that)",
            ),
        ];
        for (given, target, awaits, want) in rows {
            let (_, reason) = judge(Some(&given), target, true, awaits, NOW, NOW);
            assert_eq!(reason, want);
        }
        assert_eq!(
            judge(None, None, false, Awaited::Finished, NOW, NOW),
            (
                Outcome::Failed,
                "the CodeDeploy deployment is missing: BatchGetDeployments does not know it"
                    .to_owned()
            )
        );
    }

    #[test]
    fn shifted_traffic_is_done_unless_the_item_waits_for_the_blue_task_set_to_go() {
        use DeploymentStatus as S;
        use LifecycleEventStatus as E;
        let shifted = target("AfterAllowTraffic", E::Succeeded, 100.0);
        let hook_running = target("AfterAllowTraffic", E::InProgress, 100.0);
        // No AfterAllowTraffic event: AllowTraffic tells.
        let without_hook = |status: E| {
            let mut t = target("AllowTraffic", status, 100.0);
            t.lifecycle_events = Some(
                t.lifecycle_events()
                    .iter()
                    .filter(|e| e.lifecycle_event_name() != Some("AfterAllowTraffic"))
                    .cloned()
                    .collect(),
            );
            t
        };
        let allow_done = without_hook(E::Succeeded);
        let allow_running = without_hook(E::InProgress);
        let mut other = shifted.clone();
        other.deployment_id = Some("d-OTHER".to_owned());
        let waiting = DeploymentInfo::builder()
            .deployment_id("d-OURS")
            .status(S::InProgress)
            .instance_termination_wait_time_started(true)
            .build();
        let rows: Vec<(DeploymentInfo, Option<&EcsTarget>, bool, Outcome)> = vec![
            (
                info(Some(S::InProgress)),
                Some(&shifted),
                false,
                Outcome::Succeeded,
            ),
            (
                info(Some(S::InProgress)),
                Some(&shifted),
                true,
                Outcome::InProgress,
            ),
            (
                info(Some(S::Baking)),
                Some(&shifted),
                false,
                Outcome::Succeeded,
            ),
            (
                info(Some(S::InProgress)),
                Some(&hook_running),
                false,
                Outcome::InProgress,
            ),
            (
                info(Some(S::InProgress)),
                Some(&allow_done),
                false,
                Outcome::Succeeded,
            ),
            (
                info(Some(S::InProgress)),
                Some(&allow_running),
                false,
                Outcome::InProgress,
            ),
            (info(Some(S::InProgress)), None, false, Outcome::InProgress),
            // Another deployment's target says nothing about ours.
            (
                info(Some(S::InProgress)),
                Some(&other),
                false,
                Outcome::InProgress,
            ),
            (waiting.clone(), None, false, Outcome::Succeeded),
            (waiting, None, true, Outcome::InProgress),
        ];
        for (given, target, wait, want) in rows {
            let (got, reason) = judge(Some(&given), target, wait, Awaited::Finished, NOW, NOW);
            assert_eq!(got, want, "{wait} {reason}");
        }
        let (_, reason) = judge(
            Some(&info(Some(S::InProgress))),
            Some(&shifted),
            false,
            Awaited::Finished,
            NOW,
            NOW,
        );
        assert_eq!(
            reason,
            "CodeDeploy deployment d-OURS InProgress, every lifecycle event done, green task set \
             1/2 running, 100 % of production traffic: production traffic shifted; the blue task \
             set is terminated after the wait"
        );
    }

    fn linear(percent: i32, interval: i32) -> TrafficRoutingConfig {
        TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedLinear)
            .time_based_linear(
                TimeBasedLinear::builder()
                    .linear_percentage(percent)
                    .linear_interval(interval)
                    .build(),
            )
            .build()
    }

    fn canary(percent: i32, interval: i32) -> TrafficRoutingConfig {
        TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedCanary)
            .time_based_canary(
                TimeBasedCanary::builder()
                    .canary_percentage(percent)
                    .canary_interval(interval)
                    .build(),
            )
            .build()
    }

    fn blue_green(
        ready: Option<(DeploymentReadyAction, i32)>,
        termination: Option<(InstanceAction, i32)>,
    ) -> BlueGreenDeploymentConfiguration {
        BlueGreenDeploymentConfiguration::builder()
            .set_deployment_ready_option(ready.map(|(action, minutes)| {
                DeploymentReadyOption::builder()
                    .action_on_timeout(action)
                    .wait_time_in_minutes(minutes)
                    .build()
            }))
            .set_terminate_blue_instances_on_deployment_success(termination.map(
                |(action, minutes)| {
                    BlueInstanceTerminationOption::builder()
                        .action(action)
                        .termination_wait_time_in_minutes(minutes)
                        .build()
                },
            ))
            .build()
    }

    #[test]
    fn a_linear_shift_waits_between_its_steps() {
        let rows = [
            (10, 9),
            (33, 3),
            (25, 3),
            (50, 1),
            (100, 0),
            (3, 33),
            (1, 99),
            (0, 0),
            (-5, 0),
        ];
        for (percent, intervals) in rows {
            assert_eq!(
                wait_seconds(Some(&linear(percent, 1)), None, false),
                intervals * 60,
                "{percent} %"
            );
        }
        assert_eq!(linear_steps(Percent(10.0)), 10);
        assert_eq!(linear_steps(Percent(33.0)), 4);
    }

    #[test]
    fn the_wait_adds_the_shift_the_ready_wait_and_the_termination_wait_when_awaited() {
        use DeploymentReadyAction as R;
        use InstanceAction as I;
        let all_at_once = TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::AllAtOnce)
            .build();
        let both = blue_green(Some((R::StopDeployment, 30)), Some((I::Terminate, 60)));
        let go_on = blue_green(Some((R::ContinueDeployment, 0)), Some((I::Terminate, 5)));
        let keep = blue_green(None, Some((I::KeepAlive, 5)));
        let canary_15 = canary(10, 15);
        let canary_5 = canary(10, 5);
        let linear_10_3 = linear(10, 3);
        let negative = canary(10, -1);
        // A type without its details.
        let bare = TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedCanary)
            .build();
        let rows: Vec<(
            Option<&TrafficRoutingConfig>,
            Option<&BlueGreenDeploymentConfiguration>,
            bool,
            u32,
        )> = vec![
            (None, None, true, 0),
            (Some(&all_at_once), None, true, 0),
            (Some(&canary_5), None, false, 300),
            (Some(&linear_10_3), None, false, 27 * 60),
            (Some(&canary_15), Some(&both), false, (15 + 30) * 60),
            (Some(&canary_15), Some(&both), true, (15 + 30 + 60) * 60),
            (Some(&all_at_once), Some(&go_on), false, 0),
            (Some(&all_at_once), Some(&go_on), true, 300),
            (Some(&all_at_once), Some(&keep), true, 0),
            (Some(&negative), None, false, 0),
            (Some(&bare), None, false, 0),
        ];
        for (routing, bg, wait, want) in rows {
            assert_eq!(
                wait_seconds(routing, bg, wait),
                want,
                "{routing:?} {bg:?} {wait}"
            );
        }
    }

    #[test]
    fn the_predefined_ecs_configurations_need_no_lookup() {
        use TrafficRoutingType as T;
        let rows = [
            (
                "CodeDeployDefault.ECSAllAtOnce",
                Some((T::AllAtOnce, 0, 100)),
                0,
            ),
            (
                "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
                Some((T::TimeBasedLinear, 1, 10)),
                540,
            ),
            (
                "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
                Some((T::TimeBasedLinear, 3, 10)),
                1_620,
            ),
            (
                "CodeDeployDefault.ECSCanary10Percent5Minutes",
                Some((T::TimeBasedCanary, 5, 10)),
                300,
            ),
            (
                "CodeDeployDefault.ECSCanary10Percent15Minutes",
                Some((T::TimeBasedCanary, 15, 10)),
                900,
            ),
            ("CodeDeployDefault.AllAtOnce", None, 0),
            ("my-config", None, 0),
        ];
        for (name, want, seconds) in rows {
            assert_eq!(predefined_routing(name), want, "{name}");
            let config = predefined_config(name);
            assert_eq!(config.is_some(), want.is_some(), "{name}");
            assert_eq!(wait_seconds(config.as_ref(), None, true), seconds, "{name}");
        }
    }

    #[test]
    fn a_rollback_stops_what_still_deploys_and_awaits_what_codedeploy_rolls_back() {
        use DeploymentStatus as S;
        let rows = [
            (Some(info(Some(S::Created))), CodeDeployRestore::Stop),
            (Some(info(Some(S::Queued))), CodeDeployRestore::Stop),
            (Some(info(Some(S::InProgress))), CodeDeployRestore::Stop),
            (Some(info(Some(S::Baking))), CodeDeployRestore::Stop),
            (Some(info(Some(S::Ready))), CodeDeployRestore::Stop),
            (
                Some(failed_info(S::Failed, Some("d-BACK"))),
                CodeDeployRestore::AwaitRollback("d-BACK".to_owned()),
            ),
            (
                Some(failed_info(S::Stopped, Some("d-BACK"))),
                CodeDeployRestore::AwaitRollback("d-BACK".to_owned()),
            ),
            (
                Some(failed_info(S::Failed, None)),
                CodeDeployRestore::ByTaskDefinition,
            ),
            (
                Some(failed_info(S::Stopped, Some(""))),
                CodeDeployRestore::ByTaskDefinition,
            ),
            (
                Some(info(Some(S::Succeeded))),
                CodeDeployRestore::ByTaskDefinition,
            ),
            (
                Some(info(Some(S::from("SomethingNew")))),
                CodeDeployRestore::ByTaskDefinition,
            ),
            (Some(info(None)), CodeDeployRestore::ByTaskDefinition),
            (None, CodeDeployRestore::ByTaskDefinition),
        ];
        for (given, want) in rows {
            assert_eq!(restore(given.as_ref()), want, "{given:?}");
        }
    }

    #[test]
    fn the_rollback_id_is_another_deployment() {
        assert_eq!(
            rollback_id(&failed_info(DeploymentStatus::Failed, Some("d-BACK"))),
            Some("d-BACK")
        );
        assert_eq!(
            rollback_id(&failed_info(DeploymentStatus::Failed, Some("d-OURS"))),
            None
        );
        assert_eq!(rollback_id(&info(Some(DeploymentStatus::Failed))), None);
    }
}
