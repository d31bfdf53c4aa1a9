//! What update-scheduled-rule sends for a rule: only the task definition of ECS targets changes.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_eventbridge::types::{
    AwsVpcConfiguration, EcsParameters, LaunchType, NetworkConfiguration, RetryPolicy, Target,
};
use release_core::contract::{Records, RuleItem, RuleTaskTarget, UpdateRuleInput};
use release_core::decide::rules::plan_update;

fn ecs_target(id: &str, task_definition: &str) -> Target {
    Target::builder()
        .id(id)
        .arn("arn:aws:ecs:us-east-1:123456789012:cluster/jobs")
        .role_arn("arn:aws:iam::123456789012:role/events")
        .input(r#"{"containerOverrides":[]}"#)
        .retry_policy(RetryPolicy::builder().maximum_retry_attempts(2).build())
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(task_definition)
                .task_count(2)
                .launch_type(LaunchType::Fargate)
                .platform_version("1.4.0")
                .network_configuration(
                    NetworkConfiguration::builder()
                        .awsvpc_configuration(
                            AwsVpcConfiguration::builder()
                                .subnets("subnet-1")
                                .security_groups("sg-1")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn queue_target(id: &str) -> Target {
    Target::builder()
        .id(id)
        .arn("arn:aws:sqs:us-east-1:123456789012:audit")
        .build()
        .unwrap()
}

fn planned(id: &str, noop: bool, new: Option<&str>) -> RuleTaskTarget {
    RuleTaskTarget {
        target_id: id.into(),
        previous_task_definition: "report:1".into(),
        images: Default::default(),
        noop,
        new_task_definition: new.map(str::to_owned),
    }
}

fn input(targets: Vec<RuleTaskTarget>) -> UpdateRuleInput {
    UpdateRuleInput {
        release_id: "r1".into(),
        records: Records::for_execution("convoy-records", "r", "e"),
        item: RuleItem {
            id: "default/nightly".into(),
            rule: "nightly".into(),
            event_bus: "default".into(),
            noop: false,
            targets,
            wave: 0,
        },
    }
}

#[test]
fn every_ecs_target_changes_only_its_task_definition() {
    let current = vec![
        ecs_target(
            "a",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/report:1",
        ),
        queue_target("audit"),
        ecs_target(
            "b",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/report:1",
        ),
    ];
    let (sent, changes) = plan_update(
        &input(vec![
            planned("a", false, Some("report:2")),
            planned("b", false, Some("report:3")),
        ]),
        &current,
    )
    .unwrap();
    assert_eq!(sent.len(), 2, "the queue target is left alone");
    for (sent, (original, new)) in sent
        .iter()
        .zip([(&current[0], "report:2"), (&current[2], "report:3")])
    {
        let mut expected = original.clone();
        expected
            .ecs_parameters
            .as_mut()
            .unwrap()
            .task_definition_arn = new.into();
        assert_eq!(sent, &expected);
    }
    let ids: Vec<_> = changes
        .iter()
        .map(|c| {
            (
                c.target_id.as_str(),
                c.previous_task_definition.as_str(),
                c.new_task_definition.as_str(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [("a", "report:1", "report:2"), ("b", "report:1", "report:3")]
    );
}

#[test]
fn targets_already_on_the_new_revision_are_not_sent_again() {
    let current = vec![
        ecs_target(
            "a",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/report:2",
        ),
        ecs_target("b", "report:1"),
    ];
    let (sent, changes) = plan_update(
        &input(vec![
            planned("a", false, Some("report:2")),
            planned("b", true, None),
        ]),
        &current,
    )
    .unwrap();
    assert!(sent.is_empty(), "a is done, b is a no-op: {sent:?}");
    assert_eq!(changes.len(), 1, "the change of a is still reported");
}

#[test]
fn a_rule_that_drifted_from_the_plan_is_refused() {
    /// (case, targets on the rule, planned targets, error name, message fragment)
    type Case = (
        &'static str,
        Vec<Target>,
        Vec<RuleTaskTarget>,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "ECS target added after the plan",
            vec![ecs_target("a", "report:1"), ecs_target("new", "report:1")],
            vec![planned("a", false, Some("report:2"))],
            "TargetsRejected",
            "new: ECS target is on the rule but not in the plan",
        ),
        (
            "planned target removed from the rule",
            vec![ecs_target("a", "report:1")],
            vec![
                planned("a", false, Some("report:2")),
                planned("gone", false, Some("report:2")),
            ],
            "TargetsRejected",
            "gone: planned ECS target (targets[1]) is no longer on the rule",
        ),
        (
            "register step did not fill the new task definition",
            vec![ecs_target("a", "report:1")],
            vec![planned("a", false, None)],
            "StepInputInvalid",
            "field `item.targets[0].newTaskDefinition`",
        ),
    ];
    for (name, current, targets, error, message) in cases {
        let err = plan_update(&input(targets), &current).unwrap_err();
        assert_eq!(err.name(), error, "{name}");
        assert!(err.to_string().contains(message), "{name}: {err}");
    }
}

#[test]
fn a_rejection_names_every_target_in_its_payload() {
    let current = vec![ecs_target("x", "report:1"), ecs_target("y", "report:1")];
    let err = plan_update(&input(vec![]), &current).unwrap_err();
    let release_core::Error::TargetsRejected { rule, targets, .. } = &err else {
        panic!("expected TargetsRejected, got {err}");
    };
    assert_eq!(rule, "default/nightly");
    let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["x", "y"]);
}
