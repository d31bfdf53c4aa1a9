//! Auto scaling held during a release, through the steps with in-memory AWS: deploy-batch suspends
//! a held service (record first) before updating it, a refused suspension fails the item before
//! any change, and finish-release puts the recorded state back whatever the outcome.

use std::time::Duration;

use aws_sdk_ecs::types::DeploymentControllerType;
use release_core::aws::fake::{FakeEcs, FakeEvents, MemoryStore};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scaling::FakeScaling;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::aws::locks::fake::MemoryLocks;
use release_core::contract::{
    examples, BatchInput, FinishInput, Plan, Records, ScalableTarget, ScalingHold, SuspendedState,
};
use release_core::decide::batches::{wave_layouts, AccountRates};
use release_core::records::RecordStore;
use release_core::steps::deploy_batch::deploy_batch;
use release_core::steps::finish_release::finish_release;
use release_core::steps::scaling::hold_name;

const EXECUTION: &str = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:e-1";

fn records() -> Records {
    Records::for_execution("convoy-records", "r", "e-1")
}

/// What an operator set before the release: scheduled actions off, dynamic scaling on.
fn before() -> SuspendedState {
    SuspendedState {
        scheduled_scaling_suspended: true,
        ..SuspendedState::default()
    }
}

struct World {
    ecs: FakeEcs,
    scaling: FakeScaling,
    store: RecordStore<MemoryStore>,
    plan: Plan,
}

/// prod/web, held, with a scalable target 2..10; planned and recorded as plan-release leaves it.
async fn world() -> World {
    let ecs = FakeEcs::default();
    let old = ecs.definition("web", &[("app", "web:1")], &[]);
    let ecs = ecs.cluster("prod", "ACTIVE").service(
        "prod",
        "web",
        &old,
        "ACTIVE",
        DeploymentControllerType::Ecs,
    );
    let scaling = FakeScaling::default().target("prod", "web", 2, 10, before());
    let mut web = examples::service_item("prod", "web", &old, examples::app_image("web:2"));
    web.auto_scaling = scaling.stored("prod", "web");
    let plan = examples::plan(vec![web], Vec::new());
    let store = RecordStore::new(MemoryStore::default());
    for (wave, layout) in (0_u32..).zip(&wave_layouts(&plan, 10, AccountRates::ECS)) {
        store.write_layout(&records(), wave, layout).await.unwrap();
    }
    store.write_plan(&records(), plan.clone()).await.unwrap();
    World {
        ecs,
        scaling,
        store,
        plan,
    }
}

impl World {
    async fn deploy(&self) -> release_core::contract::BatchProgress {
        let spec = wave_layouts(&self.plan, 10, AccountRates::ECS)[0].specs[0];
        let input = BatchInput {
            release_id: "r".into(),
            records: records(),
            execution_arn: EXECUTION.into(),
            wave: 0,
            batch: spec,
        };
        deploy_batch(
            &self.ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &self.scaling,
            &self.store,
            &input,
            Duration::from_secs(60),
        )
        .await
        .unwrap()
    }

    async fn finish(&self) -> release_core::contract::ReleaseReport {
        let input = FinishInput {
            release_id: "r".into(),
            execution_arn: EXECUTION.into(),
            started_at: None,
            records: records(),
            failures: Default::default(),
        };
        finish_release(
            &self.ecs,
            &FakeEvents::default(),
            &self.scaling,
            &self.store,
            &MemoryLocks::default(),
            &input,
            None,
        )
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn a_held_service_is_suspended_before_its_update_and_restored_at_the_end() {
    let w = world().await;
    let progress = w.deploy().await;
    assert_eq!((progress.remaining, progress.failed), (0, 0));
    assert_eq!(
        w.scaling.set_calls(),
        [(
            ScalableTarget::resource_id("prod", "web"),
            SuspendedState::ALL
        )]
    );
    let hold: ScalingHold = w
        .store
        .read(&records(), &hold_name("prod/web"))
        .await
        .unwrap()
        .expect("the hold is recorded");
    assert_eq!(
        (hold.release_id.as_str(), hold.execution_arn.as_str()),
        ("r", EXECUTION)
    );
    assert_eq!(hold.previous.suspended, before());
    assert_eq!(w.ecs.calls("UpdateService"), 1);

    let report = w.finish().await;
    let scaling = report.auto_scaling.expect("a scaling report");
    assert_eq!(scaling.restored, ["prod/web"]);
    assert_eq!(w.scaling.stored("prod", "web").unwrap().suspended, before());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_suspension_is_tried_again_before_the_update() {
    let w = world().await;
    w.scaling.throttle("RegisterScalableTarget", 2);
    let progress = w.deploy().await;
    assert_eq!((progress.remaining, progress.failed), (0, 0));
    assert_eq!(w.scaling.calls("RegisterScalableTarget"), 3);
    assert_eq!(
        w.scaling.set_calls(),
        [(
            ScalableTarget::resource_id("prod", "web"),
            SuspendedState::ALL
        )]
    );
    assert_eq!(w.ecs.calls("UpdateService"), 1);
}

#[tokio::test]
async fn a_suspension_refused_fails_the_item_before_it_changes() {
    let w = world().await;
    w.scaling.refuse("RegisterScalableTarget");
    let progress = w.deploy().await;
    assert_eq!(progress.failed, 1);
    assert_eq!(
        w.ecs.calls("UpdateService"),
        0,
        "not updated while it may scale"
    );
    // The record was written first: the restore tries, fails, and says how to finish it.
    let report = w.finish().await;
    let scaling = report.auto_scaling.expect("a scaling report");
    assert_eq!(scaling.failed.len(), 1, "{scaling:?}");
    assert!(scaling.failed[0].starts_with("prod/web: "), "{scaling:?}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("convoy resume-scaling r")),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn a_release_that_never_reached_the_service_leaves_its_scaling_alone() {
    let w = world().await;
    let report = w.finish().await;
    let scaling = report.auto_scaling.expect("held, so reported");
    assert!(
        scaling.restored.is_empty() && scaling.failed.is_empty(),
        "{scaling:?}"
    );
    assert_eq!(w.scaling.calls("RegisterScalableTarget"), 0);
}
