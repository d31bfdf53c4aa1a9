use lambda_runtime::{Diagnostic, LambdaEvent};
use release_core::aws::EventsApi;
use release_core::rules;
use release_core::step::{self, RuleUpdate, UpdateRuleInput};
use release_core::telemetry;
use serde_json::Value;

pub async fn handle<V: EventsApi>(
    events: &V,
    event: LambdaEvent<Value>,
) -> Result<RuleUpdate, Diagnostic> {
    let input: UpdateRuleInput = step::parse(event.payload)?;
    let span = tracing::info_span!(
        "update_scheduled_rule",
        release_id = %input.release_id,
        rule = %input.item.id,
    );
    telemetry::traced(
        "update-scheduled-rule",
        span,
        rules::update_rule(events, &input),
    )
    .await
}
