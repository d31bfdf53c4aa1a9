//! check-stability's polling loop over the real ECS adapter, with ECS answers mocked, on tokio's
//! paused clock: sleeps take no real time and elapsed times are exact, however busy the machine.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{
    Container, Deployment, DeploymentRolloutState as Rollout, DesiredStatus, Service, Task,
};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::contract::{DeploymentStatus, Outcome, ServiceDeployment};
use release_core::steps::check_stability::check;
use tokio::time::Instant;

const OLD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";

fn item(service: &str, deployment_id: &str, deadline: i64) -> DeploymentStatus {
    DeploymentStatus {
        deployment: ServiceDeployment {
            id: format!("c/{service}"),
            cluster: "c".into(),
            service: service.into(),
            previous_task_definition: OLD.into(),
            new_task_definition: NEW.into(),
            deployment_id: deployment_id.into(),
            deadline,
            strategy: Default::default(),
            service_deployment_arn: None,
            awaits: Default::default(),
            code_deploy: None,
        },
        outcome: Outcome::InProgress,
        reason: None,
        stopped_reasons: Vec::new(),
        stage: None,
    }
}

fn far() -> i64 {
    release_core::steps::unix_now() + 3600
}

fn services(list: &[(&str, &str, Rollout, i32, bool)]) -> DescribeServicesOutput {
    DescribeServicesOutput::builder()
        .set_services(Some(
            list.iter()
                .map(|(name, id, state, running, old_left)| {
                    let mut b = Service::builder()
                        .service_name(*name)
                        .status("ACTIVE")
                        .task_definition(NEW)
                        .deployments(
                            Deployment::builder()
                                .id(*id)
                                .status("PRIMARY")
                                .task_definition(NEW)
                                .rollout_state(state.clone())
                                .rollout_state_reason(match state {
                                    Rollout::Failed => {
                                        "ECS deployment circuit breaker: tasks failed to start."
                                    }
                                    _ => "in progress",
                                })
                                .running_count(*running)
                                .desired_count(2)
                                .failed_tasks(if *state == Rollout::Failed { 3 } else { 0 })
                                .build(),
                        );
                    if *old_left {
                        b = b.deployments(
                            Deployment::builder()
                                .id("ecs-svc/old")
                                .status("ACTIVE")
                                .task_definition(OLD)
                                .running_count(2)
                                .desired_count(2)
                                .build(),
                        );
                    }
                    b.build()
                })
                .collect(),
        ))
        .build()
}

async fn run_in_progress_then_completed(poll_interval_seconds: u32) {
    let in_progress = || services(&[("web", "ecs-svc/1", Rollout::InProgress, 1, true)]);
    let completed = || services(&[("web", "ecs-svc/1", Rollout::Completed, 2, false)]);
    let describe = mock!(Client::describe_services)
        .sequence()
        .output(in_progress)
        .times(2)
        .output(completed)
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&describe]);
    let items = vec![item("web", "ecs-svc/1", far())];
    let started = Instant::now();
    let out = check(
        &ecs,
        &FakeCodeDeploy::default(),
        items,
        poll_interval_seconds,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(describe.num_calls(), 3);
    assert_eq!(out.pending, 0);
    assert_eq!(out.failed, 0);
    assert_eq!(out.items[0].outcome, Outcome::Succeeded);
    // Two sleeps between three polls, and nothing else.
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2 * u64::from(poll_interval_seconds))
    );
}

#[tokio::test(start_paused = true)]
async fn in_progress_then_completed_across_polls_without_pause() {
    run_in_progress_then_completed(0).await;
}

#[tokio::test(start_paused = true)]
async fn in_progress_then_completed_across_polls_five_seconds_apart() {
    run_in_progress_then_completed(5).await;
}

/// Policies failed and none await the rest of the wave after a failure, and a rollback awaits its
/// later waves after an earlier wave's restore failed: a failure known before this call must not
/// cut the polling short, or AwaitRelease / AwaitRollback would spin without waiting.
#[tokio::test(start_paused = true)]
async fn a_failure_known_before_the_call_does_not_cut_the_polling_short() {
    let describe = mock!(Client::describe_services)
        .then_output(|| services(&[("web", "ecs-svc/1", Rollout::InProgress, 0, true)]));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let failed_before = DeploymentStatus {
        outcome: Outcome::Failed,
        reason: Some("failed in an earlier round".into()),
        ..item("api", "ecs-svc/9", far())
    };
    let items = vec![failed_before, item("web", "ecs-svc/1", far())];
    let started = Instant::now();
    let out = check(
        &ecs,
        &FakeCodeDeploy::default(),
        items,
        5,
        Duration::from_secs(12),
    )
    .await
    .unwrap();
    assert_eq!((out.pending, out.failed), (1, 1));
    // Polled for the whole budget, as with no failure at all; the failed item was not polled.
    assert_eq!(describe.num_calls(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn budget_ends_the_invocation_with_items_still_pending() {
    let describe = mock!(Client::describe_services)
        .then_output(|| services(&[("web", "ecs-svc/1", Rollout::InProgress, 0, true)]));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let interval: u32 = 5;
    let items = vec![item("web", "ecs-svc/1", far())];
    let started = Instant::now();
    let out = check(
        &ecs,
        &FakeCodeDeploy::default(),
        items,
        interval,
        Duration::from_secs(12),
    )
    .await
    .unwrap();
    assert_eq!(out.pending, 1);
    assert_eq!(out.items[0].outcome, Outcome::InProgress);
    // Polls at 0, 5 and 10 s; a fourth at 15 s would start after the budget.
    assert_eq!(describe.num_calls(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn failed_rollout_returns_at_once_with_stopped_task_reasons() {
    // `api` fails while `web` is still in progress: the round returns without another poll.
    let describe = mock!(Client::describe_services).then_output(|| {
        services(&[
            ("web", "ecs-svc/1", Rollout::InProgress, 1, true),
            ("api", "ecs-svc/2", Rollout::Failed, 0, true),
        ])
    });
    // ECS takes `startedBy` only as the sole filter of ListTasks: the service's stopped tasks are
    // listed, and the deployment's are told apart on DescribeTasks.
    let list = mock!(Client::list_tasks)
        .match_requests(|r| {
            r.cluster() == Some("c")
                && r.service_name() == Some("api")
                && r.desired_status() == Some(&DesiredStatus::Stopped)
                && r.started_by().is_none()
                && r.family().is_none()
                && r.container_instance().is_none()
                && r.launch_type().is_none()
        })
        .then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:us-east-1:123456789012:task/c/a")
                .task_arns("arn:aws:ecs:us-east-1:123456789012:task/c/b")
                .task_arns("arn:aws:ecs:us-east-1:123456789012:task/c/old")
                .build()
        });
    let tasks = mock!(Client::describe_tasks)
        .match_requests(|r| r.tasks().len() == 3)
        .then_output(|| {
            let task = |deployment, exit| {
                Task::builder()
                    .started_by(deployment)
                    .stopped_reason("Essential container in task exited")
                    .containers(Container::builder().name("app").exit_code(exit).build())
                    .build()
            };
            DescribeTasksOutput::builder()
                .tasks(task("ecs-svc/2", 1))
                .tasks(task("ecs-svc/2", 2))
                // The previous deployment's task, stopped as the rollout began: not a reason.
                .tasks(task("ecs-svc/1", 143))
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &list, &tasks]);
    let interval: u32 = 5;
    let items = vec![
        item("web", "ecs-svc/1", far()),
        item("api", "ecs-svc/2", far()),
    ];
    let started = Instant::now();
    let out = check(
        &ecs,
        &FakeCodeDeploy::default(),
        items,
        interval,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO, "did not wait");
    assert_eq!(describe.num_calls(), 1, "both services in one call");
    assert_eq!((out.pending, out.failed), (1, 1));
    let api = &out.items[1];
    assert_eq!(api.outcome, Outcome::Failed);
    assert!(
        api.reason
            .as_deref()
            .unwrap()
            .contains("ECS deployment circuit breaker: tasks failed to start."),
        "{:?}",
        api.reason
    );
    assert_eq!(
        api.stopped_reasons,
        vec![
            "Essential container in task exited",
            "app: exit code 1",
            "app: exit code 2"
        ]
    );
    assert_eq!((list.num_calls(), tasks.num_calls()), (1, 1));
    assert_eq!(out.items[0].outcome, Outcome::InProgress);
    assert!(out.items[0].stopped_reasons.is_empty());
}

#[tokio::test(start_paused = true)]
async fn terminal_items_are_not_described_again() {
    let describe = mock!(Client::describe_services)
        .then_output(|| services(&[("web", "ecs-svc/1", Rollout::Completed, 2, false)]));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe]);
    let mut done = item("api", "ecs-svc/2", far());
    done.outcome = Outcome::Succeeded;
    done.reason = Some("kept".into());
    let interval: u32 = 0;
    let items = vec![item("web", "ecs-svc/1", far()), done.clone()];
    let out = check(
        &ecs,
        &FakeCodeDeploy::default(),
        items,
        interval,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(describe.num_calls(), 1);
    assert_eq!(out.items[1], done);
    assert_eq!(out.items[0].outcome, Outcome::Succeeded);
}
