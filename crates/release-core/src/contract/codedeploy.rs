//! Services whose deployment controller is `CODE_DEPLOY`: which CodeDeploy deployment group deploys
//! them, as the manifest names it and as pre-flight resolved it (decision 0007).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `codeDeploy:` of a manifest service entry. Every field is optional: the names default to
/// `AppECS-<cluster>-<service>` / `DgpECS-<cluster>-<service>`, the configuration to the group's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeDeploySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_group: Option<String>,
    /// A deployment configuration name (`CodeDeployDefault.ECSCanary10Percent5Minutes`, or the
    /// account's own); `None`: the group's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config: Option<String>,
    /// Wait until the blue task set is terminated; otherwise the service is done once production
    /// traffic has fully shifted to green.
    #[serde(default, skip_serializing_if = "is_false")]
    pub wait_for_termination: bool,
    /// AppSpec lifecycle hooks: event (`AfterAllowTestTraffic`, …) → Lambda function name or ARN.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hooks: BTreeMap<String, String>,
}

/// The CodeDeploy deployment group of a CODE_DEPLOY service as pre-flight found it: what
/// deploy-batch deploys with and rollback deploys back with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeDeployTarget {
    pub application: String,
    pub deployment_group: String,
    /// The manifest's, else the group's.
    pub deployment_config: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub wait_for_termination: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hooks: BTreeMap<String, String>,
    /// How long a deployment of the group waits on purpose (traffic shifting, the ready wait, and
    /// the termination wait when awaited): added to the item's timeout for its deadline.
    pub wait_seconds: u32,
}

impl CodeDeployTarget {
    /// `application/group`, as problems and reports name it.
    pub fn group_label(&self) -> String {
        format!("{}/{}", self.application, self.deployment_group)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
