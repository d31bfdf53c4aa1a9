//! What the `convoy` binary tests share: paths in the repository, the binary pointed at an AWS
//! endpoint, the demo world and temporary manifests.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The Python with moto (`$CONVOY_PYTHON`, or the one `local/install.sh` sets up).
pub fn python() -> PathBuf {
    std::env::var("CONVOY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo(".tools/venv/bin/python"))
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// `convoy` run from the repository root against `endpoint`, with test credentials.
pub fn convoy_on(endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_convoy"));
    command
        .current_dir(repo(""))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        // A records bucket from the caller's shell would make release ids resolve through its
        // ledger: each test says which bucket it means.
        .env_remove("CONVOY_RECORDS_BUCKET");
    command
}

/// Seeds `local/seed_demo.py`'s demo world (clusters convoy-demo-a/b, rule convoy-demo-nightly,
/// all on 1.0.0) into the moto at `endpoint`.
pub fn seed_demo_world(endpoint: &str) {
    let seeded = Command::new(python())
        .arg(repo("local/seed_demo.py"))
        .args(["--endpoint", endpoint])
        .output()
        .expect("seed_demo.py runs");
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
}

/// Writes `yaml` to a temporary file named after the test file (`prefix`) and `name`; returns its path.
pub fn manifest(prefix: &str, name: &str, yaml: &str) -> String {
    let path = std::env::temp_dir().join(format!(
        "convoy-{prefix}-{}-{name}.yaml",
        std::process::id()
    ));
    std::fs::write(&path, yaml).expect("write manifest");
    path.display().to_string()
}
