//! The success verdict for every rollout shape ECS produces, as a table.

use aws_sdk_ecs::types::{Container, Deployment, DeploymentRolloutState as Rollout, Service, Task};
use aws_sdk_ecs::types::{
    Rollback, ServiceDeployment as EcsServiceDeployment, ServiceDeploymentAlarms,
    ServiceDeploymentCircuitBreaker, ServiceDeploymentLifecycleStage as Stage,
    ServiceDeploymentRollbackMonitorsStatus as Monitor, ServiceDeploymentStatus as Status,
    ServiceRevisionSummary,
};
use release_core::contract::{Awaited, Outcome, ServiceDeployment, Strategy};
use release_core::decide::verdict::{
    failed_task_threshold, judge, judge_service_deployment, rolling_failure_detail, stopped_reasons,
};
use release_core::steps::check_stability::budget_from;

const OLD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:41";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42";
const THIRD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:43";
const OURS: &str = "ecs-svc/1111";
const NOW: i64 = 1_000_000;

fn ours() -> ServiceDeployment {
    ServiceDeployment {
        id: "prod/web".into(),
        cluster: "prod".into(),
        service: "web".into(),
        previous_task_definition: OLD.into(),
        new_task_definition: NEW.into(),
        deployment_id: OURS.into(),
        deadline: NOW + 600,
        strategy: Strategy::Rolling,
        service_deployment_arn: None,
        awaits: Awaited::Finished,
        code_deploy: None,
    }
}

/// A deployment: id, PRIMARY/ACTIVE, task definition, rollout state, running/desired, failed tasks.
struct D(
    &'static str,
    &'static str,
    &'static str,
    Option<Rollout>,
    i32,
    i32,
    i32,
);

fn deployment(d: &D) -> Deployment {
    Deployment::builder()
        .id(d.0)
        .status(d.1)
        .task_definition(d.2)
        .set_rollout_state(d.3.clone())
        .rollout_state_reason(match d.3 {
            Some(Rollout::Failed) => "ECS deployment circuit breaker: tasks failed to start.",
            _ => "ECS deployment in progress.",
        })
        .running_count(d.4)
        .desired_count(d.5)
        .failed_tasks(d.6)
        .build()
}

fn service(status: &str, deployments: &[D]) -> Service {
    Service::builder()
        .service_name("web")
        .status(status)
        .task_definition(deployments.first().map_or(NEW, |d| d.2))
        .set_deployments(Some(deployments.iter().map(deployment).collect()))
        .build()
}

#[test]
fn verdict_for_every_rollout_shape() {
    use Rollout::{Completed, Failed, InProgress};
    let cases: Vec<(&str, Option<Service>, i64, Outcome, &str)> = vec![
        (
            "completed, old deployment drained",
            Some(service("ACTIVE", &[D(OURS, "PRIMARY", NEW, Some(Completed), 2, 2, 0)])),
            NOW,
            Outcome::Succeeded,
            "running 2/2",
        ),
        (
            "in progress, old deployment still running",
            Some(service(
                "ACTIVE",
                &[
                    D(OURS, "PRIMARY", NEW, Some(InProgress), 1, 2, 0),
                    D("ecs-svc/0", "ACTIVE", OLD, Some(Completed), 2, 2, 0),
                ],
            )),
            NOW,
            Outcome::InProgress,
            "running 1/2",
        ),
        (
            "completed but the old deployment has not drained yet",
            Some(service(
                "ACTIVE",
                &[
                    D(OURS, "PRIMARY", NEW, Some(Completed), 2, 2, 0),
                    D("ecs-svc/0", "ACTIVE", OLD, Some(Completed), 1, 0, 0),
                ],
            )),
            NOW,
            Outcome::InProgress,
            "1 other deployment",
        ),
        (
            "our deployment FAILED (circuit breaker), still PRIMARY",
            Some(service(
                "ACTIVE",
                &[
                    D(OURS, "PRIMARY", NEW, Some(Failed), 0, 2, 5),
                    D("ecs-svc/0", "ACTIVE", OLD, Some(Completed), 2, 2, 0),
                ],
            )),
            NOW,
            Outcome::Failed,
            "circuit breaker: tasks failed to start",
        ),
        (
            "circuit-breaker rollback: PRIMARY back on the old task definition, ours FAILED",
            Some(service(
                "ACTIVE",
                &[
                    D("ecs-svc/2", "PRIMARY", OLD, Some(InProgress), 1, 2, 0),
                    D(OURS, "ACTIVE", NEW, Some(Failed), 0, 2, 3),
                ],
            )),
            NOW,
            Outcome::Failed,
            "failed (3 failed tasks)",
        ),
        (
            "circuit-breaker rollback completed: steady on the old task definition, ours gone",
            Some(service(
                "ACTIVE",
                &[D("ecs-svc/2", "PRIMARY", OLD, Some(Completed), 2, 2, 0)],
            )),
            NOW,
            Outcome::Failed,
            "rolled back to the previous task definition web:41 (our deployment ecs-svc/1111 is gone)",
        ),
        (
            "stuck past the deadline",
            Some(service(
                "ACTIVE",
                &[
                    D(OURS, "PRIMARY", NEW, Some(InProgress), 0, 2, 0),
                    D("ecs-svc/0", "ACTIVE", OLD, Some(Completed), 2, 2, 0),
                ],
            )),
            NOW + 601,
            Outcome::TimedOut,
            "deadline passed 1 s ago",
        ),
        (
            "stuck but before the deadline",
            Some(service(
                "ACTIVE",
                &[D(OURS, "PRIMARY", NEW, Some(InProgress), 0, 2, 0)],
            )),
            NOW + 600,
            Outcome::InProgress,
            "running 0/2",
        ),
        (
            "superseded by a third task definition",
            Some(service(
                "ACTIVE",
                &[
                    D("ecs-svc/3", "PRIMARY", THIRD, Some(InProgress), 0, 2, 0),
                    D(OURS, "ACTIVE", NEW, Some(InProgress), 1, 2, 0),
                ],
            )),
            NOW,
            Outcome::Superseded,
            "now runs web:43 from deployment ecs-svc/3",
        ),
        (
            "failedTasks rising with nothing running (no circuit breaker)",
            Some(service(
                "ACTIVE",
                &[
                    D(OURS, "PRIMARY", NEW, Some(InProgress), 0, 4, 3),
                    D("ecs-svc/0", "ACTIVE", OLD, Some(Completed), 4, 4, 0),
                ],
            )),
            NOW,
            Outcome::Failed,
            "not progressing",
        ),
        (
            "a few failed tasks below the threshold",
            Some(service(
                "ACTIVE",
                &[D(OURS, "PRIMARY", NEW, Some(InProgress), 0, 4, 2)],
            )),
            NOW,
            Outcome::InProgress,
            "2 failed tasks",
        ),
        (
            "service INACTIVE",
            Some(service("INACTIVE", &[])),
            NOW,
            Outcome::Failed,
            "is INACTIVE",
        ),
        (
            "service missing",
            None,
            NOW,
            Outcome::Failed,
            "prod/web is missing",
        ),
        (
            "old service without rolloutState, steady",
            Some(service("ACTIVE", &[D(OURS, "PRIMARY", NEW, None, 3, 3, 0)])),
            NOW,
            Outcome::Succeeded,
            "without rollout state",
        ),
        (
            "old service without rolloutState, old deployment still there",
            Some(service(
                "ACTIVE",
                &[
                    D(OURS, "PRIMARY", NEW, None, 3, 3, 0),
                    D("ecs-svc/0", "ACTIVE", OLD, None, 1, 3, 0),
                ],
            )),
            NOW,
            Outcome::InProgress,
            "1 other deployment",
        ),
        (
            "ECS replaced the deployment id but runs our task definition",
            Some(service(
                "ACTIVE",
                &[D("ecs-svc/9", "PRIMARY", NEW, Some(Completed), 2, 2, 0)],
            )),
            NOW,
            Outcome::Succeeded,
            "running 2/2",
        ),
    ];
    for (name, svc, now, outcome, reason) in cases {
        let verdict = judge(&ours(), svc.as_ref(), now);
        assert_eq!(verdict.outcome, outcome, "{name}: {}", verdict.reason);
        assert!(
            verdict.reason.contains(reason),
            "{name}: reason `{}` lacks `{reason}`",
            verdict.reason
        );
    }
}

#[test]
fn a_rollback_to_the_old_revision_is_never_success() {
    // Steady, COMPLETED, running == desired, single deployment: all the classic "stable" signals.
    let svc = service(
        "ACTIVE",
        &[D(
            "ecs-svc/2",
            "PRIMARY",
            OLD,
            Some(Rollout::Completed),
            2,
            2,
            0,
        )],
    );
    for now in [NOW - 100, NOW, NOW + 10_000] {
        assert_eq!(judge(&ours(), Some(&svc), now).outcome, Outcome::Failed);
    }
}

#[test]
fn failed_task_threshold_follows_the_circuit_breaker_default() {
    for (desired, threshold) in [(0, 3), (1, 3), (4, 3), (7, 4), (10, 5), (1000, 200)] {
        assert_eq!(
            failed_task_threshold(desired),
            threshold,
            "desired {desired}"
        );
    }
}

fn stopped(reason: Option<&str>, containers: &[(&str, Option<i32>, Option<&str>)]) -> Task {
    stopped_by("ecs-svc/2", reason, containers)
}

fn stopped_by(
    deployment: &str,
    reason: Option<&str>,
    containers: &[(&str, Option<i32>, Option<&str>)],
) -> Task {
    Task::builder()
        .started_by(deployment)
        .set_stopped_reason(reason.map(str::to_owned))
        .set_containers(Some(
            containers
                .iter()
                .map(|(name, code, why)| {
                    Container::builder()
                        .name(*name)
                        .set_exit_code(*code)
                        .set_reason(why.map(str::to_owned))
                        .build()
                })
                .collect(),
        ))
        .build()
}

#[test]
fn stopped_reasons_are_deduplicated_and_capped() {
    let essential = "Essential container in task exited";
    let tasks = vec![
        // The previous deployment's tasks, stopped as the rollout replaced them, and a task
        // started by hand: not this deployment's.
        stopped_by(
            "ecs-svc/1",
            Some("Scaling activity initiated by (deployment ecs-svc/2)"),
            &[("app", Some(143), None)],
        ),
        stopped_by("ops-console", Some("Task stopped by user"), &[]),
        stopped(
            Some(essential),
            &[("app", Some(1), None), ("sidecar", Some(0), None)],
        ),
        stopped(Some(essential), &[("app", Some(1), None)]),
        stopped(
            Some("Task failed ELB health checks in (target-group arn)"),
            &[(
                "app",
                None,
                Some("CannotPullContainerError: pull access denied"),
            )],
        ),
        stopped(
            None,
            &[("app", Some(137), Some("OutOfMemoryError: Container killed"))],
        ),
        stopped(Some("Scaling activity initiated by deployment"), &[]),
        stopped(Some("one too many"), &[]),
    ];
    assert_eq!(
        stopped_reasons(&tasks, "ecs-svc/2"),
        vec![
            essential.to_owned(),
            "app: exit code 1".into(),
            "Task failed ELB health checks in (target-group arn)".into(),
            "app: CannotPullContainerError: pull access denied".into(),
            "app: exit code 137: OutOfMemoryError: Container killed".into(),
        ]
    );
    assert!(stopped_reasons(&[], "ecs-svc/2").is_empty());
    assert!(stopped_reasons(&tasks, "ecs-svc/9").is_empty());
}

#[test]
fn budget_from_environment_value() {
    use std::time::Duration;
    assert_eq!(budget_from(None).unwrap(), Duration::from_secs(60));
    assert_eq!(budget_from(Some("")).unwrap(), Duration::from_secs(60));
    assert_eq!(budget_from(Some(" 90 ")).unwrap(), Duration::from_secs(90));
    assert_eq!(budget_from(Some("soon")).unwrap_err().name(), "Internal");
}

const SD: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/bg7";

fn blue_green(awaits: Awaited) -> ServiceDeployment {
    ServiceDeployment {
        strategy: Strategy::BlueGreen,
        service_deployment_arn: Some(SD.into()),
        awaits,
        ..ours()
    }
}

fn found(status: Status, stage: Stage) -> EcsServiceDeployment {
    EcsServiceDeployment::builder()
        .service_deployment_arn(SD)
        .status(status)
        .lifecycle_stage(stage)
        .target_service_revision(
            ServiceRevisionSummary::builder()
                .running_task_count(2)
                .requested_task_count(2)
                .requested_production_traffic_weight(100.0)
                .build(),
        )
        .build()
}

#[test]
fn blue_green_verdicts_come_from_the_service_deployment_not_the_counts() {
    let rows = [
        // (status, stage, awaits, now, outcome, words in the reason)
        (
            Status::Pending,
            Stage::ReconcileService,
            Awaited::Finished,
            NOW,
            Outcome::InProgress,
            "PENDING at RECONCILE_SERVICE",
        ),
        (
            Status::InProgress,
            Stage::BakeTime,
            Awaited::Finished,
            NOW,
            Outcome::InProgress,
            "IN_PROGRESS at BAKE_TIME, target revision 2/2 running, 100 % of production traffic",
        ),
        (
            Status::InProgress,
            Stage::BakeTime,
            Awaited::Finished,
            NOW + 601,
            Outcome::TimedOut,
            "deadline passed 1 s ago: BLUE_GREEN deployment bg7 IN_PROGRESS at BAKE_TIME",
        ),
        (
            Status::Successful,
            Stage::CleanUp,
            Awaited::Finished,
            NOW + 601,
            Outcome::Succeeded,
            "SUCCESSFUL at CLEAN_UP",
        ),
        (
            Status::RollbackSuccessful,
            Stage::PostTestTrafficShift,
            Awaited::Finished,
            NOW,
            Outcome::Failed,
            "ROLLBACK_SUCCESSFUL at POST_TEST_TRAFFIC_SHIFT",
        ),
        (
            Status::Stopped,
            Stage::ScaleUp,
            Awaited::Finished,
            NOW,
            Outcome::Failed,
            "STOPPED at SCALE_UP",
        ),
        (
            Status::InProgress,
            Stage::BakeTime,
            Awaited::RolledBack,
            NOW,
            Outcome::InProgress,
            "IN_PROGRESS",
        ),
        (
            Status::RollbackInProgress,
            Stage::BakeTime,
            Awaited::RolledBack,
            NOW,
            Outcome::InProgress,
            "ROLLBACK_IN_PROGRESS",
        ),
        (
            Status::RollbackSuccessful,
            Stage::BakeTime,
            Awaited::RolledBack,
            NOW,
            Outcome::Succeeded,
            "ROLLBACK_SUCCESSFUL",
        ),
        (
            Status::RollbackFailed,
            Stage::BakeTime,
            Awaited::RolledBack,
            NOW,
            Outcome::Failed,
            "ROLLBACK_FAILED",
        ),
    ];
    for (status, stage, awaits, now, outcome, words) in rows {
        let got = judge_service_deployment(
            &blue_green(awaits),
            Some(&found(status.clone(), stage)),
            now,
        );
        assert_eq!(
            got.outcome, outcome,
            "{status:?} {awaits:?}: {}",
            got.reason
        );
        assert!(got.reason.contains(words), "{status:?}: {}", got.reason);
    }
}

#[test]
fn a_blue_green_failure_names_its_reason_rollback_breaker_and_alarms() {
    let failed = EcsServiceDeployment::builder()
        .service_deployment_arn(SD)
        .status(Status::RollbackInProgress)
        .lifecycle_stage(Stage::PostTestTrafficShift)
        .status_reason("lifecycle hook failed")
        .rollback(
            Rollback::builder()
                .reason("hook smoke-test returned FAILED")
                .build(),
        )
        .deployment_circuit_breaker(
            ServiceDeploymentCircuitBreaker::builder()
                .status(Monitor::Triggered)
                .failure_count(3)
                .threshold(3)
                .build(),
        )
        .alarms(
            ServiceDeploymentAlarms::builder()
                .status(Monitor::Triggered)
                .triggered_alarm_names("web-5xx")
                .build(),
        )
        .build();
    let got = judge_service_deployment(&blue_green(Awaited::Finished), Some(&failed), NOW);
    assert_eq!(got.outcome, Outcome::Failed);
    assert_eq!(
        got.reason,
        "BLUE_GREEN deployment bg7 ROLLBACK_IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT: lifecycle hook \
         failed; rollback: hook smoke-test returned FAILED; circuit breaker TRIGGERED (3 failed \
         tasks); alarms triggered: web-5xx"
    );
    // Not found: perhaps not readable yet; asked again until the deadline.
    let missing = judge_service_deployment(&blue_green(Awaited::Finished), None, NOW);
    assert_eq!(missing.outcome, Outcome::InProgress);
    assert!(missing.reason.contains("not found"), "{}", missing.reason);
    let late = judge_service_deployment(&blue_green(Awaited::Finished), None, NOW + 601);
    assert_eq!(late.outcome, Outcome::TimedOut);
    assert!(late.reason.contains("not found"), "{}", late.reason);
}

#[test]
fn a_rolling_failure_gains_what_its_service_deployment_adds_and_nothing_it_repeats() {
    let reason =
        "deployment ecs-svc/1111 failed (3 failed tasks): ECS deployment circuit breaker: \
                  tasks failed to start.";
    let repeats = EcsServiceDeployment::builder()
        .service_deployment_arn(SD)
        .status(Status::Stopped)
        .status_reason("ECS deployment circuit breaker: tasks failed to start.")
        .build();
    assert_eq!(rolling_failure_detail(reason, &repeats), None);
    let adds = EcsServiceDeployment::builder()
        .service_deployment_arn(SD)
        .status(Status::RollbackSuccessful)
        .status_reason("ECS deployment circuit breaker: tasks failed to start.")
        .rollback(Rollback::builder().reason("alarm web-5xx in ALARM").build())
        .alarms(
            ServiceDeploymentAlarms::builder()
                .status(Monitor::Triggered)
                .triggered_alarm_names("web-5xx")
                .build(),
        )
        .build();
    assert_eq!(
        rolling_failure_detail(reason, &adds).as_deref(),
        Some(
            "service deployment bg7 ROLLBACK_SUCCESSFUL: rollback: alarm web-5xx in ALARM; alarms \
             triggered: web-5xx"
        )
    );
}
