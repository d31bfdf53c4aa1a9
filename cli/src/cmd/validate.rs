//! `convoy validate FILE`: every problem of a manifest at once, or a one-line summary. Problems
//! go to stdout here: they are the command's answer, not an error.

use std::path::PathBuf;

use clap::ValueEnum;
use release_core::contract::ReleaseInput;
use release_core::decide::manifest::{self, thousands};
use release_core::decide::release_ref::{goes_by_reference, INLINE_MAX_BYTES};
use release_core::Problem;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output::plural;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The manifest (`deployment.yaml`), or `-` for stdin.
    file: PathBuf,
    /// `text`: one problem per line; `json`: `{"valid":bool,"problems":[...]}`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: &Args) -> Result<Exit, CliError> {
    let input = crate::io::read(&args.file)?;
    let result = manifest::validate(&input.name, &input.text);
    let problems: &[Problem] = match &result {
        Ok(_) => &[],
        Err(problems) => problems,
    };
    let output = match (args.format, &result) {
        (Format::Json, _) => {
            let report = serde_json::json!({ "valid": result.is_ok(), "problems": problems });
            format!("{report}\n")
        }
        (Format::Text, Ok(release)) => format!(
            "{}: valid release {} ({}, {}{}{}){}\n",
            input.name,
            release.release.id,
            plural(release.services.len(), "service"),
            plural(release.tasks.len(), "task"),
            jobs(release),
            in_waves(release),
            by_reference(release),
        ),
        (Format::Text, Err(problems)) => {
            let mut lines: String = problems.iter().map(|p| format!("{p}\n")).collect();
            lines.push_str(&format!(
                "{}: {}\n",
                input.name,
                plural(problems.len(), "problem")
            ));
            lines
        }
    };
    crate::io::print(&output);
    Ok(if result.is_ok() {
        Exit::Ok
    } else {
        Exit::Invalid
    })
}

/// `, 1 schedule, 2 jobs`: the release's schedules and jobs, when it has any.
fn jobs(release: &ReleaseInput) -> String {
    [
        (release.schedules.len(), "schedule"),
        (release.jobs.len(), "job"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!(", {}", plural(n, what)))
    .collect()
}

/// `, in 3 waves` for a release that `dependsOn` orders; nothing for one wave.
fn in_waves(release: &ReleaseInput) -> String {
    match release.waves.len() {
        0 | 1 => String::new(),
        n => format!(", in {n} waves"),
    }
}

/// What the summary adds for a release started by reference: its size, and that deploy and render
/// need the release-records bucket for it.
fn by_reference(release: &ReleaseInput) -> String {
    let rendered = manifest::render(release);
    if !goes_by_reference(&rendered) {
        return String::new();
    }
    format!(
        "; it renders to {} bytes, above {} inline: started by reference (deploy and render \
         need --bucket)",
        thousands(rendered.len()),
        thousands(INLINE_MAX_BYTES)
    )
}
