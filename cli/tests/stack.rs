//! deploy, watch, status and rollback against the whole local stack (moto's Step Functions engine
//! running the real state machine, the functions served by `cargo lambda watch`, the ECS rollout
//! simulator). The test starts its own stack (`local/stack.sh`, on ports of its own) and stops it.
//!
//! One test, scenarios in order: they share one world, and a stack takes a while to start.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{convoy_on, python, repo, seed_demo_world, text};
use serde_json::{json, Value};

/// A local stack of this test's own, stopped when dropped (also when a scenario panics).
struct Stack {
    dir: PathBuf,
    ports: [u16; 3],
    endpoint: String,
}

impl Stack {
    fn start() -> Stack {
        let base: u16 = std::env::var("CONVOY_CLI_STACK_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(5340);
        let stack = Stack {
            // A state directory per port: stacks of concurrent runs on other ports stay apart.
            dir: repo(&format!("target/convoy-cli-stack-{base}")),
            ports: [base, base + 1, base + 2],
            endpoint: format!("http://127.0.0.1:{base}"),
        };
        let out = stack.script("start");
        assert!(
            out.status.success(),
            "local/stack.sh start: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        stack
    }

    fn script(&self, verb: &str) -> Output {
        Command::new(repo("local/stack.sh"))
            .arg(verb)
            .env("CONVOY_STACK_DIR", &self.dir)
            .env("CONVOY_MOTO_PORT", self.ports[0].to_string())
            .env("CONVOY_WATCH_PORT", self.ports[1].to_string())
            .env("CONVOY_SHIM_PORT", self.ports[2].to_string())
            .output()
            .expect("local/stack.sh runs")
    }

    fn convoy(&self, args: &[&str]) -> Output {
        convoy_on(&self.endpoint)
            .args(args)
            .output()
            .expect("convoy runs")
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        let conf = runtime().block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .test_credentials()
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url(&self.endpoint)
                .load(),
        );
        let conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    fn sfn(&self) -> aws_sdk_sfn::Client {
        let conf = runtime().block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .test_credentials()
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url(&self.endpoint)
                .load(),
        );
        aws_sdk_sfn::Client::new(&conf)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.script("stop");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// ECS and CodeDeploy deployment ids are random: `ecs-svc/[id]` keeps snapshots stable.
fn redacted(text: &str) -> String {
    // Rolling deployments (`ecs-svc/…`), service deployments (`BLUE_GREEN deployment …`,
    // `service deployment …`) and CodeDeploy deployments (`d-…`) get random ids.
    [
        "ecs-svc/",
        "BLUE_GREEN deployment ",
        "service deployment ",
        "CodeDeploy deployment d-",
    ]
    .into_iter()
    .fold(text.to_owned(), |text, marker| {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(marker) {
            let (before, after) = rest.split_at(at + marker.len());
            out.push_str(before);
            out.push_str("[id]");
            rest = after.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
        }
        out.push_str(rest);
        out
    })
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn manifest(name: &str, yaml: &str) -> String {
    common::manifest("stack", name, yaml)
}

/// Seeds the demo world and creates the state machine `convoy-cli-release` (stack `convoy-cli`).
fn prepare(stack: &Stack) -> String {
    seed_demo_world(&stack.endpoint);
    let definition =
        std::env::temp_dir().join(format!("convoy-stack-{}-sm.json", std::process::id()));
    let rendered = Command::new(python())
        .arg(repo("local/render_sfn.py"))
        .args(["--max-wait", "1", "-o"])
        .arg(&definition)
        .output()
        .expect("render_sfn.py runs");
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let definition = std::fs::read_to_string(&definition).expect("rendered definition");
    let sfn = stack.sfn();
    runtime()
        .block_on(
            sfn.create_state_machine()
                .name("convoy-cli-release")
                .definition(definition)
                .role_arn("arn:aws:iam::123456789012:role/convoy-cli-release")
                .send(),
        )
        .expect("CreateStateMachine")
        .state_machine_arn()
        .to_owned()
}

fn executions_named(stack: &Stack, machine: &str, name: &str) -> usize {
    let sfn = stack.sfn();
    let listed = runtime()
        .block_on(sfn.list_executions().state_machine_arn(machine).send())
        .expect("ListExecutions");
    listed
        .executions()
        .iter()
        .filter(|e| e.name() == name)
        .count()
}

#[test]
fn commands_against_the_local_stack() {
    let stack = Stack::start();
    let machine = prepare(&stack);
    // The testkit's control calls (faults) go to this stack's moto.
    std::env::set_var(convoy_testkit::ENDPOINT_VAR, &stack.endpoint);
    let moto = convoy_testkit::moto();

    // A release that succeeds: deploy starts it by release id and watches it to the end.
    let out = stack.convoy(&[
        "deploy",
        "examples/deployment.yaml",
        "--stack",
        "convoy-cli",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), Some(0), "{stderr}");
    assert!(
        stderr.contains("started release convoy-demo-1_1_0"),
        "{stderr}"
    );
    // Not a terminal: progress is one line per change, without ANSI.
    assert!(
        stderr.contains("convoy-demo-a/web: registered (convoy-demo-web:2)"),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b') && !text(&out.stdout).contains('\x1b'));
    insta::assert_snapshot!("deploy_succeeded", redacted(&text(&out.stdout)));

    // The same release again: refused, not started twice.
    let out = stack.convoy(&[
        "deploy",
        "examples/deployment.yaml",
        "--state-machine",
        &machine,
    ]);
    assert_eq!(code(&out), Some(6), "refused");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("release `convoy-demo-1_1_0` was already started (SUCCEEDED)"),
        "{stderr}"
    );
    assert_eq!(executions_named(&stack, &machine, "convoy-demo-1_1_0"), 1);

    // status by release id: the report again, once; JSON for machines.
    let out = stack.convoy(&["status", "convoy-demo-1_1_0", "--stack", "convoy-cli"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("status_succeeded", redacted(&text(&out.stdout)));
    let out = stack.convoy(&[
        "status",
        "convoy-demo-1_1_0",
        "--stack",
        "convoy-cli",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), Some(0));
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON status");
    assert_eq!(status["status"], "SUCCEEDED");
    assert_eq!(status["report"]["outcome"], "Succeeded");
    let stages: Vec<&str> = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["stage"].as_str().unwrap())
        .collect();
    // 7 services, 2 rule targets and the migration job (a job that ran is done too).
    assert_eq!(stages, ["deployed"; 10]);
    // Without a way to find the release id, a clear error.
    let out = stack.convoy(&["status", "convoy-demo-1_1_0"]);
    assert_eq!(code(&out), Some(8), "usage");
    assert!(text(&out.stderr).contains("give --state-machine ARN or --stack NAME"));

    // A release where one service fails its rollout: rolled back, exit 1.
    let failing = manifest(
        "fail",
        "release:\n  id: cli-fail-1\nsettings:\n  pollIntervalSeconds: 1\nservices:\n  \
         - clusterName: convoy-demo-a\n    serviceName: api\n    service: api\n    \
         image: public.ecr.aws/convoy-demo/api:1.2.0\n  - clusterName: convoy-demo-b\n    \
         serviceName: search\n    service: search\n    image: public.ecr.aws/convoy-demo/search:1.2.0\n",
    );
    moto.post(
        "/_fault/ecs/arm",
        json!({"cluster": "convoy-demo-b", "service": "search", "mode": "fail"}),
    );
    let out = stack.convoy(&["deploy", &failing, "--stack", "convoy-cli", "--no-watch"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let arn = text(&out.stdout).trim().to_owned();
    assert!(
        arn.ends_with(":execution:convoy-cli-release:cli-fail-1"),
        "{arn}"
    );
    let out = stack.convoy(&["watch", &arn, "--interval", "1"]);
    assert_eq!(code(&out), Some(1), "{}", text(&out.stderr));
    insta::assert_snapshot!("watch_rolled_back", redacted(&text(&out.stdout)));
    // The steps between come from the release records in S3: the verdict of the stability round
    // (the revision it moved to, the check's own wording), then the restores.
    let stderr = text(&out.stderr);
    for step in [
        "convoy-demo-b/search: failed (convoy-demo-search:3): Failed: deployment ecs-svc/",
        "convoy-demo-a/api: rolling back (convoy-demo-api:2)",
    ] {
        assert!(stderr.contains(step), "{step}\n{stderr}");
    }
    assert!(
        !stderr.contains("cannot read the release records"),
        "{stderr}"
    );
    let out = stack.convoy(&[
        "status",
        "cli-fail-1",
        "--stack",
        "convoy-cli",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), Some(1));
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON status");
    assert_eq!(status["error"], "ReleaseFailed");
    assert_eq!(status["report"]["outcome"], "RolledBack");

    // A newer release moves web on.
    let newer = manifest(
        "newer",
        "release:\n  id: cli-newer-1\nsettings:\n  pollIntervalSeconds: 1\nservices:\n  \
         - clusterName: convoy-demo-a\n    serviceName: web\n    service: web\n    \
         image: public.ecr.aws/convoy-demo/web:1.2.0\n",
    );
    let out = stack.convoy(&["deploy", &newer, "--stack", "convoy-cli"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));

    // rollback of the first release: back to the revisions it started from, except web, which
    // now runs the newer release's revision: left alone, exit 6.
    let rollback_first = |extra: &[&str]| {
        let mut args = vec![
            "rollback",
            "convoy-demo-1_1_0",
            "--stack",
            "convoy-cli",
            "--poll-interval",
            "1",
        ];
        args.extend_from_slice(extra);
        stack.convoy(&args)
    };
    let out = rollback_first(&[]);
    assert_eq!(code(&out), Some(6), "{}", text(&out.stderr));
    insta::assert_snapshot!("rollback_left_alone", redacted(&text(&out.stdout)));
    let out = stack.convoy(&["status", "cli-newer-1", "--stack", "convoy-cli"]);
    assert_eq!(code(&out), Some(0), "the newer release still stands");
    // --force restores it too, and says what it overwrote.
    let out = rollback_first(&["--force"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("rollback_forced", redacted(&text(&out.stdout)));
    let out = stack.convoy(&["rollback", "convoy-demo-1_1_0", "--stack", "convoy-cli"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("rollback_again", redacted(&text(&out.stdout)));
    let out = stack.convoy(&["plan", "examples/deployment.yaml"]);
    assert_eq!(
        code(&out),
        Some(2),
        "everything changes again after the rollback"
    );

    // A stopped execution: exit 3; rollback restores it from its records.
    let stuck = manifest(
        "stuck",
        "release:\n  id: cli-stuck-1\nservices:\n  - clusterName: convoy-demo-a\n    \
         serviceName: worker\n    service: worker\n    image: public.ecr.aws/convoy-demo/worker:1.3.0\n",
    );
    moto.post(
        "/_fault/ecs/arm",
        json!({"cluster": "convoy-demo-a", "service": "worker", "mode": "stuck"}),
    );
    let out = stack.convoy(&["deploy", &stuck, "--stack", "convoy-cli", "--no-watch"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let arn = text(&out.stdout).trim().to_owned();
    let out = stack.convoy(&["status", &arn]);
    assert_eq!(code(&out), Some(4), "still running: {}", text(&out.stdout));
    // Stopped where an operator would stop a stuck release: waiting on the rollout. (moto's engine
    // can fail, instead of abort, an execution stopped inside an inline Map.)
    let sfn = stack.sfn();
    runtime().block_on(async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let history = sfn
                .get_execution_history()
                .execution_arn(&arn)
                .max_results(1000)
                .send()
                .await
                .expect("GetExecutionHistory");
            let awaiting = history.events().iter().any(|e| {
                e.state_entered_event_details()
                    .is_some_and(|d| d.name() == "AwaitRelease")
            });
            if awaiting {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "cli-stuck-1 never reached AwaitRelease"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        sfn.stop_execution()
            .execution_arn(&arn)
            .send()
            .await
            .expect("StopExecution");
    });
    let out = stack.convoy(&["watch", &arn]);
    assert_eq!(code(&out), Some(3), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("execution cli-stuck-1: ABORTED"));
    // No report (nothing ran finish-release), but the plan and results are recorded: rollback
    // works from those, and puts worker back.
    let out = stack.convoy(&["rollback", &arn, "--poll-interval", "1"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("rollback of release cli-stuck-1")
            && stdout.lines().any(|l| l.starts_with("convoy-demo-a/worker")
                && l.contains("Restored")
                && l.contains("Succeeded")),
        "{stdout}"
    );
    let out = stack.convoy(&["rollback", &arn]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("AlreadyCurrent"));

    // A release above 32 KiB (a long description): written to the records bucket and started by
    // reference; the execution input stays small and still names the release.
    let large = manifest(
        "large",
        &format!(
            "release:\n  id: cli-large-1\n  description: {}\nsettings:\n  pollIntervalSeconds: 1\n\
             services:\n  - clusterName: convoy-demo-a\n    serviceName: api\n    service: api\n    \
             image: public.ecr.aws/convoy-demo/api:1.3.0\n",
            "large ".repeat(7 * 1024)
        ),
    );
    let out = stack.convoy(&["deploy", &large, "--stack", "convoy-cli"]);
    assert_eq!(code(&out), Some(8), "no bucket: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("give --bucket NAME, the release-records bucket"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(executions_named(&stack, &machine, "cli-large-1"), 0);
    let out = stack.convoy(&[
        "deploy",
        &large,
        "--stack",
        "convoy-cli",
        "--bucket",
        "convoy-records",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(code(&out), Some(0), "{stderr}");
    assert!(
        stderr.contains("written to s3://convoy-records/inputs/cli-large-1/"),
        "{stderr}"
    );
    let arn = format!(
        "{}:cli-large-1",
        machine.replace(":stateMachine:", ":execution:")
    );
    let input = runtime()
        .block_on(stack.sfn().describe_execution().execution_arn(&arn).send())
        .expect("DescribeExecution")
        .input()
        .expect("an input")
        .to_owned();
    assert!(input.len() < 512, "{input}");
    let input: Value = serde_json::from_str(&input).expect("JSON input");
    assert_eq!(input["release"], json!({"id": "cli-large-1"}));
    let uri = input["releaseRef"].as_str().expect("releaseRef");
    let key = uri
        .strip_prefix("s3://convoy-records/")
        .expect("in the records bucket");
    // The object is the release `convoy render --full` prints, named by its sha256.
    let full = stack.convoy(&["render", "--full", &large]);
    assert_eq!(code(&full), Some(0));
    let full = text(&full.stdout);
    let s3 = stack.s3();
    let body = runtime().block_on(async {
        let object = s3
            .get_object()
            .bucket("convoy-records")
            .key(key)
            .send()
            .await
            .expect("GetObject of the release");
        object.body.collect().await.expect("body").into_bytes()
    });
    assert_eq!(text(&body), full.trim_end());
    assert_eq!(
        key,
        release_core::decide::release_ref::key("cli-large-1", full.trim_end())
    );
    // render --bucket prints that same input, and writes nothing new.
    let out = stack.convoy(&["render", &large, "--bucket", "convoy-records"]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(printed, input);
    // status finds it by release id, and the report is the release's.
    let out = stack.convoy(&[
        "status",
        "cli-large-1",
        "--stack",
        "convoy-cli",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), Some(0), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).expect("JSON status");
    assert_eq!(status["report"]["outcome"], "Succeeded");
}
