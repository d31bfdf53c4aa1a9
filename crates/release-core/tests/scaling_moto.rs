//! Auto scaling held during a release, against moto's Application Auto Scaling: the adapter reads
//! and sets what AWS stores, and the hold's record drives the restore whatever ended the release.

use aws_sdk_applicationautoscaling::types::{
    ScalableDimension, ServiceNamespace, SuspendedState as Sdk,
};
use aws_sdk_applicationautoscaling::Client;
use convoy_testkit::seed;
use release_core::aws::fake::MemoryStore;
use release_core::aws::ScalingApi;
use release_core::contract::{examples, Records, ScalableTarget, SuspendedState};
use release_core::records::RecordStore;
use release_core::steps::scaling::{hold_name, hold_of, preflight, restore, suspend};

use convoy_testkit::unique;

/// A service in moto with a scalable target (2..10) whose scheduled scaling an operator suspended.
async fn scaled_service(scaling: &Client, ecs: &aws_sdk_ecs::Client) -> (String, String) {
    let cluster = unique("scaling");
    seed::cluster(ecs, &cluster).await;
    let td = seed::fargate_task_definition(ecs, &unique("scaled"), &[("app", "app:v1")]).await;
    seed::fargate_service(ecs, &cluster, "web", &td, 4).await;
    scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(format!("service/{cluster}/web"))
        .min_capacity(2)
        .max_capacity(10)
        .suspended_state(
            Sdk::builder()
                .dynamic_scaling_in_suspended(false)
                .dynamic_scaling_out_suspended(false)
                .scheduled_scaling_suspended(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    (cluster, td)
}

fn operator_state() -> SuspendedState {
    SuspendedState {
        scheduled_scaling_suspended: true,
        ..SuspendedState::default()
    }
}

async fn stored(scaling: &Client, cluster: &str) -> ScalableTarget {
    let found = scaling
        .describe_ecs_targets(&[ScalableTarget::resource_id(cluster, "web")])
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_held_service_is_suspended_from_its_record_and_restored_to_what_it_was() {
    let moto = convoy_testkit::moto();
    let conf = moto.sdk_config().await;
    let (scaling, ecs) = (Client::new(&conf), aws_sdk_ecs::Client::new(&conf));
    let (cluster, td) = scaled_service(&scaling, &ecs).await;

    // Pre-flight: the target as it is, recorded in the plan; a service without one is skipped.
    let mut plan = examples::plan(
        vec![
            examples::service_item(&cluster, "web", &td, examples::app_image("app:v2")),
            examples::service_item(&cluster, "unscaled", &td, examples::app_image("app:v2")),
        ],
        Vec::new(),
    );
    let held = [
        (format!("{cluster}/web"), "services[0]".to_owned()),
        (format!("{cluster}/unscaled"), "services[1]".to_owned()),
    ]
    .into();
    preflight(&scaling, &mut plan, &held).await.unwrap();
    let recorded = plan.services[0].auto_scaling.clone().expect("recorded");
    assert_eq!(
        (
            recorded.min_capacity,
            recorded.max_capacity,
            recorded.suspended
        ),
        (2, 10, operator_state())
    );
    assert_eq!(plan.services[1].auto_scaling, None);

    // deploy-batch: the record first, then every flag on; a retried batch does the same again.
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r", &unique("e"));
    let hold = hold_of(&plan.services[0], "r", "arn:execution").expect("held");
    for _ in 0..2 {
        suspend(&scaling, &store, &records, &hold).await.unwrap();
    }
    assert!(store
        .read::<serde_json::Value>(&records, &hold_name(&hold.id))
        .await
        .unwrap()
        .is_some());
    let during = stored(&scaling, &cluster).await;
    assert_eq!(during.suspended, SuspendedState::ALL);
    assert_eq!(
        (during.min_capacity, during.max_capacity),
        (2, 10),
        "min and max untouched"
    );

    // The end: the operator's suspension of scheduled scaling stays; the rest scales again.
    let report = restore(&scaling, &store, &records, &plan)
        .await
        .expect("held");
    assert_eq!(report.restored, [format!("{cluster}/web")]);
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(stored(&scaling, &cluster).await.suspended, operator_state());
    // Again (`convoy resume-scaling` after a finish): the same state, nothing else.
    let again = restore(&scaling, &store, &records, &plan)
        .await
        .expect("held");
    assert_eq!(again.restored, report.restored);
    assert_eq!(stored(&scaling, &cluster).await.suspended, operator_state());
}

#[tokio::test]
async fn a_target_never_suspended_is_not_touched_by_the_restore() {
    // Its wave never started: someone changed the target since the plan; the restore leaves it.
    let moto = convoy_testkit::moto();
    let conf = moto.sdk_config().await;
    let (scaling, ecs) = (Client::new(&conf), aws_sdk_ecs::Client::new(&conf));
    let (cluster, td) = scaled_service(&scaling, &ecs).await;
    let mut plan = examples::plan(
        vec![examples::service_item(
            &cluster,
            "web",
            &td,
            examples::app_image("app:v2"),
        )],
        Vec::new(),
    );
    let held = [(format!("{cluster}/web"), "services[0]".to_owned())].into();
    preflight(&scaling, &mut plan, &held).await.unwrap();
    scaling
        .set_suspended(
            &ScalableTarget::resource_id(&cluster, "web"),
            SuspendedState::default(),
        )
        .await
        .unwrap();
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r", &unique("e"));
    let report = restore(&scaling, &store, &records, &plan)
        .await
        .expect("held");
    assert!(
        report.restored.is_empty() && report.failed.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        stored(&scaling, &cluster).await.suspended,
        SuspendedState::default()
    );
}

#[tokio::test]
async fn a_desired_count_outside_the_targets_bounds_is_a_preflight_problem() {
    let moto = convoy_testkit::moto();
    let conf = moto.sdk_config().await;
    let (scaling, ecs) = (Client::new(&conf), aws_sdk_ecs::Client::new(&conf));
    let (cluster, td) = scaled_service(&scaling, &ecs).await;
    let mut web = examples::service_item(&cluster, "web", &td, examples::app_image("app:v2"));
    web.desired_count = Some(12);
    let mut plan = examples::plan(vec![web], Vec::new());
    let held = [(
        format!("{cluster}/web"),
        format!("services[0] ({cluster}/web)"),
    )]
    .into();
    let err = preflight(&scaling, &mut plan, &held).await.unwrap_err();
    assert_eq!(err.name(), "PreflightFailed");
    let message = err.to_string();
    assert!(
        message.contains("field `desiredCount`") && message.contains("min 2, max 10"),
        "{message}"
    );
    assert_eq!(
        stored(&scaling, &cluster).await.suspended,
        operator_state(),
        "nothing changed"
    );
}
