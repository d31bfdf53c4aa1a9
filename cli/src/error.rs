//! Why a command could not do its work, and the exit code each reason ends with.
//!
//! Messages carry everything worth printing: no variant also returns a `source()`, so a reader
//! that prints the chain never shows a cause twice.

use release_core::error::with_causes;
use release_core::{Error, Problem};

use crate::exit::Exit;
use crate::output::plural;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments that clap cannot see (a release id without a state machine, ...).
    #[error("{0}")]
    Usage(String),
    /// An input file (or stdin) that cannot be read.
    #[error("cannot read {name}: {error}")]
    Unreadable { name: String, error: std::io::Error },
    /// An output file that cannot be written.
    #[error("cannot write {name}: {error}")]
    Unwritable { name: String, error: std::io::Error },
    /// An invalid manifest, or a release its pre-flight rejects: every problem.
    #[error("{file}: {verdict}, {}", plural(.problems.len(), "problem"))]
    Problems {
        file: String,
        verdict: String,
        problems: Vec<Problem>,
    },
    /// The release is in no state for the command.
    #[error("{0}")]
    Refused(String),
    /// An AWS call or what it returned (an unreadable record included), with its causes.
    #[error("{}", with_causes(.0))]
    Aws(Error),
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Usage(_) | CliError::Unreadable { .. } | CliError::Unwritable { .. } => {
                Exit::Usage
            }
            CliError::Problems { .. } => Exit::Invalid,
            CliError::Refused(_) => Exit::Refused,
            CliError::Aws(_) | CliError::Runtime(_) => Exit::Aws,
        }
    }

    /// Prints the error on stderr the way every command does: each problem on its own line, then
    /// `convoy: ` and the message (without `convoy: ` before a problem summary, which starts with
    /// the file name like the problems above it).
    pub fn print(&self) {
        match self {
            CliError::Problems { problems, .. } => {
                for problem in problems {
                    eprintln!("{problem}");
                }
                eprintln!("{self}");
            }
            other => eprintln!("convoy: {other}"),
        }
    }
}

impl From<Error> for CliError {
    /// Problems stay problems (listed one per line); everything else release-core reports to the
    /// CLI comes from talking to AWS or reading what it keeps.
    fn from(e: Error) -> Self {
        let problems = |verdict: &str, problems: Vec<Problem>| CliError::Problems {
            file: problems
                .first()
                .map(|p| p.file.clone())
                .unwrap_or_else(|| "release".into()),
            verdict: verdict.into(),
            problems,
        };
        match e {
            Error::ManifestInvalid(list) => problems("manifest invalid", list),
            Error::PreflightFailed(list) => problems("pre-flight failed", list),
            other => CliError::Aws(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn problem(file: &str) -> Problem {
        Problem {
            file: file.into(),
            item: "services[0] (prod/web)".into(),
            field: "cluster".into(),
            message: "cluster `prod` not found".into(),
        }
    }

    #[test]
    fn each_kind_of_error_has_its_exit_code() {
        let cases = [
            (CliError::Usage("which state machine?".into()), Exit::Usage),
            (
                CliError::Unreadable {
                    name: "x.yaml".into(),
                    error: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
                Exit::Usage,
            ),
            (
                Error::PreflightFailed(vec![problem("d.yaml")]).into(),
                Exit::Invalid,
            ),
            (
                Error::ManifestInvalid(vec![problem("d.yaml")]).into(),
                Exit::Invalid,
            ),
            (CliError::Refused("already started".into()), Exit::Refused),
            (
                Error::AccessDenied {
                    message: "DescribeExecution".into(),
                    source: None,
                }
                .into(),
                Exit::Aws,
            ),
            (
                Error::internal("s3://b/k: unreadable record").into(),
                Exit::Aws,
            ),
        ];
        for (error, exit) in cases {
            assert_eq!(error.exit(), exit, "{error}");
        }
    }

    #[test]
    fn messages_say_everything_and_nothing_twice() {
        let unreadable = CliError::Unreadable {
            name: "x.yaml".into(),
            error: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"),
        };
        assert_eq!(unreadable.to_string(), "cannot read x.yaml: No such file");
        assert!(unreadable.source().is_none());
        let preflight: CliError =
            Error::PreflightFailed(vec![problem("d.yaml"), problem("d.yaml")]).into();
        assert_eq!(
            preflight.to_string(),
            "d.yaml: pre-flight failed, 2 problems"
        );
        let denied: CliError = Error::AccessDenied {
            message: "GetObject".into(),
            source: None,
        }
        .into();
        assert_eq!(denied.to_string(), "access denied: GetObject");
        assert!(denied.source().is_none());
    }
}
