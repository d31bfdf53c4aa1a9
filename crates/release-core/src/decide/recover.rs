//! What the watchdog does with an execution that ended outside the state machine: whether the
//! rollback policy applies, what the rollback may touch, and what the report says about the ending.
//!
//! The rollback itself is [`crate::decide::rollback::select`] and the rollback step, fed with the
//! release's records as the watchdog sees them: a rollout the execution never saw end is a failure,
//! and an item whose lock another release holds now is left alone.

use std::collections::BTreeMap;

use crate::contract::{
    count, DeploymentStatus, ExecutionStatus, Lock, Outcome, PlanItemKind, ReleaseRecords, Restore,
    RestoreOutcome, RollbackPolicy, StabilityOutput,
};
use crate::decide::lock::lock_item;
use crate::decide::report::cut_reason;
use crate::decide::rollback::{restore, target_item_id};

/// Why a rollout counts as failed when the execution never saw it end.
pub const UNCONFIRMED: &str = "the execution ended before this rollout was confirmed";

/// The endings the watchdog finishes: an operator's StopExecution, the execution timeout, and a
/// failure (a normal failed release ends FAILED too, after its report: then only locks are left).
pub fn acts_on(status: ExecutionStatus) -> bool {
    matches!(
        status,
        ExecutionStatus::Aborted | ExecutionStatus::TimedOut | ExecutionStatus::Failed
    )
}

/// Whether the rollback policy applies: something did not succeed, or a rollback had begun. A
/// release whose every changed item had succeeded (it ended while finishing) is not undone.
pub fn needs_rollback(records: &ReleaseRecords) -> bool {
    if records.rollback.is_some() {
        return true;
    }
    let result_of = |kind, id: &str| records.results.iter().find(|r| r.is(kind, id));
    let succeeded = |id: &str| {
        records
            .stability
            .as_ref()
            .and_then(|s| s.items.iter().find(|i| i.deployment.id == id))
            .is_some_and(|v| v.outcome == Outcome::Succeeded)
    };
    let services_done = records.plan.services.iter().filter(|s| !s.noop).all(|s| {
        result_of(PlanItemKind::Service, &s.id)
            .is_some_and(|r| r.error.is_none() && r.deployment.is_some())
            && succeeded(&s.id)
    });
    let rules_done = records.plan.tasks.iter().filter(|r| !r.noop).all(|r| {
        result_of(PlanItemKind::Rule, &r.id).is_some_and(|r| r.error.is_none() && r.rule.is_some())
    });
    let schedules_done = records.plan.schedules.iter().filter(|s| !s.noop).all(|s| {
        result_of(PlanItemKind::Schedule, &s.id)
            .is_some_and(|r| r.error.is_none() && r.schedule.is_some())
    });
    let jobs_ran = records.plan.jobs.iter().all(|j| {
        records
            .stability
            .as_ref()
            .and_then(|s| s.jobs.iter().find(|status| status.run.id == j.id))
            .is_some_and(|status| status.outcome == Outcome::Succeeded)
    });
    !(services_done && rules_done && schedules_done && jobs_ran)
}

/// The last AwaitRelease round as the watchdog judges it: every started deployment without a
/// terminal verdict is `Failed` ([`UNCONFIRMED`]); terminal verdicts stay as they are.
pub fn unconfirmed_as_failed(records: &ReleaseRecords) -> StabilityOutput {
    let verdict_of = |id: &str| {
        records
            .stability
            .as_ref()
            .and_then(|s| s.items.iter().find(|i| i.deployment.id == id))
            .filter(|v| v.outcome.is_terminal())
    };
    let items: Vec<DeploymentStatus> = records
        .results
        .iter()
        .filter_map(|r| r.deployment.as_ref())
        .map(|d| match verdict_of(&d.id) {
            Some(v) => v.clone(),
            None => DeploymentStatus {
                outcome: Outcome::Failed,
                reason: Some(UNCONFIRMED.into()),
                ..DeploymentStatus::started(d.clone())
            },
        })
        .collect();
    StabilityOutput {
        pending: 0,
        failed: count(items.iter().filter(|i| i.outcome.is_failure())),
        deploy_failed: 0,
        items,
        remaining_waves: 0,
        wave: 0,
        jobs: Vec::new(),
    }
}

/// Items whose lock another execution holds now (it was taken over once this one ended), by the
/// item the lock names ([`lock_item`]: `service:prod/web`), with that lock.
pub type HeldByOthers = BTreeMap<String, Lock>;

/// What the rollback step gets: the records with [`unconfirmed_as_failed`] as the last round, and
/// every item another release holds now taken out (as if unchanged), plus a `LeftAlone` restore for
/// each target or service taken out, saying who holds it.
pub fn rollback_input(
    records: &ReleaseRecords,
    held: &HeldByOthers,
) -> (ReleaseRecords, Vec<Restore>) {
    let mut input = records.clone();
    input.stability = Some(unconfirmed_as_failed(records));
    let mut skipped = Vec::new();
    let why = |lock: &Lock| {
        format!(
            "release {} (execution {}) holds its lock now: left alone",
            lock.release_id, lock.execution_arn
        )
    };
    for service in input.plan.services.iter_mut().filter(|s| !s.noop) {
        if let Some(lock) = held.get(&lock_item(PlanItemKind::Service, &service.id)) {
            service.noop = true;
            skipped.push(restore(
                service.id.clone(),
                RestoreOutcome::LeftAlone,
                &service.previous_task_definition,
                Some(why(lock)),
            ));
        }
    }
    for rule in input.plan.tasks.iter_mut().filter(|r| !r.noop) {
        if let Some(lock) = held.get(&lock_item(PlanItemKind::Rule, &rule.id)) {
            rule.noop = true;
            for target in rule.targets.iter().filter(|t| !t.noop) {
                skipped.push(restore(
                    target_item_id(&rule.id, &target.target_id),
                    RestoreOutcome::LeftAlone,
                    &target.previous_task_definition,
                    Some(why(lock)),
                ));
            }
        }
    }
    (input, skipped)
}

/// How the execution ended, for the report: `ABORTED`, or `FAILED (States.Runtime: cause…)`.
fn ending(status: ExecutionStatus, error: Option<&str>, cause: Option<&str>) -> String {
    let detail = match (
        error.filter(|e| !e.is_empty()),
        cause.filter(|c| !c.is_empty()),
    ) {
        (Some(e), Some(c)) => format!(" ({e}: {})", cut_reason(c)),
        (Some(e), None) => format!(" ({e})"),
        (None, Some(c)) => format!(" ({})", cut_reason(c)),
        (None, None) => String::new(),
    };
    format!("{}{detail}", status.as_str())
}

/// What the watchdog did, as release-level problems of the report it writes. `rollback` is the
/// policy applied (`None` when nothing needed undoing); `started` counts the restoring rollouts
/// that were started and not awaited.
pub fn problems(
    status: ExecutionStatus,
    error: Option<&str>,
    cause: Option<&str>,
    rollback: Option<RollbackPolicy>,
    started: u32,
) -> Vec<String> {
    let what = match rollback {
        None => "every changed item had succeeded, so nothing was rolled back".to_owned(),
        Some(RollbackPolicy::None) => "rollback policy `none`: nothing was rolled back".to_owned(),
        Some(policy) => format!(
            "it applied rollback policy `{}` to what the release changed",
            match policy {
                RollbackPolicy::All => "all",
                RollbackPolicy::Failed => "failed",
                RollbackPolicy::None => "none",
            }
        ),
    };
    let mut problems = vec![format!(
        "the execution ended {} outside the state machine, without finish-release; the watchdog \
         finished it: {what}, wrote this report and gave back the release's locks",
        ending(status, error, cause)
    )];
    if started > 0 {
        problems.push(format!(
            "{started} restoring rollout(s) were started and not awaited: their outcome is not in \
             this report"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `prod/web` and `prod/api` released; rule `default/nightly` with target `t`. `web` / `api`:
    /// (result, verdict), each `None`, `"ok"`, `"error"`; verdicts `"Succeeded"`, `"InProgress"`, …
    fn records(
        web: (Option<&str>, Option<&str>),
        api: (Option<&str>, Option<&str>),
        rule: Option<&str>,
    ) -> ReleaseRecords {
        let deployment = |name: &str| {
            json!({
                "id": format!("prod/{name}"), "cluster": "prod", "service": name,
                "previousTaskDefinition": format!("{name}:1"),
                "newTaskDefinition": format!("{name}:2"),
                "deploymentId": format!("ecs-svc/{name}"), "deadline": 0,
            })
        };
        let service = |name: &str| {
            json!({
                "id": format!("prod/{name}"), "cluster": "prod", "service": name,
                "previousTaskDefinition": format!("{name}:1"), "images": {}, "noop": false,
                "timeoutSeconds": 600,
            })
        };
        let mut results = Vec::new();
        let mut verdicts = Vec::new();
        for (name, (result, verdict)) in [("web", web), ("api", api)] {
            match result {
                Some("ok") => results
                    .push(json!({"id": format!("prod/{name}"), "deployment": deployment(name)})),
                Some(_) => results.push(json!({"id": format!("prod/{name}"),
                    "error": {"Error": "Throttled", "Cause": "slow down"}})),
                None => {}
            }
            if let Some(outcome) = verdict {
                let mut v = deployment(name);
                v["outcome"] = json!(outcome);
                verdicts.push(v);
            }
        }
        match rule {
            Some("ok") => results.push(json!({"id": "default/nightly", "rule": {
                "id": "default/nightly", "rule": "nightly", "eventBus": "default",
                "targets": [{"targetId": "t", "previousTaskDefinition": "report:1",
                             "newTaskDefinition": "report:2"}]}})),
            Some(_) => results.push(json!({"id": "default/nightly",
                "error": {"Error": "TargetsRejected", "Cause": "no"}})),
            None => {}
        }
        serde_json::from_value(json!({
            "plan": {
                "release": {"id": "r1", "source": "deployment.yaml"},
                "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                             "keepRevisions": 0},
                "services": [service("web"), service("api")],
                "tasks": [{"id": "default/nightly", "rule": "nightly", "eventBus": "default",
                           "targets": [{"targetId": "t", "previousTaskDefinition": "report:1",
                                        "newTaskDefinition": "report:2", "images": {}, "noop": false}],
                           "noop": false}],
                "changedServices": 2, "changedTasks": 1,
            },
            "results": results,
            "stability": if verdicts.is_empty() { json!(null) } else {
                json!({"items": verdicts, "pending": 0, "failed": 0})
            },
        }))
        .expect("records")
    }

    #[test]
    fn the_policy_applies_unless_every_changed_item_succeeded() {
        let ok = (Some("ok"), Some("Succeeded"));
        // (web, api, rule, needs a rollback)
        let cases = [
            (ok, ok, Some("ok"), false),
            // A rollout still in progress when the execution ended.
            (ok, (Some("ok"), Some("InProgress")), Some("ok"), true),
            // Started, never judged (no stability round yet).
            (ok, (Some("ok"), None), Some("ok"), true),
            (ok, (Some("error"), None), Some("ok"), true),
            // Never reached by its Map.
            (ok, (None, None), Some("ok"), true),
            (ok, ok, None, true),
            (ok, ok, Some("error"), true),
            (ok, (Some("ok"), Some("Failed")), Some("ok"), true),
        ];
        for (i, (web, api, rule, want)) in cases.into_iter().enumerate() {
            assert_eq!(needs_rollback(&records(web, api, rule)), want, "case {i}");
        }
    }

    #[test]
    fn a_rollback_that_had_begun_is_finished_even_when_every_item_succeeded() {
        let ok = (Some("ok"), Some("Succeeded"));
        let mut r = records(ok, ok, Some("ok"));
        r.rollback = Some(
            serde_json::from_value(json!({
            "restores": [], "items": [], "pending": 0, "failed": 0}))
            .unwrap(),
        );
        assert!(needs_rollback(&r));
    }

    #[test]
    fn unconfirmed_rollouts_count_as_failed_and_verdicts_stay() {
        // (web verdict, api verdict) → (web outcome, api outcome)
        let cases = [
            (
                (Some("Succeeded"), Some("InProgress")),
                (Outcome::Succeeded, Outcome::Failed),
            ),
            ((None, None), (Outcome::Failed, Outcome::Failed)),
            (
                (Some("TimedOut"), Some("Succeeded")),
                (Outcome::TimedOut, Outcome::Succeeded),
            ),
        ];
        for ((web, api), (want_web, want_api)) in cases {
            let round = unconfirmed_as_failed(&records((Some("ok"), web), (Some("ok"), api), None));
            let outcome = |id: &str| {
                round
                    .items
                    .iter()
                    .find(|i| i.deployment.id == id)
                    .map(|i| i.outcome)
            };
            assert_eq!(
                (outcome("prod/web"), outcome("prod/api")),
                (Some(want_web), Some(want_api))
            );
            assert_eq!(round.pending, 0);
            assert_eq!(
                round.failed,
                count([want_web, want_api].iter().filter(|o| o.is_failure()))
            );
            let unconfirmed = round
                .items
                .iter()
                .filter(|i| i.reason.as_deref() == Some(UNCONFIRMED));
            assert_eq!(
                count(unconfirmed),
                count(
                    [web, api]
                        .iter()
                        .filter(|v| **v != Some("Succeeded") && **v != Some("TimedOut"))
                )
            );
        }
        // An item that never started has no deployment to judge.
        let round = unconfirmed_as_failed(&records((None, None), (Some("error"), None), None));
        assert!(round.items.is_empty());
    }

    fn lock(release: &str) -> Lock {
        Lock {
            item: String::new(),
            release_id: release.into(),
            execution_arn: format!("arn:aws:states:us-east-1:1:execution:m:{release}"),
            acquired_at: 0,
        }
    }

    #[test]
    fn items_another_release_holds_are_left_out_of_the_rollback_and_said_so() {
        let r = records(
            (Some("ok"), Some("InProgress")),
            (Some("ok"), None),
            Some("ok"),
        );
        let mut held = HeldByOthers::new();
        held.insert(lock_item(PlanItemKind::Service, "prod/api"), lock("r2"));
        held.insert(lock_item(PlanItemKind::Rule, "default/nightly"), lock("r3"));
        let (input, skipped) = rollback_input(&r, &held);
        let noop = |id: &str| {
            input
                .plan
                .services
                .iter()
                .find(|s| s.id == id)
                .unwrap()
                .noop
        };
        assert!(!noop("prod/web"));
        assert!(noop("prod/api"));
        assert!(input.plan.tasks[0].noop);
        // The rollback judges by the watchdog's round; the report keeps the records' own.
        assert_eq!(input.stability.as_ref().unwrap().failed, 2);
        assert_eq!(r.stability.as_ref().unwrap().failed, 0);
        let ids: Vec<&str> = skipped.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["prod/api", "default/nightly/t"]);
        assert!(skipped
            .iter()
            .all(|s| s.outcome == RestoreOutcome::LeftAlone));
        assert!(
            skipped[0].reason.as_deref().unwrap().contains("release r2"),
            "{skipped:?}"
        );
        assert_eq!(skipped[1].task_definition, "report:1");

        let (input, skipped) = rollback_input(&r, &HeldByOthers::new());
        assert!(skipped.is_empty());
        assert!(input.plan.services.iter().all(|s| !s.noop));
    }

    #[test]
    fn only_endings_outside_the_state_machine_are_acted_on() {
        use ExecutionStatus::*;
        for (status, want) in [
            (Aborted, true),
            (TimedOut, true),
            (Failed, true),
            (Running, false),
            (Succeeded, false),
            (PendingRedrive, false),
            (Unknown, false),
        ] {
            assert_eq!(acts_on(status), want, "{status:?}");
        }
    }

    #[test]
    fn the_problems_say_how_it_ended_what_was_done_and_what_was_not_awaited() {
        let p = problems(
            ExecutionStatus::Aborted,
            None,
            None,
            Some(RollbackPolicy::All),
            2,
        );
        assert_eq!(p.len(), 2);
        assert!(
            p[0].contains("ended ABORTED outside the state machine"),
            "{p:?}"
        );
        assert!(p[0].contains("policy `all`"), "{p:?}");
        assert!(
            p[1].starts_with("2 restoring rollout(s) were started and not awaited"),
            "{p:?}"
        );

        let p = problems(
            ExecutionStatus::Failed,
            Some("States.DataLimitExceeded"),
            Some("too big"),
            None,
            0,
        );
        assert_eq!(p.len(), 1);
        assert!(
            p[0].contains("FAILED (States.DataLimitExceeded: too big)"),
            "{p:?}"
        );
        assert!(p[0].contains("nothing was rolled back"), "{p:?}");

        let p = problems(
            ExecutionStatus::TimedOut,
            None,
            None,
            Some(RollbackPolicy::None),
            0,
        );
        assert!(
            p[0].contains("TIMED_OUT") && p[0].contains("policy `none`"),
            "{p:?}"
        );
    }
}
