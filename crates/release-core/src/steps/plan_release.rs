//! plan-release: re-validate the release, pre-flight it against AWS without changing anything, and
//! record what each item runs now. Every problem is collected and reported at once.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{Cluster, Service};
use futures::stream::{self, StreamExt};
use tracing::{info, info_span, Instrument};

use crate::aws::locks::{Executions, LockStore};
use crate::aws::{CodeDeployApi, EcsApi, EventsApi, Found, ObjectStore, ScalingApi, SchedulerApi};
use crate::contract::{
    count, CodeDeployTarget, JobTarget, Plan, PlanRequest, PlannedRelease, Records, ReleaseInput,
    RuleTarget, ScheduleTarget, ServiceItem, ServiceTarget, RELEASE_STARTED,
};
use crate::decide::batches;
use crate::decide::codedeploy;
use crate::decide::manifest::arn::Home;
use crate::decide::manifest::{check_input, normalized};
use crate::decide::preflight::{
    aborts_plan, controller_problems, ecs_targets, is_code_deploy, job_label, job_launch,
    schedule_label, service_label, service_problem, task_label, Findings, JobFacts, Reach,
    RuleFacts, ScheduleFacts, ServiceFact, ServiceFacts,
};
use crate::decide::release_event::{error_problems, started, Rejected};
use crate::decide::strategy::waiting_fits;
use crate::decide::{job, scaling, schedule};
use crate::error::with_causes;
use crate::records::{RecordStore, BUCKET_VAR};
use crate::steps::release_events::{self, announce, timing, Rejection};
use crate::steps::{ledger, lock, release_ref, unix_now};
use crate::Error;

/// DescribeTaskDefinition calls in flight during pre-flight: well inside ECS's describe rate, and
/// the SDK retries what gets throttled.
const DESCRIBE_CONCURRENCY: usize = 8;

/// Validates `input`, checks every cluster, service, rule, target, task definition and container
/// against AWS, the CodeDeploy group of every changed CODE_DEPLOY service, and the roles the
/// release would pass against `reach`, and returns the plan. Read-only: nothing is registered or
/// updated. Clusters and services named by ARN are planned by name (one item however it is named),
/// once the ARN is of `reach`'s account and region.
pub async fn plan<E: EcsApi, V: EventsApi, C: CodeDeployApi, S: SchedulerApi>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &S,
    input: ReleaseInput,
    reach: &Reach,
) -> Result<Plan, Error> {
    let problems = check_input(&input);
    if !problems.is_empty() {
        return Err(Error::ManifestInvalid(problems));
    }
    let input = normalized(input, &reach.home).map_err(Error::PreflightFailed)?;
    let span = info_span!("plan", release_id = %input.release.id);
    async {
        let mut preflight = Findings::within(input.release.source.clone(), reach.clone());
        let services = describe_services(&mut preflight, ecs, &input.services).await?;
        let rules = describe_rules(&mut preflight, events, &input.tasks).await?;
        let schedules = describe_schedules(&mut preflight, scheduler, &input.schedules).await?;
        let jobs = describe_jobs(&mut preflight, ecs, &input.jobs).await?;
        describe_definitions(&mut preflight, ecs).await?;
        let code_deploy = code_deploy_ids(&input.services, &services);
        let mut services = preflight.service_items(&input.services, services);
        let deployed_by_codedeploy = services
            .iter_mut()
            .filter(|s| !s.noop && code_deploy.contains(&s.id));
        resolve_code_deploy(
            &mut preflight,
            codedeploy,
            &input.services,
            deployed_by_codedeploy,
        )
        .await?;
        let tasks = preflight.rule_items(&input.tasks, rules);
        let schedules = preflight.schedule_items(&input.schedules, schedules);
        let jobs = preflight.job_items(&input.jobs, jobs);
        if !preflight.problems.is_empty() {
            return Err(Error::PreflightFailed(preflight.problems));
        }
        let changed_services = count(services.iter().filter(|s| !s.noop));
        let changed_tasks = count(tasks.iter().filter(|t| !t.noop));
        info!(
            services = services.len(),
            changed_services,
            tasks = tasks.len(),
            changed_tasks,
            schedules = schedules.len(),
            jobs = jobs.len(),
            "planned"
        );
        let mut plan = Plan {
            release: input.release.clone(),
            settings: input.settings.clone(),
            services,
            tasks,
            changed_services,
            changed_tasks,
            schedules,
            jobs,
            problems: Vec::new(),
        };
        crate::decide::waves::number_plan_waves(&mut plan, &input);
        for warning in job::plan_warnings(&plan) {
            tracing::warn!(%warning, "plan");
        }
        Ok(plan)
    }
    .instrument(span)
    .await
}

/// Where plan-release keeps what it decides, and who it is.
pub struct PlanContext<'a, S, L, X, A> {
    pub store: &'a RecordStore<S>,
    /// The release locks (the records bucket, through S3's conditional writes).
    pub locks: &'a L,
    /// Asked whether a lock's holder still runs.
    pub executions: &'a X,
    /// The function's `CONVOY_RECORDS_BUCKET`.
    pub bucket: Option<&'a str>,
    /// The function's `CONVOY_PASSABLE_ROLE_ARNS`: the roles the release may pass; `None` checks none.
    pub passable_roles: Option<&'a [String]>,
    /// The account's ECS rates the batches' shares divide.
    pub rates: batches::AccountRates,
    /// The function's `CONVOY_RELEASE_EVENT_BUS`: where the Started event, or the Finished event
    /// of a rejected release, goes; `None` puts none.
    pub event_bus: Option<&'a str>,
    /// Application Auto Scaling: the scalable targets of the services the release holds still.
    pub scaling: &'a A,
}

/// plan-release: the release (read back first when the execution input is a reference,
/// [`release_ref::resolve`]), [`plan`], then the lock of every item the plan changes ([`lock::acquire`]: a
/// release another running release overlaps is refused with `ReleaseLocked`), then the plan
/// recorded under the execution's prefix with its changed items cut into batches (one wave,
/// [`batches::layout`]), then the release's ledger entries (best effort: the ledger never fails a
/// release). Nothing is written when the release is rejected, and the locks
/// are given back when the plan cannot be recorded.
pub async fn plan_release<E: EcsApi, V: EventsApi, C: CodeDeployApi, S: SchedulerApi>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &S,
    context: PlanContext<'_, impl ObjectStore, impl LockStore, impl Executions, impl ScalingApi>,
    request: PlanRequest,
) -> Result<PlannedRelease, Error> {
    let event_bus = context.event_bus;
    let resolved = match context.bucket.filter(|b| !b.is_empty()) {
        None => Err(Error::internal(format!(
            "{BUCKET_VAR} is not set: plan-release has nowhere to record the release"
        ))),
        // A release started by reference is read from the records bucket, and only from there.
        Some(bucket) => {
            release_ref::resolve(context.store.objects(), bucket, request.release.clone()).await
        }
    };
    let release = match resolved {
        Ok(release) => release,
        Err(e) => {
            let who = Rejected::Unread {
                release_id: &request.execution_name,
            };
            announce_rejection(events, event_bus, who, &request, &e).await;
            return Err(e);
        }
    };
    let meta = release.release.clone();
    let policy = release.settings.rollback;
    let planned = plan_and_record(
        ecs, events, codedeploy, scheduler, context, &request, release,
    )
    .await;
    if let Err(e) = &planned {
        let who = Rejected::Release {
            release: &meta,
            policy,
        };
        announce_rejection(events, event_bus, who, &request, e).await;
    }
    planned
}

/// Puts the Finished event of a release plan-release rejects. Not for an error the state machine
/// retries: that is no rejection yet (the watchdog announces one that ends so).
async fn announce_rejection(
    events: &impl EventsApi,
    event_bus: Option<&str>,
    who: Rejected<'_>,
    request: &PlanRequest,
    e: &Error,
) {
    if Error::RETRYABLE.contains(&e.name()) {
        return;
    }
    let rejection = Rejection {
        who,
        execution_arn: &request.execution_arn,
        error: e.name(),
        problems: &error_problems(e),
        timing: timing(request.started_at.as_deref()),
    };
    release_events::announce_rejection(events, event_bus, rejection).await;
}

/// [`plan_release`] of a release read: plan, lock, announce, record.
async fn plan_and_record<E: EcsApi, V: EventsApi, C: CodeDeployApi, S: SchedulerApi>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &S,
    context: PlanContext<'_, impl ObjectStore, impl LockStore, impl Executions, impl ScalingApi>,
    request: &PlanRequest,
    release: ReleaseInput,
) -> Result<PlannedRelease, Error> {
    let bucket = context.bucket.unwrap_or_default();
    // The functions run in the execution's account and region.
    let reach = Reach {
        home: Home::of_arn(&request.execution_arn),
        passable_roles: context.passable_roles.map(<[String]>::to_vec),
    };
    let held = scaling::held(&release);
    let mut plan = plan(ecs, events, codedeploy, scheduler, release, &reach).await?;
    crate::steps::scaling::preflight(context.scaling, &mut plan, &held).await?;
    let owner = lock::Owner {
        release_id: plan.release.id.clone(),
        execution_arn: request.execution_arn.clone(),
    };
    let taken = lock::acquire(
        context.locks,
        context.executions,
        bucket,
        &owner,
        &plan,
        unix_now(),
    )
    .await?;
    let records = Records::for_execution(bucket, &plan.release.id, &request.execution_name);
    let layouts = batches::wave_layouts(&plan, plan.settings.max_concurrency, context.rates);
    // Put before the plan is written, so that a problem putting it is in the plan (and the
    // report); a plan that then cannot be written is a rejection, announced as one.
    let timing = timing(request.started_at.as_deref());
    let detail = started(&plan, &request.execution_arn, timing);
    if let Err(problem) = announce(events, context.event_bus, RELEASE_STARTED, &detail).await {
        plan.problems.push(problem);
    }
    let written = async {
        for (wave, layout) in (0_u32..).zip(&layouts) {
            context.store.write_layout(&records, wave, layout).await?;
        }
        context.store.write_plan(&records, plan).await
    };
    match written.await {
        Ok(plan) => {
            ledger::record_or_warn(
                context.store.objects(),
                &records,
                &request.execution_arn,
                &plan,
                None,
                ledger::now_millis(),
            )
            .await;
            Ok(plan.planned(records))
        }
        Err(e) => {
            lock::give_back(context.locks, bucket, &owner, &taken).await;
            Err(e)
        }
    }
}

/// Clusters (batched) and services (batched per cluster): the task definition each runs.
async fn describe_services<E: EcsApi>(
    findings: &mut Findings,
    ecs: &E,
    targets: &[ServiceTarget],
) -> Result<ServiceFacts, Error> {
    let mut facts = vec![None; targets.len()];
    if targets.is_empty() {
        return Ok(facts);
    }
    let clusters: Vec<String> = targets
        .iter()
        .map(|t| t.cluster.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = ecs.describe_clusters(&clusters).await?;
    let active: BTreeSet<&str> = found
        .items
        .iter()
        .filter(|c| c.status() == Some("ACTIVE"))
        .filter_map(|c| c.cluster_name())
        .collect();
    let mut by_cluster: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, target) in targets.iter().enumerate() {
        if active.contains(target.cluster.as_str()) {
            by_cluster.entry(&target.cluster).or_default().push(i);
            continue;
        }
        let message = inactive_cluster(&found, &target.cluster).unwrap_or_default();
        findings.problem(&service_label(i, target), "cluster", message);
    }
    for (cluster, indexes) in by_cluster {
        let names: Vec<String> = indexes
            .iter()
            .map(|&i| targets[i].service.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found = match ecs.describe_services(cluster, &names).await {
            Ok(found) => found,
            Err(e) if aborts_plan(&e) => return Err(e),
            Err(e) => {
                for &i in &indexes {
                    findings.problem(&service_label(i, &targets[i]), "service", with_causes(&e));
                }
                continue;
            }
        };
        for i in indexes {
            let target = &targets[i];
            let label = service_label(i, target);
            let service = found
                .items
                .iter()
                .find(|s| s.service_name() == Some(target.service.as_str()));
            let Some(service) = service else {
                let reason = found
                    .failures
                    .iter()
                    .find(|f| {
                        f.arn()
                            .is_some_and(|a| a.ends_with(&format!("/{}", target.service)))
                    })
                    .and_then(|f| f.reason())
                    .unwrap_or("MISSING");
                let message = format!(
                    "service `{}` not found in cluster `{cluster}` ({reason})",
                    target.service
                );
                findings.problem(&label, "service", message);
                continue;
            };
            if let Some(message) = service_problem(service) {
                findings.problem(&label, "service", message);
                continue;
            }
            let misfits = controller_problems(service, target);
            // CodeDeploy shifts traffic through the load balancer the AppSpec names.
            let no_load_balancer = is_code_deploy(service)
                .then(|| codedeploy::load_balancer(service).err())
                .flatten();
            if !misfits.is_empty() || no_load_balancer.is_some() {
                for (field, message) in misfits {
                    findings.problem(&label, field, message);
                }
                if let Some(message) = no_load_balancer {
                    findings.problem(&label, "service", message);
                }
                continue;
            }
            let fact = ServiceFact::of(service);
            findings.wants(&fact.task_definition);
            facts[i] = Some(fact);
        }
    }
    Ok(facts)
}

/// Each schedule exists (GetSchedule) and runs an ECS task: the task definition it runs, noted to
/// describe, and its target's role checked as one the release may pass again.
async fn describe_schedules<S: SchedulerApi>(
    findings: &mut Findings,
    scheduler: &S,
    targets: &[ScheduleTarget],
) -> Result<ScheduleFacts, Error> {
    let mut facts = Vec::with_capacity(targets.len());
    for (i, target) in targets.iter().enumerate() {
        let label = schedule_label(i, target);
        let found = match scheduler
            .get_schedule(&target.group, &target.schedule)
            .await
        {
            Ok(found) => found,
            Err(e) if aborts_plan(&e) => return Err(e),
            Err(e) => {
                findings.problem(&label, "scheduleName", with_causes(&e));
                facts.push(None);
                continue;
            }
        };
        let Some(found) = found else {
            let message = format!(
                "schedule `{}` not found in schedule group `{}`",
                target.schedule, target.group
            );
            findings.problem(&label, "scheduleName", message);
            facts.push(None);
            continue;
        };
        match schedule::ecs_task_definition(&found) {
            Ok(definition) => {
                if let Some(role) = found.target().map(|t| t.role_arn()) {
                    findings.check_schedule_role(&label, role);
                }
                findings.wants(definition);
                facts.push(Some(definition.to_owned()));
            }
            Err(message) => {
                findings.problem(&label, "scheduleName", message);
                facts.push(None);
            }
        }
    }
    Ok(facts)
}

/// Each job's cluster is ACTIVE and its `networkFrom` service exists with an awsvpc network (one
/// DescribeServices per service named); its family is noted to describe. Per job, how its task is
/// launched, or `None` with the problem recorded.
async fn describe_jobs<E: EcsApi>(
    findings: &mut Findings,
    ecs: &E,
    targets: &[JobTarget],
) -> Result<JobFacts, Error> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let clusters: Vec<String> = targets
        .iter()
        .map(|t| t.cluster.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = ecs.describe_clusters(&clusters).await?;
    let mut lenders: BTreeMap<&str, Result<Option<Service>, String>> = BTreeMap::new();
    let mut facts = Vec::with_capacity(targets.len());
    for (i, target) in targets.iter().enumerate() {
        let label = job_label(i, target);
        if let Some(message) = inactive_cluster(&found, &target.cluster) {
            findings.problem(&label, "cluster", message);
            facts.push(None);
            continue;
        }
        let from = match target.launch.network_from.as_deref() {
            None => None,
            Some(name) => {
                if !lenders.contains_key(name) {
                    let lender = lending_service(ecs, name).await?;
                    lenders.insert(name, lender);
                }
                match &lenders[name] {
                    Ok(Some(service)) => Some(service),
                    Ok(None) => {
                        let message = format!("service `{name}` not found");
                        findings.problem(&label, "networkFrom", message);
                        facts.push(None);
                        continue;
                    }
                    Err(message) => {
                        findings.problem(&label, "networkFrom", message.clone());
                        facts.push(None);
                        continue;
                    }
                }
            }
        };
        match job_launch(target, from) {
            Ok(launch) => {
                findings.wants(&target.task_definition);
                facts.push(Some(launch));
            }
            Err(message) => {
                findings.problem(&label, "networkFrom", message);
                facts.push(None);
            }
        }
    }
    Ok(facts)
}

/// Why `cluster` cannot be released to, as DescribeClusters `found` it: not ACTIVE, or missing.
fn inactive_cluster(found: &Found<Cluster>, cluster: &str) -> Option<String> {
    let status = found
        .items
        .iter()
        .find(|c| c.cluster_name() == Some(cluster))
        .and_then(|c| c.status());
    match status {
        Some("ACTIVE") => None,
        Some(status) => Some(format!("cluster `{cluster}` is {status}, not ACTIVE")),
        None => Some(format!("cluster `{cluster}` not found")),
    }
}

/// The service `cluster/service` a job's network comes from; `Ok(None)` when it does not exist,
/// `Err` with why it could not be described.
async fn lending_service<E: EcsApi>(
    ecs: &E,
    name: &str,
) -> Result<Result<Option<Service>, String>, Error> {
    let Some((cluster, service)) = name.split_once('/') else {
        return Ok(Err(format!("`{name}` is not `cluster/service`")));
    };
    match ecs.describe_services(cluster, &[service.to_owned()]).await {
        Ok(found) => Ok(Ok(found.items.into_iter().find(|s| {
            s.service_name() == Some(service) && s.status() == Some("ACTIVE")
        }))),
        Err(e) if aborts_plan(&e) => Err(e),
        Err(e) => Ok(Err(with_causes(&e))),
    }
}

/// `cluster/service` of every CODE_DEPLOY service found, as its plan item is named.
fn code_deploy_ids(targets: &[ServiceTarget], facts: &ServiceFacts) -> BTreeSet<String> {
    targets
        .iter()
        .zip(facts)
        .filter(|(_, fact)| fact.as_ref().is_some_and(|f| f.code_deploy))
        .map(|(t, _)| format!("{}/{}", t.cluster, t.service))
        .collect()
}

/// The CodeDeploy deployment group of each changed CODE_DEPLOY service in `items`: the group the
/// manifest names or the default one, read with GetDeploymentGroup (never a scan of the account),
/// that targets this service and has no active deployment, and whose deployment configuration's
/// waiting fits the deadline. Found: recorded on the item; else a problem on its `codeDeploy` field.
async fn resolve_code_deploy<'a, C: CodeDeployApi>(
    findings: &mut Findings,
    codedeploy: &C,
    targets: &[ServiceTarget],
    items: impl Iterator<Item = &'a mut ServiceItem>,
) -> Result<(), Error> {
    for item in items {
        let Some((index, target)) = targets
            .iter()
            .enumerate()
            .find(|(_, t)| format!("{}/{}", t.cluster, t.service) == item.id)
        else {
            continue;
        };
        let label = service_label(index, target);
        match code_deploy_target(codedeploy, target, item).await {
            Ok(Ok(found)) => item.code_deploy = Some(found),
            Ok(Err((field, message))) => findings.problem(&label, field, message),
            Err(e) if aborts_plan(&e) => return Err(e),
            Err(e) => findings.problem(&label, "codeDeploy", with_causes(&e)),
        }
    }
    Ok(())
}

/// [`resolve_code_deploy`] of one item: the group, or the field and message of what is wrong.
async fn code_deploy_target<C: CodeDeployApi>(
    codedeploy: &C,
    target: &ServiceTarget,
    item: &ServiceItem,
) -> Result<Result<CodeDeployTarget, (&'static str, String)>, Error> {
    let settings = target.code_deploy.clone().unwrap_or_default();
    let (default_application, default_group) =
        codedeploy::default_names(&item.cluster, &item.service);
    let application = settings.application.unwrap_or(default_application);
    let group = settings.deployment_group.unwrap_or(default_group);
    let found = codedeploy
        .get_deployment_group(&application, &group)
        .await?;
    let problem = codedeploy::group_problem(
        found.as_ref(),
        &application,
        &group,
        &item.cluster,
        &item.service,
    );
    // A missing group is a problem too.
    let found = match (found, problem) {
        (Some(found), None) => found,
        (_, problem) => return Ok(Err(("codeDeploy", problem.unwrap_or_default()))),
    };
    let active = codedeploy
        .list_deployments(&application, &group, &codedeploy::active_statuses())
        .await?;
    let label = format!("{application}/{group}");
    if let Some(message) = codedeploy::active_deployment_problem(&active, &label) {
        return Ok(Err(("codeDeploy", message)));
    }
    let config = settings
        .deployment_config
        .or_else(|| found.deployment_config_name().map(str::to_owned))
        .unwrap_or_else(|| codedeploy::DEFAULT_CONFIG.to_owned());
    let routing = match codedeploy::predefined_config(&config) {
        Some(routing) => Some(routing),
        None => match codedeploy.get_deployment_config(&config).await? {
            None => {
                let message = format!(
                    "CodeDeploy deployment configuration `{config}` does not exist (the group \
                     `{label}` or codeDeploy.deploymentConfig names it)"
                );
                return Ok(Err(("codeDeploy", message)));
            }
            Some(info) => match codedeploy::config_problem(&info, &config) {
                Some(message) => return Ok(Err(("codeDeploy", message))),
                None => info.traffic_routing_config().cloned(),
            },
        },
    };
    let wait_seconds = codedeploy::wait_seconds(
        routing.as_ref(),
        found.blue_green_deployment_configuration(),
        settings.wait_for_termination,
    );
    let what = format!("CodeDeploy configuration {config}'s");
    if let Err(message) = waiting_fits(item.timeout_seconds, wait_seconds, &what) {
        return Ok(Err(("timeoutSeconds", message)));
    }
    Ok(Ok(CodeDeployTarget {
        application,
        deployment_group: group,
        deployment_config: config,
        wait_for_termination: settings.wait_for_termination,
        hooks: settings.hooks,
        wait_seconds,
    }))
}

/// Rules exist and have ECS targets; the task definition of each target.
async fn describe_rules<V: EventsApi>(
    findings: &mut Findings,
    events: &V,
    targets: &[RuleTarget],
) -> Result<RuleFacts, Error> {
    let mut facts = Vec::with_capacity(targets.len());
    for (i, target) in targets.iter().enumerate() {
        let label = task_label(i, target);
        let checked = rule_targets(events, target).await;
        let checked = checked.map(|all| {
            all.and_then(|all| {
                for t in &all {
                    if let Some(role) = t.role_arn() {
                        findings
                            .target_roles
                            .insert((i, t.id().to_owned()), role.to_owned());
                    }
                }
                ecs_targets(&target.rule, &all)
            })
        });
        match checked {
            Ok(Ok(ecs_targets)) => {
                for (_, definition) in &ecs_targets {
                    findings.wants(definition);
                }
                facts.push(Some(ecs_targets));
            }
            Ok(Err(message)) => {
                findings.problem(&label, "rule", message);
                facts.push(None);
            }
            Err(e) if aborts_plan(&e) => return Err(e),
            Err(e) => {
                findings.problem(&label, "rule", with_causes(&e));
                facts.push(None);
            }
        }
    }
    Ok(facts)
}

/// Every target of the rule, or why the rule cannot be released.
async fn rule_targets<V: EventsApi>(
    events: &V,
    target: &RuleTarget,
) -> Result<Result<Vec<aws_sdk_eventbridge::types::Target>, String>, Error> {
    let Some(_rule) = events
        .describe_rule(&target.event_bus, &target.rule)
        .await?
    else {
        return Ok(Err(format!(
            "rule `{}` not found on event bus `{}`",
            target.rule, target.event_bus
        )));
    };
    Ok(Ok(events
        .list_targets(&target.event_bus, &target.rule)
        .await?))
}

/// Describes every referenced task definition once, a few at a time: a release of hundreds of
/// services has hundreds of families, and one after another that is minutes of pre-flight.
async fn describe_definitions<E: EcsApi>(findings: &mut Findings, ecs: &E) -> Result<(), Error> {
    let arns: Vec<String> = findings.definitions.keys().cloned().collect();
    let mut described = stream::iter(arns)
        .map(|arn| async move {
            let answer = ecs.describe_task_definition(&arn).await;
            (arn, answer)
        })
        .buffer_unordered(DESCRIBE_CONCURRENCY);
    while let Some((arn, answer)) = described.next().await {
        let definition = match answer {
            Ok((definition, _tags)) => Ok(definition),
            Err(e) if aborts_plan(&e) => return Err(e),
            Err(e) => Err(format!(
                "task definition {arn} could not be described: {}",
                with_causes(&e)
            )),
        };
        findings.definitions.insert(arn, definition);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
