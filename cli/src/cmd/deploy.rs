//! `convoy deploy FILE`: validate, render, start the release state machine with the release id as
//! the execution name, then watch it. A release id starts at most one execution: a second deploy
//! of the same release is refused, never started twice.

use std::path::PathBuf;
use std::process::ExitCode;

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use release_core::manifest;

use crate::aws::{execution_arn, sfn_error, state_machine_arn, Aws, AwsArgs, MachineArgs};
use crate::output::fail;
use crate::watch::{follow, FollowArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
    #[command(flatten)]
    machine: MachineArgs,
    /// Start the release and print its execution ARN; do not follow it.
    #[arg(long)]
    no_watch: bool,
    #[command(flatten)]
    follow: FollowArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: &Args) -> ExitCode {
    let release = match crate::io::read_release(&args.file, "not deployed") {
        Ok((_, release)) => release,
        Err(code) => return code,
    };
    let id = release.release.id.clone();
    let aws = match Aws::connect(&args.aws).await {
        Ok(aws) => aws,
        Err(e) => return fail(&e),
    };
    let machine = match state_machine_arn(&aws, &args.machine).await {
        Ok(machine) => machine,
        Err(e) => return fail(&e),
    };
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
        Ok(existing) => return refused(&id, &arn, Some(existing.status().as_str())),
        Err(e)
            if e.as_service_error()
                .is_some_and(DescribeExecutionError::is_execution_does_not_exist) => {}
        Err(e) => return fail(&sfn_error(&format!("DescribeExecution {arn}"), e)),
    }
    let started = aws
        .sfn
        .start_execution()
        .state_machine_arn(&machine)
        .name(&id)
        .input(manifest::render(&release))
        .send()
        .await;
    let arn = match started {
        Ok(out) => out.execution_arn().to_owned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(StartExecutionError::is_execution_already_exists) =>
        {
            return refused(&id, &arn, None)
        }
        Err(e) => return fail(&sfn_error(&format!("StartExecution {id}"), e)),
    };
    eprintln!("convoy: started release {id}: {arn}");
    if args.no_watch {
        crate::io::print(&format!("{arn}\n"));
        return ExitCode::SUCCESS;
    }
    follow(&aws, &arn, &args.follow).await
}

fn refused(id: &str, arn: &str, status: Option<&str>) -> ExitCode {
    let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
    eprintln!(
        "convoy: release `{id}` was already started{status}: {arn}\n\
         convoy: not started again. Follow it with `convoy watch {arn}`, or give the manifest a new release.id"
    );
    ExitCode::from(crate::EXIT_INVALID)
}
