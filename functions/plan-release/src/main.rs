//! plan-release: validates the release and pre-flights it against ECS and EventBridge.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        handler::handle(
            &clients.ecs,
            &clients.events,
            &clients.records,
            clients.records_bucket.as_deref(),
            event,
        )
    })
    .await
}
