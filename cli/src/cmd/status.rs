//! `convoy status EXECUTION`: where a release is now, printed once — per-item state while it runs,
//! the report once it ended (every item: the full one from S3 when the execution's own left some
//! out). Exits as `watch` does, or "running" while it still runs.

use crate::error::CliError;
use crate::execution::history::new_events;
use crate::execution::records::Reader;
use crate::execution::{self, ExecutionArgs};
use crate::exit::Exit;
use crate::output::{stdout_color, warn, Format};
use crate::progress::Tracker;
use crate::release_view::execution_text;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// `text` for people, `json` for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (aws, arn) = execution::open(&args.execution).await?;
    let mut described = execution::describe(&aws, &arn).await?;
    let events = new_events(&aws, &arn, 0).await?;
    let mut tracker = Tracker::default();
    let mut reader = Reader::new(&aws.records);
    reader.track(&mut tracker, &events).await;
    if !described.is_running() {
        reader.complete(&mut described, &mut tracker).await;
    }
    for warning in reader.take_warnings() {
        warn(&warning);
    }
    crate::io::print(&execution_text(
        &described,
        &tracker,
        args.format,
        stdout_color(),
    ));
    Ok(described.exit())
}
