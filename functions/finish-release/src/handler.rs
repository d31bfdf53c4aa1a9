use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::{EcsApi, EventsApi};
use release_core::report;
use release_core::step::{self, FinishInput, ReleaseReport};
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<E: EcsApi, V: EventsApi>(
    ecs: &E,
    events: &V,
    event: LambdaEvent<Value>,
) -> Result<ReleaseReport, Diagnostic> {
    let input: FinishInput = step::parse(event.payload)?;
    let span = tracing::info_span!("finish_release", release_id = %input.plan.release.id);
    let work = async {
        let report = report::finish(ecs, events, &input).await?;
        tracing::info!(outcome = ?report.outcome, items = report.items.len(), "release finished");
        Ok(report)
    };
    telemetry::traced("finish-release", span, work).await
}
