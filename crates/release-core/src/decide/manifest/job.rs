//! `jobs:` entries: one-off ECS tasks (typically database migrations) that a release runs in its
//! `dependsOn` waves. A job is named by its `name`, runs a clone of its family's newest ACTIVE
//! revision with the release's images, and is never merged with another entry: two entries for
//! one job are a problem.
//!
//! The value rules are `checks`' and [`problems_of`]'s, shared with the rendered input's checks.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use super::fields::{kind, Fields, Problems};
use super::{arn, checks, DEFAULT_TIMEOUT_SECONDS, DEPENDS_ON_KEY, NAME_KEY};
use crate::contract::{
    AwsVpcSettings, CapacityProviderShare, ContainerOverride, JobLaunchSettings, JobTarget,
};

pub(super) const KEYS: &[&str] = &[
    NAME_KEY,
    "clusterName",
    "cluster",
    "taskDefinition",
    "image",
    "service",
    "containers",
    "overrides",
    "networkFrom",
    "networkConfiguration",
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "timeoutSeconds",
    DEPENDS_ON_KEY,
];
const OVERRIDE_KEYS: &[&str] = &["command", "environment"];
const NETWORK_KEYS: &[&str] = &["subnets", "securityGroups", "assignPublicIp"];
const SHARE_KEYS: &[&str] = &["capacityProvider", "weight", "base"];

/// One `jobs:` entry; `None` when it has problems (reported). A job whose `name` is not one is not
/// read, so the waves do not report it again.
pub(super) fn read(
    index: usize,
    map: &Mapping,
    allow_latest: bool,
    problems: &mut Problems,
) -> Option<JobTarget> {
    let label = checks::job_label(index, map.get(NAME_KEY).and_then(Value::as_str));
    let f = Fields::new(map, label, "", KEYS);
    f.reject_unknown(problems);
    let name = f.required_string(problems, NAME_KEY);
    let name = name.filter(|name| {
        let valid = checks::job_name(name);
        let ok = valid.is_ok();
        problems.check(f.item(), NAME_KEY, valid);
        ok
    });
    let (cluster, cluster_key) = super::read_cluster(&f, problems);
    super::check_arns(f.item(), cluster_key, cluster, None, problems);
    let family = f.required_string(problems, "taskDefinition");
    if let Some(family) = family {
        problems.check(f.item(), "taskDefinition", checks::family(family));
    }
    let images = super::read_images(&f, allow_latest, problems);
    let overrides = read_overrides(&f, problems);
    let launch = read_launch(&f, problems);
    let timeout = match f.integer(problems, "timeoutSeconds", &checks::TIMEOUT_SECONDS) {
        Some(t) => u32::try_from(t).ok(),
        None if f.has("timeoutSeconds") => None,
        None => Some(DEFAULT_TIMEOUT_SECONDS),
    };
    let depends_on = super::read_depends_on(&f, problems);
    Some(JobTarget {
        name: name?.to_owned(),
        depends_on: depends_on?,
        cluster: cluster?.to_owned(),
        task_definition: family?.to_owned(),
        images: images?,
        overrides: overrides.ok()?,
        launch: launch.ok()?,
        timeout_seconds: timeout?,
    })
}

/// The jobs read (each with its index in `jobs:`), a job listed again (same cluster, by name or
/// ARN, and name) reported and left out: jobs are not merged.
pub(super) fn unique(
    entries: Vec<(usize, JobTarget)>,
    problems: &mut Problems,
) -> Vec<(usize, JobTarget)> {
    let key = |j: &JobTarget| (cluster_key(&j.cluster).to_owned(), j.name.clone());
    let repeated = checks::duplicates(entries.iter().map(|(i, j)| (*i, key(j))));
    for &(i, first) in &repeated {
        let (_, job) = entries
            .iter()
            .find(|(j, _)| *j == i)
            .expect("i is an index");
        let message = format!(
            "duplicates jobs[{first}]: each job may appear once per release (jobs are not \
             merged; to run it twice, give the second a `name` of its own)"
        );
        problems.push(&checks::job_label(i, Some(&job.name)), NAME_KEY, message);
    }
    entries
        .into_iter()
        .filter(|(i, _)| !repeated.iter().any(|(r, _)| r == i))
        .collect()
}

/// The cluster name a job identifies, when readable (an ARN's name).
pub(crate) fn cluster_key(value: &str) -> &str {
    arn::cluster(value).map_or(value, |c| c.name)
}

/// What is wrong with a rendered job, by field as the JSON names it (`launchType`,
/// `capacityProviderStrategy[1].weight`, `overrides.app.command`, …): every rule of the manifest's
/// but the name (the waves check it), the cluster and the images (the caller checks them as for
/// services).
pub(crate) fn problems_of(job: &JobTarget) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut check = |field: &str, result: Result<(), String>| {
        if let Err(message) = result {
            found.push((field.to_owned(), message));
        }
    };
    check("taskDefinition", checks::family(&job.task_definition));
    let timeout = i64::from(job.timeout_seconds);
    check(
        "timeoutSeconds",
        checks::in_range(timeout, &checks::TIMEOUT_SECONDS),
    );
    for (container, set) in &job.overrides {
        let field = format!("overrides.{container}");
        check(&field, checks::container_name(container));
        if let Some(command) = &set.command {
            check(&format!("{field}.command"), command_check(command));
        }
        for variable in set.environment.keys() {
            check(&format!("{field}.environment"), variable_name(variable));
        }
    }
    let l = &job.launch;
    if let Some(from) = &l.network_from {
        check("networkFrom", checks::network_from(from));
    }
    let configuration = l.network_configuration.as_ref();
    check(
        "networkConfiguration",
        checks::one_network(l.network_from.is_some(), configuration.is_some()),
    );
    if let Some(network) = configuration {
        for (field, message) in network_problems(network) {
            check(&format!("networkConfiguration.{field}"), Err(message));
        }
    }
    if let Some(launch_type) = &l.launch_type {
        check("launchType", checks::launch_type(launch_type));
    }
    let strategy = &l.capacity_provider_strategy;
    check(
        "capacityProviderStrategy",
        checks::one_launch(l.launch_type.is_some(), !strategy.is_empty()),
    );
    for (i, share) in strategy.iter().enumerate() {
        let field = |key: &str| format!("capacityProviderStrategy[{i}].{key}");
        check(
            &field("capacityProvider"),
            checks::resource_name(&share.capacity_provider),
        );
        let numbers = [
            ("weight", share.weight, &checks::CAPACITY_WEIGHT),
            ("base", share.base, &checks::CAPACITY_BASE),
        ];
        for (key, value, range) in numbers {
            check(&field(key), checks::in_range(i64::from(value), range));
        }
    }
    for (field, message) in strategy_problems(strategy) {
        check(&field, Err(message));
    }
    if let Some(version) = &l.platform_version {
        check("platformVersion", checks::resource_name(version));
    }
    found
}

/// A container's `command`: what its task runs, one argument per entry.
fn command_check(command: &[String]) -> Result<(), String> {
    if command.is_empty() {
        return Err("must not be empty: leave `command` out to run the definition's".into());
    }
    Ok(())
}

/// An environment variable's name.
fn variable_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('=') || name.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{name}` is not an environment variable name (not empty, no `=` or whitespace)"
        ));
    }
    Ok(())
}

/// What is wrong with an `awsvpc` configuration, by its field (`subnets`, `securityGroups`).
fn network_problems(network: &AwsVpcSettings) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if network.subnets.is_empty() {
        found.push((
            "subnets".to_owned(),
            "must name at least one subnet".to_owned(),
        ));
    }
    let lists = [
        ("subnets", &network.subnets),
        ("securityGroups", &network.security_groups),
    ];
    for (field, ids) in lists {
        for (i, id) in ids.iter().enumerate() {
            if let Err(message) = checks::resource_name(id) {
                found.push((field.to_owned(), format!("entry {}: {message}", i + 1)));
            }
        }
    }
    found
}

/// What is wrong with a capacity provider strategy as a whole: ECS takes a provider once, and a
/// `base` on one provider only.
fn strategy_problems(strategy: &[CapacityProviderShare]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let names = strategy
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.capacity_provider.as_str()));
    for (i, first) in checks::duplicates(names) {
        found.push((
            format!("capacityProviderStrategy[{i}].capacityProvider"),
            format!(
                "`{}` is already capacityProviderStrategy[{first}]: name each capacity provider \
                 once",
                strategy[i].capacity_provider
            ),
        ));
    }
    let based: Vec<usize> = (0..strategy.len())
        .filter(|&i| strategy[i].base > 0)
        .collect();
    if let [first, rest @ ..] = &based[..] {
        for &i in rest {
            found.push((
                format!("capacityProviderStrategy[{i}].base"),
                format!(
                    "capacityProviderStrategy[{first}] has a base already: ECS takes a base on \
                     one capacity provider of a strategy only"
                ),
            ));
        }
    }
    found
}

/// `overrides: {container: {command, environment}}`; empty when not given, `Err` when a problem
/// was reported.
fn read_overrides(
    f: &Fields,
    problems: &mut Problems,
) -> Result<BTreeMap<String, ContainerOverride>, ()> {
    if !f.has("overrides") {
        return Ok(BTreeMap::new());
    }
    let map = f.mapping(problems, "overrides").ok_or(())?;
    let before = problems.len();
    let mut overrides = BTreeMap::new();
    for (container, set) in map {
        let Some(container) = container.as_str() else {
            let message = format!("container names must be strings, found {}", kind(container));
            f.push(problems, "overrides", message);
            continue;
        };
        let prefix = format!("overrides.{container}");
        problems.check(f.item(), &prefix, checks::container_name(container));
        let Some(set) = set.as_mapping() else {
            let message = format!(
                "expected a mapping with `command` and/or `environment`, found {}",
                kind(set)
            );
            problems.push(f.item(), &prefix, message);
            continue;
        };
        let g = Fields::new(set, f.item(), format!("{prefix}."), OVERRIDE_KEYS);
        g.reject_unknown(problems);
        let command = if g.has("command") {
            string_list(&g, problems, "command").map(Some)
        } else {
            Some(None)
        };
        if let Some(Some(command)) = &command {
            problems.check(g.item(), &g.path("command"), command_check(command));
        }
        let environment = read_environment(&g, problems);
        if let (Some(command), Some(environment)) = (command, environment) {
            overrides.insert(
                container.to_owned(),
                ContainerOverride {
                    command,
                    environment,
                },
            );
        }
    }
    if problems.len() > before {
        return Err(());
    }
    Ok(overrides)
}

/// `environment: {NAME: value}`: every value a string (numbers and `true` are refused: quoted, they
/// are what ECS sets).
fn read_environment(g: &Fields, problems: &mut Problems) -> Option<BTreeMap<String, String>> {
    if !g.has("environment") {
        return Some(BTreeMap::new());
    }
    let map = g.mapping(problems, "environment")?;
    let mut environment = BTreeMap::new();
    let mut complete = true;
    for (name, value) in map {
        let Some(name) = name.as_str() else {
            let message = format!("variable names must be strings, found {}", kind(name));
            g.push(problems, "environment", message);
            complete = false;
            continue;
        };
        if let Err(message) = variable_name(name) {
            g.push(problems, "environment", message);
            complete = false;
            continue;
        }
        let field = format!("environment.{name}");
        let found = match value {
            Value::String(value) => {
                environment.insert(name.to_owned(), value.clone());
                continue;
            }
            Value::Number(n) => format!("the number {n} (quote it: \"{n}\")"),
            Value::Bool(b) => format!("{b} (quote it: \"{b}\")"),
            Value::Null => "nothing (write '' for an empty value)".to_owned(),
            other => match super::yaml::oversized_integer(other) {
                Some(n) => format!("the number {n} (quote it: \"{n}\")"),
                None => kind(other).to_owned(),
            },
        };
        g.push(
            problems,
            &field,
            format!("expected a string, found {found}"),
        );
        complete = false;
    }
    complete.then_some(environment)
}

/// How the job's task is launched: the network (from a service or given), the launch type or
/// capacity provider strategy, the platform version.
fn read_launch(f: &Fields, problems: &mut Problems) -> Result<JobLaunchSettings, ()> {
    let before = problems.len();
    let network_from = f.string(problems, "networkFrom");
    if let Some(from) = network_from {
        problems.check(f.item(), "networkFrom", checks::network_from(from));
    }
    let one_network = checks::one_network(f.has("networkFrom"), f.has("networkConfiguration"));
    problems.check(f.item(), "networkConfiguration", one_network);
    let network_configuration = f
        .mapping(problems, "networkConfiguration")
        .map(|map| read_network(f, map, problems));
    let launch_type = f.string(problems, "launchType");
    if let Some(launch_type) = launch_type {
        problems.check(f.item(), "launchType", checks::launch_type(launch_type));
    }
    let one_launch = checks::one_launch(f.has("launchType"), f.has("capacityProviderStrategy"));
    problems.check(f.item(), "capacityProviderStrategy", one_launch);
    let capacity_provider_strategy = read_strategy(f, problems);
    let platform_version = f.string(problems, "platformVersion");
    if let Some(version) = platform_version {
        problems.check(f.item(), "platformVersion", checks::resource_name(version));
    }
    if problems.len() > before {
        return Err(());
    }
    Ok(JobLaunchSettings {
        network_from: network_from.map(str::to_owned),
        network_configuration: network_configuration.flatten(),
        launch_type: launch_type.map(str::to_owned),
        capacity_provider_strategy,
        platform_version: platform_version.map(str::to_owned),
    })
}

/// `networkConfiguration: {subnets, securityGroups, assignPublicIp}`.
fn read_network(f: &Fields, map: &Mapping, problems: &mut Problems) -> Option<AwsVpcSettings> {
    let g = Fields::new(map, f.item(), "networkConfiguration.", NETWORK_KEYS);
    g.reject_unknown(problems);
    let subnets = if g.has("subnets") {
        string_list(&g, problems, "subnets")
    } else {
        g.missing(
            problems,
            "subnets",
            "is required: the subnets the task runs in",
        );
        None
    };
    let security_groups = if g.has("securityGroups") {
        string_list(&g, problems, "securityGroups")
    } else {
        Some(Vec::new())
    };
    let assign_public_ip = match g.get("assignPublicIp") {
        None => Some(false),
        Some(_) => g.boolean(problems, "assignPublicIp"),
    };
    let network = AwsVpcSettings {
        subnets: subnets?,
        security_groups: security_groups?,
        assign_public_ip: assign_public_ip?,
    };
    let found = network_problems(&network);
    for (field, message) in &found {
        g.push(problems, field, message.clone());
    }
    found.is_empty().then_some(network)
}

/// `capacityProviderStrategy: [{capacityProvider, weight, base}, …]`, empty when not given.
fn read_strategy(f: &Fields, problems: &mut Problems) -> Vec<CapacityProviderShare> {
    const KEY: &str = "capacityProviderStrategy";
    let list = match f.get(KEY) {
        None => return Vec::new(),
        Some(Value::Sequence(list)) if list.is_empty() => {
            let message = "must name at least one capacity provider (or leave it out)";
            f.push(problems, KEY, message);
            return Vec::new();
        }
        Some(Value::Sequence(list)) => list,
        Some(other) => {
            let message = format!(
                "expected a list of `{{capacityProvider, weight, base}}`, found {}",
                kind(other)
            );
            f.push(problems, KEY, message);
            return Vec::new();
        }
    };
    let mut strategy = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let Some(map) = entry.as_mapping() else {
            let message = format!(
                "entry {}: expected a mapping `{{capacityProvider, weight, base}}`, found {}",
                i + 1,
                kind(entry)
            );
            f.push(problems, KEY, message);
            continue;
        };
        let g = Fields::new(map, f.item(), format!("{KEY}[{i}]."), SHARE_KEYS);
        g.reject_unknown(problems);
        let provider = g.required_string(problems, "capacityProvider");
        if let Some(provider) = provider {
            let field = g.path("capacityProvider");
            problems.check(g.item(), &field, checks::resource_name(provider));
        }
        let weight = g.integer(problems, "weight", &checks::CAPACITY_WEIGHT);
        let base = g.integer(problems, "base", &checks::CAPACITY_BASE);
        let number = |key, n: Option<i64>| match n {
            Some(n) => i32::try_from(n).ok(),
            None if g.has(key) => None,
            None => Some(0),
        };
        if let (Some(provider), Some(weight), Some(base)) =
            (provider, number("weight", weight), number("base", base))
        {
            strategy.push(CapacityProviderShare {
                capacity_provider: provider.to_owned(),
                weight,
                base,
            });
        }
    }
    for (field, message) in strategy_problems(&strategy) {
        problems.push(f.item(), &field, message);
    }
    strategy
}

/// A list of strings (`command`, `subnets`, `securityGroups`); `None` when it is not one (reported).
fn string_list(f: &Fields, problems: &mut Problems, key: &str) -> Option<Vec<String>> {
    let list = match f.get(key)? {
        Value::Sequence(list) => list,
        Value::String(s) => {
            let words: Vec<&str> = s.split_whitespace().collect();
            let message = format!(
                "expected a list of strings, found a string (write `{key}: [{}]`)",
                words.join(", ")
            );
            f.push(problems, key, message);
            return None;
        }
        other => {
            let message = format!("expected a list of strings, found {}", kind(other));
            f.push(problems, key, message);
            return None;
        }
    };
    let mut strings = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let found = match entry {
            Value::String(s) => {
                strings.push(s.clone());
                continue;
            }
            Value::Number(n) => format!("the number {n} (quote it: \"{n}\")"),
            Value::Bool(b) => format!("{b} (quote it: \"{b}\")"),
            other => kind(other).to_owned(),
        };
        let message = format!("entry {}: expected a string, found {found}", i + 1);
        f.push(problems, key, message);
    }
    (strings.len() == list.len()).then_some(strings)
}
