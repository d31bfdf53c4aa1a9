//! deploy-batch's pacer against the real ECS client (aws-smithy-mocks): the client it is given
//! does not retry by itself, so a throttled RegisterTaskDefinition is retried by the pacer, after
//! its next token, and counted in the batch summary.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{ContainerDefinition, Deployment, Service, TaskDefinition};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::body::SdkBody;
use release_core::aws::fake::{FakeEvents, MemoryStore};
use release_core::aws::fake_codedeploy::FakeCodeDeploy;
use release_core::aws::fake_scaling::FakeScaling;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::config::without_retries;
use release_core::contract::examples::{app_image, service_item};
use release_core::contract::{
    BatchInput, BatchItems, BatchProgress, BatchSpec, BatchSummary, Bucket, Pace, Records,
};
use release_core::records::{batch_items_name, batch_summary_name, RecordStore};
use release_core::steps::deploy_batch::deploy_batch;

const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
const PREVIOUS: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";

/// The SDK's standard retries, as every other convoy client has them.
fn with_retries(conf: aws_sdk_ecs::config::Builder) -> aws_sdk_ecs::config::Builder {
    conf.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn definition(arn: &str, revision: i32, image: &str) -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn(arn)
        .family("web")
        .revision(revision)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(image)
                .essential(true)
                .memory(256)
                .build(),
        )
        .build()
}

fn rules() -> (Rule, Rule, Rule) {
    // An HTTP answer, as ECS sends it: register reads the body to check every field is copied.
    let describe = mock!(Client::describe_task_definition).then_http_response(|| {
        let body = serde_json::json!({"taskDefinition": {
            "taskDefinitionArn": PREVIOUS, "family": "web", "revision": 1,
            "containerDefinitions": [{"name": "app", "image": "web:v1", "essential": true,
                                      "memory": 256}],
        }});
        HttpResponse::new(200.try_into().unwrap(), SdkBody::from(body.to_string()))
    });
    let register = mock!(Client::register_task_definition)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .output(|| {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(definition(NEW, 2, "web:v2"))
                .build()
        })
        .build();
    let update = mock!(Client::update_service).then_output(|| {
        UpdateServiceOutput::builder()
            .service(
                Service::builder()
                    .service_name("web")
                    .deployments(
                        Deployment::builder()
                            .id("ecs-svc/7")
                            .status("PRIMARY")
                            .task_definition(NEW)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    (describe, register, update)
}

async fn run(ecs: &Client) -> (BatchProgress, BatchSummary) {
    let store = RecordStore::new(MemoryStore::default());
    let records = Records::for_execution("records", "r-pace", "e1");
    let items = BatchItems {
        services: vec![service_item("prod", "web", PREVIOUS, app_image("web:v2"))],
        tasks: vec![],
        jobs: Vec::new(),
        schedules: Vec::new(),
    };
    store
        .write(&records, &batch_items_name(0, 0), &items)
        .await
        .unwrap();
    let bucket = Bucket {
        burst: 1,
        refill_interval_ms: 50,
    };
    let input = BatchInput {
        release_id: "r-pace".into(),
        records: records.clone(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:release:e1".into(),
        wave: 0,
        batch: BatchSpec {
            batch: 0,
            items: 1,
            registrations: 1,
            pace: Pace {
                registrations: bucket,
                updates: bucket,
            },
        },
    };
    let progress = deploy_batch(
        ecs,
        &FakeEvents::default(),
        &FakeCodeDeploy::default(),
        &FakeScheduler::default(),
        &FakeScaling::default(),
        &store,
        &input,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let summary = store
        .read(&records, &batch_summary_name(0, 0))
        .await
        .unwrap()
        .expect("the batch summary");
    (progress, summary)
}

/// The client as every other convoy function has it (the SDK's standard retries), and its rules.
fn retrying_client() -> (Client, Rule) {
    let (describe, register, update) = rules();
    let client = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        [&describe, &register, &update],
        with_retries
    );
    (client, register)
}

#[tokio::test]
async fn a_throttled_registration_is_retried_by_the_pacer_and_counted() {
    let (retrying, register) = retrying_client();
    let (progress, summary) = run(&without_retries(&retrying)).await;
    assert_eq!(progress, BatchProgress::default(), "{:?}", summary.failed);
    assert_eq!(register.num_calls(), 2, "throttled once, then registered");
    assert_eq!(summary.calls.throttled, 1);
    assert_eq!((summary.calls.registered, summary.calls.updated), (1, 1));
}

#[tokio::test]
async fn the_sdk_retrying_by_itself_would_hide_the_throttled_answer() {
    let (retrying, register) = retrying_client();
    let (progress, summary) = run(&retrying).await;
    assert_eq!(progress, BatchProgress::default(), "{:?}", summary.failed);
    assert_eq!(register.num_calls(), 2, "the SDK retried, past the pacer");
    assert_eq!(summary.calls.throttled, 0, "and nobody counted it");
}
