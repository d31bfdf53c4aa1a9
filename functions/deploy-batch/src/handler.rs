use std::time::Duration;

use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{CodeDeployApi, EcsApi, EventsApi, ObjectStore, ScalingApi, SchedulerApi};
use release_core::contract::{BatchInput, BatchProgress};
use release_core::records::RecordStore;
use release_core::steps::deploy_batch;
use release_core::telemetry;
use serde_json::Value;

#[allow(clippy::too_many_arguments)] // its five AWS clients, the records, the budget and the event
pub async fn handle<
    E: EcsApi,
    V: EventsApi,
    C: CodeDeployApi,
    R: SchedulerApi,
    A: ScalingApi,
    S: ObjectStore,
>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &R,
    scaling: &A,
    store: &RecordStore<S>,
    budget: Duration,
    event: LambdaEvent<Value>,
) -> Result<BatchProgress, Diagnostic> {
    let input: BatchInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!(
        "deploy_batch",
        release_id = %input.release_id,
        wave = input.wave,
        batch = input.batch.batch,
    );
    let work = deploy_batch::deploy_batch(
        ecs, events, codedeploy, scheduler, scaling, store, &input, budget,
    );
    telemetry::traced("deploy-batch", span, work).await
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::types::{EcsParameters, Target};
    use convoy_testkit::seed;
    use lambda_runtime::{Context, LambdaEvent};
    use release_core::config::without_retries;
    use release_core::contract::{BatchSummary, ItemResult, PlanItemKind, Records, ReleaseInput};
    use release_core::decide::batches::{layout, AccountRates};
    use release_core::decide::manifest::arn::Home;
    use release_core::decide::preflight::Reach;
    use release_core::records::{batch_summary_name, result_name, wave_batches_name};
    use release_core::steps::plan_release::plan;
    use serde_json::json;

    use super::*;

    const BUCKET: &str = "batch-records";
    const CLUSTER: &str = "batch-prod";

    fn release() -> ReleaseInput {
        let image =
            |i: &str| json!({"containers": {"app": format!("registry.example.com/{i}:v2")}});
        serde_json::from_value(json!({
            "release": {"id": "r-batch", "source": "deployment.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                         "keepRevisions": 0},
            "services": [
                {"cluster": CLUSTER, "service": "web-a", "images": image("web"), "timeoutSeconds": 600},
                {"cluster": CLUSTER, "service": "web-b", "images": image("web"), "timeoutSeconds": 600},
                {"cluster": CLUSTER, "service": "api", "images": image("api"), "timeoutSeconds": 600}
            ],
            "tasks": [{"rule": "batch-nightly", "eventBus": "default", "images": image("web")}]
        }))
        .expect("a release")
    }

    async fn primary(ecs: &aws_sdk_ecs::Client, service: &str) -> String {
        let described = ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(service)
            .send()
            .await
            .expect("describe");
        described.services()[0]
            .deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.task_definition())
            .expect("a PRIMARY deployment")
            .to_owned()
    }

    #[tokio::test]
    async fn an_input_that_is_almost_right_is_refused_naming_the_field_and_changes_nothing() {
        let moto = convoy_testkit::moto();
        let conf = moto.sdk_config().await;
        let ecs = aws_sdk_ecs::Client::new(&conf);
        let events = aws_sdk_eventbridge::Client::new(&conf);
        let codedeploy = aws_sdk_codedeploy::Client::new(&conf);
        let scheduler = aws_sdk_scheduler::Client::new(&conf);
        let store = RecordStore::new(moto.bucket(BUCKET).await);
        // The batch spec as an older list had it: `registration` for `registrations`.
        let payload = json!({
            "releaseId": "r-batch",
            "records": Records::for_execution(BUCKET, "r-batch", "e-bad"),
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:release:e-bad",
            "wave": 0,
            "batch": {"batch": 0, "items": 1, "registration": 1,
                      "pace": {"registrations": {"burst": 20, "refillIntervalMs": 1000},
                               "updates": {"burst": 50, "refillIntervalMs": 200}}},
        });
        let err = handle(
            &ecs,
            &events,
            &codedeploy,
            &scheduler,
            &release_core::aws::fake_scaling::FakeScaling::default(),
            &store,
            Duration::from_secs(1),
            LambdaEvent::new(payload, Context::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type, "StepInputInvalid", "{}", err.error_message);
        for named in ["batch", "registration"] {
            assert!(err.error_message.contains(named), "{}", err.error_message);
        }
        let summary: Option<BatchSummary> = store
            .read(
                &Records::for_execution(BUCKET, "r-batch", "e-bad"),
                &batch_summary_name(0, 0),
            )
            .await
            .unwrap();
        assert!(summary.is_none(), "nothing recorded");
    }

    /// One test on purpose: it counts moto's RegisterTaskDefinition calls, which concurrent seeding
    /// in the same process would disturb.
    #[tokio::test]
    async fn deploys_the_batch_plan_release_cut_registering_a_shared_definition_once() {
        let moto = convoy_testkit::moto();
        let conf = moto.sdk_config().await;
        let ecs = aws_sdk_ecs::Client::new(&conf);
        let events = aws_sdk_eventbridge::Client::new(&conf);
        let codedeploy = aws_sdk_codedeploy::Client::new(&conf);
        let scheduler = aws_sdk_scheduler::Client::new(&conf);
        let store = RecordStore::new(moto.bucket(BUCKET).await);
        seed::cluster(&ecs, CLUSTER).await;
        let web = seed::fargate_task_definition(
            &ecs,
            "batch-web",
            &[("app", "registry.example.com/web:v1")],
        )
        .await;
        let api = seed::fargate_task_definition(
            &ecs,
            "batch-api",
            &[("app", "registry.example.com/api:v1")],
        )
        .await;
        seed::fargate_service(&ecs, CLUSTER, "web-a", &web, 1).await;
        seed::fargate_service(&ecs, CLUSTER, "web-b", &web, 1).await;
        seed::fargate_service(&ecs, CLUSTER, "api", &api, 1).await;
        let nightly = Target::builder()
            .id("report")
            .arn(format!(
                "arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}"
            ))
            .role_arn("arn:aws:iam::123456789012:role/events")
            .ecs_parameters(
                EcsParameters::builder()
                    .task_definition_arn(&web)
                    .build()
                    .expect("task definition set"),
            )
            .build()
            .expect("id and arn set");
        seed::scheduled_rule(&events, "batch-nightly", &[nightly]).await;

        // What plan-release records: the plan, cut into batches.
        let reach = Reach {
            home: Home::of_arn("arn:aws:states:us-east-1:123456789012:execution:release:e1"),
            passable_roles: None,
        };
        let plan = plan(&ecs, &events, &codedeploy, &scheduler, release(), &reach)
            .await
            .expect("a plan");
        let records = Records::for_execution(BUCKET, "r-batch", "e1");
        let cut = layout(&plan, plan.settings.max_concurrency, AccountRates::ECS);
        store.write_layout(&records, 0, &cut).await.unwrap();
        let specs: Vec<release_core::contract::BatchSpec> = store
            .read(&records, &wave_batches_name(0))
            .await
            .unwrap()
            .expect("batches.json");
        assert_eq!(specs.len(), 1);
        assert_eq!((specs[0].items, specs[0].registrations), (4, 2));

        let event = || {
            let payload = json!({
                "releaseId": "r-batch",
                "records": records,
                "executionArn": "arn:aws:states:us-east-1:123456789012:execution:release:e1",
                "wave": 0,
                "batch": specs[0],
            });
            LambdaEvent::new(payload, Context::default())
        };
        let paced = without_retries(&ecs);
        let registrations = moto.calls("ecs.RegisterTaskDefinition");
        let updates = moto.calls("ecs.UpdateService");
        let budget = Duration::from_secs(60);
        let progress = handle(
            &paced,
            &events,
            &codedeploy,
            &scheduler,
            &release_core::aws::fake_scaling::FakeScaling::default(),
            &store,
            budget,
            event(),
        )
        .await
        .unwrap();
        assert_eq!(progress, BatchProgress::default());
        assert_eq!(
            moto.calls("ecs.RegisterTaskDefinition") - registrations,
            2,
            "web once for two services and the rule, api once"
        );
        assert_eq!(moto.calls("ecs.UpdateService") - updates, 3);
        let new_web = primary(&ecs, "web-a").await;
        assert!(
            new_web.ends_with("task-definition/batch-web:2"),
            "{new_web}"
        );
        assert_eq!(primary(&ecs, "web-b").await, new_web);
        assert!(primary(&ecs, "api")
            .await
            .ends_with("task-definition/batch-api:2"));
        let targets = events
            .list_targets_by_rule()
            .rule("batch-nightly")
            .send()
            .await
            .unwrap();
        let target = targets.targets()[0]
            .ecs_parameters()
            .expect("an ECS target");
        assert_eq!(target.task_definition_arn(), new_web.as_str());
        let recorded: ItemResult = store
            .read(
                &records,
                &result_name(PlanItemKind::Service, "batch-prod/api"),
            )
            .await
            .unwrap()
            .expect("api's record");
        assert!(recorded.deployment.is_some());

        // The Task's retry after a lost answer: nothing is done twice.
        let again = handle(
            &paced,
            &events,
            &codedeploy,
            &scheduler,
            &release_core::aws::fake_scaling::FakeScaling::default(),
            &store,
            budget,
            event(),
        )
        .await
        .unwrap();
        assert_eq!(again, BatchProgress::default());
        assert_eq!(moto.calls("ecs.RegisterTaskDefinition") - registrations, 2);
        assert_eq!(moto.calls("ecs.UpdateService") - updates, 3);
        let summary: BatchSummary = store
            .read(&records, &batch_summary_name(0, 0))
            .await
            .unwrap()
            .expect("the summary");
        assert_eq!(
            (summary.done, summary.remaining, summary.invocations),
            (4, 0, 2)
        );
        assert_eq!((summary.calls.registered, summary.calls.updated), (2, 3));
    }
}
