use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::locks::{Executions, LockStore};
use release_core::aws::{CodeDeployApi, EcsApi, EventsApi, ObjectStore, ScalingApi, SchedulerApi};
use release_core::contract::{PlanRequest, PlannedRelease};
use release_core::steps::plan_release;
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<
    E: EcsApi,
    V: EventsApi,
    C: CodeDeployApi,
    R: SchedulerApi,
    S: ObjectStore,
    L: LockStore,
    X: Executions,
    A: ScalingApi,
>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &R,
    context: plan_release::PlanContext<'_, S, L, X, A>,
    event: LambdaEvent<Value>,
) -> Result<PlannedRelease, Diagnostic> {
    let input: PlanRequest = release_core::steps::parse_input(event.payload)?;
    let work = plan_release::plan_release(ecs, events, codedeploy, scheduler, context, input);
    telemetry::traced("plan-release", tracing::Span::current(), work).await
}

#[cfg(test)]
mod tests {
    use aws_sdk_eventbridge::types::{EcsParameters, Target};
    use convoy_testkit::seed;
    use lambda_runtime::{Context, LambdaEvent};
    use serde_json::json;

    use release_core::contract::{BatchItems, BatchSpec, Plan, PlanItemKind, Records};
    use release_core::records::{batch_items_name, wave_batches_name, RecordStore, PLAN};
    use release_core::steps::ledger;

    use super::*;

    const BUCKET: &str = "plan-records";

    fn request(execution: &str, services: Value, tasks: Value) -> LambdaEvent<Value> {
        let release = json!({
            "release": {"id": "r-plan", "source": "deployment.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                         "keepRevisions": 0, "allowLatest": false},
            "services": services,
            "tasks": tasks,
        });
        let payload = json!({"release": release, "executionName": execution,
                             "executionArn": format!("arn:aws:states:us-east-1:123456789012:execution:convoy-release:{execution}")});
        LambdaEvent::new(payload, Context::default())
    }

    /// One test on purpose: it counts moto's RegisterTaskDefinition calls, which concurrent seeding
    /// in the same process would disturb.
    #[tokio::test]
    async fn plans_against_moto_and_reports_every_problem_without_changing_anything() {
        let moto = convoy_testkit::moto();
        let conf = moto.sdk_config().await;
        let ecs = aws_sdk_ecs::Client::new(&conf);
        let events = aws_sdk_eventbridge::Client::new(&conf);
        let codedeploy = aws_sdk_codedeploy::Client::new(&conf);
        let scheduler = aws_sdk_scheduler::Client::new(&conf);
        let store = RecordStore::new(moto.bucket(BUCKET).await);
        let sfn = aws_sdk_sfn::Client::new(&conf);
        let scaling = aws_sdk_applicationautoscaling::Client::new(&conf);
        let context = |bucket| plan_release::PlanContext {
            store: &store,
            locks: store.objects(),
            executions: &sfn,
            bucket,
            passable_roles: None,
            rates: Default::default(),
            event_bus: None,
            scaling: &scaling,
        };
        seed::cluster(&ecs, "plan-prod").await;
        let web = seed::fargate_task_definition(
            &ecs,
            "plan-web",
            &[
                ("app", "registry.example.com/web:v1"),
                ("envoy", "envoy:v1.29.1"),
            ],
        )
        .await;
        let job = seed::fargate_task_definition(
            &ecs,
            "plan-job",
            &[("job", "registry.example.com/job:v1")],
        )
        .await;
        seed::fargate_service(&ecs, "plan-prod", "web", &web, 1).await;
        let report = Target::builder()
            .id("report")
            .arn("arn:aws:ecs:us-east-1:123456789012:cluster/plan-prod")
            .role_arn("arn:aws:iam::123456789012:role/events")
            .ecs_parameters(
                EcsParameters::builder()
                    .task_definition_arn(&job)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        seed::scheduled_rule(&events, "plan-nightly", &[report]).await;

        // A plan that works: one change, one no-op rule target.
        let good = request(
            "e-good",
            json!([{"cluster": "plan-prod", "service": "web",
                    "images": {"containers": {"app": "registry.example.com/web:v2"}},
                    "timeoutSeconds": 600}]),
            json!([{"rule": "plan-nightly", "eventBus": "default",
                    "images": {"default": {"preferred": "plan-nightly",
                                           "image": "registry.example.com/job:v1"}}}]),
        );
        let registrations = moto.calls("ecs.RegisterTaskDefinition");
        let updates = moto.calls("ecs.UpdateService");
        let target_writes = moto.calls("PutTargets");
        let planned = handle(
            &ecs,
            &events,
            &codedeploy,
            &scheduler,
            context(Some(BUCKET)),
            good,
        )
        .await
        .unwrap();
        let records = Records::for_execution(BUCKET, "r-plan", "e-good");
        assert_eq!(planned.records, records);
        // Counts only: the changed service in one wave, the rule unchanged.
        assert_eq!(
            (planned.waves, planned.changed, planned.unchanged),
            (1, 1, 1)
        );
        // The plan itself is in S3 (read with a fresh store: no cache).
        let plan: Plan = RecordStore::new(moto.s3().await)
            .read(&records, PLAN)
            .await
            .unwrap()
            .expect("plan.json written");
        assert_eq!(plan.services.len(), 1);
        assert_eq!(plan.services[0].previous_task_definition, web);
        assert!(!plan.services[0].noop);
        assert_eq!(plan.changed_services, 1);
        assert_eq!(plan.tasks[0].targets[0].target_id, "report");
        assert_eq!(plan.tasks[0].targets[0].previous_task_definition, job);
        assert!(plan.tasks[0].noop, "the job already runs job:v1");
        assert_eq!(plan.changed_tasks, 0);
        // The changed items, cut into the batches of the first wave's Map: one batch, whole.
        let fresh = RecordStore::new(moto.s3().await);
        let specs: Vec<BatchSpec> = fresh
            .read(&records, &wave_batches_name(0))
            .await
            .unwrap()
            .expect("waves/0/batches.json written");
        assert_eq!(specs.len(), 1);
        assert_eq!(
            (specs[0].batch, specs[0].items, specs[0].registrations),
            (0, 1, 1)
        );
        assert_eq!(specs[0].pace.registrations.burst, 20, "the whole bucket");
        let batch: BatchItems = fresh
            .read(&records, &batch_items_name(0, 0))
            .await
            .unwrap()
            .expect("waves/0/batches/0.json written");
        assert_eq!(batch.services, plan.services, "the plan's items, whole");
        assert!(batch.tasks.is_empty(), "no-op items are not in a batch");
        // The release ledger has the started release and its one changed item.
        let s3 = moto.s3().await;
        let started = ledger::executions(&s3, BUCKET, "r-plan").await.unwrap();
        assert_eq!(started.len(), 1);
        assert_eq!(
            (started[0].execution_name.as_str(), started[0].outcome),
            ("e-good", None)
        );
        let web_history = ledger::history(&s3, BUCKET, PlanItemKind::Service, "plan-prod/web", 5)
            .await
            .unwrap();
        assert_eq!(web_history.len(), 1);
        let nightly = ledger::history(&s3, BUCKET, PlanItemKind::Rule, "default/plan-nightly", 5)
            .await
            .unwrap();
        assert!(nightly.is_empty(), "a no-op item is not in the ledger");

        // A missing cluster, a missing service, a missing container and a missing rule: all at once.
        let bad = || {
            request(
                "e-bad",
                json!([
                    {"cluster": "plan-nowhere", "service": "web",
                     "images": {"default": {"preferred": "web", "image": "registry.example.com/web:v2"}},
                     "timeoutSeconds": 600},
                    {"cluster": "plan-prod", "service": "ghost",
                     "images": {"default": {"preferred": "ghost", "image": "registry.example.com/g:v2"}},
                     "timeoutSeconds": 600},
                    {"cluster": "plan-prod", "service": "web",
                     "images": {"containers": {"sidecar": "registry.example.com/s:v2"}},
                     "timeoutSeconds": 600}
                ]),
                json!([{"rule": "plan-absent", "eventBus": "default",
                    "images": {"default": {"preferred": "x", "image": "registry.example.com/x:v2"}}}]),
            )
        };
        let err = handle(
            &ecs,
            &events,
            &codedeploy,
            &scheduler,
            context(Some(BUCKET)),
            bad(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.error_type, "PreflightFailed", "{}", err.error_message);
        for fragment in [
            "4 problems",
            "services[0] (plan-nowhere/web): field `cluster`: cluster `plan-nowhere` not found",
            "services[1] (plan-prod/ghost): field `service`: service `ghost` not found",
            "services[2] (plan-prod/web): field `containers`: container `sidecar`",
            "tasks[0] (plan-absent): field `rule`: rule `plan-absent` not found",
        ] {
            assert!(
                err.error_message.contains(fragment),
                "missing {fragment:?} in:\n{}",
                err.error_message
            );
        }
        assert_eq!(moto.calls("ecs.RegisterTaskDefinition"), registrations);
        assert_eq!(moto.calls("ecs.UpdateService"), updates);
        assert_eq!(moto.calls("PutTargets"), target_writes);
        let bad_records = Records::for_execution(BUCKET, "r-plan", "e-bad");
        let nothing: Option<Plan> = store.read(&bad_records, PLAN).await.unwrap();
        assert!(nothing.is_none(), "a rejected release records nothing");
        let runs = ledger::executions(&s3, BUCKET, "r-plan").await.unwrap();
        assert_eq!(runs.len(), 1, "a rejected release is not in the ledger");

        // Without a bucket there is nowhere to record the release: said, not guessed.
        let err = handle(&ecs, &events, &codedeploy, &scheduler, context(None), bad())
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "Internal");
        assert!(
            err.error_message.contains("CONVOY_RECORDS_BUCKET"),
            "{}",
            err.error_message
        );
    }
}
