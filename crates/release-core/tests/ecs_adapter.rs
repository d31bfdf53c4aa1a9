//! The ECS adapter against aws-smithy-mocks: batching, pagination, `failures`, retries and the
//! mapping of SDK errors to convoy's error names.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]
#![allow(deprecated)] // InferenceAccelerator: deprecated by ECS, still copied by the adapter.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::stop_service_deployment::StopServiceDeploymentOutput;
use aws_sdk_ecs::operation::update_service::UpdateServiceOutput;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, Deployment, DeploymentAlarms,
    DeploymentCircuitBreaker, DeploymentConfiguration, EphemeralStorage, Failure,
    InferenceAccelerator, IpcMode, NetworkMode, OsFamily, PidMode, ProxyConfiguration,
    ProxyConfigurationType, RuntimePlatform, Service, Tag, TaskDefinition,
    TaskDefinitionPlacementConstraint, TaskDefinitionPlacementConstraintType, Volume,
};
use aws_sdk_ecs::types::{
    DeploymentLifecycleHook, DeploymentLifecycleHookStage, DeploymentStrategy as EcsStrategy,
    ServiceDeployment as EcsServiceDeployment, ServiceDeploymentStatus,
    StopServiceDeploymentStopType,
};
use aws_sdk_ecs::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use release_core::aws::ecs::{classify, Op};
use release_core::aws::ErrorKind;
use release_core::aws::{EcsApi, ServiceUpdate};
use release_core::contract::{CanaryConfiguration, DeploymentStrategy, Percent, Strategy};

fn with_retries(conf: aws_sdk_ecs::config::Builder) -> aws_sdk_ecs::config::Builder {
    conf.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1)),
    )
}

fn services_named(names: &[String]) -> DescribeServicesOutput {
    DescribeServicesOutput::builder()
        .set_services(Some(
            names
                .iter()
                .map(|n| Service::builder().service_name(n).status("ACTIVE").build())
                .collect(),
        ))
        .build()
}

#[tokio::test]
async fn describe_services_batches_ten_per_call() {
    let rule = mock!(Client::describe_services)
        .match_requests(|r| r.cluster() == Some("prod") && r.services().len() <= 10)
        .then_compute_output(|r| services_named(r.services()));
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let names: Vec<String> = (0..23).map(|i| format!("svc-{i}")).collect();
    let found = EcsApi::describe_services(&ecs, "prod", &names)
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 3);
    let got: Vec<&str> = found
        .items
        .iter()
        .filter_map(|s| s.service_name())
        .collect();
    assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
}

#[tokio::test]
async fn missing_services_come_back_as_failures() {
    let rule = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .services(
                Service::builder()
                    .service_name("web")
                    .status("ACTIVE")
                    .build(),
            )
            .failures(
                Failure::builder()
                    .arn("arn:aws:ecs:us-east-1:123456789012:service/prod/api")
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, [&rule]);
    let found = EcsApi::describe_services(&ecs, "prod", &["web".into(), "api".into()])
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.failures.len(), 1);
    assert_eq!(found.failures[0].reason(), Some("MISSING"));
}

const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

#[tokio::test]
async fn throttling_is_retried_then_succeeds() {
    let rule = mock!(Client::describe_services)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .output(|| services_named(&["web".into()]))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], with_retries);
    let found = EcsApi::describe_services(&ecs, "prod", &["web".into()])
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_throttled() {
    let rule = mock!(Client::describe_services)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(3)
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], with_retries);
    let err = EcsApi::describe_services(&ecs, "prod", &["web".into()])
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Throttled");
    assert_eq!(rule.num_calls(), 3);
    assert!(
        std::error::Error::source(&err).is_some(),
        "the SDK error is kept"
    );
}

/// Error bodies as ECS sends them, so the SDK's own deserializer fills in the error code the
/// mapping reads (hand-built modeled errors carry no code).
#[tokio::test]
async fn service_errors_map_to_stable_names() {
    let cases = [
        (
            400,
            "ClusterNotFoundException",
            "Cluster not found.",
            "ClusterNotFound",
        ),
        (
            400,
            "AccessDeniedException",
            "not authorized",
            "AccessDenied",
        ),
        (400, "ClientException", "Rate exceeded", "Throttled"),
        (400, "ClientException", "bad request", "Internal"),
        (400, "InvalidParameterException", "bad", "Internal"),
        (500, "ServerException", "oops", "AwsUnavailable"),
    ];
    for (status, code, message, want) in cases {
        let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
        let rule = mock!(Client::describe_services)
            .sequence()
            .http_status(status, Some(body))
            .repeatedly()
            .build();
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], with_retries);
        let err = EcsApi::describe_services(&ecs, "prod", &["web".into()])
            .await
            .unwrap_err();
        assert_eq!(err.name(), want, "{code} {message}: {err}");
        assert!(err.to_string().contains(message), "{err}");
    }
}

#[tokio::test]
async fn server_errors_are_aws_unavailable() {
    let rule = mock!(Client::describe_services)
        .sequence()
        .http_status(503, None)
        .times(3)
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule], with_retries);
    let err = EcsApi::describe_services(&ecs, "prod", &["web".into()])
        .await
        .unwrap_err();
    assert_eq!(err.name(), "AwsUnavailable", "{err}");
}

#[tokio::test]
async fn rejected_registration_is_task_definition_rejected() {
    let body = r#"{"__type":"ClientException","message":"Invalid 'cpu' setting for task."}"#;
    let rule = mock!(Client::register_task_definition)
        .sequence()
        .http_status(400, Some(body.into()))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, [&rule]);
    let definition = TaskDefinition::builder().family("web").build();
    let err = ecs
        .register_task_definition_api(&definition)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "TaskDefinitionRejected");
    assert!(err.to_string().contains("Invalid 'cpu' setting"), "{err}");
}

/// Calls the trait method (the inherent SDK method of the same name would shadow it).
trait RegisterViaTrait {
    async fn register_task_definition_api(
        &self,
        definition: &TaskDefinition,
    ) -> Result<TaskDefinition, release_core::Error>;
}

impl RegisterViaTrait for Client {
    async fn register_task_definition_api(
        &self,
        definition: &TaskDefinition,
    ) -> Result<TaskDefinition, release_core::Error> {
        EcsApi::register_task_definition(self, definition, &[]).await
    }
}

#[test]
fn classification_table() {
    use ErrorKind::*;
    // operation, error code, message, HTTP status → kind
    type Row = (
        Op,
        Option<&'static str>,
        Option<&'static str>,
        Option<u16>,
        ErrorKind,
    );
    let cases: [Row; 14] = [
        (
            Op::DescribeServices,
            Some("ThrottlingException"),
            None,
            Some(400),
            Throttled,
        ),
        (
            Op::UpdateService,
            Some("TooManyRequestsException"),
            None,
            Some(400),
            Throttled,
        ),
        (
            Op::RegisterTaskDefinition,
            Some("ClientException"),
            Some("Rate exceeded"),
            Some(400),
            Throttled,
        ),
        (
            Op::UpdateService,
            Some("AccessDeniedException"),
            None,
            Some(400),
            AccessDenied,
        ),
        (
            Op::DescribeServices,
            Some("ClusterNotFoundException"),
            None,
            Some(400),
            ClusterNotFound,
        ),
        (
            Op::UpdateService,
            Some("ServiceNotFoundException"),
            None,
            Some(400),
            ServiceNotFound,
        ),
        (
            Op::UpdateService,
            Some("ServiceNotActiveException"),
            None,
            Some(400),
            ServiceNotFound,
        ),
        (
            Op::DescribeClusters,
            Some("ServerException"),
            None,
            Some(500),
            AwsUnavailable,
        ),
        (Op::DescribeClusters, None, None, Some(503), AwsUnavailable),
        (
            Op::DescribeClusters,
            Some("SomethingNew"),
            None,
            Some(502),
            AwsUnavailable,
        ),
        (
            Op::RegisterTaskDefinition,
            Some("ClientException"),
            Some("Invalid cpu"),
            Some(400),
            TaskDefinitionRejected,
        ),
        (
            Op::RegisterTaskDefinition,
            Some("InvalidParameterException"),
            None,
            Some(400),
            TaskDefinitionRejected,
        ),
        (
            Op::UpdateService,
            Some("InvalidParameterException"),
            None,
            Some(400),
            Internal,
        ),
        (
            Op::DescribeTaskDefinition,
            Some("ClientException"),
            Some("Unable to describe task definition."),
            Some(400),
            Internal,
        ),
    ];
    for (op, code, message, status, want) in cases {
        assert_eq!(
            classify(op, code, message, status),
            want,
            "{op:?} {code:?} {message:?}"
        );
    }
}

#[allow(deprecated)] // inferenceAccelerators is deprecated but still accepted: it must be copied.
fn fully_populated() -> TaskDefinition {
    TaskDefinition::builder()
        .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7")
        .family("web")
        .revision(7)
        .task_role_arn("arn:aws:iam::123456789012:role/task")
        .execution_role_arn("arn:aws:iam::123456789012:role/exec")
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("web:1")
                .build(),
        )
        .volumes(Volume::builder().name("data").build())
        .placement_constraints(
            TaskDefinitionPlacementConstraint::builder()
                .r#type(TaskDefinitionPlacementConstraintType::MemberOf)
                .expression("attribute:ecs.os-type == linux")
                .build(),
        )
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("512")
        .memory("1024")
        .pid_mode(PidMode::Task)
        .ipc_mode(IpcMode::Task)
        .proxy_configuration(
            ProxyConfiguration::builder()
                .r#type(ProxyConfigurationType::Appmesh)
                .container_name("envoy")
                .build()
                .unwrap(),
        )
        .inference_accelerators(
            InferenceAccelerator::builder()
                .device_name("gpu0")
                .device_type("eia2.medium")
                .build()
                .unwrap(),
        )
        .ephemeral_storage(EphemeralStorage::builder().size_in_gib(40).build())
        .runtime_platform(
            RuntimePlatform::builder()
                .cpu_architecture(CpuArchitecture::Arm64)
                .operating_system_family(OsFamily::Linux)
                .build(),
        )
        .enable_fault_injection(true)
        .build()
}

/// Top-level `field: value` pairs of a pretty Debug rendering.
fn debug_fields(pretty: &str) -> Vec<(String, String)> {
    pretty
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("    ")?;
            if rest.starts_with(' ') {
                return None;
            }
            let (name, value) = rest.split_once(": ")?;
            Some((name.to_owned(), value.trim_end_matches(',').to_owned()))
        })
        .collect()
}

/// The request RegisterTaskDefinition would send must have no field left `None` when the described
/// definition has every field: a field added to the SDK's RegisterTaskDefinitionInput (as
/// `trustedExecutionConfiguration` is in SDKs newer than this one) shows up here as `None` until
/// `decide::taskdef::register_input` copies it. A field the SDK itself does not know yet is caught
/// at run time instead (`a_field_the_sdk_cannot_carry_is_named_and_nothing_is_registered`).
#[tokio::test]
async fn register_copies_every_accepted_field() {
    let captured = Arc::new(Mutex::new(None));
    let sink = captured.clone();
    let rule = mock!(Client::register_task_definition)
        .match_requests(move |input| {
            *sink.lock().unwrap() = Some(format!("{input:#?}"));
            true
        })
        .then_output(|| {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(TaskDefinition::builder().family("web").revision(8).build())
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, [&rule]);
    let tags = [Tag::builder().key("convoy:release").value("r-1").build()];
    EcsApi::register_task_definition(&ecs, &fully_populated(), &tags)
        .await
        .unwrap();
    let request = captured.lock().unwrap().clone().expect("request captured");
    let fields = debug_fields(&request);
    assert!(fields.len() >= 18, "parsed the request: {request}");
    let unset: Vec<&str> = fields
        .iter()
        .filter(|(_, value)| value == "None")
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        unset.is_empty(),
        "RegisterTaskDefinition fields not copied: {unset:?}\n{request}"
    );
    // And the values are the described ones, not defaults.
    for fragment in [
        "Arm64",
        "size_in_gib: 40",
        "Appmesh",
        "enable_fault_injection: Some(\n        true",
    ] {
        assert!(
            request.contains(fragment),
            "missing {fragment:?} in {request}"
        );
    }
}

#[tokio::test]
async fn update_service_keeps_circuit_breaker_and_alarms() {
    let describe = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .services(
                Service::builder()
                    .service_name("web")
                    .deployment_configuration(
                        DeploymentConfiguration::builder()
                            .deployment_circuit_breaker(
                                DeploymentCircuitBreaker::builder()
                                    .enable(true)
                                    .rollback(true)
                                    .build(),
                            )
                            .alarms(
                                DeploymentAlarms::builder()
                                    .alarm_names("web-5xx")
                                    .enable(true)
                                    .rollback(true)
                                    .build()
                                    .unwrap(),
                            )
                            .minimum_healthy_percent(100)
                            .maximum_percent(200)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let update = mock!(Client::update_service)
        .match_requests(|r| {
            let c = r.deployment_configuration();
            r.task_definition() == Some("web:8")
                && r.desired_count() == Some(4)
                && c.and_then(|c| c.minimum_healthy_percent()) == Some(50)
                && c.and_then(|c| c.maximum_percent()) == Some(200)
                && c.and_then(|c| c.deployment_circuit_breaker())
                    .is_some_and(|b| b.enable() && b.rollback())
                && c.and_then(|c| c.alarms())
                    .is_some_and(|a| a.alarm_names() == ["web-5xx".to_string()])
        })
        .then_output(|| {
            UpdateServiceOutput::builder()
                .service(
                    Service::builder()
                        .service_name("web")
                        .deployments(
                            Deployment::builder()
                                .id("ecs-svc/42")
                                .status("PRIMARY")
                                .task_definition("web:8")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &update]);
    let service = EcsApi::update_service(
        &ecs,
        &ServiceUpdate {
            cluster: "prod".into(),
            service: "web".into(),
            task_definition: Some("web:8".into()),
            desired_count: Some(4),
            minimum_healthy_percent: Some(50),
            maximum_percent: None,
            strategy: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(service.deployments()[0].id(), Some("ecs-svc/42"));
    assert_eq!((describe.num_calls(), update.num_calls()), (1, 1));
}

#[tokio::test]
async fn revisions_follow_pages_and_skip_other_families() {
    let arn = |name: &str| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}");
    let (a1, a2, b1) = (arn("web:3"), arn("web-worker:9"), arn("web:2"));
    let page1 = mock!(Client::list_task_definitions)
        .match_requests(|r| r.next_token().is_none() && r.family_prefix() == Some("web"))
        .then_output(move || {
            ListTaskDefinitionsOutput::builder()
                .task_definition_arns(a1.clone())
                .task_definition_arns(a2.clone())
                .next_token("page-2")
                .build()
        });
    let page2 = mock!(Client::list_task_definitions)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || {
            ListTaskDefinitionsOutput::builder()
                .task_definition_arns(b1.clone())
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&page1, &page2]);
    let got = EcsApi::list_task_definition_revisions(&ecs, "web")
        .await
        .unwrap();
    assert_eq!(got, [arn("web:3"), arn("web:2")]);
    assert_eq!((page1.num_calls(), page2.num_calls()), (1, 1));
}

#[tokio::test]
async fn unreadable_answers_are_aws_unavailable() {
    let rule = mock!(Client::describe_services)
        .sequence()
        .http_status(200, Some("not json".into()))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&rule]);
    let err = EcsApi::describe_services(&ecs, "prod", &["web".into()])
        .await
        .unwrap_err();
    assert_eq!(err.name(), "AwsUnavailable", "{err}");
}

#[tokio::test]
async fn list_services_follows_next_token_a_hundred_per_page() {
    use aws_sdk_ecs::operation::list_services::ListServicesOutput;
    let arn = |i: usize| format!("arn:aws:ecs:us-east-1:123456789012:service/prod/svc-{i}");
    let first = mock!(Client::list_services)
        .match_requests(|r| {
            r.next_token().is_none() && r.cluster() == Some("prod") && r.max_results() == Some(100)
        })
        .then_output(move || {
            ListServicesOutput::builder()
                .set_service_arns(Some((0..100).map(arn).collect()))
                .next_token("p2")
                .build()
        });
    let second = mock!(Client::list_services)
        .match_requests(|r| r.next_token() == Some("p2") && r.cluster() == Some("prod"))
        .then_output(move || {
            ListServicesOutput::builder()
                .set_service_arns(Some((100..123).map(arn).collect()))
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&first, &second]);
    let arns = EcsApi::list_services(&ecs, "prod").await.unwrap();
    assert_eq!(arns, (0..123).map(arn).collect::<Vec<_>>());
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn list_services_refused_is_access_denied() {
    let refused = mock!(Client::list_services)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"AccessDeniedException","message":"not authorized"}"#.into()),
        )
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&refused]);
    let err = EcsApi::list_services(&ecs, "prod").await.unwrap_err();
    assert_eq!(err.name(), "AccessDenied", "{err}");
    assert!(err.to_string().contains("ListServices prod"), "{err}");
}

/// A DescribeTaskDefinition answer as ECS sends it (fields only ECS sets, containers with their
/// zero and empty defaults), with `extra` fields in the task definition and its first container.
fn described_answer(extra: serde_json::Value, extra_in_container: serde_json::Value) -> String {
    let mut app = serde_json::json!({
        "name": "app", "image": "registry.example.com/web:v1", "cpu": 0, "essential": true,
        "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
        "environment": [{"name": "MODE", "value": "prod"}], "mountPoints": [], "volumesFrom": [],
        "systemControls": [], "disableNetworking": false
    });
    let mut definition = serde_json::json!({
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
        "family": "web", "revision": 7, "status": "ACTIVE",
        "networkMode": "awsvpc", "volumes": [], "placementConstraints": [],
        "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}],
        "compatibilities": ["EC2", "FARGATE"], "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "registeredAt": 1.7e9, "registeredBy": "arn:aws:iam::123456789012:role/deployer"
    });
    for (target, fields) in [(&mut app, extra_in_container), (&mut definition, extra)] {
        for (key, value) in fields.as_object().unwrap() {
            target[key] = value.clone();
        }
    }
    definition["containerDefinitions"] = serde_json::json!([app]);
    serde_json::json!({"taskDefinition": definition, "tags": [{"key": "team", "value": "web"}]})
        .to_string()
}

/// A field of the current API that this SDK does not know (`trustedExecutionConfiguration`, for
/// ECS Managed Instances) would be lost by a clone: the register step refuses the definition,
/// naming the field, and registers nothing. A definition without such fields is cloned.
#[tokio::test]
async fn a_field_the_sdk_cannot_carry_is_named_and_nothing_is_registered() {
    use aws_sdk_ecs::config::http::HttpResponse;
    use aws_smithy_types::body::SdkBody;
    use release_core::steps::register::register;

    let answer = |extra: serde_json::Value, in_container: serde_json::Value| {
        let body = described_answer(extra, in_container);
        mock!(Client::describe_task_definition).then_http_response(move || {
            HttpResponse::new(200.try_into().unwrap(), SdkBody::from(body.clone()))
        })
    };
    let registered = || {
        mock!(Client::register_task_definition).then_output(|| {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(
                    TaskDefinition::builder()
                        .task_definition_arn(
                            "arn:aws:ecs:us-east-1:123456789012:task-definition/web:8",
                        )
                        .build(),
                )
                .build()
        })
    };
    let images = [("app".to_owned(), "registry.example.com/web:v2".to_owned())].into();
    let previous = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

    // As ECS answers today for a definition without new fields: every field carried, registered.
    let (clean, register_clean) = (
        answer(serde_json::json!({}), serde_json::json!({})),
        registered(),
    );
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&clean, &register_clean]);
    let (_, tags, uncopied) = ecs
        .describe_task_definition_to_copy(previous)
        .await
        .unwrap();
    assert_eq!(uncopied, Vec::<String>::new());
    assert_eq!(tags.len(), 1);
    let arn = register(&ecs, "r-1", previous, &images).await.unwrap();
    assert!(arn.ends_with("web:8"), "{arn}");
    assert_eq!(register_clean.num_calls(), 1);

    // With fields this SDK drops when it reads the answer.
    let lossy = answer(
        serde_json::json!({"trustedExecutionConfiguration": {
            "isolationMode": "CONFIDENTIAL_SANDBOX", "attestationPolicy": "eyJwb2xpY3kiOiB0cnVlfQ=="
        }}),
        serde_json::json!({"futureContainerSetting": {"enabled": true}}),
    );
    let register_lossy = registered();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&lossy, &register_lossy]);
    let (_, _, uncopied) = ecs
        .describe_task_definition_to_copy(previous)
        .await
        .unwrap();
    assert_eq!(
        uncopied,
        [
            "containerDefinitions[0].futureContainerSetting",
            "trustedExecutionConfiguration"
        ]
    );
    let err = register(&ecs, "r-1", previous, &images).await.unwrap_err();
    assert_eq!(err.name(), "TaskDefinitionRejected");
    let message = err.to_string();
    for fragment in [
        "task-definition/web:7",
        "`containerDefinitions[0].futureContainerSetting`, `trustedExecutionConfiguration` cannot \
         be copied into a new revision",
    ] {
        assert!(message.contains(fragment), "{fragment}: {message}");
    }
    assert_eq!(register_lossy.num_calls(), 0, "nothing is registered");
}

#[tokio::test]
async fn a_strategy_is_set_with_every_other_field_of_the_configuration_kept() {
    let describe = mock!(Client::describe_services).then_output(|| {
        DescribeServicesOutput::builder()
            .services(
                Service::builder()
                    .service_name("web")
                    .deployment_configuration(
                        DeploymentConfiguration::builder()
                            .strategy(EcsStrategy::BlueGreen)
                            .bake_time_in_minutes(10)
                            .lifecycle_hooks(
                                DeploymentLifecycleHook::builder()
                                    .hook_target_arn("arn:aws:lambda:us-east-1:1:function:smoke")
                                    .lifecycle_stages(
                                        DeploymentLifecycleHookStage::PostTestTrafficShift,
                                    )
                                    .build(),
                            )
                            .alarms(
                                DeploymentAlarms::builder()
                                    .alarm_names("web-5xx")
                                    .enable(true)
                                    .rollback(true)
                                    .build()
                                    .unwrap(),
                            )
                            .minimum_healthy_percent(100)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let update = mock!(Client::update_service)
        .match_requests(|r| {
            let Some(c) = r.deployment_configuration() else {
                return false;
            };
            c.strategy() == Some(&EcsStrategy::Canary)
                && c.bake_time_in_minutes() == Some(10)
                && c.canary_configuration().and_then(|k| k.canary_percent()) == Some(2.5)
                && c.canary_configuration()
                    .and_then(|k| k.canary_bake_time_in_minutes())
                    == Some(3)
                && c.lifecycle_hooks().len() == 1
                && c.alarms().is_some()
                && c.minimum_healthy_percent() == Some(100)
        })
        .then_output(|| {
            UpdateServiceOutput::builder()
                .service(
                    Service::builder()
                        .service_name("web")
                        .current_service_deployment(
                            "arn:aws:ecs:us-east-1:1:service-deployment/prod/web/7",
                        )
                        .build(),
                )
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&describe, &update]);
    let service = EcsApi::update_service(
        &ecs,
        &ServiceUpdate {
            cluster: "prod".into(),
            service: "web".into(),
            task_definition: Some("web:8".into()),
            strategy: Some(DeploymentStrategy {
                strategy: Strategy::Canary,
                bake_time_in_minutes: None,
                linear_configuration: None,
                canary_configuration: Some(CanaryConfiguration {
                    canary_percent: Percent(2.5),
                    canary_bake_time_in_minutes: 3,
                }),
            }),
            ..ServiceUpdate::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        service.current_service_deployment(),
        Some("arn:aws:ecs:us-east-1:1:service-deployment/prod/web/7")
    );
    assert_eq!((describe.num_calls(), update.num_calls()), (1, 1));
}

fn deployment_arn(i: usize) -> String {
    format!("arn:aws:ecs:us-east-1:1:service-deployment/prod/web-{i}/1")
}

#[tokio::test]
async fn service_deployments_are_described_twenty_per_call_with_their_failures() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let rule = mock!(Client::describe_service_deployments)
        .match_requests(move |r| {
            record
                .lock()
                .unwrap()
                .push(r.service_deployment_arns().len());
            true
        })
        .then_output(|| {
            DescribeServiceDeploymentsOutput::builder()
                .service_deployments(
                    EcsServiceDeployment::builder()
                        .service_deployment_arn(deployment_arn(0))
                        .status(ServiceDeploymentStatus::InProgress)
                        .build(),
                )
                .failures(
                    Failure::builder()
                        .arn(deployment_arn(99))
                        .reason("MISSING")
                        .build(),
                )
                .build()
        });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&rule]);
    let arns: Vec<String> = (0..25).map(deployment_arn).collect();
    let found = EcsApi::describe_service_deployments(&ecs, &arns)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![20, 5]);
    assert_eq!((found.items.len(), found.failures.len()), (2, 2));
}

#[tokio::test]
async fn a_stop_asks_ecs_to_roll_back_and_a_conflict_is_an_error() {
    let stop = mock!(Client::stop_service_deployment)
        .match_requests(|r| {
            r.stop_type() == Some(&StopServiceDeploymentStopType::Rollback)
                && r.service_deployment_arn() == Some(deployment_arn(1).as_str())
        })
        .then_output(|| StopServiceDeploymentOutput::builder().build());
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&stop]);
    EcsApi::stop_service_deployment(&ecs, &deployment_arn(1))
        .await
        .unwrap();
    assert_eq!(stop.num_calls(), 1);

    // As ECS sends it, so the SDK's deserializer fills in the code (a hand-built error has none).
    let body = r#"{"__type":"ConflictException","message":"The service deployment is not in a state that can be stopped"}"#;
    let conflict = mock!(Client::stop_service_deployment)
        .sequence()
        .http_status(400, Some(body.to_owned()))
        .build();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::Sequential, [&conflict]);
    let err = EcsApi::stop_service_deployment(&ecs, &deployment_arn(1))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Internal", "{err}");
    assert!(err.to_string().contains("StopServiceDeployment"), "{err}");
    assert!(err.to_string().contains("can be stopped"), "{err}");
}
