//! update-scheduled-rule: every ECS target of the rule to its new task definition, the change (or
//! the failure) recorded.

use crate::aws::{EventsApi, ObjectStore};
use crate::contract::{ItemResult, PlanItemKind, RuleUpdate, UpdateRuleInput};
use crate::decide::rules::{check_failed_entries, plan_update};
use crate::records::RecordStore;
use crate::Error;

/// update-scheduled-rule: [`update_rule`], with the change (or the failure) recorded.
pub async fn update_planned_rule(
    events: &impl EventsApi,
    store: &RecordStore<impl ObjectStore>,
    input: &UpdateRuleInput,
) -> Result<RuleUpdate, Error> {
    let outcome = update_rule(events, input).await;
    store
        .record_item(
            &input.records,
            PlanItemKind::Rule,
            &input.item.id,
            outcome,
            |update| ItemResult {
                id: update.id.clone(),
                deployment: None,
                rule: Some(update.clone()),
                error: None,
            },
        )
        .await
}

/// Every ECS target of the rule to its new task definition.
pub async fn update_rule(
    events: &impl EventsApi,
    input: &UpdateRuleInput,
) -> Result<RuleUpdate, Error> {
    let item = &input.item;
    let current = events.list_targets(&item.event_bus, &item.rule).await?;
    let (targets, changes) = plan_update(input, &current)?;
    if !targets.is_empty() {
        let failed = events
            .put_targets(&item.event_bus, &item.rule, &targets)
            .await?;
        check_failed_entries(&item.id, &failed)?;
    }
    tracing::info!(
        rule = %item.id,
        changed = targets.len(),
        planned = changes.len(),
        "rule targets updated"
    );
    Ok(RuleUpdate {
        id: item.id.clone(),
        rule: item.rule.clone(),
        event_bus: item.event_bus.clone(),
        targets: changes,
    })
}
