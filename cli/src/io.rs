//! Reading a manifest from a file or, for `-`, from stdin; writing results to stdout.

use std::io::{Read, Write};
use std::path::Path;

use release_core::contract::ReleaseInput;
use release_core::decide::manifest;

use crate::error::CliError;

/// A manifest's text and the name problems refer to it by (the path as given, or `-`).
pub struct Manifest {
    pub name: String,
    pub text: String,
}

pub fn read(path: &Path) -> Result<Manifest, CliError> {
    let name = path.display().to_string();
    let text = if name == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    match text {
        Ok(text) => Ok(Manifest { name, text }),
        Err(error) => Err(CliError::Unreadable {
            name: if name == "-" { "stdin".into() } else { name },
            error,
        }),
    }
}

/// Reads and validates the manifest at `path`: its name and the release. `verdict` is what the
/// problem summary says of an invalid one (`not deployed`, ...).
pub fn read_release(path: &Path, verdict: &str) -> Result<(String, ReleaseInput), CliError> {
    let input = read(path)?;
    match manifest::validate(&input.name, &input.text) {
        Ok(release) => Ok((input.name, release)),
        Err(problems) => Err(CliError::Problems {
            file: input.name,
            verdict: verdict.into(),
            problems,
        }),
    }
}

/// The source commit a release is rendered from: carried into the release events. CodeBuild sets
/// `CODEBUILD_RESOLVED_SOURCE_VERSION` to the pipeline's source revision.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommitArgs {
    /// The source commit of the manifest (default: CodeBuild's resolved source version).
    #[arg(long, value_name = "SHA", env = "CODEBUILD_RESOLVED_SOURCE_VERSION")]
    commit: Option<String>,
}

impl CommitArgs {
    /// `release` with the commit, when one was given. The release id does not depend on it.
    pub fn stamp(&self, mut release: ReleaseInput) -> ReleaseInput {
        release.release.commit = self
            .commit
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        release
    }
}

/// Writes `text` to stdout. A reader that went away (`convoy validate x | head -1`) is not an
/// error worth a panic; the exit code still tells the verdict.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
