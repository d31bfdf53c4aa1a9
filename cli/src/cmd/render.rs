//! `convoy render FILE`: the exact JSON input of the release state machine.

use std::path::PathBuf;

use release_core::decide::manifest;

use crate::error::CliError;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
}

pub fn run(args: &Args) -> Result<Exit, CliError> {
    let (_, release) = crate::io::read_release(&args.file, "not rendered")?;
    crate::io::print(&format!("{}\n", manifest::render(&release)));
    Ok(Exit::Ok)
}
