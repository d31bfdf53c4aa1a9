//! One release execution: finding it (ARN or release id), reading its history incrementally, and
//! its end: status, exit code, and the release report (the output, or the cause of a failed one).

use std::process::ExitCode;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use release_core::step::{ReleaseOutcome, ReleaseReport};
use release_core::Error;
use serde::Serialize;
use serde_json::Value;

use crate::aws::{execution_arn, sfn_error, state_machine_arn, Aws, AwsArgs, MachineArgs};
use crate::output::{paint, plural, short, table, Tone};
use crate::progress::Row;

/// Exit code of a release that failed or was rolled back.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of an execution that timed out or was stopped.
pub const EXIT_ABORTED: u8 = 3;
/// Exit code of `convoy status` while the execution still runs.
pub const EXIT_RUNNING: u8 = 4;

/// History events fetched per page.
const HISTORY_PAGE: i32 = 500;

#[derive(Debug, Clone, clap::Args)]
pub struct ExecutionArgs {
    /// The execution ARN, or the release id (with --state-machine or --stack).
    pub execution: String,
    #[command(flatten)]
    pub machine: MachineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Connects to AWS and finds the execution `args` name: where every verb on an existing
/// execution starts.
pub async fn open(args: &ExecutionArgs) -> Result<(Aws, String), Error> {
    let aws = Aws::connect(&args.aws).await?;
    let arn = resolve(&aws, args).await?;
    Ok((aws, arn))
}

/// The execution ARN `args` name.
pub async fn resolve(aws: &Aws, args: &ExecutionArgs) -> Result<String, Error> {
    if args.execution.starts_with("arn:") {
        return Ok(args.execution.clone());
    }
    if args.machine.state_machine.is_none() && args.machine.stack.is_none() {
        return Err(Error::internal(format!(
            "`{}` is not an execution ARN: to find release `{0}`, give --state-machine ARN or --stack NAME",
            args.execution
        )));
    }
    let machine = state_machine_arn(aws, &args.machine).await?;
    Ok(execution_arn(&machine, &args.execution))
}

/// What DescribeExecution says, with the report read out of it (replaced by the full report, every
/// item, when it left items out and the full one could be read: `records::Reader::complete`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Described {
    pub execution_arn: String,
    pub name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ReleaseReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl Described {
    pub fn is_running(&self) -> bool {
        status_is_running(&self.status)
    }
}

fn status_is_running(status: &str) -> bool {
    matches!(status, "RUNNING" | "PENDING_REDRIVE")
}

pub async fn describe(aws: &Aws, arn: &str) -> Result<Described, Error> {
    let out = aws
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| sfn_error(&format!("DescribeExecution {arn}"), e))?;
    let status = out.status().as_str().to_owned();
    Ok(Described {
        execution_arn: out.execution_arn().to_owned(),
        name: out.name().unwrap_or_default().to_owned(),
        report: report_of(out.output(), out.cause()),
        error: out.error().map(str::to_owned),
        cause: out.cause().map(str::to_owned),
        status,
    })
}

/// The release report: the output of a succeeded execution, the cause of a failed one
/// (`ReleaseFailed` carries the report as its cause). `None` when it is something else (a
/// rejected release's cause is the error of PlanRelease).
pub fn report_of(output: Option<&str>, cause: Option<&str>) -> Option<ReleaseReport> {
    [output, cause]
        .into_iter()
        .flatten()
        .find_map(|text| serde_json::from_str(text).ok())
}

/// The events after `after`, oldest first. Pages newest-first and stops at the first event already
/// seen, so a long history is not read again on every poll.
pub async fn new_events(aws: &Aws, arn: &str, after: i64) -> Result<Vec<HistoryEvent>, Error> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(HISTORY_PAGE)
            .set_next_token(token.take())
            .include_execution_data(true)
            .send()
            .await
            .map_err(|e| sfn_error(&format!("GetExecutionHistory {arn}"), e))?;
        let reached_seen = page.events().iter().any(|e| e.id() <= after);
        events.extend(page.events().iter().filter(|e| e.id() > after).cloned());
        match page.next_token() {
            Some(next) if !reached_seen => token = Some(next.to_owned()),
            _ => break,
        }
    }
    events.sort_by_key(HistoryEvent::id);
    events.dedup_by_key(|e| e.id());
    Ok(events)
}

/// 0 succeeded; 1 failed or rolled back; 3 timed out or aborted; 4 still running.
pub fn exit_code(status: &str) -> u8 {
    match ExecutionStatus::from(status) {
        ExecutionStatus::Succeeded => 0,
        ExecutionStatus::Failed => EXIT_FAILED,
        ExecutionStatus::TimedOut | ExecutionStatus::Aborted => EXIT_ABORTED,
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => EXIT_RUNNING,
        // A status this SDK does not know yet: not a success.
        _ => EXIT_FAILED,
    }
}

pub fn exit(described: &Described) -> ExitCode {
    ExitCode::from(exit_code(&described.status))
}

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
            let previous = short(&item.previous_task_definition);
            let revision = match item.new_task_definition.as_deref().map(short) {
                Some(new) if short(&item.final_task_definition) == new => {
                    format!("{previous} -> {new}")
                }
                Some(new) => format!(
                    "{previous} -> {new} (now {})",
                    short(&item.final_task_definition)
                ),
                None => previous.to_owned(),
            };
            let mut reason = item.reason.clone().unwrap_or_default();
            if !item.stopped_reasons.is_empty() {
                reason = format!("{reason} [tasks: {}]", item.stopped_reasons.join("; "))
                    .trim()
                    .to_owned();
            }
            let tone = match item.outcome {
                release_core::step::ItemOutcome::Deployed
                | release_core::step::ItemOutcome::Unchanged => Tone::Good,
                release_core::step::ItemOutcome::RolledBack
                | release_core::step::ItemOutcome::NotStarted => Tone::Busy,
                release_core::step::ItemOutcome::Failed
                | release_core::step::ItemOutcome::TimedOut
                | release_core::step::ItemOutcome::Superseded => Tone::Bad,
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
    format!(
        "release {}: {}{problems}\n{}{omitted}",
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

fn kind_label(kind: release_core::step::ItemKind) -> &'static str {
    match kind {
        release_core::step::ItemKind::Service => "service",
        release_core::step::ItemKind::RuleTarget => "rule target",
    }
}

/// How an execution ended, for people: the report, or the error that stopped it.
pub fn end_text(described: &Described, color: bool) -> String {
    let status_tone = match exit_code(&described.status) {
        0 => Tone::Good,
        EXIT_RUNNING => Tone::Busy,
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
            out.push_str(&format!("{}\n", cause_text(cause)));
        }
    }
    out
}

/// A Lambda error cause (`{"errorType":..,"errorMessage":..}`) as its message; other text as is.
pub fn cause_text(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| cause.to_owned())
}

/// What `--format json` prints: the execution, its items, and how it ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot<'a> {
    #[serde(flatten)]
    pub execution: &'a Described,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a str>,
    pub items: &'a [Row],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_by_status() {
        let cases = [
            ("SUCCEEDED", 0),
            ("FAILED", 1),
            ("TIMED_OUT", 3),
            ("ABORTED", 3),
            ("RUNNING", 4),
            ("PENDING_REDRIVE", 4),
            ("SOMETHING_NEW", 1),
        ];
        for (status, code) in cases {
            assert_eq!(exit_code(status), code, "{status}");
        }
    }

    #[test]
    fn report_from_output_or_cause() {
        let report = r#"{"releaseId":"r1","outcome":"RolledBack","items":[]}"#;
        let lambda_error = r#"{"errorType":"PreflightFailed","errorMessage":"pre-flight failed"}"#;
        let cases: [(Option<&str>, Option<&str>, Option<&str>); 5] = [
            (Some(report), None, Some("r1")),
            (None, Some(report), Some("r1")),
            (None, Some(lambda_error), None),
            (None, Some("not json"), None),
            (None, None, None),
        ];
        for (output, cause, want) in cases {
            let got = report_of(output, cause).map(|r| r.release_id);
            assert_eq!(got.as_deref(), want, "{output:?} {cause:?}");
        }
    }

    #[test]
    fn a_report_that_left_items_out_says_where_the_rest_is() {
        let item = r#"{"id":"c/web","kind":"service","outcome":"Failed","previousTaskDefinition":"web:1","finalTaskDefinition":"web:1"}"#;
        let full = format!(r#"{{"releaseId":"r1","outcome":"RolledBack","items":[{item}]}}"#);
        let bounded = format!(
            r#"{{"releaseId":"r1","outcome":"RolledBack","items":[{item}],"omittedItems":3,"fullReport":"s3://b/releases/r1/r1/report.json"}}"#
        );
        let text = |json: &str| report_text(&report_of(Some(json), None).unwrap(), false);
        assert!(!text(&full).contains("not shown"), "{}", text(&full));
        assert!(
            text(&bounded)
                .ends_with("(3 more items not shown: s3://b/releases/r1/r1/report.json)\n"),
            "{}",
            text(&bounded)
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
            assert_eq!(cause_text(cause), want);
        }
    }
}
