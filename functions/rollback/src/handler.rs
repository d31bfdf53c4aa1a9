use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{CodeDeployApi, EcsApi, EventsApi, ObjectStore, SchedulerApi};
use release_core::contract::{RollbackInput, StabilityCounts};
use release_core::records::RecordStore;
use release_core::steps::rollback;
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, V: EventsApi, C: CodeDeployApi, R: SchedulerApi, S: ObjectStore>(
    ecs: &E,
    events: &V,
    codedeploy: &C,
    scheduler: &R,
    store: &RecordStore<S>,
    event: LambdaEvent<Value>,
) -> Result<StabilityCounts, Diagnostic> {
    let input: RollbackInput = release_core::steps::parse_input(event.payload)?;
    let span = tracing::info_span!("rollback", release_id = %input.release_id);
    let work = rollback::rollback_release(ecs, events, codedeploy, scheduler, store, &input);
    telemetry::traced("rollback", span, work).await
}
