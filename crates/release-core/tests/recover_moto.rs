//! The watchdog against moto: an execution that ended outside the state machine, its records and
//! locks seeded as the release left them, finished from the event the EventBridge rule delivers
//! (`events/watchdog-*.json` with this execution's ARN, name and input).

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use crate::rollback_fixture;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_eventbridge::types::{PutTargetsResultEntry, Target};
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::aws::locks::fake::RunningExecutions;
use release_core::aws::locks::LockStore;
use release_core::aws::{EventsApi, OutgoingEvent, RuleInfo};
use release_core::contract::{
    DeploymentStatus, ExecutionStatus, ExecutionStatusChange, ItemOutcome, Lock, Outcome, Plan,
    PlanItemKind, Records, RecoveryAction, ReleaseOutcome, ReleaseReport, RestoreOutcome,
    RollbackOutput, RollbackPolicy, StabilityOutput, StabilityPhase,
};
use release_core::records::{stability_name, RecordStore, REPORT, ROLLBACK};
use release_core::steps::ledger::history;
use release_core::steps::lock::{acquire, force_unlock, list, Owner};
use release_core::steps::recover::{recorded_release, watch};
use rollback_fixture::{aws, released, running, targets, task_definition_of, unique, Aws, Release};
use serde_json::{json, Value};

const BUCKET: &str = "convoy-watchdog-records";
const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:convoy-release";

fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:us-east-1:123456789012:execution:convoy-release:{name}")
}

/// The sample event of `status`, about execution `name` of release `r1`.
fn event(sample: &str, name: &str) -> ExecutionStatusChange {
    let path = format!("{}/../../events/{sample}", env!("CARGO_MANIFEST_DIR"));
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let detail = &mut raw["detail"];
    detail["executionArn"] = json!(execution_arn(name));
    detail["stateMachineArn"] = json!(MACHINE);
    detail["name"] = json!(name);
    let mut input: Value = serde_json::from_str(detail["input"].as_str().unwrap()).unwrap();
    input["release"]["id"] = json!("r1");
    detail["input"] = json!(input.to_string());
    let event: EventBridgeEvent<ExecutionStatusChange> = serde_json::from_value(raw).unwrap();
    event.detail
}

struct World {
    aws: Aws,
    /// moto's Application Auto Scaling.
    scaling: aws_sdk_applicationautoscaling::Client,
    store: RecordStore<aws_sdk_s3::Client>,
    sfn: aws_sdk_sfn::Client,
}

async fn world() -> World {
    let moto = convoy_testkit::moto();
    World {
        aws: aws().await,
        scaling: aws_sdk_applicationautoscaling::Client::new(&moto.sdk_config().await),
        store: RecordStore::new(moto.bucket(BUCKET).await),
        sfn: aws_sdk_sfn::Client::new(&moto.sdk_config().await),
    }
}

/// moto's EventBridge, keeping what was put: moto accepts PutEvents but shows nothing of it.
struct Announced<'a> {
    events: &'a aws_sdk_eventbridge::Client,
    put: std::sync::Mutex<Vec<OutgoingEvent>>,
}

impl EventsApi for Announced<'_> {
    async fn describe_rule(
        &self,
        event_bus: &str,
        rule: &str,
    ) -> Result<Option<RuleInfo>, release_core::Error> {
        EventsApi::describe_rule(self.events, event_bus, rule).await
    }

    async fn list_targets(
        &self,
        event_bus: &str,
        rule: &str,
    ) -> Result<Vec<Target>, release_core::Error> {
        self.events.list_targets(event_bus, rule).await
    }

    async fn put_targets(
        &self,
        event_bus: &str,
        rule: &str,
        targets: &[Target],
    ) -> Result<Vec<PutTargetsResultEntry>, release_core::Error> {
        EventsApi::put_targets(self.events, event_bus, rule, targets).await
    }

    async fn put_event(&self, event: &OutgoingEvent) -> Result<(), release_core::Error> {
        self.events.put_event(event).await?;
        self.put.lock().unwrap().push(event.clone());
        Ok(())
    }
}

impl Announced<'_> {
    /// Every detail put, with its detail type.
    fn details(&self) -> Vec<(String, Value)> {
        let put = self.put.lock().unwrap();
        put.iter()
            .map(|e| {
                assert_eq!(e.event_bus, "default");
                (
                    e.detail_type.clone(),
                    serde_json::from_str(&e.detail).unwrap(),
                )
            })
            .collect()
    }
}

impl World {
    async fn watch(&self, change: &ExecutionStatusChange) -> release_core::contract::Recovery {
        self.watch_announcing(change, &self.announcer()).await
    }

    fn announcer(&self) -> Announced<'_> {
        Announced {
            events: &self.aws.events,
            put: std::sync::Mutex::default(),
        }
    }

    async fn watch_announcing(
        &self,
        change: &ExecutionStatusChange,
        events: &Announced<'_>,
    ) -> release_core::contract::Recovery {
        watch(
            &self.aws.ecs,
            events,
            &self.aws.codedeploy,
            &FakeScheduler::default(),
            &self.scaling,
            &self.store,
            self.store.objects(),
            &self.sfn,
            BUCKET,
            change,
            Some("default"),
        )
        .await
        .unwrap()
    }

    fn locks(&self) -> &aws_sdk_s3::Client {
        self.store.objects()
    }

    /// The locks of this release's items: item → holder's release id.
    async fn held(&self, r: &Release) -> Vec<(String, String)> {
        list(self.locks(), BUCKET)
            .await
            .unwrap()
            .into_iter()
            .filter(|h| h.lock.item.contains(&r.cluster) || h.lock.item.contains(&r.rule))
            .map(|h| (h.lock.item, h.lock.release_id))
            .collect()
    }
}

fn owner(name: &str) -> Owner {
    Owner {
        release_id: "r1".into(),
        execution_arn: execution_arn(name),
    }
}

/// The records a release half way through AwaitRelease leaves: its plan, every item's result, and
/// a stability round with web's rollout done and api's still rolling; every lock still held.
async fn half_deployed(w: &World, r: &Release, name: &str) -> Records {
    let records = Records::for_execution(BUCKET, "r1", name);
    w.store
        .write_plan(&records, r.input.plan.clone())
        .await
        .unwrap();
    for result in &r.input.results {
        let kind = if result.rule.is_some() {
            PlanItemKind::Rule
        } else {
            PlanItemKind::Service
        };
        w.store.write_result(&records, kind, result).await.unwrap();
    }
    let verdict = |i: usize, outcome| DeploymentStatus {
        outcome,
        ..DeploymentStatus::started(r.input.results[i].deployment.clone().unwrap())
    };
    let round = StabilityOutput {
        items: vec![
            verdict(0, Outcome::Succeeded),
            verdict(1, Outcome::InProgress),
        ],
        pending: 1,
        failed: 0,
        deploy_failed: 0,
        remaining_waves: 0,
        wave: 0,
        jobs: Vec::new(),
    };
    w.store
        .write(&records, stability_name(StabilityPhase::Release), &round)
        .await
        .unwrap();
    acquire(
        w.locks(),
        &RunningExecutions::default(),
        BUCKET,
        &owner(name),
        &r.input.plan,
        0,
    )
    .await
    .unwrap();
    records
}

/// What a second run must leave unchanged: each service's revision and PRIMARY deployment, each rule
/// target's revision, the report's bytes.
async fn snapshot(w: &World, r: &Release, records: &Records) -> Value {
    let mut services = Vec::new();
    for name in ["web", "api"] {
        let s = w
            .aws
            .ecs
            .describe_services()
            .cluster(&r.cluster)
            .services(name)
            .send()
            .await
            .unwrap()
            .services
            .unwrap()
            .remove(0);
        // The PRIMARY deployment: a new UpdateService starts another (older ones drain away).
        let primary = s
            .deployments
            .unwrap_or_default()
            .into_iter()
            .find(|d| d.status.as_deref() == Some("PRIMARY"))
            .and_then(|d| d.id);
        services.push(json!([s.task_definition, primary]));
    }
    let rule: Vec<String> = targets(&w.aws, &r.rule)
        .await
        .iter()
        .filter(|t| t.ecs_parameters.is_some())
        .map(|t| task_definition_of(t).to_owned())
        .collect();
    let report = LockStore::read(w.locks(), BUCKET, &records.key(REPORT))
        .await
        .unwrap()
        .map(|v| String::from_utf8(v.body).unwrap());
    json!({"services": services, "rule": rule, "report": report})
}

fn item<'a>(report: &'a ReleaseReport, id: &str) -> &'a release_core::contract::ReportItem {
    report
        .items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#?}"))
}

#[tokio::test]
async fn an_operator_stop_mid_release_is_reported_rolled_back_and_unlocked_once() {
    let w = world().await;
    let r = released(&w.aws, RollbackPolicy::All).await;
    let name = unique("stopped");
    let records = half_deployed(&w, &r, &name).await;
    assert_eq!(
        w.held(&r).await.len(),
        3,
        "web, api and the rule are locked"
    );

    let announced = w.announcer();
    let done = w
        .watch_announcing(&event("watchdog-aborted.json", &name), &announced)
        .await;
    assert_eq!(done.action, RecoveryAction::Reported);
    assert_eq!(done.release_id.as_deref(), Some("r1"));
    let details = announced.details();
    assert_eq!(done.locks_given_back, 3);
    assert!(w.held(&r).await.is_empty());

    // Policy `all`: every changed item back on its previous revision.
    assert_eq!(running(&w.aws, &r.cluster, "web").await, r.old[0]);
    assert_eq!(running(&w.aws, &r.cluster, "api").await, r.old[1]);
    for t in targets(&w.aws, &r.rule).await {
        if t.ecs_parameters.is_some() {
            assert_eq!(task_definition_of(&t), r.report_old, "target {}", t.id);
        }
    }
    let rollback: RollbackOutput = w.store.read(&records, ROLLBACK).await.unwrap().unwrap();
    assert_eq!(rollback.restores.len(), 4, "{rollback:#?}");
    assert!(rollback
        .restores
        .iter()
        .all(|x| x.outcome == RestoreOutcome::Restored));
    let awaited: StabilityOutput = w
        .store
        .read(&records, stability_name(StabilityPhase::Rollback))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(awaited.items.len(), 2, "both restoring rollouts recorded");

    // The report: where each item stands and what ended the execution.
    let report: ReleaseReport = w.store.read(&records, REPORT).await.unwrap().unwrap();
    assert_eq!(done.report.as_ref().unwrap().items, report.items);
    let web = item(&report, &format!("{}/web", r.cluster));
    assert_eq!(web.outcome, ItemOutcome::RolledBack);
    assert_eq!(web.final_task_definition, r.old[0]);
    let api = item(&report, &format!("{}/api", r.cluster));
    assert_eq!(api.outcome, ItemOutcome::RolledBack, "{api:?}");
    assert_eq!(api.final_task_definition, r.old[1]);
    let problems = report.problems.join("\n");
    assert!(
        problems.contains("ended ABORTED (OperatorStop: stopped by an operator"),
        "{problems}"
    );
    assert!(problems.contains("policy `all`"), "{problems}");
    assert!(
        problems.contains("2 restoring rollout(s) were started and not awaited"),
        "{problems}"
    );

    // One Finished event: the report's outcome and counts, pointing to the report.
    assert_eq!(details.len(), 1, "{details:?}");
    let (detail_type, detail) = &details[0];
    assert_eq!(detail_type, "Convoy Release Finished");
    let outcome = match report.outcome {
        ReleaseOutcome::Succeeded => "SUCCEEDED",
        ReleaseOutcome::RolledBack => "ROLLED_BACK",
        ReleaseOutcome::Failed => "FAILED",
    };
    assert_eq!(detail["outcome"], outcome);
    let rolled_back = report
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::RolledBack)
        .count();
    assert_eq!(
        detail["counts"]["RolledBack"],
        json!(rolled_back),
        "{detail}"
    );
    assert_eq!(detail["startedAt"], "2026-11-23T10:15:00.123Z");
    assert_eq!(
        detail["fullReport"].as_str(),
        Some(records.uri(REPORT).as_str())
    );
    assert!(
        detail["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("OperatorStop")),
        "{detail}"
    );

    // The release ledger knows how it ended.
    let ledger = history(
        w.store.objects(),
        BUCKET,
        PlanItemKind::Service,
        &format!("{}/web", r.cluster),
        5,
    )
    .await
    .unwrap();
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert_eq!(ledger[0].execution_arn, execution_arn(&name));
    assert_eq!(ledger[0].outcome, Some(report.outcome));

    // The same event again (EventBridge delivers at least once): nothing changes.
    let before = snapshot(&w, &r, &records).await;
    let again = w
        .watch_announcing(&event("watchdog-aborted.json", &name), &announced)
        .await;
    assert_eq!(again.action, RecoveryAction::AlreadyReported);
    assert_eq!(announced.details().len(), 1, "announced once");
    assert_eq!(again.locks_given_back, 0);
    assert_eq!(snapshot(&w, &r, &records).await, before);
}

#[tokio::test]
async fn policy_failed_restores_only_what_was_not_confirmed() {
    let w = world().await;
    let r = released(&w.aws, RollbackPolicy::Failed).await;
    let name = unique("timed-out");
    let records = half_deployed(&w, &r, &name).await;

    let done = w.watch(&event("watchdog-timed-out.json", &name)).await;
    assert_eq!(done.action, RecoveryAction::Reported);
    // web's rollout had succeeded and the rule was retargeted: both stay; api's never finished.
    assert_eq!(running(&w.aws, &r.cluster, "web").await, r.new[0]);
    assert_eq!(running(&w.aws, &r.cluster, "api").await, r.old[1]);
    let report: ReleaseReport = w.store.read(&records, REPORT).await.unwrap().unwrap();
    assert_eq!(
        item(&report, &format!("{}/web", r.cluster)).outcome,
        ItemOutcome::Deployed
    );
    let api = item(&report, &format!("{}/api", r.cluster));
    assert_ne!(api.outcome, ItemOutcome::Deployed, "{api:?}");
    assert_eq!(api.final_task_definition, r.old[1]);
    assert!(report.problems[0].contains("ended TIMED_OUT"), "{report:?}");
    assert!(report.problems[0].contains("policy `failed`"), "{report:?}");
    assert!(w.held(&r).await.is_empty());
}

#[tokio::test]
async fn a_failed_execution_that_wrote_its_report_only_gives_back_its_own_locks() {
    let w = world().await;
    let r = released(&w.aws, RollbackPolicy::All).await;
    let name = unique("failed");
    let records = half_deployed(&w, &r, &name).await;
    // finish-release wrote the report, then the execution ended in its Fail state; one lock was
    // not given back, another was taken over by the next release since.
    let report = json!({"releaseId": "r1", "outcome": "Failed", "items": []});
    w.store.write(&records, REPORT, &report).await.unwrap();
    let api = format!("{}/api", r.cluster);
    force_unlock(
        w.locks(),
        BUCKET,
        PlanItemKind::Rule,
        &r.input.plan.tasks[0].id,
    )
    .await
    .unwrap();
    force_unlock(w.locks(), BUCKET, PlanItemKind::Service, &api)
        .await
        .unwrap();
    let mut next = Plan::clone(&r.input.plan);
    next.services.retain(|s| s.id == api);
    next.tasks.clear();
    acquire(
        w.locks(),
        &RunningExecutions::default(),
        BUCKET,
        &Owner {
            release_id: "r2".into(),
            execution_arn: execution_arn("next"),
        },
        &next,
        0,
    )
    .await
    .unwrap();
    let before = snapshot(&w, &r, &records).await;

    let mut change = event("watchdog-aborted.json", &name);
    change.status = ExecutionStatus::Failed;
    let done = w.watch(&change).await;
    assert_eq!(done.action, RecoveryAction::AlreadyReported);
    assert_eq!(done.locks_given_back, 1, "web's");
    assert_eq!(
        w.held(&r).await,
        [(format!("service:{api}"), "r2".to_owned())]
    );
    assert_eq!(snapshot(&w, &r, &records).await, before, "nothing restored");
    assert!(w
        .store
        .read::<Value>(&records, ROLLBACK)
        .await
        .unwrap()
        .is_none());
    // Still running what the release deployed: the report, not the watchdog, says why.
    assert_eq!(running(&w.aws, &r.cluster, "web").await, r.new[0]);
}

#[tokio::test]
async fn an_item_another_release_took_over_is_left_alone() {
    let w = world().await;
    let r = released(&w.aws, RollbackPolicy::All).await;
    let name = unique("taken-over");
    let records = half_deployed(&w, &r, &name).await;
    // The execution ended; the next release of api found its lock stale and took it over.
    let mut next = Plan::clone(&r.input.plan);
    next.services.retain(|s| s.service == "api");
    next.tasks.clear();
    acquire(
        w.locks(),
        &RunningExecutions::default(),
        BUCKET,
        &Owner {
            release_id: "r2".into(),
            execution_arn: execution_arn("r2"),
        },
        &next,
        0,
    )
    .await
    .unwrap();

    let done = w.watch(&event("watchdog-aborted.json", &name)).await;
    assert_eq!(done.action, RecoveryAction::Reported);
    assert_eq!(done.locks_given_back, 2, "web's and the rule's");
    assert_eq!(running(&w.aws, &r.cluster, "web").await, r.old[0]);
    assert_eq!(
        running(&w.aws, &r.cluster, "api").await,
        r.new[1],
        "the other release's to change"
    );
    let rollback: RollbackOutput = w.store.read(&records, ROLLBACK).await.unwrap().unwrap();
    let api = rollback
        .restores
        .iter()
        .find(|x| x.id == format!("{}/api", r.cluster))
        .unwrap();
    assert_eq!(api.outcome, RestoreOutcome::LeftAlone);
    assert!(
        api.reason.as_deref().unwrap().contains("release r2"),
        "{api:?}"
    );
    let held = w.held(&r).await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].1, "r2");
}

#[tokio::test]
async fn an_execution_that_ended_before_its_plan_changes_nothing_and_gives_back_its_locks() {
    let w = world().await;
    let r = released(&w.aws, RollbackPolicy::All).await;
    let name = unique("no-plan");
    // plan-release took the locks, then the execution was stopped before it recorded the plan.
    acquire(
        w.locks(),
        &RunningExecutions::default(),
        BUCKET,
        &owner(&name),
        &r.input.plan,
        0,
    )
    .await
    .unwrap();
    let records = Records::for_execution(BUCKET, "r1", &name);
    let before = snapshot(&w, &r, &records).await;

    let announced = w.announcer();
    let done = w
        .watch_announcing(&event("watchdog-aborted.json", &name), &announced)
        .await;
    assert_eq!(done.action, RecoveryAction::NothingChanged);
    assert_eq!(done.locks_given_back, 3);
    // Stopped before its plan: the watchdog announces it rejected (plan-release could not).
    let details = announced.details();
    assert_eq!(details.len(), 1, "{details:?}");
    assert_eq!(
        (
            details[0].1["outcome"].as_str(),
            details[0].1["error"].as_str()
        ),
        (Some("REJECTED"), Some("OperatorStop"))
    );
    assert!(w.held(&r).await.is_empty());
    assert_eq!(snapshot(&w, &r, &records).await, before);
    assert!(recorded_release(&w.store, &records)
        .await
        .unwrap()
        .is_none());
    let written = w
        .store
        .objects()
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(&records.prefix)
        .send()
        .await
        .unwrap();
    assert_eq!(written.key_count(), Some(0), "nothing is written");
}

#[tokio::test]
async fn a_running_execution_is_left_alone_and_a_missing_input_is_read_back() {
    let w = world().await;
    let r = released(&w.aws, RollbackPolicy::All).await;
    let name = unique("no-input");
    let records = half_deployed(&w, &r, &name).await;
    let machine = w
        .sfn
        .create_state_machine()
        .name(unique("watchdog-machine"))
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}"#)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let arn = w
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&name)
        .input(json!({"release": {"id": "r1"}}).to_string())
        .send()
        .await
        .unwrap()
        .execution_arn;
    let mut change = event("watchdog-aborted.json", &name);
    change.execution_arn = arn.clone();
    change.state_machine_arn = machine;
    change.input = None; // as when the input did not fit the event
                         // Re-lock the items for the real execution ARN (half_deployed locked them for another one).
    for (kind, id) in [
        (PlanItemKind::Service, format!("{}/web", r.cluster)),
        (PlanItemKind::Service, format!("{}/api", r.cluster)),
        (PlanItemKind::Rule, r.input.plan.tasks[0].id.clone()),
    ] {
        force_unlock(w.locks(), BUCKET, kind, &id).await.unwrap();
    }
    let mut running_owner = owner(&name);
    running_owner.execution_arn = arn.clone();
    acquire(
        w.locks(),
        &RunningExecutions::default(),
        BUCKET,
        &running_owner,
        &r.input.plan,
        0,
    )
    .await
    .unwrap();

    // Redriven, or the event arrived before the status settled: the execution runs, left alone.
    let before = snapshot(&w, &r, &records).await;
    let ignored = w.watch(&change).await;
    assert_eq!(ignored.action, RecoveryAction::Ignored);
    assert_eq!(ignored.release_id.as_deref(), Some("r1"), "read back");
    assert_eq!(snapshot(&w, &r, &records).await, before);
    assert_eq!(w.held(&r).await.len(), 3);

    w.sfn
        .stop_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let done = w.watch(&change).await;
    assert_eq!(done.action, RecoveryAction::Reported);
    assert_eq!(done.locks_given_back, 3);
    let held: Vec<Lock> = list(w.locks(), BUCKET)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.lock)
        .filter(|l| l.execution_arn == arn)
        .collect();
    assert!(held.is_empty(), "{held:?}");
    assert_eq!(running(&w.aws, &r.cluster, "api").await, r.old[1]);
}

#[tokio::test]
async fn a_rejection_plan_release_announced_is_not_announced_again() {
    let w = world().await;
    let name = unique("rejected");
    let mut change = event("watchdog-aborted.json", &name);
    change.status = ExecutionStatus::Failed;
    change.error = Some("PreflightFailed".into());
    let announced = w.announcer();
    let done = w.watch_announcing(&change, &announced).await;
    assert_eq!(done.action, RecoveryAction::NothingChanged);
    assert!(announced.details().is_empty(), "plan-release put it");

    // Throttled until the state machine gave up: plan-release never called it final.
    change.error = Some("Throttled".into());
    let done = w.watch_announcing(&change, &announced).await;
    assert_eq!(done.action, RecoveryAction::NothingChanged);
    let details = announced.details();
    assert_eq!(details.len(), 1, "{details:?}");
    assert_eq!(details[0].1["error"], "Throttled");
    assert_eq!(details[0].1["releaseId"], "r1");
}

#[tokio::test]
async fn the_watchdog_gives_a_held_service_its_scaling_back() {
    use aws_sdk_applicationautoscaling::types::{
        ScalableDimension, ServiceNamespace, SuspendedState as Sdk,
    };
    use release_core::aws::ScalingApi;
    use release_core::contract::{ScalableTarget, ScalingHold, SuspendedState};
    use release_core::steps::scaling::hold_name;

    let w = world().await;
    let mut r = released(&w.aws, RollbackPolicy::All).await;
    let web = &mut r.input.plan.services[0];
    let resource_id = ScalableTarget::resource_id(&web.cluster, &web.service);
    // Before the release: scheduled scaling suspended by an operator. The release suspended all.
    let before = ScalableTarget {
        resource_id: resource_id.clone(),
        min_capacity: 1,
        max_capacity: 4,
        suspended: SuspendedState {
            scheduled_scaling_suspended: true,
            ..SuspendedState::default()
        },
    };
    web.auto_scaling = Some(before.clone());
    let id = web.id.clone();
    w.scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .min_capacity(1)
        .max_capacity(4)
        .suspended_state(
            Sdk::builder()
                .dynamic_scaling_in_suspended(true)
                .dynamic_scaling_out_suspended(true)
                .scheduled_scaling_suspended(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let name = unique("held");
    let records = half_deployed(&w, &r, &name).await;
    let hold = ScalingHold {
        id: id.clone(),
        release_id: "r1".into(),
        execution_arn: execution_arn(&name),
        previous: before.clone(),
    };
    w.store
        .write(&records, &hold_name(&id), &hold)
        .await
        .unwrap();

    let done = w.watch(&event("watchdog-aborted.json", &name)).await;
    assert_eq!(done.action, RecoveryAction::Reported);
    let report: ReleaseReport = w.store.read(&records, REPORT).await.unwrap().unwrap();
    assert_eq!(report.auto_scaling.unwrap().restored, [id]);
    let now = w
        .scaling
        .describe_ecs_targets(&[resource_id])
        .await
        .unwrap();
    assert_eq!(now, [before]);
}
