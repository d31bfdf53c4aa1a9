//! `convoy`: ship many ECS services and scheduled tasks as one release.
//!
//! One module per verb; each returns the process exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod aws;
mod deploy;
mod execution;
mod io;
mod output;
mod plan;
mod progress;
mod records;
mod render;
mod rollback;
mod status;
mod validate;
mod watch;

/// Exit code of a manifest that is not a valid release.
const EXIT_INVALID: u8 = 1;
/// Exit code of a usage error or an unreadable file (clap uses 2 for usage errors too).
const EXIT_USAGE: u8 = 2;

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
    Validate(validate::Args),
    /// Print the JSON input the release state machine is started with.
    Render(render::Args),
    /// Show what a release would change, without changing anything (exit 2 when it would).
    Plan(plan::Args),
    /// Start a release on the release state machine, then watch it.
    Deploy(deploy::Args),
    /// Follow a release execution to its end, with per-item progress and the final report.
    Watch(watch::Args),
    /// Print where a release execution is now (once).
    Status(status::Args),
    /// Put a finished release's items back on the task definitions they ran before it.
    Rollback(rollback::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate(args) => validate::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Plan(args) => block_on(plan::run(&args)),
        Command::Deploy(args) => block_on(deploy::run(&args)),
        Command::Watch(args) => block_on(watch::run(&args)),
        Command::Status(args) => block_on(status::run(&args)),
        Command::Rollback(args) => block_on(rollback::run(&args)),
    }
}

/// Runs an AWS-talking verb to completion on a runtime made for it.
fn block_on(verb: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(verb),
        Err(e) => {
            eprintln!("convoy: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}
