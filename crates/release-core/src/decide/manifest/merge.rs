//! Entries that name the same service (cluster and service, by name or ARN), the same rule (bus
//! and rule) or the same schedule (group and schedule) are one item of the release. The public
//! GitOps sample lists a rule once per container it changes; such entries become one item, at the
//! first entry's place, that sets every container they name. Only what cannot be merged is refused: one container given two images, or two
//! different values of a service's deployment setting, or of an item's `name` or `dependsOn`
//! (given in one entry, they apply to the item).

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;

use super::checks::{schedule_label, service_label, task_label};
use super::codedeploy::Shown;
use super::fields::Problems;
use super::{arn, DEFAULT_TIMEOUT_SECONDS};
use crate::contract::{ImageMap, Images, RuleTarget, ScheduleTarget, ServiceTarget};

/// A service entry that was read without problems, with its index in `services:`.
pub(super) struct ServiceEntry {
    pub(super) index: usize,
    pub(super) target: ServiceTarget,
    /// `timeoutSeconds` was written (the target holds the default otherwise).
    pub(super) timeout_given: bool,
}

/// The service entries, those naming one service merged into one item, each with the index of its
/// first entry.
pub(super) fn services(
    entries: Vec<ServiceEntry>,
    problems: &mut Problems,
) -> Vec<(usize, ServiceTarget)> {
    let groups = group(entries, |e| {
        let (cluster, service) = arn::service_key(&e.target.cluster, &e.target.service);
        (cluster.to_string(), service.to_string())
    });
    groups
        .into_iter()
        .map(|group| (group[0].index, merge_service(group, problems)))
        .collect()
}

/// The task entries (with their indexes in `tasks:`), those naming one rule merged into one item,
/// each with the index of its first entry.
pub(super) fn tasks(
    entries: Vec<(usize, RuleTarget)>,
    problems: &mut Problems,
) -> Vec<(usize, RuleTarget)> {
    let groups = group(entries, |(_, t)| {
        (arn::bus_key(&t.event_bus).to_owned(), t.rule.clone())
    });
    let label = |i: usize, t: &RuleTarget| task_label(i, &t.event_bus, Some(&t.rule));
    groups
        .into_iter()
        .map(|group| {
            let merged = merge_target(
                &group,
                "rule",
                label,
                |t| Parts {
                    images: &t.images,
                    name: &t.name,
                    depends_on: &t.depends_on,
                },
                problems,
            );
            let (index, first) = &group[0];
            let target = RuleTarget {
                images: merged.images,
                name: merged.name,
                depends_on: merged.depends_on,
                ..first.clone()
            };
            (*index, target)
        })
        .collect()
}

/// The schedule entries (with their indexes in `schedules:`), those naming one schedule (group and
/// name) merged into one item as a rule's are, each with the index of its first entry.
pub(super) fn schedules(
    entries: Vec<(usize, ScheduleTarget)>,
    problems: &mut Problems,
) -> Vec<(usize, ScheduleTarget)> {
    let groups = group(entries, |(_, s)| (s.group.clone(), s.schedule.clone()));
    let label = |i: usize, s: &ScheduleTarget| schedule_label(i, &s.group, Some(&s.schedule));
    groups
        .into_iter()
        .map(|group| {
            let merged = merge_target(
                &group,
                "schedule",
                label,
                |s| Parts {
                    images: &s.images,
                    name: &s.name,
                    depends_on: &s.depends_on,
                },
                problems,
            );
            let (index, first) = &group[0];
            let target = ScheduleTarget {
                images: merged.images,
                name: merged.name,
                depends_on: merged.depends_on,
                ..first.clone()
            };
            (*index, target)
        })
        .collect()
}

/// What the entries of one rule or schedule set: its images, `name` and `dependsOn`.
struct Parts<I, N, D> {
    images: I,
    name: N,
    depends_on: D,
}

/// The images, `name` and `dependsOn` of the entries of one `what` (rule or schedule), merged: every
/// container they name, and the `name` and `dependsOn` given (in one entry, or alike in several).
fn merge_target<T>(
    group: &[(usize, T)],
    what: &str,
    label: impl Fn(usize, &T) -> String,
    parts: impl Fn(&T) -> Parts<&Images, &Option<String>, &Vec<String>>,
    problems: &mut Problems,
) -> Parts<Images, Option<String>, Vec<String>> {
    let labelled: Vec<(String, &Images)> = group
        .iter()
        .map(|(i, t)| (label(*i, t), parts(t).images))
        .collect();
    let images = merge_images(what, &labelled, problems);
    let (mut name, mut depends_on) = (None, None);
    for ((_, t), (label, _)) in group.iter().zip(&labelled) {
        let given = parts(t).name.as_ref().map(Named);
        agree_on(&mut name, given, label, "name", what, problems);
        let given = Some(parts(t).depends_on)
            .filter(|d| !d.is_empty())
            .map(Names);
        agree_on(&mut depends_on, given, label, "dependsOn", what, problems);
    }
    Parts {
        images,
        name: name.map(|(v, _)| v.0.clone()),
        depends_on: depends_on.map(|(v, _)| v.0.clone()).unwrap_or_default(),
    }
}

fn merge_service(group: Vec<ServiceEntry>, problems: &mut Problems) -> ServiceTarget {
    let label =
        |e: &ServiceEntry| service_label(e.index, Some(&e.target.cluster), Some(&e.target.service));
    let labelled: Vec<(String, &Images)> =
        group.iter().map(|e| (label(e), &e.target.images)).collect();
    let images = merge_images("service", &labelled, problems);
    let (mut desired, mut minimum, mut maximum, mut timeout) = (None, None, None, None);
    let (mut strategy, mut code_deploy) = (None, None);
    let (mut name, mut depends_on, mut suspend) = (None, None, None);
    for (entry, (label, _)) in group.iter().zip(&labelled) {
        let t = &entry.target;
        let given = t.suspend_auto_scaling;
        agree(&mut suspend, given, label, "suspendAutoScaling", problems);
        agree(
            &mut desired,
            t.desired_count,
            label,
            "desiredCount",
            problems,
        );
        let min = t.minimum_healthy_percent;
        agree(&mut minimum, min, label, "minimumHealthyPercent", problems);
        agree(
            &mut maximum,
            t.maximum_percent,
            label,
            "maximumPercent",
            problems,
        );
        let given = entry.timeout_given.then_some(t.timeout_seconds);
        agree(&mut timeout, given, label, "timeoutSeconds", problems);
        let set = t.deployment_strategy;
        agree(&mut strategy, set, label, "strategy", problems);
        let set = t.code_deploy.as_ref().map(Shown);
        agree(&mut code_deploy, set, label, "codeDeploy", problems);
        let given = t.name.as_ref().map(Named);
        agree(&mut name, given, label, "name", problems);
        let given = Some(&t.depends_on).filter(|d| !d.is_empty()).map(Names);
        agree(&mut depends_on, given, label, "dependsOn", problems);
    }
    // Each entry was checked alone; merged, one may set the strategy and another `codeDeploy`.
    if let (Some((_, strategy_at)), Some((_, at))) = (&strategy, &code_deploy) {
        let given = format!("`strategy` in {strategy_at}");
        problems.push(
            at,
            "codeDeploy",
            super::codedeploy::strategy_conflict(&given),
        );
    }
    let first = &group[0].target;
    ServiceTarget {
        cluster: first.cluster.clone(),
        service: first.service.clone(),
        images,
        desired_count: desired.map(|(v, _)| v),
        minimum_healthy_percent: minimum.map(|(v, _)| v),
        maximum_percent: maximum.map(|(v, _)| v),
        deployment_strategy: strategy.map(|(v, _)| v),
        timeout_seconds: timeout.map_or(DEFAULT_TIMEOUT_SECONDS, |(v, _)| v),
        code_deploy: code_deploy.map(|(v, _)| v.0.clone()),
        depends_on: depends_on.map(|(v, _)| v.0.clone()).unwrap_or_default(),
        name: name.map(|(v, _)| v.0.clone()),
        suspend_auto_scaling: suspend.map(|(v, _)| v),
    }
}

/// Keeps the first value given for a setting (and where); a different one later is a problem.
fn agree<T: PartialEq + Display + Copy>(
    kept: &mut Option<(T, String)>,
    value: Option<T>,
    label: &str,
    field: &str,
    problems: &mut Problems,
) {
    agree_on(kept, value, label, field, "service", problems);
}

/// [`agree`] for the entries of one `what` (service or rule).
fn agree_on<T: PartialEq + Display + Copy>(
    kept: &mut Option<(T, String)>,
    value: Option<T>,
    label: &str,
    field: &str,
    what: &str,
    problems: &mut Problems,
) {
    let Some(value) = value else { return };
    match kept {
        None => *kept = Some((value, label.to_string())),
        Some((earlier, _)) if *earlier == value => {}
        Some((earlier, earlier_label)) => problems.push(
            label,
            field,
            format!(
                "is {value} here but {earlier} in {earlier_label}: entries for one {what} are \
                 merged into one item, so their settings must agree"
            ),
        ),
    }
}

/// An item's `name`, shown as written.
#[derive(Clone, Copy, PartialEq)]
struct Named<'a>(&'a String);

impl Display for Named<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.0)
    }
}

/// An item's `dependsOn`: the same names in any order agree.
#[derive(Clone, Copy)]
struct Names<'a>(&'a Vec<String>);

impl<'a> PartialEq for Names<'a> {
    fn eq(&self, other: &Self) -> bool {
        let set = |names: &Names<'a>| names.0.iter().collect::<std::collections::BTreeSet<_>>();
        set(self) == set(other)
    }
}

impl Display for Names<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.0.join(", "))
    }
}

/// Every container the entries name, each with its one image. Entries that all name the same one
/// container the sample way (`service` + `image`) stay that way, so that container may still be
/// the task definition's only one under another name; otherwise every named container must exist.
fn merge_images(what: &str, entries: &[(String, &Images)], problems: &mut Problems) -> Images {
    let mut map = ImageMap::new();
    let mut named_in: HashMap<String, &str> = HashMap::new();
    for (label, images) in entries {
        let named: Vec<(&String, &String, String)> = match images {
            Images::Default { preferred, image } => vec![(preferred, image, "image".to_string())],
            Images::Containers(containers) => containers
                .iter()
                .map(|(name, image)| (name, image, format!("containers.{name}")))
                .collect(),
        };
        for (container, image, field) in named {
            match map.get(container) {
                None => {
                    map.insert(container.clone(), image.clone());
                    named_in.insert(container.clone(), label);
                }
                Some(earlier) if earlier == image => {}
                Some(earlier) => {
                    let earlier_label = named_in.get(container).copied().unwrap_or_default();
                    problems.push(
                        label,
                        &field,
                        format!(
                            "container `{container}` gets `{image}` here but `{earlier}` in \
                             {earlier_label}: entries for one {what} are merged into one item, \
                             and a container takes one image per release"
                        ),
                    );
                }
            }
        }
    }
    let first = entries[0].1;
    let one_sample_container = entries.iter().all(|(_, images)| {
        matches!((images, first), (
            Images::Default { preferred, .. },
            Images::Default { preferred: first, .. },
        ) if preferred == first)
    });
    if one_sample_container {
        first.clone()
    } else {
        Images::Containers(map)
    }
}

/// The entries grouped by `key`, each group in entry order, groups in order of first appearance.
fn group<E, K: Eq + Hash>(entries: Vec<E>, key: impl Fn(&E) -> K) -> Vec<Vec<E>> {
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut groups: Vec<Vec<E>> = Vec::new();
    for entry in entries {
        let k = key(&entry);
        match at.get(&k) {
            Some(&i) => groups[i].push(entry),
            None => {
                at.insert(k, groups.len());
                groups.push(vec![entry]);
            }
        }
    }
    groups
}
