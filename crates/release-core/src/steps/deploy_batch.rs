//! deploy-batch: one child of a wave's Distributed Map deploys its batch of the plan's changed items
//! — registers each distinct task definition once, updates the services and rule targets — paced to
//! the batch's share of ECS's account buckets (docs/decisions/0006 § The child, § Pacing).
//!
//! A call resumes from the records: items with a result record are done and skipped, so a retried
//! or continued call redoes nothing. An item's failure is data (its failure record, its error name
//! in the summary); only a call that cannot go on (AWS still throttling or unavailable after
//! [`MAX_ATTEMPTS`], a record that cannot be written) fails as a whole, for the Task's Retry. A call
//! stops starting work when its budget is spent and returns what remains: the child calls again.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use futures::{stream, StreamExt, TryStreamExt};
// tokio's clock, so tests can run the pacing on a paused clock.
use tokio::time::Instant;
use tracing::{info, warn};

use crate::aws::{CodeDeployApi, EcsApi, EventsApi, ObjectStore, ScalingApi, SchedulerApi};
use crate::contract::{
    count, BatchInput, BatchItems, BatchProgress, BatchSummary, Bucket, CallCounts, CaughtError,
    FailedItem, ImageMap, ItemResult, JobItem, PlanItemKind, RuleItem, ScheduleItem, ServiceItem,
    UpdateRuleInput, UpdateServiceInput,
};
use crate::decide::batches::{registration_groups, registration_key, RegistrationKey, Slot};
use crate::decide::pace::TokenBucket;
use crate::records::{batch_items_name, batch_summary_name, result_name, RecordStore};
use crate::steps::code_deploy;
use crate::steps::register::register_or_reuse;
use crate::steps::run_job::run_job;
use crate::steps::scaling;
use crate::steps::unix_now;
use crate::steps::update_rule::update_rule;
use crate::steps::update_schedule::update_schedule;
use crate::steps::update_service::update_service;
use crate::Error;

/// Environment variable bounding how long one deploy-batch call starts new work.
pub const BUDGET_ENV: &str = "CONVOY_BATCH_BUDGET_SECONDS";

/// Well inside the function's timeout: work started just before it (one registration, the
/// updates of its group) still finishes.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(600);

/// Registration groups deployed at once within a call, so call latency never caps the rate.
pub const GROUPS_IN_FLIGHT: usize = 4;

/// Attempts per AWS call before the call as a whole fails. The client deploy-batch is given does
/// not retry by itself: every attempt waits for the pacer, and every throttled answer is counted.
pub const MAX_ATTEMPTS: u32 = 8;

const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(16);

/// Result records read at once.
const PARALLEL_READS: usize = 16;

/// The call budget from the value of [`BUDGET_ENV`]: unset or empty means [`DEFAULT_BUDGET`].
pub fn budget_from(value: Option<&str>) -> Result<Duration, Error> {
    crate::steps::seconds_from(BUDGET_ENV, value, DEFAULT_BUDGET)
}

/// A token bucket on tokio's clock.
struct Pacer {
    bucket: Mutex<TokenBucket>,
    start: Instant,
}

impl Pacer {
    fn new(share: Bucket, start: Instant) -> Self {
        Pacer {
            bucket: Mutex::new(TokenBucket::new(share, 0)),
            start,
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, TokenBucket> {
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a token; `false` when it would come after `deadline` (nothing is taken).
    async fn acquire(&self, deadline: Instant) -> bool {
        loop {
            let now = Instant::now();
            let next = match self.bucket().take(self.millis(now)) {
                Ok(()) => return true,
                Err(at) => self.start + Duration::from_millis(at),
            };
            if next > deadline {
                return false;
            }
            tokio::time::sleep_until(next).await;
        }
    }

    fn throttled(&self) {
        let now = self.millis(Instant::now());
        self.bucket().throttled(now);
    }
}

/// How an item of the batch stands: `None` while not done.
type Done = Option<Result<(), CaughtError>>;

/// One call of deploy-batch over its batch.
struct BatchRun<'a, E, V, C, R, A, S> {
    ecs: &'a E,
    events: &'a V,
    codedeploy: &'a C,
    scheduler: &'a R,
    scaling: &'a A,
    store: &'a RecordStore<S>,
    input: &'a BatchInput,
    items: &'a BatchItems,
    registrations: Pacer,
    updates: Pacer,
    deadline: Instant,
    calls: Mutex<CallCounts>,
    /// Per item, services then rules.
    done: Mutex<Vec<Done>>,
}

fn retryable(e: &Error) -> bool {
    Error::RETRYABLE.contains(&e.name())
}

fn caught(e: &Error) -> CaughtError {
    CaughtError {
        error: e.name().to_owned(),
        cause: e.to_string(),
    }
}

/// What an attempt loop ended with: the call's answer, or the budget spent before a token came.
enum Attempt<T> {
    Answered(Result<T, Error>),
    OutOfTime,
}

impl<E: EcsApi, V: EventsApi, C: CodeDeployApi, R: SchedulerApi, A: ScalingApi, S: ObjectStore>
    BatchRun<'_, E, V, C, R, A, S>
{
    fn count(&self, f: impl FnOnce(&mut CallCounts)) {
        f(&mut self.calls.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn index(&self, slot: Slot) -> usize {
        match slot {
            Slot::Service(i) => i,
            Slot::Rule(i) => self.items.services.len() + i,
            Slot::Schedule(i) => self.items.services.len() + self.items.tasks.len() + i,
            Slot::Job(i) => {
                let before = self.items.services.len() + self.items.tasks.len();
                before + self.items.schedules.len() + i
            }
        }
    }

    fn is_done(&self, slot: Slot) -> bool {
        let index = self.index(slot);
        self.done.lock().unwrap_or_else(|e| e.into_inner())[index].is_some()
    }

    /// `call` after a token of `pacer` (or, without one, while the budget lasts). Throttled:
    /// the pacer slows down and the next token retries; unavailable: a growing pause, then a retry.
    /// An answer that is neither, or the last attempt's, is the answer.
    async fn attempt<T, F, Fut>(&self, pacer: Option<&Pacer>, mut call: F) -> Attempt<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut pause = FIRST_PAUSE;
        let mut attempt = 1;
        loop {
            let may_call = match pacer {
                Some(pacer) => pacer.acquire(self.deadline).await,
                None => Instant::now() < self.deadline,
            };
            if !may_call {
                return Attempt::OutOfTime;
            }
            let answer = call().await;
            match &answer {
                Err(Error::Throttled { .. }) => {
                    self.count(|c| c.throttled += 1);
                    match pacer {
                        Some(pacer) => pacer.throttled(),
                        None => tokio::time::sleep(pause).await,
                    }
                }
                Err(Error::AwsUnavailable { .. }) => {
                    self.count(|c| c.unavailable += 1);
                    tokio::time::sleep(pause).await;
                }
                _ => return Attempt::Answered(answer),
            }
            if attempt >= MAX_ATTEMPTS {
                return Attempt::Answered(answer);
            }
            attempt += 1;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    /// The group's registration of `key`, made once. `Ok(None)`: out of time.
    async fn registration(
        &self,
        made: &mut BTreeMap<RegistrationKey, Result<String, CaughtError>>,
        key: RegistrationKey,
    ) -> Result<Option<Result<String, CaughtError>>, Error> {
        if let Some(known) = made.get(&key) {
            return Ok(Some(known.clone()));
        }
        let (previous, images) = &key;
        let release_id = &self.input.release_id;
        let answer = match self
            .attempt(Some(&self.registrations), || {
                register_or_reuse(self.ecs, release_id, previous, images)
            })
            .await
        {
            Attempt::OutOfTime => return Ok(None),
            Attempt::Answered(answer) => answer,
        };
        let outcome = match answer {
            Ok(registration) => {
                self.count(|c| {
                    if registration.reused {
                        c.reused += 1;
                    } else {
                        c.registered += 1;
                    }
                });
                Ok(registration.arn)
            }
            Err(e) if retryable(&e) => return Err(e),
            Err(e) => Err(caught(&e)),
        };
        made.insert(key, outcome.clone());
        Ok(Some(outcome))
    }

    /// The registration of `previous` with `images` for item `id`: `Ok(Ok(arn))`, or `Ok(Err(done))`
    /// when the item goes no further this call: out of time (`false`), or its registration failed
    /// and is recorded as the item's failure (`true`).
    async fn registered(
        &self,
        made: &mut BTreeMap<RegistrationKey, Result<String, CaughtError>>,
        slot: Slot,
        kind: PlanItemKind,
        id: &str,
        previous: &str,
        images: &ImageMap,
    ) -> Result<Result<String, bool>, Error> {
        match self
            .registration(made, registration_key(previous, images))
            .await?
        {
            None => Ok(Err(false)),
            Some(Ok(arn)) => Ok(Ok(arn)),
            Some(Err(error)) => {
                self.record_failure(kind, slot, id, error).await?;
                Ok(Err(true))
            }
        }
    }

    async fn record(
        &self,
        kind: PlanItemKind,
        slot: Slot,
        result: ItemResult,
    ) -> Result<(), Error> {
        let outcome = match &result.error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        };
        self.store
            .write_result(&self.input.records, kind, &result)
            .await?;
        let index = self.index(slot);
        self.done.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(outcome);
        Ok(())
    }

    async fn record_failure(
        &self,
        kind: PlanItemKind,
        slot: Slot,
        id: &str,
        error: CaughtError,
    ) -> Result<(), Error> {
        let result = ItemResult {
            id: id.to_owned(),
            deployment: None,
            rule: None,
            error: Some(error),
            job: None,
            schedule: None,
            kind: None,
        };
        self.record(kind, slot, result).await
    }

    /// Deploys the group's items not done yet: rules, then jobs, then services. `Ok(false)`: the
    /// budget ran out first.
    async fn deploy_group(&self, slots: &[Slot]) -> Result<bool, Error> {
        let mut made = BTreeMap::new();
        let mut ordered = slots.to_vec();
        let order = |slot: &Slot| match slot {
            Slot::Rule(_) | Slot::Schedule(_) => 0,
            Slot::Job(_) => 1,
            Slot::Service(_) => 2,
        };
        ordered.sort_by_key(|slot| (order(slot), *slot));
        for slot in ordered {
            if self.is_done(slot) {
                continue;
            }
            let finished = match slot {
                Slot::Rule(i) => {
                    self.deploy_rule(&mut made, slot, &self.items.tasks[i])
                        .await?
                }
                Slot::Service(i) => {
                    self.deploy_service(&mut made, slot, &self.items.services[i])
                        .await?
                }
                Slot::Schedule(i) => {
                    self.deploy_schedule(&mut made, slot, &self.items.schedules[i])
                        .await?
                }
                Slot::Job(i) => {
                    self.deploy_job(&mut made, slot, &self.items.jobs[i])
                        .await?
                }
            };
            if !finished {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn deploy_service(
        &self,
        made: &mut BTreeMap<RegistrationKey, Result<String, CaughtError>>,
        slot: Slot,
        item: &ServiceItem,
    ) -> Result<bool, Error> {
        let (kind, previous) = (PlanItemKind::Service, &item.previous_task_definition);
        let arn = match self
            .registered(made, slot, kind, &item.id, previous, &item.images)
            .await?
        {
            Ok(arn) => arn,
            Err(done) => return Ok(done),
        };
        // A held service: its scaling is suspended (and recorded) before it changes.
        if let Some(hold) =
            scaling::hold_of(item, &self.input.release_id, &self.input.execution_arn)
        {
            let records = &self.input.records;
            let held = self
                .attempt(None, || {
                    scaling::suspend(self.scaling, self.store, records, &hold)
                })
                .await;
            // Settled as the item's failure (or left for the next call when out of time).
            let refused: Option<Attempt<std::convert::Infallible>> = match held {
                Attempt::Answered(Ok(())) => None,
                Attempt::Answered(Err(e)) => Some(Attempt::Answered(Err(e))),
                Attempt::OutOfTime => Some(Attempt::OutOfTime),
            };
            if let Some(refused) = refused {
                return self
                    .settle(kind, slot, &item.id, refused, |never| match never {})
                    .await;
            }
        }
        let input = UpdateServiceInput {
            release_id: self.input.release_id.clone(),
            records: self.input.records.clone(),
            item: ServiceItem {
                new_task_definition: Some(arn),
                ..item.clone()
            },
        };
        let attempt = if item.code_deploy.is_some() {
            // CodeDeploy's rate, not ECS's UpdateService share: the SDK's retries pace it.
            self.attempt(None, || {
                code_deploy::deploy(self.ecs, self.codedeploy, &input, unix_now())
            })
            .await
        } else {
            self.attempt(Some(&self.updates), || {
                update_service(self.ecs, &input, unix_now())
            })
            .await
        };
        self.settle(
            PlanItemKind::Service,
            slot,
            &item.id,
            attempt,
            |deployment| {
                self.count(|c| c.updated += 1);
                ItemResult {
                    id: item.id.clone(),
                    deployment: Some(deployment),
                    rule: None,
                    error: None,
                    job: None,
                    schedule: None,
                    kind: None,
                }
            },
        )
        .await
    }

    async fn deploy_rule(
        &self,
        made: &mut BTreeMap<RegistrationKey, Result<String, CaughtError>>,
        slot: Slot,
        item: &RuleItem,
    ) -> Result<bool, Error> {
        let mut item = item.clone();
        for target in item.targets.iter_mut().filter(|t| !t.noop) {
            let previous = &target.previous_task_definition;
            match self
                .registered(
                    made,
                    slot,
                    PlanItemKind::Rule,
                    &item.id,
                    previous,
                    &target.images,
                )
                .await?
            {
                Ok(arn) => target.new_task_definition = Some(arn),
                Err(done) => return Ok(done),
            }
        }
        let input = UpdateRuleInput {
            release_id: self.input.release_id.clone(),
            records: self.input.records.clone(),
            item,
        };
        let attempt = self
            .attempt(None, || update_rule(self.events, &input))
            .await;
        let id = &input.item.id;
        self.settle(PlanItemKind::Rule, slot, id, attempt, |update| ItemResult {
            id: id.clone(),
            deployment: None,
            rule: Some(update),
            error: None,
            job: None,
            schedule: None,
            kind: None,
        })
        .await
    }

    /// Registers the schedule's revision, then points its ECS target at it.
    async fn deploy_schedule(
        &self,
        made: &mut BTreeMap<RegistrationKey, Result<String, CaughtError>>,
        slot: Slot,
        item: &ScheduleItem,
    ) -> Result<bool, Error> {
        let (kind, previous) = (PlanItemKind::Schedule, &item.previous_task_definition);
        let arn = match self
            .registered(made, slot, kind, &item.id, previous, &item.images)
            .await?
        {
            Ok(arn) => arn,
            Err(done) => return Ok(done),
        };
        let item = ScheduleItem {
            new_task_definition: Some(arn),
            ..item.clone()
        };
        // Scheduler's rate, not ECS's: the SDK's retries pace it.
        let attempt = self
            .attempt(None, || update_schedule(self.scheduler, &item))
            .await;
        self.settle(PlanItemKind::Schedule, slot, &item.id, attempt, |update| {
            ItemResult {
                id: item.id.clone(),
                deployment: None,
                rule: None,
                schedule: Some(update),
                job: None,
                error: None,
                kind: None,
            }
        })
        .await
    }

    /// Registers the job's revision (unless plan-release found one with its images), then starts
    /// its task.
    async fn deploy_job(
        &self,
        made: &mut BTreeMap<RegistrationKey, Result<String, CaughtError>>,
        slot: Slot,
        item: &JobItem,
    ) -> Result<bool, Error> {
        let mut item = item.clone();
        if item.new_task_definition.is_none() {
            let (kind, previous) = (PlanItemKind::Job, &item.previous_task_definition);
            match self
                .registered(made, slot, kind, &item.id, previous, &item.images)
                .await?
            {
                Ok(arn) => item.new_task_definition = Some(arn),
                Err(done) => return Ok(done),
            }
        }
        let (release_id, execution) = (&self.input.release_id, &self.input.execution_arn);
        // RunTask's rate is its own bucket, not UpdateService's: the SDK's retries pace it.
        let attempt = self
            .attempt(None, || {
                run_job(self.ecs, release_id, execution, &item, unix_now())
            })
            .await;
        self.settle(PlanItemKind::Job, slot, &item.id, attempt, |run| {
            self.count(|c| c.started += 1);
            ItemResult {
                id: item.id.clone(),
                deployment: None,
                rule: None,
                job: Some(run),
                error: None,
                schedule: None,
                kind: None,
            }
        })
        .await
    }

    /// Records how an item's last call ended: `done` of its answer, or its failure. A retryable
    /// failure (after every attempt) fails the call instead; out of time, the item is left as is.
    async fn settle<T>(
        &self,
        kind: PlanItemKind,
        slot: Slot,
        id: &str,
        attempt: Attempt<T>,
        done: impl FnOnce(T) -> ItemResult,
    ) -> Result<bool, Error> {
        let answer = match attempt {
            Attempt::OutOfTime => return Ok(false),
            Attempt::Answered(answer) => answer,
        };
        match answer {
            Ok(value) => self.record(kind, slot, done(value)).await?,
            Err(e) if retryable(&e) => return Err(e),
            Err(e) => self.record_failure(kind, slot, id, caught(&e)).await?,
        }
        Ok(true)
    }

    /// The summary of the batch as its records now stand, after `previous` calls.
    fn summary(&self, previous: Option<BatchSummary>) -> BatchSummary {
        let done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        let kinds_and_ids = self.items.kinds_and_ids();
        let failed: Vec<FailedItem> = kinds_and_ids
            .zip(done.iter())
            .filter_map(|((kind, id), done)| match done {
                Some(Err(error)) => Some(FailedItem::new(kind, id, error)),
                _ => None,
            })
            .collect();
        let items = count(done.iter());
        let finished = count(done.iter().filter(|d| d.is_some()));
        let previous = previous.unwrap_or_default();
        let mut calls = previous.calls;
        calls.add(*self.calls.lock().unwrap_or_else(|e| e.into_inner()));
        BatchSummary {
            batch: self.input.batch.batch,
            items,
            done: finished,
            remaining: items.saturating_sub(finished),
            failed,
            calls,
            invocations: previous.invocations.saturating_add(1),
            last_error: None,
        }
    }
}

/// deploy-batch: deploys what is left of the batch within `budget`, then rewrites its summary
/// (also when the call fails as a whole, so progress is never lost) and returns what remains.
#[allow(clippy::too_many_arguments)] // its five AWS clients, the records, the batch and its budget
pub async fn deploy_batch<
    E: EcsApi,
    V: EventsApi,
    C: CodeDeployApi,
    R: SchedulerApi,
    A: ScalingApi,
    S: ObjectStore,
>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &R,
    scaling: &A,
    store: &RecordStore<S>,
    input: &BatchInput,
    budget: Duration,
) -> Result<BatchProgress, Error> {
    let records = &input.records;
    let (wave, batch) = (input.wave, input.batch.batch);
    let items_name = batch_items_name(wave, batch);
    let items: BatchItems = store.read(records, &items_name).await?.ok_or_else(|| {
        Error::internal(format!(
            "{}: the batch has no items record",
            records.uri(&items_name)
        ))
    })?;
    let summary_name = batch_summary_name(wave, batch);
    let previous: Option<BatchSummary> = store.read(records, &summary_name).await?;
    let done = recorded(store, input, &items).await?;
    let start = Instant::now();
    let run = BatchRun {
        ecs,
        events,
        codedeploy,
        scheduler,
        scaling,
        store,
        input,
        items: &items,
        registrations: Pacer::new(input.batch.pace.registrations, start),
        updates: Pacer::new(input.batch.pace.updates, start),
        deadline: start + budget,
        calls: Mutex::new(CallCounts::default()),
        done: Mutex::new(done),
    };
    let mut groups = registration_groups(&items);
    // Rules first: their targets only change what the next scheduled run starts.
    groups.sort_by_key(|g| !g.slots.iter().any(|s| matches!(s, Slot::Rule(_))));
    let outcomes: Vec<Result<bool, Error>> = stream::iter(&groups)
        .map(|group| run.deploy_group(&group.slots))
        .buffer_unordered(GROUPS_IN_FLIGHT)
        .collect()
        .await;
    let failure = outcomes.into_iter().find_map(Result::err);
    let mut summary = run.summary(previous);
    summary.last_error = failure.as_ref().map(caught);
    if let Err(e) = store.write(records, &summary_name, &summary).await {
        warn!(error = %e, "could not record the batch summary");
        return Err(failure.unwrap_or(e));
    }
    info!(
        wave,
        batch,
        done = summary.done,
        remaining = summary.remaining,
        failed = summary.failed.len(),
        registered = summary.calls.registered,
        throttled = summary.calls.throttled,
        "batch call finished"
    );
    match failure {
        Some(e) => Err(e),
        None => Ok(summary.progress()),
    }
}

/// Per item of the batch (services, then rules): its result record's outcome, if it has one.
async fn recorded<S: ObjectStore>(
    store: &RecordStore<S>,
    input: &BatchInput,
    items: &BatchItems,
) -> Result<Vec<Done>, Error> {
    let keys = items
        .kinds_and_ids()
        .map(|(kind, id)| result_name(kind, id));
    stream::iter(keys)
        .map(|name| async move {
            let record: Option<ItemResult> = store.read(&input.records, &name).await?;
            Ok::<_, Error>(record.map(|r| match r.error {
                Some(error) => Err(error),
                None => Ok(()),
            }))
        })
        .buffered(PARALLEL_READS)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::DeploymentControllerType;

    use super::*;
    use crate::aws::fake::{ecs_target, FakeEcs, FakeEvents, MemoryStore};
    use crate::aws::fake_codedeploy::FakeCodeDeploy;
    use crate::aws::fake_scaling::FakeScaling;
    use crate::aws::fake_scheduler::FakeScheduler;
    use crate::contract::examples::{app_image, service_item};
    use crate::contract::{Pace, Records, RuleTaskTarget};
    use crate::decide::batches::UPDATE_BUCKET;

    const BUCKET: &str = "batch-records";

    fn records() -> Records {
        Records::for_execution(BUCKET, "r-batch", "e1")
    }

    fn service(name: &str, previous: &str, image: &str) -> ServiceItem {
        service_item("prod", name, previous, app_image(image))
    }

    /// `n` services of their own families, each running revision 1 of it, in cluster `prod`.
    fn fleet(n: usize) -> (FakeEcs, Vec<ServiceItem>) {
        let mut ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let mut items = Vec::new();
        for i in 0..n {
            let name = format!("s{i}");
            let previous = ecs.definition(&name, &[("app", &format!("{name}:v1"))], &[]);
            ecs = ecs.service(
                "prod",
                &name,
                &previous,
                "ACTIVE",
                DeploymentControllerType::Ecs,
            );
            items.push(service(&name, &previous, &format!("{name}:v2")));
        }
        (ecs, items)
    }

    fn pace(burst: u32, refill_interval_ms: u64) -> Pace {
        Pace {
            registrations: Bucket {
                burst,
                refill_interval_ms,
            },
            updates: UPDATE_BUCKET,
        }
    }

    /// `n` services of their own families in one batch, its items recorded.
    async fn fleet_batch(n: usize, pace: Pace) -> (FakeEcs, RecordStore<MemoryStore>, BatchInput) {
        let (ecs, services) = fleet(n);
        let store = RecordStore::new(MemoryStore::default());
        let items = BatchItems {
            services,
            tasks: vec![],
            jobs: Vec::new(),
            schedules: Vec::new(),
        };
        let input = batch(&store, items, pace).await;
        (ecs, store, input)
    }

    /// Writes the batch's items record; returns the input deploy-batch gets for it.
    async fn batch(store: &RecordStore<MemoryStore>, items: BatchItems, pace: Pace) -> BatchInput {
        store
            .write(&records(), &batch_items_name(0, 3), &items)
            .await
            .unwrap();
        BatchInput {
            release_id: "r-batch".into(),
            records: records(),
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:release:e1".into(),
            wave: 0,
            batch: crate::contract::BatchSpec {
                batch: 3,
                items: count(items.services.iter()) + count(items.tasks.iter()),
                registrations: 0,
                pace,
            },
        }
    }

    async fn summary(store: &RecordStore<MemoryStore>) -> BatchSummary {
        store
            .read(&records(), &batch_summary_name(0, 3))
            .await
            .unwrap()
            .expect("the batch summary")
    }

    async fn result(store: &RecordStore<MemoryStore>, kind: PlanItemKind, id: &str) -> ItemResult {
        store
            .read(&records(), &result_name(kind, id))
            .await
            .unwrap()
            .expect("the item's record")
    }

    /// Seconds since `start` of each call of `op`.
    fn seconds(ecs: &FakeEcs, op: &str, start: Instant) -> Vec<u64> {
        let mut at: Vec<u64> = ecs
            .times(op)
            .into_iter()
            .map(|t| t.duration_since(start).as_secs())
            .collect();
        at.sort_unstable();
        at
    }

    const BUDGET: Duration = DEFAULT_BUDGET;

    #[tokio::test]
    async fn deploys_every_item_registering_each_shared_request_once_then_has_nothing_left() {
        let (ecs, mut services) = fleet(1);
        // Two services clone the same revision with the same images, and so does a rule's target.
        let web = ecs.definition("web", &[("app", "web:v1")], &[]);
        let ecs = ecs
            .service(
                "prod",
                "web-a",
                &web,
                "ACTIVE",
                DeploymentControllerType::Ecs,
            )
            .service(
                "prod",
                "web-b",
                &web,
                "ACTIVE",
                DeploymentControllerType::Ecs,
            );
        services.push(service("web-a", &web, "web:v2"));
        services.push(service("web-b", &web, "web:v2"));
        let events = FakeEvents::default().rule("default", "nightly", vec![ecs_target("t1", &web)]);
        let rule = RuleItem {
            id: "default/nightly".into(),
            rule: "nightly".into(),
            event_bus: "default".into(),
            targets: vec![RuleTaskTarget {
                target_id: "t1".into(),
                previous_task_definition: web.clone(),
                images: app_image("web:v2"),
                noop: false,
                new_task_definition: None,
            }],
            noop: false,
            wave: 0,
        };
        let store = RecordStore::new(MemoryStore::default());
        let items = BatchItems {
            services,
            tasks: vec![rule],
            jobs: Vec::new(),
            schedules: Vec::new(),
        };
        let input = batch(&store, items, pace(20, 1_000)).await;

        let progress = deploy_batch(
            &ecs,
            &events,
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(progress, BatchProgress::default());
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 2, "s0, and web once");
        assert_eq!(ecs.calls("UpdateService"), 3);
        assert_eq!(events.calls("PutTargets"), 1);
        let a = result(&store, PlanItemKind::Service, "prod/web-a").await;
        let b = result(&store, PlanItemKind::Service, "prod/web-b").await;
        let nightly = result(&store, PlanItemKind::Rule, "default/nightly").await;
        let new_web = &a.deployment.as_ref().expect("deployed").new_task_definition;
        assert!(new_web.ends_with("task-definition/web:2"), "{new_web}");
        assert_eq!(
            &b.deployment.expect("deployed").new_task_definition,
            new_web
        );
        assert_eq!(
            &nightly.rule.expect("updated").targets[0].new_task_definition,
            new_web
        );
        let first = summary(&store).await;
        assert_eq!((first.items, first.done, first.remaining), (4, 4, 0));
        assert!(first.failed.is_empty());
        assert_eq!(
            first.calls,
            CallCounts {
                registered: 2,
                updated: 3,
                ..CallCounts::default()
            }
        );

        // A retried call finds every item recorded: no AWS call, one more invocation.
        let before = ecs.total_calls();
        let again = deploy_batch(
            &ecs,
            &events,
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(again, BatchProgress::default());
        assert_eq!(ecs.total_calls(), before);
        assert_eq!(events.calls("PutTargets"), 1);
        let second = summary(&store).await;
        assert_eq!(second.invocations, 2);
        assert_eq!(second.calls, first.calls);
    }

    #[tokio::test(start_paused = true)]
    async fn registrations_keep_to_the_batch_share() {
        let (ecs, store, input) = fleet_batch(5, pace(2, 10_000)).await;
        let start = Instant::now();
        deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap();
        // A burst of 2, then one every 10 s: never faster than the share.
        assert_eq!(
            seconds(&ecs, "RegisterTaskDefinition", start),
            [0, 0, 10, 20, 30]
        );
        assert_eq!(summary(&store).await.calls.throttled, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_registration_halves_the_rate_and_is_counted() {
        let (ecs, store, input) = fleet_batch(3, pace(1, 1_000)).await;
        ecs.throttle("RegisterTaskDefinition", 1);
        let start = Instant::now();
        let progress = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(progress, BatchProgress::default());
        // Throttled at 0: the bucket empties and refills every 2 s instead of every second.
        assert_eq!(seconds(&ecs, "RegisterTaskDefinition", start), [0, 2, 4, 6]);
        let summary = summary(&store).await;
        assert_eq!((summary.calls.registered, summary.calls.throttled), (3, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_on_every_attempt_fails_the_call_keeping_its_progress_for_the_retry() {
        let (ecs, store, input) = fleet_batch(1, pace(20, 1_000)).await;
        ecs.throttle("UpdateService", MAX_ATTEMPTS);
        let err = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "Throttled", "{err}");
        assert_eq!(ecs.calls("UpdateService"), MAX_ATTEMPTS);
        let failed_call = summary(&store).await;
        assert_eq!((failed_call.done, failed_call.remaining), (0, 1));
        assert_eq!(failed_call.calls.throttled, MAX_ATTEMPTS);
        assert_eq!(failed_call.calls.registered, 1);
        let last = failed_call.last_error.expect("the call's failure is kept");
        assert_eq!(last.error, "Throttled");
        assert!(last.cause.contains("UpdateService"), "{}", last.cause);
        assert!(
            store
                .read::<ItemResult>(&records(), &result_name(PlanItemKind::Service, "prod/s0"))
                .await
                .unwrap()
                .is_none(),
            "a call failure is not the item's failure"
        );

        // The Task's retry: the registration is found and reused, the update made.
        let progress = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(progress, BatchProgress::default());
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 1);
        let retried = summary(&store).await;
        assert_eq!((retried.calls.reused, retried.calls.updated), (1, 1));
        assert_eq!(retried.last_error, None, "the call that finished clears it");
        assert_eq!(retried.invocations, 2);
    }

    #[tokio::test]
    async fn an_item_that_fails_is_recorded_and_the_others_deploy() {
        let (ecs, mut services) = fleet(2);
        // Planned, then deleted before the release reached it.
        let gone = ecs.definition("gone", &[("app", "gone:v1")], &[]);
        services.insert(1, service("gone", &gone, "gone:v2"));
        let store = RecordStore::new(MemoryStore::default());
        let input = batch(
            &store,
            BatchItems {
                services,
                tasks: vec![],
                jobs: Vec::new(),
                schedules: Vec::new(),
            },
            pace(20, 1_000),
        )
        .await;
        let progress = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap();
        assert_eq!(
            progress,
            BatchProgress {
                remaining: 0,
                failed: 1
            }
        );
        let summary = summary(&store).await;
        assert_eq!(
            summary.failed,
            [FailedItem {
                kind: PlanItemKind::Service,
                id: "prod/gone".into(),
                error: "ServiceNotFound".into(),
            }]
        );
        let record = result(&store, PlanItemKind::Service, "prod/gone").await;
        let error = record.error.expect("the failure is recorded");
        assert!(error.cause.contains("prod/gone"), "{}", error.cause);
        for id in ["prod/s0", "prod/s1"] {
            assert!(result(&store, PlanItemKind::Service, id)
                .await
                .deployment
                .is_some());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_budget_leaves_the_rest_to_the_next_call() {
        let (ecs, store, input) = fleet_batch(4, pace(1, 100_000)).await;
        let budget = Duration::from_secs(150);
        let first = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            budget,
        )
        .await
        .unwrap();
        // Tokens at 0 and 100 s; the next (200 s) is past the budget.
        assert_eq!(
            first,
            BatchProgress {
                remaining: 2,
                failed: 0
            }
        );
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 2);
        let second = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            budget,
        )
        .await
        .unwrap();
        assert_eq!(second, BatchProgress::default());
        assert_eq!(ecs.calls("RegisterTaskDefinition"), 4);
        assert_eq!(ecs.calls("UpdateService"), 4);
        let summary = summary(&store).await;
        assert_eq!((summary.done, summary.invocations), (4, 2));
    }

    #[tokio::test]
    async fn a_batch_without_its_items_record_is_an_internal_error_naming_it() {
        let store = RecordStore::new(MemoryStore::default());
        let (ecs, _) = fleet(0);
        let mut input = batch(&store, BatchItems::default(), pace(1, 1_000)).await;
        input.batch.batch = 7;
        let err = deploy_batch(
            &ecs,
            &FakeEvents::default(),
            &FakeCodeDeploy::default(),
            &FakeScheduler::default(),
            &FakeScaling::default(),
            &store,
            &input,
            BUDGET,
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "Internal");
        assert!(
            err.to_string()
                .contains("s3://batch-records/releases/r-batch/e1/waves/0/batches/7.json"),
            "{err}"
        );
        assert_eq!(ecs.total_calls(), 0);
    }
}
