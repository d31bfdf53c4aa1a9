//! `convoy deploy FILE`: validate, render, start the release state machine with the release id as
//! the execution name, then watch it. A release id starts at most one execution: a second deploy
//! of the same release is refused, never started twice. A release above 32 KiB is written to the
//! release-records bucket (`--bucket`) first and started by reference (decisions/0006).

use std::path::PathBuf;

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;

use crate::aws::{execution_arn, sfn_error, state_machine_arn, Aws, AwsArgs, MachineArgs};
use crate::error::CliError;
use crate::exit::Exit;
use crate::follow::{follow, FollowArgs};
use crate::start_input::Rendered;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
    #[command(flatten)]
    machine: MachineArgs,
    /// The release-records bucket (the stack output `ReleaseRecordsBucketName`): a release above
    /// 32 KiB is written there, under `inputs/<release id>/<sha256>.json`, and started by
    /// reference. Unused for a smaller release.
    #[arg(long, env = "CONVOY_RECORDS_BUCKET", value_name = "NAME")]
    bucket: Option<String>,
    /// Start the release and print its execution ARN; do not follow it.
    #[arg(long)]
    no_watch: bool,
    #[command(flatten)]
    follow: FollowArgs,
    #[command(flatten)]
    commit: crate::io::CommitArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: &Args) -> Result<Exit, CliError> {
    let (file, release) = crate::io::read_release(&args.file, "not deployed")?;
    let release = args.commit.stamp(release);
    let id = release.release.id.clone();
    let rendered = Rendered::of(&release);
    let bucket = args.bucket.as_deref().filter(|b| !b.is_empty());
    if rendered.by_reference() && bucket.is_none() {
        return Err(rendered.needs_bucket(&file, "CONVOY_RECORDS_BUCKET works too"));
    }
    let aws = Aws::connect(&args.aws).await?;
    let machine = state_machine_arn(&aws, &args.machine).await?;
    let arn = execution_arn(&machine, &id);
    // Step Functions answers a repeated StartExecution with the same name and input by returning the
    // running execution, so look first: a second deploy must be refused, not silently joined.
    match aws
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
    {
        Ok(existing) => return Err(already_started(&id, &arn, Some(existing.status().as_str()))),
        Err(e)
            if e.as_service_error()
                .is_some_and(DescribeExecutionError::is_execution_does_not_exist) => {}
        Err(e) => return Err(sfn_error(&format!("DescribeExecution {arn}"), e).into()),
    }
    // Written only now: a release already started writes nothing.
    let input = match bucket {
        Some(bucket) => rendered.execution_input(&aws, bucket).await?,
        None => rendered.json.clone(),
    };
    let started = aws
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&id)
        .input(input)
        .send()
        .await;
    let arn = match started {
        Ok(out) => out.execution_arn().to_owned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(StartExecutionError::is_execution_already_exists) =>
        {
            return Err(already_started(&id, &arn, None))
        }
        Err(e) => return Err(sfn_error(&format!("StartExecution {id}"), e).into()),
    };
    eprintln!("convoy: started release {id}: {arn}");
    if args.no_watch {
        crate::io::print(&format!("{arn}\n"));
        return Ok(Exit::Ok);
    }
    follow(&aws, &arn, &args.follow).await
}

fn already_started(id: &str, arn: &str, status: Option<&str>) -> CliError {
    let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
    CliError::Refused(format!(
        "release `{id}` was already started{status}: {arn}\n\
         convoy: not started again. Follow it with `convoy watch {arn}`, or give the manifest a new release.id"
    ))
}
