use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, EventsApi};
use release_core::rollback;
use release_core::step::{self, RollbackInput, RollbackOutput};
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    event: LambdaEvent<Value>,
) -> Result<RollbackOutput, Diagnostic> {
    let input: RollbackInput = step::parse(event.payload)?;
    let span = tracing::info_span!("rollback", release_id = %input.plan.release.id);
    telemetry::traced("rollback", span, rollback::rollback(ecs, events, &input)).await
}
