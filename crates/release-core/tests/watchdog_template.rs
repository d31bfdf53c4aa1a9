//! The watchdog's wiring in template.yaml, which moto cannot exercise (it emits no Step Functions
//! status events): the rule matches exactly the endings the watchdog acts on, for the release state
//! machine only, and delivers them to the watchdog with retries and a dead-letter queue; EventBridge
//! may invoke the function. What its role grants is checked against its code with every other
//! function's, in iam_contract.rs.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use release_core::contract::ExecutionStatus;
use release_core::decide::recover::acts_on;
use serde_yaml_ng::Value;

const ALL_STATUSES: [ExecutionStatus; 7] = [
    ExecutionStatus::Running,
    ExecutionStatus::Succeeded,
    ExecutionStatus::Failed,
    ExecutionStatus::TimedOut,
    ExecutionStatus::Aborted,
    ExecutionStatus::PendingRedrive,
    ExecutionStatus::Unknown,
];

fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// Every problem of the watchdog's wiring in `doc`.
fn problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let resources = &doc["Resources"];
    let rule = &resources["WatchdogRule"];
    if rule["Type"].as_str() != Some("AWS::Events::Rule") {
        return vec!["no AWS::Events::Rule WatchdogRule".into()];
    }
    if !matches!(
        rule["Properties"]["EventBusName"].as_str(),
        None | Some("default")
    ) {
        problems.push("the rule is not on the default bus".into());
    }
    let pattern = &rule["Properties"]["EventPattern"];
    if strings(&pattern["source"]) != BTreeSet::from(["aws.states".to_owned()]) {
        problems.push("the rule's source is not [aws.states]".into());
    }
    let status_change = "Step Functions Execution Status Change".to_owned();
    if strings(&pattern["detail-type"]) != BTreeSet::from([status_change]) {
        problems.push("the rule's detail-type is not the execution status change".into());
    }
    let wanted: BTreeSet<String> = ALL_STATUSES
        .into_iter()
        .filter(|s| acts_on(*s))
        .map(|s| s.as_str().to_owned())
        .collect();
    let matched = strings(&pattern["detail"]["status"]);
    if matched != wanted {
        problems.push(format!(
            "the rule matches statuses {matched:?}, the watchdog acts on {wanted:?}"
        ));
    }
    if pattern["detail"]["stateMachineArn"]
        != Value::Sequence(vec![yaml("!Ref ReleaseStateMachine")])
    {
        problems.push("the rule is not limited to the release state machine".into());
    }
    let targets = rule["Properties"]["Targets"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    match targets.as_slice() {
        [target] => {
            if target["Arn"] != yaml("!GetAtt WatchdogFunction.Arn") {
                problems.push("the rule's target is not the watchdog function".into());
            }
            if target["RetryPolicy"].is_null() {
                problems.push("the rule's target has no RetryPolicy".into());
            }
            if target["DeadLetterConfig"]["Arn"].is_null() {
                problems.push("the rule's target has no dead-letter queue".into());
            }
        }
        _ => problems.push(format!("the rule has {} targets, not 1", targets.len())),
    }
    let permitted = resources.as_mapping().unwrap().values().any(|r| {
        let p = &r["Properties"];
        r["Type"].as_str() == Some("AWS::Lambda::Permission")
            && p["FunctionName"] == yaml("!GetAtt WatchdogFunction.Arn")
            && p["Principal"].as_str() == Some("events.amazonaws.com")
            && p["SourceArn"] == yaml("!GetAtt WatchdogRule.Arn")
    });
    if !permitted {
        problems.push("no Lambda permission lets the rule invoke the watchdog".into());
    }
    let function = &resources["WatchdogFunction"];
    if function["Metadata"]["BuildProperties"]["Binary"].as_str() != Some("watchdog") {
        problems.push("WatchdogFunction does not build the `watchdog` binary".into());
    }
    if function["Properties"]["Role"] != yaml("!GetAtt WatchdogRole.Arn") {
        problems.push("WatchdogFunction does not run as WatchdogRole".into());
    }
    problems
}

#[test]
fn the_rule_delivers_exactly_the_endings_the_watchdog_acts_on() {
    assert_eq!(problems(&template()), Vec::<String>::new());
}

#[test]
fn a_drifted_rule_or_role_is_reported() {
    let mut doc = template();
    let rule = &mut doc["Resources"]["WatchdogRule"]["Properties"];
    rule["EventPattern"]["detail"]["status"] = yaml("[ABORTED, FAILED]");
    rule["EventPattern"]["detail"]
        .as_mapping_mut()
        .unwrap()
        .remove("stateMachineArn");
    rule["Targets"][0]
        .as_mapping_mut()
        .unwrap()
        .remove("DeadLetterConfig");
    let found = problems(&doc);
    for expected in [
        "the rule matches statuses",
        "the rule is not limited to the release state machine",
        "the rule's target has no dead-letter queue",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "missing `{expected}` in {found:#?}"
        );
    }
}
