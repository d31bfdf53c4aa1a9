//! An execution's history: read incrementally while following it, or scanned from the start for
//! where PlanRelease put the release records.

use aws_sdk_sfn::types::HistoryEvent;
use release_core::contract::Records;

use crate::aws::{sfn_error, Aws};
use crate::error::CliError;
use crate::output::warn;
use crate::progress::events::{planned_records, state_exit};

/// History events fetched per page.
const HISTORY_PAGE: i32 = 500;

/// The events after `after`, oldest first. Pages newest-first and stops at the first event already
/// seen, so a long history is not read again on every poll.
pub async fn new_events(aws: &Aws, arn: &str, after: i64) -> Result<Vec<HistoryEvent>, CliError> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(HISTORY_PAGE)
            .set_next_token(token.take())
            .include_execution_data(true)
            .send()
            .await
            .map_err(|e| sfn_error(&format!("GetExecutionHistory {arn}"), e))?;
        let reached_seen = page.events().iter().any(|e| e.id() <= after);
        events.extend(page.events().iter().filter(|e| e.id() > after).cloned());
        match page.next_token() {
            Some(next) if !reached_seen => token = Some(next.to_owned()),
            _ => break,
        }
    }
    events.sort_by_key(HistoryEvent::id);
    events.dedup_by_key(|e| e.id());
    Ok(events)
}

/// Where the execution keeps its release records, as PlanRelease's output says; `None` when
/// PlanRelease never ended (a rejected release records nothing). PlanRelease is the first state,
/// so oldest first this is usually the first page.
pub async fn records_location(aws: &Aws, arn: &str) -> Result<Option<Records>, CliError> {
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(HISTORY_PAGE)
            .set_next_token(token.take())
            .include_execution_data(true)
            .send()
            .await
            .map_err(|e| sfn_error(&format!("GetExecutionHistory {arn}"), e))?;
        for event in page.events() {
            match state_exit(event) {
                Some(Ok(exit)) => {
                    if let Some(records) = planned_records(&exit) {
                        return Ok(Some(records));
                    }
                }
                Some(Err(why)) => warn(&why),
                None => {}
            }
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(None),
        }
    }
}
