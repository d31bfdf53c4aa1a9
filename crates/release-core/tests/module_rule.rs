//! The module rule of `src/lib.rs`, checked on the source: `contract` imports nothing of the crate
//! but itself, `decide` never reaches `steps`, `records` or `aws`. A use of a forbidden module
//! anywhere in a file (a `use` line or a full path in code) fails, naming the file and the line.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("source folder is readable") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `file:line: text` of every line under `module` that names one of `forbidden` (`crate::X`).
fn violations(module: &str, forbidden: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src.join(module)) {
        let text = fs::read_to_string(&file).expect("source file is readable");
        for (index, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if forbidden
                .iter()
                .any(|f| code.contains(&format!("crate::{f}")))
            {
                let name = file.strip_prefix(&src).unwrap_or(&file).display();
                found.push(format!("{name}:{}: {}", index + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn decide_is_pure() {
    let found = violations(
        "decide",
        &["steps", "records", "aws", "config", "telemetry"],
    );
    assert!(
        found.is_empty(),
        "decide reaches outside its rule:\n{}",
        found.join("\n")
    );
}

#[test]
fn contract_is_data_only() {
    let found = violations(
        "contract",
        &[
            "steps",
            "records",
            "aws",
            "decide",
            "config",
            "telemetry",
            "error",
            "Error",
        ],
    );
    assert!(
        found.is_empty(),
        "contract reaches outside its rule:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_violation() {
    // The scan itself can fail: the steps module does use records and aws.
    let found = violations("steps", &["records", "aws"]);
    assert!(
        found.iter().any(|v| v.contains("steps/register.rs")),
        "{found:?}"
    );
}
