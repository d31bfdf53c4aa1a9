//! update-scheduled-rule: points every ECS target of one EventBridge rule at its new task definition.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        handler::handle(&clients.events, &clients.records, event)
    })
    .await
}
