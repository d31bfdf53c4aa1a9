//! EventBridge Scheduler schedules through the steps, on in-memory ECS, EventBridge, Scheduler and
//! records: planned from the task definition their ECS target runs, retargeted with every other
//! field of the schedule kept, never over someone else's change, rolled back, reported — and told
//! apart from a rule of the same id.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use release_core::aws::fake::{ecs_target, FakeEcs, FakeEvents, MemoryStore};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scaling::FakeScaling;
use release_core::aws::fake_scheduler::{ecs_schedule, FakeScheduler};
use release_core::contract::{
    BatchInput, ImageMap, Images, ItemKind, ItemOutcome, Plan, PlanItemKind, Records, ReleaseInput,
    ReleaseMeta, ReleaseOutcome, RestoreOutcome, RollbackInput, RuleTarget, ScheduleTarget,
    Settings,
};
use release_core::decide::batches::{wave_layouts, AccountRates};
use release_core::decide::preflight::Reach;
use release_core::decide::report;
use release_core::records::{result_name, RecordStore};
use release_core::steps::deploy_batch::deploy_batch;
use release_core::steps::plan_release::plan;
use release_core::steps::rollback::rollback_release;
use release_core::steps::update_schedule::update_schedule;

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:e-1";

fn records() -> Records {
    Records::for_execution("convoy-records", "r-1", "e-1")
}

fn image(image: &str) -> Images {
    Images::Default {
        preferred: "report".into(),
        image: image.into(),
    }
}

/// The family report at revision 1, run by the schedule default/nightly (every field set) and by
/// the rule default/nightly's target.
struct World {
    ecs: FakeEcs,
    events: FakeEvents,
    scheduler: FakeScheduler,
    report_1: String,
}

fn world() -> World {
    let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
    let report_1 = ecs.definition("report", &[("report", "repo/report:1")], &[]);
    let events =
        FakeEvents::default().rule("default", "nightly", vec![ecs_target("t1", &report_1)]);
    let scheduler =
        FakeScheduler::default().schedule(ecs_schedule("default", "nightly", &report_1));
    World {
        ecs,
        events,
        scheduler,
        report_1,
    }
}

fn release(schedules: Vec<ScheduleTarget>, tasks: Vec<RuleTarget>) -> ReleaseInput {
    ReleaseInput {
        release: ReleaseMeta {
            id: "r-1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services: Vec::new(),
        tasks,
        schedules,
        jobs: Vec::new(),
        waves: Vec::new(),
    }
}

fn nightly(image_ref: &str) -> ScheduleTarget {
    ScheduleTarget {
        name: Some("nightly-schedule".into()),
        depends_on: Vec::new(),
        schedule: "nightly".into(),
        group: "default".into(),
        images: image(image_ref),
    }
}

fn nightly_rule(image_ref: &str) -> RuleTarget {
    RuleTarget {
        name: None,
        depends_on: Vec::new(),
        rule: "nightly".into(),
        event_bus: "default".into(),
        images: image(image_ref),
    }
}

async fn planned(w: &World, input: ReleaseInput) -> Result<Plan, release_core::Error> {
    let codedeploy = FakeCodeDeploy::default();
    plan(
        &w.ecs,
        &w.events,
        &codedeploy,
        &w.scheduler,
        input,
        &Reach::default(),
    )
    .await
}

/// Plans, records and deploys wave 0, as the state machine would.
async fn deployed(w: &World, input: ReleaseInput) -> (Plan, RecordStore<MemoryStore>) {
    let plan = planned(w, input).await.unwrap();
    let store = RecordStore::new(MemoryStore::default());
    let layouts = wave_layouts(&plan, 10, AccountRates::ECS);
    for (wave, layout) in (0_u32..).zip(&layouts) {
        store.write_layout(&records(), wave, layout).await.unwrap();
    }
    let plan = Plan::clone(&store.write_plan(&records(), plan).await.unwrap());
    deploy_again(w, &store, &plan).await;
    (plan, store)
}

async fn deploy_again(w: &World, store: &RecordStore<MemoryStore>, plan: &Plan) {
    let layouts = wave_layouts(plan, 10, AccountRates::ECS);
    for spec in &layouts[0].specs {
        let input = BatchInput {
            release_id: "r-1".into(),
            records: records(),
            execution_arn: EXECUTION.into(),
            wave: 0,
            batch: *spec,
        };
        let codedeploy = FakeCodeDeploy::default();
        deploy_batch(
            &w.ecs,
            &w.events,
            &codedeploy,
            &w.scheduler,
            &FakeScaling::default(),
            store,
            &input,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    }
}

/// The schedule without its last modification date, which every UpdateSchedule moves.
fn unmodified(mut found: GetScheduleOutput) -> GetScheduleOutput {
    found.last_modification_date = None;
    found
}

fn target_task_definition(w: &World) -> String {
    let found = w.scheduler.stored("default", "nightly").unwrap();
    let target = found.target.unwrap();
    target.ecs_parameters.unwrap().task_definition_arn
}

#[tokio::test]
async fn a_schedule_is_planned_from_the_task_definition_its_target_runs() {
    let w = world();
    let plan = planned(&w, release(vec![nightly("repo/report:2")], Vec::new()))
        .await
        .unwrap();
    let item = &plan.schedules[0];
    assert_eq!(item.id, "default/nightly");
    assert_eq!(item.previous_task_definition, w.report_1);
    assert_eq!(
        item.images,
        ImageMap::from([("report".to_owned(), "repo/report:2".to_owned())])
    );
    assert!(!item.noop);
    assert_eq!(plan.waves(), 1);

    let same = planned(&w, release(vec![nightly("repo/report:1")], Vec::new()))
        .await
        .unwrap();
    assert!(same.schedules[0].noop);
    assert_eq!(same.waves(), 0);
}

#[tokio::test]
async fn a_missing_schedule_or_one_that_runs_no_ecs_task_is_a_pre_flight_problem() {
    let w = world();
    let lambda = aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput::builder()
        .group_name("default")
        .name("ping")
        .target(
            aws_sdk_scheduler::types::Target::builder()
                .arn("arn:aws:lambda:us-east-1:123456789012:function:ping")
                .role_arn("arn:aws:iam::123456789012:role/r")
                .build()
                .unwrap(),
        )
        .build();
    let w = World {
        scheduler: w.scheduler.schedule(lambda),
        ..w
    };
    let missing = ScheduleTarget {
        schedule: "gone".into(),
        group: "reports".into(),
        name: None,
        ..nightly("repo/report:2")
    };
    let ping = ScheduleTarget {
        schedule: "ping".into(),
        name: None,
        ..nightly("repo/report:2")
    };
    let err = planned(&w, release(vec![missing, ping], Vec::new()))
        .await
        .unwrap_err();
    let release_core::Error::PreflightFailed(problems) = err else {
        panic!("{err}");
    };
    let found: Vec<(&str, &str, &str)> = problems
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        found[0],
        (
            "schedules[0] (reports/gone)",
            "scheduleName",
            "schedule `gone` not found in schedule group `reports`"
        )
    );
    assert_eq!(found[1].0, "schedules[1] (ping)");
    assert!(found[1].2.contains("not an ECS task"), "{}", found[1].2);
}

#[tokio::test]
async fn a_release_retargets_the_schedule_keeping_every_other_field_once() {
    let w = world();
    let before = w.scheduler.stored("default", "nightly").unwrap();
    let (_, store) = deployed(&w, release(vec![nightly("repo/report:2")], Vec::new())).await;
    let now = target_task_definition(&w);
    assert!(now.ends_with("task-definition/report:2"), "{now}");
    // Everything but the task definition is as it was (the fake replaces the whole schedule
    // with what UpdateSchedule sent, as AWS does).
    let mut after = w.scheduler.stored("default", "nightly").unwrap();
    if let Some(ecs) = after
        .target
        .as_mut()
        .and_then(|t| t.ecs_parameters.as_mut())
    {
        ecs.task_definition_arn = w.report_1.clone();
    }
    assert_eq!(unmodified(after), unmodified(before));
    assert_eq!(w.scheduler.calls("UpdateSchedule"), 1);
    let result: release_core::contract::ItemResult = store
        .read(
            &records(),
            &result_name(PlanItemKind::Schedule, "default/nightly"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(result.schedule.unwrap().new_task_definition, now);
}

#[tokio::test]
async fn a_schedule_someone_changed_since_the_plan_is_not_overwritten() {
    let w = world();
    let plan = planned(&w, release(vec![nightly("repo/report:2")], Vec::new()))
        .await
        .unwrap();
    // A hotfix points the schedule at another revision after the plan.
    let hotfix = w
        .ecs
        .definition("report", &[("report", "repo/report:hotfix")], &[]);
    let w = World {
        scheduler: w
            .scheduler
            .schedule(ecs_schedule("default", "nightly", &hotfix)),
        ..w
    };
    let store = RecordStore::new(MemoryStore::default());
    for (wave, layout) in (0_u32..).zip(&wave_layouts(&plan, 10, AccountRates::ECS)) {
        store.write_layout(&records(), wave, layout).await.unwrap();
    }
    let plan = Plan::clone(&store.write_plan(&records(), plan).await.unwrap());
    deploy_again(&w, &store, &plan).await;
    assert_eq!(target_task_definition(&w), hotfix);
    assert_eq!(w.scheduler.calls("UpdateSchedule"), 0);
    let result: release_core::contract::ItemResult = store
        .read(
            &records(),
            &result_name(PlanItemKind::Schedule, "default/nightly"),
        )
        .await
        .unwrap()
        .unwrap();
    let error = result.error.unwrap();
    assert_eq!(error.error, "TargetsRejected");
    assert!(
        error.cause.contains("someone changed it since"),
        "{}",
        error.cause
    );
}

#[tokio::test]
async fn a_rollback_points_the_schedule_back_and_leaves_a_later_change_alone() {
    let w = world();
    let (_, store) = deployed(&w, release(vec![nightly("repo/report:2")], Vec::new())).await;
    let rollback = || async {
        rollback_release(
            &w.ecs,
            &w.events,
            &FakeCodeDeploy::default(),
            &w.scheduler,
            &store,
            &RollbackInput {
                release_id: "r-1".into(),
                records: records(),
                wave: 0,
            },
        )
        .await
        .unwrap()
    };
    rollback().await;
    assert_eq!(target_task_definition(&w), w.report_1);
    let output: release_core::contract::RollbackOutput = store
        .read(&records(), "rollback.json")
        .await
        .unwrap()
        .unwrap();
    let restored: Vec<(&str, RestoreOutcome)> = output
        .restores
        .iter()
        .map(|r| (r.id.as_str(), r.outcome))
        .collect();
    assert_eq!(restored, [("default/nightly", RestoreOutcome::Restored)]);
    // Every field is back as it was.
    assert_eq!(
        unmodified(w.scheduler.stored("default", "nightly").unwrap()),
        unmodified(ecs_schedule("default", "nightly", &w.report_1))
    );
    // Called again (a retry): already current, nothing sent.
    let updates = w.scheduler.calls("UpdateSchedule");
    rollback().await;
    assert_eq!(w.scheduler.calls("UpdateSchedule"), updates);

    // Another release's change since: left alone.
    let w2 = world();
    let (_, store2) = deployed(&w2, release(vec![nightly("repo/report:2")], Vec::new())).await;
    let hotfix = w2
        .ecs
        .definition("report", &[("report", "repo/report:hotfix")], &[]);
    let w2 = World {
        scheduler: w2
            .scheduler
            .schedule(ecs_schedule("default", "nightly", &hotfix)),
        ..w2
    };
    rollback_release(
        &w2.ecs,
        &w2.events,
        &FakeCodeDeploy::default(),
        &w2.scheduler,
        &store2,
        &RollbackInput {
            release_id: "r-1".into(),
            records: records(),
            wave: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(target_task_definition(&w2), hotfix);
    let output: release_core::contract::RollbackOutput = store2
        .read(&records(), "rollback.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.restores[0].outcome, RestoreOutcome::LeftAlone);
}

#[tokio::test]
async fn a_rule_and_a_schedule_of_the_same_id_are_told_apart() {
    let w = world();
    let (_, store) = deployed(
        &w,
        release(
            vec![nightly("repo/report:2")],
            vec![nightly_rule("repo/report:3")],
        ),
    )
    .await;
    let deployed = store.deployed(&records()).await.unwrap();
    let report = report::build(&deployed, &Default::default());
    // Each line has its own kind and the revision with its own image.
    let lines: Vec<(&str, ItemKind, ItemOutcome, String)> = report
        .items
        .iter()
        .map(|i| {
            let new = i.new_task_definition.as_deref().unwrap();
            let (definition, _) = w.ecs.stored(new).unwrap();
            let image = definition.container_definitions()[0]
                .image()
                .unwrap()
                .to_owned();
            (i.id.as_str(), i.kind, i.outcome, image)
        })
        .collect();
    assert_eq!(
        lines,
        [
            (
                "default/nightly/t1",
                ItemKind::RuleTarget,
                ItemOutcome::Deployed,
                "repo/report:3".to_owned()
            ),
            (
                "default/nightly",
                ItemKind::Schedule,
                ItemOutcome::Deployed,
                "repo/report:2".to_owned()
            ),
        ]
    );
    assert_eq!(report.outcome, ReleaseOutcome::Succeeded);
}

#[tokio::test]
async fn an_update_made_before_a_crash_is_found_done_not_made_twice() {
    // deploy-batch updated the schedule, then stopped before recording it: the next call finds it
    // on the new revision already and records the update without another UpdateSchedule.
    let w = world();
    let plan = planned(&w, release(vec![nightly("repo/report:2")], Vec::new()))
        .await
        .unwrap();
    let new = w
        .ecs
        .definition("report", &[("report", "repo/report:2")], &[]);
    let item = release_core::contract::ScheduleItem {
        new_task_definition: Some(new.clone()),
        ..plan.schedules[0].clone()
    };
    let first = update_schedule(&w.scheduler, &item).await.unwrap();
    let again = update_schedule(&w.scheduler, &item).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(w.scheduler.calls("UpdateSchedule"), 1);
    assert_eq!(target_task_definition(&w), new);
}
