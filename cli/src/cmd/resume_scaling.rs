//! `convoy resume-scaling EXECUTION`: puts back the recorded state of every scalable target the
//! release suspended (`suspendAutoScaling`), from its records alone: for a release that crashed or
//! timed out before finishing, or whose finish could not restore a target. Idempotent: a target
//! already back on its recorded state is set to it again.

use release_core::contract::Plan;
use release_core::records::PLAN;
use release_core::steps::scaling::restore;

use crate::error::CliError;
use crate::execution::{self, ExecutionArgs};
use crate::exit::Exit;
use crate::output::Format;
use crate::restore::{ended_records, scaling_text};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    execution: ExecutionArgs,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (aws, arn) = execution::open(&args.execution).await?;
    let (records, nothing_recorded) =
        ended_records(&aws, &arn, "it restores the scaling it holds when it ends").await?;
    let plan: Plan = aws
        .records
        .read(&records, PLAN)
        .await?
        .ok_or_else(nothing_recorded)?;
    let Some(report) = restore(&aws.scaling, &aws.records, &records, &plan).await else {
        crate::io::print(&format!(
            "release {} held no scalable target: nothing to resume\n",
            plan.release.id
        ));
        return Ok(Exit::Ok);
    };
    let text = match args.format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).expect("a scaling report serializes")
        ),
        Format::Text if report.restored.is_empty() && report.failed.is_empty() => format!(
            "release {}: no scalable target was suspended yet: nothing to resume\n",
            plan.release.id
        ),
        Format::Text => format!("release {}\n{}", plan.release.id, scaling_text(&report)),
    };
    crate::io::print(&text);
    Ok(if report.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Failed
    })
}
