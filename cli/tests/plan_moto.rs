//! `convoy plan` against moto (the testkit's per-process server) seeded with the demo world of
//! `local/seed_demo.py`: exit codes, every pre-flight problem at once, and the human outputs.

mod common;

use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{convoy_on, repo, seed_demo_world, text};

/// The testkit's moto with the demo world, seeded once per test process. Read-only from here on:
/// every test plans against it.
fn demo_world() -> &'static str {
    static SEEDED: OnceLock<String> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let moto = convoy_testkit::moto();
        seed_demo_world(&moto.endpoint);
        moto.endpoint.clone()
    })
}

fn convoy(args: &[&str]) -> Output {
    convoy_on(demo_world())
        .args(args)
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("convoy runs")
}

/// A manifest in a temporary file (the demo release with other images or names).
fn manifest(name: &str, yaml: &str) -> String {
    common::manifest("plan", name, yaml)
}

#[test]
fn a_release_with_changes_exits_2_and_shows_every_image() {
    let out = convoy(&["plan", "examples/deployment.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains('\x1b'),
        "no ANSI when stdout is not a terminal"
    );
    insta::assert_snapshot!("plan_demo_text", stdout);
}

#[test]
fn markdown_is_one_table_row_per_service_and_rule_target() {
    let out = convoy(&["plan", "examples/deployment.yaml", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    insta::assert_snapshot!("plan_demo_markdown", text(&out.stdout));
}

#[test]
fn markdown_out_writes_the_markdown_of_the_same_plan_beside_the_json() {
    let dir = std::env::temp_dir().join(format!("convoy-plan-md-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.md");
    let path_arg = path.to_str().unwrap();
    let out = convoy(&[
        "plan",
        "examples/deployment.yaml",
        "--format",
        "json",
        "--markdown-out",
        path_arg,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(view["changed"].as_u64().unwrap() > 0);
    let markdown = convoy(&["plan", "examples/deployment.yaml", "--format", "markdown"]);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text(&markdown.stdout)
    );

    // A file that cannot be written: a usage error (8), nothing on stdout.
    let nowhere = dir.join("missing-dir/plan.md");
    let out = convoy(&[
        "plan",
        "examples/deployment.yaml",
        "--markdown-out",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot write"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_names_current_and_desired_images() {
    let out = convoy(&["plan", "examples/deployment.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // 7 services, the rule's 2 targets and the migration job.
    assert_eq!(view["changed"], 10);
    assert_eq!(view["jobs"][0]["id"], "convoy-demo-a/migrate");
    assert_eq!(view["unchanged"], 0);
    let web = &view["services"][0];
    assert_eq!(web["id"], "convoy-demo-a/web");
    assert_eq!(
        web["taskDefinition"],
        "arn:aws:ecs:us-east-1:123456789012:task-definition/convoy-demo-web:1"
    );
    assert_eq!(
        web["images"],
        serde_json::json!([
            {"container": "log-router", "current": "public.ecr.aws/convoy-demo/log-router:1.0.0",
             "desired": "public.ecr.aws/convoy-demo/log-router:1.1.0"},
            {"container": "web", "current": "public.ecr.aws/convoy-demo/web:1.0.0",
             "desired": "public.ecr.aws/convoy-demo/web:1.1.0"}
        ])
    );
    assert_eq!(
        view["rules"][0]["targets"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn what_already_runs_exits_0() {
    let yaml = "release:\n  id: convoy-demo-noop\nservices:\n  - clusterName: convoy-demo-a\n    \
                serviceName: api\n    image: public.ecr.aws/convoy-demo/api:1.0.0\n    service: api\n  \
                - clusterName: convoy-demo-b\n    serviceName: billing\n    service: billing\n    \
                image: public.ecr.aws/convoy-demo/billing:1.1.0\n    desiredCount: 3\n";
    let path = manifest(
        "noop",
        &yaml.replace("billing:1.1.0\n    desiredCount: 3\n", "billing:1.0.0\n"),
    );
    let out = convoy(&["plan", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(
        "plan_noop_text",
        text(&out.stdout).replace(&path, "noop.yaml")
    );

    // The service field a release would change shows up too, with its current value.
    let path = manifest("count", yaml);
    let out = convoy(&["plan", &path]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("desiredCount: 2 -> 3"), "{stdout}");
}

#[test]
fn preflight_problems_are_all_listed_and_exit_5() {
    let yaml = "release:\n  id: convoy-demo-missing\nservices:\n  - clusterName: nowhere\n    \
                serviceName: web\n    containers:\n      web: public.ecr.aws/convoy-demo/web:1.1.0\n  \
                - clusterName: convoy-demo-a\n    serviceName: ghost\n    containers:\n      \
                ghost: public.ecr.aws/convoy-demo/ghost:1.1.0\n  - clusterName: convoy-demo-a\n    \
                serviceName: api\n    containers:\n      sidecar: public.ecr.aws/convoy-demo/x:1.1.0\n\
                tasks:\n  - ruleName: no-such-rule\n    containers:\n      report: public.ecr.aws/convoy-demo/report:1.1.0\n";
    let path = manifest("missing", yaml);
    let out = convoy(&["plan", &path, "--endpoint-url", demo_world()]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr).replace(&path, "missing.yaml");
    insta::assert_snapshot!("plan_preflight_problems", stderr);
}

#[test]
fn an_invalid_manifest_exits_5_before_any_aws_call() {
    let out = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["plan", "tests/manifests/bad/image-latest.yaml"])
        .current_dir(repo(""))
        // Nothing listens here: reaching AWS would fail differently.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("convoy runs");
    assert_eq!(out.status.code(), Some(5));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("manifest invalid, 1 problem"), "{stderr}");
}

#[test]
fn an_aws_error_is_one_line_with_its_code_and_message() {
    let arn = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:r-nowhere";
    let cases = [
        (
            vec!["status", arn],
            format!("DescribeExecution {arn}: ExecutionDoesNotExist: Execution Does Not Exist"),
        ),
        (
            vec!["status", "r-nowhere", "--bucket", "convoy-no-such-bucket"],
            "ListObjectsV2 s3://convoy-no-such-bucket/ledger/releases/r-nowhere/: NoSuchBucket: \
             The specified bucket does not exist"
                .to_owned(),
        ),
    ];
    for (args, want) in cases {
        let out = convoy(&args);
        assert_eq!(
            out.status.code(),
            Some(7),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("convoy: "), "{stderr}");
        assert!(stderr.contains(&want), "{args:?}: {stderr}\nwant {want}");
        assert!(!stderr.contains("service error"), "{stderr}");
    }
}

#[test]
fn a_strategy_the_release_sets_is_shown_with_what_it_replaces() {
    let file = manifest(
        "strategy.yaml",
        "services:\n  - {service: api, clusterName: convoy-demo-a, serviceName: api, \
         image: public.ecr.aws/convoy-demo/api:1.1.0, strategy: CANARY, bakeTimeInMinutes: 2, \
         canaryConfiguration: {canaryPercent: 10, canaryBakeTimeInMinutes: 5}}\n",
    );
    let out = convoy(&["plan", &file]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("~ service convoy-demo-a/api [CANARY (canary 10 % for 5 min, bake 2 min)]"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "deploymentConfiguration.strategy: ROLLING -> CANARY (canary 10 % for 5 min, bake 2 min)"
        ),
        "{stdout}"
    );
}
