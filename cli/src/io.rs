//! Reading a manifest from a file or, for `-`, from stdin; writing results to stdout.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use release_core::manifest;
use release_core::step::ReleaseInput;

use crate::output::problems_found;

/// A manifest's text and the name problems refer to it by (the path as given, or `-`).
pub struct Manifest {
    pub name: String,
    pub text: String,
}

/// Reads `path`; on failure prints why on stderr and returns the exit code to end with.
pub fn read(path: &PathBuf) -> Result<Manifest, ExitCode> {
    let name = path.display().to_string();
    let text = if name == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    match text {
        Ok(text) => Ok(Manifest { name, text }),
        Err(e) => {
            let shown = if name == "-" { "stdin" } else { &name };
            eprintln!("convoy: cannot read {shown}: {e}");
            Err(ExitCode::from(crate::EXIT_USAGE))
        }
    }
}

/// Reads and validates the manifest at `path`: its name and the release. On failure prints why
/// (every problem, then `FILE: REFUSAL, N problems`) and returns the exit code to end with.
pub fn read_release(path: &PathBuf, refusal: &str) -> Result<(String, ReleaseInput), ExitCode> {
    let input = read(path)?;
    match manifest::validate(&input.name, &input.text) {
        Ok(release) => Ok((input.name, release)),
        Err(problems) => Err(problems_found(&input.name, refusal, &problems)),
    }
}

/// Writes `text` to stdout. A reader that went away (`convoy validate x | head -1`) is not an
/// error worth a panic; the exit code still tells the verdict.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
