//! Property: for any valid manifest, `render(parse(x))` is deterministic and reads back as the
//! same `ReleaseInput`; the derived release id is stable.

use proptest::prelude::*;
use release_core::contract::ReleaseInput;
use release_core::decide::manifest;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9]"
}

fn image() -> impl Strategy<Value = String> {
    let registry = prop_oneof![
        Just(String::new()),
        Just("public.ecr.aws/".to_string()),
        Just("111111111111.dkr.ecr.eu-west-1.amazonaws.com/".to_string()),
        Just("localhost:5000/".to_string()),
    ];
    let tag = prop_oneof![
        "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}".prop_map(|t| format!(":{t}")),
        "[a-f0-9]{64}".prop_map(|h| format!("@sha256:{h}")),
    ];
    (registry, name(), tag).prop_map(|(r, n, t)| format!("{r}team/{n}{t}"))
}

/// A manifest as YAML lines, always valid: unique names by construction (index suffixes).
fn manifest_yaml() -> impl Strategy<Value = String> {
    let service = (
        name(),
        name(),
        image(),
        prop::option::of(0..=20i32),
        prop::option::of(60..=3600u32),
        any::<bool>(),
        image(),
    );
    let task = (name(), prop::option::of(name()), image(), any::<bool>());
    let settings = prop::option::of((
        prop::sample::select(vec!["all", "failed", "none"]),
        1..=40u32,
        1..=5u32,
        0..=10u32,
    ));
    let release = prop::option::of((
        "[A-Za-z0-9_-]{1,20}",
        prop::option::of("[a-zA-Z0-9 .]{1,20}"),
    ));
    (
        release,
        settings,
        prop::collection::vec(service, 0..6),
        prop::collection::vec(task, 0..4),
    )
        .prop_filter("a release needs an item", |(_, _, s, t)| !s.is_empty() || !t.is_empty())
        .prop_map(|(release, settings, services, tasks)| {
            let mut y = String::new();
            if let Some((id, description)) = release {
                y.push_str(&format!("release:\n  id: \"{id}\"\n"));
                if let Some(d) = description {
                    y.push_str(&format!("  description: \"{d}\"\n"));
                }
            }
            if let Some((rollback, c, p, k)) = settings {
                y.push_str(&format!("settings:\n  rollback: {rollback}\n  maxConcurrency: {c}\n  pollIntervalSeconds: {p}\n  keepRevisions: {k}\n"));
            }
            if !services.is_empty() {
                y.push_str("services:\n");
            }
            for (i, (cluster, service, img, count, timeout, two, sidecar)) in services.into_iter().enumerate() {
                y.push_str(&format!("  - clusterName: {cluster}\n    serviceName: {service}-{i}\n"));
                if two {
                    y.push_str(&format!("    containers:\n      app: {img}\n      sidecar: {sidecar}\n"));
                } else {
                    y.push_str(&format!("    service: {service}\n    image: \"{img}\"\n"));
                }
                if let Some(n) = count {
                    y.push_str(&format!("    desiredCount: {n}\n"));
                }
                if let Some(t) = timeout {
                    y.push_str(&format!("    timeoutSeconds: {t}\n"));
                }
            }
            if !tasks.is_empty() {
                y.push_str("tasks:\n");
            }
            for (i, (rule, bus, img, alias)) in tasks.into_iter().enumerate() {
                let key = if alias { "cwRuleName" } else { "ruleName" };
                y.push_str(&format!("  - service: app\n    {key}: {rule}-{i}\n    image: {img}\n"));
                if let Some(bus) = bus {
                    y.push_str(&format!("    eventBusName: {bus}\n"));
                }
            }
            y
        })
}

proptest! {
    #[test]
    fn render_is_deterministic_and_round_trips(yaml in manifest_yaml()) {
        let parsed = manifest::parse("deployment.yaml", &yaml)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        let again = manifest::parse("deployment.yaml", &yaml).expect("parsed once already");
        prop_assert_eq!(&parsed, &again);
        let rendered = manifest::render(&parsed);
        prop_assert_eq!(&rendered, &manifest::render(&again));
        let back: ReleaseInput = serde_json::from_str(&rendered).expect("rendered JSON reads back");
        prop_assert_eq!(&back, &parsed);
        prop_assert!(manifest::check_input(&back).is_empty());
        if !yaml.starts_with("release:") {
            prop_assert_eq!(&parsed.release.id, &manifest::derived_release_id(&parsed));
        }
    }
}
