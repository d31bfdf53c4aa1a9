//! What a restore sends and how the rollback step ends, as tables: which settings of a service go
//! back (task definition, desiredCount, deployment percentages), and which failed restores make
//! the step fail with an error the state machine retries.

use aws_sdk_ecs::types::{DeploymentConfiguration, Service};
use release_core::contract::{Restore, RestoreOutcome, ServiceItem};
use release_core::decide::rollback::{
    failed_restore, restore, retry_error, service_restore, ServiceRestore,
};

const OLD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:4";

/// The release set desiredCount / percentages to `set`; pre-flight found `previous`.
fn item(set: (Option<i32>, Option<i32>, Option<i32>), previous: (i32, i32, i32)) -> ServiceItem {
    ServiceItem {
        id: "prod/web".into(),
        cluster: "prod".into(),
        service: "web".into(),
        previous_task_definition: OLD.into(),
        previous_desired_count: Some(previous.0),
        previous_minimum_healthy_percent: Some(previous.1),
        previous_maximum_percent: Some(previous.2),
        images: Default::default(),
        noop: false,
        desired_count: set.0,
        minimum_healthy_percent: set.1,
        maximum_percent: set.2,
        timeout_seconds: 300,
        new_task_definition: Some(NEW.into()),
        previous_deployment_strategy: None,
        deployment_strategy: None,
        code_deploy: None,
        wave: 0,
        auto_scaling: None,
    }
}

fn now(task_definition: &str, desired: i32, min: i32, max: i32) -> Service {
    Service::builder()
        .service_name("web")
        .status("ACTIVE")
        .task_definition(task_definition)
        .desired_count(desired)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(min)
                .maximum_percent(max)
                .build(),
        )
        .build()
}

fn sends(
    task_definition: bool,
    desired_count: Option<i32>,
    min: Option<i32>,
    max: Option<i32>,
) -> ServiceRestore {
    ServiceRestore {
        task_definition: task_definition.then(|| OLD.to_owned()),
        desired_count,
        minimum_healthy_percent: min,
        maximum_percent: max,
        strategy: None,
    }
}

#[test]
fn which_settings_of_a_service_a_restore_sends() {
    let prev = (2, 100, 200);
    let cases: Vec<(&str, ServiceItem, Service, ServiceRestore)> = vec![
        (
            "image only: the task definition",
            item((None, None, None), prev),
            now(NEW, 2, 100, 200),
            sends(true, None, None, None),
        ),
        (
            "already back: nothing",
            item((None, None, None), prev),
            now(OLD, 2, 100, 200),
            ServiceRestore::default(),
        ),
        (
            "the release scaled it and nothing else did: desiredCount back",
            item((Some(4), None, None), prev),
            now(NEW, 4, 100, 200),
            sends(true, Some(2), None, None),
        ),
        (
            "autoscaling moved it since: desiredCount left alone",
            item((Some(4), None, None), prev),
            now(NEW, 6, 100, 200),
            sends(true, None, None, None),
        ),
        (
            "the release set the count it already had: nothing to restore",
            item((Some(2), None, None), prev),
            now(NEW, 2, 100, 200),
            sends(true, None, None, None),
        ),
        (
            "percentages the release changed go back",
            item((None, Some(50), Some(150)), prev),
            now(NEW, 2, 50, 150),
            sends(true, None, Some(100), Some(200)),
        ),
        (
            "only the percentage the release changed",
            item((None, None, Some(150)), prev),
            now(NEW, 2, 100, 150),
            sends(true, None, None, Some(200)),
        ),
        (
            "task definition back already (a first attempt), the settings not yet",
            item((Some(4), Some(50), None), prev),
            now(OLD, 4, 50, 200),
            sends(false, Some(2), Some(100), None),
        ),
        (
            "everything back already",
            item((Some(4), Some(50), Some(150)), prev),
            now(OLD, 2, 100, 200),
            ServiceRestore::default(),
        ),
        (
            "family:revision and the ARN name the same revision",
            item((None, None, None), prev),
            now("web:3", 2, 100, 200),
            ServiceRestore::default(),
        ),
    ];
    for (name, item, service, expected) in cases {
        assert_eq!(service_restore(&item, &service), expected, "{name}");
    }
}

#[test]
fn a_plan_without_the_previous_settings_restores_the_task_definition_only() {
    let mut old_plan = item((Some(4), Some(50), Some(150)), (2, 100, 200));
    old_plan.previous_desired_count = None;
    old_plan.previous_minimum_healthy_percent = None;
    old_plan.previous_maximum_percent = None;
    assert_eq!(
        service_restore(&old_plan, &now(NEW, 4, 50, 150)),
        sends(true, None, None, None)
    );
}

fn failed(id: &str, error: &str) -> Restore {
    failed_restore(id.into(), OLD, error, format!("{id}: {error}"))
}

fn done(id: &str, outcome: RestoreOutcome) -> Restore {
    restore(id.into(), outcome, OLD, None)
}

#[test]
fn the_step_is_retried_only_when_every_failed_restore_may_succeed_on_a_retry() {
    use RestoreOutcome::{AlreadyCurrent, Restored, Skipped};
    let cases: Vec<(&str, Vec<Restore>, Option<&str>)> = vec![
        (
            "nothing failed",
            vec![
                done("a", Restored),
                done("b", AlreadyCurrent),
                done("c", Skipped),
            ],
            None,
        ),
        (
            "one throttled",
            vec![done("a", Restored), failed("b", "Throttled")],
            Some("Throttled"),
        ),
        (
            "AWS unavailable",
            vec![failed("a", "AwsUnavailable")],
            Some("AwsUnavailable"),
        ),
        (
            "throttled and unavailable: retried",
            vec![failed("a", "Throttled"), failed("b", "AwsUnavailable")],
            Some("Throttled"),
        ),
        (
            "one permanent failure among retryable ones: not retried",
            vec![failed("a", "Throttled"), failed("b", "Internal")],
            None,
        ),
        ("service gone", vec![failed("a", "ServiceNotFound")], None),
        ("target gone", vec![failed("a", "TargetsRejected")], None),
        ("access denied", vec![failed("a", "AccessDenied")], None),
        (
            "a failure without an error name (an older record)",
            vec![restore(
                "a".into(),
                RestoreOutcome::Failed,
                OLD,
                Some("why".into()),
            )],
            None,
        ),
    ];
    for (name, restores, expected) in cases {
        let got = retry_error(&restores);
        assert_eq!(got.as_ref().map(|e| e.name()), expected, "{name}");
        if let Some(e) = got {
            let text = e.to_string();
            for r in restores
                .iter()
                .filter(|r| r.outcome == RestoreOutcome::Failed)
            {
                assert!(text.contains(&r.id), "{name}: {text}");
            }
        }
    }
}

#[test]
fn whose_revision_an_item_runs() {
    use release_core::decide::rollback::{runs_by_record, runs_by_tags, Runs};
    let other = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:9";
    let cases: Vec<(&str, &str, Option<&str>, Option<Runs>)> = vec![
        (
            "the previous revision",
            OLD,
            Some(NEW),
            Some(Runs::Previous),
        ),
        (
            "the previous one by family:revision",
            "web:3",
            Some(NEW),
            Some(Runs::Previous),
        ),
        ("this release's", NEW, Some(NEW), Some(Runs::Ours)),
        (
            "this release's by family:revision",
            "web:4",
            Some(NEW),
            Some(Runs::Ours),
        ),
        ("another revision: its tags decide", other, Some(NEW), None),
        ("release revision unknown: its tags decide", NEW, None, None),
        (
            "the previous one, release revision unknown",
            OLD,
            None,
            Some(Runs::Previous),
        ),
    ];
    for (name, now, ours, expected) in cases {
        assert_eq!(runs_by_record(now, OLD, ours), expected, "{name}");
    }

    let tag = |key: &str, value: &str| {
        aws_sdk_ecs::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
    };
    let by_tags: Vec<(&str, Vec<aws_sdk_ecs::types::Tag>, Runs)> = vec![
        (
            "tagged by this release",
            vec![tag("convoy:release", "r1")],
            Runs::Ours,
        ),
        (
            "tagged by another release",
            vec![tag("team", "x"), tag("convoy:release", "r2")],
            Runs::Other {
                registered_by: Some("r2".into()),
            },
        ),
        (
            "registered by hand",
            vec![tag("team", "x")],
            Runs::Other {
                registered_by: None,
            },
        ),
    ];
    for (name, tags, expected) in by_tags {
        assert_eq!(runs_by_tags(&tags, "r1"), expected, "{name}");
    }
}

#[test]
fn what_a_left_alone_or_forced_item_says() {
    use release_core::decide::rollback::{forced_reason, left_alone_reason};
    let hotfix = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:9";
    assert_eq!(
        left_alone_reason(hotfix, Some("ecs-svc/77"), None, Some(NEW)),
        "now runs web:9 from deployment ecs-svc/77 (not registered by a release), \
         not this release's web:4: left alone"
    );
    assert_eq!(
        left_alone_reason(hotfix, None, Some("r2"), None),
        "now runs web:9 (registered by release r2), not a revision of this release: left alone"
    );
    assert_eq!(
        forced_reason(hotfix, Some("ecs-svc/77"), Some("r2"), Some(NEW)),
        "forced: it ran web:9 from deployment ecs-svc/77 (registered by release r2), \
         not this release's web:4"
    );
}
