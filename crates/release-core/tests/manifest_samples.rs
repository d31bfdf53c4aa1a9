//! The sample manifests in `events/manifests/` and `examples/`, and the public AWS GitOps sample's
//! own `deployment.yaml` (`tests/manifests/gitops-amazon-ecs-sample/`): the sample format is
//! accepted unchanged and renders to the expected input; `check_input` agrees with `parse`.

use std::path::Path;

use release_core::contract::{
    ImageMap, Images, ReleaseInput, ReleaseMeta, RollbackPolicy, RuleTarget, ServiceTarget,
    Settings,
};
use release_core::decide::manifest;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(relative: &str) -> ReleaseInput {
    manifest::parse(relative, &read(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn default_images(preferred: &str, image: &str) -> Images {
    Images::Default {
        preferred: preferred.into(),
        image: image.into(),
    }
}

fn sample_service(name: &str, service: &str, image: &str) -> ServiceTarget {
    ServiceTarget {
        cluster: "demo".into(),
        service: service.into(),
        images: default_images(name, image),
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        timeout_seconds: 900,
        deployment_strategy: None,
        code_deploy: None,
        depends_on: Vec::new(),
        name: None,
        suspend_auto_scaling: None,
    }
}

#[test]
fn gitops_sample_renders_to_default_images() {
    let file = "events/manifests/gitops-sample.yaml";
    let input = parse(file);
    let want = ReleaseInput {
        release: ReleaseMeta {
            id: manifest::derived_release_id(&input),
            description: Some("4.0".into()),
            source: file.into(),
            commit: None,
        },
        settings: Settings::default(),
        services: vec![
            sample_service(
                "service-a",
                "demo-service-a-TS6BT1U6VQBG-Service-HTco3SKTy2J1",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/service-a:2.0.0",
            ),
            sample_service(
                "service-b",
                "demo-service-b-1OP5GR8JWHKX7-Service-ExB0A5Jxcnv2",
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/service-b:3.0.0",
            ),
        ],
        tasks: vec![RuleTarget {
            rule: "nightly-report-rule".into(),
            event_bus: "default".into(),
            images: default_images(
                "report",
                "111111111111.dkr.ecr.us-west-2.amazonaws.com/report:2.0.0",
            ),
            depends_on: Vec::new(),
            name: None,
        }],
        waves: Vec::new(),
        jobs: Vec::new(),
        schedules: Vec::new(),
    };
    assert_eq!(input, want);
    assert!(input.release.id.starts_with("r-"));
}

/// The public sample's own `deployment.yaml`, byte for byte (tests/manifests/gitops-amazon-ecs-sample).
const UPSTREAM: &str = "tests/manifests/gitops-amazon-ecs-sample";

fn upstream_services() -> Vec<ServiceTarget> {
    [
        "a-TS6BT1U6VQBG-Service-HTco3SKTy2J1:2.0.0",
        "b-1OP5GR8JWHKX7-Service-ExB0A5Jxcnv2:3.0.0",
        "c-1OP5GR8JWHKX7-Service-ExB0A5Jxcnv2:6.0.0",
    ]
    .iter()
    .map(|spec| {
        let (letter, rest) = spec.split_once('-').expect("letter-");
        let (suffix, tag) = rest.split_once(':').expect("suffix:tag");
        sample_service(
            &format!("service-{letter}"),
            &format!("demo-service-{letter}-{suffix}"),
            &format!("11111111111.dkr.ecr.us-east-1.amazonaws.com/service-{letter}:{tag}"),
        )
    })
    .collect()
}

fn upstream_image(container: &str, tag: &str) -> String {
    format!("11111111111.dkr.ecr.us-west-2.amazonaws.com/{container}:{tag}")
}

#[test]
fn the_public_samples_own_deployment_yaml_is_accepted_unchanged() {
    let input = parse(&format!("{UPSTREAM}/deployment.yaml"));
    assert_eq!(input.release.description.as_deref(), Some("4.0"));
    assert_eq!(input.services, upstream_services());
    let rule = |name: &str, container: &str, tag: &str| RuleTarget {
        rule: name.into(),
        event_bus: "default".into(),
        images: default_images(container, &upstream_image(container, tag)),
        depends_on: Vec::new(),
        name: None,
    };
    assert_eq!(
        input.tasks,
        [
            rule("service-x-cw-rule", "service-x", "2.0.0"),
            rule("service-y-cw-rule", "service-y", "4.0.0"),
        ]
    );
}

#[test]
fn the_samples_rule_listed_once_per_container_is_one_item_setting_both() {
    let input = parse(&format!("{UPSTREAM}/deployment-one-rule-twice.yaml"));
    assert_eq!(input.services, upstream_services());
    let both: ImageMap = [("service-x", "2.0.0"), ("service-y", "4.0.0")]
        .into_iter()
        .map(|(container, tag)| (container.to_string(), upstream_image(container, tag)))
        .collect();
    assert_eq!(
        input.tasks,
        [RuleTarget {
            rule: "service-y-cw-rule".into(),
            event_bus: "default".into(),
            images: Images::Containers(both),
            depends_on: Vec::new(),
            name: None,
        }]
    );
}

#[test]
fn gitops_sample_without_tasks_is_valid() {
    let input = parse("events/manifests/gitops-sample-no-tasks.yaml");
    assert_eq!(input.services.len(), 2);
    assert!(input.tasks.is_empty());
}

#[test]
fn full_manifest_uses_every_field() {
    let input = parse("events/manifests/full.yaml");
    assert_eq!(input.release.id, "2024-06-01_checkout");
    assert_eq!(
        input.settings,
        Settings {
            rollback: RollbackPolicy::Failed,
            max_concurrency: 20,
            poll_interval_seconds: 3,
            keep_revisions: 5,
            allow_latest: false,
            suspend_auto_scaling: false,
        }
    );
    let checkout = &input.services[0];
    assert_eq!(
        (checkout.cluster.as_str(), checkout.service.as_str()),
        ("prod", "checkout")
    );
    assert_eq!(
        (
            checkout.desired_count,
            checkout.minimum_healthy_percent,
            checkout.maximum_percent
        ),
        (Some(6), Some(50), Some(200))
    );
    assert_eq!(checkout.timeout_seconds, 1200);
    let Images::Containers(containers) = &checkout.images else {
        panic!("{:?}", checkout.images)
    };
    assert_eq!(containers.keys().collect::<Vec<_>>(), ["app", "log-router"]);
    // `cluster:` is accepted for `clusterName:`; same service name in another cluster is no duplicate.
    assert_eq!(
        (
            input.services[2].cluster.as_str(),
            input.services[2].service.as_str()
        ),
        ("prod-eu", "checkout")
    );
    assert_eq!(
        (
            input.tasks[1].event_bus.as_str(),
            input.tasks[1].rule.as_str()
        ),
        ("billing", "invoice-run")
    );
}

#[test]
fn demo_release_matches_the_local_world() {
    let input = parse("examples/deployment.yaml");
    let ids: Vec<String> = input
        .services
        .iter()
        .map(|s| format!("{}/{}", s.cluster, s.service))
        .collect();
    assert_eq!(
        ids,
        [
            "convoy-demo-a/web",
            "convoy-demo-a/api",
            "convoy-demo-a/worker",
            "convoy-demo-b/billing",
            "convoy-demo-b/search",
            "convoy-demo-b/checkout",
            "convoy-demo-b/payments"
        ]
    );
    let web: ImageMap = [
        ("web", "public.ecr.aws/convoy-demo/web:1.1.0"),
        ("log-router", "public.ecr.aws/convoy-demo/log-router:1.1.0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(input.services[0].images, Images::Containers(web));
    assert_eq!(input.tasks.len(), 1);
    assert_eq!(
        (
            input.tasks[0].event_bus.as_str(),
            input.tasks[0].rule.as_str()
        ),
        ("default", "convoy-demo-nightly")
    );
    assert_eq!(
        input.tasks[0].images,
        default_images("report", "public.ecr.aws/convoy-demo/report:1.1.0")
    );
}

#[test]
fn every_sample_passes_check_input_and_round_trips() {
    for file in [
        "events/manifests/gitops-sample.yaml",
        "events/manifests/gitops-sample-no-tasks.yaml",
        "events/manifests/full.yaml",
        "examples/deployment.yaml",
        "tests/manifests/gitops-amazon-ecs-sample/deployment.yaml",
        "tests/manifests/gitops-amazon-ecs-sample/deployment-one-rule-twice.yaml",
    ] {
        let input = parse(file);
        assert_eq!(manifest::check_input(&input), vec![], "{file}");
        let rendered = manifest::render(&input);
        let back: ReleaseInput = serde_json::from_str(&rendered).expect(file);
        assert_eq!(back, input, "{file}");
    }
}

#[test]
fn release_id_depends_on_content_not_file_name() {
    let text = read("events/manifests/gitops-sample.yaml");
    let a = manifest::parse("a.yaml", &text).expect("valid");
    let b = manifest::parse("-", &text).expect("valid");
    assert_eq!(a.release.id, b.release.id);
    let changed = manifest::parse(
        "a.yaml",
        &text.replace("service-b:3.0.0", "service-b:3.0.1"),
    )
    .expect("valid");
    assert_ne!(a.release.id, changed.release.id);
    // Comments and key order are not content.
    let reformatted = manifest::parse(
        "a.yaml",
        &text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("valid");
    assert_eq!(a.release.id, reformatted.release.id);
}

#[test]
fn check_input_rejects_a_hand_edited_input() {
    let valid = parse("events/manifests/full.yaml");
    type Edit = fn(&mut ReleaseInput);
    let cases: [(&str, Edit, &str, &str); 12] = [
        (
            "release id",
            |i| i.release.id = "has space".into(),
            "",
            "release.id",
        ),
        (
            "concurrency",
            |i| i.settings.max_concurrency = 0,
            "",
            "settings.maxConcurrency",
        ),
        (
            "poll",
            |i| i.settings.poll_interval_seconds = 10,
            "",
            "settings.pollIntervalSeconds",
        ),
        (
            "latest",
            |i| i.services[1].images = default_images("cart", "r/cart:latest"),
            "services[1] (prod/cart)",
            "images.default.image",
        ),
        (
            "preferred",
            |i| i.services[1].images = default_images("", "r/cart:1"),
            "services[1] (prod/cart)",
            "images.default.preferred",
        ),
        (
            "container image",
            |i| {
                i.services[0].images =
                    Images::Containers(ImageMap::from([("app".to_string(), "App:1".to_string())]))
            },
            "services[0] (prod/checkout)",
            "images.containers.app",
        ),
        (
            "no containers",
            |i| i.services[0].images = Images::Containers(ImageMap::new()),
            "services[0] (prod/checkout)",
            "images.containers",
        ),
        (
            "max percent",
            |i| i.services[0].maximum_percent = Some(300),
            "services[0] (prod/checkout)",
            "maximumPercent",
        ),
        (
            "timeout",
            |i| i.services[0].timeout_seconds = 5,
            "services[0] (prod/checkout)",
            "timeoutSeconds",
        ),
        (
            "duplicate service",
            |i| i.services[2].cluster = "prod".into(),
            "services[2] (prod/checkout)",
            "serviceName",
        ),
        (
            "duplicate rule",
            |i| {
                i.tasks[1].event_bus = "default".into();
                i.tasks[1].rule = "nightly-report".into();
            },
            "tasks[1] (nightly-report)",
            "ruleName",
        ),
        (
            "empty",
            |i| {
                i.services.clear();
                i.tasks.clear();
            },
            "",
            "services",
        ),
    ];
    for (case, edit, item, field) in cases {
        let mut input = valid.clone();
        edit(&mut input);
        let problems = manifest::check_input(&input);
        assert!(
            problems.iter().any(|p| p.item == item
                && p.field == field
                && p.file == "events/manifests/full.yaml"),
            "{case}: wanted [{item}] `{field}`, got {problems:#?}"
        );
    }
}
