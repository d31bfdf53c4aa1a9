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
    let input = match crate::io::read(&args.file) {
        Ok(input) => input,
        Err(code) => return code,
    };
    match manifest::validate(&input.name, &input.text) {
        Ok(release) => {
            crate::io::print(&format!("{}\n", manifest::render(&release)));
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!(
                "{}: not rendered, {} problem{}",
                input.name,
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            ExitCode::from(crate::EXIT_INVALID)
        }
    }
}
