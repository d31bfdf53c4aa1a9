//! Progress as text: a stage's word and colour, the per-item table, one line per change, and the
//! summary that stands in for per-item lines when a release is large.

use std::collections::BTreeMap;

use super::model::{Row, Stage, Tracker};
use release_core::contract::TaskDefRef;

use crate::output::{paint, table, Tone};

/// Failures the summary names one by one; the report at the end lists every item.
pub const SUMMARY_FAILURES: usize = 10;

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Planned => "planned",
            Stage::Unchanged => "unchanged",
            Stage::Deploying => "deploying",
            Stage::Registered => "registered",
            Stage::Updating => "updating",
            Stage::Deployed => "deployed",
            Stage::Failed => "failed",
            Stage::RollingBack => "rolling back",
            Stage::RolledBack => "rolled back",
            Stage::RestoreFailed => "restore failed",
            Stage::NotRestored => "not restored",
            Stage::NotStarted => "not started",
        }
    }

    pub fn tone(self) -> Tone {
        match self {
            Stage::Planned | Stage::NotStarted => Tone::Plain,
            Stage::Unchanged | Stage::Deployed => Tone::Good,
            Stage::Deploying
            | Stage::Registered
            | Stage::Updating
            | Stage::RollingBack
            | Stage::RolledBack => Tone::Busy,
            Stage::Failed | Stage::RestoreFailed | Stage::NotRestored => Tone::Bad,
        }
    }
}

/// One line per item: ITEM, STATE, TASK DEFINITION, REASON.
pub fn items_table(tracker: &Tracker, color: bool) -> String {
    let rows: Vec<Vec<(String, Tone)>> = tracker.rows.iter().map(row_cells).collect();
    table(
        &["ITEM", "STATE", "TASK DEFINITION", "REASON"],
        &rows,
        color,
    )
}

fn row_cells(row: &Row) -> Vec<(String, Tone)> {
    vec![
        (row.id.clone(), Tone::Plain),
        (row.stage.label().to_owned(), row.stage.tone()),
        (
            row.task_definition
                .as_deref()
                .map(|td| TaskDefRef::new(td).key())
                .unwrap_or("-")
                .to_owned(),
            Tone::Plain,
        ),
        (reason(row).unwrap_or_default(), Tone::Plain),
    ]
}

/// A row's reason where a line has room for more than a progress bar's: a CODE_DEPLOY rollout in
/// progress names its CodeDeploy deployment too (`CODE_DEPLOY at AfterAllowTestTraffic
/// (d-ABC123)`).
fn reason(row: &Row) -> Option<String> {
    match (&row.reason, &row.deployment_id) {
        (Some(reason), Some(id)) if row.stage == Stage::Updating => {
            Some(format!("{reason} ({id})"))
        }
        (reason, _) => reason.clone(),
    }
}

/// One line of a row, for plain (non-terminal) progress output.
pub fn line(row: &Row, color: bool) -> String {
    let mut text = format!(
        "{}: {}",
        row.id,
        paint(row.stage.label(), row.stage.tone(), color)
    );
    if let Some(td) = &row.task_definition {
        text.push_str(&format!(" ({})", TaskDefRef::new(td)));
    }
    if let Some(reason) = reason(row) {
        text.push_str(&format!(": {reason}"));
    }
    text
}

/// How many items are at each stage, in stage order.
pub fn counts(rows: &[Row]) -> BTreeMap<Stage, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.stage).or_insert(0) += 1;
    }
    counts
}

/// `480 deployed, 15 updating, 5 failed`: one line for the whole release.
pub fn counts_line(rows: &[Row], color: bool) -> String {
    counts(rows)
        .into_iter()
        .map(|(stage, n)| paint(&format!("{n} {}", stage.label()), stage.tone(), color))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A large release at a glance: one line per stage with its count, then the failures (the first
/// [`SUMMARY_FAILURES`], each with its reason).
pub fn summary(rows: &[Row], color: bool) -> String {
    let mut out = String::new();
    for (stage, n) in counts(rows) {
        let label = format!("{:<14}", stage.label());
        out.push_str(&format!("{} {n:>5}\n", paint(&label, stage.tone(), color)));
    }
    let failures: Vec<&Row> = rows.iter().filter(|r| r.stage.is_failure()).collect();
    for row in failures.iter().take(SUMMARY_FAILURES) {
        out.push_str(&format!("  {}\n", line(row, color)));
    }
    if failures.len() > SUMMARY_FAILURES {
        out.push_str(&format!(
            "  ({} more failed: the report at the end lists every item)\n",
            failures.len() - SUMMARY_FAILURES
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use release_core::contract::ItemKind;

    use super::*;

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                id: format!("c/svc-{i:03}"),
                kind: ItemKind::Service,
                stage: match i % 100 {
                    0..=2 => Stage::Failed,
                    3..=9 => Stage::Updating,
                    _ => Stage::Deployed,
                },
                task_definition: None,
                reason: (i % 100 < 3).then(|| "Failed: circuit breaker".to_owned()),
                deployment_id: None,
            })
            .collect()
    }

    #[test]
    fn a_summary_is_a_line_per_stage_and_the_first_failures() {
        let text = summary(&rows(500), false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..3],
            [
                "updating          35",
                "deployed         450",
                "failed            15"
            ]
        );
        assert_eq!(lines[3], "  c/svc-000: failed: Failed: circuit breaker");
        assert_eq!(lines.len(), 3 + SUMMARY_FAILURES + 1, "{text}");
        assert_eq!(
            lines.last().unwrap(),
            &"  (5 more failed: the report at the end lists every item)"
        );
        assert_eq!(
            counts_line(&rows(500), false),
            "35 updating, 450 deployed, 15 failed"
        );
    }
}
