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

/// Writes `text` to stdout. A reader that went away (`convoy validate x | head -1`) is not an
/// error worth a panic; the exit code still tells the verdict.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
