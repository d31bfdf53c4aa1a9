//! `convoy rollback EXECUTION`: puts every item of a finished release back on the task definition
//! it ran before (the report's `previousTaskDefinition`; the full report in S3 when the execution's
//! own left items out), through the same code path as the rollback function
//! (`release_core::rollback::rollback`), then awaits the restoring rollouts.
//! Idempotent: what already runs its previous revision is reported `AlreadyCurrent`.

use std::process::ExitCode;
use std::time::Duration;

use release_core::rollback::rollback;
use release_core::stability::check;
use release_core::step::{
    DeploymentStatus, ItemKind, ItemOutcome, Outcome, Plan, ReleaseMeta, ReleaseRecords,
    ReleaseReport, Restore, RestoreOutcome, RollbackPolicy, RuleItem, RuleTaskTarget, ServiceItem,
    Settings,
};
use serde::Serialize;

use crate::aws::Aws;
use crate::execution::{self, ExecutionArgs};
use crate::output::{fail, short, stdout_color, table, Tone};
use crate::watch::Format;

/// One awaiting round of check-stability at most this long; rounds repeat until nothing is pending.
const ROUND: Duration = Duration::from_secs(60);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    execution: ExecutionArgs,
    /// Do not wait for the restoring rollouts to finish.
    #[arg(long)]
    no_wait: bool,
    /// Seconds a restoring rollout may take before it counts as timed out.
    #[arg(long, default_value_t = release_core::manifest::DEFAULT_TIMEOUT_SECONDS, value_name = "SECONDS")]
    timeout: u32,
    /// Seconds between DescribeServices polls while waiting.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    poll_interval: u32,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Restored {
    release_id: String,
    restores: Vec<Restore>,
    /// The restoring rollouts and how they ended (empty with --no-wait or when nothing moved).
    rollouts: Vec<DeploymentStatus>,
}

pub async fn run(args: &Args) -> ExitCode {
    restore(args).await.unwrap_or_else(|e| fail(&e))
}

async fn restore(args: &Args) -> Result<ExitCode, release_core::Error> {
    let (aws, arn) = execution::open(&args.execution).await?;
    let described = execution::describe(&aws, &arn).await?;
    if described.is_running() {
        eprintln!(
            "convoy: execution {} is still {}: its own rollback handles failures; stop it or wait for its end first",
            described.name, described.status
        );
        return Ok(ExitCode::from(crate::EXIT_INVALID));
    }
    let Some(report) = &described.report else {
        eprintln!(
            "convoy: execution {} ({}) has no release report, so no recorded previous revisions: \
             a release rejected by its pre-flight changed nothing",
            described.name, described.status
        );
        return Ok(ExitCode::from(crate::EXIT_INVALID));
    };
    // Every item, or the rollback would leave the ones a bounded report omits on the new revision.
    let report = &crate::records::full_report(&aws.records, report).await?;
    let input = rollback_records(report, args.timeout);
    let output = rollback(&aws.ecs, &aws.events, &input).await?;
    let mut rollouts = output.items;
    if !args.no_wait && output.pending > 0 {
        rollouts = await_rollouts(&aws, rollouts, args.poll_interval).await?;
    }
    let ok = output
        .restores
        .iter()
        .all(|r| r.outcome != RestoreOutcome::Failed)
        && rollouts
            .iter()
            .all(|d| matches!(d.outcome, Outcome::Succeeded | Outcome::InProgress));
    let restored = Restored {
        release_id: report.release_id.clone(),
        restores: output.restores,
        rollouts,
    };
    let text = match args.format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&restored).expect("restores serialize")
        ),
        Format::Text => text(&restored, stdout_color()),
    };
    crate::io::print(&text);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(execution::EXIT_FAILED)
    })
}

async fn await_rollouts(
    aws: &Aws,
    mut items: Vec<DeploymentStatus>,
    poll_interval_seconds: u32,
) -> Result<Vec<DeploymentStatus>, release_core::Error> {
    loop {
        let round = check(&aws.ecs, items, poll_interval_seconds, ROUND).await?;
        // Unlike a release, one failed restore does not stop the others from being awaited.
        if round.items.iter().all(|i| i.outcome.is_terminal()) {
            return Ok(round.items);
        }
        items = round.items;
    }
}

/// What the rollback function reads from an execution's records, made from a finished release's
/// report: every changed item of the report, with the previous task definition the report
/// recorded, under policy `all` (which restores every changed item whatever its result).
///
/// Report ids are `cluster/service` and `eventBus/rule/targetId`; cluster, service, rule and target
/// names hold no `/` (an event bus name may), so they split from the right.
pub fn rollback_records(report: &ReleaseReport, timeout_seconds: u32) -> ReleaseRecords {
    let mut services = Vec::new();
    let mut tasks: Vec<RuleItem> = Vec::new();
    for item in &report.items {
        let noop = item.outcome == ItemOutcome::Unchanged;
        match item.kind {
            ItemKind::Service => {
                let (cluster, service) = item.id.split_once('/').unwrap_or(("", &item.id));
                services.push(ServiceItem {
                    id: item.id.clone(),
                    cluster: cluster.to_owned(),
                    service: service.to_owned(),
                    previous_task_definition: item.previous_task_definition.clone(),
                    images: Default::default(),
                    noop,
                    desired_count: None,
                    minimum_healthy_percent: None,
                    maximum_percent: None,
                    timeout_seconds,
                    new_task_definition: item.new_task_definition.clone(),
                });
            }
            ItemKind::RuleTarget => {
                let (rule_id, target_id) = item.id.rsplit_once('/').unwrap_or(("", &item.id));
                let (event_bus, rule) = rule_id.rsplit_once('/').unwrap_or(("default", rule_id));
                let target = RuleTaskTarget {
                    target_id: target_id.to_owned(),
                    previous_task_definition: item.previous_task_definition.clone(),
                    images: Default::default(),
                    noop,
                    new_task_definition: item.new_task_definition.clone(),
                };
                match tasks.iter_mut().find(|r| r.id == rule_id) {
                    Some(existing) => {
                        existing.noop &= noop;
                        existing.targets.push(target);
                    }
                    None => tasks.push(RuleItem {
                        id: rule_id.to_owned(),
                        rule: rule.to_owned(),
                        event_bus: event_bus.to_owned(),
                        targets: vec![target],
                        noop,
                    }),
                }
            }
        }
    }
    let changed = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let plan = Plan {
        release: ReleaseMeta {
            id: report.release_id.clone(),
            description: None,
            source: format!("report of release {}", report.release_id),
        },
        settings: Settings {
            rollback: RollbackPolicy::All,
            ..Settings::default()
        },
        changed_services: changed(services.iter().filter(|s| !s.noop).count()),
        changed_tasks: changed(tasks.iter().filter(|t| !t.noop).count()),
        services,
        tasks,
    };
    ReleaseRecords::new(plan, Vec::new())
}

fn text(restored: &Restored, color: bool) -> String {
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

#[cfg(test)]
mod tests {
    use release_core::step::{ReleaseOutcome, ReportItem};

    use super::*;

    fn item(id: &str, kind: ItemKind, outcome: ItemOutcome) -> ReportItem {
        ReportItem {
            id: id.into(),
            kind,
            outcome,
            previous_task_definition: format!("{id}:1"),
            new_task_definition: Some(format!("{id}:2")),
            final_task_definition: format!("{id}:2"),
            reason: None,
            stopped_reasons: Vec::new(),
        }
    }

    #[test]
    fn report_items_become_the_plan_rollback_restores() {
        let report = ReleaseReport {
            problems: Vec::new(),
            release_id: "r1".into(),
            outcome: ReleaseOutcome::Succeeded,
            omitted_items: 0,
            full_report: None,
            items: vec![
                item("prod/web", ItemKind::Service, ItemOutcome::Deployed),
                item("prod/api", ItemKind::Service, ItemOutcome::Unchanged),
                item(
                    "default/nightly/a",
                    ItemKind::RuleTarget,
                    ItemOutcome::Deployed,
                ),
                item(
                    "default/nightly/b",
                    ItemKind::RuleTarget,
                    ItemOutcome::Unchanged,
                ),
                item(
                    "aws.partner/x/bus/hourly/t1",
                    ItemKind::RuleTarget,
                    ItemOutcome::RolledBack,
                ),
            ],
        };
        let input = rollback_records(&report, 300);
        let plan = &input.plan;
        assert_eq!(plan.settings.rollback, RollbackPolicy::All);
        assert!(input.results.is_empty());
        assert_eq!(input.stability, None);
        let services: Vec<(&str, &str, &str, bool, u32)> = plan
            .services
            .iter()
            .map(|s| {
                let td = s.previous_task_definition.as_str();
                (
                    s.cluster.as_str(),
                    s.service.as_str(),
                    td,
                    s.noop,
                    s.timeout_seconds,
                )
            })
            .collect();
        assert_eq!(
            services,
            [
                ("prod", "web", "prod/web:1", false, 300),
                ("prod", "api", "prod/api:1", true, 300)
            ]
        );
        // (rule id, bus, rule, [(target, noop)], rule noop)
        type RuleRow<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, bool)>, bool);
        let rules: Vec<RuleRow> = plan
            .tasks
            .iter()
            .map(|r| {
                let targets = r
                    .targets
                    .iter()
                    .map(|t| (t.target_id.as_str(), t.noop))
                    .collect();
                (
                    r.id.as_str(),
                    r.event_bus.as_str(),
                    r.rule.as_str(),
                    targets,
                    r.noop,
                )
            })
            .collect();
        assert_eq!(
            rules,
            [
                (
                    "default/nightly",
                    "default",
                    "nightly",
                    vec![("a", false), ("b", true)],
                    false
                ),
                (
                    "aws.partner/x/bus/hourly",
                    "aws.partner/x/bus",
                    "hourly",
                    vec![("t1", false)],
                    false
                ),
            ]
        );
        assert_eq!((plan.changed_services, plan.changed_tasks), (1, 2));
        // The same selection the rollback function makes: every changed item, nothing unchanged.
        let selected: Vec<String> = release_core::rollback::select(plan, &[], None)
            .restore
            .iter()
            .map(|c| c.id())
            .collect();
        assert_eq!(
            selected,
            [
                "prod/web",
                "default/nightly/a",
                "aws.partner/x/bus/hourly/t1"
            ]
        );
    }
}
