//! Every exit code `convoy` ends with, one meaning each (docs/cli.md lists the same table; a test
//! keeps the two equal). Scripts branch on these, so a code never changes meaning.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done: valid, nothing would change, the release or rollback succeeded.
    Ok,
    /// The release failed or was rolled back, or a rollback did not restore everything.
    Failed,
    /// `plan`: valid, and something would change.
    Changes,
    /// The execution timed out or was aborted.
    Aborted,
    /// `status`: the execution still runs.
    Running,
    /// The manifest is invalid, or the release fails its pre-flight.
    Invalid,
    /// The release is in no state for the command: already started, still running, nothing
    /// recorded to restore; or a rollback left items alone that run someone else's revision.
    Refused,
    /// An AWS call failed (unreachable, denied, throttled), or what it returned cannot be read.
    Aws,
    /// Bad arguments, or an input file that cannot be read.
    Usage,
}

impl Exit {
    /// Every code, in the order docs/cli.md lists them.
    pub const ALL: [Exit; 9] = [
        Exit::Ok,
        Exit::Failed,
        Exit::Changes,
        Exit::Aborted,
        Exit::Running,
        Exit::Invalid,
        Exit::Refused,
        Exit::Aws,
        Exit::Usage,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            // Documented as 2 since the first `plan`; CI scripts test for it.
            Exit::Changes => 2,
            Exit::Aborted => 3,
            Exit::Running => 4,
            Exit::Invalid => 5,
            Exit::Refused => 6,
            Exit::Aws => 7,
            Exit::Usage => 8,
        }
    }

    /// The meaning, as the table in docs/cli.md words it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "success: valid, nothing would change, the release or rollback succeeded",
            Exit::Failed => {
                "the release failed or was rolled back, or a rollback did not restore everything"
            }
            Exit::Changes => "`plan`: valid, and something would change",
            Exit::Aborted => "the execution timed out or was aborted",
            Exit::Running => "`status`: the execution is still running",
            Exit::Invalid => "invalid manifest or pre-flight problems (all listed on stderr)",
            Exit::Refused => {
                "refused: the release was already started, its execution still runs, it recorded nothing to restore, or a rollback left items alone that run a revision it did not deploy (`--force`)"
            }
            Exit::Aws => "AWS error: unreachable, denied, throttled, or an answer or record that cannot be read",
            Exit::Usage => "usage error or unreadable input file",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn no_two_meanings_share_a_code() {
        let codes: BTreeSet<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), Exit::ALL.len());
        assert_eq!(Exit::Ok.code(), 0);
        // clap's own usage code is 2: it must be ours for "plan has changes" only.
        assert_eq!(Exit::Changes.code(), 2);
    }

    #[test]
    fn docs_list_every_code_with_its_meaning() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cli.md");
        let docs = std::fs::read_to_string(path).unwrap();
        for exit in Exit::ALL {
            let row = format!("| {} | {} |", exit.code(), exit.meaning());
            assert!(docs.contains(&row), "docs/cli.md lacks the row `{row}`");
        }
    }
}
