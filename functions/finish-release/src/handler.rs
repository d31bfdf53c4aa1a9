use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, EventsApi};
use release_core::report;
use release_core::step::{self, FinishInput, ReleaseReport};
use serde_json::Value;
use tracing::Instrument;

pub async fn handle<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    event: LambdaEvent<Value>,
) -> Result<ReleaseReport, Diagnostic> {
    let input: FinishInput = step::parse(event.payload)?;
    let span = tracing::info_span!("finish_release", release_id = %input.plan.release.id);
    async {
        let report = report::finish(ecs, events, &input).await.map_err(|e| {
            tracing::error!(error = %e, error_type = e.name(), "finish-release failed");
            Diagnostic::from(e)
        })?;
        tracing::info!(outcome = ?report.outcome, items = report.items.len(), "release finished");
        Ok(report)
    }
    .instrument(span)
    .await
}
