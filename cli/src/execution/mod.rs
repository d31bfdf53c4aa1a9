//! One release execution and what it keeps: finding it (ARN or release id), DescribeExecution
//! with the release report read out of it, the history read incrementally (`history`), and the
//! release records in S3 (`records`). Every command that looks at an execution reads it here.

pub mod history;
pub mod records;

use aws_sdk_sfn::types::ExecutionStatus;
use release_core::contract::{LedgerEntry, ReleaseReport};
use release_core::steps::ledger::executions;
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
    /// The execution ARN, or the execution name or release id (with --state-machine or --stack,
    /// or --bucket: a release id is also found in the release ledger).
    pub execution: String,
    #[command(flatten)]
    pub machine: MachineArgs,
    /// The release-records bucket (the stack output `ReleaseRecordsBucketName`): a release id that
    /// names no execution is looked up in its release ledger (executions the pipeline starts are
    /// named `release-<uuid>`).
    #[arg(long, env = "CONVOY_RECORDS_BUCKET", value_name = "NAME")]
    pub bucket: Option<String>,
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

/// The execution ARN `args` name: an ARN as is; else the execution of that name on the state
/// machine; else, with a records bucket, the newest execution the release ledger knows for that
/// release id (saying which, when there are several).
pub async fn resolve(aws: &Aws, args: &ExecutionArgs) -> Result<String, CliError> {
    if args.execution.starts_with("arn:") {
        return Ok(args.execution.clone());
    }
    let machine = args.machine.state_machine.is_some() || args.machine.stack.is_some();
    let bucket = args.bucket.as_deref().filter(|b| !b.is_empty());
    if !machine && bucket.is_none() {
        return Err(CliError::Usage(format!(
            "`{}` is not an execution ARN: to find release `{0}`, give --state-machine ARN or --stack NAME (or --bucket NAME)",
            args.execution
        )));
    }
    let named = if machine {
        let machine = state_machine_arn(aws, &args.machine).await?;
        Some(execution_arn(&machine, &args.execution))
    } else {
        None
    };
    let Some(bucket) = bucket else {
        // Without a ledger to look in, the name is the execution's (as `deploy` names it).
        return Ok(named.unwrap_or_default());
    };
    if let Some(arn) = &named {
        if execution_exists(aws, arn).await? {
            return Ok(arn.clone());
        }
    }
    let found = executions(aws.records.objects(), bucket, &args.execution).await?;
    match pick_execution(&args.execution, &found) {
        Ok((arn, note)) => {
            if let Some(note) = note {
                warn(&note);
            }
            Ok(arn)
        }
        Err(message) => Err(CliError::Usage(match named {
            Some(arn) => format!("no execution {arn}, and {message}"),
            None => message,
        })),
    }
}

/// Whether DescribeExecution knows `arn`.
async fn execution_exists(aws: &Aws, arn: &str) -> Result<bool, CliError> {
    match aws.sfn.describe_execution().execution_arn(arn).send().await {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_execution_does_not_exist()) =>
        {
            Ok(false)
        }
        Err(e) => Err(sfn_error(&format!("DescribeExecution {arn}"), e).into()),
    }
}

/// The newest of a release's executions in the ledger (newest first), with a note naming it and
/// the others when there are several; the message when there are none.
pub fn pick_execution(
    release_id: &str,
    newest_first: &[LedgerEntry],
) -> Result<(String, Option<String>), String> {
    let Some(newest) = newest_first.first() else {
        return Err(format!(
            "the release ledger has no execution of release `{release_id}`"
        ));
    };
    let note = (newest_first.len() > 1).then(|| {
        let older: Vec<&str> = newest_first[1..]
            .iter()
            .map(|e| e.execution_name.as_str())
            .collect();
        format!(
            "release {release_id} ran {} times: using the newest, {} (older: {})",
            newest_first.len(),
            newest.execution_name,
            older.join(", ")
        )
    });
    Ok((newest.execution_arn.clone(), note))
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
    fn a_release_id_finds_its_newest_execution() {
        let entry = |name: &str| -> LedgerEntry {
            serde_json::from_value(serde_json::json!({
                "releaseId": "r-1", "executionName": name,
                "executionArn": format!("arn:aws:states:us-east-1:1:execution:m:{name}"),
                "startedAt": 0, "source": "d.yaml", "report": "s3://b/k",
                "changedServices": 1, "changedTasks": 0,
            }))
            .unwrap()
        };
        let one = [entry("release-a")];
        assert_eq!(
            pick_execution("r-1", &one),
            Ok((
                "arn:aws:states:us-east-1:1:execution:m:release-a".into(),
                None
            ))
        );
        let three = [entry("release-c"), entry("release-b"), entry("release-a")];
        let (arn, note) = pick_execution("r-1", &three).unwrap();
        assert!(arn.ends_with(":release-c"), "{arn}");
        assert_eq!(
            note.as_deref(),
            Some("release r-1 ran 3 times: using the newest, release-c (older: release-b, release-a)")
        );
        assert_eq!(
            pick_execution("r-9", &[]),
            Err("the release ledger has no execution of release `r-9`".into())
        );
    }

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
