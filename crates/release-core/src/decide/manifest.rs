//! The release manifest (`deployment.yaml`): parsing, validation and rendering into the state
//! machine's input.
//!
//! The public AWS GitOps ECS sample format is accepted unchanged; convoy's additions (`containers`,
//! `settings`, deployment numbers, rule buses) are optional fields. The YAML is read as a
//! [`serde_yaml_ng::Value`] and walked by hand so that one run reports every problem, each with its
//! file, item and field.

pub mod arn;
pub(crate) mod checks;
mod codedeploy;
mod fields;
pub mod image;
mod job;
mod merge;
mod resolve;
mod schedule;
mod strategy;
mod yaml;

use std::collections::BTreeSet;

use serde_yaml_ng::{Mapping, Value};

use crate::contract::{
    ImageMap, Images, JobTarget, ReleaseInput, ReleaseMeta, RollbackPolicy, RuleTarget,
    ScheduleTarget, ServiceTarget, Settings,
};
use crate::decide::release_ref::MAX_RELEASE_BYTES;
use crate::decide::waves;
use crate::{Error, Problem};
use fields::{kind, Fields, Problems};

pub use checks::{job_label, schedule_label, service_label, task_label};
pub(crate) use fields::closest;
pub use resolve::{is_noop, resolve_images};

/// Rollout deadline of a service when the manifest gives no `timeoutSeconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 900;
/// The longest rollout deadline a release accepts (3 h). The state machine's execution timeout, which
/// cannot be caught, must leave room after two such deadlines (the release's and its rollback's) for the
/// rollback and the report: `tests/asl_contract.rs` computes that worst case from this cap.
pub const MAX_TIMEOUT_SECONDS: u32 = 10_800;
/// The bus of a task whose manifest entry gives no `eventBusName`.
pub const DEFAULT_EVENT_BUS: &str = "default";
/// Step Functions' limit on an execution's input (StartExecution) and on every state's payload. A
/// release above [`INLINE_MAX_BYTES`](crate::decide::release_ref::INLINE_MAX_BYTES) is started by reference, well below it.
pub const MAX_EXECUTION_INPUT_BYTES: usize = 256 * 1024;

const TOP_KEYS: &[&str] = &[
    "release",
    "settings",
    "services",
    "tasks",
    "schedules",
    "jobs",
];
/// The lists of a release's items, in the order the waves list them (`decide::waves::items`).
const ITEM_LISTS: [&str; 4] = ["services", "tasks", "schedules", "jobs"];
const RELEASE_KEYS: &[&str] = &["id", "description"];
const SETTINGS_KEYS: &[&str] = &[
    "rollback",
    "maxConcurrency",
    "pollIntervalSeconds",
    "keepRevisions",
    "allowLatest",
    "suspendAutoScaling",
];
const SERVICE_KEYS: &[&str] = &[
    "service",
    "clusterName",
    "cluster",
    "serviceName",
    "image",
    "containers",
    "desiredCount",
    "minimumHealthyPercent",
    "maximumPercent",
    "timeoutSeconds",
    "suspendAutoScaling",
    "strategy",
    "bakeTimeInMinutes",
    "linearConfiguration",
    "canaryConfiguration",
    codedeploy::KEY,
    NAME_KEY,
    DEPENDS_ON_KEY,
];
const TASK_KEYS: &[&str] = &[
    "service",
    "ruleName",
    "cwRuleName",
    "eventBusName",
    "image",
    "containers",
    NAME_KEY,
    DEPENDS_ON_KEY,
];
/// What `dependsOn` calls an item, when not its default name (`decide::waves`).
const NAME_KEY: &str = "name";
/// The items to be Deployed before this one starts.
const DEPENDS_ON_KEY: &str = "dependsOn";

/// Parses and validates a manifest; `file_name` names it in every problem and becomes
/// `release.source`.
pub fn parse(file_name: &str, text: &str) -> Result<ReleaseInput, Error> {
    validate(file_name, text).map_err(Error::ManifestInvalid)
}

/// [`parse`], with the problems as a list for callers that print them rather than fail with them.
pub fn validate(file_name: &str, text: &str) -> Result<ReleaseInput, Vec<Problem>> {
    let mut problems = Problems::new(file_name);
    let document = match yaml::load(text) {
        Ok(document) => document,
        Err(e) => {
            problems.push("", "", yaml::error_message(&e, text));
            return Err(problems.into_vec());
        }
    };
    let top = match &document {
        Value::Mapping(top) => top,
        Value::Null => {
            problems.push(
                "",
                "",
                "the manifest is empty: expected a mapping with `services:`, `tasks:`, \
                 `schedules:` and/or `jobs:`",
            );
            return Err(problems.into_vec());
        }
        other => {
            problems.push(
                "",
                "",
                format!(
                    "the top level must be a mapping with `services:`, `tasks:`, `schedules:` \
                     and/or `jobs:`, found {}",
                    kind(other)
                ),
            );
            return Err(problems.into_vec());
        }
    };

    let top_map = top;
    let release = read_release(top, text, &mut problems);
    let top = Fields::new(top, "", "", TOP_KEYS).with_extensions();
    top.reject_unknown(&mut problems);
    let settings = read_settings(&top, &mut problems);
    let services = read_list(&top, "services", &mut problems, |i, map, p| {
        read_service(i, map, settings.allow_latest, p)
    });
    let tasks = read_list(&top, "tasks", &mut problems, |i, map, p| {
        read_task(i, map, settings.allow_latest, p)
    });
    let schedules = read_list(&top, "schedules", &mut problems, |i, map, p| {
        schedule::read(i, map, settings.allow_latest, p)
    });
    let jobs = read_list(&top, "jobs", &mut problems, |i, map, p| {
        job::read(i, map, settings.allow_latest, p)
    });
    // A wrongly typed or misspelled list has been reported already; "empty" would only repeat it.
    let absent_or_empty = |key| match top.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::Sequence(items)) => items.is_empty(),
        Some(_) => false,
    };
    let empty = ITEM_LISTS.into_iter().all(absent_or_empty);
    if empty && !top.has_unknown() {
        problems.push("", "services", EMPTY_RELEASE);
    }
    // Entries naming one service (by name or ARN), one rule or one schedule are one item (the
    // sample lists a rule once per container).
    let timeout_given =
        |i| raw_items(top_map, "services").any(|(j, m)| j == i && m.contains_key("timeoutSeconds"));
    let services = services
        .into_iter()
        .enumerate()
        .filter_map(|(index, target)| {
            target.map(|target| merge::ServiceEntry {
                index,
                timeout_given: timeout_given(index),
                target,
            })
        });
    let (service_at, services): (Vec<usize>, Vec<ServiceTarget>) =
        merge::services(services.collect(), &mut problems)
            .into_iter()
            .unzip();
    let tasks = tasks.into_iter().enumerate();
    let tasks = tasks.filter_map(|(index, target)| target.map(|target| (index, target)));
    let (task_at, tasks): (Vec<usize>, Vec<RuleTarget>) =
        merge::tasks(tasks.collect(), &mut problems)
            .into_iter()
            .unzip();
    let schedules = schedules.into_iter().enumerate();
    let schedules = schedules.filter_map(|(index, target)| target.map(|target| (index, target)));
    let (schedule_at, schedules): (Vec<usize>, Vec<ScheduleTarget>) =
        merge::schedules(schedules.collect(), &mut problems)
            .into_iter()
            .unzip();
    // Jobs are not merged: a job listed twice is a problem, and only its first entry an item.
    let jobs = jobs.into_iter().enumerate();
    let jobs = jobs.filter_map(|(index, target)| target.map(|target| (index, target)));
    let (job_at, jobs): (Vec<usize>, Vec<JobTarget>) = job::unique(jobs.collect(), &mut problems)
        .into_iter()
        .unzip();

    let (id, description) = release;
    let mut input = ReleaseInput {
        release: ReleaseMeta {
            id: String::new(),
            description,
            source: file_name.to_string(),
            commit: None,
        },
        settings,
        services,
        tasks,
        schedules,
        jobs,
        waves: Vec::new(),
    };
    // Items are labelled by their (first) entry; an entry that could not be read still has a name.
    let label = |kind: waves::ItemKind, i: usize| match kind {
        waves::ItemKind::Service => {
            let s = &input.services[i];
            checks::service_label(service_at[i], Some(&s.cluster), Some(&s.service))
        }
        waves::ItemKind::Task => {
            let t = &input.tasks[i];
            checks::task_label(task_at[i], &t.event_bus, Some(&t.rule))
        }
        waves::ItemKind::Schedule => {
            let s = &input.schedules[i];
            checks::schedule_label(schedule_at[i], &s.group, Some(&s.schedule))
        }
        waves::ItemKind::Job => checks::job_label(job_at[i], Some(&input.jobs[i].name)),
    };
    match waves::compile_with(&input, label, &entry_names(top_map)) {
        // One wave is the release as it always was: `waves` is left out of the input.
        Ok(waves) if waves.len() > 1 => input.waves = waves,
        Ok(_) => {}
        Err(found) => {
            for p in found {
                problems.push(&p.item, p.field, p.message);
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    input.release.id = id.unwrap_or_else(|| derived_release_id(&input));
    if let Err(message) = check_size(&render(&input)) {
        problems.push("", "", message);
        return Err(problems.into_vec());
    }
    Ok(input)
}

/// Whether `rendered` (what `convoy render` prints) is small enough to be a release at all: at
/// most [`MAX_RELEASE_BYTES`]. Above [`INLINE_MAX_BYTES`](crate::decide::release_ref::INLINE_MAX_BYTES) it is started by reference,
/// so Step Functions' 256 KiB per execution input does not limit it; else why not, with both sizes.
pub fn check_size(rendered: &str) -> Result<(), String> {
    let size = rendered.len();
    if size <= MAX_RELEASE_BYTES {
        return Ok(());
    }
    Err(format!(
        "the release renders to {} bytes, above the {} bytes (10 MiB) a release may have, even \
         started by reference: split it into smaller releases",
        thousands(size),
        thousands(MAX_RELEASE_BYTES),
    ))
}

/// `262144` as `262,144`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The exact JSON the state machine is started with: pretty, keys in struct order.
pub fn render(input: &ReleaseInput) -> String {
    // Plain structs with string map keys: serialization cannot fail.
    serde_json::to_string_pretty(input).expect("a release input always serializes to JSON")
}

/// Re-validates an already rendered input with the same rules as the manifest, for plan-release:
/// the execution input may have been written or edited by hand. Fields are named as in the JSON.
pub fn check_input(input: &ReleaseInput) -> Vec<Problem> {
    let mut problems = Problems::new(&input.release.source);
    problems.check("", "release.id", checks::release_id(&input.release.id));
    let s = &input.settings;
    let numbers = [
        (
            "settings.maxConcurrency",
            s.max_concurrency,
            &checks::MAX_CONCURRENCY,
        ),
        (
            "settings.pollIntervalSeconds",
            s.poll_interval_seconds,
            &checks::POLL_INTERVAL_SECONDS,
        ),
        (
            "settings.keepRevisions",
            s.keep_revisions,
            &checks::KEEP_REVISIONS,
        ),
    ];
    for (field, value, range) in numbers {
        problems.check("", field, checks::in_range(i64::from(value), range));
    }
    for (i, service) in input.services.iter().enumerate() {
        let item = checks::service_label(i, Some(&service.cluster), Some(&service.service));
        problems.check(
            &item,
            "clusterName",
            checks::resource_name(&service.cluster),
        );
        problems.check(
            &item,
            "serviceName",
            checks::resource_name(&service.service),
        );
        check_arns(
            &item,
            "clusterName",
            Some(&service.cluster),
            Some(&service.service),
            &mut problems,
        );
        check_images(&item, &service.images, s.allow_latest, &mut problems);
        let numbers = [
            (
                "desiredCount",
                service.desired_count,
                &checks::DESIRED_COUNT,
            ),
            (
                "minimumHealthyPercent",
                service.minimum_healthy_percent,
                &checks::MINIMUM_HEALTHY_PERCENT,
            ),
            (
                "maximumPercent",
                service.maximum_percent,
                &checks::MAXIMUM_PERCENT,
            ),
        ];
        for (field, value, range) in numbers {
            if let Some(value) = value {
                problems.check(&item, field, checks::in_range(i64::from(value), range));
            }
        }
        if let (Some(min), Some(max)) = (service.minimum_healthy_percent, service.maximum_percent) {
            problems.check(
                &item,
                "minimumHealthyPercent",
                checks::percents(min.into(), max.into()),
            );
        }
        let timeout = i64::from(service.timeout_seconds);
        problems.check(
            &item,
            "timeoutSeconds",
            checks::in_range(timeout, &checks::TIMEOUT_SECONDS),
        );
        if let Some(set) = &service.deployment_strategy {
            for (field, message) in strategy::problems_of(set, Some(service.timeout_seconds)) {
                problems.push(&item, &format!("deploymentStrategy.{field}"), message);
            }
        }
        if let Some(set) = &service.code_deploy {
            let strategy_given = service.deployment_strategy.is_some();
            for (field, message) in codedeploy::problems_of(set, strategy_given) {
                problems.push(&item, &field, message);
            }
        }
    }
    for (i, task) in input.tasks.iter().enumerate() {
        let item = checks::task_label(i, &task.event_bus, Some(&task.rule));
        problems.check(&item, "ruleName", checks::rule_name(&task.rule));
        problems.check(
            &item,
            "eventBusName",
            checks::resource_name(&task.event_bus),
        );
        if let Err(message) = arn::event_bus(&task.event_bus) {
            problems.push(&item, "eventBusName", message);
        }
        check_images(&item, &task.images, s.allow_latest, &mut problems);
    }
    for (i, schedule) in input.schedules.iter().enumerate() {
        let item = checks::schedule_label(i, &schedule.group, Some(&schedule.schedule));
        let name = checks::schedule_name(&schedule.schedule);
        problems.check(&item, "schedule", name);
        problems.check(&item, "group", checks::schedule_group(&schedule.group));
        check_images(&item, &schedule.images, s.allow_latest, &mut problems);
    }
    for (i, job) in input.jobs.iter().enumerate() {
        let item = checks::job_label(i, Some(&job.name));
        problems.check(&item, "cluster", checks::resource_name(&job.cluster));
        check_arns(&item, "cluster", Some(&job.cluster), None, &mut problems);
        check_images(&item, &job.images, s.allow_latest, &mut problems);
        for (field, message) in job::problems_of(job) {
            problems.push(&item, &field, message);
        }
    }
    let no_items = input.services.is_empty()
        && input.tasks.is_empty()
        && input.schedules.is_empty()
        && input.jobs.is_empty();
    if no_items {
        problems.push("", "services", EMPTY_RELEASE);
    }
    let service_keys = input.services.iter().enumerate();
    let service_keys = service_keys.map(|(i, s)| (i, arn::service_key(&s.cluster, &s.service)));
    report_duplicate_services(service_keys, "serviceName", &mut problems);
    let rule_keys = input.tasks.iter().enumerate();
    let rule_keys = rule_keys.map(|(i, t)| (i, (arn::bus_key(&t.event_bus), t.rule.as_str())));
    report_duplicate_rules(rule_keys, |_| "ruleName", &mut problems);
    let schedule_keys = input.schedules.iter().enumerate();
    let schedule_keys = schedule_keys.map(|(i, s)| (i, (s.group.as_str(), s.schedule.as_str())));
    report_duplicate_schedules(schedule_keys, &mut problems);
    // A job listed twice is reported once, as in a manifest: the waves see its first entry only.
    let jobs = input.jobs.iter().cloned().enumerate().collect();
    let kept = job::unique(jobs, &mut problems);
    let compiled = if kept.len() == input.jobs.len() {
        waves::compile(input)
    } else {
        let (job_at, jobs): (Vec<usize>, Vec<JobTarget>) = kept.into_iter().unzip();
        let unique = ReleaseInput {
            jobs,
            ..input.clone()
        };
        let label = |kind: waves::ItemKind, i: usize| match kind {
            waves::ItemKind::Job => checks::job_label(job_at[i], Some(&unique.jobs[i].name)),
            kind => waves::label(&unique, kind, i),
        };
        waves::compile_with(&unique, label, &BTreeSet::new())
    };
    match compiled {
        Ok(compiled) => {
            problems.check("", "waves", check_waves(&input.waves, &compiled));
        }
        Err(found) => {
            for p in found {
                problems.push(&p.item, p.field, p.message);
            }
        }
    }
    problems.into_vec()
}

/// `waves` of a rendered input, if given, must be what its items' `dependsOn` compile to: it is
/// what `convoy render` showed, and plan-release deploys the compiled waves whatever it says.
fn check_waves(given: &[Vec<String>], compiled: &[Vec<String>]) -> Result<(), String> {
    if given.is_empty() || given == compiled {
        return Ok(());
    }
    let differs = match given.iter().zip(compiled).position(|(g, c)| g != c) {
        Some(k) => format!(
            "wave {} is [{}] here, but [{}] by dependsOn",
            k + 1,
            given[k].join(", "),
            compiled[k].join(", ")
        ),
        None => format!(
            "it lists {} waves, but dependsOn makes {}",
            given.len(),
            compiled.len()
        ),
    };
    Err(format!(
        "is not what the items' dependsOn make: {differs}; render the release again, or leave \
         `waves` out (plan-release compiles them anyway)"
    ))
}

/// The name of every `services:`, `tasks:` and `schedules:` entry whose key fields are strings, and
/// of every `jobs:` entry's `name`, read or not: a `dependsOn` naming an entry that has problems of
/// its own is not an unknown name.
fn entry_names(top: &Mapping) -> BTreeSet<String> {
    let peek = |map: &Mapping| map.get(NAME_KEY).and_then(Value::as_str).map(str::to_owned);
    let services = raw_items(top, "services").filter_map(|(_, map)| match service_key(map) {
        (Some(cluster), Some(service)) => {
            Some(peek(map).unwrap_or_else(|| waves::service_name(cluster, service)))
        }
        _ => peek(map),
    });
    let tasks = raw_items(top, "tasks").filter_map(|(_, map)| match task_key(map) {
        (bus, Some(rule)) => Some(peek(map).unwrap_or_else(|| waves::task_name(bus, rule))),
        _ => peek(map),
    });
    let schedules = raw_items(top, "schedules").filter_map(|(_, map)| match schedule::key(map) {
        (group, Some(schedule)) => {
            Some(peek(map).unwrap_or_else(|| waves::schedule_name(group, schedule)))
        }
        _ => peek(map),
    });
    let jobs = raw_items(top, "jobs").filter_map(|(_, map)| peek(map));
    services.chain(tasks).chain(schedules).chain(jobs).collect()
}

/// `r-` and 16 hex digits of a 64-bit FNV-1a over the rendered input without its id and source:
/// the same release content always gets the same id, whatever file it was read from.
pub fn derived_release_id(input: &ReleaseInput) -> String {
    let mut anonymous = input.clone();
    anonymous.release.id = String::new();
    anonymous.release.source = String::new();
    anonymous.release.commit = None;
    format!("r-{:016x}", fnv1a64(render(&anonymous).as_bytes()))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

const EMPTY_RELEASE: &str = "the release is empty: give at least one item under `services:`, \
                             `tasks:`, `schedules:` or `jobs:`";

/// `release:` is a mapping `{id, description}`, or a plain label as in the sample format
/// (`release: 4.0`), which becomes the description as written in `text` (`4.10` stays `4.10`).
fn read_release(
    top: &Mapping,
    text: &str,
    problems: &mut Problems,
) -> (Option<String>, Option<String>) {
    match top.get("release") {
        None => (None, None),
        Some(Value::String(label)) if !label.is_empty() => (None, Some(label.clone())),
        Some(Value::Number(label)) => {
            let label = yaml::release_label_source(text).unwrap_or_else(|| label.to_string());
            (None, Some(label))
        }
        Some(Value::Mapping(map)) => {
            let release = Fields::new(map, "", "release.", RELEASE_KEYS);
            release.reject_unknown(problems);
            let id = release.string(problems, "id");
            if let Some(id) = id {
                problems.check("", "release.id", checks::release_id(id));
            }
            let description = release.string(problems, "description");
            (id.map(str::to_string), description.map(str::to_string))
        }
        Some(other) => {
            problems.push(
                "",
                "release",
                format!(
                    "expected a label or a mapping with `id` and `description`, found {}",
                    match other {
                        Value::String(_) => "an empty string",
                        other => kind(other),
                    }
                ),
            );
            (None, None)
        }
    }
}

fn read_settings(top: &Fields, problems: &mut Problems) -> Settings {
    let mut settings = Settings::default();
    let Some(map) = top.mapping(problems, "settings") else {
        return settings;
    };
    let f = Fields::new(map, "", "settings.", SETTINGS_KEYS);
    f.reject_unknown(problems);
    if let Some(policy) = f.string(problems, "rollback") {
        match policy {
            "all" => settings.rollback = RollbackPolicy::All,
            "failed" => settings.rollback = RollbackPolicy::Failed,
            "none" => settings.rollback = RollbackPolicy::None,
            other => f.push(
                problems,
                "rollback",
                format!("must be one of all, failed, none; got `{other}`"),
            ),
        }
    }
    let numbers: [(&str, &mut u32, _); 3] = [
        (
            "maxConcurrency",
            &mut settings.max_concurrency,
            &checks::MAX_CONCURRENCY,
        ),
        (
            "pollIntervalSeconds",
            &mut settings.poll_interval_seconds,
            &checks::POLL_INTERVAL_SECONDS,
        ),
        (
            "keepRevisions",
            &mut settings.keep_revisions,
            &checks::KEEP_REVISIONS,
        ),
    ];
    for (key, slot, range) in numbers {
        if let Some(n) = f.integer(problems, key, range) {
            *slot = u32::try_from(n).expect("settings ranges lie within u32");
        }
    }
    if let Some(allow) = f.boolean(problems, "allowLatest") {
        settings.allow_latest = allow;
    }
    if let Some(suspend) = f.boolean(problems, "suspendAutoScaling") {
        settings.suspend_auto_scaling = suspend;
    }
    settings
}

/// Reads `services:`, `tasks:`, `schedules:` or `jobs:`; an item that has problems is `None`. A
/// missing or empty list is an empty release part, not an error (the sample format drops `tasks:`
/// when there are none).
fn read_list<T>(
    top: &Fields,
    key: &str,
    problems: &mut Problems,
    read_item: impl Fn(usize, &Mapping, &mut Problems) -> Option<T>,
) -> Vec<Option<T>> {
    let items = match top.get(key) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Sequence(items)) => items,
        Some(other) => {
            top.push(
                problems,
                key,
                format!("expected a list, found {}", kind(other)),
            );
            return Vec::new();
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Mapping(map) => read_item(i, map, problems),
            other => {
                problems.push(
                    &format!("{key}[{i}]"),
                    "",
                    format!("expected a mapping, found {}", kind(other)),
                );
                None
            }
        })
        .collect()
}

fn read_service(
    index: usize,
    map: &Mapping,
    allow_latest: bool,
    problems: &mut Problems,
) -> Option<ServiceTarget> {
    let (cluster_name, service_name) = service_key(map);
    let label = checks::service_label(index, cluster_name, service_name);
    let f = Fields::new(map, label, "", SERVICE_KEYS);
    f.reject_unknown(problems);
    let (cluster, cluster_key) = read_cluster(&f, problems);
    let service = f.required_string(problems, "serviceName");
    if let Some(service) = service {
        problems.check(f.item(), "serviceName", checks::resource_name(service));
    }
    check_arns(f.item(), cluster_key, cluster, service, problems);
    let images = read_images(&f, allow_latest, problems);
    let desired_count = f.integer(problems, "desiredCount", &checks::DESIRED_COUNT);
    let suspend_auto_scaling = f.boolean(problems, "suspendAutoScaling");
    let minimum = f.integer(
        problems,
        "minimumHealthyPercent",
        &checks::MINIMUM_HEALTHY_PERCENT,
    );
    let maximum = f.integer(problems, "maximumPercent", &checks::MAXIMUM_PERCENT);
    let raw_percent = |key| f.get(key).and_then(Value::as_i64);
    if let (Some(min), Some(max)) = (
        raw_percent("minimumHealthyPercent"),
        raw_percent("maximumPercent"),
    ) {
        problems.check(
            f.item(),
            "minimumHealthyPercent",
            checks::percents(min, max),
        );
    }
    let timeout = match f.integer(problems, "timeoutSeconds", &checks::TIMEOUT_SECONDS) {
        Some(t) => u32::try_from(t).ok(),
        None if f.has("timeoutSeconds") => None,
        None => Some(DEFAULT_TIMEOUT_SECONDS),
    };
    let deployment_strategy = strategy::read(&f, timeout, problems);
    let code_deploy = codedeploy::read(&f, problems);
    let name = read_name(&f, problems);
    let depends_on = read_depends_on(&f, problems);
    let as_i32 = |n: Option<i64>| n.and_then(|n| i32::try_from(n).ok());
    Some(ServiceTarget {
        cluster: cluster?.to_string(),
        service: service?.to_string(),
        images: images?,
        suspend_auto_scaling,
        desired_count: as_i32(desired_count),
        minimum_healthy_percent: as_i32(minimum),
        maximum_percent: as_i32(maximum),
        deployment_strategy: deployment_strategy.ok()?,
        timeout_seconds: timeout?,
        code_deploy: code_deploy.ok()?,
        depends_on: depends_on?,
        name: name.ok()?,
    })
}

fn read_task(
    index: usize,
    map: &Mapping,
    allow_latest: bool,
    problems: &mut Problems,
) -> Option<RuleTarget> {
    let (bus_name, rule_name) = task_key(map);
    let label = checks::task_label(index, bus_name, rule_name);
    let f = Fields::new(map, label, "", TASK_KEYS);
    f.reject_unknown(problems);
    let rule = f.aliased_string(problems, "ruleName", "cwRuleName", true);
    let rule_key = if f.has("cwRuleName") {
        "cwRuleName"
    } else {
        "ruleName"
    };
    if let Some(rule) = rule {
        problems.check(f.item(), rule_key, checks::rule_name(rule));
    }
    let event_bus = match f.get("eventBusName") {
        None => Some(DEFAULT_EVENT_BUS),
        Some(_) => f.string(problems, "eventBusName"),
    };
    if let Some(bus) = event_bus {
        problems.check(f.item(), "eventBusName", checks::resource_name(bus));
        if let Err(message) = arn::event_bus(bus) {
            problems.push(f.item(), "eventBusName", message);
        }
    }
    let images = read_images(&f, allow_latest, problems);
    let name = read_name(&f, problems);
    let depends_on = read_depends_on(&f, problems);
    Some(RuleTarget {
        rule: rule?.to_string(),
        event_bus: event_bus?.to_string(),
        images: images?,
        depends_on: depends_on?,
        name: name.ok()?,
    })
}

/// `clusterName` (or `cluster`), checked as a resource name, with the key it was given under.
fn read_cluster<'m>(f: &Fields<'m>, problems: &mut Problems) -> (Option<&'m str>, &'static str) {
    let cluster = f.aliased_string(problems, "clusterName", "cluster", true);
    let key = if f.has("cluster") {
        "cluster"
    } else {
        "clusterName"
    };
    if let Some(cluster) = cluster {
        problems.check(f.item(), key, checks::resource_name(cluster));
    }
    (cluster, key)
}

/// `name:`, if given; `Err` when it is given but not a string (reported).
fn read_name(f: &Fields, problems: &mut Problems) -> Result<Option<String>, ()> {
    if !f.has(NAME_KEY) {
        return Ok(None);
    }
    f.string(problems, NAME_KEY)
        .map(|name| Some(name.to_owned()))
        .ok_or(())
}

/// `dependsOn: [name, …]`, empty when not given; `None` when it is not a list of names (reported).
/// Whether the names name items is the waves' to say (`decide::waves::compile`).
fn read_depends_on(f: &Fields, problems: &mut Problems) -> Option<Vec<String>> {
    let list = match f.get(DEPENDS_ON_KEY) {
        None => return Some(Vec::new()),
        Some(Value::Sequence(list)) => list,
        Some(Value::String(name)) => {
            let message = format!(
                "expected a list of item names, found a string (write `dependsOn: [{name}]`)"
            );
            f.push(problems, DEPENDS_ON_KEY, message);
            return None;
        }
        Some(other) => {
            let message = format!("expected a list of item names, found {}", kind(other));
            f.push(problems, DEPENDS_ON_KEY, message);
            return None;
        }
    };
    let mut names = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let found = match entry {
            Value::String(name) if !name.is_empty() => {
                names.push(name.clone());
                continue;
            }
            Value::String(_) | Value::Null => "nothing".to_owned(),
            Value::Number(n) => format!("the number {n} (quote it: \"{n}\")"),
            other => kind(other).to_owned(),
        };
        let message = format!("entry {} must name an item, found {found}", i + 1);
        f.push(problems, DEPENDS_ON_KEY, message);
    }
    (names.len() == list.len()).then_some(names)
}

/// `image` (+ `service` naming the container, the sample format) or `containers: {name: image}`.
fn read_images(f: &Fields, allow_latest: bool, problems: &mut Problems) -> Option<Images> {
    match (f.has("image"), f.has("containers")) {
        (true, true) => {
            f.push(
                problems,
                "containers",
                "give either `image` (with `service`) or `containers`, not both",
            );
            None
        }
        (false, false) => {
            if !f.misspelled("containers") {
                f.missing(
                    problems,
                    "image",
                    "is required (or `containers` to set several containers)",
                );
            }
            None
        }
        (true, false) => {
            let image = f.string(problems, "image");
            if let Some(image) = image {
                problems.check(f.item(), "image", image::check(image, allow_latest));
            }
            let preferred = f.string(problems, "service");
            if !f.has("service") {
                f.missing(
                    problems,
                    "service",
                    "is required with `image`: it names the container that gets the image",
                );
            }
            if let Some(name) = preferred {
                problems.check(f.item(), "service", checks::container_name(name));
            }
            Some(Images::Default {
                preferred: preferred?.to_string(),
                image: image?.to_string(),
            })
        }
        (false, true) => {
            if f.has("service") {
                f.push(
                    problems,
                    "service",
                    "only picks the container for `image`; with `containers` it has no effect, \
                     remove it",
                );
            }
            let map = f.mapping(problems, "containers")?;
            read_containers(f, map, allow_latest, problems).map(Images::Containers)
        }
    }
}

fn read_containers(
    f: &Fields,
    map: &Mapping,
    allow_latest: bool,
    problems: &mut Problems,
) -> Option<ImageMap> {
    if map.is_empty() {
        f.push(problems, "containers", "must name at least one container");
        return None;
    }
    let mut images = ImageMap::new();
    let mut complete = true;
    for (name, image) in map {
        let Some(name) = name.as_str() else {
            f.push(
                problems,
                "containers",
                format!("container names must be strings, found {}", kind(name)),
            );
            complete = false;
            continue;
        };
        let field = if name.is_empty() {
            "containers".to_string()
        } else {
            format!("containers.{name}")
        };
        let name_ok = checks::container_name(name);
        complete &= name_ok.is_ok();
        problems.check(f.item(), &field, name_ok);
        let image = match image {
            Value::String(image) => image::check(image, allow_latest).map(|()| image),
            other => Err(format!(
                "expected an image reference, found {}",
                kind(other)
            )),
        };
        match image {
            Ok(image) => {
                images.insert(name.to_string(), image.clone());
            }
            Err(message) => {
                complete = false;
                problems.push(f.item(), &field, message);
            }
        }
    }
    complete.then_some(images)
}

fn check_images(item: &str, images: &Images, allow_latest: bool, problems: &mut Problems) {
    match images {
        Images::Containers(map) => {
            if map.is_empty() {
                problems.push(
                    item,
                    "images.containers",
                    "must name at least one container",
                );
            }
            for (name, image) in map {
                let field = format!("images.containers.{name}");
                problems.check(item, &field, checks::container_name(name));
                problems.check(item, &field, image::check(image, allow_latest));
            }
        }
        Images::Default { preferred, image } => {
            let preferred_check = checks::container_name(preferred);
            problems.check(item, "images.default.preferred", preferred_check);
            problems.check(
                item,
                "images.default.image",
                image::check(image, allow_latest),
            );
        }
    }
}

/// A cluster or service ARN must be one (a malformed one is named), and a service ARN that names
/// its cluster must name the item's.
fn check_arns(
    item: &str,
    cluster_field: &str,
    cluster: Option<&str>,
    service: Option<&str>,
    problems: &mut Problems,
) {
    let cluster = cluster.filter(|c| checks::resource_name(c).is_ok());
    let service = service.filter(|s| checks::resource_name(s).is_ok());
    let cluster_name = match cluster.map(arn::cluster) {
        Some(Ok(named)) => Some(named.name),
        Some(Err(message)) => {
            problems.push(item, cluster_field, message);
            None
        }
        None => None,
    };
    match service.map(arn::service) {
        Some(Ok(named)) => {
            if let (Some(theirs), Some(ours)) = (named.cluster, cluster_name) {
                if theirs != ours {
                    let message = format!(
                        "`{}` is a service of cluster `{theirs}`, not of `{ours}`",
                        service.unwrap_or_default()
                    );
                    problems.push(item, "serviceName", message);
                }
            }
        }
        Some(Err(message)) => problems.push(item, "serviceName", message),
        None => {}
    }
}

/// The release with every cluster (of services and jobs), service and event bus ARN replaced by its name, once each ARN's account
/// and region are `home`'s; else a problem per ARN from elsewhere (naming the item and field).
/// For an input [`check_input`] accepted.
pub fn normalized(mut input: ReleaseInput, home: &arn::Home) -> Result<ReleaseInput, Vec<Problem>> {
    let mut problems = Problems::new(&input.release.source);
    for (i, service) in input.services.iter_mut().enumerate() {
        let (cluster_name, service_name) = arn::service_key(&service.cluster, &service.service);
        let item = checks::service_label(i, Some(cluster_name), Some(service_name));
        for (field, named) in [
            ("clusterName", arn::cluster(&service.cluster)),
            ("serviceName", arn::service(&service.service)),
        ] {
            let value = if field == "clusterName" {
                &service.cluster
            } else {
                &service.service
            };
            if let Some(message) = named.ok().and_then(|n| home.refuses(value, &n)) {
                problems.push(&item, field, message);
            }
        }
        let (cluster_name, service_name) = (cluster_name.to_owned(), service_name.to_owned());
        service.cluster = cluster_name;
        service.service = service_name;
    }
    for (i, task) in input.tasks.iter_mut().enumerate() {
        let bus = arn::bus_key(&task.event_bus).to_owned();
        let item = checks::task_label(i, &bus, Some(&task.rule));
        if let Some(message) = arn::event_bus(&task.event_bus)
            .ok()
            .and_then(|n| home.refuses(&task.event_bus, &n))
        {
            problems.push(&item, "eventBusName", message);
        }
        task.event_bus = bus;
    }
    for (i, job) in input.jobs.iter_mut().enumerate() {
        let item = checks::job_label(i, Some(&job.name));
        if let Some(message) = arn::cluster(&job.cluster)
            .ok()
            .and_then(|n| home.refuses(&job.cluster, &n))
        {
            problems.push(&item, "cluster", message);
        }
        job.cluster = job::cluster_key(&job.cluster).to_owned();
    }
    if problems.is_empty() {
        Ok(input)
    } else {
        Err(problems.into_vec())
    }
}

/// Two entries for one service (same cluster and name) or one rule (same bus and name) would race.
/// Keys are `(index, (cluster, service))` or `(index, (bus, rule))`; `field` names the name field.
fn report_duplicate_services<'a>(
    keys: impl IntoIterator<Item = (usize, (&'a str, &'a str))>,
    field: &str,
    problems: &mut Problems,
) {
    let all: Vec<_> = keys.into_iter().collect();
    for (i, first) in checks::duplicates(all.iter().copied()) {
        let (_, (cluster, service)) = all.iter().find(|(j, _)| *j == i).expect("i is a key index");
        let item = checks::service_label(i, Some(cluster), Some(service));
        let message =
            format!("duplicates services[{first}]: each service may appear once per release");
        problems.push(&item, field, message);
    }
}

fn report_duplicate_rules<'a>(
    keys: impl IntoIterator<Item = (usize, (&'a str, &'a str))>,
    field: impl Fn(usize) -> &'static str,
    problems: &mut Problems,
) {
    let all: Vec<_> = keys.into_iter().collect();
    for (i, first) in checks::duplicates(all.iter().copied()) {
        let (_, (bus, rule)) = all.iter().find(|(j, _)| *j == i).expect("i is a key index");
        let item = checks::task_label(i, bus, Some(rule));
        let message = format!(
            "duplicates tasks[{first}]: each rule may appear once per release \
             (to change several containers, use `containers:`)"
        );
        problems.push(&item, field(i), message);
    }
}

/// Two entries for one schedule (same group and name) would race, as two for one rule would.
fn report_duplicate_schedules<'a>(
    keys: impl IntoIterator<Item = (usize, (&'a str, &'a str))>,
    problems: &mut Problems,
) {
    let all: Vec<_> = keys.into_iter().collect();
    for (i, first) in checks::duplicates(all.iter().copied()) {
        let (_, (group, schedule)) = all.iter().find(|(j, _)| *j == i).expect("i is a key index");
        let item = checks::schedule_label(i, group, Some(schedule));
        let message = format!(
            "duplicates schedules[{first}]: each schedule may appear once per release \
             (to change several containers, use `containers:`)"
        );
        problems.push(&item, "schedule", message);
    }
}

/// `(clusterName | cluster, serviceName)` of a manifest item, when both are strings.
fn service_key(map: &Mapping) -> (Option<&str>, Option<&str>) {
    let peek = |key: &str| map.get(key).and_then(Value::as_str);
    (
        peek("clusterName").or_else(|| peek("cluster")),
        peek("serviceName"),
    )
}

/// `(eventBusName or the default bus, ruleName | cwRuleName)` of a manifest item.
fn task_key(map: &Mapping) -> (&str, Option<&str>) {
    let peek = |key: &str| map.get(key).and_then(Value::as_str);
    (
        peek("eventBusName").unwrap_or(DEFAULT_EVENT_BUS),
        peek("ruleName").or_else(|| peek("cwRuleName")),
    )
}

/// The mappings of a `services:`, `tasks:`, `schedules:` or `jobs:` list, with their indexes.
fn raw_items<'v>(
    top: &'v Mapping,
    key: &str,
) -> impl Iterator<Item = (usize, &'v Mapping)> + Clone {
    top.get(key)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.as_mapping().map(|m| (i, m)))
}
