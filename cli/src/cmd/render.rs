//! `convoy render FILE`: the exact JSON input of the release state machine.

use std::path::PathBuf;
use std::process::ExitCode;

use release_core::manifest;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
}

pub fn run(args: &Args) -> ExitCode {
    match crate::io::read_release(&args.file, "not rendered") {
        Ok((_, release)) => {
            crate::io::print(&format!("{}\n", manifest::render(&release)));
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
