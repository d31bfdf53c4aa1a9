use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::locks::LockStore;
use release_core::aws::{EcsApi, EventsApi, ObjectStore, ScalingApi};
use release_core::contract::{FinishInput, ReleaseReport};
use release_core::records::RecordStore;
use release_core::steps::finish_release;
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, V: EventsApi, A: ScalingApi, S: ObjectStore, L: LockStore>(
    ecs: &E,
    events: &V,
    scaling: &A,
    store: &RecordStore<S>,
    locks: &L,
    event_bus: Option<&str>,
    event: LambdaEvent<Value>,
) -> Result<ReleaseReport, Diagnostic> {
    let input: FinishInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!("finish_release", release_id = %input.release_id);
    let work = async {
        let report =
            finish_release::finish_release(ecs, events, scaling, store, locks, &input, event_bus)
                .await?;
        tracing::info!(
            outcome = ?report.outcome,
            items = release_core::contract::count(report.items.iter()).saturating_add(report.omitted_items),
            "release finished"
        );
        Ok(report)
    };
    telemetry::traced("finish-release", span, work).await
}
