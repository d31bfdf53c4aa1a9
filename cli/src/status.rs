//! `convoy status EXECUTION`: where a release is now, printed once — per-item state while it runs,
//! the report once it ended. Exit codes as `watch`, plus 4 while it still runs.

use std::process::ExitCode;

use crate::aws::Aws;
use crate::execution::{self, ExecutionArgs};
use crate::output::{fail, stdout_color};
use crate::progress::Tracker;
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
    let aws = match Aws::connect(&args.execution.aws).await {
        Ok(aws) => aws,
        Err(e) => return fail(&e),
    };
    let arn = match execution::resolve(&aws, &args.execution).await {
        Ok(arn) => arn,
        Err(e) => return fail(&e),
    };
    let described = match execution::describe(&aws, &arn).await {
        Ok(described) => described,
        Err(e) => return fail(&e),
    };
    let events = match execution::new_events(&aws, &arn, 0).await {
        Ok(events) => events,
        Err(e) => return fail(&e),
    };
    let mut tracker = Tracker::default();
    tracker.apply(&events);
    crate::io::print(&render(&described, &tracker, args.format, stdout_color()));
    execution::exit(&described)
}
