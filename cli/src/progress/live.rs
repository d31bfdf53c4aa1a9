//! `watch`'s progress on stderr while the execution runs: one bar per item on a terminal, one
//! line per change otherwise, and, for a release of more than [`SUMMARY_ABOVE`] items, a summary
//! (a count per stage plus the failures) instead of a bar or a line per item.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use release_core::contract::TaskDefRef;

use super::model::{Row, Stage, Tracker, STEPS};
use super::render::{counts_line, line, summary};

use crate::output::warn;

/// Above this many items, per-item bars or lines would not fit a screen or a log: a summary instead.
pub const SUMMARY_ABOVE: usize = 20;

/// Where progress goes: nowhere (`--format json`), a terminal, or a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Quiet,
    Terminal { color: bool },
    Log { color: bool },
}

pub struct Live {
    output: Output,
    view: View,
}

enum View {
    Quiet,
    /// Not a terminal: one line on stderr per item change.
    Lines {
        shown: BTreeMap<String, String>,
    },
    Bars(Bars),
    /// Not a terminal, many items: the counts when they change, each failure once.
    LogSummary {
        counts: String,
        failed: BTreeMap<String, String>,
    },
    TerminalSummary(Summary),
}

impl Live {
    pub fn new(output: Output) -> Self {
        let view = match output {
            Output::Quiet => View::Quiet,
            Output::Terminal { color } => View::Bars(Bars::new(color)),
            Output::Log { .. } => View::Lines {
                shown: BTreeMap::new(),
            },
        };
        Live { output, view }
    }

    /// Shows the tracker after a poll: `changed` are the rows that moved, in event order.
    pub fn show(&mut self, tracker: &Tracker, changed: &[Row], header: &str) {
        if tracker.rows.len() > SUMMARY_ABOVE {
            self.summarize();
        }
        match (&mut self.view, self.output) {
            (View::Quiet, _) => {}
            (View::Lines { shown }, Output::Log { color }) => {
                // Each step in order, and only lines that read differently from the last one shown.
                for row in changed {
                    let text = line(row, color);
                    if shown.get(&row.id) != Some(&text) {
                        eprintln!("{text}");
                        shown.insert(row.id.clone(), text);
                    }
                }
            }
            (View::Bars(bars), _) => bars.show(tracker, changed, header),
            (View::LogSummary { counts, failed }, Output::Log { color }) => {
                for row in tracker.rows.iter().filter(|r| r.stage.is_failure()) {
                    let text = line(row, color);
                    if failed.get(&row.id) != Some(&text) {
                        eprintln!("{text}");
                        failed.insert(row.id.clone(), text);
                    }
                }
                let now = counts_line(&tracker.rows, color);
                if *counts != now {
                    eprintln!("{header}: {now}");
                    *counts = now;
                }
            }
            (View::TerminalSummary(summary), Output::Terminal { color }) => {
                summary.show(tracker, header, color)
            }
            _ => {}
        }
    }

    /// Says what could not be read without tearing the bars.
    pub fn warn(&self, message: &str) {
        match &self.view {
            View::Bars(Bars { multi, .. }) | View::TerminalSummary(Summary { multi, .. }) => {
                multi.suspend(|| warn(message))
            }
            _ => warn(message),
        }
    }

    /// Removes the bars before the report is printed.
    pub fn clear(&mut self) {
        match &self.view {
            View::Bars(Bars { multi, .. }) | View::TerminalSummary(Summary { multi, .. }) => {
                let _ = multi.clear();
            }
            _ => {}
        }
    }

    /// Switches a per-item view to its summary (once the plan shows the release is large).
    fn summarize(&mut self) {
        let summary = match (&self.view, self.output) {
            (View::Lines { .. }, _) => View::LogSummary {
                counts: String::new(),
                failed: BTreeMap::new(),
            },
            (View::Bars(bars), _) => {
                let _ = bars.multi.clear();
                View::TerminalSummary(Summary::new())
            }
            _ => return,
        };
        self.view = summary;
    }

    #[cfg(test)]
    fn is_summary(&self) -> bool {
        matches!(
            self.view,
            View::LogSummary { .. } | View::TerminalSummary(_)
        )
    }
}

/// A header spinner and one multi-line block: the counts and the failures.
struct Summary {
    multi: MultiProgress,
    header: ProgressBar,
    body: ProgressBar,
}

impl Summary {
    fn new() -> Self {
        let multi = MultiProgress::new();
        let header = multi.add(ProgressBar::new_spinner());
        header.enable_steady_tick(Duration::from_millis(120));
        let body = multi.add(ProgressBar::new(0));
        body.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
        Summary {
            multi,
            header,
            body,
        }
    }

    fn show(&mut self, tracker: &Tracker, header: &str, color: bool) {
        self.header.set_message(header.to_owned());
        self.body
            .set_message(summary(&tracker.rows, color).trim_end().to_owned());
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

    fn show(&mut self, tracker: &Tracker, changed: &[Row], header: &str) {
        self.header.set_message(header.to_owned());
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
        message.push_str(&format!(" {}", TaskDefRef::new(td)));
    }
    // One bar is one terminal line: only a failure's reason earns the width, and the short
    // lifecycle stage of a blue/green or CODE_DEPLOY rollout (not its deployment id).
    let shown = row.stage.is_failure() || row.stage == Stage::Updating;
    if let Some(reason) = row.reason.as_ref().filter(|_| shown) {
        message.push_str(&format!(": {reason}"));
    }
    bar.set_message(message);
}

#[cfg(test)]
mod tests {
    use indicatif::ProgressDrawTarget;
    use release_core::contract::ItemKind;

    use super::*;
    use crate::progress::model::Stage;

    fn tracker(n: usize) -> Tracker {
        let mut tracker = Tracker::default();
        tracker.rows = (0..n)
            .map(|i| Row {
                id: format!("c/svc-{i}"),
                kind: ItemKind::Service,
                stage: Stage::Planned,
                task_definition: None,
                reason: None,
                deployment_id: None,
            })
            .collect();
        tracker
    }

    #[test]
    fn more_than_the_threshold_of_items_shows_a_summary() {
        for (items, summarized) in [
            (1, false),
            (SUMMARY_ABOVE, false),
            (SUMMARY_ABOVE + 1, true),
            (500, true),
        ] {
            for output in [
                Output::Log { color: false },
                Output::Terminal { color: false },
            ] {
                let mut live = Live::new(output);
                if let View::Bars(bars) = &live.view {
                    bars.multi.set_draw_target(ProgressDrawTarget::hidden());
                }
                live.show(&tracker(items), &[], "r1 RUNNING: PlanRelease");
                assert_eq!(live.is_summary(), summarized, "{items} items, {output:?}");
            }
        }
    }
}
