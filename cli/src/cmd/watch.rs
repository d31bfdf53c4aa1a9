//! `convoy watch EXECUTION`: follows a release to its end — one progress bar per item on a
//! terminal, one line per change otherwise — then prints the release report.
//!
//! Exit 0 succeeded; 1 failed or rolled back; 3 timed out or aborted.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::aws::Aws;
use crate::execution::{self, Described, ExecutionArgs, Snapshot};
use crate::output::Tone;
use crate::output::{fail, stderr_color, stderr_is_terminal, stdout_color};
use crate::progress::{line, Row, Tracker, STEPS};
use crate::records::Reader;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub execution: ExecutionArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct FollowArgs {
    /// `text` for people, `json` (the execution, its items and report, printed at the end) for machines.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Seconds between polls of the execution.
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub interval: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub async fn run(args: &Args) -> ExitCode {
    match execution::open(&args.execution).await {
        Ok((aws, arn)) => follow(&aws, &arn, &args.follow).await,
        Err(e) => fail(&e),
    }
}

/// Polls DescribeExecution and the new history events (with the release records they point at)
/// until the execution ends.
pub async fn follow(aws: &Aws, arn: &str, args: &FollowArgs) -> ExitCode {
    let stderr_color = stderr_color();
    let mut progress = match args.format {
        Format::Json => Progress::Quiet,
        Format::Text if stderr_is_terminal() => Progress::Bars(Bars::new(stderr_color)),
        Format::Text => Progress::Lines {
            color: stderr_color,
            shown: BTreeMap::new(),
        },
    };
    let mut tracker = Tracker::default();
    let mut reader = Reader::new(&aws.records);
    loop {
        // Describe first: when it says the execution ended, the history read next is complete.
        let mut described = match execution::describe(aws, arn).await {
            Ok(described) => described,
            Err(e) => return fail(&e),
        };
        let events = match execution::new_events(aws, arn, tracker.last_event_id).await {
            Ok(events) => events,
            Err(e) => return fail(&e),
        };
        let changed = reader.track(&mut tracker, &events).await;
        progress.show(&tracker, &changed, &described);
        if !described.is_running() {
            reader.complete(&mut described, &mut tracker).await;
            progress.clear();
            crate::io::print(&render(&described, &tracker, args.format, stdout_color()));
            return execution::exit(&described);
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

/// The execution as `status` and the end of `watch` print it.
pub fn render(described: &Described, tracker: &Tracker, format: Format, color: bool) -> String {
    match format {
        Format::Json => {
            let snapshot = Snapshot {
                execution: described,
                state: tracker.state.as_deref(),
                items: &tracker.rows,
            };
            format!(
                "{}\n",
                serde_json::to_string_pretty(&snapshot).expect("a snapshot serializes")
            )
        }
        Format::Text if described.is_running() => {
            let state = tracker
                .state
                .as_deref()
                .map(|s| format!(" (in {s})"))
                .unwrap_or_default();
            format!(
                "execution {}: {}{state}\n{}",
                described.name,
                described.status,
                tracker.table(color)
            )
        }
        Format::Text if described.report.is_none() && !tracker.rows.is_empty() => {
            // Ended without a report (stopped, timed out): what each item had reached.
            format!(
                "{}{}",
                execution::end_text(described, color),
                tracker.table(color)
            )
        }
        Format::Text => execution::end_text(described, color),
    }
}

enum Progress {
    Quiet,
    /// Not a terminal: one line on stderr per item change.
    Lines {
        color: bool,
        shown: BTreeMap<String, String>,
    },
    Bars(Bars),
}

impl Progress {
    fn show(&mut self, tracker: &Tracker, changed: &[Row], described: &Described) {
        match self {
            Progress::Quiet => {}
            Progress::Lines { color, shown } => {
                // Each step in order, and only lines that read differently from the last one shown.
                for row in changed {
                    let text = line(row, *color);
                    if shown.get(&row.id) != Some(&text) {
                        eprintln!("{text}");
                        shown.insert(row.id.clone(), text);
                    }
                }
            }
            Progress::Bars(bars) => bars.show(tracker, changed, described),
        }
    }

    fn clear(&mut self) {
        if let Progress::Bars(bars) = self {
            let _ = bars.multi.clear();
        }
    }
}

struct Bars {
    multi: MultiProgress,
    header: ProgressBar,
    bars: BTreeMap<String, ProgressBar>,
    style: ProgressStyle,
    width: usize,
}

impl Bars {
    fn new(color: bool) -> Self {
        let multi = MultiProgress::new();
        let header = multi.add(ProgressBar::new_spinner());
        header.enable_steady_tick(Duration::from_millis(120));
        let template = if color {
            "{prefix} [{bar:12.cyan/blue}] {msg}"
        } else {
            "{prefix} [{bar:12}] {msg}"
        };
        let style = ProgressStyle::with_template(template)
            .expect("a valid progress template")
            .progress_chars("=> ");
        Bars {
            multi,
            header,
            bars: BTreeMap::new(),
            style,
            width: 0,
        }
    }

    fn show(&mut self, tracker: &Tracker, changed: &[Row], described: &Described) {
        let state = tracker.state.as_deref().unwrap_or("starting");
        self.header
            .set_message(format!("{} {}: {state}", described.name, described.status));
        let width = tracker
            .rows
            .iter()
            .map(|r| r.id.chars().count())
            .max()
            .unwrap_or(0);
        let widened = width > self.width;
        self.width = self.width.max(width);
        for row in &tracker.rows {
            if !self.bars.contains_key(&row.id) {
                let bar = self.multi.add(ProgressBar::new(STEPS));
                bar.set_style(self.style.clone());
                self.bars.insert(row.id.clone(), bar);
                update(&self.bars[&row.id], row, self.width);
            }
        }
        for row in &tracker.rows {
            if widened || changed.iter().any(|c| c.id == row.id) {
                update(&self.bars[&row.id], row, self.width);
            }
        }
    }
}

fn update(bar: &ProgressBar, row: &Row, width: usize) {
    bar.set_prefix(format!("{:<width$}", row.id));
    bar.set_position(row.stage.position());
    let mut message = row.stage.label().to_owned();
    if let Some(td) = &row.task_definition {
        message.push_str(&format!(" {}", crate::output::short(td)));
    }
    // One bar is one terminal line: only a failure's reason earns the width.
    if let Some(reason) = row
        .reason
        .as_ref()
        .filter(|_| row.stage.tone() == Tone::Bad)
    {
        message.push_str(&format!(": {reason}"));
    }
    bar.set_message(message);
}
