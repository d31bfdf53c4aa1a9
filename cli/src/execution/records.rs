//! Reading an execution's release records (S3 objects, docs/decisions/0003): the ones the progress
//! tracker wants for a batch of history events, and the full report when the execution's own
//! report left items out.

use aws_sdk_sfn::types::HistoryEvent;
use futures::{stream, StreamExt, TryStreamExt};
use release_core::aws::ObjectStore;
use release_core::records::RecordStore;
use release_core::step::{ItemResult, Records, ReleaseReport, StabilityPhase};
use release_core::Error;

use crate::execution::Described;
use crate::progress::{Fetched, Record, Row, Tracker, Wanted};

/// Failure records read at once: a release whose every item failed has one per item.
const PARALLEL_READS: usize = 16;

/// Reads every record `wanted` names; a missing one is left `None`.
pub async fn fetch<S: ObjectStore>(
    store: &RecordStore<S>,
    wanted: &Wanted,
) -> Result<Fetched, Error> {
    let records = &wanted.records;
    let mut fetched = Fetched::default();
    let mut results = Vec::new();
    for record in &wanted.names {
        let name = record.name();
        match record {
            Record::Plan => fetched.plan = store.read(records, &name).await?,
            Record::Stability(StabilityPhase::Release) => {
                fetched.stability = store.read(records, &name).await?
            }
            Record::Stability(StabilityPhase::Rollback) => {
                fetched.rollback_stability = store.read(records, &name).await?
            }
            Record::Rollback => fetched.rollback = store.read(records, &name).await?,
            Record::Result(..) => results.push(name),
        }
    }
    let read: Vec<(String, Option<ItemResult>)> = stream::iter(results)
        .map(|name| async move {
            let result = store.read(records, &name).await?;
            Ok::<_, Error>((name, result))
        })
        .buffered(PARALLEL_READS)
        .try_collect()
        .await?;
    fetched.results = read
        .into_iter()
        .filter_map(|(name, result)| Some((name, result?)))
        .collect();
    Ok(fetched)
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

/// Feeds a tracker the records its events need. A record that cannot be read (no `s3:GetObject`,
/// say) costs item details, not the command: that is said once, on stderr.
pub struct Reader<'a, S> {
    store: &'a RecordStore<S>,
    warned: bool,
}

impl<'a, S: ObjectStore> Reader<'a, S> {
    pub fn new(store: &'a RecordStore<S>) -> Self {
        Reader {
            store,
            warned: false,
        }
    }

    /// Reads what `events` need, then applies them; returns the changed rows.
    pub async fn track(&mut self, tracker: &mut Tracker, events: &[HistoryEvent]) -> Vec<Row> {
        let fetched = match tracker.wanted(events) {
            Some(wanted) => match fetch(self.store, &wanted).await {
                Ok(fetched) => fetched,
                Err(e) => {
                    self.warn(&e);
                    Fetched::default()
                }
            },
            None => Fetched::default(),
        };
        tracker.apply(events, &fetched)
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
            Err(e) => self.warn(&e),
        }
    }

    fn warn(&mut self, e: &Error) {
        if !self.warned {
            self.warned = true;
            eprintln!(
                "convoy: cannot read the release records, so item details may be missing: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use release_core::aws::s3::MemoryStore;
    use release_core::step::{
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
        let fetched = block_on(fetch(&store, &wanted)).unwrap();
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
}
