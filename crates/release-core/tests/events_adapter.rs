//! The EventBridge adapter (and update-scheduled-rule on top of it) with EventBridge answers mocked.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_eventbridge::config::retry::RetryConfig;
use aws_sdk_eventbridge::error::ErrorMetadata;
use aws_sdk_eventbridge::operation::describe_rule::{DescribeRuleError, DescribeRuleOutput};
use aws_sdk_eventbridge::operation::list_targets_by_rule::{
    ListTargetsByRuleError, ListTargetsByRuleOutput,
};
use aws_sdk_eventbridge::operation::put_targets::PutTargetsOutput;
use aws_sdk_eventbridge::types::error::ResourceNotFoundException;
use aws_sdk_eventbridge::types::{EcsParameters, PutTargetsResultEntry, Target};
use aws_sdk_eventbridge::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use release_core::aws::EventsApi;
use release_core::contract::{Records, RuleItem, RuleTaskTarget, UpdateRuleInput};
use release_core::steps::update_rule::update_rule;

fn ecs_target(id: &str, task_definition: &str) -> Target {
    Target::builder()
        .id(id)
        .arn("arn:aws:ecs:us-east-1:123456789012:cluster/c")
        .role_arn("arn:aws:iam::123456789012:role/events")
        .ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(task_definition)
                .task_count(1)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn page(targets: Vec<Target>, next: Option<&str>) -> ListTargetsByRuleOutput {
    ListTargetsByRuleOutput::builder()
        .set_targets(Some(targets))
        .set_next_token(next.map(str::to_owned))
        .build()
}

#[tokio::test]
async fn list_targets_follows_next_token() {
    let first = mock!(Client::list_targets_by_rule)
        .match_requests(|r| r.next_token().is_none() && r.event_bus_name() == Some("bus"))
        .then_output(|| {
            page(
                vec![ecs_target("a", "td:1"), ecs_target("b", "td:1")],
                Some("p2"),
            )
        });
    let second = mock!(Client::list_targets_by_rule)
        .match_requests(|r| r.next_token() == Some("p2"))
        .then_output(|| page(vec![ecs_target("c", "td:1")], None));
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&first, &second]);
    let targets = events.list_targets("bus", "nightly").await.unwrap();
    let ids: Vec<_> = targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn missing_rule_is_none_for_describe_and_rule_not_found_for_list() {
    let describe = mock!(Client::describe_rule).then_error(|| {
        DescribeRuleError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("Rule nightly does not exist.")
                .build(),
        )
    });
    let list = mock!(Client::list_targets_by_rule).then_error(|| {
        ListTargetsByRuleError::ResourceNotFoundException(
            ResourceNotFoundException::builder().build(),
        )
    });
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&describe, &list]);
    assert_eq!(
        EventsApi::describe_rule(&events, "bus", "nightly")
            .await
            .unwrap(),
        None
    );
    let err = events.list_targets("bus", "nightly").await.unwrap_err();
    assert_eq!(err.name(), "RuleNotFound");
    assert_eq!(err.to_string(), "rule not found: bus/nightly");
}

#[tokio::test]
async fn describe_rule_reports_the_rule() {
    let describe = mock!(Client::describe_rule).then_output(|| {
        DescribeRuleOutput::builder()
            .name("nightly")
            .event_bus_name("bus")
            .arn("arn:aws:events:us-east-1:123456789012:rule/bus/nightly")
            .state(aws_sdk_eventbridge::types::RuleState::Enabled)
            .build()
    });
    let events = mock_client!(aws_sdk_eventbridge, [&describe]);
    let rule = EventsApi::describe_rule(&events, "bus", "nightly")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rule.arn,
        "arn:aws:events:us-east-1:123456789012:rule/bus/nightly"
    );
    assert_eq!(rule.state.as_deref(), Some("ENABLED"));
}

#[tokio::test]
async fn put_targets_sends_ten_per_call_and_returns_failed_entries() {
    let put = mock!(Client::put_targets)
        .match_requests(|r| r.targets().len() <= 10)
        .then_compute_output(|r| {
            let failed: Vec<_> = r
                .targets()
                .iter()
                .filter(|t| t.id == "t11")
                .map(|t| {
                    PutTargetsResultEntry::builder()
                        .target_id(&t.id)
                        .error_code("ValidationException")
                        .error_message("bad")
                        .build()
                })
                .collect();
            PutTargetsOutput::builder()
                .failed_entry_count(i32::try_from(failed.len()).unwrap())
                .set_failed_entries(Some(failed))
                .build()
        });
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]);
    let targets: Vec<_> = (0..12)
        .map(|i| ecs_target(&format!("t{i}"), "td:2"))
        .collect();
    let failed = EventsApi::put_targets(&events, "bus", "r", &targets)
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 2);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].target_id.as_deref(), Some("t11"));
}

fn rule_input(targets: &[(&str, &str, &str)]) -> UpdateRuleInput {
    UpdateRuleInput {
        release_id: "r1".into(),
        records: Records::for_execution("convoy-records", "r", "e"),
        item: RuleItem {
            id: "bus/nightly".into(),
            rule: "nightly".into(),
            event_bus: "bus".into(),
            noop: false,
            targets: targets
                .iter()
                .map(|(id, previous, new)| RuleTaskTarget {
                    target_id: (*id).into(),
                    previous_task_definition: (*previous).into(),
                    images: Default::default(),
                    noop: false,
                    new_task_definition: Some((*new).into()),
                })
                .collect(),
            wave: 0,
        },
    }
}

#[tokio::test]
async fn rejected_entries_become_targets_rejected_with_their_messages() {
    let list = mock!(Client::list_targets_by_rule).then_output(|| {
        page(
            vec![ecs_target("a", "report:1"), ecs_target("b", "report:1")],
            None,
        )
    });
    let put = mock!(Client::put_targets).then_output(|| {
        PutTargetsOutput::builder()
            .failed_entry_count(1)
            .failed_entries(
                PutTargetsResultEntry::builder()
                    .target_id("b")
                    .error_code("ConcurrentModificationException")
                    .error_message("rule is being modified")
                    .build(),
            )
            .build()
    });
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&list, &put]);
    let input = rule_input(&[("a", "report:1", "report:2"), ("b", "report:1", "report:2")]);
    let err = update_rule(&events, &input).await.unwrap_err();
    assert_eq!(err.name(), "TargetsRejected");
    assert_eq!(
        err.to_string(),
        "targets rejected: rule bus/nightly: 1 target rejected: \
         b: ConcurrentModificationException: rule is being modified"
    );
}

#[tokio::test]
async fn throttling_is_retried_then_reported_as_throttled() {
    let throttled = mock!(Client::list_targets_by_rule)
        .sequence()
        .error(|| {
            ListTargetsByRuleError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(3)
        .build();
    let events = mock_client!(
        aws_sdk_eventbridge,
        RuleMode::Sequential,
        [&throttled],
        |c| c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        )
    );
    let err = events.list_targets("bus", "nightly").await.unwrap_err();
    assert_eq!(err.name(), "Throttled", "{err}");
    assert!(err.to_string().contains("Rate exceeded"), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "keeps the SDK error"
    );
    assert_eq!(throttled.num_calls(), 3, "the SDK retried before giving up");
}

#[tokio::test]
async fn throttling_that_clears_within_the_retries_succeeds() {
    let list = mock!(Client::list_targets_by_rule)
        .sequence()
        .error(|| {
            ListTargetsByRuleError::generic(
                ErrorMetadata::builder().code("ThrottlingException").build(),
            )
        })
        .output(|| page(vec![ecs_target("a", "td:1")], None))
        .build();
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&list], |c| c
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ));
    assert_eq!(events.list_targets("bus", "r").await.unwrap().len(), 1);
    assert_eq!(list.num_calls(), 2);
}

#[tokio::test]
async fn error_codes_map_to_stable_names() {
    let cases = [
        ("AccessDeniedException", "AccessDenied"),
        ("InternalException", "AwsUnavailable"),
        ("ValidationException", "Internal"),
    ];
    for (code, name) in cases {
        let rule = mock!(Client::list_targets_by_rule).then_error(move || {
            ListTargetsByRuleError::generic(ErrorMetadata::builder().code(code).build())
        });
        let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rule], |c| c
            .retry_config(RetryConfig::disabled()));
        let err = events.list_targets("bus", "r").await.unwrap_err();
        assert_eq!(err.name(), name, "{code}: {err}");
    }
}

#[tokio::test]
async fn list_rules_follows_next_token_on_the_bus() {
    use aws_sdk_eventbridge::operation::list_rules::ListRulesOutput;
    use aws_sdk_eventbridge::types::Rule;
    let rules = |names: &[&str], next: Option<&str>| {
        ListRulesOutput::builder()
            .set_rules(Some(
                names
                    .iter()
                    .map(|n| Rule::builder().name(*n).build())
                    .collect(),
            ))
            .set_next_token(next.map(str::to_owned))
            .build()
    };
    let first = mock!(Client::list_rules)
        .match_requests(|r| r.next_token().is_none() && r.event_bus_name() == Some("ops"))
        .then_output(move || rules(&["nightly", "hourly"], Some("p2")));
    let second = mock!(Client::list_rules)
        .match_requests(|r| r.next_token() == Some("p2") && r.event_bus_name() == Some("ops"))
        .then_output(move || rules(&["weekly"], None));
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&first, &second]);
    let names = EventsApi::list_rules(&events, "ops").await.unwrap();
    assert_eq!(names, ["nightly", "hourly", "weekly"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn list_rules_refused_is_access_denied() {
    let refused = mock!(Client::list_rules)
        .sequence()
        .http_status(
            400,
            Some(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform: events:ListRules"}"#
                    .into(),
            ),
        )
        .build();
    let events = mock_client!(aws_sdk_eventbridge, RuleMode::Sequential, [&refused]);
    let err = EventsApi::list_rules(&events, "default").await.unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");
    assert!(err.to_string().contains("ListRules default"), "{err}");
}

fn release_event() -> release_core::aws::OutgoingEvent {
    release_core::aws::OutgoingEvent {
        event_bus: "releases".into(),
        source: "convoy".into(),
        detail_type: "Convoy Release Finished".into(),
        resources: vec!["arn:aws:states:us-east-1:123456789012:execution:m:e".into()],
        detail: r#"{"outcome":"FAILED"}"#.into(),
    }
}

#[tokio::test]
async fn put_event_sends_one_whole_entry() {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    let put = mock!(Client::put_events)
        .match_requests(|r| {
            let [entry] = r.entries() else { return false };
            entry.event_bus_name() == Some("releases")
                && entry.source() == Some("convoy")
                && entry.detail_type() == Some("Convoy Release Finished")
                && entry.resources() == ["arn:aws:states:us-east-1:123456789012:execution:m:e"]
                && entry.detail() == Some(r#"{"outcome":"FAILED"}"#)
        })
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(PutEventsResultEntry::builder().event_id("1").build())
                .build()
        });
    let events = mock_client!(aws_sdk_eventbridge, [&put]);
    events.put_event(&release_event()).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn an_entry_put_events_refuses_is_an_error_naming_its_code() {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    let cases = [
        ("ThrottlingException", "Throttled"),
        ("AccessDeniedException", "AccessDenied"),
        ("InternalFailure", "AwsUnavailable"),
    ];
    for (code, name) in cases {
        let put = mock!(Client::put_events).then_output(move || {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code(code)
                        .error_message("no")
                        .build(),
                )
                .build()
        });
        let events = mock_client!(aws_sdk_eventbridge, [&put]);
        let err = events.put_event(&release_event()).await.unwrap_err();
        assert_eq!(err.name(), name, "{code}");
        assert!(err.to_string().contains(code), "{err}");
    }
}
