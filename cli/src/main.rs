//! `convoy`: ship many ECS services and scheduled tasks as one release.
//!
//! `cmd` holds one module per command; each says how it ended as an [`exit::Exit`], or fails with
//! a [`error::CliError`] that says which. The modules below `cmd` are what the commands share.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod aws;
mod cmd;
mod error;
mod execution;
mod exit;
mod follow;
mod io;
mod output;
mod plan_view;
mod progress;
mod release_view;
mod restore;
mod start_input;

use error::CliError;
use exit::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "convoy",
    version,
    about = "Ship many ECS services as one release"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a release manifest and list every problem in it.
    Validate(cmd::validate::Args),
    /// Print the JSON input the release state machine is started with.
    Render(cmd::render::Args),
    /// Show what a release would change, without changing anything (exit 2 when it would).
    Plan(cmd::plan::Args),
    /// Start a release on the release state machine, then watch it.
    Deploy(cmd::deploy::Args),
    /// Follow a release execution to its end, with per-item progress and the final report.
    Watch(cmd::watch::Args),
    /// Print where a release execution is now (once).
    Status(cmd::status::Args),
    /// Put a finished release's items back on the task definitions they ran before it.
    Rollback(cmd::rollback::Args),
    /// Put back the auto scaling a release suspended (`suspendAutoScaling`), from its records.
    ResumeScaling(cmd::resume_scaling::Args),
    /// The releases that changed a service or rule, newest first (the release ledger).
    History(cmd::history::Args),
    /// List the release locks: which release holds which service or rule.
    Locks(cmd::locks::ListArgs),
    /// Remove one release lock by hand (`--force`), saying whose it was.
    Unlock(cmd::locks::UnlockArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap would exit 2 for a usage error, which is "plan has changes" here.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Ok
            }
            .into();
        }
    };
    let ended = match cli.command {
        Command::Validate(args) => cmd::validate::run(&args),
        Command::Render(args) => block_on(cmd::render::run(&args)),
        Command::Plan(args) => block_on(cmd::plan::run(&args)),
        Command::Deploy(args) => block_on(cmd::deploy::run(&args)),
        Command::Watch(args) => block_on(cmd::watch::run(&args)),
        Command::Status(args) => block_on(cmd::status::run(&args)),
        Command::Rollback(args) => block_on(cmd::rollback::run(&args)),
        Command::ResumeScaling(args) => block_on(cmd::resume_scaling::run(&args)),
        Command::History(args) => block_on(cmd::history::run(&args)),
        Command::Locks(args) => block_on(cmd::locks::list_locks(&args)),
        Command::Unlock(args) => block_on(cmd::locks::unlock(&args)),
    };
    match ended {
        Ok(exit) => exit.into(),
        Err(e) => {
            e.print();
            e.exit().into()
        }
    }
}

/// Runs an AWS-talking command to completion on a runtime made for it.
fn block_on(
    command: impl std::future::Future<Output = Result<Exit, CliError>>,
) -> Result<Exit, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?
        .block_on(command)
}
