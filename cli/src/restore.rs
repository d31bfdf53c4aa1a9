//! What `convoy rollback` restores and how it reads: the rollback function's input made from a
//! release's recorded plan, the wait for the restoring rollouts, and the table of restores.

use std::time::Duration;

use release_core::contract::{
    DeploymentStatus, Outcome, Records, ReleaseRecords, Restore, RestoreOutcome, RollbackPolicy,
    ScalingReport,
};
use release_core::decide::recover::{rollback_input, HeldByOthers};
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
    /// The scalable targets the release held, put back on their recorded state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<ScalingReport>,
}

impl Restored {
    /// A restore or a restoring rollout failed.
    fn failed(&self) -> bool {
        self.auto_scaling
            .as_ref()
            .is_some_and(|s| !s.failed.is_empty())
            || self
                .restores
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

/// The records of an ended execution, for a command that finishes its release by hand (`rollback`,
/// `resume-scaling`). Refused while it runs (`while_running` says why) and when it recorded no
/// plan (it ended before its pre-flight passed, and changed nothing).
pub async fn ended_records(
    aws: &Aws,
    arn: &str,
    while_running: &str,
) -> Result<(Records, impl Fn() -> CliError), CliError> {
    let described = crate::execution::describe(aws, arn).await?;
    if described.is_running() {
        return Err(CliError::Refused(format!(
            "execution {} is still {}: {while_running}",
            described.name, described.status
        )));
    }
    let nothing_recorded = move || {
        CliError::Refused(format!(
            "execution {} ({}) recorded no plan, so it changed nothing: it ended before its \
             pre-flight passed",
            described.name, described.status
        ))
    };
    match crate::execution::history::records_location(aws, arn).await? {
        Some(records) => Ok((records, nothing_recorded)),
        None => Err(nothing_recorded()),
    }
}

/// What the rollback function reads: the release's records (plan, results) under policy `all`,
/// which restores every changed item whatever its result, without the items another release holds
/// now ([`rollback_input`]: each comes back as a `LeftAlone` restore). The plan has every item with
/// its previous revision and timeout; the results name the revisions the release moved items to.
/// `timeout_seconds`, when given, replaces every service's own.
pub fn restore_input(
    recorded: &ReleaseRecords,
    held: &HeldByOthers,
    timeout_seconds: Option<u32>,
) -> (ReleaseRecords, Vec<Restore>) {
    let (mut input, left_alone) = rollback_input(recorded, held);
    input.plan.settings.rollback = RollbackPolicy::All;
    if let Some(timeout) = timeout_seconds {
        for service in &mut input.plan.services {
            service.timeout_seconds = timeout;
        }
    }
    (input, left_alone)
}

/// Awaits the restoring rollouts to their ends.
pub async fn await_rollouts(
    aws: &Aws,
    mut items: Vec<DeploymentStatus>,
    poll_interval_seconds: u32,
) -> Result<Vec<DeploymentStatus>, CliError> {
    loop {
        let round = check(
            &aws.ecs,
            &aws.codedeploy,
            items,
            poll_interval_seconds,
            ROUND,
        )
        .await?;
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
        "rollback of release {}\n{}{left_alone}{}",
        restored.release_id,
        table(
            &["ITEM", "RESTORE", "TASK DEFINITION", "ROLLOUT", "REASON"],
            &rows,
            color
        ),
        restored
            .auto_scaling
            .as_ref()
            .map(scaling_text)
            .unwrap_or_default()
    )
}

/// What a restore of held scalable targets did, one line each.
pub fn scaling_text(report: &ScalingReport) -> String {
    let mut text = String::new();
    for id in &report.restored {
        text.push_str(&format!("auto scaling of {id}: restored\n"));
    }
    for failure in &report.failed {
        text.push_str(&format!("auto scaling not restored: {failure}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use release_core::contract::{ItemResult, Lock, Plan};
    use release_core::decide::lock::lock_item;
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

    /// What the release recorded: web moved to web:2 (its rollout never confirmed: the execution
    /// was stopped), the rule's target to rep:2.
    fn recorded() -> ReleaseRecords {
        let results: Vec<ItemResult> = serde_json::from_value(json!([
            {"id": "prod/web", "deployment": {"id": "prod/web", "cluster": "prod", "service": "web",
             "previousTaskDefinition": "web:1", "newTaskDefinition": "web:2",
             "deploymentId": "ecs-svc/1", "deadline": 0}},
            {"id": "aws.partner/x/bus/hourly", "rule": {"id": "aws.partner/x/bus/hourly", "rule": "hourly",
             "eventBus": "aws.partner/x/bus",
             "targets": [{"targetId": "t1", "previousTaskDefinition": "rep:1", "newTaskDefinition": "rep:2"}]}}
        ]))
        .unwrap();
        ReleaseRecords::new(plan(), results)
    }

    #[test]
    fn the_recorded_release_is_restored_with_its_own_timeouts() {
        let (input, left_alone) = restore_input(&recorded(), &HeldByOthers::new(), None);
        assert_eq!(input.plan.settings.rollback, RollbackPolicy::All);
        assert!(left_alone.is_empty());
        let timeouts: Vec<(&str, u32)> = input
            .plan
            .services
            .iter()
            .map(|s| (s.id.as_str(), s.timeout_seconds))
            .collect();
        assert_eq!(timeouts, [("prod/web", 300), ("prod/api", 1200)]);
        assert_eq!(input.plan.tasks[0].event_bus, "aws.partner/x/bus");
        // The rollback function's selection: every changed item with the revision the release
        // moved it to (what the rollback recognises as its own), nothing unchanged.
        let selection = select(&input.plan, &input.results, input.stability.as_ref());
        let selected: Vec<(String, Option<&str>)> = selection
            .restore
            .iter()
            .map(|c| (c.id(), c.new_task_definition()))
            .collect();
        assert_eq!(
            selected,
            [
                ("prod/web".to_owned(), Some("web:2")),
                ("aws.partner/x/bus/hourly/t1".to_owned(), Some("rep:2"))
            ]
        );
    }

    #[test]
    fn a_timeout_given_replaces_every_services_own() {
        let (input, _) = restore_input(&recorded(), &HeldByOthers::new(), Some(60));
        let timeouts: Vec<u32> = input
            .plan
            .services
            .iter()
            .map(|s| s.timeout_seconds)
            .collect();
        assert_eq!(timeouts, [60, 60]);
    }

    #[test]
    fn an_item_another_release_holds_now_is_left_alone() {
        let mut held = HeldByOthers::new();
        held.insert(
            lock_item(release_core::contract::PlanItemKind::Service, "prod/web"),
            Lock {
                item: lock_item(release_core::contract::PlanItemKind::Service, "prod/web"),
                release_id: "r2".into(),
                execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:r2".into(),
                acquired_at: 0,
            },
        );
        let (input, left_alone) = restore_input(&recorded(), &held, None);
        let selected: Vec<String> = select(&input.plan, &input.results, None)
            .restore
            .iter()
            .map(|c| c.id())
            .collect();
        assert_eq!(selected, ["aws.partner/x/bus/hourly/t1"]);
        assert_eq!(left_alone.len(), 1);
        assert_eq!(left_alone[0].outcome, RestoreOutcome::LeftAlone);
        assert!(
            left_alone[0]
                .reason
                .as_deref()
                .unwrap()
                .contains("release r2"),
            "{left_alone:?}"
        );
    }
}
