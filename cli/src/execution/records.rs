//! Reading an execution's release records (S3 objects, docs/decisions/0003): the ones the progress
//! tracker wants for a batch of history events, the full report when the execution's own report
//! left items out, and the plan a rollback restores from.

use std::collections::BTreeSet;

use aws_sdk_sfn::types::HistoryEvent;
use futures::{stream, StreamExt};
use release_core::aws::ObjectStore;
use release_core::contract::{Records, ReleaseReport, StabilityPhase};
use release_core::records::RecordStore;
use release_core::Error;

use crate::execution::Described;
use crate::progress::events::{Fetched, Record, Wanted};
use crate::progress::{Row, Tracker};

/// Batch and result records read at once: a wave has up to 100 batches, a release a result per
/// item.
const PARALLEL_READS: usize = 16;

/// Rounds of reads per poll: the plan and a wave's batch list, then its batches and their
/// summaries, then the results of the items they say are done.
const READ_ROUNDS: usize = 4;

/// Reads every record `wanted` names; a missing one is left out, and so is one that cannot be
/// read, with the error (which names it) beside.
pub async fn fetch<S: ObjectStore>(
    store: &RecordStore<S>,
    wanted: &Wanted,
) -> (Fetched, Vec<(String, Error)>) {
    let records = &wanted.records;
    let mut fetched = Fetched::default();
    let mut failed = Vec::new();
    // One per item or batch: read at once.
    let mut many = Vec::new();
    for record in &wanted.names {
        let name = record.name();
        let read = match record {
            Record::Plan => store.read(records, &name).await.map(|r| fetched.plan = r),
            Record::Batches(wave) => store.read(records, &name).await.map(|r| {
                fetched.batches.extend(r.map(|specs| (*wave, specs)));
            }),
            Record::Stability(StabilityPhase::Release) => store
                .read(records, &name)
                .await
                .map(|r| fetched.stability = r),
            Record::Stability(StabilityPhase::Rollback) => store
                .read(records, &name)
                .await
                .map(|r| fetched.rollback_stability = r),
            Record::Rollback => store
                .read(records, &name)
                .await
                .map(|r| fetched.rollback = r),
            Record::Batch(..) | Record::Summary(..) | Record::Result(..) => {
                many.push(record.clone());
                Ok(())
            }
        };
        if let Err(e) = read {
            failed.push((name, e));
        }
    }
    let read: Vec<(String, Result<Fetched, Error>)> = stream::iter(many)
        .map(|record| async move {
            let name = record.name();
            let mut one = Fetched::default();
            let read = match record {
                Record::Batch(wave, batch) => store.read(records, &name).await.map(|r| {
                    one.batch_items
                        .extend(r.map(|items| ((wave, batch), items)));
                }),
                Record::Summary(wave, batch) => store.read(records, &name).await.map(|r| {
                    one.summaries
                        .extend(r.map(|summary| ((wave, batch), summary)));
                }),
                // Record::Result
                _ => store.read(records, &name).await.map(|r| {
                    one.results.extend(r.map(|result| (name.clone(), result)));
                }),
            };
            (name, read.map(|()| one))
        })
        .buffered(PARALLEL_READS)
        .collect()
        .await;
    for (name, one) in read {
        match one {
            Ok(one) => fetched.extend(one),
            Err(e) => failed.push((name, e)),
        }
    }
    (fetched, failed)
}

/// The report with every item: `report` itself unless it left items out, else the full report it
/// names (`fullReport`, `s3://bucket/key`), which keeps that name.
pub async fn full_report<S: ObjectStore>(
    store: &RecordStore<S>,
    report: &ReleaseReport,
) -> Result<ReleaseReport, Error> {
    if report.omitted_items == 0 {
        return Ok(report.clone());
    }
    let uri = report.full_report.as_deref().unwrap_or_default();
    let Some((bucket, key)) = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Err(Error::internal(format!(
            "the report of release {} leaves out {} items and names no full report (`{uri}`)",
            report.release_id, report.omitted_items
        )));
    };
    // The key is the object's whole name.
    let location = Records {
        bucket: bucket.to_owned(),
        prefix: String::new(),
    };
    let mut full: ReleaseReport = store
        .read(&location, key)
        .await?
        .ok_or_else(|| Error::internal(format!("{uri}: the full report is missing")))?;
    full.full_report = Some(uri.to_owned());
    Ok(full)
}

/// Feeds a tracker the records its events need. A record that cannot be read costs item details,
/// not the command: an unreadable one is named once; no access at all (no `s3:GetObject`, say) is
/// said once.
pub struct Reader<'a, S> {
    store: &'a RecordStore<S>,
    no_access_said: bool,
    unreadable_said: BTreeSet<String>,
    warnings: Vec<String>,
}

impl<'a, S: ObjectStore> Reader<'a, S> {
    pub fn new(store: &'a RecordStore<S>) -> Self {
        Reader {
            store,
            no_access_said: false,
            unreadable_said: BTreeSet::new(),
            warnings: Vec::new(),
        }
    }

    /// Reads what `events` need (and what those records lead to), then applies them; returns the
    /// changed rows. Each record is read at most once per poll.
    pub async fn track(&mut self, tracker: &mut Tracker, events: &[HistoryEvent]) -> Vec<Row> {
        let mut fetched = Fetched::default();
        let mut asked = BTreeSet::new();
        for _ in 0..READ_ROUNDS {
            let Some(mut wanted) = tracker.wanted(events, &fetched) else {
                break;
            };
            wanted.names.retain(|record| asked.insert(record.name()));
            if wanted.names.is_empty() {
                break;
            }
            let (more, failed) = fetch(self.store, &wanted).await;
            for (name, e) in failed {
                self.cannot_read(&name, &e);
            }
            fetched.extend(more);
        }
        let changed = tracker.apply(events, &fetched);
        self.warnings.extend(tracker.take_warnings());
        changed
    }

    /// Once the execution ended: when its report left items out, the full report replaces it, and
    /// the tracker's rows take every item's outcome from it.
    pub async fn complete(&mut self, described: &mut Described, tracker: &mut Tracker) {
        let Some(report) = described.report.as_ref().filter(|r| r.omitted_items > 0) else {
            return;
        };
        match full_report(self.store, report).await {
            Ok(full) => {
                tracker.report(&full);
                described.report = Some(full);
            }
            Err(e) => self.cannot_read("report.json", &e),
        }
    }

    /// What could not be read since the last call, each said once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn cannot_read(&mut self, name: &str, e: &Error) {
        match e {
            // The object is there but is not what it should be: name it.
            Error::Internal { .. } => {
                if self.unreadable_said.insert(name.to_owned()) {
                    self.warnings.push(format!(
                        "{e}; the items it tells about may show an older state"
                    ));
                }
            }
            _ => {
                if !self.no_access_said {
                    self.no_access_said = true;
                    self.warnings.push(format!(
                        "cannot read the release records, so item details may be missing: {e}"
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::{HistoryEventType, StateEnteredEventDetails, StateExitedEventDetails};
    use release_core::aws::fake::MemoryStore;
    use release_core::contract::{
        BatchItems, BatchSpec, BatchSummary, CaughtError, ItemKind, ItemOutcome, ItemResult, Plan,
        PlanItemKind, ReleaseOutcome, ReportItem, StabilityOutput,
    };
    use serde_json::{json, Value};

    use crate::progress::model::Stage;

    use super::*;

    fn item(id: &str, outcome: ItemOutcome) -> ReportItem {
        ReportItem {
            id: id.into(),
            kind: ItemKind::Service,
            outcome,
            previous_task_definition: format!("{id}:1"),
            new_task_definition: Some(format!("{id}:2")),
            final_task_definition: format!("{id}:2"),
            reason: None,
            stopped_reasons: Vec::new(),
            wave: 0,
        }
    }

    fn report(items: Vec<ReportItem>) -> ReleaseReport {
        ReleaseReport {
            release_id: "r1".into(),
            outcome: ReleaseOutcome::Failed,
            items,
            problems: Vec::new(),
            omitted_items: 0,
            full_report: None,
            cleanup: None,
            auto_scaling: None,
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn wanted_records_are_read_and_missing_ones_left_out() {
        let store = RecordStore::new(MemoryStore::default());
        let records = Records::for_execution("convoy-records", "r1", "r1");
        let stability = StabilityOutput {
            items: Vec::new(),
            pending: 0,
            failed: 1,
            deploy_failed: 0,
            remaining_waves: 0,
            wave: 0,
            jobs: Vec::new(),
        };
        let failure = ItemResult {
            id: "c/web".into(),
            deployment: None,
            rule: None,
            error: Some(CaughtError {
                error: "Throttled".into(),
                cause: "slow down".into(),
            }),
            job: None,
            schedule: None,
            kind: None,
        };
        block_on(async {
            store
                .write(&records, "stability/release.json", &stability)
                .await
                .unwrap();
            store
                .write_result(&records, PlanItemKind::Service, &failure)
                .await
                .unwrap();
        });
        let wanted = Wanted {
            records,
            names: vec![
                Record::Plan,
                Record::Result(PlanItemKind::Service, "c/web".into()),
                Record::Result(PlanItemKind::Service, "c/api".into()),
                Record::Stability(StabilityPhase::Release),
                Record::Rollback,
            ],
        };
        let (fetched, failed) = block_on(fetch(&store, &wanted));
        assert!(failed.is_empty());
        assert_eq!(fetched.plan, None);
        assert_eq!(fetched.rollback, None);
        assert_eq!(fetched.stability, Some(stability));
        assert_eq!(
            fetched.results.keys().collect::<Vec<_>>(),
            ["results/service/c/web.json"]
        );
        assert_eq!(store.objects().gets(), 5);
    }

    #[test]
    fn a_bounded_report_is_completed_from_the_full_one() {
        let store = RecordStore::new(MemoryStore::default());
        let records = Records::for_execution("convoy-records", "r1", "r1");
        let full = report(vec![
            item("c/web", ItemOutcome::Failed),
            item("c/api", ItemOutcome::Deployed),
        ]);
        block_on(store.write(&records, "report.json", &full)).unwrap();
        let mut bounded = report(vec![item("c/web", ItemOutcome::Failed)]);
        bounded.omitted_items = 1;
        bounded.full_report = Some(records.uri("report.json"));

        let completed = block_on(full_report(&store, &bounded)).unwrap();
        assert_eq!(completed.items, full.items);
        assert_eq!(completed.omitted_items, 0);
        assert_eq!(
            completed.full_report.as_deref(),
            Some("s3://convoy-records/releases/r1/r1/report.json")
        );
        // A report with every item is its own full report: nothing is read.
        let gets = store.objects().gets();
        assert_eq!(block_on(full_report(&store, &full)).unwrap(), full);
        assert_eq!(store.objects().gets(), gets);
        // Gone, or never named: an error that says which.
        let mut gone = bounded.clone();
        gone.full_report = Some("s3://convoy-records/releases/r1/other/report.json".into());
        let err = block_on(full_report(&store, &gone)).unwrap_err();
        assert!(
            err.to_string().contains("the full report is missing"),
            "{err}"
        );
        let mut unnamed = bounded;
        unnamed.full_report = None;
        let err = block_on(full_report(&store, &unnamed)).unwrap_err();
        assert!(err.to_string().contains("names no full report"), "{err}");
    }

    #[test]
    fn an_unreadable_record_is_named_once_and_no_access_said_once() {
        let store = RecordStore::new(MemoryStore::default());
        let records = Records::for_execution("convoy-records", "r1", "r1");
        block_on(store.objects().put(
            "convoy-records",
            &records.key("stability/release.json"),
            b"{not json".to_vec(),
        ))
        .unwrap();
        let wanted = Wanted {
            records,
            names: vec![Record::Stability(StabilityPhase::Release)],
        };
        let (fetched, failed) = block_on(fetch(&store, &wanted));
        assert_eq!(fetched.stability, None);
        let names: Vec<&str> = failed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["stability/release.json"]);

        let mut reader = Reader::new(&store);
        for (name, e) in &failed {
            reader.cannot_read(name, e);
            reader.cannot_read(name, e);
        }
        let denied = || Error::AccessDenied {
            message: "GetObject".into(),
            source: None,
        };
        reader.cannot_read("plan.json", &denied());
        reader.cannot_read("rollback.json", &denied());
        let warnings = reader.take_warnings();
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].contains("s3://convoy-records/releases/r1/r1/stability/release.json"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].starts_with("cannot read the release records"),
            "{}",
            warnings[1]
        );
        assert!(reader.take_warnings().is_empty());
    }

    /// A history event: a state entered or exited (with its output), or one of the Map's own.
    fn event(
        id: i64,
        kind: HistoryEventType,
        state: Option<(&str, Option<Value>)>,
    ) -> HistoryEvent {
        let mut event = HistoryEvent::builder()
            .id(id)
            .r#type(kind)
            .timestamp(DateTime::from_secs(0));
        match state {
            Some((name, Some(output))) => {
                event = event.state_exited_event_details(
                    StateExitedEventDetails::builder()
                        .name(name)
                        .output(output.to_string())
                        .build()
                        .unwrap(),
                );
            }
            Some((name, None)) => {
                event = event.state_entered_event_details(
                    StateEnteredEventDetails::builder()
                        .name(name)
                        .build()
                        .unwrap(),
                );
            }
            None => {}
        }
        event.build().unwrap()
    }

    #[test]
    fn a_running_wave_is_read_down_to_its_items_results_in_one_poll() {
        let store = RecordStore::new(MemoryStore::default());
        let records = Records::for_execution("convoy-records", "r1", "r1");
        let plan: Plan = serde_json::from_value(json!({
            "release": {"id": "r1", "source": "d.yaml"},
            "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5, "keepRevisions": 0},
            "services": [{"id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
                          "images": {"web": "web:2"}, "noop": false, "timeoutSeconds": 600}],
            "tasks": [], "changedServices": 1, "changedTasks": 0
        }))
        .unwrap();
        let spec: BatchSpec =
            serde_json::from_value(json!({"batch": 0, "items": 1, "registrations": 1, "pace": {
            "registrations": {"burst": 20, "refillIntervalMs": 1000},
            "updates": {"burst": 50, "refillIntervalMs": 200}}}))
            .unwrap();
        let summary = BatchSummary {
            items: 1,
            done: 1,
            invocations: 1,
            ..BatchSummary::default()
        };
        let result: ItemResult = serde_json::from_value(json!({"id": "c/web", "deployment": {
            "id": "c/web", "cluster": "c", "service": "web", "previousTaskDefinition": "web:1",
            "newTaskDefinition": "web:2", "deploymentId": "ecs-svc/1", "deadline": 10}}))
        .unwrap();
        let items = BatchItems {
            services: plan.services.clone(),
            tasks: Vec::new(),
            jobs: Vec::new(),
            schedules: Vec::new(),
        };
        block_on(async {
            store.write(&records, "plan.json", &plan).await.unwrap();
            store
                .write(&records, "waves/0/batches.json", &vec![spec])
                .await
                .unwrap();
            store
                .write(&records, "waves/0/batches/0.json", &items)
                .await
                .unwrap();
            store
                .write(&records, "waves/0/batches/0/summary.json", &summary)
                .await
                .unwrap();
            store
                .write_result(&records, PlanItemKind::Service, &result)
                .await
                .unwrap();
        });
        let state = json!({"plan": plan.planned(records.clone()), "wave": {"index": 0}});
        let events = [
            event(
                2,
                HistoryEventType::TaskStateExited,
                Some(("PlanRelease", Some(state.clone()))),
            ),
            event(
                3,
                HistoryEventType::PassStateExited,
                Some(("WaveStart", Some(state))),
            ),
            event(
                4,
                HistoryEventType::MapStateEntered,
                Some(("DeployWave", None)),
            ),
            event(5, HistoryEventType::MapRunStarted, None),
        ];
        let mut tracker = Tracker::default();
        let mut reader = Reader::new(&store);
        let changed = block_on(reader.track(&mut tracker, &events));
        let web: Vec<Stage> = changed.iter().map(|r| r.stage).collect();
        assert_eq!(
            web,
            [
                Stage::Planned,
                Stage::Deploying,
                Stage::Registered,
                Stage::Updating
            ]
        );
        assert!(reader.take_warnings().is_empty());
        // Each record once.
        assert_eq!(store.objects().gets(), 5);
        // The next poll: the batch finished and its item is known, so nothing is read.
        assert!(block_on(reader.track(&mut tracker, &[])).is_empty());
        assert_eq!(store.objects().gets(), 5);
    }
}
