//! Reading an execution's release records (S3 objects, docs/decisions/0003): the ones the progress
//! tracker wants for a batch of history events, the full report when the execution's own report
//! left items out, and the plan a rollback restores from.

use std::collections::BTreeSet;

use aws_sdk_sfn::types::HistoryEvent;
use futures::{stream, StreamExt};
use release_core::aws::ObjectStore;
use release_core::contract::{ItemResult, Records, ReleaseReport, StabilityPhase};
use release_core::records::RecordStore;
use release_core::Error;

use crate::execution::Described;
use crate::progress::events::{Fetched, Record, Wanted};
use crate::progress::{Row, Tracker};

/// Failure records read at once: a release whose every item failed has one per item.
const PARALLEL_READS: usize = 16;

/// Reads every record `wanted` names; a missing one is left `None`, and so is one that cannot be
/// read, with the error (which names it) beside.
pub async fn fetch<S: ObjectStore>(
    store: &RecordStore<S>,
    wanted: &Wanted,
) -> (Fetched, Vec<(String, Error)>) {
    let records = &wanted.records;
    let mut fetched = Fetched::default();
    let mut failed = Vec::new();
    let mut results = Vec::new();
    for record in &wanted.names {
        let name = record.name();
        let read = match record {
            Record::Plan => store.read(records, &name).await.map(|r| fetched.plan = r),
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
            Record::Result(..) => {
                results.push(name.clone());
                Ok(())
            }
        };
        if let Err(e) = read {
            failed.push((name, e));
        }
    }
    let read: Vec<(String, Result<Option<ItemResult>, Error>)> = stream::iter(results)
        .map(|name| async move {
            let result = store.read(records, &name).await;
            (name, result)
        })
        .buffered(PARALLEL_READS)
        .collect()
        .await;
    for (name, result) in read {
        match result {
            Ok(Some(result)) => {
                fetched.results.insert(name, result);
            }
            Ok(None) => {}
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

    /// Reads what `events` need, then applies them; returns the changed rows.
    pub async fn track(&mut self, tracker: &mut Tracker, events: &[HistoryEvent]) -> Vec<Row> {
        let fetched = match tracker.wanted(events) {
            Some(wanted) => {
                let (fetched, failed) = fetch(self.store, &wanted).await;
                for (name, e) in failed {
                    self.cannot_read(&name, &e);
                }
                fetched
            }
            None => Fetched::default(),
        };
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
    use release_core::aws::fake::MemoryStore;
    use release_core::contract::{
        CaughtError, ItemKind, ItemOutcome, PlanItemKind, ReleaseOutcome, ReportItem,
        StabilityOutput,
    };

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
        };
        let failure = ItemResult {
            id: "c/web".into(),
            deployment: None,
            rule: None,
            error: Some(CaughtError {
                error: "Throttled".into(),
                cause: "slow down".into(),
            }),
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
}
