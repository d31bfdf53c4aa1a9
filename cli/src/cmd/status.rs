//! `convoy status EXECUTION`: where a release is now, printed once — per-item state while it runs,
//! the report once it ended (every item: the full one from S3 when the execution's own left some
//! out). Exit codes as `watch`, plus 4 while it still runs.

use std::process::ExitCode;

use release_core::Error;

use crate::execution::{self, ExecutionArgs};
use crate::output::{fail, stdout_color};
use crate::progress::Tracker;
use crate::records::Reader;
use crate::watch::{render, Format};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(args: &Args) -> ExitCode {
    status(args).await.unwrap_or_else(|e| fail(&e))
}

async fn status(args: &Args) -> Result<ExitCode, Error> {
    let (aws, arn) = execution::open(&args.execution).await?;
    let mut described = execution::describe(&aws, &arn).await?;
    let events = execution::new_events(&aws, &arn, 0).await?;
    let mut tracker = Tracker::default();
    let mut reader = Reader::new(&aws.records);
    reader.track(&mut tracker, &events).await;
    if !described.is_running() {
        reader.complete(&mut described, &mut tracker).await;
    }
    crate::io::print(&render(&described, &tracker, args.format, stdout_color()));
    Ok(execution::exit(&described))
}
