//! A release of several waves (`dependsOn`) through the steps, on in-memory ECS and records: one
//! batch layout per wave, the release's stability record growing wave by wave, and a rollback
//! that restores one wave a call, from the wave the release stopped in down to wave 0, never
//! touching a wave that did not start.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_ecs::types::DeploymentControllerType;
use release_core::aws::fake::{FakeEcs, FakeEvents, MemoryStore};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::aws::{EcsApi, ServiceUpdate};
use release_core::contract::{
    examples, ItemResult, Plan, PlanItemKind, Records, ReleaseMeta, RestoreOutcome, RollbackInput,
    RollbackOutput, ServiceDeployment, ServiceItem, Settings, StabilityInput, StabilityOutput,
    StabilityPhase, Strategy,
};
use release_core::decide::batches::{wave_layouts, AccountRates};
use release_core::records::{stability_name, RecordStore, ROLLBACK};
use release_core::steps::check_stability::check_round;
use release_core::steps::rollback::rollback_release;

/// db (wave 0), api (wave 1) and web (wave 2) in cluster prod, each on revision 1 with revision
/// 2 registered.
struct World {
    ecs: FakeEcs,
    plan: Plan,
    /// Per service: (revision 1, revision 2).
    revisions: Vec<(String, String)>,
}

fn world() -> World {
    let ecs = FakeEcs::default();
    let names = ["db", "api", "web"];
    let revisions: Vec<(String, String)> = names
        .iter()
        .map(|n| {
            (
                ecs.definition(n, &[("app", &format!("{n}:1"))], &[]),
                ecs.definition(n, &[("app", &format!("{n}:2"))], &[]),
            )
        })
        .collect();
    let mut ecs = ecs.cluster("prod", "ACTIVE");
    for (name, (old, _)) in names.iter().zip(&revisions) {
        ecs = ecs.service("prod", name, old, "ACTIVE", DeploymentControllerType::Ecs);
    }
    let services: Vec<ServiceItem> = (0_u32..)
        .zip(names.iter().zip(&revisions))
        .map(|(wave, (name, (old, new)))| ServiceItem {
            wave,
            new_task_definition: Some(new.clone()),
            ..examples::service_item("prod", name, old, Default::default())
        })
        .collect();
    let plan = Plan {
        release: ReleaseMeta {
            id: "r-1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services,
        tasks: Vec::new(),
        changed_services: 3,
        changed_tasks: 0,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    };
    World {
        ecs,
        plan,
        revisions,
    }
}

fn records() -> Records {
    Records::for_execution("convoy-records", "r-1", "e-1")
}

/// The plan and its layouts recorded, as plan-release leaves them.
async fn planned(world: &World) -> RecordStore<MemoryStore> {
    let store = RecordStore::new(MemoryStore::default());
    for (wave, layout) in (0_u32..).zip(&wave_layouts(&world.plan, 10, AccountRates::ECS)) {
        store.write_layout(&records(), wave, layout).await.unwrap();
    }
    store
        .write_plan(&records(), world.plan.clone())
        .await
        .unwrap();
    store
}

/// Service `index` moved to revision 2, and its result recorded, as deploy-batch leaves it.
async fn deployed(world: &World, store: &RecordStore<MemoryStore>, index: usize) {
    let item = &world.plan.services[index];
    let new = world.revisions[index].1.clone();
    let service = world
        .ecs
        .update_service(&ServiceUpdate {
            cluster: "prod".into(),
            service: item.service.clone(),
            task_definition: Some(new.clone()),
            desired_count: None,
            minimum_healthy_percent: None,
            maximum_percent: None,
            strategy: None,
        })
        .await
        .unwrap();
    let deployment = ServiceDeployment {
        id: item.id.clone(),
        cluster: "prod".into(),
        service: item.service.clone(),
        previous_task_definition: item.previous_task_definition.clone(),
        new_task_definition: new,
        deployment_id: service.deployments()[0].id().unwrap().to_owned(),
        deadline: i64::MAX,
        strategy: Strategy::Rolling,
        service_deployment_arn: None,
        awaits: Default::default(),
        code_deploy: None,
    };
    let result = ItemResult {
        id: item.id.clone(),
        deployment: Some(deployment),
        rule: None,
        error: None,
        job: None,
        schedule: None,
        kind: None,
    };
    store
        .write_result(&records(), PlanItemKind::Service, &result)
        .await
        .unwrap();
}

fn task_definition(ecs: &FakeEcs, service: &str) -> String {
    ecs.service_state("prod", service)
        .unwrap()
        .task_definition()
        .unwrap()
        .to_owned()
}

async fn release_round(
    world: &World,
    store: &RecordStore<MemoryStore>,
    wave: u32,
) -> StabilityOutput {
    let input = StabilityInput {
        release_id: "r-1".into(),
        records: records(),
        poll_interval_seconds: 0,
        phase: StabilityPhase::Release,
        wave,
    };
    check_round(
        &world.ecs,
        &FakeCodeDeploy::default(),
        store,
        &input,
        Duration::ZERO,
    )
    .await
    .unwrap();
    store
        .read(&records(), stability_name(StabilityPhase::Release))
        .await
        .unwrap()
        .unwrap()
}

/// RollbackRelease's call for `wave`.
async fn rolled_back(
    world: &World,
    store: &RecordStore<MemoryStore>,
    wave: u32,
) -> Result<release_core::contract::StabilityCounts, release_core::Error> {
    let input = RollbackInput {
        release_id: "r-1".into(),
        records: records(),
        wave,
    };
    rollback_release(
        &world.ecs,
        &FakeEvents::default(),
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        store,
        &input,
    )
    .await
}

#[tokio::test]
async fn each_wave_has_its_own_batches_and_only_changed_waves_count() {
    let world = world();
    assert_eq!(world.plan.waves(), 3);
    let layouts = wave_layouts(&world.plan, 10, AccountRates::ECS);
    let ids: Vec<Vec<String>> = layouts
        .iter()
        .map(|l| {
            l.batches
                .iter()
                .flat_map(|b| b.services.iter().map(|s| s.id.clone()))
                .collect()
        })
        .collect();
    assert_eq!(ids, [["prod/db"], ["prod/api"], ["prod/web"]]);

    // Nothing changes: no wave at all.
    let mut unchanged = world.plan.clone();
    for s in &mut unchanged.services {
        s.noop = true;
    }
    assert_eq!(unchanged.waves(), 0);
    assert!(wave_layouts(&unchanged, 10, AccountRates::ECS).is_empty());
}

#[tokio::test]
async fn the_release_record_keeps_every_wave_so_far() {
    let world = world();
    let store = planned(&world).await;
    deployed(&world, &store, 0).await;
    let first = release_round(&world, &store, 0).await;
    let ids: Vec<&str> = first
        .items
        .iter()
        .map(|i| i.deployment.id.as_str())
        .collect();
    assert_eq!(ids, ["prod/db"]);
    assert_eq!(first.wave, 0);

    deployed(&world, &store, 1).await;
    let second = release_round(&world, &store, 1).await;
    let ids: Vec<&str> = second
        .items
        .iter()
        .map(|i| i.deployment.id.as_str())
        .collect();
    assert_eq!(ids, ["prod/db", "prod/api"], "{second:?}");
    assert_eq!(second.wave, 1);
    // The next round of the same wave continues it: no item twice.
    let again = release_round(&world, &store, 1).await;
    assert_eq!(again.items.len(), 2, "{again:?}");
}

#[tokio::test]
async fn a_rollback_restores_one_wave_a_call_downwards_and_never_touches_a_wave_not_started() {
    let world = world();
    let store = planned(&world).await;
    deployed(&world, &store, 0).await;
    deployed(&world, &store, 1).await;
    // The release stopped in wave 1 (api failed); web's wave never started.

    let first = rolled_back(&world, &store, 1).await.unwrap();
    assert_eq!(first.remaining_waves, 1, "{first:?}");
    assert_eq!(task_definition(&world.ecs, "api"), world.revisions[1].0);
    assert_eq!(task_definition(&world.ecs, "db"), world.revisions[0].1);
    let after_first: RollbackOutput = store.read(&records(), ROLLBACK).await.unwrap().unwrap();
    assert_eq!(after_first.wave, 1);

    let second = rolled_back(&world, &store, 0).await.unwrap();
    assert_eq!(second.remaining_waves, 0, "{second:?}");
    assert_eq!(task_definition(&world.ecs, "db"), world.revisions[0].0);
    let output: RollbackOutput = store.read(&records(), ROLLBACK).await.unwrap().unwrap();
    let restored: Vec<(&str, RestoreOutcome)> = output
        .restores
        .iter()
        .map(|r| (r.id.as_str(), r.outcome))
        .collect();
    assert_eq!(
        restored,
        [
            ("prod/api", RestoreOutcome::Restored),
            ("prod/db", RestoreOutcome::Restored)
        ]
    );
    let awaited: StabilityOutput = store
        .read(&records(), stability_name(StabilityPhase::Rollback))
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<&str> = awaited
        .items
        .iter()
        .map(|i| i.deployment.id.as_str())
        .collect();
    assert_eq!(ids, ["prod/api", "prod/db"]);

    // Called once more (a retried call whose answer was lost): the same wave, nothing restored
    // twice, no restore recorded twice.
    let updates = world.ecs.calls("UpdateService");
    let third = rolled_back(&world, &store, 0).await.unwrap();
    assert_eq!(third.remaining_waves, 0);
    assert_eq!(world.ecs.calls("UpdateService"), updates);
    let again: RollbackOutput = store.read(&records(), ROLLBACK).await.unwrap().unwrap();
    let ids: Vec<(&str, RestoreOutcome)> = again
        .restores
        .iter()
        .map(|r| (r.id.as_str(), r.outcome))
        .collect();
    assert_eq!(
        ids,
        [
            ("prod/api", RestoreOutcome::Restored),
            ("prod/db", RestoreOutcome::Restored)
        ]
    );
    let awaited: StabilityOutput = store
        .read(&records(), stability_name(StabilityPhase::Rollback))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(awaited.items.len(), 2, "{awaited:?}");
    // web was never looked at, let alone updated.
    assert_eq!(task_definition(&world.ecs, "web"), world.revisions[2].0);
    assert!(output.restores.iter().all(|r| r.id != "prod/web"));
}

#[tokio::test]
async fn a_wave_whose_restore_may_succeed_on_a_retry_is_restored_again_not_skipped() {
    let world = world();
    let store = planned(&world).await;
    deployed(&world, &store, 0).await;
    deployed(&world, &store, 1).await;
    // Every attempt at api's UpdateService this call is throttled.
    world.ecs.throttle("UpdateService", 1);
    let err = rolled_back(&world, &store, 1).await.unwrap_err();
    assert_eq!(err.name(), "Throttled", "{err}");
    let failed: RollbackOutput = store.read(&records(), ROLLBACK).await.unwrap().unwrap();
    assert_eq!(failed.wave, 1);
    assert_eq!(failed.restores[0].outcome, RestoreOutcome::Failed);

    // The retry redoes wave 1, replacing its failed restore.
    let retried = rolled_back(&world, &store, 1).await.unwrap();
    assert_eq!(retried.remaining_waves, 1);
    assert_eq!(task_definition(&world.ecs, "api"), world.revisions[1].0);
    let output: RollbackOutput = store.read(&records(), ROLLBACK).await.unwrap().unwrap();
    let api: Vec<RestoreOutcome> = output
        .restores
        .iter()
        .filter(|r| r.id == "prod/api")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(api, [RestoreOutcome::Restored]);
    // db is still to do.
    assert_eq!(task_definition(&world.ecs, "db"), world.revisions[0].1);
}
