//! How a wave's changed items are cut into the batches of a Distributed Map, and each batch's share
//! of ECS's account buckets (docs/decisions/0006 § Items, waves and batches; § Pacing).
//!
//! Items whose registration request is the same (same previous revision, same images) share one
//! registration, so they are packed into one batch: two batches registering the same request at
//! once would each register it. Whole groups are packed longest-first into the batch with the
//! fewest registrations, then the fewest items, which balances the registration drain — the
//! slowest thing in a release — across the batches.

use std::collections::BTreeMap;

use crate::contract::{
    BatchItems, BatchSpec, BatchSummary, Bucket, CaughtError, ImageMap, JobItem, Pace, Plan,
    RuleItem, ScheduleItem, ServiceItem,
};

/// Changed items per batch before another batch is worth its child execution.
pub const ITEMS_PER_BATCH: usize = 50;

/// Children of one wave: AWS starts child executions at 100 per second, and convoy keeps one map
/// run per release (decision 0006, moto difference 8).
pub const MAX_BATCHES: usize = 100;

/// RegisterTaskDefinition's account bucket (shared with DeregisterTaskDefinition): 20, then 1/s.
pub const REGISTER_BUCKET: Bucket = Bucket {
    burst: 20,
    refill_interval_ms: 1_000,
};

/// UpdateService's account bucket: 50, then 5/s.
pub const UPDATE_BUCKET: Bucket = Bucket {
    burst: 50,
    refill_interval_ms: 200,
};

/// The account buckets a wave's batches share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRates {
    pub registrations: Bucket,
    pub updates: Bucket,
}

impl AccountRates {
    /// ECS's default quotas.
    pub const ECS: AccountRates = AccountRates {
        registrations: REGISTER_BUCKET,
        updates: UPDATE_BUCKET,
    };

    /// The refill rates multiplied by `scale` (an account with raised quotas; the local stack's
    /// simulator runs its buckets faster), bursts unchanged.
    // `as` from f64 saturates (never wraps) in Rust; the interval is whole milliseconds anyway.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    pub fn scaled(scale: f64) -> AccountRates {
        let faster = |bucket: Bucket| Bucket {
            burst: bucket.burst,
            // At least a millisecond: a scale of 0 or less is refused where it is read.
            refill_interval_ms: ((bucket.refill_interval_ms as f64 / scale).round() as u64).max(1),
        };
        AccountRates {
            registrations: faster(REGISTER_BUCKET),
            updates: faster(UPDATE_BUCKET),
        }
    }
}

impl Default for AccountRates {
    fn default() -> Self {
        AccountRates::ECS
    }
}

/// The environment variable scaling the account's refill rates (default 1).
pub const RATE_SCALE_VAR: &str = "CONVOY_ECS_RATE_SCALE";

/// The account's rates from the value of [`RATE_SCALE_VAR`]; a bad value is an error naming it.
pub fn rates_from(rate_scale: Option<&str>) -> Result<AccountRates, String> {
    match given(rate_scale) {
        None => Ok(AccountRates::ECS),
        Some(text) => match text.parse::<f64>() {
            Ok(scale) if scale.is_finite() && scale > 0.0 => Ok(AccountRates::scaled(scale)),
            _ => Err(format!(
                "{RATE_SCALE_VAR} must be a number above 0, got `{text}`"
            )),
        },
    }
}

/// A set environment value, trimmed; `None` when unset or blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// What one registration is: the revision cloned and the images it gets.
pub type RegistrationKey = (String, ImageMap);

/// A wave cut into batches: `specs[i]` describes `batches[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    pub specs: Vec<BatchSpec>,
    pub batches: Vec<BatchItems>,
}

/// A changed item, by its place in a list of services, rules or jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Slot {
    Service(usize),
    Rule(usize),
    Schedule(usize),
    Job(usize),
}

/// The registration of a clone of `previous` with `images`.
pub fn registration_key(previous: &str, images: &ImageMap) -> RegistrationKey {
    (previous.to_owned(), images.clone())
}

/// The registrations a service item needs.
pub fn service_registrations(item: &ServiceItem) -> Vec<RegistrationKey> {
    one_unless(item.noop, &item.previous_task_definition, &item.images)
}

/// The registration of a clone of `previous` with `images`, unless the item does not change.
fn one_unless(noop: bool, previous: &str, images: &ImageMap) -> Vec<RegistrationKey> {
    if noop {
        Vec::new()
    } else {
        vec![registration_key(previous, images)]
    }
}

/// The distinct registrations a rule item's changed targets need.
pub fn rule_registrations(item: &RuleItem) -> Vec<RegistrationKey> {
    let mut keys: Vec<RegistrationKey> = item
        .targets
        .iter()
        .filter(|t| !t.noop)
        .map(|t| registration_key(&t.previous_task_definition, &t.images))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The registration a schedule item needs.
pub fn schedule_registrations(item: &ScheduleItem) -> Vec<RegistrationKey> {
    one_unless(item.noop, &item.previous_task_definition, &item.images)
}

/// A job's registration, unless plan-release found its images in the family's newest revision.
pub fn job_registrations(item: &JobItem) -> Vec<RegistrationKey> {
    let registered = item.new_task_definition.is_some();
    one_unless(registered, &item.previous_task_definition, &item.images)
}

/// Per wave, in order: its changed items cut into batches ([`layout`]). One layout per wave of
/// the plan's changed items (their `wave`, numbered without gaps); none when nothing changes.
pub fn wave_layouts(plan: &Plan, max_concurrency: u32, rates: AccountRates) -> Vec<Layout> {
    (0..plan.waves())
        .map(|wave| layout(&plan.in_wave(wave), max_concurrency, rates))
        .collect()
}

/// The plan's changed items cut into at most `min(max_concurrency, MAX_BATCHES)` batches of about
/// [`ITEMS_PER_BATCH`] items, each with its pace. No changed item: no batch.
pub fn layout(plan: &Plan, max_concurrency: u32, rates: AccountRates) -> Layout {
    let items = BatchItems {
        services: plan.services.clone(),
        tasks: plan.tasks.clone(),
        jobs: plan.jobs.clone(),
        schedules: plan.schedules.clone(),
    };
    layout_of(&items, max_concurrency, rates)
}

/// [`layout`] of these items.
fn layout_of(all: &BatchItems, max_concurrency: u32, rates: AccountRates) -> Layout {
    let groups = registration_groups(all);
    let changed: usize = groups.iter().map(|g| g.slots.len()).sum();
    let wanted = changed
        .div_ceil(ITEMS_PER_BATCH)
        .min(usize::try_from(max_concurrency).unwrap_or(usize::MAX))
        .clamp(1, MAX_BATCHES);
    let mut load = vec![(0_usize, 0_usize); wanted];
    let mut members: Vec<Vec<Slot>> = vec![Vec::new(); wanted];
    for group in &groups {
        // Longest-first greedy: the lightest batch so far, the first of equals.
        let lightest = (0..wanted).min_by_key(|&b| (load[b], b)).unwrap_or(0);
        load[lightest].0 += group.registrations;
        load[lightest].1 += group.slots.len();
        members[lightest].extend(&group.slots);
    }
    let filled: Vec<(Vec<Slot>, usize)> = members
        .into_iter()
        .zip(load)
        .filter(|(slots, _)| !slots.is_empty())
        .map(|(mut slots, (registrations, _))| {
            slots.sort();
            (slots, registrations)
        })
        .collect();
    let count = filled.len();
    let mut layout = Layout::default();
    for (index, (slots, registrations)) in filled.into_iter().enumerate() {
        let mut items = BatchItems::default();
        for slot in &slots {
            match *slot {
                Slot::Service(i) => items.services.push(all.services[i].clone()),
                Slot::Rule(i) => items.tasks.push(all.tasks[i].clone()),
                Slot::Schedule(i) => items.schedules.push(all.schedules[i].clone()),
                Slot::Job(i) => items.jobs.push(all.jobs[i].clone()),
            }
        }
        layout.specs.push(BatchSpec {
            batch: to_u32(index),
            items: to_u32(slots.len()),
            registrations: to_u32(registrations),
            pace: Pace {
                registrations: share(rates.registrations, count, index),
                updates: share(rates.updates, count, index),
            },
        });
        layout.batches.push(items);
    }
    layout
}

/// Batch `index`'s share of `bucket` when `batches` share it: the burst split evenly (at least
/// one call for the first `burst` batches, so no share is left unused), the refill rate divided.
pub fn share(bucket: Bucket, batches: usize, index: usize) -> Bucket {
    let batches = to_u32(batches.max(1));
    let even = bucket.burst / batches;
    let burst = if even == 0 && to_u32(index) < bucket.burst {
        1
    } else {
        even
    };
    Bucket {
        burst,
        refill_interval_ms: bucket.refill_interval_ms.saturating_mul(u64::from(batches)),
    }
}

/// Why a batch's unrecorded items were not deployed, once its wave's Map has ended: `None` when the
/// batch finished (its summary has nothing remaining). The error name is the last call's when the
/// batch failed as a whole, else `Internal`.
pub fn interruption(wave: u32, batch: u32, summary: Option<&BatchSummary>) -> Option<CaughtError> {
    let at = format!("wave {wave}, batch {batch} ended before deploying this item");
    match summary {
        Some(s) if s.remaining == 0 => None,
        Some(BatchSummary {
            last_error: Some(last),
            ..
        }) => Some(CaughtError {
            error: last.error.clone(),
            cause: format!("{at}: its last call failed: {}", last.message()),
        }),
        Some(s) => Some(CaughtError {
            error: "Internal".into(),
            cause: format!(
                "{at}: its child execution was stopped after {} call{}, {} item{} left",
                s.invocations,
                if s.invocations == 1 { "" } else { "s" },
                s.remaining,
                if s.remaining == 1 { "" } else { "s" },
            ),
        }),
        None => Some(CaughtError {
            error: "Internal".into(),
            cause: format!(
                "{at}: no call of deploy-batch for it finished (its child execution failed to start, \
                 or was stopped during its first call)"
            ),
        }),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Items that share any registration, with how many distinct registrations they make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// In list order: services, then rules.
    pub slots: Vec<Slot>,
    pub registrations: usize,
}

/// The changed items joined into groups by shared registrations (union-find over the items),
/// heaviest first: most registrations, then most items, then list order. Every job is a change.
pub fn registration_groups(batch: &BatchItems) -> Vec<Group> {
    let services = batch.services.iter().enumerate().filter(|(_, s)| !s.noop);
    let tasks = batch.tasks.iter().enumerate().filter(|(_, r)| !r.noop);
    let schedules = batch.schedules.iter().enumerate().filter(|(_, s)| !s.noop);
    let items: Vec<(Slot, Vec<RegistrationKey>)> = services
        .map(|(i, s)| (Slot::Service(i), service_registrations(s)))
        .chain(tasks.map(|(i, r)| (Slot::Rule(i), rule_registrations(r))))
        .chain(schedules.map(|(i, s)| (Slot::Schedule(i), schedule_registrations(s))))
        .chain(
            batch
                .jobs
                .iter()
                .enumerate()
                .map(|(i, j)| (Slot::Job(i), job_registrations(j))),
        )
        .collect();
    let mut parent: Vec<usize> = (0..items.len()).collect();
    let mut owner: BTreeMap<&RegistrationKey, usize> = BTreeMap::new();
    for (index, (_, keys)) in items.iter().enumerate() {
        for key in keys {
            match owner.get(key) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, index), root(&mut parent, other));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    owner.insert(key, index);
                }
            }
        }
    }
    let mut by_root: BTreeMap<usize, (Vec<Slot>, Vec<&RegistrationKey>)> = BTreeMap::new();
    for (index, (slot, keys)) in items.iter().enumerate() {
        let entry = by_root.entry(root(&mut parent, index)).or_default();
        entry.0.push(*slot);
        entry.1.extend(keys);
    }
    let mut groups: Vec<(usize, Group)> = by_root
        .into_iter()
        .map(|(first, (slots, mut keys))| {
            keys.sort();
            keys.dedup();
            let group = Group {
                slots,
                registrations: keys.len(),
            };
            (first, group)
        })
        .collect();
    groups.sort_by(|(a_first, a), (b_first, b)| {
        (b.registrations, b.slots.len(), a_first).cmp(&(a.registrations, a.slots.len(), b_first))
    });
    groups.into_iter().map(|(_, g)| g).collect()
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::examples::{app_image, plan, service_item};
    use crate::contract::RuleTaskTarget;

    fn service(name: &str, previous: &str, image: &str) -> ServiceItem {
        service_item("prod", name, previous, app_image(image))
    }

    fn rule(name: &str, targets: &[(&str, &str, bool)]) -> RuleItem {
        RuleItem {
            id: format!("default/{name}"),
            rule: name.into(),
            event_bus: "default".into(),
            targets: targets
                .iter()
                .enumerate()
                .map(|(i, (previous, image, noop))| RuleTaskTarget {
                    target_id: format!("t{i}"),
                    previous_task_definition: (*previous).into(),
                    images: app_image(image),
                    noop: *noop,
                    new_task_definition: None,
                })
                .collect(),
            noop: targets.iter().all(|t| t.2),
            wave: 0,
        }
    }

    fn layout_of(plan: &Plan, max_concurrency: u32) -> Layout {
        layout(plan, max_concurrency, AccountRates::ECS)
    }

    #[test]
    fn the_rates_come_from_the_environment_or_say_what_is_wrong() {
        assert_eq!(rates_from(None), Ok(AccountRates::ECS));
        assert_eq!(rates_from(Some(" ")), Ok(AccountRates::ECS));
        let ten = rates_from(Some("10")).unwrap();
        assert_eq!(ten.registrations.refill_interval_ms, 100);
        assert_eq!(ten.updates.refill_interval_ms, 20);
        assert_eq!(ten.registrations.burst, 20, "bursts are not scaled");
        assert_eq!(
            rates_from(Some("0.5")).unwrap().updates.refill_interval_ms,
            400
        );
        for scale in ["0", "-1", "ten", "inf", "NaN"] {
            let err = rates_from(Some(scale)).unwrap_err();
            assert!(err.starts_with(RATE_SCALE_VAR), "{err}");
        }
    }

    fn ids(items: &BatchItems) -> Vec<&str> {
        items
            .services
            .iter()
            .map(|s| s.id.as_str())
            .chain(items.tasks.iter().map(|r| r.id.as_str()))
            .collect()
    }

    /// `n` services, each its own family.
    fn distinct(n: usize) -> Vec<ServiceItem> {
        (0..n)
            .map(|i| service(&format!("s{i}"), &format!("s{i}:1"), &format!("s{i}:v2")))
            .collect()
    }

    #[test]
    fn shares_add_up_to_the_account_bucket() {
        // (bucket, batches) -> per batch (burst, interval ms), and the bursts' sum.
        let cases = [
            (REGISTER_BUCKET, 1, 20, 1_000),
            (REGISTER_BUCKET, 10, 2, 10_000),
            (REGISTER_BUCKET, 3, 6, 3_000),
            (REGISTER_BUCKET, 100, 0, 100_000),
            (UPDATE_BUCKET, 10, 5, 2_000),
            (UPDATE_BUCKET, 100, 0, 20_000),
        ];
        for (bucket, batches, even, interval) in cases {
            let shares: Vec<Bucket> = (0..batches).map(|i| share(bucket, batches, i)).collect();
            assert!(
                shares.iter().all(|s| s.refill_interval_ms == interval),
                "{batches}: {shares:?}"
            );
            let bursts: u32 = shares.iter().map(|s| s.burst).sum();
            let expected = if even == 0 {
                bucket.burst
            } else {
                even * to_u32(batches)
            };
            assert_eq!(bursts, expected, "{batches} batches of {bucket:?}");
            assert!(bursts <= bucket.burst);
            // The refill rates add up to the account's: batches × (1 / interval).
            assert_eq!(
                interval,
                bucket.refill_interval_ms * u64::from(to_u32(batches))
            );
        }
        // Past the burst, later batches start from an empty bucket.
        assert_eq!(share(REGISTER_BUCKET, 100, 19).burst, 1);
        assert_eq!(share(REGISTER_BUCKET, 100, 20).burst, 0);
    }

    #[test]
    fn batch_count_follows_items_concurrency_and_the_cap() {
        // (changed items, maxConcurrency) -> batches
        let cases = [
            (1, 10, 1),
            (50, 10, 1),
            (51, 10, 2),
            (500, 10, 10),
            (500, 4, 4),
            (2_000, 100, 40),
            (10_000, 100, 100),
            (10_000, 500, 100),
            (3, 0, 1),
        ];
        for (n, max_concurrency, batches) in cases {
            let got = layout_of(&plan(distinct(n), vec![]), max_concurrency);
            assert_eq!(got.specs.len(), batches, "{n} items, {max_concurrency}");
            assert_eq!(got.batches.len(), batches);
            let total: u32 = got.specs.iter().map(|s| s.items).sum();
            assert_eq!(total, to_u32(n), "every changed item once");
            let (min, max) = got.specs.iter().fold((u32::MAX, 0), |(lo, hi), s| {
                (lo.min(s.items), hi.max(s.items))
            });
            assert!(max - min <= 1, "{n}: balanced, {min}..{max}");
        }
    }

    #[test]
    fn nothing_changed_means_no_batch() {
        let mut unchanged = distinct(3);
        unchanged.iter_mut().for_each(|s| s.noop = true);
        let got = layout_of(
            &plan(unchanged, vec![rule("n", &[("a:1", "a:2", true)])]),
            10,
        );
        assert_eq!(got, Layout::default());
    }

    #[test]
    fn jobs_and_schedules_join_the_groups_of_the_registrations_they_share() {
        let mut p = plan(vec![service("api", "app:1", "app:2")], vec![]);
        // The migration clones the service's revision with the same image: one registration.
        p.jobs.push(JobItem {
            id: "prod/migrate".into(),
            wave: 0,
            cluster: "prod".into(),
            name: "migrate".into(),
            previous_task_definition: "app:1".into(),
            images: app_image("app:2"),
            essential_containers: vec!["app".into()],
            overrides: Default::default(),
            launch: Default::default(),
            timeout_seconds: 600,
            new_task_definition: None,
        });
        // A job whose newest revision already has its images registers nothing.
        let mut seed = p.jobs[0].clone();
        seed.id = "prod/seed".into();
        seed.new_task_definition = Some("seed:3".into());
        p.jobs.push(seed);
        p.schedules.push(ScheduleItem {
            id: "default/nightly".into(),
            wave: 0,
            group: "default".into(),
            schedule: "nightly".into(),
            previous_task_definition: "report:1".into(),
            images: app_image("report:2"),
            noop: false,
            new_task_definition: None,
        });
        let all = BatchItems {
            services: p.services.clone(),
            tasks: Vec::new(),
            schedules: p.schedules.clone(),
            jobs: p.jobs.clone(),
        };
        let groups: Vec<(Vec<Slot>, usize)> = registration_groups(&all)
            .into_iter()
            .map(|g| (g.slots, g.registrations))
            .collect();
        assert_eq!(
            groups,
            [
                (vec![Slot::Service(0), Slot::Job(0)], 1),
                (vec![Slot::Schedule(0)], 1),
                (vec![Slot::Job(1)], 0),
            ]
        );
        let cut = layout_of(&p, 10);
        assert_eq!(cut.specs.len(), 1);
        assert_eq!(cut.specs[0].items, 4);
        assert_eq!(cut.specs[0].registrations, 2);
        assert_eq!(cut.batches[0].kinds_and_ids().count(), 4);
    }

    #[test]
    fn items_sharing_a_registration_stay_together_and_register_once() {
        // 60 services: 30 share one request (web:1 -> web:2), 30 are distinct. Two batches.
        let mut services: Vec<ServiceItem> = (0..30)
            .map(|i| service(&format!("web{i}"), "web:1", "web:2"))
            .collect();
        services.extend(distinct(30));
        // A rule whose target makes the same request joins the web group.
        let tasks = vec![rule(
            "nightly",
            &[("web:1", "web:2", false), ("x:1", "x:2", true)],
        )];
        let got = layout_of(&plan(services, tasks), 10);
        assert_eq!(got.specs.len(), 2);
        let with_web: Vec<usize> = (0..2)
            .filter(|&b| {
                ids(&got.batches[b])
                    .iter()
                    .any(|id| id.starts_with("prod/web"))
            })
            .collect();
        assert_eq!(with_web.len(), 1, "the shared group is not split");
        let web = &got.batches[with_web[0]];
        assert_eq!(
            web.tasks.len(),
            1,
            "the rule is with the services it shares with"
        );
        // Registrations balance: the web group (1 registration, 31 items) against 30 distinct ones.
        let regs: Vec<u32> = got.specs.iter().map(|s| s.registrations).collect();
        assert_eq!(regs.iter().sum::<u32>(), 31);
        assert!(regs.iter().all(|&r| (15..=16).contains(&r)), "{regs:?}");
        let items: Vec<u32> = got.specs.iter().map(|s| s.items).collect();
        assert!(
            items[with_web[0]] > 40,
            "balanced by registrations, not items: {items:?}"
        );
    }

    #[test]
    fn registrations_balance_before_items() {
        // One family shared by 40 services and 40 distinct ones: the heavy-item, light-registration
        // group goes into one batch, the distinct ones spread over the rest by registrations.
        let mut services: Vec<ServiceItem> = (0..40)
            .map(|i| service(&format!("api{i}"), "api:1", "api:2"))
            .collect();
        services.extend(distinct(40));
        let got = layout_of(&plan(services, vec![]), 10);
        assert_eq!(got.specs.len(), 2);
        let regs: Vec<u32> = got.specs.iter().map(|s| s.registrations).collect();
        assert_eq!(regs.iter().sum::<u32>(), 41);
        assert!(regs.iter().all(|&r| (20..=21).contains(&r)), "{regs:?}");
    }

    #[test]
    fn batches_keep_plan_order_and_carry_their_pace() {
        let got = layout_of(&plan(distinct(120), vec![]), 10);
        assert_eq!(got.specs.len(), 3);
        for (i, (spec, items)) in got.specs.iter().zip(&got.batches).enumerate() {
            assert_eq!(spec.batch, to_u32(i));
            assert_eq!(spec.items, to_u32(items.services.len()));
            assert_eq!(spec.registrations, spec.items);
            assert_eq!(spec.pace.registrations, share(REGISTER_BUCKET, 3, i));
            assert_eq!(spec.pace.updates, share(UPDATE_BUCKET, 3, i));
            let order: Vec<usize> = items
                .services
                .iter()
                .map(|s| s.service[1..].parse().unwrap())
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "plan order: {order:?}"
            );
        }
    }

    #[test]
    fn a_batch_that_did_not_finish_says_why_its_items_were_not_deployed() {
        let summary = |remaining: u32, invocations: u32, last: Option<(&str, &str)>| BatchSummary {
            batch: 2,
            items: 5,
            done: 5 - remaining,
            remaining,
            invocations,
            last_error: last.map(|(error, cause)| CaughtError {
                error: error.into(),
                cause: cause.into(),
            }),
            ..BatchSummary::default()
        };
        let finished = summary(0, 3, None);
        assert_eq!(interruption(1, 2, Some(&finished)), None);
        // (summary, error name, words of the cause)
        let cases = [
            (None, "Internal", "no call of deploy-batch for it finished"),
            (
                Some(summary(2, 1, None)),
                "Internal",
                "stopped after 1 call, 2 items left",
            ),
            (
                Some(summary(1, 4, None)),
                "Internal",
                "stopped after 4 calls, 1 item left",
            ),
            (
                Some(summary(
                    3,
                    2,
                    Some(("Throttled", "throttled: RegisterTaskDefinition")),
                )),
                "Throttled",
                "its last call failed: throttled: RegisterTaskDefinition",
            ),
            (
                Some(summary(
                    3,
                    2,
                    Some((
                        "Lambda.Unknown",
                        r#"{"errorType":"x","errorMessage":"crashed"}"#,
                    )),
                )),
                "Lambda.Unknown",
                "its last call failed: crashed",
            ),
        ];
        for (summary, error, words) in cases {
            let why = interruption(1, 2, summary.as_ref()).expect("not finished");
            assert_eq!(why.error, error);
            assert!(why
                .cause
                .starts_with("wave 1, batch 2 ended before deploying this item: "));
            assert!(why.cause.contains(words), "{words:?} in {}", why.cause);
        }
    }

    #[test]
    fn a_rule_registers_each_distinct_request_once() {
        let r = rule(
            "r",
            &[
                ("a:1", "a:2", false),
                ("a:1", "a:2", false),
                ("b:1", "a:2", false),
                ("c:1", "c:2", true),
            ],
        );
        assert_eq!(rule_registrations(&r).len(), 2);
        let got = layout_of(&plan(vec![], vec![r]), 10);
        assert_eq!(got.specs[0].registrations, 2);
        assert_eq!(got.specs[0].items, 1);
    }
}
