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

use crate::aws::Aws;
use crate::error::CliError;
use crate::output::{short, table, Tone};

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
    /// Every item restored (or already on its previous revision) and no restoring rollout failed.
    pub fn is_complete(&self) -> bool {
        self.restores
            .iter()
            .all(|r| r.outcome != RestoreOutcome::Failed)
            && self
                .rollouts
                .iter()
                .all(|d| matches!(d.outcome, Outcome::Succeeded | Outcome::InProgress))
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
                RestoreOutcome::Skipped => Tone::Busy,
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
                (short(&r.task_definition).to_owned(), Tone::Plain),
                (rollout, rollout_tone),
                (reason, Tone::Plain),
            ]
        })
        .collect();
    format!(
        "rollback of release {}\n{}",
        restored.release_id,
        table(
            &["ITEM", "RESTORE", "TASK DEFINITION", "ROLLOUT", "REASON"],
            &rows,
            color
        )
    )
}
