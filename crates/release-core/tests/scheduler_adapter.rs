//! The EventBridge Scheduler adapter against aws-smithy-mocks: UpdateSchedule sends every field
//! of the request it is given (AWS resets what it leaves out), a missing schedule is `None` or
//! `ScheduleNotFound`, and other errors keep their names.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_scheduler::operation::update_schedule::UpdateScheduleOutput;
use aws_sdk_scheduler::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use release_core::aws::fake_scheduler::ecs_schedule;
use release_core::aws::SchedulerApi;
use release_core::decide::schedule::retargeted;

const NEW: &str = "arn:aws:ecs:eu-west-1:111111111111:task-definition/report:5";

#[tokio::test]
async fn update_schedule_sends_every_field_it_is_given() {
    let found = ecs_schedule("reports", "nightly", "report:4");
    let update = retargeted(&found, NEW).unwrap();
    let expected = update.clone();
    let rule = mock!(Client::update_schedule)
        // The SDK fills in its own idempotency token: everything else is what was given.
        .match_requests(move |sent| {
            let mut sent = sent.clone();
            sent.client_token = None;
            sent == expected
        })
        .then_output(|| {
            UpdateScheduleOutput::builder()
                .schedule_arn("arn:aws:scheduler:eu-west-1:111111111111:schedule/reports/nightly")
                .build()
                .unwrap()
        });
    let client = mock_client!(aws_sdk_scheduler, RuleMode::Sequential, [&rule]);
    SchedulerApi::update_schedule(&client, &update)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_schedule_is_none_to_read_and_not_found_to_update() {
    // As Scheduler (REST-JSON) answers it: the SDK reads the code from `__type`.
    let body =
        r#"{"__type":"ResourceNotFoundException","Message":"Schedule nightly does not exist."}"#;
    let get = mock!(Client::get_schedule)
        .sequence()
        .http_status(404, Some(body.to_owned()))
        .build();
    let update = mock!(Client::update_schedule)
        .sequence()
        .http_status(404, Some(body.to_owned()))
        .build();
    let client = mock_client!(aws_sdk_scheduler, RuleMode::MatchAny, [&get, &update]);
    let found = SchedulerApi::get_schedule(&client, "reports", "nightly")
        .await
        .unwrap();
    assert!(found.is_none());
    let request = retargeted(&ecs_schedule("reports", "nightly", "report:4"), NEW).unwrap();
    let err = SchedulerApi::update_schedule(&client, &request)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ScheduleNotFound", "{err}");
    assert!(err.to_string().contains("reports/nightly"), "{err}");
}

#[tokio::test]
async fn a_refused_update_is_the_schedules_rejection_with_what_scheduler_said() {
    let body = r#"{"__type":"ValidationException","Message":"StartDate must be in the future"}"#;
    let update = mock!(Client::update_schedule)
        .sequence()
        .http_status(400, Some(body.to_owned()))
        .build();
    let client = mock_client!(aws_sdk_scheduler, RuleMode::Sequential, [&update]);
    let request = retargeted(&ecs_schedule("reports", "nightly", "report:4"), NEW).unwrap();
    let err = SchedulerApi::update_schedule(&client, &request)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "TargetsRejected");
    assert_eq!(
        err.to_string(),
        "targets rejected: schedule reports/nightly: 1 target rejected: UpdateSchedule: \
         ValidationException: StartDate must be in the future"
    );
}
