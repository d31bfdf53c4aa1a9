//! What `convoy rollback` restores and how it reads: the rollback function's input made from a
//! release's recorded plan, the wait for the restoring rollouts, and the table of restores.

use std::time::Duration;

use release_core::contract::{
    DeploymentStatus, Outcome, Plan, ReleaseRecords, ReleaseReport, Restore, RestoreOutcome,
    RollbackPolicy,
};
use release_core::decide::rollback::target_item_id;
use release_core::steps::check_stability::check;
use serde::Serialize;

use release_core::contract::TaskDefRef;

use crate::aws::Aws;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{table, Tone};

/// One awaiting round of check-stability at most this long; rounds repeat until nothing is pending.
const ROUND: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    pub release_id: String,
    pub restores: Vec<Restore>,
    /// The restoring rollouts and how they ended (empty with --no-wait or when nothing moved).
    pub rollouts: Vec<DeploymentStatus>,
}

impl Restored {
    /// A restore or a restoring rollout failed.
    fn failed(&self) -> bool {
        self.restores
            .iter()
            .any(|r| r.outcome == RestoreOutcome::Failed)
            || self
                .rollouts
                .iter()
                .any(|d| !matches!(d.outcome, Outcome::Succeeded | Outcome::InProgress))
    }

    /// Items that run a revision the release did not deploy, not restored without `--force`.
    pub fn left_alone(&self) -> usize {
        self.restores
            .iter()
            .filter(|r| r.outcome == RestoreOutcome::LeftAlone)
            .count()
    }

    /// 0: every item restored (or already on its previous revision) and no restoring rollout
    /// failed; 1: a restore or a restoring rollout failed; 6: only items left alone are missing
    /// (the restore was refused per item).
    pub fn exit(&self) -> Exit {
        match (self.failed(), self.left_alone()) {
            (true, _) => Exit::Failed,
            (false, 0) => Exit::Ok,
            (false, _) => Exit::Refused,
        }
    }
}

/// What the rollback function reads, from the release's recorded plan under policy `all` (which
/// restores every changed item whatever its result). The plan has every item with its previous
/// revision and timeout; the report adds the revisions the release moved items to, which the
/// restoring rollouts name as where they come from. `timeout_seconds`, when given, replaces every
/// service's own.
pub fn restore_input(
    plan: &Plan,
    report: &ReleaseReport,
    timeout_seconds: Option<u32>,
) -> ReleaseRecords {
    let mut plan = plan.clone();
    plan.settings.rollback = RollbackPolicy::All;
    let moved_to = |id: &str| {
        report
            .items
            .iter()
            .find(|i| i.id == id)
            .and_then(|i| i.new_task_definition.clone())
    };
    for service in &mut plan.services {
        service.new_task_definition = service
            .new_task_definition
            .take()
            .or_else(|| moved_to(&service.id));
        if let Some(timeout) = timeout_seconds {
            service.timeout_seconds = timeout;
        }
    }
    for rule in &mut plan.tasks {
        for target in &mut rule.targets {
            target.new_task_definition = target
                .new_task_definition
                .take()
                .or_else(|| moved_to(&target_item_id(&rule.id, &target.target_id)));
        }
    }
    ReleaseRecords::new(plan, Vec::new())
}

/// Awaits the restoring rollouts to their ends.
pub async fn await_rollouts(
    aws: &Aws,
    mut items: Vec<DeploymentStatus>,
    poll_interval_seconds: u32,
) -> Result<Vec<DeploymentStatus>, CliError> {
    loop {
        let round = check(&aws.ecs, items, poll_interval_seconds, ROUND).await?;
        // Unlike a release, one failed restore does not stop the others from being awaited.
        if round.items.iter().all(|i| i.outcome.is_terminal()) {
            return Ok(round.items);
        }
        items = round.items;
    }
}

pub fn restored_text(restored: &Restored, color: bool) -> String {
    let rollout_of = |id: &str| restored.rollouts.iter().find(|d| d.deployment.id == id);
    let rows: Vec<Vec<(String, Tone)>> = restored
        .restores
        .iter()
        .map(|r| {
            let tone = match r.outcome {
                RestoreOutcome::Restored | RestoreOutcome::AlreadyCurrent => Tone::Good,
                RestoreOutcome::Skipped | RestoreOutcome::LeftAlone => Tone::Busy,
                RestoreOutcome::Failed => Tone::Bad,
            };
            let (rollout, rollout_tone) = match rollout_of(&r.id) {
                Some(d) => (
                    format!("{:?}", d.outcome),
                    match d.outcome {
                        Outcome::Succeeded => Tone::Good,
                        Outcome::InProgress => Tone::Busy,
                        Outcome::Failed | Outcome::TimedOut | Outcome::Superseded => Tone::Bad,
                    },
                ),
                None => ("-".to_owned(), Tone::Plain),
            };
            let reason = r
                .reason
                .clone()
                .or_else(|| rollout_of(&r.id).and_then(|d| d.reason.clone()))
                .unwrap_or_default();
            vec![
                (r.id.clone(), Tone::Plain),
                (format!("{:?}", r.outcome), tone),
                (TaskDefRef::new(&r.task_definition).to_string(), Tone::Plain),
                (rollout, rollout_tone),
                (reason, Tone::Plain),
            ]
        })
        .collect();
    let left_alone = match restored.left_alone() {
        0 => String::new(),
        1 => "1 item left alone: it runs a revision this release did not deploy; --force restores it anyway\n".to_owned(),
        n => format!("{n} items left alone: they run revisions this release did not deploy; --force restores them anyway\n"),
    };
    format!(
        "rollback of release {}\n{}{left_alone}",
        restored.release_id,
        table(
            &["ITEM", "RESTORE", "TASK DEFINITION", "ROLLOUT", "REASON"],
            &rows,
            color
        )
    )
}

#[cfg(test)]
mod tests {
    use release_core::contract::{ItemKind, ItemOutcome, ReleaseOutcome, ReportItem};
    use release_core::decide::rollback::select;
    use serde_json::json;

    use super::*;

    /// A recorded plan: web changed (timeout 300), api unchanged (1200); both targets of the
    /// nightly rule changed, on a partner bus whose name holds `/`.
    fn plan() -> Plan {
        serde_json::from_value(json!({
            "release": {"id": "r1", "source": "d.yaml"},
            "settings": {"rollback": "failed", "maxConcurrency": 10, "pollIntervalSeconds": 5, "keepRevisions": 0},
            "services": [
                {"id": "prod/web", "cluster": "prod", "service": "web", "previousTaskDefinition": "web:1",
                 "images": {"web": "web:2"}, "noop": false, "timeoutSeconds": 300},
                {"id": "prod/api", "cluster": "prod", "service": "api", "previousTaskDefinition": "api:1",
                 "images": {"api": "api:1"}, "noop": true, "timeoutSeconds": 1200}
            ],
            "tasks": [{"id": "aws.partner/x/bus/hourly", "rule": "hourly", "eventBus": "aws.partner/x/bus",
                       "noop": false,
                       "targets": [{"targetId": "t1", "previousTaskDefinition": "rep:1", "images": {}, "noop": false}]}],
            "changedServices": 1, "changedTasks": 1
        }))
        .unwrap()
    }

    fn report() -> ReleaseReport {
        let item = |id: &str, kind, new: Option<&str>| ReportItem {
            id: id.into(),
            kind,
            outcome: ItemOutcome::Deployed,
            previous_task_definition: String::new(),
            new_task_definition: new.map(str::to_owned),
            final_task_definition: String::new(),
            reason: None,
            stopped_reasons: Vec::new(),
        };
        ReleaseReport {
            release_id: "r1".into(),
            outcome: ReleaseOutcome::Succeeded,
            items: vec![
                item("prod/web", ItemKind::Service, Some("web:2")),
                item(
                    "aws.partner/x/bus/hourly/t1",
                    ItemKind::RuleTarget,
                    Some("rep:2"),
                ),
            ],
            problems: Vec::new(),
            omitted_items: 0,
            full_report: None,
            cleanup: None,
        }
    }

    #[test]
    fn the_recorded_plan_is_restored_with_its_own_timeouts() {
        let input = restore_input(&plan(), &report(), None);
        assert_eq!(input.plan.settings.rollback, RollbackPolicy::All);
        assert!(input.results.is_empty());
        let services: Vec<(&str, u32, Option<&str>)> = input
            .plan
            .services
            .iter()
            .map(|s| {
                (
                    s.id.as_str(),
                    s.timeout_seconds,
                    s.new_task_definition.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            services,
            [("prod/web", 300, Some("web:2")), ("prod/api", 1200, None)]
        );
        let target = &input.plan.tasks[0].targets[0];
        assert_eq!(target.new_task_definition.as_deref(), Some("rep:2"));
        assert_eq!(input.plan.tasks[0].event_bus, "aws.partner/x/bus");
        // The rollback function's selection: every changed item, nothing unchanged.
        let selected: Vec<String> = select(&input.plan, &[], None)
            .restore
            .iter()
            .map(|c| c.id())
            .collect();
        assert_eq!(selected, ["prod/web", "aws.partner/x/bus/hourly/t1"]);
    }

    #[test]
    fn a_timeout_given_replaces_every_services_own() {
        let input = restore_input(&plan(), &report(), Some(60));
        let timeouts: Vec<u32> = input
            .plan
            .services
            .iter()
            .map(|s| s.timeout_seconds)
            .collect();
        assert_eq!(timeouts, [60, 60]);
    }
}
