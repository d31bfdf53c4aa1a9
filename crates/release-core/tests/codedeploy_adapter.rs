//! The CodeDeploy adapter against aws-smithy-mocks: the request CreateDeployment sends, a busy group,
//! what "does not exist" means per call (groups, configurations, targets), batching and
//! pagination, and error names.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_codedeploy::config::retry::RetryConfig;
use aws_sdk_codedeploy::operation::batch_get_deployments::BatchGetDeploymentsOutput;
use aws_sdk_codedeploy::operation::create_deployment::CreateDeploymentOutput;
use aws_sdk_codedeploy::operation::get_deployment_config::GetDeploymentConfigOutput;
use aws_sdk_codedeploy::operation::get_deployment_group::GetDeploymentGroupOutput;
use aws_sdk_codedeploy::operation::get_deployment_target::GetDeploymentTargetOutput;
use aws_sdk_codedeploy::operation::list_deployments::ListDeploymentsOutput;
use aws_sdk_codedeploy::operation::stop_deployment::StopDeploymentOutput;
use aws_sdk_codedeploy::types::{
    ComputePlatform, DeploymentConfigInfo, DeploymentGroupInfo, DeploymentInfo, DeploymentStatus,
    DeploymentTarget, EcsTarget, RevisionLocationType, TimeBasedLinear, TrafficRoutingConfig,
    TrafficRoutingType,
};
use aws_sdk_codedeploy::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use release_core::aws::{CodeDeployApi, CodeDeployRequest, Created};
use release_core::decide::release_ref::sha256_hex;

/// An error body as CodeDeploy sends it, so the SDK's deserializer fills in the code.
fn error_body(code: &str, message: &str) -> String {
    format!(r#"{{"__type":"{code}","message":"{message}"}}"#)
}

fn request() -> CodeDeployRequest {
    CodeDeployRequest {
        application: "AppECS-prod-web".into(),
        deployment_group: "DgpECS-prod-web".into(),
        deployment_config: Some("CodeDeployDefault.ECSCanary10Percent5Minutes".into()),
        description: "convoy release r-1: prod/web".into(),
        app_spec: r#"{"version":0.0}"#.into(),
    }
}

#[tokio::test]
async fn create_deployment_sends_the_app_spec_with_its_checksum_and_the_release_in_the_description()
{
    let rule = mock!(Client::create_deployment)
        .match_requests(|r| {
            let revision = r.revision().unwrap();
            let content = revision.app_spec_content().unwrap();
            r.application_name() == Some("AppECS-prod-web")
                && r.deployment_group_name() == Some("DgpECS-prod-web")
                && r.deployment_config_name()
                    == Some("CodeDeployDefault.ECSCanary10Percent5Minutes")
                && r.description() == Some("convoy release r-1: prod/web")
                && revision.revision_type() == Some(&RevisionLocationType::AppSpecContent)
                && content.content() == Some(r#"{"version":0.0}"#)
                && content.sha256() == Some(sha256_hex(br#"{"version":0.0}"#).as_str())
        })
        .then_output(|| {
            CreateDeploymentOutput::builder()
                .deployment_id("d-ABC123")
                .build()
        });
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
    let created = CodeDeployApi::create_deployment(&cd, &request())
        .await
        .unwrap();
    assert_eq!(created, Created::Deployment("d-ABC123".into()));
}

#[tokio::test]
async fn a_group_with_an_active_deployment_is_busy_not_an_error() {
    let body = error_body(
        "DeploymentLimitExceededException",
        "The Deployment Group 'DgpECS-prod-web' already has an active Deployment 'd-OLD'",
    );
    let rule = mock!(Client::create_deployment)
        .sequence()
        .http_status(400, Some(body))
        .build();
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
    let created = CodeDeployApi::create_deployment(&cd, &request())
        .await
        .unwrap();
    let Created::GroupBusy(said) = created else {
        panic!("expected GroupBusy, got {created:?}");
    };
    assert!(
        said.contains("already has an active Deployment 'd-OLD'"),
        "{said}"
    );
}

#[tokio::test]
async fn a_missing_application_or_group_is_none_and_other_errors_keep_their_names() {
    for code in [
        "ApplicationDoesNotExistException",
        "DeploymentGroupDoesNotExistException",
    ] {
        let rule = mock!(Client::get_deployment_group)
            .sequence()
            .http_status(400, Some(error_body(code, "no such thing")))
            .build();
        let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
        let found = CodeDeployApi::get_deployment_group(&cd, "AppECS-prod-web", "DgpECS-prod-web")
            .await
            .unwrap();
        assert!(found.is_none(), "{code}");
    }
    let denied = mock!(Client::get_deployment_group)
        .sequence()
        .http_status(
            400,
            Some(error_body("AccessDeniedException", "not authorized")),
        )
        .build();
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&denied]);
    let err = CodeDeployApi::get_deployment_group(&cd, "AppECS-prod-web", "DgpECS-prod-web")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "AccessDenied");
    assert!(
        err.to_string()
            .contains("GetDeploymentGroup AppECS-prod-web/DgpECS-prod-web: AccessDeniedException"),
        "{err}"
    );

    let found = mock!(Client::get_deployment_group).then_output(|| {
        GetDeploymentGroupOutput::builder()
            .deployment_group_info(
                DeploymentGroupInfo::builder()
                    .deployment_group_name("DgpECS-prod-web")
                    .build(),
            )
            .build()
    });
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&found]);
    let group = CodeDeployApi::get_deployment_group(&cd, "AppECS-prod-web", "DgpECS-prod-web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group.deployment_group_name(), Some("DgpECS-prod-web"));
}

#[tokio::test]
async fn deployments_are_listed_across_pages_with_the_statuses_asked_for() {
    let first = mock!(Client::list_deployments)
        .match_requests(|r| {
            r.next_token().is_none()
                && r.include_only_statuses()
                    == [DeploymentStatus::InProgress, DeploymentStatus::Ready]
        })
        .then_output(|| {
            ListDeploymentsOutput::builder()
                .deployments("d-2")
                .next_token("page-2")
                .build()
        });
    let second = mock!(Client::list_deployments)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| ListDeploymentsOutput::builder().deployments("d-1").build());
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, [&first, &second]);
    let ids = CodeDeployApi::list_deployments(
        &cd,
        "AppECS-prod-web",
        "DgpECS-prod-web",
        &[DeploymentStatus::InProgress, DeploymentStatus::Ready],
    )
    .await
    .unwrap();
    assert_eq!(ids, ["d-2", "d-1"]);
}

#[tokio::test]
async fn deployments_are_read_twenty_five_per_call() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = sizes.clone();
    let rule = mock!(Client::batch_get_deployments)
        .match_requests(move |r| {
            seen.lock().unwrap().push(r.deployment_ids().len());
            true
        })
        .then_compute_output(|r| {
            BatchGetDeploymentsOutput::builder()
                .set_deployments_info(Some(
                    r.deployment_ids()
                        .iter()
                        .map(|id| DeploymentInfo::builder().deployment_id(id).build())
                        .collect(),
                ))
                .build()
        });
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, [&rule]);
    let ids: Vec<String> = (0..60).map(|i| format!("d-{i}")).collect();
    let found = CodeDeployApi::batch_get_deployments(&cd, &ids)
        .await
        .unwrap();
    assert_eq!(found.len(), 60);
    assert_eq!(*sizes.lock().unwrap(), [25, 25, 10]);
}

#[tokio::test]
async fn a_stop_asks_for_the_rollback_and_a_missing_target_is_none() {
    let stop = mock!(Client::stop_deployment)
        .match_requests(|r| {
            r.deployment_id() == Some("d-1") && r.auto_rollback_enabled() == Some(true)
        })
        .then_output(|| StopDeploymentOutput::builder().build());
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&stop]);
    CodeDeployApi::stop_deployment(&cd, "d-1", true)
        .await
        .unwrap();
    assert_eq!(stop.num_calls(), 1);

    let missing = mock!(Client::get_deployment_target)
        .sequence()
        .http_status(
            400,
            Some(error_body(
                "DeploymentTargetDoesNotExistException",
                "no target",
            )),
        )
        .build();
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&missing]);
    let target = CodeDeployApi::get_deployment_target(&cd, "d-1", "prod:web")
        .await
        .unwrap();
    assert!(target.is_none());

    let found = mock!(Client::get_deployment_target)
        .match_requests(|r| r.deployment_id() == Some("d-1") && r.target_id() == Some("prod:web"))
        .then_output(|| {
            GetDeploymentTargetOutput::builder()
                .deployment_target(
                    DeploymentTarget::builder()
                        .ecs_target(EcsTarget::builder().target_id("prod:web").build())
                        .build(),
                )
                .build()
        });
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&found]);
    let target = CodeDeployApi::get_deployment_target(&cd, "d-1", "prod:web")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.target_id(), Some("prod:web"));
}

fn linear_routing() -> TrafficRoutingConfig {
    TrafficRoutingConfig::builder()
        .r#type(TrafficRoutingType::TimeBasedLinear)
        .time_based_linear(
            TimeBasedLinear::builder()
                .linear_interval(2)
                .linear_percentage(25)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_deployment_config_is_read_with_its_traffic_routing() {
    let rule = mock!(Client::get_deployment_config)
        .match_requests(|r| r.deployment_config_name() == Some("Linear25Every2"))
        .then_output(|| {
            GetDeploymentConfigOutput::builder()
                .deployment_config_info(
                    DeploymentConfigInfo::builder()
                        .deployment_config_name("Linear25Every2")
                        .compute_platform(ComputePlatform::Ecs)
                        .traffic_routing_config(linear_routing())
                        .build(),
                )
                .build()
        });
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&rule]);
    let config = CodeDeployApi::get_deployment_config(&cd, "Linear25Every2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(config.deployment_config_name(), Some("Linear25Every2"));
    assert_eq!(config.compute_platform(), Some(&ComputePlatform::Ecs));
    assert_eq!(config.traffic_routing_config(), Some(&linear_routing()));
}

#[tokio::test]
async fn a_missing_deployment_config_is_none_and_throttling_keeps_its_name() {
    let missing = mock!(Client::get_deployment_config)
        .sequence()
        .http_status(
            400,
            Some(error_body(
                "DeploymentConfigDoesNotExistException",
                "No deployment configuration found for name: Linear25Every2",
            )),
        )
        .build();
    let cd = mock_client!(aws_sdk_codedeploy, RuleMode::Sequential, [&missing]);
    let config = CodeDeployApi::get_deployment_config(&cd, "Linear25Every2")
        .await
        .unwrap();
    assert!(config.is_none());

    let throttled = mock!(Client::get_deployment_config)
        .sequence()
        .http_status(
            400,
            Some(error_body("ThrottlingException", "Rate exceeded")),
        )
        .times(3)
        .build();
    let cd = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::Sequential,
        [&throttled],
        |c| c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        )
    );
    let err = CodeDeployApi::get_deployment_config(&cd, "Linear25Every2")
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Throttled", "{err}");
    assert_eq!(throttled.num_calls(), 3, "the SDK retried before giving up");
    assert!(
        err.to_string()
            .contains("GetDeploymentConfig Linear25Every2: ThrottlingException: Rate exceeded"),
        "{err}"
    );
}
