//! Entries that name one service or one rule are one item: the containers they name are merged,
//! and only one container with two images (or a service setting with two values) is refused,
//! naming the file, both items and the field.
#![allow(clippy::unwrap_used)]

use release_core::contract::{ImageMap, Images, ReleaseInput};
use release_core::decide::manifest;
use release_core::Problem;

const FILE: &str = "deployment.yaml";

fn valid(yaml: &str) -> ReleaseInput {
    let input = manifest::validate(FILE, yaml).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(manifest::check_input(&input), vec![], "{yaml}");
    input
}

fn problems(yaml: &str) -> Vec<(String, String, String)> {
    let found: Vec<Problem> = match manifest::validate(FILE, yaml) {
        Ok(input) => panic!("expected problems, got a valid release: {input:?}"),
        Err(problems) => problems,
    };
    assert!(found.iter().all(|p| p.file == FILE), "{found:#?}");
    found
        .into_iter()
        .map(|p| (p.item, p.field, p.message))
        .collect()
}

fn containers(pairs: &[(&str, &str)]) -> Images {
    let map: ImageMap = pairs
        .iter()
        .map(|(c, i)| ((*c).to_string(), (*i).to_string()))
        .collect();
    Images::Containers(map)
}

#[test]
fn entries_for_one_service_are_one_item_with_every_container() {
    let input = valid(
        "services:\n\
         \x20 - {service: app, clusterName: prod, serviceName: web, image: r/app:2}\n\
         \x20 - {service: api, clusterName: prod, serviceName: api, image: r/api:2}\n\
         \x20 - {service: log-router, clusterName: prod, serviceName: web, image: r/fluent:1, desiredCount: 4}\n\
         \x20 - clusterName: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod'\n\
         \x20   serviceName: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/web'\n\
         \x20   containers: {app: r/app:2, metrics: r/metrics:3}\n\
         \x20   timeoutSeconds: 1200\n",
    );
    let names: Vec<(&str, &str)> = input
        .services
        .iter()
        .map(|s| (s.cluster.as_str(), s.service.as_str()))
        .collect();
    // At the first entry's place, as the first entry names it.
    assert_eq!(names, [("prod", "web"), ("prod", "api")]);
    let web = &input.services[0];
    assert_eq!(
        web.images,
        containers(&[
            ("app", "r/app:2"),
            ("log-router", "r/fluent:1"),
            ("metrics", "r/metrics:3")
        ])
    );
    assert_eq!(web.desired_count, Some(4));
    assert_eq!(web.timeout_seconds, 1200);
    assert_eq!(
        input.services[1].images,
        Images::Default {
            preferred: "api".into(),
            image: "r/api:2".into()
        }
    );
}

#[test]
fn an_entry_repeated_as_is_stays_one_sample_style_item() {
    let entry = "  - {service: web, clusterName: prod, serviceName: web, image: r/web:2}\n";
    let input = valid(&format!("services:\n{entry}{entry}"));
    assert_eq!(input.services.len(), 1);
    // Still the sample's meaning: the container named `web`, else the only one.
    assert_eq!(
        input.services[0].images,
        Images::Default {
            preferred: "web".into(),
            image: "r/web:2".into()
        }
    );
    assert_eq!(input.services[0].timeout_seconds, 900);
}

#[test]
fn entries_for_one_rule_are_one_item_but_other_buses_are_other_rules() {
    let input = valid(
        "tasks:\n\
         \x20 - {service: report, cwRuleName: nightly, image: r/report:2}\n\
         \x20 - {service: report, ruleName: nightly, eventBusName: ops, image: r/report:2}\n\
         \x20 - {service: log-router, ruleName: nightly, image: r/fluent:1}\n\
         \x20 - {cwRuleName: nightly, containers: {report: r/report:2}}\n",
    );
    let rules: Vec<(&str, &str)> = input
        .tasks
        .iter()
        .map(|t| (t.event_bus.as_str(), t.rule.as_str()))
        .collect();
    assert_eq!(rules, [("default", "nightly"), ("ops", "nightly")]);
    assert_eq!(
        input.tasks[0].images,
        containers(&[("log-router", "r/fluent:1"), ("report", "r/report:2")])
    );
    let rendered = manifest::render(&input);
    let back: ReleaseInput = serde_json::from_str(&rendered).unwrap();
    assert_eq!(back, input);
}

#[test]
fn one_container_with_two_images_names_both_items_and_the_field() {
    let found = problems(
        "services:\n\
         \x20 - {service: app, clusterName: prod, serviceName: web, image: r/app:2}\n\
         \x20 - {clusterName: prod, serviceName: web, containers: {app: r/app:3, sidecar: r/s:1}}\n\
         tasks:\n\
         \x20 - {service: report, cwRuleName: nightly, image: r/report:2}\n\
         \x20 - {service: log-router, cwRuleName: nightly, image: r/fluent:1}\n\
         \x20 - {service: report, cwRuleName: nightly, image: r/report:3}\n",
    );
    assert_eq!(
        found,
        [
            (
                "services[1] (prod/web)".to_string(),
                "containers.app".to_string(),
                "container `app` gets `r/app:3` here but `r/app:2` in services[0] (prod/web): \
                 entries for one service are merged into one item, and a container takes one \
                 image per release"
                    .to_string()
            ),
            (
                "tasks[2] (nightly)".to_string(),
                "image".to_string(),
                "container `report` gets `r/report:3` here but `r/report:2` in tasks[0] \
                 (nightly): entries for one rule are merged into one item, and a container takes \
                 one image per release"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn service_settings_of_merged_entries_must_agree() {
    let entry = |container: &str, extra: &str| {
        format!(
            "  - {{service: {container}, clusterName: prod, serviceName: web, image: r/{container}:1{extra}}}\n"
        )
    };
    // Given once, or the same twice: kept.
    let input = valid(&format!(
        "services:\n{}{}",
        entry("app", ", desiredCount: 2, maximumPercent: 150"),
        entry("sidecar", ", desiredCount: 2, minimumHealthyPercent: 50")
    ));
    let web = &input.services[0];
    assert_eq!(
        (
            web.desired_count,
            web.minimum_healthy_percent,
            web.maximum_percent
        ),
        (Some(2), Some(50), Some(150))
    );
    // Given twice with different values: each reported, on the later item.
    let found = problems(&format!(
        "services:\n{}{}",
        entry(
            "app",
            ", desiredCount: 2, minimumHealthyPercent: 50, maximumPercent: 150, timeoutSeconds: 900"
        ),
        entry(
            "sidecar",
            ", desiredCount: 3, minimumHealthyPercent: 100, maximumPercent: 200, timeoutSeconds: 600"
        )
    ));
    let fields: Vec<(&str, &str)> = found
        .iter()
        .map(|(item, field, _)| (item.as_str(), field.as_str()))
        .collect();
    let later = "services[1] (prod/web)";
    assert_eq!(
        fields,
        [
            (later, "desiredCount"),
            (later, "minimumHealthyPercent"),
            (later, "maximumPercent"),
            (later, "timeoutSeconds")
        ]
    );
    assert_eq!(
        found[0].2,
        "is 3 here but 2 in services[0] (prod/web): entries for one service are merged into one \
         item, so their settings must agree"
    );
    // An explicit 900 agrees with the default of an entry that gives none.
    valid(&format!(
        "services:\n{}{}",
        entry("app", ", timeoutSeconds: 900"),
        entry("sidecar", "")
    ));
}
