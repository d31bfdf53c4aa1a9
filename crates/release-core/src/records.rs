//! The release records of one execution: S3 objects under `releases/{release id}/{execution}/`
//! (docs/decisions/0003). Steps write what they did here and hand the state machine only ids and
//! counts; the records are immutable per execution, so the plan is cached per warm instance.

use std::sync::{Arc, Mutex};

use futures::{stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::aws::ObjectStore;
use crate::contract::{
    ItemResult, Plan, PlanItemKind, Records, ReleaseRecords, StabilityPhase, StepFailures,
};
use crate::decide::batches::Layout;
use crate::Error;

/// The environment variable naming the records bucket (set by the template and the local stack).
pub const BUCKET_VAR: &str = "CONVOY_RECORDS_BUCKET";

pub const PLAN: &str = "plan.json";
pub const ROLLBACK: &str = "rollback.json";
pub const REPORT: &str = "report.json";

/// Records read (or written) at once; S3 takes thousands of requests per second per prefix.
const PARALLEL_READS: usize = 16;

/// `results/{kind}/{id}.json`: ids are `cluster/service` and `eventBus/rule`, valid in a key as is.
pub fn result_name(kind: PlanItemKind, id: &str) -> String {
    format!("results/{}/{id}.json", kind.as_str())
}

/// `waves/<k>/batches.json`: what the wave's Distributed Map reads, one element per child.
pub fn wave_batches_name(wave: u32) -> String {
    format!("waves/{wave}/batches.json")
}

/// `waves/<k>/batches/<i>.json`: the plan items of one batch.
pub fn batch_items_name(wave: u32, batch: u32) -> String {
    format!("waves/{wave}/batches/{batch}.json")
}

/// `waves/<k>/batches/<i>/summary.json`: the batch's progress, rewritten after every call.
pub fn batch_summary_name(wave: u32, batch: u32) -> String {
    format!("waves/{wave}/batches/{batch}/summary.json")
}

pub fn stability_name(phase: StabilityPhase) -> &'static str {
    match phase {
        StabilityPhase::Release => "stability/release.json",
        StabilityPhase::Rollback => "stability/rollback.json",
    }
}

impl Records {
    pub fn for_execution(bucket: &str, release_id: &str, execution_name: &str) -> Records {
        Records {
            bucket: bucket.to_owned(),
            prefix: format!("releases/{release_id}/{execution_name}/"),
        }
    }

    /// `{release id}/{execution name}`: one execution of a release, as a CodeDeploy deployment's
    /// description names it (a release run again must not adopt the deployments of its last run).
    pub fn execution(&self) -> &str {
        self.prefix
            .strip_prefix("releases/")
            .unwrap_or(&self.prefix)
            .trim_end_matches('/')
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn uri(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(name))
    }
}

/// Typed reads and writes of the records, over any [`ObjectStore`].
#[derive(Debug)]
pub struct RecordStore<S> {
    objects: S,
    /// The last plan read or written, by its URI.
    plan: Mutex<Option<(String, Arc<Plan>)>>,
}

impl<S: ObjectStore> RecordStore<S> {
    pub fn new(objects: S) -> Self {
        RecordStore {
            objects,
            plan: Mutex::new(None),
        }
    }

    pub fn objects(&self) -> &S {
        &self.objects
    }

    pub async fn write<T: Serialize>(
        &self,
        records: &Records,
        name: &str,
        value: &T,
    ) -> Result<(), Error> {
        let body = serde_json::to_vec(value).map_err(|e| {
            Error::internal(format!("{}: cannot serialize: {e}", records.uri(name)))
        })?;
        self.objects
            .put(&records.bucket, &records.key(name), body)
            .await
    }

    /// `Ok(None)` when the object does not exist; an unreadable object is `Internal`, naming it.
    pub async fn read<T: DeserializeOwned>(
        &self,
        records: &Records,
        name: &str,
    ) -> Result<Option<T>, Error> {
        let Some(body) = self
            .objects
            .get(&records.bucket, &records.key(name))
            .await?
        else {
            return Ok(None);
        };
        let mut de = serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(&mut de)
            .map(Some)
            .map_err(|e| {
                Error::internal(format!(
                    "{}: unreadable record at `{}`: {}",
                    records.uri(name),
                    e.path(),
                    e.inner()
                ))
            })
    }

    pub async fn write_plan(&self, records: &Records, plan: Plan) -> Result<Arc<Plan>, Error> {
        self.write(records, PLAN, &plan).await?;
        let plan = Arc::new(plan);
        *self.plan.lock().expect("plan cache") = Some((records.uri(PLAN), plan.clone()));
        Ok(plan)
    }

    pub async fn plan(&self, records: &Records) -> Result<Arc<Plan>, Error> {
        let uri = records.uri(PLAN);
        if let Some((cached, plan)) = self.plan.lock().expect("plan cache").as_ref() {
            if *cached == uri {
                return Ok(plan.clone());
            }
        }
        let plan: Plan = self
            .read(records, PLAN)
            .await?
            .ok_or_else(|| Error::internal(format!("{uri}: the release has no plan record")))?;
        let plan = Arc::new(plan);
        *self.plan.lock().expect("plan cache") = Some((uri, plan.clone()));
        Ok(plan)
    }

    /// A wave's batches: each batch's items, then `waves/<k>/batches.json`, which the wave's
    /// Map reads, last, so it never names a batch whose items are not written.
    pub async fn write_layout(
        &self,
        records: &Records,
        wave: u32,
        layout: &Layout,
    ) -> Result<(), Error> {
        stream::iter(layout.specs.iter().zip(&layout.batches))
            .map(|(spec, items)| async move {
                self.write(records, &batch_items_name(wave, spec.batch), items)
                    .await
            })
            .buffer_unordered(PARALLEL_READS)
            .try_collect::<()>()
            .await?;
        self.write(records, &wave_batches_name(wave), &layout.specs)
            .await
    }

    pub async fn write_result(
        &self,
        records: &Records,
        kind: PlanItemKind,
        result: &ItemResult,
    ) -> Result<(), Error> {
        let kinded = ItemResult {
            kind: Some(kind),
            ..result.clone()
        };
        self.write(records, &result_name(kind, &result.id), &kinded)
            .await
    }

    /// The result record of every changed item of the plan that has one, in plan order (services,
    /// rules, schedules, jobs), each with its kind. An item without one never started.
    pub async fn results(&self, records: &Records, plan: &Plan) -> Result<Vec<ItemResult>, Error> {
        let found: Vec<Option<ItemResult>> = stream::iter(plan.changed_items())
            .map(|(kind, id)| async move {
                let read: Option<ItemResult> = self.read(records, &result_name(kind, id)).await?;
                Ok::<_, Error>(read.map(|r| ItemResult {
                    kind: Some(kind),
                    ..r
                }))
            })
            .buffered(PARALLEL_READS)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// What the release deployed, read back: the plan, every item's result and the last
    /// AwaitRelease round. What the rollback works from.
    pub async fn deployed(&self, records: &Records) -> Result<ReleaseRecords, Error> {
        let plan = self.plan(records).await?;
        let results = self.results(records, &plan).await?;
        let mut deployed = ReleaseRecords::new(Plan::clone(&plan), results);
        deployed.stability = self
            .read(records, stability_name(StabilityPhase::Release))
            .await?;
        Ok(deployed)
    }

    /// Everything the report needs: [`RecordStore::deployed`], the rollback's records and the
    /// steps that failed as a whole.
    pub async fn release_records(
        &self,
        records: &Records,
        failures: &StepFailures,
    ) -> Result<ReleaseRecords, Error> {
        let mut all = self.deployed(records).await?;
        all.rollback = self.read(records, ROLLBACK).await?;
        all.rollback_stability = self
            .read(records, stability_name(StabilityPhase::Rollback))
            .await?;
        all.failures = failures.clone();
        Ok(all)
    }
}
