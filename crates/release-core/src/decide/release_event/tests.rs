use serde_json::json;

use super::*;
use crate::contract::examples::{app_image, plan, service_item};
use crate::contract::{ItemKind, ReportItem};
use crate::error::Problem;

const ARN: &str = "arn:aws:states:eu-west-1:123456789012:execution:convoy-release:r-1";

fn item(id: &str, wave: u32, outcome: ItemOutcome, reason: Option<&str>) -> ReportItem {
    ReportItem {
        id: id.into(),
        kind: ItemKind::Service,
        wave,
        outcome,
        previous_task_definition: "web:1".into(),
        new_task_definition: Some("web:2".into()),
        final_task_definition: "web:1".into(),
        reason: reason.map(str::to_owned),
        stopped_reasons: Vec::new(),
    }
}

fn report(outcome: ReleaseOutcome, items: Vec<ReportItem>) -> ReleaseReport {
    ReleaseReport {
        release_id: "r".into(),
        outcome,
        items,
        problems: Vec::new(),
        omitted_items: 0,
        full_report: None,
        cleanup: None,
        auto_scaling: None,
    }
}

const TIMING: Timing = Timing {
    started_at: Some(1_764_480_000_000),
    now: 1_764_480_095_500,
};

#[test]
fn rfc3339_round_trips_and_reads_what_step_functions_writes() {
    let cases: &[(&str, Option<i64>)] = &[
        ("1970-01-01T00:00:00Z", Some(0)),
        ("2026-11-30T06:01:02.345Z", Some(1_796_018_462_345)),
        // moto writes Python's isoformat: microseconds and an offset.
        ("2026-11-30T06:01:02.345678+00:00", Some(1_796_018_462_345)),
        ("2026-11-30T08:01:02.3+02:00", Some(1_796_018_462_300)),
        ("2024-02-29T23:59:59Z", Some(1_709_251_199_000)),
        ("1969-12-31T23:59:59.999Z", Some(-1)),
        ("2026-11-30 06:01:02Z", Some(1_796_018_462_000)),
        ("2026-11-30T06:01:02", None),
        ("2026-13-30T06:01:02Z", None),
        ("2026-11-30T24:01:02Z", None),
        ("2026-11-30T06:01:02.Z", None),
        ("2026-11-30T06:01:02Zjunk", None),
        ("2026-11-30T06:01:02+0200", None),
        ("yesterday", None),
        ("", None),
    ];
    for (text, ms) in cases {
        assert_eq!(parse_rfc3339(text), *ms, "{text}");
    }
    for ms in [0, -1, 1_796_018_462_345, 951_782_400_000, 4_102_444_800_000] {
        assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms), "{}", rfc3339(ms));
    }
    assert_eq!(rfc3339(1_796_018_462_345), "2026-11-30T06:01:02.345Z");
}

#[test]
fn console_url_per_partition_and_none_for_what_is_not_an_execution_arn() {
    let cases: &[(&str, Option<&str>)] = &[
        (ARN, Some("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:convoy-release:r-1")),
        ("arn:aws-cn:states:cn-north-1:1:execution:m:e", Some("https://cn-north-1.console.amazonaws.cn/states/home?region=cn-north-1#/v2/executions/details/arn:aws-cn:states:cn-north-1:1:execution:m:e")),
        ("arn:aws-us-gov:states:us-gov-west-1:1:execution:m:e", Some("https://us-gov-west-1.console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#/v2/executions/details/arn:aws-us-gov:states:us-gov-west-1:1:execution:m:e")),
        ("arn:aws-iso:states:us-iso-east-1:1:execution:m:e", None),
        ("arn:aws:lambda:us-east-1:1:function:f", None),
        ("arn:aws:states::1:execution:m:e", None),
        ("r-1", None),
    ];
    for (arn, url) in cases {
        assert_eq!(console_url(arn).as_deref(), *url, "{arn}");
    }
}

#[test]
fn finished_counts_every_item_and_lists_causes_first_wave_first() {
    let mut plan = plan(
        vec![service_item("prod", "web", "web:1", app_image("web:2"))],
        Vec::new(),
    );
    plan.release.description = Some("api v2".into());
    plan.release.commit = Some("0a1b2c".into());
    let mut late = item("prod/worker", 2, ItemOutcome::TimedOut, Some("timed out"));
    late.stopped_reasons = (0..8).map(|i| format!("task {i} stopped")).collect();
    let report = report(
        ReleaseOutcome::RolledBack,
        vec![
            item("prod/web", 0, ItemOutcome::RolledBack, Some("restored")),
            late,
            item("prod/api", 1, ItemOutcome::Failed, Some("circuit breaker")),
            item("prod/cron", 0, ItemOutcome::Unchanged, None),
        ],
    );
    let detail = finished(
        &plan,
        &report,
        ARN,
        Some("s3://b/report.json".into()),
        TIMING,
    );
    let value = serde_json::to_value(&detail).expect("json");
    assert_eq!(
        value,
        json!({
            "schemaVersion": 1,
            "releaseId": "r",
            "description": "api v2",
            "source": {"manifest": "deployment.yaml", "commit": "0a1b2c"},
            "executionArn": ARN,
            "consoleUrl": console_url(ARN),
            "outcome": "ROLLED_BACK",
            "rollbackPolicy": "all",
            "startedAt": "2025-11-30T05:20:00.000Z",
            "at": "2025-11-30T05:21:35.500Z",
            "durationSeconds": 95,
            "counts": {"RolledBack": 1, "TimedOut": 1, "Failed": 1, "Unchanged": 1},
            "failures": [
                {"id": "prod/api", "kind": "service", "wave": 1, "outcome": "Failed",
                 "reason": "circuit breaker"},
                {"id": "prod/worker", "kind": "service", "wave": 2, "outcome": "TimedOut",
                 "reason": "timed out",
                 "stoppedReasons": ["task 0 stopped", "task 1 stopped", "task 2 stopped",
                                    "task 3 stopped", "task 4 stopped"]},
            ],
            "fullReport": "s3://b/report.json",
        })
    );
}

#[test]
fn finished_lists_50_failures_and_counts_the_rest() {
    let plan = plan(Vec::new(), Vec::new());
    let items = (0..120)
        .map(|i| item(&format!("prod/s{i}"), 0, ItemOutcome::Failed, Some("no")))
        .collect();
    let detail = finished(
        &plan,
        &report(ReleaseOutcome::Failed, items),
        ARN,
        None,
        TIMING,
    );
    assert_eq!(detail.failures.len(), MAX_EVENT_FAILURES);
    assert_eq!(detail.omitted_items, 70);
    assert_eq!(detail.counts.get(&ItemOutcome::Failed), Some(&120));
    assert_eq!(detail.outcome, Some(EventOutcome::Failed));
}

#[test]
fn a_hostile_report_still_fits_put_events() {
    // Ids, reasons and problems far longer than anything real: every field is cut, and what
    // still does not fit is dropped and counted.
    let long = "x".repeat(100_000);
    let plan = plan(Vec::new(), Vec::new());
    let items = (0..200)
        .map(|i| {
            let mut it = item(&format!("{i}{long}"), 0, ItemOutcome::Failed, Some(&long));
            it.stopped_reasons = vec![long.clone(); 50];
            it
        })
        .collect();
    let mut report = report(ReleaseOutcome::Failed, items);
    report.problems = vec![long.clone(); 500];
    let detail = finished(&plan, &report, ARN, None, TIMING);
    let size = serde_json::to_vec(&detail).expect("json").len();
    assert!(size <= EVENT_BUDGET, "{size}");
    assert_eq!(
        count(detail.failures.iter()) + detail.omitted_items,
        200,
        "every failure is listed or counted"
    );
    assert!(detail.problems.len() <= MAX_PROBLEMS + 1);
}

#[test]
fn started_counts_the_plan() {
    let mut web = service_item("prod", "web", "web:1", app_image("web:2"));
    web.wave = 1;
    let mut same = service_item("prod", "api", "api:1", app_image("api:1"));
    same.noop = true;
    let migrate = service_item("prod", "worker", "worker:1", app_image("worker:2"));
    let plan = plan(vec![web, same, migrate], Vec::new());
    let detail = started(&plan, ARN, TIMING);
    assert_eq!(
        detail.planned,
        Some(PlannedCounts {
            changed: 2,
            unchanged: 1,
            waves: 2
        })
    );
    assert_eq!(
        (detail.outcome, detail.duration_seconds),
        (None, None),
        "the Started event has no outcome"
    );
}

#[test]
fn rejected_names_the_error_and_every_problem() {
    let error = Error::PreflightFailed(vec![
        Problem {
            file: "deployment.yaml".into(),
            item: "services[0] (prod/web)".into(),
            field: "clusterName".into(),
            message: "cluster prod does not exist".into(),
        },
        Problem {
            file: "deployment.yaml".into(),
            item: "tasks[0] (nightly)".into(),
            field: "cwRuleName".into(),
            message: "rule nightly does not exist".into(),
        },
    ]);
    let plan = plan(Vec::new(), Vec::new());
    let who = Rejected::Release {
        release: &plan.release,
        policy: RollbackPolicy::Failed,
    };
    let detail = rejected(who, ARN, error.name(), &error_problems(&error), TIMING);
    assert_eq!(detail.outcome, Some(EventOutcome::Rejected));
    assert_eq!(detail.error.as_deref(), Some("PreflightFailed"));
    assert_eq!(detail.rollback_policy, Some(RollbackPolicy::Failed));
    assert_eq!(
        detail.problems,
        [
            "deployment.yaml: services[0] (prod/web): field `clusterName`: cluster prod does not exist",
            "deployment.yaml: tasks[0] (nightly): field `cwRuleName`: rule nightly does not exist",
        ]
    );

    // An input that could not be read: only the execution's name stands for the release.
    let who = Rejected::Unread { release_id: "e-7" };
    let detail = rejected(who, ARN, "StepInputInvalid", &[], TIMING);
    assert_eq!(
        (
            detail.release_id.as_str(),
            detail.source,
            detail.rollback_policy
        ),
        ("e-7", None, None)
    );
}

#[test]
fn the_watchdog_announces_what_plan_release_could_not() {
    use ExecutionStatus::*;
    let cases: &[(ExecutionStatus, Option<&str>, bool)] = &[
        (Failed, Some("PreflightFailed"), true),
        (Failed, Some("ReleaseLocked"), true),
        (Failed, Some("ManifestInvalid"), true),
        (Failed, Some("Internal"), true),
        // Retried by the state machine until it gave up: plan-release never called it final.
        (Failed, Some("Throttled"), false),
        (Failed, Some("AwsUnavailable"), false),
        // The function never answered.
        (Failed, Some("States.Timeout"), false),
        (Failed, Some("Lambda.Unknown"), false),
        (Failed, None, false),
        (TimedOut, None, false),
        (Aborted, None, false),
        (Aborted, Some("PreflightFailed"), false),
    ];
    for (status, error, announced) in cases {
        assert_eq!(
            rejection_announced(*status, *error),
            *announced,
            "{status:?} {error:?}"
        );
    }
}
