//! The bad-manifest corpus (`tests/manifests/bad/`): each file is one realistic mistake, and
//! `expected.tsv` holds a fragment of the message it must produce. Every problem must name the file,
//! and item-level problems their item and field.

use std::path::{Path, PathBuf};

use release_core::decide::manifest;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/manifests/bad")
}

fn expectations() -> Vec<(String, String)> {
    let tsv = std::fs::read_to_string(corpus_dir().join("expected.tsv")).expect("expected.tsv");
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (file, fragment) = l.split_once('\t').expect("file<TAB>fragment");
            (file.to_string(), fragment.to_string())
        })
        .collect()
}

/// Problems about the document as a whole have no item or field to name.
fn is_document_level(message: &str) -> bool {
    [
        "YAML syntax error",
        "the top level must be",
        "the manifest is empty",
    ]
    .iter()
    .any(|m| message.starts_with(m))
}

#[test]
fn every_bad_manifest_is_rejected_with_its_expected_message() {
    let expected = expectations();
    assert!(
        expected.len() >= 25,
        "the corpus holds {} cases",
        expected.len()
    );
    for (file, fragment) in &expected {
        let text = std::fs::read_to_string(corpus_dir().join(file)).expect(file);
        let problems = manifest::validate(file, &text).expect_err(file);
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let wanted = format!("{file}: {fragment}");
        assert!(
            lines.iter().any(|l| l.contains(&wanted)),
            "{file}: no problem contains {wanted:?}; got:\n{}",
            lines.join("\n")
        );
        for p in &problems {
            assert_eq!(p.file, *file, "{p}");
            assert!(!p.message.is_empty(), "{p}");
            if !is_document_level(&p.message) {
                assert!(
                    !p.item.is_empty() || !p.field.is_empty(),
                    "{file}: unplaced problem: {p}"
                );
            }
            // Item-level problems name the item; a field is named unless the item itself is wrong.
            let item_level = ["services[", "tasks[", "schedules[", "jobs["];
            if item_level.iter().any(|list| p.item.starts_with(list)) {
                let item_is_the_problem = p.message.starts_with("expected a mapping");
                assert!(item_is_the_problem || !p.field.is_empty(), "{file}: {p}");
            }
        }
        // `parse` fails with the stable error name and the same problems.
        let err = manifest::parse(file, &text).expect_err(file);
        assert_eq!(err.name(), "ManifestInvalid");
        assert!(err.to_string().contains(&wanted), "{file}: {err}");
    }
}

#[test]
fn every_corpus_file_is_listed_in_expected_tsv() {
    let listed: Vec<String> = expectations().into_iter().map(|(f, _)| f).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk);
}
