//! `codeDeploy:` of a service entry: the CodeDeploy application, deployment group, configuration
//! and AppSpec hooks of a service whose deployment controller is `CODE_DEPLOY` (decision 0007).
//! Whether the service's controller is CODE_DEPLOY is pre-flight's to check; the manifest checks
//! what can be known from the text.

use std::fmt;

use super::fields::{closest, kind, Fields, Problems};
use crate::contract::CodeDeploySettings;
use crate::decide::codedeploy::HOOK_EVENTS;

/// The key of a service entry this module reads.
pub(crate) const KEY: &str = "codeDeploy";
const KEYS: &[&str] = &[
    "application",
    "deploymentGroup",
    "deploymentConfig",
    "waitForTermination",
    "hooks",
];

/// CodeDeploy's limit on application, deployment group and deployment configuration names.
const NAME_MAX_CHARS: usize = 100;
/// Lambda's limits: a function name, and the whole reference (an ARN, a qualifier).
const FUNCTION_NAME_MAX_CHARS: usize = 64;
const FUNCTION_REF_MAX_CHARS: usize = 140;

/// The `codeDeploy` a service entry sets: `Ok(None)` when it sets none, `Err(())` when a problem
/// was reported.
pub(crate) fn read(f: &Fields, problems: &mut Problems) -> Result<Option<CodeDeploySettings>, ()> {
    if !f.has(KEY) {
        return Ok(None);
    }
    let before = problems.len();
    let strategy_keys: Vec<&str> = super::strategy::KEYS
        .into_iter()
        .filter(|k| f.has(k))
        .collect();
    if !strategy_keys.is_empty() {
        let given: Vec<String> = strategy_keys.iter().map(|k| format!("`{k}`")).collect();
        f.push(problems, KEY, strategy_conflict(&given.join(", ")));
    }
    let Some(map) = f.mapping(problems, KEY) else {
        return Err(());
    };
    let g = Fields::new(map, f.item(), format!("{KEY}."), KEYS);
    g.reject_unknown(problems);
    let mut name = |key| g.string(problems, key).map(str::to_string);
    let mut set = CodeDeploySettings {
        application: name("application"),
        deployment_group: name("deploymentGroup"),
        deployment_config: name("deploymentConfig"),
        ..CodeDeploySettings::default()
    };
    set.wait_for_termination = g
        .boolean(problems, "waitForTermination")
        .unwrap_or_default();
    if let Some(hooks) = g.mapping(problems, "hooks") {
        let h = Fields::new(hooks, f.item(), format!("{KEY}.hooks."), &[]);
        for event in hooks.keys() {
            let Some(event) = event.as_str() else {
                problems.push(
                    f.item(),
                    &format!("{KEY}.hooks"),
                    format!("lifecycle events are names, found {}", kind(event)),
                );
                continue;
            };
            // Empty, or a function name YAML reads as something else (`12`), is refused here; the
            // event is still checked.
            match h.string(problems, event) {
                Some(function) => {
                    set.hooks.insert(event.to_string(), function.to_string());
                }
                None => {
                    if let Err(message) = hook_event(event) {
                        h.push(problems, event, message);
                    }
                }
            }
        }
    }
    for (field, message) in problems_of(&set, false) {
        problems.push(f.item(), &field, message);
    }
    if problems.len() > before {
        return Err(());
    }
    Ok(Some(set))
}

/// What is wrong with a service's `codeDeploy`, by field (`codeDeploy.hooks.AfterInstal`, …):
/// names CodeDeploy or Lambda would refuse, unknown lifecycle events, and `strategy_given` (the
/// service also sets an ECS-native strategy). Shared with the rendered input's checks.
pub(crate) fn problems_of(set: &CodeDeploySettings, strategy_given: bool) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if strategy_given {
        found.push((KEY.to_string(), strategy_conflict("`deploymentStrategy`")));
    }
    let names = [
        ("application", "application", &set.application),
        ("deploymentGroup", "deployment group", &set.deployment_group),
        (
            "deploymentConfig",
            "deployment configuration",
            &set.deployment_config,
        ),
    ];
    for (field, what, value) in names {
        if let Some(value) = value {
            if let Err(message) = name(value, what) {
                found.push((format!("{KEY}.{field}"), message));
            }
        }
    }
    for (event, function) in &set.hooks {
        let field = format!("{KEY}.hooks.{event}");
        if let Err(message) = hook_event(event) {
            found.push((field.clone(), message));
        }
        if let Err(message) = hook_function(function) {
            found.push((field, message));
        }
    }
    found
}

/// `codeDeploy` on a service that also sets ECS-native strategy fields (`given`, as the message
/// names them).
pub(super) fn strategy_conflict(given: &str) -> String {
    format!(
        "a CODE_DEPLOY service is deployed by CodeDeploy: its traffic shifting is the deployment \
         config's (`deploymentConfig`); ECS's strategy fields ({given}) apply to services of the \
         ECS controller: remove them, or `codeDeploy`"
    )
}

/// CodeDeploy's rule for application, deployment group and deployment configuration names: 1 to
/// 100 letters, digits, `.`, `_`, `+`, `=`, `,`, `@` or `-`.
fn name(value: &str, what: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '=' | ',' | '@' | '-'));
    if value.chars().count() > NAME_MAX_CHARS || !valid_chars {
        return Err(format!(
            "`{value}` is not a valid CodeDeploy {what} name (1 to {NAME_MAX_CHARS} letters, \
             digits, `.`, `_`, `+`, `=`, `,`, `@` or `-`)"
        ));
    }
    Ok(())
}

/// An AppSpec lifecycle event of an ECS deployment that runs a Lambda hook.
fn hook_event(event: &str) -> Result<(), String> {
    if HOOK_EVENTS.contains(&event) {
        return Ok(());
    }
    let hint = closest(event, &HOOK_EVENTS)
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    Err(format!(
        "unknown lifecycle event `{event}`{hint}: an ECS deployment runs hooks at {}",
        HOOK_EVENTS.join(", ")
    ))
}

/// A Lambda function as CodeDeploy invokes it: a name (`[A-Za-z0-9_-]`, up to 64), optionally with
/// a version or alias (`NAME:QUALIFIER`), or an ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`,
/// optionally qualified), at most 140 characters in all.
fn hook_function(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(
            "must not be empty: name the Lambda function (or its ARN) the event runs".into(),
        );
    }
    if value.chars().count() <= FUNCTION_REF_MAX_CHARS && function_ref(value) {
        return Ok(());
    }
    Err(format!(
        "`{value}` is not a Lambda function name (up to {FUNCTION_NAME_MAX_CHARS} letters, \
         digits, `-` or `_`, optionally `:VERSION` or `:ALIAS`) or ARN \
         (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`), at most {FUNCTION_REF_MAX_CHARS} \
         characters"
    ))
}

/// Lambda's `FunctionName` forms: `NAME`, `ACCOUNT:function:NAME` and
/// `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`, each with an optional `:QUALIFIER`.
fn function_ref(value: &str) -> bool {
    let parts: Vec<&str> = value.split(':').collect();
    let rest: &[&str] = match parts.as_slice() {
        ["arn", partition, "lambda", region, account, "function", rest @ ..] => {
            let region_ok = !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !partition.starts_with("aws") || !region_ok || !is_account(account) {
                return false;
            }
            rest
        }
        [account, "function", rest @ ..] if is_account(account) => rest,
        rest => rest,
    };
    match rest {
        [name] => function_name(name),
        [name, qualifier] => function_name(name) && qualifier_ok(qualifier),
        _ => false,
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

fn function_name(s: &str) -> bool {
    word(s) && s.len() <= FUNCTION_NAME_MAX_CHARS
}

fn qualifier_ok(s: &str) -> bool {
    s == "$LATEST" || word(s)
}

fn word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A service's `codeDeploy` as problems about disagreeing entries show it: `{application: A, …}`,
/// `{}` for the default group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shown<'a>(pub(crate) &'a CodeDeploySettings);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut parts = Vec::new();
        let named = [
            ("application", &s.application),
            ("deploymentGroup", &s.deployment_group),
            ("deploymentConfig", &s.deployment_config),
        ];
        for (key, value) in named {
            if let Some(value) = value {
                parts.push(format!("{key}: {value}"));
            }
        }
        if s.wait_for_termination {
            parts.push("waitForTermination: true".into());
        }
        if !s.hooks.is_empty() {
            let hooks: Vec<String> = s.hooks.iter().map(|(e, n)| format!("{e}: {n}")).collect();
            parts.push(format!("hooks: {{{}}}", hooks.join(", ")));
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codedeploy_names_take_its_characters_up_to_100() {
        let ok = [
            "AppECS-prod-web",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
            "a+b=c,d@e_f",
            &"n".repeat(100),
        ];
        for value in ok {
            assert_eq!(name(value, "application"), Ok(()), "{value}");
        }
        for value in ["", "has space", "slash/name", "é", &"n".repeat(101)] {
            assert!(name(value, "application").is_err(), "{value}");
        }
    }

    #[test]
    fn hook_functions_are_lambda_names_or_arns() {
        let ok = [
            "convoy-smoke-test",
            "smoke_test:live",
            "smoke:$LATEST",
            "smoke:3",
            "123456789012:function:smoke",
            "arn:aws:lambda:eu-west-1:123456789012:function:smoke",
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:smoke:prod",
            &"f".repeat(64),
        ];
        for value in ok {
            assert_eq!(hook_function(value), Ok(()), "{value}");
        }
        let bad = [
            "",
            "smoke test",
            "smoke.test",
            "a:b:c",
            &"f".repeat(65),
            "arn:aws:lambda:eu-west-1:1234:function:smoke",
            "arn:aws:s3:eu-west-1:123456789012:function:smoke",
            "arn:aws:lambda:eu-west-1:123456789012:layer:smoke",
            "arn:aws:lambda:eu-west-1:123456789012:function:",
            "arn:aws:lambda::123456789012:function:smoke",
            "arn:aws:lambda:eu-west-1:123456789012:function:smoke:a:b",
        ];
        for value in bad {
            assert!(hook_function(value).is_err(), "{value}");
        }
        let long_arn = format!(
            "arn:aws:lambda:eu-west-1:123456789012:function:{}:{}",
            "f".repeat(64),
            "q".repeat(40)
        );
        assert!(long_arn.len() > FUNCTION_REF_MAX_CHARS);
        assert!(hook_function(&long_arn).is_err());
    }

    #[test]
    fn hook_events_are_the_ecs_lifecycle_events() {
        for event in HOOK_EVENTS {
            assert_eq!(hook_event(event), Ok(()));
        }
        let message = hook_event("AfterInstal").unwrap_err();
        assert!(
            message.contains("did you mean `AfterInstall`?"),
            "{message}"
        );
        assert!(message.contains(&HOOK_EVENTS.join(", ")), "{message}");
        assert!(hook_event("ApplicationStart").is_err());
    }

    #[test]
    fn shown_lists_what_is_set() {
        let mut set = CodeDeploySettings::default();
        assert_eq!(Shown(&set).to_string(), "{}");
        set.application = Some("A".into());
        set.wait_for_termination = true;
        set.hooks
            .insert("AfterAllowTestTraffic".into(), "smoke".into());
        assert_eq!(
            Shown(&set).to_string(),
            "{application: A, waitForTermination: true, hooks: {AfterAllowTestTraffic: smoke}}"
        );
    }
}
