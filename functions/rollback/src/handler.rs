use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, EventsApi};
use release_core::rollback;
use release_core::step::{self, RollbackInput, RollbackOutput};
use serde_json::Value;
use tracing::Instrument;

pub async fn handle<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    event: LambdaEvent<Value>,
) -> Result<RollbackOutput, Diagnostic> {
    let input: RollbackInput = step::parse(event.payload)?;
    let span = tracing::info_span!("rollback", release_id = %input.plan.release.id);
    async {
        rollback::rollback(ecs, events, &input).await.map_err(|e| {
            tracing::error!(error = %e, error_type = e.name(), "rollback failed");
            e.into()
        })
    }
    .instrument(span)
    .await
}
