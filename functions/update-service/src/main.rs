//! update-service: points one service at its newly registered task definition.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    release_core::config::serve(|clients, event| {
        handler::handle(&clients.ecs, &clients.records, event)
    })
    .await
}
