//! plan-release checks the roles a release would pass against the template's `PassableRoleArns`,
//! the patterns the functions' `iam:PassRole` grants are scoped to: the template hands it exactly
//! that parameter, in the variable it reads.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use release_core::config::PASSABLE_ROLES_VAR;
use release_core::decide::preflight::Reach;
use serde_yaml_ng::value::TaggedValue;
use serde_yaml_ng::Value;

fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn plan_release_reads_the_passable_role_patterns_of_the_template() {
    let doc = template();
    let variables =
        &doc["Resources"]["PlanReleaseFunction"]["Properties"]["Environment"]["Variables"];
    let Some(Value::Tagged(joined)) = variables.get(PASSABLE_ROLES_VAR) else {
        panic!("PlanReleaseFunction sets no {PASSABLE_ROLES_VAR}: {variables:?}");
    };
    let TaggedValue { tag, value } = joined.as_ref();
    assert_eq!(tag.to_string(), "!Join");
    let Value::Sequence(join) = value else {
        panic!("!Join of {value:?}");
    };
    // `!Join [",", !Ref PassableRoleArns]`: the comma plan-release splits on.
    assert_eq!(join[0], Value::String(",".into()));
    let Value::Tagged(reference) = &join[1] else {
        panic!("{:?}", join[1]);
    };
    assert_eq!(reference.tag.to_string(), "!Ref");
    assert_eq!(reference.value, Value::String("PassableRoleArns".into()));
    assert_eq!(
        doc["Parameters"]["PassableRoleArns"]["Type"],
        Value::String("CommaDelimitedList".into())
    );
    // What CloudFormation makes of two patterns is what plan-release reads back.
    assert_eq!(
        Reach::passable_roles_from(Some("arn:aws:iam::1:role/app-*,arn:aws:iam::1:role/ops")),
        Some(vec![
            "arn:aws:iam::1:role/app-*".to_owned(),
            "arn:aws:iam::1:role/ops".to_owned()
        ])
    );
}
