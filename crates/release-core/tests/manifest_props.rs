//! Properties of the manifest reader: for any valid manifest, `render(parse(x))` reads back as the
//! same `ReleaseInput`, which the step-input re-check (`check_input`, run again by plan-release on
//! whatever the state machine was started with) accepts; for a manifest made invalid in one field,
//! the YAML validator and the re-check of the same input both refuse it, naming that field.

use proptest::prelude::*;
use release_core::contract::{Images, ReleaseInput};
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
    let schedule = (
        name(),
        prop::option::of(prop_oneof![Just("default".to_owned()), name()]),
        image(),
        any::<bool>(),
        any::<bool>(),
    );
    let job = (
        (name(), name(), image(), any::<bool>()),
        prop::option::of(60..=3600u32),
        0..3u8,
        0..3u8,
        any::<bool>(),
    );
    (
        release,
        settings,
        prop::collection::vec(service, 0..6),
        prop::collection::vec(task, 0..4),
        (
            prop::collection::vec(schedule, 0..4),
            prop::collection::vec(job, 0..3),
        ),
    )
        .prop_filter("a release needs an item", |(_, _, s, t, (c, j))| {
            !s.is_empty() || !t.is_empty() || !c.is_empty() || !j.is_empty()
        })
        .prop_map(|(release, settings, services, tasks, (schedules, jobs))| {
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
            if !schedules.is_empty() {
                y.push_str("schedules:\n");
            }
            for (i, (schedule, group, img, two, named)) in schedules.into_iter().enumerate() {
                // `.s` is in no other item's name here: schedules are unique in the release.
                y.push_str(&format!("  - scheduleName: {schedule}.s{i}\n"));
                if let Some(group) = group {
                    y.push_str(&format!("    groupName: {group}\n"));
                }
                if two {
                    y.push_str(&format!("    containers:\n      app: {img}\n      sidecar: {img}\n"));
                } else {
                    y.push_str(&format!("    service: app\n    image: \"{img}\"\n"));
                }
                if named {
                    y.push_str(&format!("    name: schedule_{i}\n"));
                }
            }
            if !jobs.is_empty() {
                y.push_str("jobs:\n");
            }
            for (i, ((cluster, family, img, two), timeout, network, launch, overrides)) in jobs.into_iter().enumerate() {
                // `_` is in no service's or task's name here: job names are unique in the release.
                y.push_str(&format!("  - name: migrate_{i}\n    cluster: {cluster}\n    taskDefinition: {family}\n"));
                if two {
                    y.push_str(&format!("    containers:\n      app: {img}\n      sidecar: {img}\n"));
                } else {
                    y.push_str(&format!("    service: app\n    image: \"{img}\"\n"));
                }
                if let Some(t) = timeout {
                    y.push_str(&format!("    timeoutSeconds: {t}\n"));
                }
                match network {
                    1 => y.push_str(&format!("    networkFrom: {cluster}/api\n")),
                    2 => y.push_str("    networkConfiguration: {subnets: [subnet-1], securityGroups: [sg-1], assignPublicIp: true}\n"),
                    _ => {}
                }
                match launch {
                    1 => y.push_str("    launchType: FARGATE\n    platformVersion: LATEST\n"),
                    2 => y.push_str("    capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 2, base: 1}, {capacityProvider: FARGATE, weight: 1}]\n"),
                    _ => {}
                }
                if overrides {
                    y.push_str("    overrides:\n      app: {command: [bin/migrate, '--all'], environment: {MODE: fast, N: '3'}}\n");
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
        let rendered = manifest::render(&parsed);
        let back: ReleaseInput = serde_json::from_str(&rendered).expect("rendered JSON reads back");
        prop_assert_eq!(&back, &parsed);
        prop_assert!(manifest::check_input(&back).is_empty());
        if !yaml.starts_with("release:") {
            prop_assert_eq!(&parsed.release.id, &manifest::derived_release_id(&parsed));
        }
    }
}

/// One field made invalid, as the YAML says it and as the same change to the typed input.
#[derive(Debug, Clone)]
enum Bad {
    DesiredCount(i32),
    TimeoutSeconds(u32),
    MaxConcurrency(u32),
    PollInterval(u32),
    MaximumPercent(i32),
    ClusterName(&'static str),
    Image(&'static str),
}

impl Bad {
    /// The YAML lines that carry the bad value (indented for a service or for settings).
    fn yaml(&self) -> (Option<String>, Option<String>) {
        match self {
            Bad::DesiredCount(n) => (None, Some(format!("    desiredCount: {n}\n"))),
            Bad::TimeoutSeconds(n) => (None, Some(format!("    timeoutSeconds: {n}\n"))),
            Bad::MaximumPercent(n) => (None, Some(format!("    maximumPercent: {n}\n"))),
            Bad::MaxConcurrency(n) => (Some(format!("  maxConcurrency: {n}\n")), None),
            Bad::PollInterval(n) => (Some(format!("  pollIntervalSeconds: {n}\n")), None),
            Bad::ClusterName(_) | Bad::Image(_) => (None, None),
        }
    }

    fn apply(&self, input: &mut ReleaseInput) {
        let first = &mut input.services[0];
        match self {
            Bad::DesiredCount(n) => first.desired_count = Some(*n),
            Bad::TimeoutSeconds(n) => first.timeout_seconds = *n,
            Bad::MaximumPercent(n) => first.maximum_percent = Some(*n),
            Bad::MaxConcurrency(n) => input.settings.max_concurrency = *n,
            Bad::PollInterval(n) => input.settings.poll_interval_seconds = *n,
            Bad::ClusterName(c) => first.cluster = (*c).into(),
            Bad::Image(i) => {
                first.images = Images::Default {
                    preferred: "app".into(),
                    image: (*i).into(),
                }
            }
        }
    }

    /// The field both readers must name.
    fn field(&self) -> &'static str {
        match self {
            Bad::DesiredCount(_) => "desiredCount",
            Bad::TimeoutSeconds(_) => "timeoutSeconds",
            Bad::MaximumPercent(_) => "maximumPercent",
            Bad::MaxConcurrency(_) => "settings.maxConcurrency",
            Bad::PollInterval(_) => "settings.pollIntervalSeconds",
            Bad::ClusterName(_) => "clusterName",
            Bad::Image(_) => "image",
        }
    }
}

fn bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        (i32::MIN..0).prop_map(Bad::DesiredCount),
        prop_oneof![0..60u32, 10_801..u32::MAX].prop_map(Bad::TimeoutSeconds),
        prop_oneof![Just(0u32), 41..10_000u32].prop_map(Bad::MaxConcurrency),
        prop_oneof![Just(0u32), 6..10_000u32].prop_map(Bad::PollInterval),
        prop_oneof![-5..100i32, 201..1000i32].prop_map(Bad::MaximumPercent),
        prop::sample::select(vec!["bad cluster", "tab\tname", ""]).prop_map(Bad::ClusterName),
        prop::sample::select(vec!["Web:1", "web:", "web@sha256:12", "web:latest"])
            .prop_map(Bad::Image),
    ]
}

/// A one-service manifest, with `bad` written into it when given.
fn one_service(cluster: &str, service: &str, image: &str, bad: Option<&Bad>) -> String {
    let (settings, field) = bad.map(Bad::yaml).unwrap_or((None, None));
    let (cluster, image) = match bad {
        Some(Bad::ClusterName(c)) => (*c, image),
        Some(Bad::Image(i)) => (cluster, *i),
        _ => (cluster, image),
    };
    let mut y = String::new();
    if let Some(settings) = settings {
        y.push_str(&format!("settings:\n{settings}"));
    }
    y.push_str(&format!(
        "services:\n  - clusterName: \"{cluster}\"\n    serviceName: {service}\n    service: app\n    image: \"{image}\"\n"
    ));
    y.push_str(&field.unwrap_or_default());
    y
}

proptest! {
    #[test]
    fn the_yaml_validator_and_the_step_input_recheck_agree_on_invalid_input(
        cluster in name(),
        service in name(),
        image in image(),
        bad in bad(),
    ) {
        let valid = one_service(&cluster, &service, &image, None);
        let mut input = manifest::parse("deployment.yaml", &valid)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{valid}")))?;
        prop_assert!(manifest::check_input(&input).is_empty());

        let yaml = one_service(&cluster, &service, &image, Some(&bad));
        let from_yaml = manifest::validate("deployment.yaml", &yaml)
            .err()
            .ok_or_else(|| TestCaseError::fail(format!("accepted:\n{yaml}")))?;
        bad.apply(&mut input);
        let from_input = manifest::check_input(&input);
        prop_assert!(!from_input.is_empty(), "the re-check accepted {:?}", bad);
        for (reader, problems) in [("yaml", &from_yaml), ("re-check", &from_input)] {
            prop_assert!(
                problems.iter().any(|p| p.field.ends_with(bad.field())),
                "{} did not name `{}`: {:?}", reader, bad.field(), problems
            );
        }
    }
}
