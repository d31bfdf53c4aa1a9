//! The one error type of convoy. Its `name()` is public API: the state machine's `Retry` and `Catch`
//! clauses match on it, so a name never changes once released.

use std::fmt;

/// Where a problem was found: file, item and field, so every message can be acted on without guessing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The manifest file name, or `-` for stdin, or the AWS resource the problem was found on.
    pub file: String,
    /// `services[2] (prod/web)`, `tasks[0] (nightly-report)`, or empty for release-level problems.
    pub item: String,
    /// Dotted path of the field, e.g. `containers.app` or `settings.maxConcurrency`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if !self.item.is_empty() {
            write!(f, ": {}", self.item)?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Renders a list of problems one per line, for error messages that must report everything at once.
pub struct Problems<'a>(pub &'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })?;
        for p in self.0 {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

/// One item a step could not do, and why: the payload of the errors that name several items.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ItemFailure {
    /// `cluster/service`, `eventBus/rule/targetId` or a target id, as the step knows the item.
    pub id: String,
    pub reason: String,
}

/// `2 targets rejected: a: why; b: why`, with `noun` in the singular or the plural.
struct ItemFailures<'a>(&'a [ItemFailure], &'a str, &'a str);

impl fmt::Display for ItemFailures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ItemFailures(items, noun, verb) = self;
        let n = items.len();
        write!(f, "{n} {noun}{} {verb}", if n == 1 { "" } else { "s" })?;
        for (i, item) in items.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}{}: {}", item.id, item.reason)?;
        }
        Ok(())
    }
}

/// An item another release holds: who holds it, so the refused release can say whom to wait for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockConflict {
    /// `service:prod/web`, `rule:default/nightly`.
    pub item: String,
    pub release_id: String,
    pub execution_arn: String,
}

/// `service:prod/web held by release r-1 (execution arn…); …`
struct LockConflicts<'a>(&'a [LockConflict]);

impl fmt::Display for LockConflicts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            write!(
                f,
                "{sep}{} held by release {} (execution {})",
                c.item, c.release_id, c.execution_arn
            )?;
        }
        Ok(())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest does not describe a valid release.
    #[error("manifest invalid: {}", Problems(.0))]
    ManifestInvalid(Vec<Problem>),
    /// A step's input does not fit its type, or lacks what an earlier step fills in: the state
    /// machine and the functions drifted apart, or a step ran out of order.
    #[error("step input invalid: {}", Problems(.0))]
    StepInputInvalid(Vec<Problem>),
    /// Pre-flight against AWS found problems; nothing was changed.
    #[error("pre-flight failed: {}", Problems(.0))]
    PreflightFailed(Vec<Problem>),
    /// Another release that is still running holds some of the items; nothing was changed.
    #[error(
        "release locked: {} item{} held by another running release: {}",
        .0.len(),
        if .0.len() == 1 { "" } else { "s" },
        LockConflicts(.0)
    )]
    ReleaseLocked(Vec<LockConflict>),
    #[error("cluster not found: {0}")]
    ClusterNotFound(String),
    #[error("service not found: {0}")]
    ServiceNotFound(String),
    #[error("container not found: {0}")]
    ContainerNotFound(String),
    #[error("rule not found: {0}")]
    RuleNotFound(String),
    /// An EventBridge Scheduler schedule (`group/name`), or its group, does not exist.
    #[error("schedule not found: {0}")]
    ScheduleNotFound(String),
    #[error("task definition rejected: {message}")]
    TaskDefinitionRejected {
        message: String,
        #[source]
        source: Option<Source>,
    },
    /// EventBridge refused some targets of a rule, or the targets of a rule or a schedule no longer
    /// match the plan.
    #[error(
        "targets rejected: {kind} {rule}: {}",
        ItemFailures(targets, "target", "rejected")
    )]
    TargetsRejected {
        /// `rule` or `schedule`.
        kind: &'static str,
        /// The rule's or schedule's id.
        rule: String,
        targets: Vec<ItemFailure>,
    },
    /// ECS refused to start a job's task (RunTask answered an error or a failure: no capacity, a
    /// network configuration or platform the task cannot use).
    #[error("task run rejected: {message}")]
    TaskRunRejected {
        message: String,
        #[source]
        source: Option<Source>,
    },
    /// CodeDeploy refused to deploy a CODE_DEPLOY service: its deployment group has an active
    /// deployment that is not this release's.
    #[error("deployment rejected: {service}: {message}")]
    DeploymentRejected { service: String, message: String },
    #[error("access denied: {message}")]
    AccessDenied {
        message: String,
        #[source]
        source: Option<Source>,
    },
    #[error("throttled: {message}")]
    Throttled {
        message: String,
        #[source]
        source: Option<Source>,
    },
    #[error("AWS unavailable: {message}")]
    AwsUnavailable {
        message: String,
        #[source]
        source: Option<Source>,
    },
    /// Some restores failed; every other selected item was restored.
    #[error(
        "rollback failed: {}",
        ItemFailures(.0, "item", "left un-restored")
    )]
    RollbackFailed(Vec<ItemFailure>),
    #[error("internal error: {message}")]
    Internal {
        message: String,
        #[source]
        source: Option<Source>,
    },
}

impl Error {
    /// Every name the state machine may see, in declaration order.
    pub const NAMES: [&'static str; 18] = [
        "ManifestInvalid",
        "StepInputInvalid",
        "PreflightFailed",
        "ClusterNotFound",
        "ServiceNotFound",
        "ContainerNotFound",
        "RuleNotFound",
        "ScheduleNotFound",
        "TaskDefinitionRejected",
        "TargetsRejected",
        "DeploymentRejected",
        "TaskRunRejected",
        "AccessDenied",
        "Throttled",
        "AwsUnavailable",
        "RollbackFailed",
        "Internal",
        "ReleaseLocked",
    ];

    /// Names worth retrying: the state machine must have a `Retry` for each of these.
    pub const RETRYABLE: [&'static str; 2] = ["Throttled", "AwsUnavailable"];

    /// The stable name Step Functions matches on. Exhaustive on purpose: a new variant must pick a name.
    pub fn name(&self) -> &'static str {
        match self {
            Error::ManifestInvalid(_) => "ManifestInvalid",
            Error::StepInputInvalid(_) => "StepInputInvalid",
            Error::PreflightFailed(_) => "PreflightFailed",
            Error::ReleaseLocked(_) => "ReleaseLocked",
            Error::ClusterNotFound(_) => "ClusterNotFound",
            Error::ServiceNotFound(_) => "ServiceNotFound",
            Error::ContainerNotFound(_) => "ContainerNotFound",
            Error::RuleNotFound(_) => "RuleNotFound",
            Error::ScheduleNotFound(_) => "ScheduleNotFound",
            Error::TaskDefinitionRejected { .. } => "TaskDefinitionRejected",
            Error::TargetsRejected { .. } => "TargetsRejected",
            Error::DeploymentRejected { .. } => "DeploymentRejected",
            Error::TaskRunRejected { .. } => "TaskRunRejected",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::Throttled { .. } => "Throttled",
            Error::AwsUnavailable { .. } => "AwsUnavailable",
            Error::RollbackFailed(_) => "RollbackFailed",
            Error::Internal { .. } => "Internal",
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
            source: None,
        }
    }
}

/// The longest error message a function hands to Step Functions. It becomes a `Cause` in the
/// execution state (256 KiB for everything) or a Fail cause (32 KiB); the log keeps it whole.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// `message` cut to at most `max` bytes, at a line end when there is one, saying how much was cut.
pub fn cut_message(message: &str, max: usize) -> String {
    if message.len() <= max {
        return message.to_owned();
    }
    const NOTE: usize = 80;
    let mut end = max.saturating_sub(NOTE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let end = message[..end]
        .rfind('\n')
        .filter(|&i| i > end / 2)
        .unwrap_or(end);
    format!(
        "{}\n  … {} more bytes: the function's log has the whole message",
        &message[..end],
        message.len() - end
    )
}

/// `error: cause: cause…`: an error's message followed by each source's that adds something. An
/// error's own message never repeats its source, so this is where the whole story is told.
pub fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !said.is_empty() && !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.name().to_string(),
            error_message: cut_message(&with_causes(&e), MAX_MESSAGE_BYTES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_listed_once_and_match_variants() {
        let samples = [
            Error::ManifestInvalid(vec![]),
            Error::StepInputInvalid(vec![]),
            Error::PreflightFailed(vec![]),
            Error::ClusterNotFound(String::new()),
            Error::ServiceNotFound(String::new()),
            Error::ContainerNotFound(String::new()),
            Error::RuleNotFound(String::new()),
            Error::ScheduleNotFound(String::new()),
            Error::TaskDefinitionRejected {
                message: String::new(),
                source: None,
            },
            Error::TargetsRejected {
                kind: "rule",
                rule: String::new(),
                targets: vec![],
            },
            Error::DeploymentRejected {
                service: String::new(),
                message: String::new(),
            },
            Error::TaskRunRejected {
                message: String::new(),
                source: None,
            },
            Error::AccessDenied {
                message: String::new(),
                source: None,
            },
            Error::Throttled {
                message: String::new(),
                source: None,
            },
            Error::AwsUnavailable {
                message: String::new(),
                source: None,
            },
            Error::RollbackFailed(vec![]),
            Error::internal(""),
            Error::ReleaseLocked(vec![]),
        ];
        let names: Vec<_> = samples.iter().map(Error::name).collect();
        assert_eq!(names, Error::NAMES);
        for r in Error::RETRYABLE {
            assert!(Error::NAMES.contains(&r));
        }
    }

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let d: lambda_runtime::Diagnostic = Error::RuleNotFound("nightly".into()).into();
        assert_eq!(d.error_type, "RuleNotFound");
        assert_eq!(d.error_message, "rule not found: nightly");
    }

    #[test]
    fn long_messages_are_cut_at_a_line_and_say_so() {
        let problems: Vec<Problem> = (0..2000)
            .map(|i| Problem {
                file: "deployment.yaml".into(),
                item: format!("services[{i}] (prod/svc-{i})"),
                field: "image".into(),
                message: "must not be empty".into(),
            })
            .collect();
        let d: lambda_runtime::Diagnostic = Error::ManifestInvalid(problems).into();
        assert!(
            d.error_message.len() <= MAX_MESSAGE_BYTES,
            "{}",
            d.error_message.len()
        );
        assert!(d
            .error_message
            .starts_with("manifest invalid: 2000 problems"));
        let (kept, note) = d.error_message.rsplit_once('\n').unwrap();
        assert!(
            kept.ends_with("must not be empty"),
            "cut at a line end: {kept:?}"
        );
        assert!(note.contains("more bytes: the function's log"), "{note}");

        assert_eq!(cut_message("short", 10), "short");
        let multibyte = "é".repeat(100);
        assert!(cut_message(&multibyte, 90).len() <= 90);
    }

    #[test]
    fn problems_name_file_item_and_field() {
        let e = Error::ManifestInvalid(vec![Problem {
            file: "deployment.yaml".into(),
            item: "services[1] (prod/web)".into(),
            field: "image".into(),
            message: "must not be empty".into(),
        }]);
        assert_eq!(
            e.to_string(),
            "manifest invalid: 1 problem\n  - deployment.yaml: services[1] (prod/web): field `image`: must not be empty"
        );
    }
}
