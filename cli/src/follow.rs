//! Following an execution to its end (`watch`, and `deploy` after it started one): poll, show the
//! items' progress on stderr, then print the execution and its report on stdout.

use std::time::Duration;

use crate::aws::Aws;
use crate::error::CliError;
use crate::execution::history::new_events;
use crate::execution::records::Reader;
use crate::execution::{describe, Described};
use crate::exit::Exit;
use crate::output::{stderr_color, stderr_is_terminal, stdout_color, Format};
use crate::progress::live::{Live, Output};
use crate::progress::Tracker;
use crate::release_view::execution_text;

#[derive(Debug, Clone, clap::Args)]
pub struct FollowArgs {
    /// `text` for people, `json` (the execution, its items and report, printed at the end) for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Seconds between polls of the execution.
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub interval: u64,
}

/// Polls DescribeExecution and the new history events (with the release records they point at)
/// until the execution ends; the exit says how it ended.
pub async fn follow(aws: &Aws, arn: &str, args: &FollowArgs) -> Result<Exit, CliError> {
    let color = stderr_color();
    let mut live = Live::new(match args.format {
        Format::Json => Output::Quiet,
        Format::Text if stderr_is_terminal() => Output::Terminal { color },
        Format::Text => Output::Log { color },
    });
    let mut tracker = Tracker::default();
    let mut reader = Reader::new(&aws.records);
    loop {
        // Describe first: when it says the execution ended, the history read next is complete.
        let mut described = describe(aws, arn).await?;
        let events = new_events(aws, arn, tracker.last_event_id).await?;
        let changed = reader.track(&mut tracker, &events).await;
        for warning in reader.take_warnings() {
            live.warn(&warning);
        }
        live.show(&tracker, &changed, &header(&described, &tracker));
        if !described.is_running() {
            reader.complete(&mut described, &mut tracker).await;
            live.clear();
            for warning in reader.take_warnings() {
                live.warn(&warning);
            }
            crate::io::print(&execution_text(
                &described,
                &tracker,
                args.format,
                stdout_color(),
            ));
            return Ok(described.exit());
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

/// `cli-fail-1 RUNNING: AwaitRelease`
fn header(described: &Described, tracker: &Tracker) -> String {
    let state = tracker.state.as_deref().unwrap_or("starting");
    format!("{} {}: {state}", described.name, described.status)
}
