//! `CodeDeployApi` over `aws_sdk_codedeploy::Client`: pagination, batching and error mapping for the
//! blue/green deployments of `CODE_DEPLOY` services.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentConfigInfo, DeploymentGroupInfo, DeploymentInfo, DeploymentStatus,
    EcsTarget, RevisionLocation, RevisionLocationType,
};
use aws_sdk_codedeploy::Client;

use super::{sdk_error, CodeDeployApi, CodeDeployRequest, Created};
use crate::decide::release_ref::sha256_hex;
use crate::Error;

/// BatchGetDeployments accepts up to 25 ids per call.
pub const BATCH_GET_DEPLOYMENTS: usize = 25;

impl CodeDeployApi for Client {
    async fn get_deployment_group(
        &self,
        application: &str,
        group: &str,
    ) -> Result<Option<DeploymentGroupInfo>, Error> {
        match self
            .get_deployment_group()
            .application_name(application)
            .deployment_group_name(group)
            .send()
            .await
        {
            Ok(out) => Ok(out.deployment_group_info),
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_application_does_not_exist_exception()
                        || e.is_deployment_group_does_not_exist_exception()
                }) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(
                &format!("GetDeploymentGroup {application}/{group}"),
                err,
            )),
        }
    }

    async fn get_deployment_config(
        &self,
        name: &str,
    ) -> Result<Option<DeploymentConfigInfo>, Error> {
        match self
            .get_deployment_config()
            .deployment_config_name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.deployment_config_info),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_deployment_config_does_not_exist_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(&format!("GetDeploymentConfig {name}"), err)),
        }
    }

    async fn list_deployments(
        &self,
        application: &str,
        group: &str,
        statuses: &[DeploymentStatus],
    ) -> Result<Vec<String>, Error> {
        let statuses = (!statuses.is_empty()).then(|| statuses.to_vec());
        self.list_deployments()
            .application_name(application)
            .deployment_group_name(group)
            .set_include_only_statuses(statuses)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error(&format!("ListDeployments {application}/{group}"), e))
    }

    async fn batch_get_deployments(&self, ids: &[String]) -> Result<Vec<DeploymentInfo>, Error> {
        let mut found = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH_GET_DEPLOYMENTS) {
            let out = self
                .batch_get_deployments()
                .set_deployment_ids(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error(&format!("BatchGetDeployments {}", batch.join(",")), e))?;
            found.extend(out.deployments_info.unwrap_or_default());
        }
        Ok(found)
    }

    async fn create_deployment(&self, request: &CodeDeployRequest) -> Result<Created, Error> {
        let subject = format!("{}/{}", request.application, request.deployment_group);
        let revision = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(
                AppSpecContent::builder()
                    .content(&request.app_spec)
                    // CodeDeploy checks the content against it (lowercase hex SHA-256).
                    .sha256(sha256_hex(request.app_spec.as_bytes()))
                    .build(),
            )
            .build();
        match self
            .create_deployment()
            .application_name(&request.application)
            .deployment_group_name(&request.deployment_group)
            .set_deployment_config_name(request.deployment_config.clone())
            .description(&request.description)
            .revision(revision)
            .send()
            .await
        {
            Ok(out) => out.deployment_id.map(Created::Deployment).ok_or_else(|| {
                Error::internal(format!(
                    "CreateDeployment {subject}: no deployment id in the answer"
                ))
            }),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_deployment_limit_exceeded_exception()) =>
            {
                let said = err
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::message)
                    .unwrap_or("the group has an active deployment")
                    .to_owned();
                Ok(Created::GroupBusy(said))
            }
            Err(err) => Err(sdk_error(&format!("CreateDeployment {subject}"), err)),
        }
    }

    async fn stop_deployment(&self, id: &str, auto_rollback: bool) -> Result<(), Error> {
        self.stop_deployment()
            .deployment_id(id)
            .auto_rollback_enabled(auto_rollback)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("StopDeployment {id}"), e))?;
        Ok(())
    }

    async fn get_deployment_target(
        &self,
        id: &str,
        target: &str,
    ) -> Result<Option<EcsTarget>, Error> {
        match self
            .get_deployment_target()
            .deployment_id(id)
            .target_id(target)
            .send()
            .await
        {
            Ok(out) => Ok(out.deployment_target.and_then(|t| t.ecs_target)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_deployment_target_does_not_exist_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(
                &format!("GetDeploymentTarget {id} {target}"),
                err,
            )),
        }
    }
}
