use aws_sdk_ecs::types::{DeploymentControllerType as Controller, Service};
use aws_sdk_eventbridge::types::Target;

use super::*;
use crate::aws::fake::{ecs_target, tag, FakeEcs, FakeEvents};
use crate::aws::fake_codedeploy::FakeCodeDeploy;
use crate::aws::fake_scheduler::FakeScheduler;
use crate::contract::{Images, ReleaseMeta, Settings};

fn lambda_target(id: &str) -> Target {
    Target::builder()
        .id(id)
        .arn("arn:aws:lambda:us-east-1:123456789012:function:f")
        .build()
        .expect("id and arn are set")
}

fn service(cluster: &str, name: &str, images: Images) -> ServiceTarget {
    crate::contract::examples::service_target(cluster, name, images)
}

fn containers(pairs: &[(&str, &str)]) -> Images {
    Images::Containers(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn default_image(preferred: &str, image: &str) -> Images {
    Images::Default {
        preferred: preferred.into(),
        image: image.into(),
    }
}

fn release(services: Vec<ServiceTarget>, tasks: Vec<RuleTarget>) -> ReleaseInput {
    ReleaseInput {
        release: ReleaseMeta {
            id: "r-1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services,
        tasks,
        waves: Vec::new(),
        jobs: Vec::new(),
        schedules: Vec::new(),
    }
}

fn rule(name: &str, images: Images) -> RuleTarget {
    RuleTarget {
        rule: name.into(),
        event_bus: "default".into(),
        images,
        depends_on: Vec::new(),
        name: None,
    }
}

/// prod: web (app+envoy), api (one container), legacy (CODE_DEPLOY); staging is DRAINING.
fn world() -> (FakeEcs, String, String) {
    let ecs = FakeEcs::default();
    let web = ecs.definition(
        "web",
        &[("app", "repo/web:v1"), ("envoy", "envoy:v1")],
        &[tag("t", "1")],
    );
    let api = ecs.definition("api", &[("api", "repo/api:v1")], &[]);
    let ecs = ecs
        .cluster("prod", "ACTIVE")
        .cluster("staging", "DRAINING")
        .service("prod", "web", &web, "ACTIVE", Controller::Ecs)
        .service("prod", "api", &api, "ACTIVE", Controller::Ecs)
        .service("prod", "legacy", &api, "ACTIVE", Controller::CodeDeploy)
        .service("prod", "gone", &api, "INACTIVE", Controller::Ecs);
    (ecs, web, api)
}

#[tokio::test]
async fn plan_records_previous_definitions_images_and_noop() {
    let (ecs, web, api) = world();
    let events = FakeEvents::default().rule(
        "default",
        "nightly",
        vec![
            ecs_target("a", &api),
            lambda_target("notify"),
            ecs_target("b", &web),
        ],
    );
    let input = release(
        vec![
            service("prod", "web", containers(&[("app", "repo/web:v2")])),
            service("prod", "api", default_image("api", "repo/api:v1")),
        ],
        vec![rule("nightly", containers(&[("app", "repo/web:v2")]))],
    );
    // The rule's target `a` runs `api`, which has no `app` container: that is a problem…
    let err = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        input.clone(),
        &Reach::default(),
    )
    .await
    .unwrap_err();
    let Error::PreflightFailed(problems) = &err else {
        panic!("expected PreflightFailed, got {err}");
    };
    assert_eq!(problems.len(), 1, "{err}");
    assert_eq!(problems[0].item, "tasks[0] (nightly)");
    assert_eq!(problems[0].field, "containers");
    assert!(problems[0].message.starts_with("target `a`: "), "{err}");

    // …and with the sample format (one image, single-container fallback) both targets resolve.
    let mut input = input;
    input.tasks = vec![rule("nightly", default_image("nightly", "repo/job:v2"))];
    let events = FakeEvents::default().rule(
        "default",
        "nightly",
        vec![ecs_target("a", &api), ecs_target("b", &api)],
    );
    let plan = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        input,
        &Reach::default(),
    )
    .await
    .unwrap();
    let web_item = &plan.services[0];
    assert_eq!(web_item.id, "prod/web");
    assert_eq!(web_item.previous_task_definition, web);
    assert!(!web_item.noop);
    assert_eq!(
        web_item.images.get("app").map(String::as_str),
        Some("repo/web:v2")
    );
    let api_item = &plan.services[1];
    assert!(api_item.noop, "api already runs repo/api:v1");
    assert_eq!(plan.changed_services, 1);
    assert_eq!(plan.changed_tasks, 1);
    let targets: Vec<(&str, &str)> = plan.tasks[0]
        .targets
        .iter()
        .map(|t| (t.target_id.as_str(), t.previous_task_definition.as_str()))
        .collect();
    assert_eq!(targets, [("a", api.as_str()), ("b", api.as_str())]);
    assert_eq!(plan.tasks[0].id, "default/nightly");
    // web and api described once each, although api is referenced three times.
    assert_eq!(ecs.calls("DescribeTaskDefinition"), 2 + 2);
    assert_eq!(ecs.calls("RegisterTaskDefinition"), 0);
    assert_eq!(ecs.calls("UpdateService"), 0);
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let (ecs, _, _) = world();
    let events =
        FakeEvents::default().rule("default", "only-lambda", vec![lambda_target("notify")]);
    let services = vec![
        service("prod", "web", containers(&[("sidecar", "repo/x:v1")])),
        service("nowhere", "web", default_image("web", "repo/web:v2")),
        service("staging", "web", default_image("web", "repo/web:v2")),
        service("prod", "missing", default_image("missing", "repo/m:v2")),
        service("prod", "legacy", default_image("api", "repo/api:v2")),
        service("prod", "gone", default_image("api", "repo/api:v2")),
    ];
    let rules = || {
        vec![
            rule("absent", default_image("absent", "repo/job:v2")),
            rule("only-lambda", default_image("x", "repo/job:v2")),
        ]
    };

    let mut duplicated = services.clone();
    duplicated.push(service("prod", "web", default_image("web", "repo/web:v2")));
    let err = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        release(duplicated, rules()),
        &Reach::default(),
    )
    .await
    .unwrap_err();
    // Two entries for prod/web: check_input reports the duplicate first.
    let Error::ManifestInvalid(problems) = &err else {
        panic!("duplicate services are a manifest problem: {err}");
    };
    assert!(
        problems.iter().any(|p| p.item.contains("prod/web")),
        "{err}"
    );

    let input = release(services, rules());
    let err = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        input,
        &Reach::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "PreflightFailed");
    let Error::PreflightFailed(problems) = &err else {
        unreachable!()
    };
    let got: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str()))
        .collect();
    let want = [
        ("services[1] (nowhere/web)", "cluster"),
        ("services[2] (staging/web)", "cluster"),
        ("services[3] (prod/missing)", "service"),
        ("services[4] (prod/legacy)", "service"),
        ("services[5] (prod/gone)", "service"),
        ("tasks[0] (absent)", "rule"),
        ("tasks[1] (only-lambda)", "rule"),
        ("services[0] (prod/web)", "containers"),
    ];
    assert_eq!(got, want, "{err}");
    let text = err.to_string();
    for fragment in [
        "cluster `nowhere` not found",
        "cluster `staging` is DRAINING",
        "service `missing` not found in cluster `prod` (MISSING)",
        // A CODE_DEPLOY service: CodeDeploy shifts traffic through its load balancer.
        "service `legacy` has no load balancer",
        "INACTIVE",
        "rule `absent` not found",
        "no ECS targets (1 other target)",
        "`sidecar`",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in {text}");
    }
    assert!(problems.iter().all(|p| p.file == "deployment.yaml"));
    assert_eq!(ecs.calls("RegisterTaskDefinition"), 0);
    assert_eq!(ecs.calls("UpdateService"), 0);
}

#[tokio::test]
async fn invalid_input_fails_before_any_call() {
    let (ecs, _, _) = world();
    let events = FakeEvents::default();
    let mut input = release(
        vec![service("prod", "web", default_image("web", "repo/web:v2"))],
        vec![],
    );
    input.release.id = "not valid!".into();
    let err = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        input,
        &Reach::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "ManifestInvalid");
    assert_eq!(ecs.total_calls(), 0);
    assert_eq!(
        events.calls("DescribeRule") + events.calls("ListTargetsByRule"),
        0
    );
}

#[test]
fn deployable_services() {
    let with = |status: &str, controller: Option<Controller>, td: Option<&str>| {
        let mut b = Service::builder()
            .status(status)
            .set_task_definition(td.map(str::to_owned));
        if let Some(c) = controller {
            b = b.deployment_controller(
                aws_sdk_ecs::types::DeploymentController::builder()
                    .r#type(c)
                    .build()
                    .unwrap(),
            );
        }
        b.build()
    };
    let cases = [
        (with("ACTIVE", Some(Controller::Ecs), Some("web:1")), None),
        (with("ACTIVE", None, Some("web:1")), None),
        (with("DRAINING", None, Some("web:1")), Some("DRAINING")),
        (
            with("ACTIVE", Some(Controller::External), Some("web:1")),
            Some("EXTERNAL"),
        ),
        // CodeDeploy deploys it: its group is checked once its images are known.
        (
            with("ACTIVE", Some(Controller::CodeDeploy), Some("web:1")),
            None,
        ),
        (with("ACTIVE", None, None), Some("no task definition")),
    ];
    for (service, want) in cases {
        let got = service_problem(&service);
        match want {
            None => assert_eq!(got, None),
            Some(fragment) => assert!(
                got.as_deref().is_some_and(|m| m.contains(fragment)),
                "{got:?}"
            ),
        }
    }
}

#[tokio::test]
async fn the_services_own_strategy_is_recorded_and_its_bake_counts_against_the_deadline() {
    use aws_sdk_ecs::types::{DeploymentConfiguration, DeploymentStrategy as EcsStrategy};

    use crate::contract::{DeploymentStrategy, Strategy};

    let (ecs, _, _) = world();
    ecs.configure(
        "prod",
        "web",
        DeploymentConfiguration::builder()
            .strategy(EcsStrategy::BlueGreen)
            .bake_time_in_minutes(150)
            .build(),
    );
    let events = FakeEvents::default();
    let input = release(
        vec![service(
            "prod",
            "web",
            containers(&[("app", "repo/web:v2")]),
        )],
        Vec::new(),
    );
    let planned = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        input.clone(),
        &Reach::default(),
    )
    .await
    .unwrap();
    let web = &planned.services[0];
    assert_eq!(
        web.previous_deployment_strategy,
        Some(DeploymentStrategy {
            strategy: Strategy::BlueGreen,
            bake_time_in_minutes: Some(150),
            ..DeploymentStrategy::default()
        })
    );
    assert_eq!(web.deployment_strategy, None, "the release sets none");
    assert_eq!(web.strategy().strategy, Strategy::BlueGreen);

    // 600 s of rollout and 150 min of bake fit in 3 h; 2,000 s do not, and pre-flight says so.
    let mut late = input;
    late.services[0].timeout_seconds = 2_000;
    let err = plan(
        &ecs,
        &events,
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        late,
        &Reach::default(),
    )
    .await
    .unwrap_err();
    let Error::PreflightFailed(problems) = &err else {
        panic!("expected PreflightFailed, got {err}");
    };
    assert_eq!(problems[0].item, "services[0] (prod/web)");
    assert_eq!(problems[0].field, "timeoutSeconds");
    assert!(
        problems[0]
            .message
            .contains("timeoutSeconds 2000 plus the BLUE_GREEN strategy's 9000 s"),
        "{err}"
    );
}

mod release_events {
    use serde_json::Value;

    use super::*;
    use crate::aws::fake::MemoryStore;
    use crate::aws::fake_scaling::FakeScaling;
    use crate::aws::locks::fake::{MemoryLocks, RunningExecutions};
    use crate::contract::{ReleaseSource, RELEASE_FINISHED, RELEASE_STARTED};
    use crate::records::PLAN;

    const BUS: &str = "releases";
    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:e-1";

    struct World {
        ecs: FakeEcs,
        events: FakeEvents,
        store: RecordStore<MemoryStore>,
        locks: MemoryLocks,
        executions: RunningExecutions,
        scaling: FakeScaling,
    }

    fn world_with_events() -> World {
        let (ecs, _, _) = world();
        World {
            ecs,
            events: FakeEvents::default(),
            store: RecordStore::new(MemoryStore::default()),
            locks: MemoryLocks::default(),
            executions: RunningExecutions::default(),
            scaling: FakeScaling::default(),
        }
    }

    impl World {
        async fn plan(&self, release: ReleaseInput) -> Result<PlannedRelease, Error> {
            self.plan_as("e-1", Some("2026-11-30T06:00:00.000Z"), release)
                .await
        }

        /// plan-release of `release` as execution `name` started at `started_at`.
        async fn plan_as(
            &self,
            name: &str,
            started_at: Option<&str>,
            release: ReleaseInput,
        ) -> Result<PlannedRelease, Error> {
            let context = PlanContext {
                store: &self.store,
                locks: &self.locks,
                executions: &self.executions,
                bucket: Some("records"),
                passable_roles: None,
                rates: Default::default(),
                event_bus: Some(BUS),
                scaling: &self.scaling,
            };
            let request = PlanRequest {
                release: ReleaseSource::Inline(Box::new(release)),
                execution_name: name.into(),
                execution_arn: ARN.replace("e-1", name),
                started_at: started_at.map(str::to_owned),
            };
            plan_release(
                &self.ecs,
                &self.events,
                &FakeCodeDeploy::default(),
                &FakeScheduler::default(),
                context,
                request,
            )
            .await
        }

        fn details(&self) -> Vec<(String, Value)> {
            self.events
                .events_put()
                .into_iter()
                .map(|e| {
                    assert_eq!(
                        (
                            e.event_bus.as_str(),
                            e.source.as_str(),
                            e.resources.as_slice()
                        ),
                        (BUS, "convoy", [ARN.to_owned()].as_slice())
                    );
                    (
                        e.detail_type,
                        serde_json::from_str(&e.detail).expect("json"),
                    )
                })
                .collect()
        }
    }

    fn web_v2() -> ReleaseInput {
        let mut input = release(
            vec![service(
                "prod",
                "web",
                containers(&[("app", "repo/web:v2")]),
            )],
            Vec::new(),
        );
        input.release.description = Some("web v2".into());
        input.release.commit = Some("c0ffee".into());
        input
    }

    #[tokio::test]
    async fn a_planned_release_is_announced_once_as_started() {
        let world = world_with_events();
        world.plan(web_v2()).await.expect("planned");
        let details = world.details();
        assert_eq!(details.len(), 1, "{details:?}");
        let (detail_type, detail) = &details[0];
        assert_eq!(detail_type, RELEASE_STARTED);
        assert_eq!(detail["releaseId"], "r-1");
        assert_eq!(detail["description"], "web v2");
        assert_eq!(detail["source"]["commit"], "c0ffee");
        assert_eq!(detail["startedAt"], "2026-11-30T06:00:00.000Z");
        assert_eq!(detail["planned"]["changed"], 1);
        assert!(detail.get("outcome").is_none(), "{detail}");
    }

    #[tokio::test]
    async fn a_started_event_that_cannot_be_put_is_a_problem_of_the_plan_not_a_rejection() {
        let world = world_with_events();
        world.events.refuse("PutEvents");
        let planned = world.plan(web_v2()).await.expect("planned all the same");
        let plan: Plan = world
            .store
            .read(&planned.records, PLAN)
            .await
            .expect("read")
            .expect("the plan is written");
        assert_eq!(plan.problems.len(), 1, "{:?}", plan.problems);
        assert!(
            plan.problems[0].contains("Convoy Release Started") && plan.problems[0].contains(BUS),
            "{:?}",
            plan.problems
        );
    }

    #[tokio::test]
    async fn a_rejected_release_is_announced_as_finished_rejected_with_its_problems() {
        let world = world_with_events();
        let mut input = web_v2();
        input.services[0].service = "missing".into();
        let err = world.plan(input).await.expect_err("rejected");
        assert_eq!(err.name(), "PreflightFailed");
        let details = world.details();
        assert_eq!(details.len(), 1, "{details:?}");
        let (detail_type, detail) = &details[0];
        assert_eq!(detail_type, RELEASE_FINISHED);
        assert_eq!(detail["outcome"], "REJECTED");
        assert_eq!(detail["error"], "PreflightFailed");
        assert_eq!(detail["description"], "web v2");
        let problems = detail["problems"].as_array().expect("problems");
        assert!(
            problems
                .iter()
                .any(|p| p.as_str().is_some_and(|p| p.contains("missing"))),
            "{problems:?}"
        );
        assert!(world.locks.keys().is_empty(), "nothing locked");
    }

    #[tokio::test]
    async fn a_throttled_plan_is_retried_by_the_state_machine_not_announced() {
        let world = world_with_events();
        world.ecs.throttle("DescribeTaskDefinition", 1000);
        let err = world.plan(web_v2()).await.expect_err("throttled");
        assert_eq!(err.name(), "Throttled");
        assert!(world.details().is_empty());
    }

    #[tokio::test]
    async fn a_release_locked_by_another_is_announced_rejected() {
        let world = world_with_events();
        world
            .plan(web_v2())
            .await
            .expect("the first holds the lock");
        world.executions.start(ARN);
        let err = world
            .plan_as("e-2", None, web_v2())
            .await
            .expect_err("locked");
        assert_eq!(err.name(), "ReleaseLocked");
        let put = world.events.events_put();
        let last: Value =
            serde_json::from_str(&put.last().expect("an event").detail).expect("json");
        assert_eq!(
            (last["outcome"].as_str(), last["error"].as_str()),
            (Some("REJECTED"), Some("ReleaseLocked"))
        );
        assert!(last.get("durationSeconds").is_none(), "no start time given");
    }
}
