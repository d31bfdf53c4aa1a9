//! Names template.yaml builds from the stack name fit AWS's limits for every stack name convoy
//! supports: CloudFormation refuses a longer name only at deploy time, and moto not at all.
//!
//! The functions set no `FunctionName` (CloudFormation names them within Lambda's 64 characters);
//! the state machine keeps `<stack>-release`, the name `convoy --stack` looks for (docs/cli.md).

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_yaml_ng::Value;

/// The longest stack name the template supports (docs/aws-account-checklist.md says so).
const MAX_STACK_NAME: usize = 72;

/// (resource type, name property, AWS's limit on the name)
const NAMED: [(&str, &str, usize); 6] = [
    ("AWS::Serverless::Function", "FunctionName", 64),
    ("AWS::Serverless::StateMachine", "Name", 80),
    ("AWS::CodePipeline::Pipeline", "Name", 100),
    ("AWS::CodeBuild::Project", "Name", 255),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::SQS::Queue", "QueueName", 80),
];

fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The name's text with the stack name as `MAX_STACK_NAME` characters and every other
/// substitution as its own text (logical ids are longer than what they stand for here).
fn longest(name: &Value) -> Option<String> {
    let text = match name {
        Value::String(s) => s.clone(),
        Value::Tagged(t) if t.tag == "!Sub" => t.value.as_str()?.to_owned(),
        _ => return None,
    };
    Some(text.replace("${AWS::StackName}", &"s".repeat(MAX_STACK_NAME)))
}

fn problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, resource) in doc["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap();
        let kind = resource["Type"].as_str().unwrap_or_default();
        for (_, property, limit) in NAMED.iter().filter(|(k, _, _)| *k == kind) {
            let name = &resource["Properties"][*property];
            if name.is_null() {
                continue;
            }
            if kind == "AWS::Serverless::Function" {
                problems.push(format!(
                    "{id} sets FunctionName: let CloudFormation name it (it keeps within {limit} characters)"
                ));
                continue;
            }
            match longest(name) {
                Some(text) if text.len() > *limit => problems.push(format!(
                    "{id}: {property} is {} characters for a {MAX_STACK_NAME}-character stack name; AWS allows {limit}",
                    text.len()
                )),
                Some(_) => {}
                None => problems.push(format!("{id}: cannot read {property}")),
            }
        }
    }
    problems
}

#[test]
fn names_fit_for_the_longest_supported_stack_name() {
    assert_eq!(problems(&template()), Vec::<String>::new());
}

#[test]
fn the_documented_limit_is_the_tested_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/aws-account-checklist.md");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(&format!("{MAX_STACK_NAME} characters")),
        "docs/aws-account-checklist.md does not state the {MAX_STACK_NAME}-character stack name limit"
    );
}

#[test]
fn a_fixed_function_name_or_a_long_name_is_reported() {
    let mut doc = template();
    doc["Resources"]["WatchdogFunction"]["Properties"]["FunctionName"] =
        serde_yaml_ng::from_str("!Sub \"${AWS::StackName}-watchdog\"").unwrap();
    doc["Resources"]["ReleaseStateMachine"]["Properties"]["Name"] =
        serde_yaml_ng::from_str("!Sub \"${AWS::StackName}-release-state-machine\"").unwrap();
    let found = problems(&doc);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0..]
        .iter()
        .any(|p| p.starts_with("WatchdogFunction sets FunctionName")));
    assert!(found
        .iter()
        .any(|p| p.starts_with("ReleaseStateMachine: Name is 94 characters")));
}
