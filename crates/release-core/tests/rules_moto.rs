//! update-scheduled-rule against moto's EventBridge: every field of every target survives.

use crate::rollback_fixture;

use convoy_testkit::seed;
use release_core::contract::{Records, RuleItem, RuleTaskTarget, UpdateRuleInput};
use release_core::steps::update_rule::update_rule;
use rollback_fixture::{aws, ecs_target, queue_target, targets, unique};

const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/jobs";

fn td(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

fn input(rule: &str, targets: &[(&str, String, String)]) -> UpdateRuleInput {
    UpdateRuleInput {
        release_id: "r1".into(),
        records: Records::for_execution("convoy-records", "r", "e"),
        item: RuleItem {
            id: format!("default/{rule}"),
            rule: rule.into(),
            event_bus: "default".into(),
            noop: false,
            targets: targets
                .iter()
                .map(|(id, previous, new)| RuleTaskTarget {
                    target_id: (*id).into(),
                    previous_task_definition: previous.clone(),
                    images: Default::default(),
                    noop: false,
                    new_task_definition: Some(new.clone()),
                })
                .collect(),
            wave: 0,
        },
    }
}

#[tokio::test]
async fn every_ecs_target_is_updated_with_all_fields_intact() {
    let aws = aws().await;
    let name = unique("nightly");
    let before = vec![
        ecs_target("report", CLUSTER, &td("report", 1)),
        ecs_target("report-eu", CLUSTER, &td("report-eu", 7)),
        queue_target("zz-audit"),
    ];
    seed::scheduled_rule(&aws.events, &name, &before).await;
    let listed = targets(&aws, &name).await;
    assert_eq!(listed, before, "moto keeps every field (precondition)");

    let request = input(
        &name,
        &[
            ("report", td("report", 1), td("report", 2)),
            ("report-eu", td("report-eu", 7), td("report-eu", 8)),
        ],
    );
    let update = update_rule(&aws.events, &request).await.unwrap();

    let after = targets(&aws, &name).await;
    let mut expected = before.clone();
    expected[0]
        .ecs_parameters
        .as_mut()
        .unwrap()
        .task_definition_arn = td("report", 2);
    expected[1]
        .ecs_parameters
        .as_mut()
        .unwrap()
        .task_definition_arn = td("report-eu", 8);
    assert_eq!(after, expected, "only the task definitions changed");
    let changes: Vec<_> = update
        .targets
        .iter()
        .map(|c| (c.target_id.as_str(), c.new_task_definition.clone()))
        .collect();
    assert_eq!(
        changes,
        [
            ("report", td("report", 2)),
            ("report-eu", td("report-eu", 8))
        ]
    );

    // Run again (a Step Functions retry): nothing left to send, same answer.
    let again = update_rule(&aws.events, &request).await.unwrap();
    assert_eq!(again, update);
    assert_eq!(targets(&aws, &name).await, expected);
}

#[tokio::test]
async fn a_target_added_after_the_plan_stops_the_update() {
    let aws = aws().await;
    let name = unique("hourly");
    let before = vec![
        ecs_target("a", CLUSTER, &td("hourly", 1)),
        ecs_target("b", CLUSTER, &td("hourly", 1)),
    ];
    seed::scheduled_rule(&aws.events, &name, &before).await;
    let err = update_rule(
        &aws.events,
        &input(&name, &[("a", td("hourly", 1), td("hourly", 2))]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "TargetsRejected");
    assert!(
        err.to_string()
            .contains("b: ECS target is on the rule but not in the plan"),
        "{err}"
    );
    assert_eq!(targets(&aws, &name).await, before, "nothing was changed");
}

#[tokio::test]
async fn a_missing_rule_is_rule_not_found() {
    let aws = aws().await;
    let err = update_rule(
        &aws.events,
        &input(&unique("gone"), &[("a", td("x", 1), td("x", 2))]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "RuleNotFound", "{err}");
}
