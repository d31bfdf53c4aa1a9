//! How an execution reads for people and machines: the release report as a table, how the
//! execution ended, and what `status` and the end of `watch` print.

use release_core::contract::{
    cause_message, CleanupReport, ItemKind, ItemOutcome, ReleaseOutcome, ReleaseReport,
};
use serde::Serialize;

use release_core::contract::TaskDefRef;

use crate::execution::Described;
use crate::exit::Exit;
use crate::output::{paint, plural, table, Format, Tone};
use crate::progress::model::report_reason;
use crate::progress::render::items_table;
use crate::progress::{Row, Tracker};

fn outcome_tone(outcome: ReleaseOutcome) -> Tone {
    match outcome {
        ReleaseOutcome::Succeeded => Tone::Good,
        ReleaseOutcome::RolledBack => Tone::Busy,
        ReleaseOutcome::Failed => Tone::Bad,
    }
}

/// The report as a table: one row per service and rule target.
pub fn report_text(report: &ReleaseReport, color: bool) -> String {
    let rows: Vec<Vec<(String, Tone)>> = report
        .items
        .iter()
        .map(|item| {
            let previous = TaskDefRef::new(&item.previous_task_definition).key();
            let revision = match item
                .new_task_definition
                .as_deref()
                .map(|td| TaskDefRef::new(td).key())
            {
                Some(new) if TaskDefRef::new(&item.final_task_definition).key() == new => {
                    format!("{previous} -> {new}")
                }
                Some(new) => format!(
                    "{previous} -> {new} (now {})",
                    TaskDefRef::new(&item.final_task_definition).key()
                ),
                None => previous.to_owned(),
            };
            let reason = report_reason(item).unwrap_or_default();
            let tone = match item.outcome {
                ItemOutcome::Deployed | ItemOutcome::Unchanged | ItemOutcome::Ran => Tone::Good,
                ItemOutcome::RolledBack | ItemOutcome::NotStarted => Tone::Busy,
                ItemOutcome::Failed | ItemOutcome::TimedOut | ItemOutcome::Superseded => Tone::Bad,
            };
            vec![
                (item.id.clone(), Tone::Plain),
                (kind_label(item.kind).to_owned(), Tone::Plain),
                (format!("{:?}", item.outcome), tone),
                (revision, Tone::Plain),
                (reason, Tone::Plain),
            ]
        })
        .collect();
    let problems: String = report
        .problems
        .iter()
        .map(|p| format!("\n  problem: {p}"))
        .collect();
    // Only when the full report could not be read: say where the rest is.
    let omitted = match (report.omitted_items, &report.full_report) {
        (0, _) => String::new(),
        (n, uri) => format!(
            "({} not shown: {})\n",
            plural(n as usize, "more item"),
            uri.as_deref().unwrap_or("no full report")
        ),
    };
    let cleanup = report.cleanup.as_ref().map_or(String::new(), cleanup_line);
    format!(
        "release {}: {}{problems}\n{}{omitted}{cleanup}",
        report.release_id,
        paint(
            &format!("{:?}", report.outcome),
            outcome_tone(report.outcome),
            color
        ),
        table(
            &["ITEM", "KIND", "OUTCOME", "REVISION", "REASON"],
            &rows,
            color
        )
    )
}

/// `clean-up: 1 revision deregistered, 5 kept`, with what was deferred, failed or unchecked.
fn cleanup_line(cleanup: &CleanupReport) -> String {
    let mut line = format!(
        "clean-up: {} deregistered, {} kept",
        plural(cleanup.deregistered_count as usize, "revision"),
        cleanup.kept_count
    );
    if cleanup.failed_count > 0 {
        line.push_str(&format!(", {} failed", cleanup.failed_count));
    }
    if cleanup.deferred > 0 {
        line.push_str(&format!(", {} left for the next release", cleanup.deferred));
    }
    line.push('\n');
    for problem in &cleanup.problems {
        line.push_str(&format!(
            "  clean-up kept everything it could not check: {problem}\n"
        ));
    }
    line
}

fn kind_label(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Service => "service",
        ItemKind::RuleTarget => "rule target",
        ItemKind::Schedule => "schedule",
        ItemKind::Job => "job",
    }
}

/// How an execution ended, for people: the report, or the error that stopped it.
pub fn end_text(described: &Described, color: bool) -> String {
    let status_tone = match described.exit() {
        Exit::Ok => Tone::Good,
        Exit::Running => Tone::Busy,
        _ => Tone::Bad,
    };
    let mut out = format!(
        "execution {}: {}\n",
        described.name,
        paint(&described.status, status_tone, color)
    );
    if let Some(report) = &described.report {
        out.push_str(&report_text(report, color));
    } else if let Some(error) = &described.error {
        out.push_str(&format!("error: {error}\n"));
        if let Some(cause) = &described.cause {
            out.push_str(&format!("{}\n", cause_message(cause)));
        }
    }
    out
}

/// What `--format json` prints: the execution, its items, and how it ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot<'a> {
    #[serde(flatten)]
    execution: &'a Described,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    items: &'a [Row],
}

/// The execution as `status` and the end of `watch` print it.
pub fn execution_text(
    described: &Described,
    tracker: &Tracker,
    format: Format,
    color: bool,
) -> String {
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
                items_table(tracker, color)
            )
        }
        Format::Text if described.report.is_none() && !tracker.rows.is_empty() => {
            // Ended without a report (stopped, timed out): what each item had reached.
            format!(
                "{}{}",
                end_text(described, color),
                items_table(tracker, color)
            )
        }
        Format::Text => end_text(described, color),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_that_left_items_out_says_where_the_rest_is() {
        let item = r#"{"id":"c/web","kind":"service","outcome":"Failed","previousTaskDefinition":"web:1","finalTaskDefinition":"web:1"}"#;
        let full = format!(r#"{{"releaseId":"r1","outcome":"RolledBack","items":[{item}]}}"#);
        let bounded = format!(
            r#"{{"releaseId":"r1","outcome":"RolledBack","items":[{item}],"omittedItems":3,"fullReport":"s3://b/releases/r1/r1/report.json"}}"#
        );
        let text = |json: &str| report_text(&serde_json::from_str(json).unwrap(), false);
        assert!(!text(&full).contains("not shown"), "{}", text(&full));
        assert!(
            text(&bounded)
                .ends_with("(3 more items not shown: s3://b/releases/r1/r1/report.json)\n"),
            "{}",
            text(&bounded)
        );
    }
    #[test]
    fn the_clean_up_is_one_line_and_its_problems() {
        let item = r#"{"id":"c/web","kind":"service","outcome":"Deployed","previousTaskDefinition":"web:1","newTaskDefinition":"web:2","finalTaskDefinition":"web:2"}"#;
        let json = format!(
            r#"{{"releaseId":"r1","outcome":"Succeeded","items":[{item}],"cleanup":{{"deregisteredCount":1,"keptCount":4,"deferred":2,"problems":["ListRules default: AccessDenied"],"listsOmitted":true}}}}"#
        );
        let text = report_text(&serde_json::from_str(&json).unwrap(), false);
        assert!(
            text.ends_with(
                "clean-up: 1 revision deregistered, 4 kept, 2 left for the next release\n  clean-up kept everything it could not check: ListRules default: AccessDenied\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn causes_show_the_function_message() {
        let cases = [
            (
                r#"{"errorType":"PreflightFailed","errorMessage":"pre-flight failed: 1 problem"}"#,
                "pre-flight failed: 1 problem",
            ),
            ("plain text", "plain text"),
        ];
        for (cause, want) in cases {
            assert_eq!(cause_message(cause), want);
        }
    }
}
