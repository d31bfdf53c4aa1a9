//! One release execution and what it keeps: finding it (ARN or release id), DescribeExecution
//! with the release report read out of it, the history read incrementally (`history`), and the
//! release records in S3 (`records`). Every command that looks at an execution reads it here.

pub mod history;
pub mod records;

use aws_sdk_sfn::types::ExecutionStatus;
use release_core::contract::ReleaseReport;
use serde::Serialize;

use crate::aws::{execution_arn, sfn_error, state_machine_arn, Aws, AwsArgs, MachineArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::warn;

/// The error the state machine's Fail state gives a release that failed or was rolled back; its
/// cause is the report.
const RELEASE_FAILED: &str = "ReleaseFailed";

#[derive(Debug, Clone, clap::Args)]
pub struct ExecutionArgs {
    /// The execution ARN, or the release id (with --state-machine or --stack).
    pub execution: String,
    #[command(flatten)]
    pub machine: MachineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Connects to AWS and finds the execution `args` name: where every command on an existing
/// execution starts.
pub async fn open(args: &ExecutionArgs) -> Result<(Aws, String), CliError> {
    let aws = Aws::connect(&args.aws).await?;
    let arn = resolve(&aws, args).await?;
    Ok((aws, arn))
}

/// The execution ARN `args` name.
pub async fn resolve(aws: &Aws, args: &ExecutionArgs) -> Result<String, CliError> {
    if args.execution.starts_with("arn:") {
        return Ok(args.execution.clone());
    }
    if args.machine.state_machine.is_none() && args.machine.stack.is_none() {
        return Err(CliError::Usage(format!(
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
        matches!(self.status.as_str(), "RUNNING" | "PENDING_REDRIVE")
    }

    /// How the command that looked at the execution ends.
    pub fn exit(&self) -> Exit {
        exit_of_status(&self.status)
    }
}

pub async fn describe(aws: &Aws, arn: &str) -> Result<Described, CliError> {
    let out = aws
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| sfn_error(&format!("DescribeExecution {arn}"), e))?;
    let status = out.status().as_str().to_owned();
    let report = match report_of(&status, out.error(), out.output(), out.cause()) {
        Ok(report) => report,
        Err(why) => {
            warn(&format!("execution {arn}: {why}"));
            None
        }
    };
    Ok(Described {
        execution_arn: out.execution_arn().to_owned(),
        name: out.name().unwrap_or_default().to_owned(),
        report,
        error: out.error().map(str::to_owned),
        cause: out.cause().map(str::to_owned),
        status,
    })
}

/// The release report: the output of a succeeded execution, the cause of a failed or rolled-back
/// release (`ReleaseFailed`). Anything else has none (a rejected release's cause is PlanRelease's
/// error); a report that should be there but cannot be read is an error naming where it was.
pub fn report_of(
    status: &str,
    error: Option<&str>,
    output: Option<&str>,
    cause: Option<&str>,
) -> Result<Option<ReleaseReport>, String> {
    let (text, what) = match (ExecutionStatus::from(status), error) {
        (ExecutionStatus::Succeeded, _) => (output, "output"),
        (ExecutionStatus::Failed, Some(RELEASE_FAILED)) => (cause, "cause"),
        _ => return Ok(None),
    };
    let Some(text) = text else {
        return Ok(None);
    };
    serde_json::from_str(text).map(Some).map_err(|e| {
        format!("its {what} is not a release report ({e}), so the report is not shown")
    })
}

/// 0 succeeded; failed or rolled back; timed out or aborted; still running.
pub fn exit_of_status(status: &str) -> Exit {
    match ExecutionStatus::from(status) {
        ExecutionStatus::Succeeded => Exit::Ok,
        ExecutionStatus::Failed => Exit::Failed,
        ExecutionStatus::TimedOut | ExecutionStatus::Aborted => Exit::Aborted,
        ExecutionStatus::Running | ExecutionStatus::PendingRedrive => Exit::Running,
        // A status this SDK does not know yet: not a success.
        _ => Exit::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_by_status() {
        let cases = [
            ("SUCCEEDED", Exit::Ok),
            ("FAILED", Exit::Failed),
            ("TIMED_OUT", Exit::Aborted),
            ("ABORTED", Exit::Aborted),
            ("RUNNING", Exit::Running),
            ("PENDING_REDRIVE", Exit::Running),
            ("SOMETHING_NEW", Exit::Failed),
        ];
        for (status, exit) in cases {
            assert_eq!(exit_of_status(status), exit, "{status}");
        }
    }

    #[test]
    fn report_from_output_or_cause() {
        let report = r#"{"releaseId":"r1","outcome":"RolledBack","items":[]}"#;
        let lambda_error = r#"{"errorType":"PreflightFailed","errorMessage":"pre-flight failed"}"#;
        /// (status, error, output, cause, release id or the start of the error)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Result<Option<&'a str>, &'a str>,
        );
        let cases: [Case; 7] = [
            ("SUCCEEDED", None, Some(report), None, Ok(Some("r1"))),
            (
                "FAILED",
                Some("ReleaseFailed"),
                None,
                Some(report),
                Ok(Some("r1")),
            ),
            (
                "FAILED",
                Some("PreflightFailed"),
                None,
                Some(lambda_error),
                Ok(None),
            ),
            (
                "FAILED",
                Some("States.Timeout"),
                None,
                Some("not json"),
                Ok(None),
            ),
            ("RUNNING", None, None, None, Ok(None)),
            (
                "SUCCEEDED",
                None,
                Some("not json"),
                None,
                Err("its output is not a release report"),
            ),
            (
                "FAILED",
                Some("ReleaseFailed"),
                None,
                Some("{}"),
                Err("its cause is not a release report"),
            ),
        ];
        for (status, error, output, cause, want) in cases {
            let got = report_of(status, error, output, cause);
            match (got, want) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(
                        got.map(|r| r.release_id).as_deref(),
                        want,
                        "{status} {error:?}"
                    )
                }
                (Err(got), Err(want)) => assert!(got.starts_with(want), "{got}"),
                (got, want) => panic!("{status} {error:?}: {got:?}, want {want:?}"),
            }
        }
    }
}
