//! `convoy rollback EXECUTION`: puts every item of a finished release back on the task definition
//! it ran before, as the release's recorded plan says (`plan.json`: every item, its previous
//! revision and its timeout), through the same code as the rollback function, then awaits the
//! restoring rollouts. Idempotent: what already runs its previous revision is `AlreadyCurrent`.
//! What now runs a revision the release did not deploy (a newer release, a hotfix) is left alone
//! unless `--force` is given.

use release_core::decide::rollback::Overwrite;

use crate::error::CliError;
use crate::execution::history::records_location;
use crate::execution::records::recorded_plan;
use crate::execution::{self, ExecutionArgs};
use crate::exit::Exit;
use crate::output::{stdout_color, Format};
use crate::restore::{await_rollouts, restore_input, restored_text, Restored};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    execution: ExecutionArgs,
    /// Do not wait for the restoring rollouts to finish.
    #[arg(long)]
    no_wait: bool,
    /// Seconds any restoring rollout may take before it counts as timed out (default: each
    /// service's own timeout, as the release recorded it).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u32>,
    /// Seconds between DescribeServices polls while waiting.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    poll_interval: u32,
    /// Also restore the items that now run a revision this release did not deploy (a newer
    /// release, a hotfix), which are otherwise left alone; each says what it overwrote.
    #[arg(long)]
    force: bool,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (aws, arn) = execution::open(&args.execution).await?;
    let described = execution::describe(&aws, &arn).await?;
    if described.is_running() {
        return Err(CliError::Refused(format!(
            "execution {} is still {}: its own rollback handles failures; stop it or wait for its end first",
            described.name, described.status
        )));
    }
    let (Some(report), Some(records)) = (&described.report, records_location(&aws, &arn).await?)
    else {
        return Err(CliError::Refused(format!(
            "execution {} ({}) has no release report, so no recorded previous revisions: \
             a release rejected by its pre-flight changed nothing",
            described.name, described.status
        )));
    };
    let plan = recorded_plan(&aws.records, &records).await?;
    let input = restore_input(&plan, report, args.timeout);
    let overwrite = if args.force {
        Overwrite::Forced
    } else {
        Overwrite::OwnWorkOnly
    };
    let output =
        release_core::steps::rollback::rollback(&aws.ecs, &aws.events, &input, overwrite).await;
    let mut rollouts = output.items;
    if !args.no_wait && output.pending > 0 {
        rollouts = await_rollouts(&aws, rollouts, args.poll_interval).await?;
    }
    let restored = Restored {
        release_id: plan.release.id.clone(),
        restores: output.restores,
        rollouts,
    };
    let text = match args.format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&restored).expect("restores serialize")
        ),
        Format::Text => restored_text(&restored, stdout_color()),
    };
    crate::io::print(&text);
    Ok(restored.exit())
}
