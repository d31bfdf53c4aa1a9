//! `convoy watch EXECUTION`: follows a release to its end — per-item progress on stderr (a
//! summary for a large release) — then prints the release report.

use crate::error::CliError;
use crate::execution::{self, ExecutionArgs};
use crate::exit::Exit;
use crate::follow::{follow, FollowArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (aws, arn) = execution::open(&args.execution).await?;
    follow(&aws, &arn, &args.follow).await
}
