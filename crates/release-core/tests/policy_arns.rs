//! Every IAM action in template.yaml names the service of the resource it is granted on: IAM
//! matches an action only against resources of its own service prefix, so `codestar-connections:`
//! on an `arn:aws:codeconnections:` connection, or `ecs:` on an `events` ARN, is denied on a real
//! account while moto (no IAM) lets it pass. A `*` resource is allowed only for the actions that
//! support no narrower one, each with its reason.
//!
//! The template is evaluated per parameter set (the defaults with the pipeline on, each samconfig
//! environment, an older `codestar-connections` connection): its Conditions, `!If`, `!Ref`, `!Sub`
//! and `!GetAtt` are resolved, so an action chosen by a condition is checked against the ARN that
//! condition sees.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use release_core::aws::iam::{Resource, OPERATIONS};
use serde_yaml_ng::Value;

/// Actions granted on `*` outside the functions' own calls (those come from
/// `aws::iam::OPERATIONS`, each with its reason), and why.
const STAR_RESOURCES: [(&str, &str); 10] = [
    ("xray:PutTraceSegments", "X-Ray has no resource types"),
    ("xray:PutTelemetryRecords", "X-Ray has no resource types"),
    (
        "logs:CreateLogDelivery",
        "vended log delivery supports only *",
    ),
    ("logs:GetLogDelivery", "vended log delivery supports only *"),
    (
        "logs:UpdateLogDelivery",
        "vended log delivery supports only *",
    ),
    (
        "logs:DeleteLogDelivery",
        "vended log delivery supports only *",
    ),
    (
        "logs:ListLogDeliveries",
        "vended log delivery supports only *",
    ),
    (
        "logs:PutResourcePolicy",
        "vended log delivery supports only *",
    ),
    (
        "logs:DescribeResourcePolicies",
        "vended log delivery supports only *",
    ),
    (
        "logs:DescribeLogGroups",
        "vended log delivery supports only *",
    ),
];

/// Parameters that hold ARNs but have no default to read the service from.
const ARN_PARAMETERS: [(&str, &str); 1] =
    [("PassableRoleArns", "arn:aws:iam::123456789012:role/app-*")];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap())
        .unwrap()
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

/// `parameter_overrides` of each samconfig.toml environment: `Key="value"` pairs.
fn samconfig_environments() -> Vec<(String, BTreeMap<String, String>)> {
    let text = std::fs::read_to_string(root().join("samconfig.toml")).unwrap();
    let mut environments = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
        } else if let Some(value) = line.strip_prefix("parameter_overrides = \"") {
            let value = value.trim_end_matches('"').replace("\\\"", "\"");
            let mut overrides = BTreeMap::new();
            for pair in value.split("\" ") {
                if let Some((k, v)) = pair.split_once('=') {
                    overrides.insert(k.trim().to_owned(), v.trim_matches('"').to_owned());
                }
            }
            environments.push((format!("samconfig [{section}]"), overrides));
        }
    }
    assert!(
        !environments.is_empty(),
        "samconfig.toml: no parameter_overrides found"
    );
    environments
}

/// One evaluation of the template: parameter values and the conditions they make true.
struct Scenario<'a> {
    name: String,
    doc: &'a Value,
    parameters: BTreeMap<String, Vec<String>>,
    conditions: BTreeMap<String, bool>,
}

impl<'a> Scenario<'a> {
    fn new(doc: &'a Value, name: &str, overrides: &BTreeMap<String, String>) -> Self {
        let mut parameters = BTreeMap::new();
        for (key, spec) in doc["Parameters"].as_mapping().unwrap() {
            let key = key.as_str().unwrap().to_owned();
            let value = overrides
                .get(&key)
                .cloned()
                .or_else(|| spec["Default"].as_str().map(str::to_owned))
                .or_else(|| spec["Default"].as_i64().map(|n| n.to_string()))
                .or_else(|| {
                    ARN_PARAMETERS
                        .iter()
                        .find(|(p, _)| *p == key)
                        .map(|(_, v)| (*v).to_owned())
                })
                .unwrap_or_default();
            let list = if spec["Type"].as_str() == Some("CommaDelimitedList") {
                value.split(',').map(str::to_owned).collect()
            } else {
                vec![value]
            };
            parameters.insert(key, list);
        }
        let mut scenario = Scenario {
            name: name.to_owned(),
            doc,
            parameters,
            conditions: BTreeMap::new(),
        };
        let conditions = doc["Conditions"].as_mapping().cloned().unwrap_or_default();
        // Conditions may refer to earlier ones: evaluate until nothing changes.
        for _ in 0..conditions.len() {
            for (key, expr) in &conditions {
                if let Some(v) = scenario.truth(expr) {
                    scenario
                        .conditions
                        .insert(key.as_str().unwrap().to_owned(), v);
                }
            }
        }
        scenario
    }

    fn truth(&self, expr: &Value) -> Option<bool> {
        let Value::Tagged(t) = expr else { return None };
        let args = t.value.as_sequence();
        match t.tag.to_string().as_str() {
            "!Equals" => {
                let args = args?;
                Some(self.strings(&args[0])? == self.strings(&args[1])?)
            }
            "!And" => args?
                .iter()
                .try_fold(true, |all, a| Some(all && self.truth(a)?)),
            "!Or" => args?
                .iter()
                .try_fold(false, |any, a| Some(any || self.truth(a)?)),
            "!Not" => Some(!self.truth(&args?[0])?),
            "!Condition" => self.conditions.get(t.value.as_str()?).copied(),
            _ => None,
        }
    }

    /// A value as the strings it resolves to (a list parameter gives several).
    fn strings(&self, v: &Value) -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.strings(i)?);
                }
                Some(out)
            }
            Value::Tagged(t) => match t.tag.to_string().as_str() {
                "!Ref" => self.reference(t.value.as_str()?),
                "!GetAtt" => {
                    let (id, attribute) = t.value.as_str()?.split_once('.')?;
                    self.attribute(id, attribute)
                }
                "!Sub" => Some(vec![self.substitute(t.value.as_str()?)?]),
                "!Select" => {
                    let args = t.value.as_sequence()?;
                    let index = usize::try_from(args[0].as_i64()?).ok()?;
                    Some(vec![self.strings(&args[1])?.get(index)?.clone()])
                }
                "!Split" => {
                    let args = t.value.as_sequence()?;
                    let separator = args[0].as_str()?;
                    let text = self.strings(&args[1])?.join(",");
                    Some(text.split(separator).map(str::to_owned).collect())
                }
                "!If" => {
                    let args = t.value.as_sequence()?;
                    let chosen = if *self.conditions.get(args[0].as_str()?)? {
                        &args[1]
                    } else {
                        &args[2]
                    };
                    self.strings(chosen)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn reference(&self, name: &str) -> Option<Vec<String>> {
        let pseudo = match name {
            "AWS::Partition" => Some("aws"),
            "AWS::Region" => Some("eu-west-1"),
            "AWS::AccountId" => Some("123456789012"),
            "AWS::StackName" => Some("convoy-prod"),
            "AWS::NoValue" => return Some(Vec::new()),
            _ => None,
        };
        if let Some(p) = pseudo {
            return Some(vec![p.to_owned()]);
        }
        if let Some(p) = self.parameters.get(name) {
            return Some(p.clone());
        }
        // Ref of a resource: its ARN for those whose Ref is one, else its name.
        let resource = &self.doc["Resources"][name];
        match resource["Type"].as_str()? {
            "AWS::Serverless::StateMachine" | "AWS::IAM::ManagedPolicy" => {
                self.attribute(name, "Arn")
            }
            _ => Some(vec![name.to_owned()]),
        }
    }

    /// `X.Arn` as an ARN of X's service (what IAM compares the action's prefix with).
    fn attribute(&self, id: &str, attribute: &str) -> Option<Vec<String>> {
        let kind = self.doc["Resources"][id]["Type"].as_str()?;
        if attribute != "Arn" {
            return Some(vec![format!("{id}.{attribute}")]);
        }
        let arn = match kind {
            "AWS::S3::Bucket" => format!("arn:aws:s3:::{id}"),
            "AWS::SQS::Queue" => format!("arn:aws:sqs:eu-west-1:123456789012:{id}"),
            "AWS::Logs::LogGroup" => {
                format!("arn:aws:logs:eu-west-1:123456789012:log-group:{id}:*")
            }
            "AWS::CodeBuild::Project" => {
                format!("arn:aws:codebuild:eu-west-1:123456789012:project/{id}")
            }
            "AWS::Events::Rule" => format!("arn:aws:events:eu-west-1:123456789012:rule/{id}"),
            "AWS::Serverless::Function" => {
                format!("arn:aws:lambda:eu-west-1:123456789012:function:{id}")
            }
            "AWS::Serverless::StateMachine" => {
                format!("arn:aws:states:eu-west-1:123456789012:stateMachine:{id}")
            }
            "AWS::IAM::Role" => format!("arn:aws:iam::123456789012:role/{id}"),
            "AWS::IAM::ManagedPolicy" => format!("arn:aws:iam::123456789012:policy/{id}"),
            "AWS::CodePipeline::Pipeline" => {
                format!("arn:aws:codepipeline:eu-west-1:123456789012:{id}")
            }
            other => panic!("policy_arns: the ARN of a {other} ({id}): add its service"),
        };
        Some(vec![arn])
    }

    fn substitute(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}')? + start;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some((id, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(id, attribute)?.join(","));
            } else {
                out.push_str(&self.reference(name)?.join(","));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }

    fn enabled(&self, resource: &Value) -> bool {
        resource["Condition"]
            .as_str()
            .is_none_or(|c| self.conditions.get(c).copied().unwrap_or(false))
    }

    /// (where, statement) of every policy in the template that this scenario creates.
    fn statements(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        for (id, resource) in self.doc["Resources"].as_mapping().unwrap() {
            let id = id.as_str().unwrap();
            if !self.enabled(resource) {
                continue;
            }
            let p = &resource["Properties"];
            let mut documents = Vec::new();
            match resource["Type"].as_str().unwrap_or_default() {
                "AWS::IAM::Role" => {
                    for policy in p["Policies"].as_sequence().cloned().unwrap_or_default() {
                        documents.push(policy["PolicyDocument"].clone());
                    }
                }
                "AWS::IAM::ManagedPolicy" | "AWS::S3::BucketPolicy" | "AWS::SQS::QueuePolicy" => {
                    documents.push(p["PolicyDocument"].clone());
                }
                // SAM: inline statements among the policy templates (those name their own ARNs).
                "AWS::Serverless::StateMachine" | "AWS::Serverless::Function" => {
                    for policy in p["Policies"].as_sequence().cloned().unwrap_or_default() {
                        if !policy["Statement"].is_null() {
                            documents.push(policy);
                        }
                    }
                }
                _ => {}
            }
            for document in documents {
                for statement in document["Statement"]
                    .as_sequence()
                    .cloned()
                    .unwrap_or_default()
                {
                    // A statement chosen by `!If`.
                    let statement = match &statement {
                        Value::Tagged(t) if t.tag == "!If" => {
                            let args = t.value.as_sequence().unwrap();
                            let chosen = self.conditions[args[0].as_str().unwrap()];
                            args[if chosen { 1 } else { 2 }].clone()
                        }
                        _ => statement,
                    };
                    if statement.is_mapping() {
                        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)").to_owned();
                        out.push((format!("{id} {sid}"), statement));
                    }
                }
            }
        }
        out
    }
}

/// The service an ARN belongs to (`arn:aws:codeconnections:…` → `codeconnections`).
fn arn_service(arn: &str) -> Option<&str> {
    let mut fields = arn.split(':');
    (fields.next() == Some("arn")).then_some(())?;
    fields.nth(1)
}

fn problems(doc: &Value) -> Vec<String> {
    let star: BTreeMap<&str, &str> = OPERATIONS
        .iter()
        .flat_map(|o| o.permissions)
        .filter_map(|p| match p.resource {
            Resource::Any(why) => Some((p.action, why)),
            _ => None,
        })
        .chain(STAR_RESOURCES)
        .collect();
    let mut scenarios = vec![Scenario::new(
        doc,
        "defaults, pipeline on",
        &BTreeMap::from([("EnablePipeline".to_owned(), "true".to_owned())]),
    )];
    for (name, overrides) in samconfig_environments() {
        scenarios.push(Scenario::new(doc, &name, &overrides));
    }
    scenarios.push(Scenario::new(
        doc,
        "an older codestar-connections connection",
        &BTreeMap::from([
            ("EnablePipeline".to_owned(), "true".to_owned()),
            (
                "ConnectionArn".to_owned(),
                "arn:aws:codestar-connections:eu-west-1:123456789012:connection/1234".to_owned(),
            ),
        ]),
    ));
    let mut problems = Vec::new();
    for scenario in &scenarios {
        for (at, statement) in scenario.statements() {
            let Some(actions) = scenario.strings(&statement["Action"]) else {
                problems.push(format!("{}: {at}: cannot read its Action", scenario.name));
                continue;
            };
            let Some(resources) = scenario.strings(&statement["Resource"]) else {
                problems.push(format!("{}: {at}: cannot read its Resource", scenario.name));
                continue;
            };
            for action in &actions {
                let Some((prefix, _)) = action.split_once(':') else {
                    problems.push(format!(
                        "{}: {at}: action `{action}` has no service prefix",
                        scenario.name
                    ));
                    continue;
                };
                for resource in &resources {
                    if resource == "*" {
                        if !star.contains_key(action.as_str()) {
                            problems.push(format!(
                                "{}: {at}: {action} on `*`, which is not among the actions that need it",
                                scenario.name
                            ));
                        }
                        continue;
                    }
                    match arn_service(resource) {
                        Some(service) if service == prefix => {}
                        Some(service) => problems.push(format!(
                            "{}: {at}: {action} on a {service} ARN ({resource}): IAM matches {prefix}: actions only on {prefix} resources",
                            scenario.name
                        )),
                        None => problems.push(format!(
                            "{}: {at}: {action} on `{resource}`, which is not an ARN",
                            scenario.name
                        )),
                    }
                }
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[test]
fn every_action_names_its_resources_service() {
    let found = problems(&template());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_mismatched_prefix_or_an_unneeded_star_is_reported() {
    let mut doc = template();
    let statements = doc["Resources"]["PipelineRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap();
    // The source statement as it was: the old action whatever the connection's ARN.
    for s in statements.iter_mut() {
        if let Value::Tagged(t) = s {
            if t.tag == "!If" {
                t.value[2]["Action"] = yaml("codestar-connections:UseConnection");
            }
        }
    }
    let check = doc["Resources"]["CheckStabilityRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap();
    check[0]["Resource"] = yaml("'*'");
    check[1]["Action"] = yaml("ecs:ListTasks");
    let found = problems(&doc);
    for expected in [
        "defaults, pipeline on: PipelineRole ReadSource: codestar-connections:UseConnection on a codeconnections ARN",
        "samconfig [prod.deploy.parameters]: PipelineRole ReadSource: codestar-connections:UseConnection on a codeconnections ARN",
        "defaults, pipeline on: CheckStabilityRole ReadReleaseRecords: s3:GetObject on `*`, which is not among",
        "defaults, pipeline on: CheckStabilityRole FindReleaseRecords: ecs:ListTasks on a s3 ARN",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "missing `{expected}` in {found:#?}"
        );
    }
    // The older connection is still granted its own prefix.
    assert!(
        !found
            .iter()
            .any(|p| p.starts_with("an older codestar-connections connection: PipelineRole")),
        "{found:#?}"
    );
}
