//! The release report and the choice of revisions to clean up, as tables.

use release_core::contract::{
    CaughtError, DeploymentStatus, ItemKind, ItemOutcome, ItemResult, Outcome, Plan, ReleaseMeta,
    ReleaseOutcome, ReleaseRecords, RestoreOutcome, RollbackOutput, RollbackPolicy, RuleItem,
    RuleTaskTarget, RuleUpdate, ServiceDeployment, ServiceItem, Settings, StabilityOutput,
    StepFailures, TargetChange,
};
use release_core::decide::report::{build, referenced_revisions, Observed};
use release_core::decide::rollback::restore;

fn td(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

fn service(name: &str, noop: bool) -> ServiceItem {
    ServiceItem {
        id: format!("prod/{name}"),
        cluster: "prod".into(),
        service: name.into(),
        previous_task_definition: td(name, 1),
        previous_desired_count: None,
        previous_minimum_healthy_percent: None,
        previous_maximum_percent: None,
        images: Default::default(),
        noop,
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        timeout_seconds: 600,
        new_task_definition: None,
        previous_deployment_strategy: None,
        deployment_strategy: None,
        code_deploy: None,
        wave: 0,
        auto_scaling: None,
    }
}

fn plan(policy: RollbackPolicy) -> Plan {
    Plan {
        release: ReleaseMeta {
            id: "r1".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings {
            rollback: policy,
            keep_revisions: 2,
            ..Settings::default()
        },
        services: vec![
            service("web", false),
            service("api", false),
            service("cron", true),
        ],
        tasks: vec![RuleItem {
            id: "default/nightly".into(),
            rule: "nightly".into(),
            event_bus: "default".into(),
            noop: false,
            targets: vec![RuleTaskTarget {
                target_id: "report".into(),
                previous_task_definition: td("report", 4),
                images: Default::default(),
                noop: false,
                new_task_definition: None,
            }],
            wave: 0,
        }],
        changed_services: 2,
        changed_tasks: 1,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    }
}

fn deployment(name: &str) -> ServiceDeployment {
    ServiceDeployment {
        id: format!("prod/{name}"),
        cluster: "prod".into(),
        service: name.into(),
        previous_task_definition: td(name, 1),
        new_task_definition: td(name, 2),
        deployment_id: format!("ecs-svc/{name}"),
        deadline: 0,
        strategy: Default::default(),
        service_deployment_arn: None,
        awaits: Default::default(),
        code_deploy: None,
    }
}

fn results() -> Vec<ItemResult> {
    let deployed = |name: &str| ItemResult {
        id: format!("prod/{name}"),
        deployment: Some(deployment(name)),
        rule: None,
        error: None,
        job: None,
        schedule: None,
        kind: None,
    };
    vec![
        deployed("web"),
        deployed("api"),
        ItemResult {
            id: "prod/cron".into(),
            deployment: None,
            rule: None,
            error: None,
            job: None,
            schedule: None,
            kind: None,
        },
        ItemResult {
            id: "default/nightly".into(),
            deployment: None,
            rule: Some(RuleUpdate {
                id: "default/nightly".into(),
                rule: "nightly".into(),
                event_bus: "default".into(),
                targets: vec![TargetChange {
                    target_id: "report".into(),
                    previous_task_definition: td("report", 4),
                    new_task_definition: td("report", 5),
                }],
            }),
            error: None,
            job: None,
            schedule: None,
            kind: None,
        },
    ]
}

fn verdicts(web: Outcome, api: Outcome) -> StabilityOutput {
    let status = |name: &str, outcome| DeploymentStatus {
        deployment: deployment(name),
        outcome,
        reason: Some(format!("{name} {outcome:?}")),
        stopped_reasons: if outcome == Outcome::Failed {
            vec!["Essential container in task exited".into()]
        } else {
            Vec::new()
        },
        stage: None,
    };
    let items = vec![status("web", web), status("api", api)];
    release_core::decide::verdict::summarize(items, Vec::new())
}

fn restored(ids: &[(&str, RestoreOutcome)]) -> RollbackOutput {
    RollbackOutput {
        restores: ids
            .iter()
            .map(|(id, outcome)| restore((*id).into(), *outcome, "", None))
            .collect(),
        items: Vec::new(),
        pending: 0,
        failed: 0,
        wave: 0,
    }
}

type Line = (&'static str, ItemOutcome, String);
/// Name, input, release outcome, and (outcome, final task definition) per report line.
type Case = (
    &'static str,
    ReleaseRecords,
    ReleaseOutcome,
    [(ItemOutcome, String); 4],
);

fn lines(input: &ReleaseRecords) -> (ReleaseOutcome, Vec<Line>) {
    let report = build(input, &Observed::new());
    let ids = [
        "prod/web",
        "prod/api",
        "prod/cron",
        "default/nightly/report",
    ];
    assert_eq!(
        report
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        ids
    );
    let lines = report
        .items
        .iter()
        .zip(ids)
        .map(|(i, id)| (id, i.outcome, i.final_task_definition.clone()))
        .collect();
    (report.outcome, lines)
}

#[test]
fn report_for_each_way_a_release_ends() {
    use ItemOutcome::*;
    use RestoreOutcome::{AlreadyCurrent, LeftAlone, Restored, Skipped};
    let all_restored = restored(&[
        ("prod/web", Restored),
        ("prod/api", AlreadyCurrent),
        ("default/nightly/report", Restored),
    ]);
    let cases: Vec<Case> = vec![
        (
            "everything deployed",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Succeeded)),
                rollback: None,
                rollback_stability: None,
                failures: Default::default(),
            },
            ReleaseOutcome::Succeeded,
            [
                (Deployed, td("web", 2)),
                (Deployed, td("api", 2)),
                (Unchanged, td("cron", 1)),
                (Deployed, td("report", 5)),
            ],
        ),
        (
            "api failed, policy all restored everything",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
                rollback: Some(all_restored.clone()),
                rollback_stability: Some(verdicts(Outcome::Succeeded, Outcome::Succeeded)),
                failures: Default::default(),
            },
            ReleaseOutcome::RolledBack,
            [
                (RolledBack, td("web", 1)),
                (Failed, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (RolledBack, td("report", 4)),
            ],
        ),
        (
            "api timed out, policy failed restored only api",
            ReleaseRecords {
                plan: plan(RollbackPolicy::Failed),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::TimedOut)),
                rollback: Some(restored(&[
                    ("prod/web", Skipped),
                    ("prod/api", Restored),
                    ("default/nightly/report", Skipped),
                ])),
                rollback_stability: None,
                failures: Default::default(),
            },
            ReleaseOutcome::RolledBack,
            [
                (Deployed, td("web", 2)),
                (TimedOut, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (Deployed, td("report", 5)),
            ],
        ),
        (
            "api superseded, policy none",
            ReleaseRecords {
                plan: plan(RollbackPolicy::None),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Superseded)),
                rollback: Some(restored(&[
                    ("prod/web", Skipped),
                    ("prod/api", Skipped),
                    ("default/nightly/report", Skipped),
                ])),
                rollback_stability: None,
                failures: Default::default(),
            },
            ReleaseOutcome::Failed,
            [
                (Deployed, td("web", 2)),
                (Superseded, td("api", 2)),
                (Unchanged, td("cron", 1)),
                (Deployed, td("report", 5)),
            ],
        ),
        (
            "rule update failed, services never awaited, everything restored",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: {
                    let mut r = results();
                    r[3] = ItemResult {
                        id: "default/nightly".into(),
                        deployment: None,
                        rule: None,
                        error: Some(CaughtError {
                            error: "TargetsRejected".into(),
                            cause: r#"{"errorType":"TargetsRejected","errorMessage":"targets rejected: report: bad"}"#.into(),
                        }),
                        job: None,
                        schedule: None,
                        kind: None,
                    };
                    r
                },
                stability: Some(verdicts(Outcome::InProgress, Outcome::InProgress)),
                rollback: Some(all_restored.clone()),
                rollback_stability: Some(verdicts(Outcome::Succeeded, Outcome::Succeeded)),
                failures: Default::default(),
            },
            ReleaseOutcome::RolledBack,
            [
                (RolledBack, td("web", 1)),
                (RolledBack, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (Failed, td("report", 4)),
            ],
        ),
        (
            "api hotfixed during the release: superseded, left alone, the rest undone",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Superseded)),
                rollback: Some({
                    let mut out = restored(&[
                        ("prod/web", Restored),
                        ("prod/api", LeftAlone),
                        ("default/nightly/report", Restored),
                    ]);
                    out.restores[1].running = Some(td("api", 7));
                    out
                }),
                rollback_stability: Some(verdicts(Outcome::Succeeded, Outcome::Succeeded)),
                failures: Default::default(),
            },
            ReleaseOutcome::RolledBack,
            [
                (RolledBack, td("web", 1)),
                (Superseded, td("api", 7)),
                (Unchanged, td("cron", 1)),
                (RolledBack, td("report", 4)),
            ],
        ),
        (
            "a restore failed",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
                rollback: Some(restored(&[
                    ("prod/web", RestoreOutcome::Failed),
                    ("prod/api", Restored),
                    ("default/nightly/report", Restored),
                ])),
                rollback_stability: None,
                failures: Default::default(),
            },
            ReleaseOutcome::Failed,
            [
                // Deployed, then left on its new revision while the release is undone.
                (Failed, td("web", 2)),
                (Failed, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (RolledBack, td("report", 4)),
            ],
        ),
        (
            "the rollback's own rollout failed",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
                rollback: Some(all_restored.clone()),
                rollback_stability: Some(verdicts(Outcome::Failed, Outcome::Succeeded)),
                failures: Default::default(),
            },
            ReleaseOutcome::Failed,
            [
                (RolledBack, td("web", 1)),
                (Failed, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (RolledBack, td("report", 4)),
            ],
        ),
        (
            "release stopped before the Map states ran",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: Vec::new(),
                stability: None,
                rollback: None,
                rollback_stability: None,
                failures: Default::default(),
            },
            ReleaseOutcome::Failed,
            [
                (NotStarted, td("web", 1)),
                (NotStarted, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (NotStarted, td("report", 4)),
            ],
        ),
        (
            "the rollback step failed as a whole",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
                rollback: None,
                rollback_stability: None,
                failures: StepFailures {
                    rollback: Some(caught("RollbackFailed", "prod/web not restored")),
                    ..Default::default()
                },
            },
            ReleaseOutcome::Failed,
            [
                (Deployed, td("web", 2)),
                (Failed, td("api", 2)),
                (Unchanged, td("cron", 1)),
                (Deployed, td("report", 5)),
            ],
        ),
        (
            "restores issued but the rollback rollouts were never confirmed",
            ReleaseRecords {
                plan: plan(RollbackPolicy::All),
                results: results(),
                stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
                rollback: Some(all_restored.clone()),
                rollback_stability: None,
                failures: StepFailures {
                    await_rollback: Some(caught("AwsUnavailable", "DescribeServices: 503")),
                    ..Default::default()
                },
            },
            ReleaseOutcome::Failed,
            [
                (RolledBack, td("web", 1)),
                (Failed, td("api", 1)),
                (Unchanged, td("cron", 1)),
                (RolledBack, td("report", 4)),
            ],
        ),
    ];
    for (name, input, outcome, expected) in cases {
        let (got_outcome, got) = lines(&input);
        assert_eq!(got_outcome, outcome, "{name}");
        let got: Vec<_> = got.into_iter().map(|(_, o, f)| (o, f)).collect();
        assert_eq!(got, expected.to_vec(), "{name}");
    }
}

#[test]
fn report_lines_carry_reasons_and_kinds() {
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::All),
        results: results(),
        stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
        rollback: Some(restored(&[
            ("prod/web", RestoreOutcome::Restored),
            ("prod/api", RestoreOutcome::Restored),
            ("default/nightly/report", RestoreOutcome::Restored),
        ])),
        rollback_stability: None,
        failures: Default::default(),
    };
    let report = build(&input, &Observed::new());
    let api = &report.items[1];
    assert_eq!(api.kind, ItemKind::Service);
    assert_eq!(
        api.new_task_definition.as_deref(),
        Some(td("api", 2).as_str())
    );
    assert_eq!(
        api.reason.as_deref(),
        Some("api Failed; restored to the previous task definition")
    );
    assert_eq!(api.stopped_reasons, ["Essential container in task exited"]);
    assert_eq!(report.items[3].kind, ItemKind::RuleTarget);
    assert_eq!(
        report.items[0].reason.as_deref(),
        Some("restored after another item failed")
    );
}

#[test]
fn a_restored_rollout_never_confirmed_says_so() {
    // The release stopped (a crash, an operator) while both rollouts were in progress.
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::All),
        results: results(),
        stability: Some(verdicts(Outcome::InProgress, Outcome::InProgress)),
        rollback: Some(restored(&[
            ("prod/web", RestoreOutcome::Restored),
            ("prod/api", RestoreOutcome::Restored),
            ("default/nightly/report", RestoreOutcome::Restored),
        ])),
        rollback_stability: None,
        failures: Default::default(),
    };
    let report = build(&input, &Observed::new());
    assert_eq!(report.items[0].outcome, ItemOutcome::RolledBack);
    assert_eq!(
        report.items[0].reason.as_deref(),
        Some("restored: the release stopped before its rollout was confirmed")
    );
    // The rule's targets were updated, then restored: nothing failed, the release was stopped.
    assert_eq!(report.items[3].outcome, ItemOutcome::RolledBack);
    assert_eq!(
        report.items[3].reason.as_deref(),
        Some("restored because the release did not finish")
    );
}

#[test]
fn observed_task_definitions_win_over_inference() {
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::None),
        results: results(),
        stability: Some(verdicts(Outcome::Succeeded, Outcome::Failed)),
        rollback: None,
        rollback_stability: None,
        failures: Default::default(),
    };
    // ECS's circuit breaker put api back on revision 1 by itself.
    let observed: Observed = [("prod/api".to_owned(), td("api", 1))].into();
    let report = build(&input, &observed);
    assert_eq!(report.items[1].final_task_definition, td("api", 1));
    assert_eq!(report.items[0].final_task_definition, td("web", 2));
}

#[test]
fn caught_errors_show_the_function_message() {
    let mut r = results();
    r[0] = ItemResult {
        id: "prod/web".into(),
        deployment: None,
        rule: None,
        error: Some(CaughtError {
            error: "TaskDefinitionRejected".into(),
            cause: r#"{"errorType":"TaskDefinitionRejected","errorMessage":"task definition rejected: memory"}"#
                .into(),
        }),
        job: None,
        schedule: None,
        kind: None,
    };
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::None),
        results: r,
        stability: None,
        rollback: None,
        rollback_stability: None,
        failures: Default::default(),
    };
    let report = build(&input, &Observed::new());
    assert_eq!(report.items[0].outcome, ItemOutcome::Failed);
    assert_eq!(
        report.items[0].reason.as_deref(),
        Some("TaskDefinitionRejected: task definition rejected: memory")
    );
    assert_eq!(report.outcome, ReleaseOutcome::Failed);
}

#[test]
fn referenced_revisions_cover_previous_and_new_of_every_item() {
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::All),
        results: results(),
        stability: None,
        rollback: None,
        rollback_stability: None,
        failures: Default::default(),
    };
    let referenced = referenced_revisions(&input);
    for key in [
        "web:1", "web:2", "api:1", "api:2", "cron:1", "report:4", "report:5",
    ] {
        assert!(referenced.contains(key), "{key} in {referenced:?}");
    }
    assert_eq!(referenced.len(), 7);
}

fn caught(error: &str, message: &str) -> CaughtError {
    CaughtError {
        error: error.into(),
        cause: serde_json::json!({"errorType": error, "errorMessage": message}).to_string(),
    }
}

#[test]
fn steps_that_failed_as_a_whole_are_release_problems() {
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::All),
        results: results(),
        stability: Some(verdicts(Outcome::Succeeded, Outcome::InProgress)),
        rollback: None,
        rollback_stability: None,
        failures: StepFailures {
            deploy: Some(caught("States.Runtime", "the Map failed")),
            await_release: Some(caught("Throttled", "DescribeServices: Rate exceeded")),
            rollback: Some(caught("RollbackFailed", "prod/web not restored")),
            await_rollback: None,
        },
    };
    let report = build(&input, &Observed::new());
    assert_eq!(report.outcome, ReleaseOutcome::Failed);
    assert_eq!(
        report.problems,
        [
            "Deploy failed: States.Runtime: the Map failed",
            "AwaitRelease failed: Throttled: DescribeServices: Rate exceeded",
            "RollbackRelease failed: RollbackFailed: prod/web not restored",
        ]
    );
    let json = serde_json::to_value(&report).expect("report serializes");
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(3));
}

/// Each item says what the rollback did to it: restored (with the settings put back), left alone
/// and why, or not restored and why (with the error name).
#[test]
fn report_lines_say_what_the_rollback_did_per_item() {
    use release_core::decide::rollback::failed_restore;
    let mut web = restore("prod/web".into(), RestoreOutcome::Restored, "", None);
    web.desired_count = Some(2);
    web.maximum_percent = Some(200);
    let input = ReleaseRecords {
        plan: plan(RollbackPolicy::Failed),
        results: results(),
        stability: Some(verdicts(Outcome::Failed, Outcome::Succeeded)),
        rollback: Some(RollbackOutput {
            restores: vec![
                web,
                restore(
                    "prod/api".into(),
                    RestoreOutcome::Skipped,
                    "",
                    Some("rollback policy `failed`: this item did not fail".into()),
                ),
                failed_restore(
                    "default/nightly/report".into(),
                    "",
                    "TargetsRejected",
                    "target is no longer on the rule".into(),
                ),
            ],
            items: Vec::new(),
            pending: 0,
            failed: 0,
            wave: 0,
        }),
        rollback_stability: None,
        failures: Default::default(),
    };
    let report = build(&input, &Observed::new());
    let reason = |id: &str| {
        report
            .items
            .iter()
            .find(|i| i.id == id)
            .and_then(|i| i.reason.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("prod/web").ends_with(
            "restored (desiredCount 2, maximumPercent 200) to the previous task definition"
        ),
        "{}",
        reason("prod/web")
    );
    assert!(
        reason("prod/api").ends_with(
            "left alone by the rollback: rollback policy `failed`: this item did not fail"
        ),
        "{}",
        reason("prod/api")
    );
    assert_eq!(
        reason("default/nightly/report"),
        "deployed, then not restored; restore failed: TargetsRejected: target is no longer on the rule"
    );
    assert_eq!(report.outcome, ReleaseOutcome::Failed);
}

#[test]
fn items_of_waves_that_never_started_say_so_with_their_wave() {
    // web in wave 0 failed its rollout; api (wave 1) and the nightly rule (wave 2) never started.
    let mut plan = plan(RollbackPolicy::None);
    plan.services[1].wave = 1;
    plan.tasks[0].wave = 2;
    let results: Vec<ItemResult> = results()
        .into_iter()
        .filter(|r| r.id == "prod/web" || r.id == "prod/cron")
        .collect();
    let mut input = ReleaseRecords::new(plan, results);
    input.stability = Some(verdicts(Outcome::Failed, Outcome::InProgress));
    let report = build(&input, &Observed::new());
    let lines: Vec<(&str, u32, ItemOutcome, Option<&str>)> = report
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.wave, i.outcome, i.reason.as_deref()))
        .collect();
    assert_eq!(
        lines,
        [
            ("prod/web", 0, ItemOutcome::Failed, Some("web Failed")),
            (
                "prod/api",
                1,
                ItemOutcome::NotStarted,
                Some("wave 2 never started: the release stopped in wave 1")
            ),
            ("prod/cron", 0, ItemOutcome::Unchanged, None),
            (
                "default/nightly/report",
                2,
                ItemOutcome::NotStarted,
                Some("wave 3 never started: the release stopped in wave 1")
            ),
        ]
    );
    let json = serde_json::to_value(&report.items[1]).unwrap();
    assert_eq!(json["wave"], 1);
    assert!(serde_json::to_value(&report.items[0])
        .unwrap()
        .get("wave")
        .is_none());
}
