//! Jobs (one-off tasks such as migrations) through the steps, on in-memory ECS and records:
//! planned from their family's newest revision with a service's network, run once per execution
//! (RunTask's client token), judged by their essential containers' exit codes, stopped at their
//! deadline, awaited by a rollback of their wave, and reported as forward-only.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::types::{DeploymentControllerType, TaskStopCode};
use release_core::aws::fake::{FakeEcs, FakeEvents, MemoryStore};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scaling::FakeScaling;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::contract::{
    examples, AwsVpcSettings, BatchInput, ContainerOverride, ImageMap, Images, ItemKind,
    ItemOutcome, ItemResult, JobItem, JobLaunch, JobLaunchSettings, JobTarget, Outcome, Plan,
    PlanItemKind, Records, ReleaseInput, ReleaseMeta, ReleaseOutcome, RollbackInput, ServiceItem,
    Settings, StabilityInput, StabilityOutput, StabilityPhase,
};
use release_core::decide::batches::{wave_layouts, AccountRates};
use release_core::decide::preflight::Reach;
use release_core::decide::report;
use release_core::records::{result_name, stability_name, RecordStore};
use release_core::steps::check_stability::check_round;
use release_core::steps::deploy_batch::deploy_batch;
use release_core::steps::plan_release::plan;
use release_core::steps::rollback::rollback_release;
use release_core::steps::run_job::run_job;

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:e-1";

fn records() -> Records {
    Records::for_execution("convoy-records", "r-1", "e-1")
}

fn images(pairs: &[(&str, &str)]) -> ImageMap {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Cluster prod with service api (revision api:1, on Fargate in two subnets) and the family
/// migrate at revisions 1 and 2 (the newest, awsvpc).
fn world() -> (FakeEcs, String) {
    let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
    let api = ecs.definition("api", &[("app", "repo/api:1")], &[]);
    ecs.definition("migrate", &[("app", "repo/app:1"), ("log", "log:1")], &[]);
    let newest = ecs.definition("migrate", &[("app", "repo/app:2"), ("log", "log:1")], &[]);
    ecs.awsvpc_definition(&newest);
    let ecs = ecs.service("prod", "api", &api, "ACTIVE", DeploymentControllerType::Ecs);
    ecs.awsvpc_service("prod", "api", &["subnet-a", "subnet-b"], "sg-api");
    (ecs, newest)
}

fn job_target(image: &str) -> JobTarget {
    JobTarget {
        name: "migrate".into(),
        depends_on: Vec::new(),
        cluster: "prod".into(),
        task_definition: "migrate".into(),
        images: Images::Default {
            preferred: "app".into(),
            image: image.into(),
        },
        overrides: BTreeMap::from([(
            "app".to_owned(),
            ContainerOverride {
                command: Some(vec!["bin/migrate".into(), "up".into()]),
                environment: BTreeMap::from([("STAGE".to_owned(), "prod".to_owned())]),
            },
        )]),
        launch: JobLaunchSettings {
            network_from: Some("prod/api".into()),
            ..JobLaunchSettings::default()
        },
        timeout_seconds: 600,
    }
}

fn release(jobs: Vec<JobTarget>) -> ReleaseInput {
    ReleaseInput {
        release: ReleaseMeta {
            id: "r-1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services: Vec::new(),
        tasks: Vec::new(),
        jobs,
        waves: Vec::new(),
        schedules: Vec::new(),
    }
}

async fn planned(ecs: &FakeEcs, input: ReleaseInput) -> Result<Plan, release_core::Error> {
    plan(
        ecs,
        &FakeEvents::default(),
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        input,
        &Reach::default(),
    )
    .await
}

#[tokio::test]
async fn a_job_is_planned_from_its_familys_newest_revision_with_its_services_network() {
    let (ecs, newest) = world();
    let plan = planned(&ecs, release(vec![job_target("repo/app:3")]))
        .await
        .unwrap();
    let job = &plan.jobs[0];
    assert_eq!(job.id, "prod/migrate");
    assert_eq!(job.previous_task_definition, newest);
    assert_eq!(job.images, images(&[("app", "repo/app:3")]));
    assert_eq!(job.essential_containers, ["app", "log"]);
    assert_eq!(job.new_task_definition, None, "new images: registered");
    assert_eq!(
        job.launch,
        JobLaunch {
            network_configuration: Some(AwsVpcSettings {
                subnets: vec!["subnet-a".into(), "subnet-b".into()],
                security_groups: vec!["sg-api".into()],
                assign_public_ip: false,
            }),
            launch_type: Some("FARGATE".into()),
            capacity_provider_strategy: Vec::new(),
            platform_version: Some("1.4.0".into()),
        }
    );
    // Jobs always run: the release changes something, in one wave.
    assert_eq!(plan.waves(), 1);
    assert_eq!(plan.planned(records()).changed, 1);

    // The newest revision already has the image: it runs as it is, nothing to register.
    let same = planned(&ecs, release(vec![job_target("repo/app:2")]))
        .await
        .unwrap();
    assert_eq!(same.jobs[0].new_task_definition, Some(newest));
}

#[tokio::test]
async fn what_keeps_a_job_from_running_is_reported_all_at_once_naming_each_field() {
    let (ecs, _) = world();
    let missing_cluster = JobTarget {
        name: "seed".into(),
        cluster: "gone".into(),
        ..job_target("repo/app:3")
    };
    let missing_lender = JobTarget {
        name: "backfill".into(),
        launch: JobLaunchSettings {
            network_from: Some("prod/nope".into()),
            ..JobLaunchSettings::default()
        },
        ..job_target("repo/app:3")
    };
    let no_network = JobTarget {
        name: "reindex".into(),
        launch: JobLaunchSettings::default(),
        ..job_target("repo/app:3")
    };
    let mut unknown_override = job_target("repo/app:3");
    unknown_override.name = "vacuum".into();
    unknown_override
        .overrides
        .insert("worker".into(), ContainerOverride::default());
    let err = planned(
        &ecs,
        release(vec![
            missing_cluster,
            missing_lender,
            no_network,
            unknown_override,
        ]),
    )
    .await
    .unwrap_err();
    let release_core::Error::PreflightFailed(problems) = err else {
        panic!("{err}");
    };
    let found: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("jobs[0] (seed)", "cluster"),
            ("jobs[1] (backfill)", "networkFrom"),
            ("jobs[2] (reindex)", "networkConfiguration"),
            ("jobs[3] (vacuum)", "overrides.worker"),
        ],
        "{problems:#?}"
    );
    assert!(
        problems[2].message.contains("awsvpc"),
        "{}",
        problems[2].message
    );
    assert!(
        problems[3].message.contains("it has: app, log"),
        "{}",
        problems[3].message
    );
    assert_eq!(
        ecs.calls("RunTask") + ecs.calls("RegisterTaskDefinition"),
        0
    );
}

/// A plan of the job (wave 0) and service api (wave 1 when `api_after`, else wave 0), recorded
/// with its layouts as plan-release leaves it.
async fn recorded_plan(ecs: &FakeEcs, api_after: bool) -> (Plan, RecordStore<MemoryStore>) {
    let mut plan = planned(ecs, release(vec![job_target("repo/app:3")]))
        .await
        .unwrap();
    let api = ecs.service_state("prod", "api").unwrap();
    let api_revision = api.task_definition().unwrap().to_owned();
    plan.services.push(ServiceItem {
        wave: u32::from(api_after),
        ..examples::service_item(
            "prod",
            "api",
            &api_revision,
            images(&[("app", "repo/api:2")]),
        )
    });
    plan.changed_services = 1;
    let store = RecordStore::new(MemoryStore::default());
    for (wave, layout) in (0_u32..).zip(&wave_layouts(&plan, 10, AccountRates::ECS)) {
        store.write_layout(&records(), wave, layout).await.unwrap();
    }
    let plan = store.write_plan(&records(), plan).await.unwrap();
    (Plan::clone(&plan), store)
}

async fn deploy_wave(ecs: &FakeEcs, store: &RecordStore<MemoryStore>, plan: &Plan, wave: u32) {
    let layouts = wave_layouts(plan, 10, AccountRates::ECS);
    for spec in &layouts[usize::try_from(wave).unwrap()].specs {
        let input = BatchInput {
            release_id: "r-1".into(),
            records: records(),
            execution_arn: EXECUTION.into(),
            wave,
            batch: *spec,
        };
        let progress = deploy_batch(
            ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            store,
            &input,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(progress.remaining, 0);
    }
}

async fn job_result(store: &RecordStore<MemoryStore>) -> ItemResult {
    store
        .read(&records(), &result_name(PlanItemKind::Job, "prod/migrate"))
        .await
        .unwrap()
        .unwrap()
}

async fn round(
    ecs: &FakeEcs,
    store: &RecordStore<MemoryStore>,
    phase: StabilityPhase,
    wave: u32,
) -> StabilityOutput {
    let input = StabilityInput {
        release_id: "r-1".into(),
        records: records(),
        poll_interval_seconds: 0,
        phase,
        wave,
    };
    check_round(
        ecs,
        &FakeCodeDeploy::default(),
        store,
        &input,
        Duration::ZERO,
    )
    .await
    .unwrap();
    store
        .read(&records(), stability_name(phase))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_job_runs_once_from_its_new_revision_with_its_overrides_and_network() {
    let (ecs, _) = world();
    let (plan, store) = recorded_plan(&ecs, true).await;
    deploy_wave(&ecs, &store, &plan, 0).await;
    let run = job_result(&store).await.job.unwrap();
    let started = ecs.run_tasks();
    assert_eq!(started.len(), 1);
    let task = &started[0];
    assert_eq!(task.started_by, "convoy/r-1");
    assert_eq!(task.client_token.len(), 64);
    assert_eq!(task.overrides, plan.jobs[0].overrides);
    assert_eq!(task.launch, plan.jobs[0].launch);
    assert!(
        run.task_definition.ends_with("task-definition/migrate:3"),
        "{run:?}"
    );
    assert_eq!(ecs.calls("RegisterTaskDefinition"), 1);
    let (registered, _) = ecs.stored(&run.task_definition).unwrap();
    let registered: Vec<(&str, &str)> = registered
        .container_definitions()
        .iter()
        .map(|c| (c.name().unwrap(), c.image().unwrap()))
        .collect();
    assert_eq!(registered, [("app", "repo/app:3"), ("log", "log:1")]);
    // api waits for the next wave.
    assert_eq!(ecs.calls("UpdateService"), 0);

    // The batch called again (a retried call): the job has its record, nothing runs again.
    deploy_wave(&ecs, &store, &plan, 0).await;
    assert_eq!(ecs.run_tasks().len(), 1);
    assert_eq!(ecs.calls("RunTask"), 1);
}

#[tokio::test]
async fn a_run_whose_answer_was_lost_gets_the_task_it_started_not_a_second_one() {
    let (ecs, _) = world();
    let (plan, _) = recorded_plan(&ecs, true).await;
    let mut job: JobItem = plan.jobs[0].clone();
    job.new_task_definition = Some(job.previous_task_definition.clone());
    let first = run_job(&ecs, "r-1", EXECUTION, &job, 100).await.unwrap();
    let again = run_job(&ecs, "r-1", EXECUTION, &job, 200).await.unwrap();
    assert_eq!(first.task_arn, again.task_arn);
    assert_eq!(ecs.run_tasks().len(), 1);
    assert_eq!(first.deadline, 700);
    // Another execution of the release runs it again.
    let other = run_job(&ecs, "r-1", &format!("{EXECUTION}-2"), &job, 300)
        .await
        .unwrap();
    assert_ne!(other.task_arn, first.task_arn);
}

#[tokio::test]
async fn a_refused_or_throttled_run_task() {
    let (ecs, _) = world();
    let (plan, store) = recorded_plan(&ecs, true).await;
    // Throttled once: the next token retries, one task.
    ecs.throttle("RunTask", 1);
    deploy_wave(&ecs, &store, &plan, 0).await;
    assert_eq!(ecs.calls("RunTask"), 2);
    assert_eq!(ecs.run_tasks().len(), 1);
    assert!(job_result(&store).await.job.is_some());

    let (ecs, _) = world();
    let (plan, store) = recorded_plan(&ecs, true).await;
    ecs.refuse("RunTask");
    deploy_wave(&ecs, &store, &plan, 0).await;
    let failed = job_result(&store).await;
    assert_eq!(failed.error.unwrap().error, "AccessDenied");
    // The wave's first round counts it as a failure at once.
    let judged = round(&ecs, &store, StabilityPhase::Release, 0).await;
    assert_eq!((judged.pending, judged.deploy_failed), (0, 1), "{judged:?}");
}

#[tokio::test]
async fn a_job_is_judged_by_its_essential_containers_exit_codes() {
    for (exits, outcome, reason) in [
        (
            vec![("app", Some(0)), ("log", Some(0))],
            Outcome::Succeeded,
            "every essential container exited 0",
        ),
        (
            vec![("app", Some(1)), ("log", Some(0))],
            Outcome::Failed,
            "container app exited 1; task stopped (EssentialContainerExited): Essential \
             container in task exited",
        ),
    ] {
        let (ecs, _) = world();
        let (plan, store) = recorded_plan(&ecs, true).await;
        deploy_wave(&ecs, &store, &plan, 0).await;
        let running = round(&ecs, &store, StabilityPhase::Release, 0).await;
        assert_eq!((running.pending, running.failed), (1, 0), "{running:?}");
        assert_eq!(running.jobs[0].reason.as_deref(), Some("task RUNNING"));

        let task = ecs.run_tasks()[0].task.task_arn().unwrap().to_owned();
        ecs.stop(
            &task,
            &exits,
            TaskStopCode::EssentialContainerExited,
            "Essential container in task exited",
        );
        let judged = round(&ecs, &store, StabilityPhase::Release, 0).await;
        let job = &judged.jobs[0];
        assert_eq!(job.outcome, outcome, "{job:?}");
        assert_eq!(job.reason.as_deref(), Some(reason));
        assert_eq!(job.containers.len(), 2);
        assert_eq!(judged.pending, 0);
        assert_eq!(judged.failed, u32::from(outcome == Outcome::Failed));
    }
}

#[tokio::test]
async fn a_job_still_running_at_its_deadline_is_stopped_once_and_timed_out() {
    let (ecs, _) = world();
    let (plan, store) = recorded_plan(&ecs, true).await;
    deploy_wave(&ecs, &store, &plan, 0).await;
    // Its deadline already passed.
    let mut result = job_result(&store).await;
    if let Some(run) = result.job.as_mut() {
        run.deadline = 0;
    }
    store
        .write_result(&records(), PlanItemKind::Job, &result)
        .await
        .unwrap();
    // Stopped, and awaited until ECS says it has stopped.
    let stopping = round(&ecs, &store, StabilityPhase::Release, 0).await;
    let job = &stopping.jobs[0];
    assert_eq!(job.outcome, Outcome::InProgress, "{job:?}");
    assert!(job.stop_requested);
    assert_eq!(
        job.reason.as_deref(),
        Some("still RUNNING at its deadline: stopping it (StopTask)")
    );
    assert_eq!(ecs.calls("StopTask"), 1);
    assert_eq!((stopping.pending, stopping.failed), (1, 0));
    let task = &ecs.run_tasks()[0].task;
    assert_eq!(task.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert!(task.stopped_reason().unwrap().contains("prod/migrate"));
    // The next round finds it stopped: timed out, with its containers' exits.
    let judged = round(&ecs, &store, StabilityPhase::Release, 0).await;
    let job = &judged.jobs[0];
    assert_eq!(job.outcome, Outcome::TimedOut, "{job:?}");
    assert!(
        job.reason.as_deref().unwrap().starts_with(
            "stopped at its deadline: task stopped (UserInitiated): convoy: job prod/migrate"
        ),
        "{job:?}"
    );
    assert_eq!(job.containers[0].exit_code, Some(137));
    assert_eq!((judged.pending, judged.failed), (0, 1));
    // Never stopped twice.
    round(&ecs, &store, StabilityPhase::Release, 0).await;
    assert_eq!(ecs.calls("StopTask"), 1);
}

#[tokio::test]
async fn a_rollback_awaits_a_job_of_its_wave_still_running_and_never_undoes_it() {
    let (ecs, _) = world();
    // The job and api deploy in the same wave; api fails while the migration still runs.
    let (plan, store) = recorded_plan(&ecs, false).await;
    deploy_wave(&ecs, &store, &plan, 0).await;
    let mut stability = round(&ecs, &store, StabilityPhase::Release, 0).await;
    stability.items[0].outcome = Outcome::Failed;
    stability.items[0].reason = Some("circuit breaker".into());
    store
        .write(
            &records(),
            stability_name(StabilityPhase::Release),
            &stability,
        )
        .await
        .unwrap();

    let counts = rollback_release(
        &ecs,
        &FakeEvents::default(),
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        &store,
        &RollbackInput {
            release_id: "r-1".into(),
            records: records(),
            wave: 0,
        },
    )
    .await
    .unwrap();
    // api's restore and the job's task to await.
    assert_eq!(counts.pending, 2, "{counts:?}");
    let awaiting: StabilityOutput = store
        .read(&records(), stability_name(StabilityPhase::Rollback))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(awaiting.jobs.len(), 1);
    assert_eq!(awaiting.jobs[0].outcome, Outcome::InProgress);
    assert_eq!(
        ecs.calls("StopTask"),
        0,
        "a migration is not killed by a rollback"
    );

    let task = ecs.run_tasks()[0].task.task_arn().unwrap().to_owned();
    ecs.stop(&task, &[], TaskStopCode::EssentialContainerExited, "done");
    let mut awaited = round(&ecs, &store, StabilityPhase::Rollback, 0).await;
    assert_eq!(awaited.jobs[0].outcome, Outcome::Succeeded);
    // The fake's restoring rollout does not progress: it is taken as done here.
    assert_eq!(awaited.pending, 1, "{awaited:?}");
    awaited.items[0].outcome = Outcome::Succeeded;
    awaited.pending = 0;

    // The report: api rolled back... and the migration Ran, not undone.
    let mut deployed = store.deployed(&records()).await.unwrap();
    deployed.rollback = store.read(&records(), "rollback.json").await.unwrap();
    deployed.rollback_stability = Some(awaited);
    let report = report::build(&deployed, &Default::default());
    let job = report
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Job)
        .unwrap();
    assert_eq!(job.outcome, ItemOutcome::Ran, "{job:?}");
    assert!(
        job.reason.as_deref().unwrap().contains("not undone"),
        "{job:?}"
    );
    assert_eq!(job.stopped_reasons, ["app: exit 0", "log: exit 0"]);
    assert!(job
        .new_task_definition
        .as_deref()
        .unwrap()
        .ends_with("migrate:3"));
    assert_eq!(report.outcome, ReleaseOutcome::RolledBack, "{report:?}");
}

#[tokio::test]
async fn a_failed_migration_is_reported_with_each_containers_exit() {
    let (ecs, _) = world();
    let (plan, store) = recorded_plan(&ecs, true).await;
    deploy_wave(&ecs, &store, &plan, 0).await;
    let task = ecs.run_tasks()[0].task.task_arn().unwrap().to_owned();
    ecs.stop(
        &task,
        &[("app", Some(3))],
        TaskStopCode::EssentialContainerExited,
        "Essential container in task exited",
    );
    let judged = round(&ecs, &store, StabilityPhase::Release, 0).await;
    let mut deployed = store.deployed(&records()).await.unwrap();
    deployed.stability = Some(judged);
    let report = report::build(&deployed, &Default::default());
    let lines: BTreeMap<&str, (ItemKind, ItemOutcome)> = report
        .items
        .iter()
        .map(|i| (i.id.as_str(), (i.kind, i.outcome)))
        .collect();
    assert_eq!(
        lines,
        BTreeMap::from([
            ("prod/api", (ItemKind::Service, ItemOutcome::NotStarted)),
            ("prod/migrate", (ItemKind::Job, ItemOutcome::Failed)),
        ])
    );
    let job = report
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Job)
        .unwrap();
    assert!(
        job.reason
            .as_deref()
            .unwrap()
            .starts_with("container app exited 3"),
        "{job:?}"
    );
    assert_eq!(job.stopped_reasons, ["app: exit 3", "log: exit 0"]);
    assert_eq!(report.outcome, ReleaseOutcome::Failed);
}

#[tokio::test]
async fn a_release_that_ends_while_its_job_runs_names_the_task_it_leaves_running() {
    // The execution stopped (or timed out) while the migration ran: the watchdog reports from the
    // records, and the job's line says where to look.
    let (ecs, _) = world();
    let (plan, store) = recorded_plan(&ecs, true).await;
    deploy_wave(&ecs, &store, &plan, 0).await;
    let running = round(&ecs, &store, StabilityPhase::Release, 0).await;
    let mut deployed = store.deployed(&records()).await.unwrap();
    deployed.stability = Some(running);
    let report = report::build(&deployed, &Default::default());
    let job = report
        .items
        .iter()
        .find(|i| i.kind == ItemKind::Job)
        .unwrap();
    let task = ecs.run_tasks()[0].task.task_arn().unwrap().to_owned();
    assert_eq!(job.outcome, ItemOutcome::Failed);
    assert_eq!(
        job.reason.as_deref(),
        Some(
            format!("the release stopped before its task ended: {task} may still be running")
                .as_str()
        )
    );
    assert_eq!(
        ecs.calls("StopTask"),
        0,
        "a migration is never stopped for lack of an observer"
    );
}
