//! Ordered releases: `dependsOn` compiled into waves (docs/decisions/0006 § Items, waves and
//! batches).
//!
//! Every item of a release has a name: its `name:`, else `cluster/service` for a service, the
//! rule's name for a task (`bus/rule` off the default bus) and the schedule's name for a schedule
//! (`group/schedule` off the default group); a job always has a `name:`. An item's `dependsOn`
//! names the items
//! that must be Deployed before it starts. The waves are the graph's topological levels: an item
//! without dependencies is in the first wave, any other one in the wave after the last of its
//! dependencies'. A release without `dependsOn` is one wave.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::contract::{Plan, ReleaseInput, DEFAULT_SCHEDULE_GROUP};
use crate::decide::manifest::{
    arn, checks, closest, job_label, schedule_label, service_label, task_label, thousands,
    DEFAULT_EVENT_BUS, MAX_TIMEOUT_SECONDS,
};

/// The most waves a release may have: the state machine's history and payload bounds are computed
/// for it (decision 0006 § State, payload and history bounds).
pub const MAX_WAVES: usize = 20;

/// Cycles named per group of items that depend on one another. A dense group has exponentially
/// many; past this (or past [`CYCLE_SEARCH_STEPS`]) one more problem says there are more.
const MAX_CYCLES: usize = 10;
/// Edges the search for a group's cycles may follow.
const CYCLE_SEARCH_STEPS: usize = 100_000;
/// Names listed in a message about many items before `and N more`.
const MAX_LISTED: usize = 20;

/// Which list of the release an item is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    Service,
    Task,
    Schedule,
    Job,
}

/// One item of the release, as `dependsOn` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    pub kind: ItemKind,
    /// Its index in `services`, `tasks`, `schedules` or `jobs`.
    pub index: usize,
    /// What `dependsOn` calls it: [`service_name`] / [`task_name`] / [`schedule_name`] unless it
    /// has a `name` (a job always has).
    pub name: String,
    /// The name is its `name:`.
    pub named: bool,
    pub depends_on: &'a [String],
    /// How long its rollout (a job: its task) may take; a rule's and a schedule's is 0.
    pub timeout_seconds: u32,
}

/// What is wrong with the release's `dependsOn` or names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveProblem {
    /// The item's label (`services[2] (prod/web)`), empty for the release.
    pub item: String,
    /// `name` or `dependsOn`.
    pub field: &'static str,
    pub message: String,
}

/// The name of a service without `name:`: `cluster/service`, by name also when given by ARN.
pub fn service_name(cluster: &str, service: &str) -> String {
    let (cluster, service) = arn::service_key(cluster, service);
    format!("{cluster}/{service}")
}

/// The name of a task without `name:`: the rule's name, `bus/rule` off the default bus.
pub fn task_name(event_bus: &str, rule: &str) -> String {
    match arn::bus_key(event_bus) {
        DEFAULT_EVENT_BUS => rule.to_owned(),
        bus => format!("{bus}/{rule}"),
    }
}

/// The name of a schedule without `name:`: the schedule's name, `group/schedule` off the default
/// group.
pub fn schedule_name(group: &str, schedule: &str) -> String {
    match group {
        DEFAULT_SCHEDULE_GROUP => schedule.to_owned(),
        group => format!("{group}/{schedule}"),
    }
}

/// Every item of the release: its services, then its tasks, then its schedules, then its jobs, in
/// order.
pub fn items(input: &ReleaseInput) -> Vec<Item<'_>> {
    let services = input.services.iter().enumerate().map(|(index, s)| Item {
        kind: ItemKind::Service,
        index,
        name: s
            .name
            .clone()
            .unwrap_or_else(|| service_name(&s.cluster, &s.service)),
        named: s.name.is_some(),
        depends_on: &s.depends_on,
        timeout_seconds: s.timeout_seconds,
    });
    let tasks = input.tasks.iter().enumerate().map(|(index, t)| Item {
        kind: ItemKind::Task,
        index,
        name: t
            .name
            .clone()
            .unwrap_or_else(|| task_name(&t.event_bus, &t.rule)),
        named: t.name.is_some(),
        depends_on: &t.depends_on,
        timeout_seconds: 0,
    });
    let schedules = input.schedules.iter().enumerate().map(|(index, s)| Item {
        kind: ItemKind::Schedule,
        index,
        name: s
            .name
            .clone()
            .unwrap_or_else(|| schedule_name(&s.group, &s.schedule)),
        named: s.name.is_some(),
        depends_on: &s.depends_on,
        timeout_seconds: 0,
    });
    let jobs = input.jobs.iter().enumerate().map(|(index, j)| Item {
        kind: ItemKind::Job,
        index,
        name: j.name.clone(),
        named: true,
        depends_on: &j.depends_on,
        timeout_seconds: j.timeout_seconds,
    });
    services.chain(tasks).chain(schedules).chain(jobs).collect()
}

/// The label of `input`'s item of `kind` at `index`: `services[2] (prod/web)`, `tasks[0]
/// (nightly)`, `schedules[0] (reports/nightly)`, `jobs[0] (migrate)`.
pub(crate) fn label(input: &ReleaseInput, kind: ItemKind, index: usize) -> String {
    match kind {
        ItemKind::Service => {
            let s = &input.services[index];
            service_label(index, Some(&s.cluster), Some(&s.service))
        }
        ItemKind::Task => {
            let t = &input.tasks[index];
            task_label(index, &t.event_bus, Some(&t.rule))
        }
        ItemKind::Schedule => {
            let s = &input.schedules[index];
            schedule_label(index, &s.group, Some(&s.schedule))
        }
        ItemKind::Job => job_label(index, Some(&input.jobs[index].name)),
    }
}

/// The release's waves, each the names of its items in release order (services, tasks, schedules,
/// jobs); else
/// every problem at once: a `name` that is not unique or not a name, an unknown, repeated or own
/// name in `dependsOn`, every cycle (once, on its first item), more than [`MAX_WAVES`] waves, and
/// waves whose longest `timeoutSeconds` add up to more than [`MAX_TIMEOUT_SECONDS`]. Items are
/// labelled by their index in the input.
pub fn compile(input: &ReleaseInput) -> Result<Vec<Vec<String>>, Vec<WaveProblem>> {
    compile_with(input, |kind, i| label(input, kind, i), &BTreeSet::new())
}

/// [`compile`] with the caller's labels (the manifest's entry indexes), and the names of items
/// that exist but could not be read (`also_known`): naming one is not an unknown name, and the
/// dependency is left out (the item's own problems are reported already).
pub(crate) fn compile_with(
    input: &ReleaseInput,
    label: impl Fn(ItemKind, usize) -> String,
    also_known: &BTreeSet<String>,
) -> Result<Vec<Vec<String>>, Vec<WaveProblem>> {
    let items = items(input);
    let label = |n: usize| label(items[n].kind, items[n].index);
    let mut problems = Vec::new();
    let holders = name_problems(&items, &label, &mut problems);
    let deps = dependencies(&items, &holders, also_known, &label, &mut problems);
    let component = components(&deps);
    cycle_problems(&items, &deps, &component, &label, &mut problems);
    // Edges within a cycle are left out: the levels of the rest are still a lower bound, so the
    // wave count and deadline problems below are real ones.
    let level = levels(&deps, &component);
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (n, &k) in level.iter().enumerate() {
        if waves.len() <= k {
            waves.resize_with(k + 1, Vec::new);
        }
        waves[k].push(n);
    }
    if waves.len() > MAX_WAVES {
        problems.push(too_many_waves(&items, &deps, &component, &level));
    }
    if waves.len() > 1 {
        problems.extend(deadline_problem(&items, &waves));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(waves
        .into_iter()
        .map(|wave| wave.into_iter().map(|n| items[n].name.clone()).collect())
        .collect())
}

/// The number each compiled wave gets once the waves where nothing changes are dropped: a kept
/// wave its rank among the kept ones; a dropped wave the number of the kept wave before it, or 0.
pub fn renumber(changes: &[bool]) -> Vec<u32> {
    let mut kept = 0u32;
    changes
        .iter()
        .map(|&changes| {
            if changes {
                kept += 1;
            }
            kept.saturating_sub(1)
        })
        .collect()
}

/// Sets each plan item's `wave` from `input`'s compiled waves, the waves whose every item is
/// unchanged (`noop`) dropped and the others numbered in order from 0 ([`renumber`]). A release
/// without `dependsOn`, or where only one wave changes anything, has every item in wave 0. A job
/// always changes something (it runs). Plan items are matched to the input's by id
/// (`cluster/service`, `bus/rule`, `group/schedule`, `cluster/name`); an input that
/// [`compile`] refuses (plan-release's `check_input` refuses it first) leaves the waves alone.
pub fn number_plan_waves(plan: &mut Plan, input: &ReleaseInput) {
    let Ok(waves) = compile(input) else {
        return;
    };
    let wave_of: HashMap<&str, usize> = waves
        .iter()
        .enumerate()
        .flat_map(|(k, names)| names.iter().map(move |name| (name.as_str(), k)))
        .collect();
    let mut by_id: HashMap<(ItemKind, String), usize> = HashMap::new();
    for item in items(input) {
        let id = match item.kind {
            ItemKind::Service => {
                let s = &input.services[item.index];
                let (cluster, service) = arn::service_key(&s.cluster, &s.service);
                format!("{cluster}/{service}")
            }
            ItemKind::Task => {
                let t = &input.tasks[item.index];
                format!("{}/{}", arn::bus_key(&t.event_bus), t.rule)
            }
            ItemKind::Schedule => {
                let s = &input.schedules[item.index];
                format!("{}/{}", s.group, s.schedule)
            }
            ItemKind::Job => {
                let j = &input.jobs[item.index];
                let cluster = arn::cluster(&j.cluster).map_or(j.cluster.as_str(), |c| c.name);
                format!("{cluster}/{}", j.name)
            }
        };
        if let Some(&k) = wave_of.get(item.name.as_str()) {
            by_id.insert((item.kind, id), k);
        }
    }
    let wave = |kind, id: &str| by_id.get(&(kind, id.to_owned())).copied();
    let mut changes = vec![false; waves.len()];
    let changed_services = plan.services.iter().filter(|s| !s.noop);
    let changed_services = changed_services.filter_map(|s| wave(ItemKind::Service, &s.id));
    let changed_tasks = plan.tasks.iter().filter(|t| !t.noop);
    let changed_tasks = changed_tasks.filter_map(|t| wave(ItemKind::Task, &t.id));
    let changed_schedules = plan.schedules.iter().filter(|s| !s.noop);
    let changed_schedules = changed_schedules.filter_map(|s| wave(ItemKind::Schedule, &s.id));
    let jobs = plan.jobs.iter().filter_map(|j| wave(ItemKind::Job, &j.id));
    let changed = changed_services
        .chain(changed_tasks)
        .chain(changed_schedules)
        .chain(jobs);
    for k in changed {
        changes[k] = true;
    }
    let number = renumber(&changes);
    for s in &mut plan.services {
        s.wave = wave(ItemKind::Service, &s.id).map_or(0, |k| number[k]);
    }
    for t in &mut plan.tasks {
        t.wave = wave(ItemKind::Task, &t.id).map_or(0, |k| number[k]);
    }
    for s in &mut plan.schedules {
        s.wave = wave(ItemKind::Schedule, &s.id).map_or(0, |k| number[k]);
    }
    for j in &mut plan.jobs {
        j.wave = wave(ItemKind::Job, &j.id).map_or(0, |k| number[k]);
    }
}

/// `name` is a name: not empty, no whitespace (names are written in YAML lists and messages); a
/// job's, the manifest's rule for job names.
fn check_name(kind: ItemKind, name: &str) -> Result<(), String> {
    if kind == ItemKind::Job {
        return checks::job_name(name);
    }
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.chars().any(char::is_whitespace) {
        return Err(format!("`{name}` contains whitespace"));
    }
    Ok(())
}

/// The item a name stands for among the items that have it: the one whose name is not a `name:`
/// (it has no other), else the first.
fn owner(holders: &[usize], items: &[Item]) -> usize {
    holders
        .iter()
        .copied()
        .find(|&h| !items[h].named)
        .unwrap_or(holders[0])
}

/// Which items have each name; a `name:` that is not a name or is another item's name is a
/// problem. Two items with the same name and no `name:` (one service or rule listed twice, which
/// the manifest rules refuse, or a service and a rule that happen to share one) are a problem only
/// when `dependsOn` names them ([`dependencies`]).
fn name_problems<'i>(
    items: &'i [Item],
    label: &impl Fn(usize) -> String,
    problems: &mut Vec<WaveProblem>,
) -> HashMap<&'i str, Vec<usize>> {
    let mut holders: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, item) in items.iter().enumerate() {
        holders.entry(item.name.as_str()).or_default().push(n);
    }
    for (n, item) in items.iter().enumerate().filter(|(_, item)| item.named) {
        if let Err(message) = check_name(item.kind, &item.name) {
            problems.push(WaveProblem {
                item: label(n),
                field: "name",
                message,
            });
            continue;
        }
        let first = owner(&holders[item.name.as_str()], items);
        if first != n {
            problems.push(WaveProblem {
                item: label(n),
                field: "name",
                message: format!(
                    "`{}` is already the name of {}: each item's name must be unique in the \
                     release",
                    item.name,
                    label(first)
                ),
            });
        }
    }
    holders
}

/// For each item, the items its `dependsOn` names, each once; a repeated name, the item's own
/// name, an unknown name and an ambiguous one are problems.
fn dependencies(
    items: &[Item],
    holders: &HashMap<&str, Vec<usize>>,
    also_known: &BTreeSet<String>,
    label: &impl Fn(usize) -> String,
    problems: &mut Vec<WaveProblem>,
) -> Vec<Vec<usize>> {
    let mut unique = BTreeSet::new();
    let known: Vec<&str> = items
        .iter()
        .map(|item| item.name.as_str())
        .filter(|name| unique.insert(*name))
        .collect();
    let mut deps = Vec::with_capacity(items.len());
    for (n, item) in items.iter().enumerate() {
        let mut problem = |message: String| {
            problems.push(WaveProblem {
                item: label(n),
                field: "dependsOn",
                message,
            });
        };
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut repeated: BTreeSet<&str> = BTreeSet::new();
        let mut to: Vec<usize> = Vec::new();
        for name in item.depends_on {
            if !seen.insert(name) {
                if repeated.insert(name) {
                    problem(format!("names `{name}` twice: list each dependency once"));
                }
                continue;
            }
            if *name == item.name {
                problem(format!(
                    "names `{name}`, this item itself: an item cannot depend on itself"
                ));
                continue;
            }
            match holders.get(name.as_str()) {
                Some(those) => {
                    if those.len() > 1 && those.iter().all(|&h| !items[h].named) {
                        let both: Vec<String> = those.iter().map(|&h| label(h)).collect();
                        problem(format!(
                            "`{name}` is the name of {}: give one of them a `name:` and depend \
                             on that",
                            both.join(" and ")
                        ));
                    }
                    let target = owner(those, items);
                    if !to.contains(&target) {
                        to.push(target);
                    }
                }
                None if also_known.contains(name) => {}
                None => problem(unknown_name(name, &known)),
            }
        }
        deps.push(to);
    }
    deps
}

/// `` `wbe` is not the name of any item of this release (did you mean `web`?) ``.
fn unknown_name(name: &str, known: &[&str]) -> String {
    let suffix = |k: &&str| name.ends_with(&format!("/{k}")) || k.ends_with(&format!("/{name}"));
    let by_suffix: Vec<&str> = known.iter().copied().filter(suffix).collect();
    let suggestion = closest(name, known).or(match by_suffix[..] {
        [only] => Some(only),
        _ => None,
    });
    match suggestion {
        Some(known) => format!(
            "`{name}` is not the name of any item of this release (did you mean `{known}`?)"
        ),
        None => format!(
            "`{name}` is not the name of any item of this release: an item is named by its \
             `name:`, else `cluster/service` for a service and the rule's name for a task \
             (`bus/rule` off the default bus)"
        ),
    }
}

/// The strongly connected component of every item (Tarjan's algorithm, without recursion: a chain
/// of thousands of items must not exhaust the stack).
fn components(deps: &[Vec<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = deps.len();
    let (mut index, mut low) = (vec![UNSEEN; n], vec![0; n]);
    let (mut on_stack, mut stack) = (vec![false; n], Vec::new());
    let mut component = vec![UNSEEN; n];
    let (mut next, mut found) = (0, 0);
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = calls.last_mut() {
            let v = top.0;
            if let Some(&w) = deps[v].get(top.1) {
                top.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = found;
                    if w == v {
                        break;
                    }
                }
                found += 1;
            }
        }
    }
    component
}

/// Each group of items that depend on one another: its items, in release order, first items first.
fn cyclic_groups(component: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for (n, &c) in component.iter().enumerate() {
        let g = *group_of.entry(c).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(n);
    }
    groups.retain(|g| g.len() > 1);
    groups
}

/// Every cycle, once, on its first item: `dependsOn forms a cycle: api → web → api`.
fn cycle_problems(
    items: &[Item],
    deps: &[Vec<usize>],
    component: &[usize],
    label: &impl Fn(usize) -> String,
    problems: &mut Vec<WaveProblem>,
) {
    let mut found: Vec<(Vec<usize>, Option<&[usize]>)> = Vec::new();
    let groups = cyclic_groups(component);
    for group in &groups {
        let (cycles, complete) = cycles_of(group, deps, component);
        found.extend(cycles.into_iter().map(|c| (c, None)));
        if !complete {
            found.push((vec![group[0]], Some(group)));
        }
    }
    // On their first items, in release order; a group's "more cycles" after its cycles.
    found.sort_by_key(|(cycle, more)| (cycle[0], more.is_some()));
    for (cycle, more) in found {
        let message = match more {
            None => {
                let names: Vec<&str> = cycle
                    .iter()
                    .chain(&cycle[..1])
                    .map(|&n| items[n].name.as_str())
                    .collect();
                format!("dependsOn forms a cycle: {}", names.join(" → "))
            }
            Some(group) => format!(
                "dependsOn forms more cycles than are named here, among these {} items: {}",
                group.len(),
                listed(group.iter().map(|&n| items[n].name.as_str()))
            ),
        };
        problems.push(WaveProblem {
            item: label(cycle[0]),
            field: "dependsOn",
            message,
        });
    }
}

/// The elementary cycles within `group` (one strongly connected component), each starting at its
/// first item and following `dependsOn`, and whether that is all of them: each cycle is found once,
/// from its first item, through items after it only.
fn cycles_of(group: &[usize], deps: &[Vec<usize>], component: &[usize]) -> (Vec<Vec<usize>>, bool) {
    let c = component[group[0]];
    let mut cycles = Vec::new();
    let mut steps = 0;
    let mut on_path = vec![false; deps.len()];
    for &start in group {
        let mut path = vec![start];
        let mut next_edge = vec![0];
        on_path[start] = true;
        while let (Some(&v), Some(edge)) = (path.last(), next_edge.last_mut()) {
            let Some(&w) = deps[v].get(*edge) else {
                on_path[v] = false;
                path.pop();
                next_edge.pop();
                continue;
            };
            *edge += 1;
            steps += 1;
            if steps > CYCLE_SEARCH_STEPS {
                return (cycles, false);
            }
            if component[w] != c || w < start {
                continue;
            }
            if w == start {
                if cycles.len() == MAX_CYCLES {
                    return (cycles, false);
                }
                cycles.push(path.clone());
            } else if !on_path[w] {
                on_path[w] = true;
                path.push(w);
                next_edge.push(0);
            }
        }
    }
    (cycles, true)
}

/// Each item's wave: 0 without dependencies, else one after its dependencies' last, edges within a
/// cycle left out.
fn levels(deps: &[Vec<usize>], component: &[usize]) -> Vec<usize> {
    let n = deps.len();
    let kept = |v: usize| {
        deps[v]
            .iter()
            .copied()
            .filter(move |&w| component[w] != component[v])
    };
    let mut waiting: Vec<usize> = (0..n).map(|v| kept(v).count()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for v in 0..n {
        for w in kept(v) {
            dependents[w].push(v);
        }
    }
    let mut level = vec![0; n];
    let mut ready: VecDeque<usize> = (0..n).filter(|&v| waiting[v] == 0).collect();
    while let Some(w) = ready.pop_front() {
        for &v in &dependents[w] {
            level[v] = level[v].max(level[w] + 1);
            waiting[v] -= 1;
            if waiting[v] == 0 {
                ready.push_back(v);
            }
        }
    }
    level
}

/// More than [`MAX_WAVES`] waves, with the longest chain that makes them.
fn too_many_waves(
    items: &[Item],
    deps: &[Vec<usize>],
    component: &[usize],
    level: &[usize],
) -> WaveProblem {
    let deepest = level.iter().copied().max().unwrap_or_default();
    let mut chain: Vec<usize> = level
        .iter()
        .position(|&l| l == deepest)
        .into_iter()
        .collect();
    while let Some(&v) = chain.last() {
        let below = deps[v]
            .iter()
            .copied()
            .find(|&w| component[w] != component[v] && level[w] + 1 == level[v]);
        match below {
            Some(w) => chain.push(w),
            None => break,
        }
    }
    let names: Vec<&str> = chain.iter().map(|&n| items[n].name.as_str()).collect();
    WaveProblem {
        item: String::new(),
        field: "dependsOn",
        message: format!(
            "dependsOn makes {} waves, more than the {MAX_WAVES} a release may have; the longest \
             chain is {}",
            deepest + 1,
            names.join(" → ")
        ),
    }
}

/// The waves' longest `timeoutSeconds` added up, when above [`MAX_TIMEOUT_SECONDS`]: the state
/// machine's execution timeout leaves room for that much waiting (and as much for a rollback).
fn deadline_problem(items: &[Item], waves: &[Vec<usize>]) -> Option<WaveProblem> {
    let longest: Vec<usize> = waves
        .iter()
        .map(|wave| {
            let at = |&&n: &&usize| items[n].timeout_seconds;
            *wave.iter().max_by_key(at).expect("waves are not empty")
        })
        .collect();
    let total: u64 = longest
        .iter()
        .map(|&n| u64::from(items[n].timeout_seconds))
        .sum();
    if total <= u64::from(MAX_TIMEOUT_SECONDS) {
        return None;
    }
    let parts: Vec<String> = longest
        .iter()
        .enumerate()
        .map(|(k, &n)| match items[n].timeout_seconds {
            0 => format!("wave {}: 0 s", k + 1),
            t => format!(
                "wave {}: {} s for {}",
                k + 1,
                seconds(u64::from(t)),
                items[n].name
            ),
        })
        .collect();
    Some(WaveProblem {
        item: String::new(),
        field: "dependsOn",
        message: format!(
            "the waves may wait {} s in all, above the {} s (3 h) a release may wait: each wave \
             waits up to its longest timeoutSeconds ({}); lower timeoutSeconds or make fewer waves",
            seconds(total),
            seconds(u64::from(MAX_TIMEOUT_SECONDS)),
            parts.join("; ")
        ),
    })
}

fn seconds(s: u64) -> String {
    thousands(usize::try_from(s).unwrap_or(usize::MAX))
}

/// `a, b, c`, or the first [`MAX_LISTED`] and `and N more`.
fn listed<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let shown: Vec<&str> = names.take(MAX_LISTED).collect();
    if total > MAX_LISTED {
        format!("{} and {} more", shown.join(", "), total - MAX_LISTED)
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests;
