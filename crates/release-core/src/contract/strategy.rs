//! How ECS rolls a service out (`deploymentConfiguration.strategy`), as a release sets or records
//! it.

use serde::{Deserialize, Serialize};

/// ECS's deployment strategies of the ECS deployment controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Strategy {
    #[default]
    Rolling,
    BlueGreen,
    Linear,
    Canary,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::Rolling,
        Strategy::BlueGreen,
        Strategy::Linear,
        Strategy::Canary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Rolling => "ROLLING",
            Strategy::BlueGreen => "BLUE_GREEN",
            Strategy::Linear => "LINEAR",
            Strategy::Canary => "CANARY",
        }
    }

    pub fn parse(name: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Both revisions run side by side until the bake ends: "running == desired" says nothing, and
    /// the verdict reads the service deployment instead.
    pub fn is_blue_green(self) -> bool {
        !matches!(self, Strategy::Rolling)
    }

    pub fn is_rolling(&self) -> bool {
        *self == Strategy::Rolling
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A percentage of traffic ECS takes as a decimal (`canaryPercent: 2.5`). Validated finite when
/// read, so equality by value is total.
#[derive(Debug, Clone, Copy, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Percent(pub f64);

impl PartialEq for Percent {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Percent {}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `linearConfiguration`: traffic moves in steps of `stepPercent`, each baked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinearConfiguration {
    pub step_percent: Percent,
    pub step_bake_time_in_minutes: u32,
}

/// `canaryConfiguration`: `canaryPercent` of the traffic first, baked, then the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryConfiguration {
    pub canary_percent: Percent,
    pub canary_bake_time_in_minutes: u32,
}

/// The strategy part of a service's `deploymentConfiguration`: what a manifest sets (every other
/// field of the configuration is kept), or what pre-flight found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentStrategy {
    pub strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_configuration: Option<LinearConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_configuration: Option<CanaryConfiguration>,
}

impl DeploymentStrategy {
    pub fn is_rolling(&self) -> bool {
        self.strategy.is_rolling()
    }
}

/// `LINEAR (25 % every 2 min, bake 5 min)`, as plans and problems name it.
impl std::fmt::Display for DeploymentStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut details = Vec::new();
        if let Some(l) = self.linear_configuration {
            details.push(format!(
                "{} % every {} min",
                l.step_percent, l.step_bake_time_in_minutes
            ));
        }
        if let Some(c) = self.canary_configuration {
            details.push(format!(
                "canary {} % for {} min",
                c.canary_percent, c.canary_bake_time_in_minutes
            ));
        }
        if let Some(bake) = self.bake_time_in_minutes {
            details.push(format!("bake {bake} min"));
        }
        if details.is_empty() {
            write!(f, "{}", self.strategy)
        } else {
            write!(f, "{} ({})", self.strategy, details.join(", "))
        }
    }
}
