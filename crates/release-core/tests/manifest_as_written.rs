//! The manifest is read as written: a numeric release label keeps its source text, a syntax error
//! points at its cause, and numbers too large for YAML are reported per field like any other.
#![allow(clippy::unwrap_used)]

use release_core::decide::manifest;
use release_core::Problem;

const FILE: &str = "deployment.yaml";
const WEB: &str =
    "services:\n  - {service: web, clusterName: prod, serviceName: web, image: reg.example.com/web:1.0.0}\n";

fn problems(yaml: &str) -> Vec<Problem> {
    match manifest::validate(FILE, yaml) {
        Ok(input) => panic!("expected problems, got a valid release: {input:?}"),
        Err(problems) => problems,
    }
}

#[test]
fn a_numeric_release_label_is_the_description_as_written() {
    for (label, description) in [
        ("4.10", "4.10"),
        ("4.0", "4.0"),
        ("2.50", "2.50"),
        ("10", "10"),
        ("1e3", "1e3"),
        ("'4.10'", "4.10"),
        ("\"v4.10\"", "v4.10"),
    ] {
        let input = manifest::validate(FILE, &format!("release: {label}\n{WEB}")).unwrap();
        assert_eq!(
            input.release.description.as_deref(),
            Some(description),
            "{label}"
        );
        let rendered = manifest::render(&input);
        assert!(
            rendered.contains(&format!("\"description\": \"{description}\"")),
            "{rendered}"
        );
    }
    // The id derives from the label as written: 4.1 and 4.10 are different releases.
    let id = |label: &str| {
        manifest::validate(FILE, &format!("release: {label}\n{WEB}"))
            .unwrap()
            .release
            .id
    };
    assert_ne!(id("4.1"), id("4.10"));
}

#[test]
fn an_unclosed_quote_is_reported_on_the_line_it_opens() {
    // At the end of the file, and with another quoted value after it (the string then runs on to
    // that value's opening quote and the error comes later still).
    let at_the_end = "release: 4.0\nservices:\n  - service: web\n    clusterName: prod\n    serviceName: web\n    image: \"reg.example.com/web:1.0.0\n  - service: api\n    clusterName: prod\n    serviceName: api\n    image: reg.example.com/api:1.0.0\n";
    let before_another =
        at_the_end.replace("image: reg.example.com/api", "image: \"reg.example.com/api");
    for yaml in [at_the_end.to_string(), before_another] {
        let found = problems(&yaml);
        assert_eq!(found.len(), 1, "{found:#?}");
        let message = &found[0].message;
        assert!(
            message.starts_with(
                "YAML syntax error at line 6, column 12: the quoted string that opens here is not closed"
            ),
            "{message}"
        );
        assert_eq!(found[0].file, FILE);
    }
}

#[test]
fn every_out_of_range_setting_is_reported_even_beyond_64_bits() {
    let yaml = format!(
        "settings:\n  maxConcurrency: 100000000000000000000\n  pollIntervalSeconds: \
         -99999999999999999999\n  keepRevisions: 18446744073709551616\n  rollback: sometimes\n{WEB}  \
         - {{service: api, clusterName: prod, serviceName: api, image: reg.example.com/api:1.0.0, \
         desiredCount: 99999999999999999999, timeoutSeconds: 7}}\n"
    );
    let found: Vec<(String, String, String)> = problems(&yaml)
        .into_iter()
        .map(|p| (p.item, p.field, p.message))
        .collect();
    let want = [
        (
            "",
            "settings.rollback",
            "must be one of all, failed, none; got `sometimes`",
        ),
        (
            "",
            "settings.maxConcurrency",
            "must be between 1 and 40, got 100000000000000000000",
        ),
        (
            "",
            "settings.pollIntervalSeconds",
            "must be between 1 and 5, got -99999999999999999999",
        ),
        (
            "",
            "settings.keepRevisions",
            "must be between 0 and 1000, got 18446744073709551616",
        ),
        (
            "services[1] (prod/api)",
            "desiredCount",
            "must be 0 or more, got 99999999999999999999",
        ),
        (
            "services[1] (prod/api)",
            "timeoutSeconds",
            "must be between 60 and 10800, got 7",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(i, f, m)| ((*i).to_string(), (*f).to_string(), (*m).to_string()))
        .collect();
    assert_eq!(found, want);
}

#[test]
fn a_name_too_large_for_a_number_must_be_quoted() {
    let found = problems(
        "services:\n  - {service: web, clusterName: prod, serviceName: 123456789012345678901234, image: r/web:1}\n",
    );
    assert!(
        found.iter().any(|p| p.field == "serviceName"
            && p.message
                .contains("found the number 123456789012345678901234 (quote it")),
        "{found:#?}"
    );
}
