//! Contract between `statemachine/release.asl.json`, the stable error names and the step I/O types:
//! what only convoy knows. Generic ASL rules (StartAt, Next/Default/Choice/Catch targets exist in their
//! scope, every state reachable, required fields, Retry/Catch order) are checked by asl-validator and
//! statelint in tools/check-templates.sh, which also proves they reject a dangling Next.
//!
//! The checks are plain functions returning every problem found, so the negative tests can run them on
//! broken copies of the definition and assert on the message a maintainer would read.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use release_core::contract::{
    BatchInput, BatchProgress, CaughtError, ExecutionStatusChange, FinishInput, PlanRequest,
    PlannedRelease, Records, ReleaseInput, RollbackInput, Settings, StabilityCounts,
    StabilityInput, StepFailures,
};
use release_core::Error;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Errors Step Functions itself raises (ASL spec, "Errors"); any other `States.*` name is a typo.
const STATES_ERRORS: [&str; 16] = [
    "States.ALL",
    "States.BranchFailed",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
];

/// Transient failures of the Lambda service itself, and what a function server restart looks like from
/// the state machine: every Task must retry them, whatever its function does.
const LAMBDA_TRANSIENT: [&str; 5] = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
];

/// The function error types Lambda itself reports when a function's process dies or overruns.
const LAMBDA_RUNTIME_ERRORS: [&str; 2] = ["Runtime.ExitError", "Sandbox.Timedout"];

/// What a crash in the middle of an invocation produces: the function may have done part of its work.
/// Only a Task whose function is safe to run again may retry these ([`IDEMPOTENT`]).
const CRASH_ERRORS: [&str; 4] = [
    "Lambda.Unknown",
    "States.Timeout",
    "Runtime.ExitError",
    "Sandbox.Timedout",
];

/// The functions that are safe to run again after a crash at any point, and why. Every Task calling one
/// of them must retry [`CRASH_ERRORS`] too.
const IDEMPOTENT: [(&str, &str); 5] = [
    (
        "plan-release",
        "reads and pre-flights, then writes plan.json under the execution's own prefix: a rerun \
         writes the same plan again",
    ),
    (
        "deploy-batch",
        "skips every item that has a result record; for the one a crash interrupted it finds the \
         revision this release already registered (tagged with the release id) and reuses it, and \
         UpdateService to the revision the service already runs starts no new deployment (ECS and \
         the local simulator start one only for a new task definition or forceNewDeployment), so the \
         rerun finds the same PRIMARY deployment; PutTargets with the same targets is an upsert",
    ),
    ("check-stability", "read-only: DescribeServices and a stability record it rewrites whole"),
    (
        "rollback",
        "looks at what each service runs now before restoring it, and restores only what is not \
         already on its previous revision",
    ),
    (
        "finish-release",
        "builds the report from the records and rewrites report.json whole; the clean-up deregisters \
         revisions that are still ACTIVE and ignores the ones already gone",
    ),
];

/// The shortest total backoff (before jitter) of the retrier that covers a function server restart:
/// about two minutes, so a function that comes back within that is called again.
const RESTART_BACKOFF_SECONDS: u64 = 120;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn definition_text() -> String {
    read("statemachine/release.asl.json")
}

fn definition() -> Value {
    serde_json::from_str(&definition_text()).expect("statemachine/release.asl.json is JSON")
}

// ---------------------------------------------------------------------------------------------
// Walking the definition
// ---------------------------------------------------------------------------------------------

/// One `States` object: the top level, a Map's ItemProcessor (or legacy Iterator) or a Parallel branch.
struct Scope<'a> {
    /// Where it sits, for messages: `top level`, `DeployWave.ItemProcessor`, ...
    name: String,
    states: &'a serde_json::Map<String, Value>,
}

static NO_STATES: std::sync::LazyLock<serde_json::Map<String, Value>> =
    std::sync::LazyLock::new(serde_json::Map::new);

fn scopes(definition: &Value) -> Vec<Scope<'_>> {
    fn walk<'a>(name: String, machine: &'a Value, out: &mut Vec<Scope<'a>>) {
        let states = machine
            .get("States")
            .and_then(Value::as_object)
            .unwrap_or(&NO_STATES);
        out.push(Scope { name, states });
        let parent = out.last().map(|s| s.name.clone()).unwrap_or_default();
        for (state_name, state) in states {
            let prefix = if parent == "top level" {
                state_name.clone()
            } else {
                format!("{parent}.{state_name}")
            };
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(inner) = state.get(key) {
                    walk(format!("{prefix}.{key}"), inner, out);
                }
            }
            for (i, branch) in state
                .get("Branches")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                walk(format!("{prefix}.Branches[{i}]"), branch, out);
            }
        }
    }
    let mut out = Vec::new();
    walk("top level".into(), definition, &mut out);
    out
}

/// Every state of every scope, with the scope name.
fn all_states(definition: &Value) -> Vec<(String, &str, &Value)> {
    scopes(definition)
        .into_iter()
        .flat_map(|scope| {
            scope
                .states
                .iter()
                .map(move |(name, state)| (scope.name.clone(), name.as_str(), state))
        })
        .collect()
}

fn str_list(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// Every `ErrorEquals` name is one of `Error::NAMES`, a Step Functions `States.*` error, a `Lambda.*`
/// service error or a Lambda runtime error: anything else is a typo that would never match.
fn error_name_problems(definition: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (scope, name, state) in all_states(definition) {
        for key in ["Retry", "Catch"] {
            for (i, rule) in state
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for error in str_list(rule.get("ErrorEquals")) {
                    let known = Error::NAMES.contains(&error)
                        || STATES_ERRORS.contains(&error)
                        || LAMBDA_RUNTIME_ERRORS.contains(&error)
                        || (error.starts_with("Lambda.") && error.len() > "Lambda.".len());
                    if !known {
                        problems.push(format!(
                            "{scope}: state `{name}` {key}[{i}] matches unknown error name `{error}` \
                             (known: Error::NAMES, States.*, Lambda.*, Runtime.ExitError, Sandbox.Timedout)"
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// The longest total wait a retrier can add: Σ min(IntervalSeconds × BackoffRate^k, MaxDelaySeconds)
/// over its MaxAttempts retries (ASL defaults 1 s, 2.0, 3, no cap). FULL jitter only shortens waits.
fn backoff_seconds(retrier: &Value) -> u64 {
    let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
    let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
    let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::INFINITY);
    let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3);
    let mut total = 0.0;
    let mut wait = interval;
    for _ in 0..attempts {
        total += wait.min(cap);
        wait *= rate;
    }
    // whole seconds, rounded up: the budget must not be under-counted
    format!("{:.0}", total.ceil()).parse().unwrap()
}

/// The longest a Task can run: every attempt the Retry list allows (one, plus each retrier's
/// MaxAttempts) taking its whole TimeoutSeconds, plus every retrier's longest backoff.
fn task_worst_seconds(state: &Value) -> u64 {
    let timeout = state["TimeoutSeconds"].as_u64().unwrap_or(0);
    let retriers: Vec<&Value> = state["Retry"].as_array().into_iter().flatten().collect();
    let attempts = 1 + retriers
        .iter()
        .map(|r| r["MaxAttempts"].as_u64().unwrap_or(3))
        .sum::<u64>();
    attempts * timeout + retriers.iter().map(|r| backoff_seconds(r)).sum::<u64>()
}

/// Task rules: `TimeoutSeconds` set; the Lambda transient errors and every `Error::RETRYABLE` name
/// retried with full jitter, and the crash errors too when the Task's function is [`IDEMPOTENT`]; the
/// restart retrier waits [`RESTART_BACKOFF_SECONDS`] in total; never a Retry on `States.ALL`; the
/// Catch list ends with `States.ALL`.
fn task_problems(definition: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (scope, name, state) in all_states(definition) {
        if state.get("Type").and_then(Value::as_str) != Some("Task") {
            continue;
        }
        let at = format!("{scope}: Task `{name}`");
        if state
            .get("TimeoutSeconds")
            .and_then(Value::as_u64)
            .is_none()
            && state.get("TimeoutSecondsPath").is_none()
        {
            problems.push(format!("{at} has no TimeoutSeconds"));
        }
        let retriers: Vec<&Value> = state
            .get("Retry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        for (i, retrier) in retriers.iter().enumerate() {
            let errors = str_list(retrier.get("ErrorEquals"));
            if errors.contains(&"States.ALL") {
                problems.push(format!(
                    "{at} Retry[{i}] retries States.ALL: a permanent error would be retried too"
                ));
            }
            if retrier.get("JitterStrategy").and_then(Value::as_str) != Some("FULL") {
                problems.push(format!("{at} Retry[{i}] has no JitterStrategy FULL"));
            }
        }
        let retried: BTreeSet<&str> = retriers
            .iter()
            .flat_map(|r| str_list(r.get("ErrorEquals")))
            .collect();
        for needed in Error::RETRYABLE.iter().chain(LAMBDA_TRANSIENT.iter()) {
            if !retried.contains(needed) {
                problems.push(format!("{at} has no Retry for `{needed}`"));
            }
        }
        let function = function_of(state["Resource"].as_str().unwrap_or_default());
        if let Some((_, why)) = IDEMPOTENT.iter().find(|(f, _)| *f == function) {
            for needed in CRASH_ERRORS {
                if !retried.contains(needed) {
                    problems.push(format!(
                        "{at} has no Retry for `{needed}`, though `{function}` is safe to run again ({why})"
                    ));
                }
            }
        }
        let restart = retriers
            .iter()
            .find(|r| str_list(r.get("ErrorEquals")).contains(&"Lambda.ServiceException"));
        if let Some(restart) = restart {
            let backoff = backoff_seconds(restart);
            if backoff < RESTART_BACKOFF_SECONDS {
                problems.push(format!(
                    "{at} retries a function server restart for {backoff} s in total, less than \
                     {RESTART_BACKOFF_SECONDS} s"
                ));
            }
        }
        let catchers = state.get("Catch").and_then(Value::as_array);
        let last_catch = catchers
            .and_then(|c| c.last())
            .map(|c| str_list(c.get("ErrorEquals")));
        if last_catch.as_deref() != Some(&["States.ALL"][..]) {
            problems.push(format!(
                "{at} does not end its Catch list with ErrorEquals [\"States.ALL\"]"
            ));
        }
    }
    problems
}

/// `${Name}` placeholders in the definition text.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.insert(name.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// The state machine's DefinitionSubstitutions keys, read from template.yaml (values are
/// `!GetAtt`/`!Ref` tags, which serde_yaml_ng keeps as tagged values).
fn substitution_keys(template: &str) -> BTreeSet<String> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(template).expect("template.yaml is YAML");
    let resources = doc
        .get("Resources")
        .and_then(serde_yaml_ng::Value::as_mapping)
        .expect("template.yaml has Resources");
    let machines: Vec<_> = resources
        .values()
        .filter(|r| {
            r.get("Type").and_then(serde_yaml_ng::Value::as_str)
                == Some("AWS::Serverless::StateMachine")
        })
        .collect();
    assert_eq!(machines.len(), 1, "template.yaml has one state machine");
    let props = &machines[0]["Properties"];
    assert_eq!(
        props["DefinitionUri"].as_str(),
        Some("statemachine/release.asl.json"),
        "the state machine is defined by statemachine/release.asl.json"
    );
    props["DefinitionSubstitutions"]
        .as_mapping()
        .expect("DefinitionSubstitutions is a mapping")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect()
}

fn placeholder_problems(text: &str, substitutions: &BTreeSet<String>) -> Vec<String> {
    let used = placeholders(text);
    let mut problems: Vec<String> = used
        .difference(substitutions)
        .map(|p| format!("the definition uses ${{{p}}} but DefinitionSubstitutions has no `{p}`"))
        .collect();
    problems.extend(
        substitutions
            .difference(&used)
            .map(|s| format!("DefinitionSubstitutions key `{s}` is not used by the definition")),
    );
    problems
}

fn all_problems(definition: &Value) -> Vec<String> {
    let mut problems = error_name_problems(definition);
    problems.extend(task_problems(definition));
    problems
}

fn assert_no_problems(problems: Vec<String>) {
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The real definition
// ---------------------------------------------------------------------------------------------

#[test]
fn every_error_name_is_known() {
    assert_no_problems(error_name_problems(&definition()));
}

#[test]
fn every_task_has_timeout_retries_and_final_catch_all() {
    assert_no_problems(task_problems(&definition()));
}

#[test]
fn every_placeholder_has_a_substitution_and_back() {
    assert_no_problems(placeholder_problems(
        &definition_text(),
        &substitution_keys(&read("template.yaml")),
    ));
}

#[test]
fn the_checks_walk_into_the_map_item_processors() {
    let names: Vec<String> = scopes(&definition()).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["top level", "DeployWave.ItemProcessor"]);
}

#[test]
fn definition_is_standard_jsonpath_with_an_execution_timeout() {
    let d = definition();
    assert!(d["TimeoutSeconds"].as_u64().is_some_and(|t| t > 0));
    let text = definition_text();
    // moto's engine (the local and test engine) runs neither JSONata nor variables.
    for unsupported in [
        "\"QueryLanguage\"",
        "\"Assign\"",
        "\"Arguments\"",
        "\"Output\"",
    ] {
        assert!(
            !text.contains(unsupported),
            "{unsupported} is not supported locally"
        );
    }
    // Lambda tasks only: every Task resource is a function ARN placeholder.
    for (scope, name, state) in all_states(&d) {
        if state["Type"] == "Task" {
            let resource = state["Resource"].as_str().unwrap_or_default();
            assert!(
                resource.starts_with("${") && resource.ends_with("FunctionArn}"),
                "{scope}: Task `{name}` resource `{resource}` is not a function ARN placeholder"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Negative tests: the checks catch broken copies with a message naming the problem.
// ---------------------------------------------------------------------------------------------

fn state_mut<'a>(d: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(d, |v, key| &mut v[*key])
}

#[test]
fn an_unknown_error_name_is_reported() {
    let mut d = definition();
    state_mut(&mut d, &["States", "PlanRelease", "Retry"])[1]["ErrorEquals"] =
        json!(["Throttling", "AwsUnavailable"]);
    let problems = all_problems(&d);
    assert!(
        problems.contains(&"top level: state `PlanRelease` Retry[1] matches unknown error name `Throttling` (known: Error::NAMES, States.*, Lambda.*, Runtime.ExitError, Sandbox.Timedout)".to_string()),
        "{problems:#?}"
    );
    // ... and the renamed retrier no longer covers the real name.
    assert!(
        problems
            .contains(&"top level: Task `PlanRelease` has no Retry for `Throttled`".to_string()),
        "{problems:#?}"
    );
}

#[test]
fn a_misspelled_states_error_is_reported() {
    let mut d = definition();
    state_mut(&mut d, &["States", "FinishRelease", "Catch"])[0]["ErrorEquals"] =
        json!(["States.Al"]);
    let problems = all_problems(&d);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("unknown error name `States.Al`")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p
            == "top level: Task `FinishRelease` does not end its Catch list with ErrorEquals [\"States.ALL\"]"),
        "{problems:#?}"
    );
}

#[test]
fn retry_on_states_all_missing_jitter_and_missing_timeout_are_reported() {
    let mut d = definition();
    let task = state_mut(&mut d, &["States", "AwaitRelease"]);
    task["Retry"][0]["ErrorEquals"] = json!(["States.ALL"]);
    task["Retry"][0]
        .as_object_mut()
        .unwrap()
        .remove("JitterStrategy");
    task.as_object_mut().unwrap().remove("TimeoutSeconds");
    let problems = task_problems(&d);
    for expected in [
        "top level: Task `AwaitRelease` has no TimeoutSeconds",
        "top level: Task `AwaitRelease` Retry[0] retries States.ALL: a permanent error would be retried too",
        "top level: Task `AwaitRelease` Retry[0] has no JitterStrategy FULL",
        "top level: Task `AwaitRelease` has no Retry for `Lambda.ServiceException`",
    ] {
        assert!(problems.iter().any(|p| p == expected), "missing `{expected}` in {problems:#?}");
    }
}

#[test]
fn a_missing_or_unused_substitution_is_reported() {
    let subs: BTreeSet<String> = ["PlanReleaseFunctionArn", "Unused"]
        .map(String::from)
        .into();
    let problems = placeholder_problems(
        r#"{"A": "${PlanReleaseFunctionArn}", "B": "${MissingFunctionArn}", "C.$": "$.x"}"#,
        &subs,
    );
    assert_eq!(
        problems,
        [
            "the definition uses ${MissingFunctionArn} but DefinitionSubstitutions has no `MissingFunctionArn`",
            "DefinitionSubstitutions key `Unused` is not used by the definition",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Sample events and the ASL's step inputs
// ---------------------------------------------------------------------------------------------

/// Function name (= sample event file stem) → the step type its input deserializes into.
fn parse_as<T: DeserializeOwned>(name: &str, value: Value) -> Result<(), String> {
    serde_json::from_value::<T>(value)
        .map(drop)
        .map_err(|e| format!("events/{name}.json: {e}"))
}

fn parse_event(name: &str, value: Value) -> Result<(), String> {
    match name {
        "release" => parse_as::<ReleaseInput>(name, value),
        "plan-release" => parse_as::<PlanRequest>(name, value),
        "deploy-batch" => parse_as::<BatchInput>(name, value),
        "check-stability" => parse_as::<StabilityInput>(name, value),
        "rollback" => parse_as::<RollbackInput>(name, value),
        "finish-release" => parse_as::<FinishInput>(name, value),
        // Not a Task's input: what the EventBridge rule hands the watchdog.
        "watchdog-aborted" | "watchdog-timed-out" => {
            parse_as::<EventBridgeEvent<ExecutionStatusChange>>(name, value)
        }
        other => Err(format!("events/{other}.json: no step type is known for it")),
    }
}

fn events() -> BTreeMap<String, Value> {
    let dir = repo_root().join("events");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("read event");
            let value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (name, value)
        })
        .collect()
}

/// Task resource placeholder → function name, e.g. `${CheckStabilityFunctionArn}` → `check-stability`.
fn function_of(resource: &str) -> String {
    let logical = resource
        .trim_start_matches("${")
        .trim_end_matches("FunctionArn}");
    let mut out = String::new();
    for (i, c) in logical.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn every_event_deserializes_into_its_step_type() {
    let events = events();
    let expected = [
        "check-stability",
        "deploy-batch",
        "finish-release",
        "plan-release",
        "release",
        "rollback",
        "watchdog-aborted",
        "watchdog-timed-out",
    ];
    assert_eq!(
        events.keys().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
    let problems: Vec<String> = events
        .into_iter()
        .filter_map(|(name, value)| parse_event(&name, value).err())
        .collect();
    assert_no_problems(problems);
}

#[test]
fn a_drifted_event_is_rejected_with_the_field_named() {
    let mut e = events().remove("check-stability").unwrap();
    e["pollInterval"] = e
        .as_object_mut()
        .unwrap()
        .remove("pollIntervalSeconds")
        .unwrap();
    let err = parse_event("check-stability", e).unwrap_err();
    assert!(err.contains("pollInterval"), "{err}");
}

/// Every Task calls a function that has a sample event, and passes only fields of that function's
/// input. The sample events fill every optional field, so their keys are the input type's fields.
fn task_input_problems(d: &Value, events: &BTreeMap<String, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for (scope, name, state) in all_states(d) {
        if state["Type"] != "Task" {
            continue;
        }
        let function = function_of(state["Resource"].as_str().unwrap_or_default());
        let Some(sample) = events.get(&function) else {
            problems.push(format!(
                "{scope}: Task `{name}` calls `{function}`, which has no events/{function}.json"
            ));
            continue;
        };
        let fields: BTreeSet<&str> = sample
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // Without Parameters a Task passes its state input: inside a Map iteration that is the Map's
        // ItemSelector object; at the top level it is the execution input (events/release.json).
        let map_selector = scope
            .strip_suffix(".ItemProcessor")
            .and_then(|map| d["States"][map].get("ItemSelector"));
        let Some(params) = state
            .get("Parameters")
            .or(map_selector)
            .and_then(Value::as_object)
        else {
            continue;
        };
        let passed: BTreeSet<&str> = params.keys().map(|k| k.trim_end_matches(".$")).collect();
        for key in &passed {
            if !fields.contains(key) {
                problems.push(format!("{scope}: Task `{name}` passes `{key}`, which `{function}`'s input does not have"));
            }
        }
    }
    problems
}

#[test]
fn every_task_has_a_sample_event_and_passes_only_fields_its_input_has() {
    assert_no_problems(task_input_problems(&definition(), &events()));
}

#[test]
fn a_field_the_input_lacks_and_a_task_without_a_sample_are_reported() {
    let mut d = definition();
    state_mut(&mut d, &["States", "AwaitRelease", "Parameters"])["pollInterval.$"] =
        json!("$.plan.settings.pollIntervalSeconds");
    let mut events = events();
    events.remove("rollback");
    let problems = task_input_problems(&d, &events);
    for expected in [
        "top level: Task `AwaitRelease` passes `pollInterval`, which `check-stability`'s input does not have",
        "top level: Task `RollbackRelease` calls `rollback`, which has no events/rollback.json",
    ] {
        assert!(problems.iter().any(|p| p == expected), "missing `{expected}` in {problems:#?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Payload budget: the state holds counts, references and error names only (docs/decisions/0006).
// ---------------------------------------------------------------------------------------------

/// The target for the largest state, whatever the release's size: a quarter of the hard limit.
const STATE_TARGET: usize = 64 * 1024;

/// The most waves `dependsOn` may make (ManifestInvalid past it): the history and payload bounds
/// are computed for it.
#[allow(clippy::cast_possible_truncation)] // 20, in a const (where try_from is not)
const MAX_WAVES: u32 = release_core::decide::waves::MAX_WAVES as u32;

/// `wave` as WaveStart sets it for wave `index`: each field of its Parameters, valued as its path or
/// intrinsic evaluates (a field this does not know fails the test: give it its largest value).
fn wave_state(definition: &Value, records: &Records, index: u32) -> Value {
    let params = definition["States"]["WaveStart"]["Parameters"]
        .as_object()
        .expect("WaveStart has Parameters");
    let fields = params.keys().map(|key| {
        let field = key.trim_end_matches(".$");
        let value = match field {
            "index" => json!(index),
            "next" => json!(index + 1),
            "itemsKey" => json!(records.key(&format!("waves/{index}/batches.json"))),
            other => {
                panic!("WaveStart sets `wave.{other}`: largest_payload needs its largest value")
            }
        };
        (field.to_string(), value)
    });
    Value::Object(fields.collect())
}

/// The largest payloads the definition builds for a release of `n` changed services in `waves`
/// waves, in its last wave: the state as AwaitRelease leaves it (with the first rollback call's
/// counts, every wave below still to roll back), FinishRelease's input, and the Map's result (one
/// child output per batch, before `ResultPath: null` drops it). `worst`: every item failed and the
/// four steps that can fail as a whole failed with messages as long as a function may send
/// ([`release_core::error::MAX_MESSAGE_BYTES`]).
fn largest_payload(n: usize, worst: bool, waves: u32) -> usize {
    let release_id = "release-2026-11-23T21-39-11Z-4f1c2a9";
    let records = Records::for_execution(
        "convoy-records-123456789012-eu-west-1",
        release_id,
        release_id,
    );
    let n32 = u32::try_from(n).unwrap();
    let plan = PlannedRelease {
        release_id: release_id.into(),
        records: records.clone(),
        settings: Settings::default(),
        waves,
        changed: n32,
        unchanged: 0,
    };
    let caught = || {
        worst.then(|| CaughtError {
            error: "RollbackFailed".into(),
            cause: "x".repeat(release_core::error::MAX_MESSAGE_BYTES),
        })
    };
    let failures = StepFailures {
        deploy: caught(),
        await_release: caught(),
        rollback: caught(),
        await_rollback: caught(),
    };
    let failed = if worst { n32 } else { 0 };
    let last = waves - 1;
    let state = json!({
        "plan": plan,
        "wave": wave_state(&definition(), &records, last),
        "stability": StabilityCounts { pending: 0, failed, remaining_waves: 0 },
        "rollbackStability": StabilityCounts { pending: 0, failed, remaining_waves: last },
        "failures": failures,
    });
    let finish = FinishInput {
        release_id: release_id.into(),
        execution_arn: format!(
            "arn:aws:states:us-east-1:123456789012:execution:convoy-release:{release_id}"
        ),
        records,
        failures,
        started_at: None,
    };
    let batches = release_core::decide::batches::MAX_BATCHES;
    let map_result: Vec<BatchProgress> = vec![
        BatchProgress {
            remaining: 0,
            failed: u32::MAX,
        };
        batches
    ];
    let len = |bytes: serde_json::Result<Vec<u8>>| bytes.map_or(0, |b| b.len());
    len(serde_json::to_vec(&state))
        .max(len(serde_json::to_vec(&finish)))
        .max(len(serde_json::to_vec(&map_result)))
}

#[test]
fn the_state_fits_64_kib_for_ten_thousand_failing_items_and_does_not_grow_with_them() {
    let at = |n| largest_payload(n, true, 1);
    eprintln!(
        "largest payload: {} B at N=10 and {} B at N=10,000 (all failed, four step failures); {} B \
         at N=10,000 all deployed",
        at(10),
        at(10_000),
        largest_payload(10_000, false, 1),
    );
    assert!(at(10_000) < STATE_TARGET, "worst case at N=10,000");
    // Only the digits of a count grow.
    assert!(at(10_000) - at(10) < 16, "{} vs {}", at(10_000), at(10));
}

/// The state of the last of [`MAX_WAVES`] waves is the one-wave state with larger numbers: the
/// loop keeps the wave's index, the next one and its batch list's key, never a list of waves.
#[test]
fn the_state_at_the_last_of_twenty_waves_fits_64_kib_and_grows_only_by_digits() {
    let at = |waves| largest_payload(10_000, true, waves);
    eprintln!(
        "largest payload at N=10,000 (all failed): {} B in a one-wave release, {} B in wave {} of {MAX_WAVES}",
        at(1),
        at(MAX_WAVES),
        MAX_WAVES - 1,
    );
    assert!(
        at(MAX_WAVES) < STATE_TARGET,
        "worst case in wave {MAX_WAVES}"
    );
    // plan.waves, wave.index, wave.next, the key's wave and rollbackStability.remainingWaves: a
    // digit more each.
    assert!(at(MAX_WAVES) - at(1) < 16, "{} vs {}", at(MAX_WAVES), at(1));
}

/// The Map's items (batches.json) are read from S3 by the Map itself: the state holds only their key.
#[test]
fn the_distributed_map_runs_on_both_engines() {
    let d = definition();
    let map = &d["States"]["DeployWave"];
    assert_eq!(map["Type"], "Map");
    let processor = &map["ItemProcessor"]["ProcessorConfig"];
    assert_eq!(processor["Mode"], "DISTRIBUTED");
    // moto runs STANDARD children only, and a batch outlives EXPRESS's five minutes anyway.
    assert_eq!(processor["ExecutionType"], "STANDARD");
    assert_eq!(map["Label"], "wave");
    let reader = &map["ItemReader"];
    assert_eq!(reader["Resource"], "arn:aws:states:::s3:getObject");
    // Without it moto hands the object's text on as the items.
    assert_eq!(reader["ReaderConfig"]["InputType"], "JSON");
    assert_eq!(reader["Parameters"]["Key.$"], "$.wave.itemsKey");
    assert_eq!(reader["Parameters"]["Bucket.$"], "$.plan.records.bucket");
    // Failed children are judged from the records once every child has ended: a Map that stopped
    // them at the first failure would leave their Lambda calls running while the rollback starts.
    // Every child: a wave has at most MAX_BATCHES of them (moto's grammar takes no integer
    // percentage, and cfn-lint no decimal one).
    assert_eq!(
        map["ToleratedFailureCount"],
        json!(release_core::decide::batches::MAX_BATCHES)
    );
    assert!(map.get("ToleratedFailurePercentage").is_none());
    // The same input on every call of the child's loop, whatever the state gained.
    let batch = &map["ItemProcessor"]["States"]["DeployBatch"];
    let passed: BTreeSet<&str> = batch["Parameters"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let selected: BTreeSet<&str> = map["ItemSelector"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(passed, selected);
    // moto has no ItemBatcher (plan-release makes the batches) and writes no results.
    for absent in ["ItemBatcher", "ResultWriter", "ItemsPath"] {
        assert!(map.get(absent).is_none(), "{absent}");
    }
    assert_eq!(map["ResultPath"], Value::Null);
    assert_eq!(map["MaxConcurrencyPath"], "$.plan.settings.maxConcurrency");
    // A child's context is not the release's: the parent's execution reaches it as data.
    assert_eq!(map["ItemSelector"]["executionArn.$"], "$$.Execution.Id");
    assert_eq!(map["ItemSelector"]["batch.$"], "$$.Map.Item.Value");
    assert!(map["Catch"][0]["ErrorEquals"] == json!(["States.ALL"]));
    assert_eq!(map["Catch"][0]["Next"], "AwaitRelease");
    assert_eq!(map["Next"], "AwaitRelease");
}

/// plan-release never makes more batches than the Map runs at once: every batch of a wave runs
/// together, so the pacing shares add up to the account's buckets, not to a fraction of them.
#[test]
fn every_batch_of_a_wave_runs_at_once() {
    use release_core::contract::examples::{app_image, plan, service_item};
    use release_core::decide::batches::{layout, AccountRates};
    for (n, max_concurrency) in [(10, 10), (500, 10), (2_000, 40), (10_000, 100), (700, 3)] {
        let services = (0..n)
            .map(|i| service_item("c", &format!("s{i}"), &format!("s{i}:1"), app_image("x:2")))
            .collect();
        let mut p = plan(services, vec![]);
        p.settings.max_concurrency = max_concurrency;
        let batches = layout(&p, max_concurrency, AccountRates::ECS).specs.len();
        assert!(
            batches <= usize::try_from(max_concurrency).unwrap(),
            "{n} items at maxConcurrency {max_concurrency}: {batches} batches"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// History budget: the parent's events, per wave (docs/decisions/0006 § State, payload and history
// bounds). The Map's children keep their events in their own executions.
// ---------------------------------------------------------------------------------------------

/// Step Functions' hard limit on one execution's history: an execution that reaches it fails,
/// and no Catch sees it (nothing rolls back, nothing reports).
const HISTORY_LIMIT: u64 = 25_000;

/// The longest `pollIntervalSeconds` a manifest may set (`decide::manifest::checks`, crate-private).
const MAX_POLL_INTERVAL_SECONDS: u64 = 5;

/// Each failed attempt a Retry allows adds LambdaFunctionScheduled, LambdaFunctionStarted and
/// LambdaFunctionFailed (or LambdaFunctionTimedOut) to the history.
const EVENTS_PER_RETRY: u64 = 3;

/// The events one pass through a state adds when it succeeds, from its type: a Lambda Task:
/// TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded,
/// TaskStateExited; a Distributed Map: MapStateEntered, MapStateStarted, MapRunStarted,
/// MapRunSucceeded, MapStateSucceeded, MapStateExited, whatever its children do (an inline Map
/// adds events per item: no bound here); Pass, Choice and Succeed: entered and exited; Fail:
/// entered (the execution's own start and end are counted apart). tools/test_asl_flow.py pins the
/// same list on moto's engine.
fn events_of(name: &str, state: &Value) -> Result<u64, String> {
    match state["Type"].as_str().unwrap_or_default() {
        "Task" => Ok(5),
        "Map" if state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED" => Ok(6),
        "Pass" | "Choice" | "Succeed" => Ok(2),
        "Fail" => Ok(1),
        other => Err(format!(
            "`{name}` is a {other} state: its history events are not counted here"
        )),
    }
}

/// The failed attempts a state's Retry list allows before the attempt that succeeds.
fn retries_of(state: &Value) -> u64 {
    state["Retry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["MaxAttempts"].as_u64().unwrap_or(3))
        .sum()
}

/// Where a top-level state can go: its Next, its Choices' and Default, its Catch targets.
fn transitions(state: &Value) -> BTreeSet<&str> {
    let choices = state["Choices"].as_array().into_iter().flatten();
    let catches = state["Catch"].as_array().into_iter().flatten();
    choices
        .chain(catches)
        .map(|c| &c["Next"])
        .chain([&state["Next"], &state["Default"]])
        .filter_map(Value::as_str)
        .collect()
}

/// A run through the top level, counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Walk {
    /// Its events when every state succeeds at once.
    events: u64,
    /// The most events its Tasks' retries can add (every Task call failing as often as its Retry
    /// list allows before it succeeds).
    retry_events: u64,
}

/// Walks `path` through the definition's top level: every state must exist and every step be a
/// transition the state can take, so the counts are of a run the definition can make.
fn walk(definition: &Value, path: &[&str]) -> Result<Walk, String> {
    let states = &definition["States"];
    let mut out = Walk::default();
    for (i, name) in path.iter().enumerate() {
        let state = &states[*name];
        if !state.is_object() {
            return Err(format!("the definition has no state `{name}`"));
        }
        if let Some(next) = path.get(i + 1) {
            if !transitions(state).contains(next) {
                return Err(format!("`{name}` cannot go to `{next}`"));
            }
        }
        out.events += events_of(name, state)?;
        if state["Type"] == "Task" {
            out.retry_events += EVENTS_PER_RETRY * retries_of(state);
        }
    }
    Ok(out)
}

/// The states a release enters: each wave takes its number of AwaitRelease rounds (at least
/// one); with `rollback`, the release stops in its last wave and rolls back every wave, each
/// rollback call awaited that many AwaitRollback rounds (0: it started nothing to await).
fn release_path(rounds: &[u64], rollback: Option<&[u64]>) -> Vec<&'static str> {
    let mut path = vec!["PlanRelease", "HasChanges"];
    for &wave_rounds in rounds {
        path.extend(["WaveStart", "DeployWave"]);
        for _ in 0..wave_rounds.max(1) {
            path.extend(["AwaitRelease", "ReleaseVerdict"]);
        }
    }
    for (i, &calls_rounds) in rollback.unwrap_or_default().iter().enumerate() {
        // Every wave below the first named by RollbackNextWave.
        if i > 0 {
            path.push("RollbackNextWave");
        }
        path.extend(["RollbackRelease", "RollbackVerdict"]);
        for _ in 0..calls_rounds {
            path.extend(["AwaitRollback", "RollbackVerdict"]);
        }
    }
    let end = if rollback.is_some() {
        "ReleaseFailed"
    } else {
        "ReleaseSucceeded"
    };
    path.extend(["FinishRelease", "ReleaseOutcome", end]);
    path
}

/// ExecutionStarted and ExecutionSucceeded (or ExecutionFailed).
const EXECUTION_EVENTS: u64 = 2;

fn history(definition: &Value, path: &[&str]) -> Result<Walk, String> {
    let walked = walk(definition, path)?;
    Ok(Walk {
        events: walked.events + EXECUTION_EVENTS,
        ..walked
    })
}

/// The shortest round that leaves something pending: check-stability polls until another poll
/// would pass its budget (`check_stability::check`), so such a round lasts at least the budget
/// less one poll interval. The budget is the template's `CONVOY_STABILITY_BUDGET_SECONDS` where it
/// sets one (the shortest), else the function's default.
///
/// The bound below rests on this. `check` returns early only on a failure new in its call, which
/// ends the loop (policy `all`) or happens once per item, so a failure already known (policies
/// `failed` and `none` awaiting the rest of a wave, AwaitRollback after a failed restore) leaves
/// the floor in place (`tests/stability_polling.rs`).
fn shortest_pending_round_seconds() -> u64 {
    use release_core::steps::check_stability::{BUDGET_ENV, DEFAULT_BUDGET};
    let template: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("template.yaml")).expect("template.yaml is YAML");
    let globals = template["Globals"]["Function"]["Environment"]["Variables"][BUDGET_ENV].clone();
    let resources = template["Resources"]
        .as_mapping()
        .expect("template.yaml has Resources");
    let set = resources
        .values()
        .map(|r| r["Properties"]["Environment"]["Variables"][BUDGET_ENV].clone())
        .chain([globals])
        .filter(|v| !v.is_null())
        .map(|v| {
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{v:?}"));
            text.parse::<u64>()
                .unwrap_or_else(|e| panic!("template.yaml {BUDGET_ENV}: {text}: {e}"))
        })
        .min();
    let budget = set.unwrap_or(DEFAULT_BUDGET.as_secs());
    assert!(budget > MAX_POLL_INTERVAL_SECONDS, "a round of {budget} s");
    budget - MAX_POLL_INTERVAL_SECONDS
}

/// The most rounds the waves' awaits can take: a wave's items all reach their deadline at most
/// its longest `timeoutSeconds` d after their UpdateService (before its first round), so its rounds
/// that leave something pending are at most ⌈d / round⌉, plus the round that sees the end and one
/// more for a first round that returns after one poll (the Map left failures). The waves' longest
/// deadlines add up to at most D = `MAX_TIMEOUT_SECONDS` (ManifestInvalid past it), so the sum of
/// ⌈d_k / round⌉ is at most ⌊D / round⌋ + W. The ⌊D / round⌋ go to the first wave here (the total
/// is what counts); every wave takes its 1 + 2 more.
fn worst_rounds(waves: u32, round_seconds: u64) -> Vec<u64> {
    let total_deadline = u64::from(release_core::decide::manifest::MAX_TIMEOUT_SECONDS);
    let mut rounds = vec![1 + 2; usize::try_from(waves).unwrap()];
    rounds[0] += total_deadline / round_seconds;
    rounds
}

/// The most events a release of `waves` waves can write: every wave's awaits at their worst, the
/// release stopped in its last wave, and every wave rolled back (one call each) and awaited at its
/// worst, every Task call retried as often as its Retry list allows.
fn worst_history(definition: &Value, waves: u32) -> Result<Walk, String> {
    let rounds = worst_rounds(waves, shortest_pending_round_seconds());
    history(definition, &release_path(&rounds, Some(&rounds)))
}

#[test]
fn each_wave_adds_the_same_events_to_a_one_wave_release() {
    let d = definition();
    // A wave: its Map, then its rounds, each an AwaitRelease and a ReleaseVerdict (WaveStart is
    // entered from the ReleaseVerdict of the wave before).
    for rounds in [1, 3] {
        let mut body = vec!["WaveStart", "DeployWave"];
        for _ in 0..rounds {
            body.extend(["AwaitRelease", "ReleaseVerdict"]);
        }
        let per_wave = walk(&d, &body).unwrap();
        let mut rollback_body = vec!["RollbackNextWave", "RollbackRelease", "RollbackVerdict"];
        for _ in 0..rounds {
            rollback_body.extend(["AwaitRollback", "RollbackVerdict"]);
        }
        let per_rollback_wave = walk(&d, &rollback_body).unwrap();
        let one = |w: usize| vec![rounds; w];
        let succeeded = |w| history(&d, &release_path(&one(w), None)).unwrap();
        let rolled_back = |w| history(&d, &release_path(&one(w), Some(&one(w)))).unwrap();
        for w in 1..=20_u64 {
            let n = usize::try_from(w).unwrap();
            assert_eq!(
                succeeded(n).events,
                succeeded(1).events + (w - 1) * per_wave.events,
                "{w} waves of {rounds} rounds"
            );
            assert_eq!(
                rolled_back(n).events,
                rolled_back(1).events + (w - 1) * (per_wave.events + per_rollback_wave.events),
                "{w} waves of {rounds} rounds, rolled back"
            );
        }
    }
    // The one-wave release of tools/test_asl_flow.py (one round, no rollback): the 33 events moto
    // writes, listed there.
    assert_eq!(history(&d, &release_path(&[1], None)).unwrap().events, 33);
    // ... and its rolled-back one (one round, one rollback call awaited one round): 46.
    assert_eq!(
        history(&d, &release_path(&[1], Some(&[1]))).unwrap().events,
        46
    );
    // Nothing changed: no wave.
    let nothing = [
        "PlanRelease",
        "HasChanges",
        "FinishRelease",
        "ReleaseOutcome",
        "ReleaseSucceeded",
    ];
    assert_eq!(history(&d, &nothing).unwrap().events, 18);
}

#[test]
fn twenty_waves_rolled_back_stay_under_the_history_limit() {
    let d = definition();
    let round = shortest_pending_round_seconds();
    let worst = worst_history(&d, MAX_WAVES).unwrap();
    let one = worst_history(&d, 1).unwrap();
    eprintln!(
        "history at W={MAX_WAVES}, rounds of ≥ {round} s, every wave rolled back: {} events, {} with \
         every Task call retried to its last attempt (W=1: {}, {}); limit {HISTORY_LIMIT}",
        worst.events,
        worst.events + worst.retry_events,
        one.events,
        one.events + one.retry_events,
    );
    assert!(
        worst.events + worst.retry_events < HISTORY_LIMIT,
        "{worst:?} at {MAX_WAVES} waves"
    );
}

#[test]
fn a_wave_loop_the_definition_cannot_make_is_reported() {
    let mut d = definition();
    // ReleaseVerdict without its next-wave rule: a second wave cannot start.
    let choices = state_mut(&mut d, &["States", "ReleaseVerdict", "Choices"]);
    choices
        .as_array_mut()
        .unwrap()
        .retain(|c| c["Next"] != "WaveStart");
    assert_eq!(
        history(&d, &release_path(&[1, 1], None)),
        Err("`ReleaseVerdict` cannot go to `WaveStart`".to_string())
    );
    // An inline Map: its iterations' events are the parent's, per item.
    let mut d = definition();
    state_mut(
        &mut d,
        &["States", "DeployWave", "ItemProcessor", "ProcessorConfig"],
    )["Mode"] = json!("INLINE");
    assert_eq!(
        history(&d, &release_path(&[1], None)),
        Err("`DeployWave` is a Map state: its history events are not counted here".to_string())
    );
}

// ---------------------------------------------------------------------------------------------
// Time budget: the execution timeout cannot be caught, so it must leave room for rollback.
// ---------------------------------------------------------------------------------------------

/// The largest release the time budget covers: this many distinct registrations, drained at the
/// account's 1/s after its burst of 20 (decision 0006: RegisterTaskDefinition's bucket is what a
/// release's deploy phase waits on).
const BUDGETED_REGISTRATIONS: u64 = 10_000;

/// How long one deploy-batch call starts new work (its `CONVOY_BATCH_BUDGET_SECONDS`).
const BATCH_CALL_SECONDS: u64 = 600;

/// The longest release, part by part, in seconds.
#[derive(Debug)]
struct Budget {
    parts: Vec<(String, u64)>,
}

impl Budget {
    fn total(&self) -> u64 {
        self.parts.iter().map(|(_, s)| s).sum()
    }
}

/// The longest a release of `waves` waves can run, from the definition and the longest rollout
/// deadline a manifest allows: PlanRelease; per wave, DeployWave (the waves share the registration
/// drain of [`BUDGETED_REGISTRATIONS`], in calls of deploy-batch that each run at most its Task's
/// timeout, and in every wave one of them with its whole retry budget), its rollouts' last
/// AwaitRelease round, its RollbackRelease and its restoring rollouts' last AwaitRollback round;
/// the rollouts themselves (the waves' longest `timeoutSeconds` add up to at most `max_timeout`,
/// `decide::waves`), once released and once restored; RollbackNextWave between rolled-back waves;
/// FinishRelease. Every Task counts with its whole retry budget.
fn worst_case(definition: &Value, max_timeout: u64, waves: u64) -> Budget {
    let states = &definition["States"];
    let task = |name: &str| task_worst_seconds(&states[name]);
    let mut parts = vec![("PlanRelease".to_string(), task("PlanRelease"))];
    let batch = &states["DeployWave"]["ItemProcessor"]["States"]["DeployBatch"];
    let drain = BUDGETED_REGISTRATIONS.saturating_sub(20);
    let calls = drain.div_ceil(BATCH_CALL_SECONDS).max(waves);
    let call = batch["TimeoutSeconds"].as_u64().unwrap_or(0);
    parts.push((
        format!(
            "DeployWave ×{waves} ({BUDGETED_REGISTRATIONS} registrations: {calls} calls, one a wave \
             retried to the end)"
        ),
        (calls - waves) * call + waves * task_worst_seconds(batch),
    ));
    parts.push((
        format!("rollouts (timeoutSeconds of every wave + one AwaitRelease ×{waves})"),
        max_timeout + waves * task("AwaitRelease"),
    ));
    parts.push((
        format!("RollbackRelease ×{waves}"),
        waves * task("RollbackRelease"),
    ));
    parts.push((
        format!("restoring rollouts (timeoutSeconds of every wave + one AwaitRollback ×{waves})"),
        max_timeout + waves * task("AwaitRollback"),
    ));
    parts.push(("FinishRelease".into(), task("FinishRelease")));
    Budget { parts }
}

fn time_budget_problems(definition: &Value, max_timeout: u64) -> Vec<String> {
    let budget = worst_case(definition, max_timeout, u64::from(MAX_WAVES));
    let limit = definition["TimeoutSeconds"].as_u64().unwrap_or(0);
    if budget.total() < limit {
        return Vec::new();
    }
    let parts: Vec<String> = budget
        .parts
        .iter()
        .map(|(name, s)| format!("{name} {s} s"))
        .collect();
    vec![format!(
        "TimeoutSeconds {limit} is not above the longest release, {} s ({}): an execution timeout \
         cannot be caught, so such a release would end half-deployed with no rollback and no report",
        budget.total(),
        parts.join(" + ")
    )]
}

#[test]
fn the_execution_timeout_exceeds_the_longest_release_with_its_rollback() {
    let d = definition();
    let max_timeout = u64::from(release_core::decide::manifest::MAX_TIMEOUT_SECONDS);
    let budget = worst_case(&d, max_timeout, u64::from(MAX_WAVES));
    eprintln!(
        "longest release: {} s of TimeoutSeconds {}: {:?}",
        budget.total(),
        d["TimeoutSeconds"],
        budget.parts
    );
    assert_no_problems(time_budget_problems(&d, max_timeout));
}

#[test]
fn the_restart_retrier_waits_126_seconds_and_a_task_budget_counts_every_attempt() {
    let d = definition();
    let batch = &d["States"]["DeployWave"]["ItemProcessor"]["States"]["DeployBatch"];
    // 2 + 4 + 8 + 16 + 32 + 64
    assert_eq!(backoff_seconds(&batch["Retry"][0]), 126);
    // 5 + 10 + 20 + 40 + 60 + 60 (MaxDelaySeconds 60)
    assert_eq!(backoff_seconds(&batch["Retry"][1]), 195);
    // 13 attempts of 780 s, and both backoffs
    assert_eq!(task_worst_seconds(batch), 13 * 780 + 126 + 195);
}

#[test]
fn a_too_short_execution_timeout_is_reported() {
    let mut d = definition();
    d["TimeoutSeconds"] = json!(21_600);
    let problems = time_budget_problems(&d, 10_800);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("TimeoutSeconds 21600 is not above the longest release"),
        "{problems:#?}"
    );
    // The definition as it is would not fit rollouts of a day either: the cap on timeoutSeconds matters.
    assert_eq!(time_budget_problems(&definition(), 86_400).len(), 1);
}

#[test]
fn a_missing_crash_retry_and_a_short_restart_backoff_are_reported() {
    let mut d = definition();
    let update = state_mut(
        &mut d,
        &[
            "States",
            "DeployWave",
            "ItemProcessor",
            "States",
            "DeployBatch",
        ],
    );
    update["Retry"][0]["ErrorEquals"] = json!(LAMBDA_TRANSIENT);
    update["Retry"][0]["MaxAttempts"] = json!(3);
    let problems = task_problems(&d);
    for needed in CRASH_ERRORS {
        let expected = format!(
            "DeployWave.ItemProcessor: Task `DeployBatch` has no Retry for `{needed}`, though \
             `deploy-batch` is safe to run again"
        );
        assert!(
            problems.iter().any(|p| p.starts_with(&expected)),
            "missing `{expected}` in {problems:#?}"
        );
    }
    assert!(
        problems.contains(
            &"DeployWave.ItemProcessor: Task `DeployBatch` retries a function server restart \
              for 14 s in total, less than 120 s"
                .to_string()
        ),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 5, "{problems:#?}");
}

/// PlanRelease's input is the release itself, up to Step Functions' 256 KiB: its Catch must not add
/// the error (up to [`release_core::error::MAX_MESSAGE_BYTES`]) beside it, or a rejected near-limit
/// release would end in `States.DataLimitExceeded` instead of its own error and problems.
#[test]
fn a_rejected_release_keeps_only_its_error_in_the_state() {
    let d = definition();
    let plan = &d["States"]["PlanRelease"];
    let catches = plan["Catch"].as_array().unwrap();
    assert_eq!(catches.len(), 1, "{catches:#?}");
    assert_eq!(
        catches[0]["ResultPath"], "$",
        "the error replaces the release"
    );
    let rejected = &d["States"][catches[0]["Next"].as_str().unwrap()];
    assert_eq!(rejected["Type"], "Fail");
    assert_eq!(
        (&rejected["ErrorPath"], &rejected["CausePath"]),
        (&json!("$.Error"), &json!("$.Cause"))
    );
    // What the Catch keeps: the Lambda error of the longest message a function sends, every
    // character one that JSON escapes, well inside one state's payload.
    let message = "\n".repeat(release_core::error::MAX_MESSAGE_BYTES);
    let cause = json!({"errorType": "PreflightFailed", "errorMessage": message}).to_string();
    let state = json!({"Error": "PreflightFailed", "Cause": cause}).to_string();
    assert!(state.len() < 256 * 1024 / 2, "{}", state.len());
}
