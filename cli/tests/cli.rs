//! The `convoy` binary as users run it: exit codes, stdin, output formats.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::repo;
use release_core::decide::manifest;

fn convoy(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(args)
        .current_dir(repo(""))
        // deploy would use a records bucket from the caller's shell.
        .env_remove("CONVOY_RECORDS_BUCKET")
        // render and deploy would stamp CodeBuild's source revision.
        .env_remove("CODEBUILD_RESOLVED_SOURCE_VERSION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("convoy runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    pipe.write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(pipe);
    child.wait_with_output().expect("convoy finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// Every meaning has its own code (docs/cli.md, "Exit codes"); those that need no AWS are here,
/// the others in `plan_moto.rs` (changes, pre-flight problems) and `stack.rs` (failed, refused).
#[test]
fn exit_codes() {
    let cases: [(&[&str], i32); 14] = [
        (&["validate", "examples/deployment.yaml"], 0),
        (&["validate", "events/manifests/gitops-sample.yaml"], 0),
        // The public sample's own deployment.yaml, as it is now and with one rule listed twice.
        (
            &[
                "validate",
                "tests/manifests/gitops-amazon-ecs-sample/deployment.yaml",
            ],
            0,
        ),
        (
            &[
                "render",
                "tests/manifests/gitops-amazon-ecs-sample/deployment-one-rule-twice.yaml",
            ],
            0,
        ),
        (&["--help"], 0),
        (&["--version"], 0),
        // Invalid manifest.
        (&["validate", "tests/manifests/bad/image-latest.yaml"], 5),
        (
            &[
                "render",
                "tests/manifests/bad/duplicate-rule-container.yaml",
            ],
            5,
        ),
        // Unreadable input, and usage errors clap finds.
        (&["validate", "does/not/exist.yaml"], 8),
        (&["render", "does/not/exist.yaml"], 8),
        (&["plan", "does/not/exist.yaml"], 8),
        (&["validate"], 8),
        (
            &["validate", "examples/deployment.yaml", "--format", "xml"],
            8,
        ),
        (&["deploy-everything"], 8),
    ];
    for (args, code) in cases {
        let out = convoy(args, None);
        assert_eq!(out.status.code(), Some(code), "{args:?}\n{}", stderr(&out));
    }
}

/// Local AWS settings: test credentials, and an endpoint where nothing listens.
fn convoy_without_aws(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(args)
        .current_dir(repo(""))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("convoy runs")
}

#[test]
fn aws_errors_and_usage_errors_have_their_own_codes() {
    // AWS unreachable: the AWS code, naming the call.
    let out = convoy_without_aws(&["plan", "examples/deployment.yaml"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("convoy: "), "{}", stderr(&out));
    let out = convoy_without_aws(&["status", "arn:aws:states:us-east-1:1:execution:m:r1"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    // A release id without a way to find its state machine: usage, before any AWS call.
    let out = convoy_without_aws(&["status", "r1"]);
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("give --state-machine ARN or --stack NAME"),
        "{}",
        stderr(&out)
    );
    // Retry settings that make no sense: usage too.
    let out = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["status", "arn:aws:states:us-east-1:1:execution:m:r1"])
        .env("AWS_RETRY_MODE", "sometimes")
        .output()
        .expect("convoy runs");
    assert_eq!(out.status.code(), Some(8), "{}", stderr(&out));
}

#[test]
fn unreadable_file_is_named_on_stderr() {
    let out = convoy(&["validate", "does/not/exist.yaml"], None);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("cannot read does/not/exist.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_lists_each_problem_on_its_own_line() {
    let text = "settings: {maxConcurrency: 99}\nservices:\n  - {service: web, clusterName: prod, serviceName: web, image: r/web}\n";
    let out = convoy(&["validate", "-"], Some(text));
    assert_eq!(out.status.code(), Some(5));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with("-: field `settings.maxConcurrency`: must be between 1 and 40"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1]
            .starts_with("-: services[0] (prod/web): field `image`: `r/web` has no tag or digest"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "-: 2 problems");
}

#[test]
fn validate_summarizes_a_valid_release() {
    let out = convoy(&["validate", "examples/deployment.yaml"], None);
    assert_eq!(
        stdout(&out),
        "examples/deployment.yaml: valid release convoy-demo-1_1_0 (7 services, 1 task, 1 job, in 2 waves)\n"
    );
}

#[test]
fn validate_json_format() {
    let out = convoy(
        &[
            "validate",
            "--format",
            "json",
            "tests/manifests/bad/duplicate-service.yaml",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(5));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(report["valid"], false);
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0]["file"],
        "tests/manifests/bad/duplicate-service.yaml"
    );
    assert_eq!(problems[0]["item"], "services[2] (prod/web)");
    assert_eq!(problems[0]["field"], "image");
    let message = problems[0]["message"].as_str().expect("message");
    assert!(message.contains("in services[0] (prod/web)"), "{message}");

    let out = convoy(
        &["validate", "--format", "json", "-"],
        Some(&std::fs::read_to_string(repo("examples/deployment.yaml")).expect("example")),
    );
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(report, serde_json::json!({"valid": true, "problems": []}));
}

#[test]
fn render_prints_exactly_what_render_returns() {
    for file in [
        "examples/deployment.yaml",
        "events/manifests/full.yaml",
        "events/manifests/gitops-sample.yaml",
    ] {
        let text = std::fs::read_to_string(repo(file)).expect(file);
        let want = manifest::render(&manifest::parse(file, &text).expect(file));
        let out = convoy(&["render", file], None);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), format!("{want}\n"), "{file}");
    }
}

#[test]
fn render_stamps_the_commit_without_changing_the_release_id() {
    let file = "examples/deployment.yaml";
    let parse = |out: &Output| -> release_core::contract::ReleaseInput {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        serde_json::from_str(&stdout(out)).expect("JSON")
    };
    let plain = parse(&convoy(&["render", file], None));
    let stamped = parse(&convoy(&["render", file, "--commit", "0a1b2c3"], None));
    assert_eq!(plain.release.commit, None);
    assert_eq!(stamped.release.commit.as_deref(), Some("0a1b2c3"));
    assert_eq!(stamped.release.id, plain.release.id);

    // In CodeBuild the source revision is the default.
    let out = Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(["render", file])
        .current_dir(repo(""))
        .env("CODEBUILD_RESOLVED_SOURCE_VERSION", "feedbeef")
        .output()
        .expect("convoy runs");
    assert_eq!(parse(&out).release.commit.as_deref(), Some("feedbeef"));
}

#[test]
fn render_reads_stdin_and_names_it_dash() {
    let text = std::fs::read_to_string(repo("events/manifests/gitops-sample-no-tasks.yaml"))
        .expect("sample");
    let out = convoy(&["render", "-"], Some(&text));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let input: release_core::contract::ReleaseInput =
        serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(input.release.source, "-");
    assert_eq!(input, manifest::parse("-", &text).expect("valid"));
}

#[test]
fn render_of_an_invalid_manifest_prints_problems_on_stderr_only() {
    let out = convoy(&["render", "-"], Some("services: []\n"));
    assert_eq!(out.status.code(), Some(5));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("-: field `services`: the release is empty"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_release_above_32_kib_renders_by_reference_only_with_a_bucket() {
    let mut yaml = String::from("services:\n");
    for i in 0..1200 {
        yaml.push_str(&format!(
            "  - {{clusterName: platform-production-eu-west-1, serviceName: checkout-{i:04}, \
             containers: {{app: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:v2.31.{i}', \
             envoy: 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod'}}}}\n"
        ));
    }
    // 1,200 services: above Step Functions' 256 KiB, a valid release started by reference.
    let validate = convoy(&["validate", "-"], Some(&yaml));
    assert_eq!(validate.status.code(), Some(0), "{}", stdout(&validate));
    assert!(
        stdout(&validate).contains("valid release")
            && stdout(&validate).contains("above 32,768 inline: started by reference"),
        "{}",
        stdout(&validate)
    );
    // render without a bucket: refused, saying how (exit 8), nothing printed.
    let render = convoy(&["render", "-"], Some(&yaml));
    assert_eq!(render.status.code(), Some(8), "{}", stderr(&render));
    assert!(stdout(&render).is_empty(), "nothing rendered");
    let said = stderr(&render);
    for fragment in [
        "-: release `",
        "bytes, above the 32,768 bytes (32 KiB) an execution is started with inline",
        "give --bucket NAME, the release-records bucket",
        "; --full prints the whole release to read it",
        "s3://NAME/inputs/",
    ] {
        assert!(said.contains(fragment), "{fragment}: {said}");
    }
    // --full prints the release itself, exactly as rendered.
    let full = convoy(&["render", "--full", "-"], Some(&yaml));
    assert_eq!(full.status.code(), Some(0), "{}", stderr(&full));
    let want = manifest::render(&manifest::parse("-", &yaml).expect("a valid release"));
    assert_eq!(stdout(&full), format!("{want}\n"));
    // deploy without a bucket: refused before any AWS call.
    let deploy = convoy(
        &[
            "deploy",
            "-",
            "--state-machine",
            "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        ],
        Some(&yaml),
    );
    assert_eq!(deploy.status.code(), Some(8), "{}", stderr(&deploy));
    assert!(
        stderr(&deploy).contains("; CONVOY_RECORDS_BUCKET works too"),
        "{}",
        stderr(&deploy)
    );
}

/// db, then web and api (after db), then the nightly rule (after both).
const ORDERED: &str = "release: {id: ordered-1}\nservices:\n  - name: db\n    clusterName: prod\n    \
    serviceName: db\n    containers: {db: r/db:2}\n  - {service: web, clusterName: prod, serviceName: web, \
    image: r/web:2, dependsOn: [db]}\n  - {service: api, clusterName: prod, serviceName: api, image: r/api:2, \
    dependsOn: [db]}\ntasks:\n  - {service: report, ruleName: nightly, image: r/report:2, dependsOn: [prod/web, prod/api]}\n";

#[test]
fn validate_and_render_show_the_waves_of_an_ordered_release() {
    let path = common::manifest("cli", "ordered", ORDERED);
    let out = convoy(&["validate", &path], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        format!("{path}: valid release ordered-1 (3 services, 1 task, in 3 waves)\n")
    );

    let out = convoy(&["render", &path], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let input: release_core::contract::ReleaseInput =
        serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(
        input.waves,
        [vec!["db"], vec!["prod/web", "prod/api"], vec!["nightly"]]
    );
    assert_eq!(input.services[1].depends_on, ["db"]);
    let want = manifest::render(&manifest::parse(&path, ORDERED).expect("valid"));
    assert_eq!(stdout(&out), format!("{want}\n"));

    // Without dependsOn: no waves in the summary or the input.
    let plain = ORDERED
        .replace(", dependsOn: [db]", "")
        .replace(", dependsOn: [prod/web, prod/api]", "");
    let out = convoy(&["validate", "-"], Some(&plain));
    assert_eq!(
        stdout(&out),
        "-: valid release ordered-1 (3 services, 1 task)\n"
    );
    let out = convoy(&["render", "-"], Some(&plain));
    assert!(!stdout(&out).contains("\"waves\""), "{}", stdout(&out));
}

#[test]
fn validate_lists_every_unknown_name_and_cycle() {
    let broken = ORDERED
        .replace(
            "dependsOn: [db]}\ntasks",
            "dependsOn: [db, prod/web]}\ntasks",
        )
        .replace(
            "dependsOn: [db]}\n  - {service: api",
            "dependsOn: [prod/api, dbb]}\n  - {service: api",
        )
        .replace("[prod/web, prod/api]", "[prod/web, migrate]");
    let path = common::manifest("cli", "broken", &broken);
    let out = convoy(&["validate", &path], None);
    assert_eq!(out.status.code(), Some(5), "{}", stdout(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        [
            format!("{path}: services[1] (prod/web): field `dependsOn`: `dbb` is not the name of any item of this release (did you mean `db`?)"),
            format!("{path}: tasks[0] (nightly): field `dependsOn`: `migrate` is not the name of any item of this release: an item is named by its `name:`, else `cluster/service` for a service and the rule's name for a task (`bus/rule` off the default bus)"),
            format!("{path}: services[1] (prod/web): field `dependsOn`: dependsOn forms a cycle: prod/web → prod/api → prod/web"),
            format!("{path}: 3 problems"),
        ],
        "{lines:#?}"
    );
    // render refuses it the same way, on stderr.
    let out = convoy(&["render", &path], None);
    assert_eq!(out.status.code(), Some(5));
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("dependsOn forms a cycle"),
        "{}",
        stderr(&out)
    );
}
