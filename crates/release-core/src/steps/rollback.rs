//! rollback: restore changed services and rule targets to the task definitions recorded in the plan.
//!
//! What is restored is decided by [`crate::decide::rollback::select`]; the restore itself looks at
//! the CURRENT state first, so running it twice is harmless: what already runs its previous task
//! definition (with the desiredCount and percentages the plan recorded) is `AlreadyCurrent`.
//!
//! One restore failing does not stop the others, and every restore is recorded whatever happened:
//! the step fails (with `Throttled` / `AwsUnavailable`, which the state machine retries) only when
//! every failed restore may succeed on a retry; otherwise what was restored is awaited and the
//! failed restores make the release end `Failed`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{DeploymentRolloutState, Service, ServiceDeploymentStatus};

use aws_sdk_codedeploy::types::DeploymentInfo;

use crate::aws::{
    classify, CallFailure, CodeDeployApi, EcsApi, ErrorKind, EventsApi, ObjectStore, SchedulerApi,
    ServiceUpdate,
};
use crate::contract::{
    Awaited, DeploymentStatus, JobStatus, Plan, Records, ReleaseRecords, Restore, RestoreOutcome,
    RollbackInput, RollbackOutput, RuleItem, RuleTaskTarget, ScheduleItem, ServiceItem,
    StabilityCounts, StabilityOutput, StabilityPhase, TaskDefRef,
};
use crate::decide::codedeploy::{self, CodeDeployRestore};
use crate::decide::rollback::{
    await_record, code_deploy_record, failed_restore, forced_reason, left_alone_reason, restore,
    retry_error, rolled_back_record, runs_by_record, runs_by_tags, select, service_restore,
    target_item_id, Candidate, Overwrite, Runs, ServiceRestore,
};
use crate::decide::rules::retarget;
use crate::decide::schedule;
use crate::decide::strategy::{blue_green_restore, BlueGreenRestore};
use crate::decide::verdict::{summarize, PRIMARY};
use crate::error::with_causes;
use crate::records::{stability_name, RecordStore, ROLLBACK};
use crate::steps::code_deploy::{own_active_info, start_deployment, DeploymentRequest};
use crate::steps::unix_now;
use crate::Error;

/// Restores what the policy selects, continuing past individual failures: every selected item
/// gets a [`Restore`] (`Failed` ones with the reason and the error name).
///
/// Under [`Overwrite::OwnWorkOnly`] an item is restored only while it runs this release's
/// revision or its recorded previous one; what runs anything else (a newer release, a hotfix) is
/// `LeftAlone`, saying what it runs and from where.
///
/// `execution` ([`crate::records::Records::execution`]) finds the CodeDeploy deployment of a
/// CODE_DEPLOY item whose result was never recorded (deploy-batch stopped right after creating it).
pub async fn rollback(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    codedeploy: &impl CodeDeployApi,
    scheduler: &impl SchedulerApi,
    input: &ReleaseRecords,
    execution: &str,
    overwrite: Overwrite,
) -> RollbackOutput {
    let selection = select(&input.plan, &input.results, input.stability.as_ref());
    let owner = Owner {
        ecs,
        release_id: &input.plan.release.id,
        overwrite,
    };
    let code_deploy = CodeDeployRestorer {
        codedeploy,
        execution,
    };
    let now = unix_now();
    let mut restores = Vec::new();
    let mut awaits = Vec::new();

    let mut services_by_cluster: BTreeMap<&str, Vec<Selected<ServiceItem>>> = BTreeMap::new();
    let mut targets_by_rule: BTreeMap<&str, (&RuleItem, Vec<Selected<RuleTaskTarget>>)> =
        BTreeMap::new();
    let mut schedules: Vec<Selected<ScheduleItem>> = Vec::new();
    for candidate in &selection.restore {
        match candidate {
            Candidate::Service {
                item,
                new_task_definition,
            } => services_by_cluster
                .entry(item.cluster.as_str())
                .or_default()
                .push((item, new_task_definition.clone())),
            Candidate::Target {
                rule,
                target,
                new_task_definition,
            } => targets_by_rule
                .entry(rule.id.as_str())
                .or_insert_with(|| (rule, Vec::new()))
                .1
                .push((target, new_task_definition.clone())),
            Candidate::Schedule {
                item,
                new_task_definition,
            } => schedules.push((item, new_task_definition.clone())),
        }
    }
    for (candidate, reason) in &selection.skip {
        restores.push(restore(
            candidate.id(),
            RestoreOutcome::Skipped,
            candidate.previous_task_definition(),
            Some(reason.clone()),
        ));
    }

    // The blue/green deployments the release started: one in flight is stopped, not replaced.
    let service_deployments: BTreeMap<&str, &str> = input
        .results
        .iter()
        .filter_map(|r| {
            let deployment = r.deployment.as_ref()?;
            // A rolling update is restored by its task definition, as it always was.
            if !deployment.strategy.is_blue_green() {
                return None;
            }
            Some((r.id.as_str(), deployment.service_deployment_arn.as_deref()?))
        })
        .collect();
    // The CodeDeploy deployments of CODE_DEPLOY items, by item.
    let code_deployments: BTreeMap<&str, &str> = input
        .results
        .iter()
        .filter_map(|r| {
            let deployment = r.deployment.as_ref()?;
            deployment.code_deploy.as_ref()?;
            Some((r.id.as_str(), deployment.deployment_id.as_str()))
        })
        .collect();
    for (cluster, items) in services_by_cluster {
        let blue_green = BlueGreen::describe(ecs, &items, &service_deployments).await;
        let deployed = code_deploy.describe(&items, &code_deployments).await;
        let restoring = Restoring {
            blue_green: &blue_green,
            code_deploy: &code_deploy,
            code_deployed: &deployed,
            now,
        };
        restore_services(
            &owner,
            cluster,
            &items,
            &restoring,
            &mut restores,
            &mut awaits,
        )
        .await;
    }
    for (rule, targets) in targets_by_rule.into_values() {
        restore_targets(&owner, events, rule, &targets, &mut restores).await;
    }
    for (item, ours) in schedules {
        restores.push(restore_schedule(&owner, scheduler, item, ours.as_deref()).await);
    }

    let awaited = summarize(awaits, Vec::new());
    RollbackOutput {
        restores,
        items: awaited.items,
        pending: awaited.pending,
        failed: awaited.failed,
        wave: 0,
    }
}

/// A selected item and the revision the release moved it to, when known.
type Selected<'a, T> = (&'a T, Option<String>);

/// Who decides whether an item's current revision may be overwritten.
struct Owner<'a, E> {
    ecs: &'a E,
    release_id: &'a str,
    overwrite: Overwrite,
}

/// What a restore of one item may do, by whose revision it runs now.
enum Permit {
    /// Restore it; `Some(reason)` when forced over someone else's revision.
    Restore(Option<String>),
    LeftAlone(String),
}

impl<E: EcsApi> Owner<'_, E> {
    /// Whose revision `now` is: by the records when they can tell, else by its tags.
    async fn runs(&self, now: &str, previous: &str, ours: Option<&str>) -> Result<Runs, Error> {
        if let Some(runs) = runs_by_record(now, previous, ours) {
            return Ok(runs);
        }
        let (_, tags) = self.ecs.describe_task_definition(now).await?;
        Ok(runs_by_tags(&tags, self.release_id))
    }

    async fn permit(
        &self,
        now: &str,
        previous: &str,
        ours: Option<&str>,
        deployment: Option<&str>,
    ) -> Result<Permit, Error> {
        let runs = match (self.runs(now, previous, ours).await, self.overwrite) {
            (Ok(runs), _) => runs,
            (Err(e), Overwrite::OwnWorkOnly) => return Err(e),
            // Forced restores whoever's revision it is: not knowing whose costs only the words.
            (Err(e), Overwrite::Forced) => {
                return Ok(Permit::Restore(Some(format!(
                    "forced: it ran {}, whose revision could not be told: {}",
                    TaskDefRef::new(now),
                    with_causes(&e)
                ))))
            }
        };
        Ok(match (runs, self.overwrite) {
            (Runs::Previous | Runs::Ours, _) => Permit::Restore(None),
            (Runs::Other { registered_by }, Overwrite::OwnWorkOnly) => Permit::LeftAlone(
                left_alone_reason(now, deployment, registered_by.as_deref(), ours),
            ),
            (Runs::Other { registered_by }, Overwrite::Forced) => Permit::Restore(Some(
                forced_reason(now, deployment, registered_by.as_deref(), ours),
            )),
        })
    }
}

/// The rollback function: restores from the execution's records, then records what it restored
/// and the deployments it started (the first AwaitRollback round), whatever happened; returns that
/// round's counts, or the retryable error of [`retry_error`] once recorded.
pub async fn rollback_release(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    codedeploy: &impl CodeDeployApi,
    scheduler: &impl SchedulerApi,
    store: &RecordStore<impl ObjectStore>,
    input: &RollbackInput,
) -> Result<StabilityCounts, Error> {
    let records = store.deployed(&input.records).await?;
    let previous: Option<RollbackOutput> = store.read(&input.records, ROLLBACK).await?;
    let wave = input.wave;
    // Dependents first: this wave is restored and awaited before the one below it starts.
    let in_wave = ReleaseRecords {
        plan: records.plan.in_wave(wave),
        ..records
    };
    let execution = input.records.execution();
    let mut output = rollback(
        ecs,
        events,
        codedeploy,
        scheduler,
        &in_wave,
        execution,
        Overwrite::OwnWorkOnly,
    )
    .await;
    let retry = retry_error(&output.restores);
    output.wave = wave;
    let running = running_jobs(&in_wave);
    let awaited = record_wave(
        store,
        &input.records,
        &in_wave.plan,
        previous,
        output,
        running,
    )
    .await?;
    if let Some(e) = retry {
        tracing::warn!(error = %e, "restores failed; the step is retried");
        return Err(e);
    }
    Ok(awaited.counts())
}

/// Records one wave's rollback over the earlier calls' (the waves above it, or this wave's own
/// earlier attempt, which it replaces: a retried call restores its wave again): every restore so far in `rollback.json`, and every awaited
/// deployment so far as the first AwaitRollback round of this wave (the earlier ones terminal).
async fn record_wave(
    store: &RecordStore<impl ObjectStore>,
    records: &Records,
    in_wave: &Plan,
    previous: Option<RollbackOutput>,
    mut output: RollbackOutput,
    running: Vec<JobStatus>,
) -> Result<StabilityOutput, Error> {
    let here = item_ids(in_wave);
    let before: Option<StabilityOutput> = store
        .read(records, stability_name(StabilityPhase::Rollback))
        .await?;
    let jobs_here: BTreeSet<&str> = in_wave.jobs.iter().map(|j| j.id.as_str()).collect();
    let mut jobs: Vec<JobStatus> = before
        .as_ref()
        .map(|b| b.jobs.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|j| !jobs_here.contains(j.run.id.as_str()))
        .collect();
    jobs.extend(running);
    let (mut restores, earlier): (Vec<Restore>, Vec<Restore>) = previous
        .map(|p| p.restores)
        .unwrap_or_default()
        .into_iter()
        .partition(|r| !here.contains(&r.id));
    let (mut items, earlier_items): (Vec<DeploymentStatus>, Vec<DeploymentStatus>) = before
        .map(|b| b.items)
        .unwrap_or_default()
        .into_iter()
        .partition(|i| !here.contains(&i.deployment.id));
    // This wave again (a retried call): what an earlier attempt restored is now current, and
    // stays reported as restored, with the deployment it started.
    for restore in output.restores.drain(..) {
        let restored_before = earlier
            .iter()
            .find(|e| e.id == restore.id && e.outcome == RestoreOutcome::Restored);
        match restored_before {
            Some(e) if restore.outcome == RestoreOutcome::AlreadyCurrent => {
                restores.push(e.clone());
                let awaited = output.items.iter().any(|i| i.deployment.id == e.id);
                if !awaited {
                    items.extend(
                        earlier_items
                            .iter()
                            .filter(|i| i.deployment.id == e.id)
                            .cloned(),
                    );
                }
            }
            _ => restores.push(restore),
        }
    }
    output.restores = restores;
    items.extend(output.items.iter().cloned());
    let awaited = StabilityOutput {
        wave: output.wave,
        remaining_waves: output.wave,
        ..summarize(items, jobs)
    };
    store.write(records, ROLLBACK, &output).await?;
    store
        .write(records, stability_name(StabilityPhase::Rollback), &awaited)
        .await?;
    Ok(awaited)
}

/// The jobs of `records`' wave whose task has not been seen to stop: a job is never undone, but
/// the rollback awaits it, so a migration is never left running unobserved (stopped at its
/// deadline like in the release).
fn running_jobs(records: &ReleaseRecords) -> Vec<JobStatus> {
    let judged = records
        .stability
        .as_ref()
        .map(|s| s.jobs.as_slice())
        .unwrap_or_default();
    records
        .results
        .iter()
        .filter_map(|r| r.job.as_ref())
        .filter(|run| records.plan.jobs.iter().any(|j| j.id == run.id))
        .filter_map(|run| match judged.iter().find(|j| j.run.id == run.id) {
            Some(status) if status.outcome.is_terminal() => None,
            Some(status) => Some(status.clone()),
            None => Some(JobStatus::started(run.clone())),
        })
        .collect()
}

/// The ids the restores and awaited deployments of `plan`'s items carry: each service's, each
/// rule target's.
fn item_ids(plan: &Plan) -> BTreeSet<String> {
    let services = plan.services.iter().map(|s| s.id.clone());
    let targets = plan.tasks.iter().flat_map(|r| {
        r.targets
            .iter()
            .map(|t| target_item_id(&r.id, &t.target_id))
    });
    services.chain(targets).collect()
}

/// Records what a rollback restored (`rollback.json`) and the deployments it started as the first
/// AwaitRollback round (`stability/rollback.json`); returns that round.
pub async fn record(
    store: &RecordStore<impl ObjectStore>,
    records: &Records,
    output: &RollbackOutput,
) -> Result<StabilityOutput, Error> {
    let awaited = StabilityOutput {
        items: output.items.clone(),
        pending: output.pending,
        failed: output.failed,
        deploy_failed: 0,
        remaining_waves: 0,
        wave: 0,
        jobs: Vec::new(),
    };
    store.write(records, ROLLBACK, output).await?;
    store
        .write(records, stability_name(StabilityPhase::Rollback), &awaited)
        .await?;
    Ok(awaited)
}

/// The error name of an entry PutTargets rejected, by its code.
fn rejected_entry_error(code: Option<&str>) -> &'static str {
    match classify(&CallFailure::service_error(code, None, None), |_| None) {
        ErrorKind::Throttled => "Throttled",
        ErrorKind::AwsUnavailable => "AwsUnavailable",
        ErrorKind::AccessDenied => "AccessDenied",
        ErrorKind::ClusterNotFound
        | ErrorKind::ServiceNotFound
        | ErrorKind::TaskDefinitionRejected
        | ErrorKind::TaskRunRejected
        | ErrorKind::Internal => "TargetsRejected",
    }
}

/// The CodeDeploy deployments of a cluster's CODE_DEPLOY items, as CodeDeploy reports them now.
struct CodeDeployed {
    /// Item id → its deployment (`None`: none recorded or found), or the error and why it could not
    /// be described.
    deployments: BTreeMap<String, Result<Option<DeploymentInfo>, (&'static str, String)>>,
}

/// How a rollback restores CODE_DEPLOY items.
struct CodeDeployRestorer<'a, C> {
    codedeploy: &'a C,
    execution: &'a str,
}

/// The restore of one item, and the deployment it left to await, if any.
struct Restored {
    restore: Restore,
    awaited: Option<DeploymentStatus>,
}

impl<C: CodeDeployApi> CodeDeployRestorer<'_, C> {
    /// Each CODE_DEPLOY item's deployment: the recorded one, else the group's active deployment
    /// with the item's description (deploy-batch created it but stopped before recording it).
    async fn describe(
        &self,
        items: &[Selected<'_, ServiceItem>],
        recorded: &BTreeMap<&str, &str>,
    ) -> CodeDeployed {
        let mut deployments = BTreeMap::new();
        let ids: Vec<String> = items
            .iter()
            .filter_map(|(item, _)| recorded.get(item.id.as_str()).map(|id| (*id).to_owned()))
            .collect();
        let described = |e: &Error| (e.name(), with_causes(e));
        let found = match ids.is_empty() {
            true => Ok(Vec::new()),
            false => self
                .codedeploy
                .batch_get_deployments(&ids)
                .await
                .map_err(|e| described(&e)),
        };
        for (item, _) in items {
            let Some(group) = &item.code_deploy else {
                continue;
            };
            let info = match recorded.get(item.id.as_str()) {
                Some(id) => found
                    .clone()
                    .map(|found| found.into_iter().find(|d| d.deployment_id() == Some(*id))),
                None => own_active_info(self.codedeploy, group, self.execution, &item.id)
                    .await
                    .map_err(|e| described(&e)),
            };
            deployments.insert(item.id.clone(), info);
        }
        CodeDeployed { deployments }
    }

    /// Stops our deployment while it runs (CodeDeploy shifts traffic back and rolls back), awaits
    /// CodeDeploy's rollback of one that failed, or deploys the recorded revision again when ours
    /// had ended (or was never found) and the service does not run it.
    async fn restore(
        &self,
        ecs: &impl EcsApi,
        (item, new_task_definition): &Selected<'_, ServiceItem>,
        current: &Service,
        deployed: &CodeDeployed,
        forced: Option<String>,
        now: i64,
    ) -> Restored {
        let previous = &item.previous_task_definition;
        let from = new_task_definition.clone().unwrap_or_default();
        let failed = |error: &str, message: String| Restored {
            restore: failed_restore(item.id.clone(), previous, error, message),
            awaited: None,
        };
        // What became of it decides: not knowing it is a failed restore (a retry may know).
        let mut info = match deployed.deployments.get(&item.id).cloned() {
            Some(Ok(info)) => info,
            Some(Err((error, why))) => {
                return failed(
                    error,
                    format!("could not describe its CodeDeploy deployment: {why}"),
                )
            }
            None => None,
        };
        let with_forced = |what: String| match &forced {
            Some(forced) => format!("{what}; {forced}"),
            None => what,
        };
        let restored = |what: String, awaited| Restored {
            restore: restore(
                item.id.clone(),
                RestoreOutcome::Restored,
                previous,
                Some(with_forced(what)),
            ),
            awaited,
        };
        if let (CodeDeployRestore::Stop, Some(id)) = (
            codedeploy::restore(info.as_ref()),
            info.as_ref().and_then(|i| i.deployment_id()),
        ) {
            let id = id.to_owned();
            let stopped = self.codedeploy.stop_deployment(&id, true).await;
            if let Err(e) = &stopped {
                // It may have just ended: what it reports now decides.
                tracing::warn!(service = %item.id, error = %e, "could not stop the CodeDeploy deployment");
            }
            info = match self
                .codedeploy
                .batch_get_deployments(std::slice::from_ref(&id))
                .await
            {
                Ok(found) => found.into_iter().next(),
                Err(e) => {
                    let why = format!(
                        "could not tell what became of CodeDeploy deployment {id}: {}",
                        with_causes(&e)
                    );
                    return failed(e.name(), why);
                }
            };
            let still_runs = codedeploy::restore(info.as_ref()) == CodeDeployRestore::Stop;
            if let (Err(e), true) = (&stopped, still_runs) {
                let why = format!(
                    "CodeDeploy deployment {id} still runs and could not be stopped: {}",
                    with_causes(e)
                );
                return failed(e.name(), why);
            }
            if stopped.is_ok() {
                // CodeDeploy names the rollback deployment in the stopped one; until it does,
                // check-stability follows the stopped one to it.
                let awaited_id = info
                    .as_ref()
                    .and_then(codedeploy::rollback_id)
                    .unwrap_or(&id)
                    .to_owned();
                let awaited = code_deploy_record(item, from, &awaited_id, Awaited::RolledBack, now);
                return restored(
                    format!(
                        "stopped CodeDeploy deployment {id} with auto-rollback (StopDeployment)"
                    ),
                    awaited,
                );
            }
        }
        match codedeploy::restore(info.as_ref()) {
            CodeDeployRestore::AwaitRollback(rollback) => {
                let awaited = code_deploy_record(item, from, &rollback, Awaited::RolledBack, now);
                restored(
                    format!("CodeDeploy rolls it back with deployment {rollback}"),
                    awaited,
                )
            }
            // Only when CodeDeploy reported no id: nothing to stop it by.
            CodeDeployRestore::Stop => failed(
                "Internal",
                "its CodeDeploy deployment still runs, and CodeDeploy names no id to stop it by"
                    .into(),
            ),
            CodeDeployRestore::ByTaskDefinition => {
                let runs = current.task_definition().unwrap_or_default();
                if TaskDefRef::new(runs).same_as(previous) {
                    return Restored {
                        restore: restore(
                            item.id.clone(),
                            RestoreOutcome::AlreadyCurrent,
                            previous,
                            forced,
                        ),
                        awaited: None,
                    };
                }
                self.redeploy(ecs, item, runs, now, restored).await
            }
        }
    }

    /// A new CodeDeploy deployment of the recorded revision, from what the service runs now.
    async fn redeploy(
        &self,
        ecs: &impl EcsApi,
        item: &ServiceItem,
        runs: &str,
        now: i64,
        restored: impl FnOnce(String, Option<DeploymentStatus>) -> Restored,
    ) -> Restored {
        let previous = &item.previous_task_definition;
        let Some(group) = &item.code_deploy else {
            return Restored {
                restore: failed_restore(
                    item.id.clone(),
                    previous,
                    "Internal",
                    "a CODE_DEPLOY item without its deployment group".into(),
                ),
                awaited: None,
            };
        };
        let request = DeploymentRequest {
            cluster: &item.cluster,
            service: &item.service,
            group,
            task_definition: previous,
            execution: self.execution,
            item: format!("{} rollback", item.id),
        };
        match start_deployment(ecs, self.codedeploy, &request).await {
            Ok(id) => {
                let awaited =
                    code_deploy_record(item, runs.to_owned(), &id, Awaited::Finished, now);
                restored(
                    format!("deployed the previous task definition again with CodeDeploy deployment {id}"),
                    awaited,
                )
            }
            Err(e) => Restored {
                restore: failed_restore(item.id.clone(), previous, e.name(), with_causes(&e)),
                awaited: None,
            },
        }
    }
}

/// The service deployments of a cluster's blue/green items, as they are now.
struct BlueGreen {
    /// Item id → its service deployment ARN and status (`None`: could not be described).
    deployments: BTreeMap<String, (String, Option<ServiceDeploymentStatus>)>,
}

impl BlueGreen {
    async fn describe(
        ecs: &impl EcsApi,
        items: &[Selected<'_, ServiceItem>],
        recorded: &BTreeMap<&str, &str>,
    ) -> Self {
        let mut deployments = BTreeMap::new();
        let arns: Vec<String> = items
            .iter()
            .filter_map(|(item, _)| recorded.get(item.id.as_str()).map(|a| (*a).to_owned()))
            .collect();
        if arns.is_empty() {
            return BlueGreen { deployments };
        }
        let found = match ecs.describe_service_deployments(&arns).await {
            Ok(found) => found.items,
            Err(e) => {
                // Restored by task definition instead: slower, but still restored.
                tracing::warn!(error = %e, "could not describe the service deployments");
                Vec::new()
            }
        };
        for (item, _) in items {
            let Some(arn) = recorded.get(item.id.as_str()) else {
                continue;
            };
            let status = found
                .iter()
                .find(|d| d.service_deployment_arn() == Some(*arn))
                .and_then(|d| d.status().cloned());
            deployments.insert(item.id.clone(), ((*arn).to_owned(), status));
        }
        BlueGreen { deployments }
    }
}

/// Stops a blue/green deployment still in flight (traffic goes back to the revision it started
/// from), or hands one ECS is already rolling back to the await loop; the settings the release
/// changed (strategy, desiredCount, percentages) are put back with a configuration-only
/// UpdateService (a rollback returns to the blue revision, not to the service's old settings).
/// `false`: neither applies, or the stop failed; the item is then restored by its task definition.
#[allow(clippy::too_many_arguments)] // the restore loop's state, passed through
async fn restore_blue_green(
    ecs: &impl EcsApi,
    (item, new_task_definition): &Selected<'_, ServiceItem>,
    current: &Service,
    blue_green: &BlueGreen,
    forced: Option<String>,
    now: i64,
    restores: &mut Vec<Restore>,
    awaits: &mut Vec<DeploymentStatus>,
) -> bool {
    let Some((arn, status)) = blue_green.deployments.get(&item.id) else {
        return false;
    };
    let what = match blue_green_restore(status.as_ref()) {
        BlueGreenRestore::ByTaskDefinition => return false,
        BlueGreenRestore::AwaitRollback => "ECS is rolling it back already",
        BlueGreenRestore::Stop => match ecs.stop_service_deployment(arn).await {
            Ok(()) => "stopped its deployment in flight (StopServiceDeployment ROLLBACK)",
            Err(e) => {
                // It may have just ended: the task definition decides what is left to do.
                tracing::warn!(service = %item.id, error = %e, "could not stop the deployment");
                return false;
            }
        },
    };
    tracing::info!(service = %item.id, service_deployment = %arn, "{what}");
    let from = new_task_definition.clone().unwrap_or_default();
    awaits.push(rolled_back_record(item, from, arn, now));
    let mut reason = match forced {
        Some(forced) => format!("{what}; {forced}"),
        None => what.to_owned(),
    };
    let previous = &item.previous_task_definition;
    let settings = ServiceRestore {
        task_definition: None,
        ..service_restore(item, current)
    };
    if !settings.is_empty() {
        let update = ServiceUpdate {
            cluster: item.cluster.clone(),
            service: item.service.clone(),
            task_definition: None,
            desired_count: settings.desired_count,
            minimum_healthy_percent: settings.minimum_healthy_percent,
            maximum_percent: settings.maximum_percent,
            strategy: settings.strategy,
        };
        if let Err(e) = ecs.update_service(&update).await {
            restores.push(failed_restore(
                item.id.clone(),
                previous,
                e.name(),
                format!(
                    "{reason}, but the settings this release changed could not be put back: {}",
                    with_causes(&e)
                ),
            ));
            return true;
        }
        if let Some(strategy) = settings.strategy {
            reason.push_str(&format!("; strategy {strategy} put back"));
        }
    }
    restores.push(Restore {
        desired_count: settings.desired_count,
        minimum_healthy_percent: settings.minimum_healthy_percent,
        maximum_percent: settings.maximum_percent,
        ..restore(
            item.id.clone(),
            RestoreOutcome::Restored,
            previous,
            Some(reason),
        )
    });
    true
}

/// What the restore of a cluster's services knows of their deployments, and when it runs.
struct Restoring<'a, C> {
    blue_green: &'a BlueGreen,
    code_deploy: &'a CodeDeployRestorer<'a, C>,
    code_deployed: &'a CodeDeployed,
    now: i64,
}

async fn restore_services<C: CodeDeployApi>(
    owner: &Owner<'_, impl EcsApi>,
    cluster: &str,
    items: &[Selected<'_, ServiceItem>],
    restoring: &Restoring<'_, C>,
    restores: &mut Vec<Restore>,
    awaits: &mut Vec<DeploymentStatus>,
) {
    let (blue_green, now) = (restoring.blue_green, restoring.now);
    let names: Vec<String> = items.iter().map(|(i, _)| i.service.clone()).collect();
    let ecs = owner.ecs;
    let services = match ecs.describe_services(cluster, &names).await {
        Ok(found) => found.items,
        Err(e) => {
            for (item, _) in items {
                restores.push(failed_restore(
                    item.id.clone(),
                    &item.previous_task_definition,
                    e.name(),
                    format!("could not describe the service: {}", with_causes(&e)),
                ));
            }
            return;
        }
    };
    for (item, new_task_definition) in items {
        let previous = &item.previous_task_definition;
        let current = services
            .iter()
            .find(|s| s.service_name.as_deref() == Some(item.service.as_str()));
        let Some(current) = current.filter(|s| s.status.as_deref() == Some("ACTIVE")) else {
            restores.push(failed_restore(
                item.id.clone(),
                previous,
                "ServiceNotFound",
                "service is missing or not ACTIVE".into(),
            ));
            continue;
        };
        let current_td = current.task_definition.clone().unwrap_or_default();
        let permit = owner
            .permit(
                &current_td,
                previous,
                new_task_definition.as_deref(),
                primary_id(current),
            )
            .await;
        let forced = match permit {
            Ok(Permit::Restore(forced)) => forced,
            Ok(Permit::LeftAlone(why)) => {
                tracing::info!(service = %item.id, reason = %why, "left alone");
                restores.push(Restore {
                    running: Some(current_td.clone()),
                    ..restore(
                        item.id.clone(),
                        RestoreOutcome::LeftAlone,
                        previous,
                        Some(why),
                    )
                });
                continue;
            }
            Err(e) => {
                restores.push(failed_restore(
                    item.id.clone(),
                    previous,
                    e.name(),
                    format!("could not tell whose revision it runs: {}", with_causes(&e)),
                ));
                continue;
            }
        };
        if item.code_deploy.is_some() {
            // UpdateService cannot change its task definition: CodeDeploy takes it back.
            let selected = (*item, new_task_definition.clone());
            let back = restoring
                .code_deploy
                .restore(
                    ecs,
                    &selected,
                    current,
                    restoring.code_deployed,
                    forced,
                    now,
                )
                .await;
            restores.push(back.restore);
            awaits.extend(back.awaited);
            continue;
        }
        if restore_blue_green(
            ecs,
            &(*item, new_task_definition.clone()),
            current,
            blue_green,
            forced.clone(),
            now,
            restores,
            awaits,
        )
        .await
        {
            continue;
        }
        let wanted = service_restore(item, current);
        if wanted.is_empty() {
            // Possibly ECS's circuit breaker, or a first rollback call, is still rolling it back:
            // hand that deployment to the await loop too.
            if rolling(current) {
                let from = new_task_definition.clone().unwrap_or_default();
                awaits.push(await_record(item, from, current, now));
            }
            restores.push(restore(
                item.id.clone(),
                RestoreOutcome::AlreadyCurrent,
                previous,
                forced,
            ));
            continue;
        }
        let update = ServiceUpdate {
            cluster: item.cluster.clone(),
            service: item.service.clone(),
            task_definition: Some(previous.clone()),
            desired_count: wanted.desired_count,
            minimum_healthy_percent: wanted.minimum_healthy_percent,
            maximum_percent: wanted.maximum_percent,
            strategy: wanted.strategy,
        };
        match ecs.update_service(&update).await {
            Ok(updated) => {
                tracing::info!(
                    service = %item.id,
                    task_definition = %previous,
                    desired_count = ?wanted.desired_count,
                    minimum_healthy_percent = ?wanted.minimum_healthy_percent,
                    maximum_percent = ?wanted.maximum_percent,
                    "service restored"
                );
                // The same task definition starts no deployment: await one only if one rolls.
                if !wanted.keeps_task_definition() || rolling(&updated) {
                    let from = if wanted.keeps_task_definition() {
                        new_task_definition.clone().unwrap_or_default()
                    } else {
                        current_td
                    };
                    awaits.push(await_record(item, from, &updated, now));
                }
                restores.push(Restore {
                    desired_count: wanted.desired_count,
                    minimum_healthy_percent: wanted.minimum_healthy_percent,
                    maximum_percent: wanted.maximum_percent,
                    ..restore(item.id.clone(), RestoreOutcome::Restored, previous, forced)
                });
            }
            Err(e) => restores.push(failed_restore(
                item.id.clone(),
                previous,
                e.name(),
                with_causes(&e),
            )),
        }
    }
}

/// The id of its PRIMARY deployment (`ecs-svc/…`): where what it runs came from.
fn primary_id(service: &Service) -> Option<&str> {
    service
        .deployments
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|d| d.status.as_deref() == Some(PRIMARY))
        .and_then(|d| d.id.as_deref())
}

/// Its PRIMARY deployment is still rolling out.
fn rolling(service: &Service) -> bool {
    service
        .deployments
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|d| {
            d.status.as_deref() == Some(PRIMARY)
                && d.rollout_state == Some(DeploymentRolloutState::InProgress)
        })
}

/// Points a schedule's ECS target back at its previous revision, while it runs this release's
/// revision (or, forced, anything): GetSchedule, then UpdateSchedule with every other field as read.
async fn restore_schedule(
    owner: &Owner<'_, impl EcsApi>,
    scheduler: &impl SchedulerApi,
    item: &ScheduleItem,
    ours: Option<&str>,
) -> Restore {
    let id = item.id.clone();
    let previous = item.previous_task_definition.as_str();
    let found = match scheduler.get_schedule(&item.group, &item.schedule).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let why = "the schedule no longer exists".to_owned();
            return failed_restore(id, previous, "ScheduleNotFound", why);
        }
        Err(e) => {
            let why = format!("could not read the schedule: {}", with_causes(&e));
            return failed_restore(id, previous, e.name(), why);
        }
    };
    let running = match schedule::ecs_task_definition(&found) {
        Ok(running) => running.to_owned(),
        Err(why) => return failed_restore(id, previous, "TargetsRejected", why),
    };
    let forced = match owner.permit(&running, previous, ours, None).await {
        Ok(Permit::Restore(why)) => why,
        Ok(Permit::LeftAlone(why)) => {
            tracing::info!(schedule = %id, reason = %why, "left alone");
            return Restore {
                running: Some(running),
                ..restore(id, RestoreOutcome::LeftAlone, previous, Some(why))
            };
        }
        Err(e) => {
            let why = format!("could not tell whose revision it runs: {}", with_causes(&e));
            return failed_restore(id, previous, e.name(), why);
        }
    };
    if TaskDefRef::new(&running).same_as(previous) {
        return restore(id, RestoreOutcome::AlreadyCurrent, previous, None);
    }
    let sent = match schedule::retargeted(&found, previous) {
        Ok(request) => scheduler.update_schedule(&request).await,
        Err(why) => return failed_restore(id, previous, "TargetsRejected", why),
    };
    match sent {
        Ok(()) => restore(id, RestoreOutcome::Restored, previous, forced),
        Err(e) => {
            let why = format!("UpdateSchedule failed: {}", with_causes(&e));
            failed_restore(id, previous, e.name(), why)
        }
    }
}

async fn restore_targets(
    owner: &Owner<'_, impl EcsApi>,
    events: &impl EventsApi,
    rule: &RuleItem,
    targets: &[Selected<'_, RuleTaskTarget>],
    restores: &mut Vec<Restore>,
) {
    let current = match events.list_targets(&rule.event_bus, &rule.rule).await {
        Ok(current) => current,
        Err(e) => {
            for (t, _) in targets {
                restores.push(failed_restore(
                    target_item_id(&rule.id, &t.target_id),
                    &t.previous_task_definition,
                    e.name(),
                    format!("could not list targets: {}", with_causes(&e)),
                ));
            }
            return;
        }
    };
    // Per target: restore (and why, when forced), or what was decided instead.
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    let mut forced: BTreeMap<&str, String> = BTreeMap::new();
    let mut decided: BTreeMap<&str, Restore> = BTreeMap::new();
    for (t, ours) in targets {
        let id = target_item_id(&rule.id, &t.target_id);
        let previous = t.previous_task_definition.as_str();
        let running = current
            .iter()
            .find(|c| c.id == t.target_id)
            .and_then(|c| c.ecs_parameters.as_ref())
            .map(|p| p.task_definition_arn.as_str());
        let Some(running) = running else {
            decided.insert(
                &t.target_id,
                failed_restore(
                    id,
                    previous,
                    "TargetsRejected",
                    "target is no longer on the rule".to_owned(),
                ),
            );
            continue;
        };
        match owner.permit(running, previous, ours.as_deref(), None).await {
            Ok(Permit::Restore(why)) => {
                wanted.insert(&t.target_id, previous);
                if let Some(why) = why {
                    forced.insert(&t.target_id, why);
                }
            }
            Ok(Permit::LeftAlone(why)) => {
                tracing::info!(target = %id, reason = %why, "left alone");
                decided.insert(
                    &t.target_id,
                    Restore {
                        running: Some(running.to_owned()),
                        ..restore(id, RestoreOutcome::LeftAlone, previous, Some(why))
                    },
                );
            }
            Err(e) => {
                let why = format!("could not tell whose revision it runs: {}", with_causes(&e));
                decided.insert(&t.target_id, failed_restore(id, previous, e.name(), why));
            }
        }
    }
    let to_put = retarget(&current, &wanted);
    // Per rejected target: (error name, why); PutTargets can reject some entries only.
    let mut rejected: BTreeMap<String, (&'static str, String)> = BTreeMap::new();
    if !to_put.is_empty() {
        match events
            .put_targets(&rule.event_bus, &rule.rule, &to_put)
            .await
        {
            Ok(failed) => {
                for entry in failed {
                    let why = format!(
                        "PutTargets rejected it: {}: {}",
                        entry.error_code.as_deref().unwrap_or("?"),
                        entry.error_message.as_deref().unwrap_or("no message")
                    );
                    let error = rejected_entry_error(entry.error_code.as_deref());
                    rejected.insert(entry.target_id.unwrap_or_default(), (error, why));
                }
            }
            Err(e) => {
                for t in &to_put {
                    rejected.insert(t.id.clone(), (e.name(), with_causes(&e)));
                }
            }
        }
    }
    for (t, _) in targets {
        if let Some(done) = decided.remove(t.target_id.as_str()) {
            restores.push(done);
            continue;
        }
        let id = target_item_id(&rule.id, &t.target_id);
        let previous = &t.previous_task_definition;
        let why = forced.get(t.target_id.as_str()).cloned();
        let sent = to_put.iter().any(|c| c.id == t.target_id);
        restores.push(match (sent, rejected.get(&t.target_id)) {
            (false, _) => restore(id, RestoreOutcome::AlreadyCurrent, previous, why),
            (true, None) => restore(id, RestoreOutcome::Restored, previous, why),
            (true, Some((error, why))) => failed_restore(id, previous, error, why.clone()),
        });
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::DeploymentControllerType;
    use serde_json::json;

    use super::*;
    use crate::aws::fake::{FakeEcs, FakeEvents};
    use crate::aws::fake_codedeploy::FakeCodeDeploy;
    use crate::aws::fake_scheduler::FakeScheduler;

    /// `prod/web` released from `previous`, the revision it moved to not recorded (a crash before
    /// its result was written).
    fn unrecorded(previous: &str) -> ReleaseRecords {
        serde_json::from_value(json!({
            "plan": {
                "release": {"id": "r1", "source": "deployment.yaml"},
                "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                             "keepRevisions": 0},
                "services": [{
                    "id": "prod/web", "cluster": "prod", "service": "web",
                    "previousTaskDefinition": previous, "images": {}, "noop": false,
                    "timeoutSeconds": 600,
                }],
                "tasks": [], "changedServices": 1, "changedTasks": 0,
            },
            "results": [],
        }))
        .expect("records")
    }

    #[tokio::test]
    async fn a_revision_whose_owner_cannot_be_read_is_not_restored_and_says_why() {
        let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let previous = ecs.definition("web", &[("app", "web:1")], &[]);
        let running = ecs.definition("web", &[("app", "web:2")], &[]);
        let ecs = ecs.service(
            "prod",
            "web",
            &running,
            "ACTIVE",
            DeploymentControllerType::Ecs,
        );
        ecs.refuse("DescribeTaskDefinition");
        let out = rollback(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &unrecorded(&previous),
            "r/e",
            Overwrite::OwnWorkOnly,
        )
        .await;
        let web = &out.restores[0];
        assert_eq!(
            (web.outcome, web.error.as_deref()),
            (RestoreOutcome::Failed, Some("AccessDenied")),
            "{web:?}"
        );
        assert!(
            web.reason
                .as_deref()
                .is_some_and(|r| r.starts_with("could not tell whose revision it runs: ")),
            "{web:?}"
        );
        assert_eq!(ecs.calls("UpdateService"), 0, "nothing overwritten blind");
        // Forced, whose it is does not matter: restored without asking.
        let forced = rollback(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &unrecorded(&previous),
            "r/e",
            Overwrite::Forced,
        )
        .await;
        assert_eq!(forced.restores[0].outcome, RestoreOutcome::Restored);
        assert_eq!(ecs.calls("UpdateService"), 1);
    }
}
