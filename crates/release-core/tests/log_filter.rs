//! What the functions log at each `LogLevel`: convoy's crates at that level, every other crate (the
//! AWS SDK, hyper, rustls, the Lambda runtime) at `warn` unless asked for by name; and a task
//! definition's `environment` and `secrets` values in no log line, even at TRACE.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, Secret, TaskDefinition};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::body::SdkBody;
use release_core::contract::ImageMap;
use release_core::steps::register::register;
use release_core::telemetry::{filter_directive, DEPENDENCY_LEVEL_VAR};
use tracing::Level;
use tracing_subscriber::EnvFilter;

/// Everything a subscriber writes.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// A JSON subscriber like the functions' (targets included, to tell lines apart) with `directive`.
fn subscriber(directive: &str, lines: &Lines) -> impl tracing::Subscriber + Send + Sync {
    let writer = lines.clone();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_env_filter(EnvFilter::try_new(directive).unwrap())
        .with_writer(move || writer.clone())
        .finish()
}

/// One event per level from a target, as `target level` in the message.
macro_rules! at_every_level {
    ($target:literal) => {
        tracing::event!(target: $target, Level::TRACE, "{} trace", $target);
        tracing::event!(target: $target, Level::DEBUG, "{} debug", $target);
        tracing::event!(target: $target, Level::INFO, "{} info", $target);
        tracing::event!(target: $target, Level::WARN, "{} warn", $target);
        tracing::event!(target: $target, Level::ERROR, "{} error", $target);
    };
}

/// `target level` of every line written while the events of a function's crates and its
/// dependencies were emitted under `directive`.
fn logged(directive: &str) -> BTreeSet<String> {
    let lines = Lines::default();
    tracing::subscriber::with_default(subscriber(directive, &lines), || {
        at_every_level!("release_core::steps::register");
        at_every_level!("plan_release::handler");
        at_every_level!("aws_smithy_runtime::client::orchestrator");
        at_every_level!("aws_sigv4::http_request::sign");
        at_every_level!("hyper_util::client::legacy");
        at_every_level!("rustls::client::hs");
        at_every_level!("lambda_runtime");
    });
    lines
        .text()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["message"].as_str().unwrap().to_owned()
        })
        .collect()
}

const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// `target level` for each level up to `max` (`off`: none).
fn up_to(targets: &[&str], max: &str) -> BTreeSet<String> {
    let n = LEVELS.iter().position(|l| *l == max).map_or(0, |i| i + 1);
    targets
        .iter()
        .flat_map(|t| LEVELS[..n].iter().map(move |l| format!("{t} {l}")))
        .collect()
}

const OURS: [&str; 2] = ["release_core::steps::register", "plan_release::handler"];
const THEIRS: [&str; 5] = [
    "aws_smithy_runtime::client::orchestrator",
    "aws_sigv4::http_request::sign",
    "hyper_util::client::legacy",
    "rustls::client::hs",
    "lambda_runtime",
];

#[test]
fn log_level_sets_convoys_crates_and_leaves_the_others_at_warn() {
    // LogLevel (the template's AllowedValues) → convoy's level, the others' level.
    let cases = [
        ("TRACE", "trace", "warn"),
        ("DEBUG", "debug", "warn"),
        ("INFO", "info", "warn"),
        ("WARN", "warn", "warn"),
        ("ERROR", "error", "error"),
        ("FATAL", "error", "error"),
    ];
    for (log_level, ours, theirs) in cases {
        let directive = filter_directive(Some(log_level), None, None);
        let mut want = up_to(&OURS, ours);
        want.extend(up_to(&THEIRS, theirs));
        assert_eq!(
            logged(&directive),
            want,
            "LogLevel {log_level}: {directive}"
        );
    }
}

#[test]
fn dependencies_log_louder_only_when_asked_by_their_own_variable() {
    let cases = [
        (Some("INFO"), None, Some("debug"), "info", "debug"),
        (Some("TRACE"), None, Some("trace"), "trace", "trace"),
        (Some("DEBUG"), None, Some("error"), "debug", "error"),
        (Some("DEBUG"), None, Some("loud"), "debug", "warn"),
        // RUST_LOG as a level alone is convoy's level, like LogLevel.
        (None, Some("trace"), None, "trace", "warn"),
    ];
    for (lambda, rust_log, dependencies, ours, theirs) in cases {
        let directive = filter_directive(lambda, rust_log, dependencies);
        let mut want = up_to(&OURS, ours);
        want.extend(up_to(&THEIRS, theirs));
        assert_eq!(
            logged(&directive),
            want,
            "{lambda:?} {rust_log:?} {DEPENDENCY_LEVEL_VAR}={dependencies:?}: {directive}"
        );
    }
}

const PREVIOUS: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8";
const ENV_VALUE: &str = "env-value-9f2c4e-do-not-log";
const SECRET_REF: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-7d1a3b-do-not-log";

fn definition(arn: &str, revision: i32) -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn(arn)
        .family("web")
        .revision(revision)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("registry.example.com/web:v1")
                .environment(
                    KeyValuePair::builder()
                        .name("DATABASE_PASSWORD")
                        .value(ENV_VALUE)
                        .build(),
                )
                .secrets(
                    Secret::builder()
                        .name("API_TOKEN")
                        .value_from(SECRET_REF)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
}

/// register-task-definition's work (describe the family and the previous revision, register the
/// next) over the real SDK client, answers mocked, under `directive`: everything logged.
async fn register_logged(directive: &str) -> String {
    // An HTTP answer, as ECS sends it: the SDK reads (and at trace would log) the body itself.
    let describe = mock!(Client::describe_task_definition).then_http_response(|| {
        let body = serde_json::json!({"taskDefinition": {
            "taskDefinitionArn": PREVIOUS, "family": "web", "revision": 7,
            "containerDefinitions": [{
                "name": "app", "image": "registry.example.com/web:v1",
                "environment": [{"name": "DATABASE_PASSWORD", "value": ENV_VALUE}],
                "secrets": [{"name": "API_TOKEN", "valueFrom": SECRET_REF}],
            }],
        }});
        HttpResponse::new(200.try_into().unwrap(), SdkBody::from(body.to_string()))
    });
    let registered = mock!(Client::register_task_definition).then_output(|| {
        RegisterTaskDefinitionOutput::builder()
            .task_definition(definition(NEW, 8))
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &registered]);
    let images = ImageMap::from([("app".to_owned(), "registry.example.com/web:v2".to_owned())]);
    let lines = Lines::default();
    let _guard = tracing::subscriber::set_default(subscriber(directive, &lines));
    let arn = register(&ecs, "r-logs", PREVIOUS, &images).await.unwrap();
    assert_eq!(arn, NEW);
    lines.text()
}

#[tokio::test]
async fn no_environment_or_secret_value_is_logged_even_at_trace() {
    for level in ["TRACE", "DEBUG", "INFO"] {
        let text = register_logged(&filter_directive(Some(level), None, None)).await;
        assert!(
            text.contains("registered"),
            "{level}: convoy's own line: {text}"
        );
        for value in [ENV_VALUE, SECRET_REF] {
            assert!(!text.contains(value), "{level}: {value} logged:\n{text}");
        }
    }
    // What the scoping prevents: at trace the SDK logs the task definition it read.
    let everything = register_logged("trace").await;
    for value in [ENV_VALUE, SECRET_REF] {
        assert!(everything.contains(value), "{value} not in:\n{everything}");
    }
}
