//! `convoy rollback EXECUTION`: puts every item of an ended release back on the task definition
//! it ran before, as the release's records say (`plan.json`: every item, its previous revision and
//! its timeout; `results/`: the revisions it moved them to), through the same code as the rollback
//! function, then awaits the restoring rollouts. It needs no report: a release that crashed, was
//! stopped or timed out is rolled back from its records all the same. Idempotent: what already runs its previous revision is `AlreadyCurrent`.
//! What now runs a revision the release did not deploy (a newer release, a hotfix) is left alone
//! unless `--force` is given. The scalable targets the release held get their recorded state back.

use release_core::decide::recover::HeldByOthers;
use release_core::decide::rollback::Overwrite;
use release_core::steps::lock::Owner;
use release_core::steps::recover::{held_by_others, recorded_release};

use crate::error::CliError;
use crate::execution::{self, ExecutionArgs};
use crate::exit::Exit;
use crate::output::{stdout_color, Format};
use crate::restore::{await_rollouts, ended_records, restore_input, restored_text, Restored};

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
    let (records, nothing_recorded) = ended_records(
        &aws,
        &arn,
        "its own rollback handles failures; stop it or wait for its end first",
    )
    .await?;
    // The plan and every item's result as the release recorded them, whether or not it got as far
    // as a report (a crash, an operator's stop, a timeout).
    let recorded = recorded_release(&aws.records, &records)
        .await?
        .ok_or_else(nothing_recorded)?;
    let overwrite = if args.force {
        Overwrite::Forced
    } else {
        Overwrite::OwnWorkOnly
    };
    // Items another release has locked since are its to change, unless forced.
    let held = match overwrite {
        Overwrite::Forced => HeldByOthers::new(),
        Overwrite::OwnWorkOnly => {
            let owner = Owner {
                release_id: recorded.plan.release.id.clone(),
                execution_arn: arn.clone(),
            };
            held_by_others(
                aws.records.objects(),
                &records.bucket,
                &owner,
                &recorded.plan,
            )
            .await?
        }
    };
    let (input, left_alone) = restore_input(&recorded, &held, args.timeout);
    let mut output = release_core::steps::rollback::rollback(
        &aws.ecs,
        &aws.events,
        &aws.codedeploy,
        &aws.scheduler,
        &input,
        records.execution(),
        overwrite,
    )
    .await;
    output.restores.extend(left_alone);
    let mut rollouts = output.items;
    if !args.no_wait && output.pending > 0 {
        rollouts = await_rollouts(&aws, rollouts, args.poll_interval).await?;
    }
    // The release is over: the scaling it held may run again (idempotent, from its records).
    let auto_scaling =
        release_core::steps::scaling::restore(&aws.scaling, &aws.records, &records, &recorded.plan)
            .await;
    let restored = Restored {
        release_id: recorded.plan.release.id.clone(),
        restores: output.restores,
        rollouts,
        auto_scaling,
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
