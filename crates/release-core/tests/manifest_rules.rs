//! Table tests of the manifest rules: each case is a small manifest and the exact item and field of
//! the problem it must produce (the corpus test covers realistic files; this pins the placement).

use std::collections::BTreeMap;

use release_core::contract::{
    CodeDeploySettings, DeploymentStrategy, Images, Percent, ReleaseInput, RollbackPolicy, Strategy,
};
use release_core::decide::{manifest, release_ref};
use release_core::Problem;

const FILE: &str = "deployment.yaml";

/// A valid service entry in the sample format, to build cases around.
const WEB: &str =
    "  - {service: web, clusterName: prod, serviceName: web, image: reg.example.com/web:1.0.0}\n";

fn problems(yaml: &str) -> Vec<Problem> {
    match manifest::validate(FILE, yaml) {
        Ok(input) => panic!("expected problems, got a valid release: {input:?}"),
        Err(problems) => problems,
    }
}

#[test]
fn each_rule_reports_its_item_and_field() {
    let services = |item: &str| format!("services:\n{item}");
    let with_web = |extra: &str| format!("{extra}services:\n{WEB}");
    let web_with = |field: &str| {
        format!(
            "services:\n  - {{service: web, clusterName: prod, serviceName: web, image: reg.example.com/web:1.0.0, {field}}}\n"
        )
    };
    let task = |body: &str| format!("tasks:\n  - {{{body}}}\n");
    let long_rule = "n".repeat(65);
    let long_rule_item = format!("tasks[0] ({long_rule})");
    // (case, manifest, item, field, message fragment)
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        ("yaml syntax", "services: [\n".into(), "", "", "YAML syntax error at line 2"),
        ("scalar top level", "just a string\n".into(), "", "", "found a string"),
        ("empty document", "\n".into(), "", "", "the manifest is empty"),
        ("no items", "release: r1\n".into(), "", "services", "the release is empty"),
        ("empty lists", "services: []\ntasks: []\n".into(), "", "services", "the release is empty"),
        ("unknown top-level key", with_web("sevices: []\n"), "", "sevices", "did you mean `services`?"),
        ("unknown key, no suggestion", with_web("owner: me\n"), "", "owner", "expected one of: release, settings, services, tasks, schedules, jobs"),
        ("release bool", with_web("release: true\n"), "", "release", "expected a label or a mapping"),
        ("release id charset", with_web("release: {id: a.b}\n"), "", "release.id", "not a valid release id"),
        ("release id empty", with_web("release: {id: ''}\n"), "", "release.id", "must not be empty"),
        ("release unknown key", with_web("release: {name: x}\n"), "", "release.name", "unknown field `name`"),
        ("settings not a mapping", with_web("settings: fast\n"), "", "settings", "expected a mapping"),
        ("rollback policy", with_web("settings: {rollback: yes-please}\n"), "", "settings.rollback", "must be one of all, failed, none"),
        ("maxConcurrency 0", with_web("settings: {maxConcurrency: 0}\n"), "", "settings.maxConcurrency", "between 1 and 40, got 0"),
        ("maxConcurrency 41", with_web("settings: {maxConcurrency: 41}\n"), "", "settings.maxConcurrency", "between 1 and 40, got 41"),
        ("poll interval 6", with_web("settings: {pollIntervalSeconds: 6}\n"), "", "settings.pollIntervalSeconds", "between 1 and 5, got 6"),
        ("poll interval 0", with_web("settings: {pollIntervalSeconds: 0}\n"), "", "settings.pollIntervalSeconds", "between 1 and 5, got 0"),
        ("keepRevisions negative", with_web("settings: {keepRevisions: -1}\n"), "", "settings.keepRevisions", "got -1"),
        ("keepRevisions float", with_web("settings: {keepRevisions: 2.5}\n"), "", "settings.keepRevisions", "expected a whole number, found 2.5"),
        ("allowLatest string", with_web("settings: {allowLatest: 'true'}\n"), "", "settings.allowLatest", "expected true or false"),
        ("suspendAutoScaling string", with_web("settings: {suspendAutoScaling: 'yes'}\n"), "", "settings.suspendAutoScaling", "expected true or false"),
        ("service suspendAutoScaling number", services("  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, suspendAutoScaling: 1}\n"), "services[0] (prod/web)", "suspendAutoScaling", "expected true or false"),
        ("suspendAutoScaling disagrees", services("  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, suspendAutoScaling: true}\n  - {service: envoy, clusterName: prod, serviceName: web, image: r/envoy:1, suspendAutoScaling: false}\n"), "services[1] (prod/web)", "suspendAutoScaling", "true"),
        ("services not a list", "services: web\n".into(), "", "services", "expected a list, found a string"),
        ("item not a mapping", services("  - web\n"), "services[0]", "", "expected a mapping"),
        ("missing clusterName", services("  - {service: web, serviceName: web, image: r/web:1}\n"), "services[0] (web)", "clusterName", "is required"),
        ("missing serviceName", services("  - {service: web, clusterName: prod, image: r/web:1}\n"), "services[0] (prod/?)", "serviceName", "is required"),
        ("missing image", services("  - {service: web, clusterName: prod, serviceName: web}\n"), "services[0] (prod/web)", "image", "is required"),
        ("missing service with image", services("  - {clusterName: prod, serviceName: web, image: r/web:1}\n"), "services[0] (prod/web)", "service", "is required with `image`"),
        ("cluster alias twice", services("  - {service: web, cluster: prod, clusterName: prod, serviceName: web, image: r/web:1}\n"), "services[0] (prod/web)", "cluster", "mean the same"),
        ("cluster with space", services("  - {service: web, clusterName: 'prod eu', serviceName: web, image: r/web:1}\n"), "services[0] (prod eu/web)", "clusterName", "contains whitespace"),
        ("empty serviceName", services("  - {service: web, clusterName: prod, serviceName: '', image: r/web:1}\n"), "services[0] (prod/)", "serviceName", "must not be empty"),
        ("image and containers", services("  - {clusterName: prod, serviceName: web, image: r/web:1, containers: {web: r/web:1}}\n"), "services[0] (prod/web)", "containers", "not both"),
        ("service with containers", services("  - {service: web, clusterName: prod, serviceName: web, containers: {web: r/web:1}}\n"), "services[0] (prod/web)", "service", "has no effect"),
        ("containers empty", services("  - {clusterName: prod, serviceName: web, containers: {}}\n"), "services[0] (prod/web)", "containers", "at least one container"),
        ("container name empty", services("  - {clusterName: prod, serviceName: web, containers: {'': r/web:1}}\n"), "services[0] (prod/web)", "containers", "container name must not be empty"),
        ("container name invalid", services("  - {clusterName: prod, serviceName: web, containers: {'web app': r/web:1}}\n"), "services[0] (prod/web)", "containers.web app", "not a valid container name"),
        ("container image invalid", services("  - {clusterName: prod, serviceName: web, containers: {web: 'R/web:1'}}\n"), "services[0] (prod/web)", "containers.web", "must be lowercase"),
        ("container image not a string", services("  - {clusterName: prod, serviceName: web, containers: {web: 1}}\n"), "services[0] (prod/web)", "containers.web", "expected an image reference"),
        ("service name invalid container", services("  - {service: 'my web', clusterName: prod, serviceName: web, image: r/web:1}\n"), "services[0] (prod/web)", "service", "not a valid container name"),
        ("image without tag", web_with_image("r/web"), "services[0] (prod/web)", "image", "has no tag or digest"),
        ("image latest", web_with_image("r/web:latest"), "services[0] (prod/web)", "image", "uses the `latest` tag"),
        ("image bad digest", web_with_image("r/web@sha256:1234"), "services[0] (prod/web)", "image", "64 lowercase hex"),
        ("image as number", services("  - {service: web, clusterName: prod, serviceName: web, image: 1.5}\n"), "services[0] (prod/web)", "image", "expected a string, found the number 1.5"),
        ("desiredCount negative", web_with("desiredCount: -1"), "services[0] (prod/web)", "desiredCount", "must be 0 or more"),
        ("minimumHealthyPercent 101", web_with("minimumHealthyPercent: 101"), "services[0] (prod/web)", "minimumHealthyPercent", "between 0 and 100"),
        ("maximumPercent 99", web_with("maximumPercent: 99"), "services[0] (prod/web)", "maximumPercent", "between 100 and 200"),
        ("maximumPercent 201", web_with("maximumPercent: 201"), "services[0] (prod/web)", "maximumPercent", "between 100 and 200"),
        ("min above max", web_with("minimumHealthyPercent: 120, maximumPercent: 110"), "services[0] (prod/web)", "minimumHealthyPercent", "is above maximumPercent"),
        ("timeout 59", web_with("timeoutSeconds: 59"), "services[0] (prod/web)", "timeoutSeconds", "between 60 and 10800"),
        ("timeout 10801", web_with("timeoutSeconds: 10801"), "services[0] (prod/web)", "timeoutSeconds", "between 60 and 10800"),
        ("service typo", web_with("desiredcount: 2"), "services[0] (prod/web)", "desiredcount", "did you mean `desiredCount`?"),
        ("unknown strategy", web_with("strategy: BLUEGREEN"), "services[0] (prod/web)", "strategy", "unknown strategy `BLUEGREEN`: use one of ROLLING, BLUE_GREEN, LINEAR, CANARY"),
        ("strategy lowercase", web_with("strategy: blue_green"), "services[0] (prod/web)", "strategy", "unknown strategy `blue_green`"),
        ("bake without strategy", web_with("bakeTimeInMinutes: 5"), "services[0] (prod/web)", "bakeTimeInMinutes", "give `strategy` with it"),
        ("bake 1441", web_with("strategy: BLUE_GREEN, bakeTimeInMinutes: 1441"), "services[0] (prod/web)", "bakeTimeInMinutes", "between 0 and 1440, got 1441"),
        ("bake for rolling", web_with("strategy: ROLLING, bakeTimeInMinutes: 5"), "services[0] (prod/web)", "bakeTimeInMinutes", "a rolling update has no bake time"),
        ("linear for canary", web_with("strategy: CANARY, linearConfiguration: {stepPercent: 10, stepBakeTimeInMinutes: 1}"), "services[0] (prod/web)", "linearConfiguration", "only with `strategy: LINEAR` (this service sets CANARY)"),
        ("canary for blue/green", web_with("strategy: BLUE_GREEN, canaryConfiguration: {canaryPercent: 10, canaryBakeTimeInMinutes: 1}"), "services[0] (prod/web)", "canaryConfiguration", "only with `strategy: CANARY`"),
        ("step below 3 %", web_with("strategy: LINEAR, linearConfiguration: {stepPercent: 2.5, stepBakeTimeInMinutes: 1}"), "services[0] (prod/web)", "linearConfiguration.stepPercent", "between 3 and 100 (percent), got 2.5"),
        ("step not a number", web_with("strategy: LINEAR, linearConfiguration: {stepPercent: ten, stepBakeTimeInMinutes: 1}"), "services[0] (prod/web)", "linearConfiguration.stepPercent", "expected a percentage (a number), found a string"),
        ("step bake missing", web_with("strategy: LINEAR, linearConfiguration: {stepPercent: 10}"), "services[0] (prod/web)", "linearConfiguration.stepBakeTimeInMinutes", "is required"),
        ("linear typo", web_with("strategy: LINEAR, linearConfiguration: {stepPercnt: 10, stepBakeTimeInMinutes: 1}"), "services[0] (prod/web)", "linearConfiguration.stepPercnt", "did you mean `stepPercent`?"),
        ("canary above 100 %", web_with("strategy: CANARY, canaryConfiguration: {canaryPercent: 101, canaryBakeTimeInMinutes: 1}"), "services[0] (prod/web)", "canaryConfiguration.canaryPercent", "between 0.1 and 100 (percent), got 101"),
        ("linear not a mapping", web_with("strategy: LINEAR, linearConfiguration: 10"), "services[0] (prod/web)", "linearConfiguration", "expected a mapping"),
        ("deadline above 3 h", web_with("timeoutSeconds: 3600, strategy: LINEAR, linearConfiguration: {stepPercent: 10, stepBakeTimeInMinutes: 12}, bakeTimeInMinutes: 1"), "services[0] (prod/web)", "strategy", "timeoutSeconds 3600 plus the LINEAR strategy's 7260 s"),
        ("one service, two strategies", services("  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, strategy: BLUE_GREEN}\n  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, strategy: CANARY, canaryConfiguration: {canaryPercent: 5, canaryBakeTimeInMinutes: 2}}\n"), "services[1] (prod/web)", "strategy", "is CANARY (canary 5 % for 2 min) here but BLUE_GREEN in services[0] (prod/web)"),
        ("codeDeploy not a mapping", web_with("codeDeploy: AppECS-prod-web"), "services[0] (prod/web)", "codeDeploy", "expected a mapping, found a string"),
        ("codeDeploy unknown key", web_with("codeDeploy: {applicationName: a}"), "services[0] (prod/web)", "codeDeploy.applicationName", "unknown field `applicationName` (expected one of: application, deploymentGroup, deploymentConfig, waitForTermination, hooks)"),
        ("codeDeploy typo", web_with("codeDeploy: {deploymentGrup: g}"), "services[0] (prod/web)", "codeDeploy.deploymentGrup", "did you mean `deploymentGroup`?"),
        ("codeDeploy application empty", web_with("codeDeploy: {application: ''}"), "services[0] (prod/web)", "codeDeploy.application", "must not be empty"),
        ("codeDeploy application space", web_with("codeDeploy: {application: 'App ECS'}"), "services[0] (prod/web)", "codeDeploy.application", "`App ECS` is not a valid CodeDeploy application name (1 to 100 letters, digits, `.`, `_`, `+`, `=`, `,`, `@` or `-`)"),
        ("codeDeploy application 101", web_with(&format!("codeDeploy: {{application: {}}}", "a".repeat(101))), "services[0] (prod/web)", "codeDeploy.application", "not a valid CodeDeploy application name"),
        ("codeDeploy group slash", web_with("codeDeploy: {deploymentGroup: 'prod/web'}"), "services[0] (prod/web)", "codeDeploy.deploymentGroup", "`prod/web` is not a valid CodeDeploy deployment group name"),
        ("codeDeploy group not a string", web_with("codeDeploy: {deploymentGroup: [a]}"), "services[0] (prod/web)", "codeDeploy.deploymentGroup", "expected a string, found a list"),
        ("codeDeploy config number", web_with("codeDeploy: {deploymentConfig: 5}"), "services[0] (prod/web)", "codeDeploy.deploymentConfig", "expected a string, found the number 5"),
        ("codeDeploy config 101", web_with(&format!("codeDeploy: {{deploymentConfig: {}}}", "c".repeat(101))), "services[0] (prod/web)", "codeDeploy.deploymentConfig", "not a valid CodeDeploy deployment configuration name"),
        ("codeDeploy wait not a bool", web_with("codeDeploy: {waitForTermination: 'yes'}"), "services[0] (prod/web)", "codeDeploy.waitForTermination", "expected true or false, found a string"),
        ("codeDeploy hooks not a mapping", web_with("codeDeploy: {hooks: [smoke]}"), "services[0] (prod/web)", "codeDeploy.hooks", "expected a mapping, found a list"),
        ("codeDeploy unknown hook event", web_with("codeDeploy: {hooks: {AfterInstal: smoke}}"), "services[0] (prod/web)", "codeDeploy.hooks.AfterInstal", "unknown lifecycle event `AfterInstal` (did you mean `AfterInstall`?): an ECS deployment runs hooks at BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic"),
        ("codeDeploy EC2 hook event", web_with("codeDeploy: {hooks: {ApplicationStart: smoke}}"), "services[0] (prod/web)", "codeDeploy.hooks.ApplicationStart", "unknown lifecycle event `ApplicationStart`: an ECS deployment runs hooks at BeforeInstall,"),
        ("codeDeploy unknown event, bad value", web_with("codeDeploy: {hooks: {Whenever: 12}}"), "services[0] (prod/web)", "codeDeploy.hooks.Whenever", "unknown lifecycle event `Whenever`"),
        ("codeDeploy hook number", web_with("codeDeploy: {hooks: {AfterInstall: 12}}"), "services[0] (prod/web)", "codeDeploy.hooks.AfterInstall", "expected a string, found the number 12"),
        ("codeDeploy hook empty", web_with("codeDeploy: {hooks: {AfterInstall: ''}}"), "services[0] (prod/web)", "codeDeploy.hooks.AfterInstall", "must not be empty"),
        ("codeDeploy hook null", web_with("codeDeploy: {hooks: {AfterInstall: ~}}"), "services[0] (prod/web)", "codeDeploy.hooks.AfterInstall", "must not be empty"),
        ("codeDeploy hook space", web_with("codeDeploy: {hooks: {BeforeInstall: 'smoke test'}}"), "services[0] (prod/web)", "codeDeploy.hooks.BeforeInstall", "`smoke test` is not a Lambda function name"),
        ("codeDeploy hook name 65", web_with(&format!("codeDeploy: {{hooks: {{AfterAllowTraffic: {}}}}}", "f".repeat(65))), "services[0] (prod/web)", "codeDeploy.hooks.AfterAllowTraffic", "is not a Lambda function name (up to 64"),
        ("codeDeploy hook other ARN", web_with("codeDeploy: {hooks: {AfterAllowTraffic: 'arn:aws:sns:eu-west-1:123456789012:function:smoke'}}"), "services[0] (prod/web)", "codeDeploy.hooks.AfterAllowTraffic", "is not a Lambda function name"),
        ("codeDeploy hook ARN short account", web_with("codeDeploy: {hooks: {AfterAllowTraffic: 'arn:aws:lambda:eu-west-1:1234:function:smoke'}}"), "services[0] (prod/web)", "codeDeploy.hooks.AfterAllowTraffic", "is not a Lambda function name"),
        ("codeDeploy hook ARN above 140", web_with(&format!("codeDeploy: {{hooks: {{AfterAllowTraffic: 'arn:aws:lambda:eu-west-1:123456789012:function:{}:{}'}}}}", "f".repeat(64), "q".repeat(40))), "services[0] (prod/web)", "codeDeploy.hooks.AfterAllowTraffic", "at most 140 characters"),
        ("codeDeploy with strategy", web_with("strategy: BLUE_GREEN, codeDeploy: {}"), "services[0] (prod/web)", "codeDeploy", "a CODE_DEPLOY service is deployed by CodeDeploy: its traffic shifting is the deployment config's (`deploymentConfig`); ECS's strategy fields (`strategy`) apply to services of the ECS controller"),
        ("codeDeploy with canary settings", web_with("strategy: CANARY, canaryConfiguration: {canaryPercent: 10, canaryBakeTimeInMinutes: 1}, codeDeploy: {application: a}"), "services[0] (prod/web)", "codeDeploy", "strategy fields (`strategy`, `canaryConfiguration`)"),
        ("codeDeploy with bake time only", web_with("bakeTimeInMinutes: 5, codeDeploy: {}"), "services[0] (prod/web)", "codeDeploy", "strategy fields (`bakeTimeInMinutes`)"),
        ("one service, two CodeDeploy groups", services("  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, codeDeploy: {application: a}}\n  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, codeDeploy: {application: b, waitForTermination: true}}\n"), "services[1] (prod/web)", "codeDeploy", "is {application: b, waitForTermination: true} here but {application: a} in services[0] (prod/web)"),
        ("one service, strategy and codeDeploy in two entries", services("  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, strategy: BLUE_GREEN}\n  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, codeDeploy: {}}\n"), "services[1] (prod/web)", "codeDeploy", "ECS's strategy fields (`strategy` in services[0] (prod/web))"),
        ("one container, two images", services(&format!("{WEB}{}", WEB.replace("web:1.0.0", "web:1.0.1"))), "services[1] (prod/web)", "image", "container `web` gets `reg.example.com/web:1.0.1` here but `reg.example.com/web:1.0.0` in services[0] (prod/web)"),
        ("missing rule", task("service: r, image: r/r:1"), "tasks[0]", "ruleName", "is required"),
        ("both rule aliases", task("service: r, ruleName: n, cwRuleName: n, image: r/r:1"), "tasks[0] (n)", "cwRuleName", "mean the same"),
        ("rule name invalid", task("service: r, ruleName: 'n/1', image: r/r:1"), "tasks[0] (n/1)", "ruleName", "not a valid EventBridge rule name"),
        ("rule name too long", task(&format!("service: r, ruleName: {long_rule}, image: r/r:1")), &long_rule_item, "ruleName", "not a valid EventBridge rule name"),
        ("event bus empty", task("service: r, ruleName: n, eventBusName: '', image: r/r:1"), "tasks[0] (/n)", "eventBusName", "must not be empty"),
        ("task image missing", task("service: r, ruleName: n"), "tasks[0] (n)", "image", "is required"),
        ("task unknown key", task("service: r, ruleName: n, image: r/r:1, clusterName: prod"), "tasks[0] (n)", "clusterName", "unknown field `clusterName`"),
        ("rule container, two images", "tasks:\n  - {service: a, ruleName: n, image: r/a:1}\n  - {service: b, cwRuleName: n, image: r/b:1}\n  - {cwRuleName: n, containers: {a: r/a:2}}\n".into(), "tasks[2] (n)", "containers.a", "container `a` gets `r/a:2` here but `r/a:1` in tasks[0] (n)"),
        ("rule on a bus, two images", "tasks:\n  - {service: a, ruleName: n, eventBusName: ops, image: r/a:1}\n  - {service: a, ruleName: n, eventBusName: ops, image: r/a:2}\n".into(), "tasks[1] (ops/n)", "image", "in tasks[0] (ops/n)"),
    ];
    for (case, yaml, item, field, fragment) in cases {
        let found = problems(&yaml);
        let hit = found.iter().any(|p| {
            p.file == FILE && p.item == item && p.field == field && p.message.contains(fragment)
        });
        assert!(
            hit,
            "{case}: wanted [{item}] `{field}`: {fragment}\n got: {found:#?}"
        );
    }
}

fn web_with_image(image: &str) -> String {
    format!(
        "services:\n  - {{service: web, clusterName: prod, serviceName: web, image: '{image}'}}\n"
    )
}

#[test]
fn all_problems_are_reported_at_once() {
    let yaml = "settings: {maxConcurrency: 0, rollback: maybe}\nservices:\n  - {service: web, clusterName: prod, serviceName: web, image: Web}\n  - {clusterName: prod}\ntasks:\n  - {service: r, ruleName: 'a b', image: r/r:1, bus: x}\n";
    let found = problems(yaml);
    let places: Vec<(&str, &str)> = found
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str()))
        .collect();
    assert_eq!(
        places,
        vec![
            ("", "settings.rollback"),
            ("", "settings.maxConcurrency"),
            ("services[0] (prod/web)", "image"),
            ("services[1] (prod/?)", "serviceName"),
            ("services[1] (prod/?)", "image"),
            ("tasks[0] (a b)", "bus"),
            ("tasks[0] (a b)", "ruleName"),
        ],
        "{found:#?}"
    );
}

#[test]
fn valid_variants_and_defaults() {
    let parse = |yaml: &str| manifest::parse(FILE, yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"));

    // Defaults.
    let input = parse(&format!("services:\n{WEB}"));
    assert_eq!(input.settings.rollback, RollbackPolicy::All);
    assert_eq!(input.settings.max_concurrency, 10);
    assert_eq!(input.settings.poll_interval_seconds, 5);
    assert_eq!(input.settings.keep_revisions, 0);
    assert!(!input.settings.allow_latest);
    assert_eq!(
        input.services[0].timeout_seconds,
        manifest::DEFAULT_TIMEOUT_SECONDS
    );
    assert_eq!(input.services[0].desired_count, None);
    assert_eq!(input.release.source, FILE);
    assert!(input.tasks.is_empty());

    // `tasks:` present but empty, or null, is the same as absent.
    for tasks in ["tasks: []\n", "tasks:\n", ""] {
        assert!(parse(&format!("{tasks}services:\n{WEB}")).tasks.is_empty());
    }

    // Aliases, bus, edge values.
    let input = parse(
        "settings: {rollback: none, maxConcurrency: 40, pollIntervalSeconds: 1, keepRevisions: 0}\n\
         services:\n  - {service: web, cluster: prod, serviceName: web, image: r/web:1, desiredCount: 0, minimumHealthyPercent: 0, maximumPercent: 100, timeoutSeconds: 60}\n\
         tasks:\n  - {service: r, ruleName: n, eventBusName: ops, image: r/r:1}\n  - {service: r, cwRuleName: n, image: r/r:1}\n",
    );
    assert_eq!(input.settings.rollback, RollbackPolicy::None);
    assert_eq!(input.services[0].cluster, "prod");
    assert_eq!(input.services[0].desired_count, Some(0));
    assert_eq!(
        (
            input.tasks[0].event_bus.as_str(),
            input.tasks[0].rule.as_str()
        ),
        ("ops", "n")
    );
    // Same rule name on another bus is another rule.
    assert_eq!(
        (
            input.tasks[1].event_bus.as_str(),
            input.tasks[1].rule.as_str()
        ),
        ("default", "n")
    );

    // Auto scaling held release-wide, one service excepted; the sample's one-entry-per-container
    // form may say it on any of the service's entries.
    let input = parse("settings: {suspendAutoScaling: true}\nservices:\n  - {service: web, clusterName: prod, serviceName: web, image: r/web:1}\n  - {service: envoy, clusterName: prod, serviceName: web, image: r/envoy:1, suspendAutoScaling: false}\n  - {service: api, clusterName: prod, serviceName: api, image: r/api:1}\n");
    assert!(input.settings.suspend_auto_scaling);
    let held: Vec<Option<bool>> = input
        .services
        .iter()
        .map(|s| s.suspend_auto_scaling)
        .collect();
    assert_eq!(held, [Some(false), None]);

    // allowLatest admits unpinned images.
    let input = parse("settings: {allowLatest: true}\nservices:\n  - {service: web, clusterName: prod, serviceName: web, image: r/web}\n  - {service: api, clusterName: prod, serviceName: api, image: 'r/api:latest'}\n");
    assert!(input.settings.allow_latest);

    // A strategy with its settings, decimals allowed where ECS takes them.
    let input = parse(
        "services:\n  - {service: web, clusterName: prod, serviceName: web, image: r/web:1, strategy: LINEAR, bakeTimeInMinutes: 2, linearConfiguration: {stepPercent: 12.5, stepBakeTimeInMinutes: 1}}\n  - {service: api, clusterName: prod, serviceName: api, image: r/api:1, strategy: CANARY, canaryConfiguration: {canaryPercent: 0.5, canaryBakeTimeInMinutes: 10}}\n",
    );
    let linear = input.services[0].deployment_strategy.unwrap();
    assert_eq!(linear.strategy, Strategy::Linear);
    assert_eq!(linear.bake_time_in_minutes, Some(2));
    assert_eq!(
        linear
            .linear_configuration
            .map(|l| (l.step_percent, l.step_bake_time_in_minutes)),
        Some((Percent(12.5), 1))
    );
    let canary = input.services[1].deployment_strategy.unwrap();
    assert_eq!(canary.to_string(), "CANARY (canary 0.5 % for 10 min)");
    assert_eq!(input.services[0].desired_count, None);
    // Not given: the service's own strategy is left alone.
    assert_eq!(
        parse(&format!("services:\n{WEB}")).services[0].deployment_strategy,
        None
    );
    // The rendered input round-trips, and check_input applies the same rules to a hand-edited one.
    let rendered = manifest::render(&input);
    assert!(rendered.contains("\"deploymentStrategy\""), "{rendered}");
    let mut back: release_core::contract::ReleaseInput = serde_json::from_str(&rendered).unwrap();
    assert_eq!(back, input);
    back.services[0].deployment_strategy = Some(release_core::contract::DeploymentStrategy {
        strategy: Strategy::Rolling,
        ..linear
    });
    let found = manifest::check_input(&back);
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "deploymentStrategy.linearConfiguration",
            "deploymentStrategy.bakeTimeInMinutes"
        ],
        "{found:#?}"
    );

    // YAML merge keys work for shared fields.
    let input = parse("x-defaults: &d\n  clusterName: prod\n  timeoutSeconds: 300\nservices:\n  - <<: *d\n    service: web\n    serviceName: web\n    image: r/web:1\n");
    assert_eq!(input.services[0].cluster, "prod");
    assert_eq!(input.services[0].timeout_seconds, 300);
}

#[test]
fn code_deploy_is_read_rendered_and_rechecked() {
    let parse = |yaml: &str| manifest::parse(FILE, yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"));
    // The full form, as docs/manifest.md shows it.
    let yaml = "services:\n  - service: web\n    clusterName: prod\n    serviceName: web\n    image: r/web:1\n    codeDeploy:\n      application: AppECS-prod-web\n      deploymentGroup: DgpECS-prod-web\n      deploymentConfig: CodeDeployDefault.ECSCanary10Percent5Minutes\n      waitForTermination: true\n      hooks:\n        AfterAllowTestTraffic: convoy-smoke-test\n        BeforeAllowTraffic: 'arn:aws:lambda:eu-west-1:123456789012:function:gate:live'\n";
    let input = parse(yaml);
    let want = CodeDeploySettings {
        application: Some("AppECS-prod-web".into()),
        deployment_group: Some("DgpECS-prod-web".into()),
        deployment_config: Some("CodeDeployDefault.ECSCanary10Percent5Minutes".into()),
        wait_for_termination: true,
        hooks: BTreeMap::from([
            ("AfterAllowTestTraffic".into(), "convoy-smoke-test".into()),
            (
                "BeforeAllowTraffic".into(),
                "arn:aws:lambda:eu-west-1:123456789012:function:gate:live".into(),
            ),
        ]),
    };
    assert_eq!(input.services[0].code_deploy.as_ref(), Some(&want));
    assert_eq!(input.services[0].deployment_strategy, None);

    // Every field is optional; not given, the service has none (pre-flight finds its controller).
    let minimal = parse(&format!(
        "services:\n  - {{service: web, clusterName: prod, serviceName: web, image: r/web:1, codeDeploy: {{}}}}\n{}",
        WEB.replace("prod, serviceName: web", "prod, serviceName: api")
    ));
    assert_eq!(
        minimal.services[0].code_deploy,
        Some(CodeDeploySettings::default())
    );
    assert_eq!(minimal.services[1].code_deploy, None);
    assert!(!manifest::render(&minimal).contains("waitForTermination"));

    // Entries for one service: given once, it applies to the item; given alike twice, it agrees.
    let merged = parse(&format!(
        "services:\n{WEB}  - {{service: web, clusterName: prod, serviceName: web, image: reg.example.com/web:1.0.0, codeDeploy: {{application: a}}}}\n  - {{service: web, clusterName: prod, serviceName: web, image: reg.example.com/web:1.0.0, codeDeploy: {{application: a}}}}\n"
    ));
    assert_eq!(merged.services.len(), 1);
    assert_eq!(
        merged.services[0]
            .code_deploy
            .as_ref()
            .and_then(|c| c.application.as_deref()),
        Some("a")
    );

    // `convoy render`'s JSON keeps it, named as in the manifest, and reads back the same.
    let rendered = manifest::render(&input);
    for key in [
        "\"codeDeploy\"",
        "\"deploymentGroup\": \"DgpECS-prod-web\"",
        "\"waitForTermination\": true",
        "\"AfterAllowTestTraffic\": \"convoy-smoke-test\"",
    ] {
        assert!(rendered.contains(key), "{key} in {rendered}");
    }
    let back: ReleaseInput = serde_json::from_str(&rendered).unwrap();
    assert_eq!(back, input);
    assert_eq!(manifest::check_input(&back), []);

    // A hand-written execution input gets the manifest's rules, fields named as in the JSON.
    let edited = rendered
        .replace("\"AppECS-prod-web\"", "\"AppECS prod web\"")
        .replace("AfterAllowTestTraffic", "AfterAllowTestTrafic")
        .replace("convoy-smoke-test", "");
    let mut hand: ReleaseInput = serde_json::from_str(&edited).unwrap();
    let found = manifest::check_input(&hand);
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "codeDeploy.application",
            "codeDeploy.hooks.AfterAllowTestTrafic",
            "codeDeploy.hooks.AfterAllowTestTrafic",
        ],
        "{found:#?}"
    );
    assert!(found.iter().all(|p| p.item == "services[0] (prod/web)"));
    assert!(found[1]
        .message
        .contains("did you mean `AfterAllowTestTraffic`?"));
    assert!(found[2].message.contains("must not be empty"));
    // ... and is refused a strategy next to it.
    hand = back;
    hand.services[0].deployment_strategy = Some(DeploymentStrategy {
        strategy: Strategy::BlueGreen,
        bake_time_in_minutes: None,
        linear_configuration: None,
        canary_configuration: None,
    });
    let found = manifest::check_input(&hand);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].field, "codeDeploy");
    assert!(
        found[0]
            .message
            .contains("strategy fields (`deploymentStrategy`)"),
        "{found:#?}"
    );
}

#[test]
fn anchors_live_under_x_keys_only() {
    // `x-` keys are free for anchors; any other unknown top-level key is still a typo.
    let found = problems("defaults: &d {clusterName: prod}\nservices:\n  - {<<: *d, service: web, serviceName: web, image: r/web:1}\n");
    let fields: Vec<&str> = found.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["defaults"], "{found:#?}");
}

#[test]
fn release_label_and_explicit_id() {
    let input = manifest::parse(FILE, &format!("release: 4.0\nservices:\n{WEB}")).expect("valid");
    assert_eq!(input.release.description.as_deref(), Some("4.0"));
    assert!(
        input.release.id.starts_with("r-") && input.release.id.len() == 18,
        "{}",
        input.release.id
    );

    let input = manifest::parse(
        FILE,
        &format!("release: {{id: web-42, description: Web 42}}\nservices:\n{WEB}"),
    )
    .expect("valid");
    assert_eq!(input.release.id, "web-42");
    assert_eq!(input.release.description.as_deref(), Some("Web 42"));

    let input = manifest::parse(FILE, "services:\n  - {clusterName: prod, serviceName: web, containers: {web: r/web:2, log-router: r/fluent:2}}\n").expect("valid");
    let Images::Containers(map) = &input.services[0].images else {
        panic!("expected containers: {:?}", input.services[0].images)
    };
    assert_eq!(map.len(), 2);
}

/// `n` services with realistic names and two containers each, in the sample format.
fn fleet(n: usize) -> String {
    let mut yaml = String::from("release: {id: fleet-2026-11-29}\nservices:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - {{clusterName: platform-production-eu-west-1, serviceName: checkout-service-{i:04}, \
             containers: {{app: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkout:v2.31.{i}', \
             log-router: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4'}}}}\n"
        ));
    }
    yaml
}

#[test]
fn a_release_above_10_mib_is_refused_with_both_sizes_and_a_large_one_goes_by_reference() {
    let cap = release_ref::MAX_RELEASE_BYTES;
    assert_eq!(manifest::check_size(&"x".repeat(cap)), Ok(()));
    let refused = manifest::check_size(&"x".repeat(cap + 1)).unwrap_err();
    for fragment in [
        "the release renders to 10,485,761 bytes",
        "above the 10,485,760 bytes (10 MiB) a release may have",
        "split it into smaller releases",
    ] {
        assert!(refused.contains(fragment), "{fragment}: {refused}");
    }
    // 1,200 services no longer fit an execution input (256 KiB), and are a valid release that
    // goes by reference.
    let large = manifest::validate(FILE, &fleet(1200)).expect("1,200 services are a release");
    let rendered = manifest::render(&large);
    assert!(rendered.len() > manifest::MAX_EXECUTION_INPUT_BYTES);
    assert!(release_ref::goes_by_reference(&rendered));
    let small = manifest::validate(FILE, &fleet(10)).expect("10 services");
    assert!(!release_ref::goes_by_reference(&manifest::render(&small)));
}

#[test]
fn cluster_and_service_arns_are_checked_and_compared_by_name() {
    let item = |cluster: &str, service: &str| {
        format!(
            "  - {{service: web, clusterName: '{cluster}', serviceName: '{service}', image: reg.example.com/web:1.0.0}}\n"
        )
    };
    let arn = |resource: &str| format!("arn:aws:ecs:eu-west-1:123456789012:{resource}");
    // Valid: both service ARN formats, a cluster ARN.
    let valid = format!(
        "services:\n{}{}",
        item(&arn("cluster/prod"), &arn("service/prod/web")),
        item("prod", &arn("service/api"))
    );
    manifest::validate(FILE, &valid).expect("names or ARNs");
    // One service named by name and by ARN is one item.
    let twice = format!(
        "services:\n{}{}",
        item("prod", "web"),
        item(&arn("cluster/prod"), &arn("service/prod/web"))
    );
    let twice = manifest::validate(FILE, &twice).expect("one service");
    assert_eq!(twice.services.len(), 1, "{twice:?}");
    let cases = [
        (
            item(&arn("cluster/"), "web"),
            "clusterName",
            "is not a cluster ARN",
        ),
        (
            item("prod", &arn("task/prod/abc")),
            "serviceName",
            "is not a service ARN",
        ),
        (
            item("prod", &arn("service/staging/web")),
            "serviceName",
            "is a service of cluster `staging`, not of `prod`",
        ),
        (
            format!(
                "{}{}",
                item("prod", "web"),
                item(&arn("cluster/prod"), &arn("service/prod/web"))
                    .replace("web:1.0.0", "web:1.0.1")
            ),
            "image",
            "but `reg.example.com/web:1.0.0` in services[0] (prod/web)",
        ),
    ];
    for (items, field, fragment) in cases {
        let found = problems(&format!("services:\n{items}"));
        assert!(
            found
                .iter()
                .any(|p| p.field == field && p.message.contains(fragment)),
            "{fragment}: {found:#?}"
        );
    }
}

#[test]
fn event_bus_arns_are_checked_compared_by_name_and_planned_by_name() {
    use release_core::decide::manifest::arn::Home;
    let task = |bus: &str, image: &str| {
        format!("  - {{ruleName: hourly, eventBusName: '{bus}', containers: {{report: 'r:{image}'}}}}\n")
    };
    let bus_arn =
        |region: &str, name: &str| format!("arn:aws:events:{region}:123456789012:event-bus/{name}");
    // One rule named on its bus by name and by ARN is one item.
    let twice = format!(
        "tasks:\n{}{}",
        task("orders", "2"),
        task(&bus_arn("eu-west-1", "orders"), "2")
    );
    let twice = manifest::validate(FILE, &twice).expect("one rule");
    assert_eq!(twice.tasks.len(), 1, "{twice:?}");
    // Two images for it are refused, whichever way the bus is named.
    let clash = format!(
        "tasks:\n{}{}",
        task("orders", "2"),
        task(&bus_arn("eu-west-1", "orders"), "3")
    );
    assert!(
        problems(&clash)
            .iter()
            .any(|p| p.field == "containers.report" && p.message.contains("merged into one item")),
        "{:#?}",
        problems(&clash)
    );
    // Not an event bus ARN: named.
    let wrong = format!(
        "tasks:\n{}",
        task("arn:aws:events:eu-west-1:123456789012:rule/hourly", "2")
    );
    let found = problems(&wrong);
    assert!(
        found
            .iter()
            .any(|p| p.field == "eventBusName" && p.message.contains("is not an event bus ARN")),
        "{found:#?}"
    );
    // Planned by name; a bus of another region is refused naming the item and field.
    let home = Home {
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
    };
    let by_arn = manifest::validate(
        FILE,
        &format!("tasks:\n{}", task(&bus_arn("eu-west-1", "orders"), "2")),
    )
    .expect("valid");
    let planned = manifest::normalized(by_arn, &home).expect("this region");
    assert_eq!(planned.tasks[0].event_bus, "orders");
    let elsewhere = manifest::validate(
        FILE,
        &format!("tasks:\n{}", task(&bus_arn("us-west-2", "orders"), "2")),
    )
    .expect("valid");
    let refused = manifest::normalized(elsewhere, &home).expect_err("another region");
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert_eq!(
        (refused[0].item.as_str(), refused[0].field.as_str()),
        ("tasks[0] (orders/hourly)", "eventBusName")
    );
    assert!(
        refused[0].message.contains("region us-west-2"),
        "{refused:#?}"
    );
}

/// `prod/<name>` in the sample format, with `extra` fields (`dependsOn: [...]`, `name: x`).
fn svc(name: &str, extra: &str) -> String {
    format!("  - {{service: {name}, clusterName: prod, serviceName: {name}, image: r/{name}:2{extra}}}\n")
}

/// Rule `rule` on the default bus, with `extra` fields.
fn rule(rule: &str, extra: &str) -> String {
    format!("  - {{service: app, ruleName: {rule}, image: r/app:2{extra}}}\n")
}

#[test]
fn depends_on_problems_name_their_item_and_field() {
    let services = |items: &[String]| format!("services:\n{}", items.concat());
    let release = |services: &[String], tasks: &[String]| {
        format!("services:\n{}tasks:\n{}", services.concat(), tasks.concat())
    };
    let chain: Vec<String> = (0..21)
        .map(|i| match i {
            0 => rule("t0", ""),
            i => rule(&format!("t{i}"), &format!(", dependsOn: [t{}]", i - 1)),
        })
        .collect();
    // (case, manifest, item, field, message fragment)
    let cases: Vec<(&str, String, &str, &str, &str)> = vec![
        ("unknown name", services(&[svc("web", ", dependsOn: [prod/dbb]"), svc("db", "")]), "services[0] (prod/web)", "dependsOn", "`prod/dbb` is not the name of any item of this release (did you mean `prod/db`?)"),
        ("service name only", services(&[svc("web", ", dependsOn: [db]"), svc("db", "")]), "services[0] (prod/web)", "dependsOn", "(did you mean `prod/db`?)"),
        ("unknown name from a task", release(&[svc("web", "")], &[rule("nightly", ", dependsOn: [migrate]")]), "tasks[0] (nightly)", "dependsOn", "`migrate` is not the name of any item of this release: an item is named by its `name:`"),
        ("itself", services(&[svc("web", ", dependsOn: [prod/web]")]), "services[0] (prod/web)", "dependsOn", "names `prod/web`, this item itself: an item cannot depend on itself"),
        ("twice", services(&[svc("web", ", dependsOn: [prod/db, prod/db]"), svc("db", "")]), "services[0] (prod/web)", "dependsOn", "names `prod/db` twice"),
        ("cycle of two", services(&[svc("web", ", dependsOn: [prod/db]"), svc("db", ", dependsOn: [prod/web]")]), "services[0] (prod/web)", "dependsOn", "dependsOn forms a cycle: prod/web → prod/db → prod/web"),
        ("cycle through a task", release(&[svc("web", ", name: web, dependsOn: [nightly]")], &[rule("nightly", ", dependsOn: [web]")]), "services[0] (prod/web)", "dependsOn", "dependsOn forms a cycle: web → nightly → web"),
        ("a string, not a list", services(&[svc("web", ", dependsOn: prod/db"), svc("db", "")]), "services[0] (prod/web)", "dependsOn", "expected a list of item names, found a string (write `dependsOn: [prod/db]`)"),
        ("a mapping, not a list", services(&[svc("web", ", dependsOn: {db: 1}")]), "services[0] (prod/web)", "dependsOn", "expected a list of item names, found a mapping"),
        ("a number in the list", services(&[svc("web", ", dependsOn: [5]")]), "services[0] (prod/web)", "dependsOn", "entry 1 must name an item, found the number 5 (quote it: \"5\")"),
        ("an empty entry", release(&[svc("web", "")], &[rule("nightly", ", dependsOn: [prod/web, '']")]), "tasks[0] (nightly)", "dependsOn", "entry 2 must name an item, found nothing"),
        ("dependsOn typo", services(&[svc("web", ", dependson: [prod/db]"), svc("db", "")]), "services[0] (prod/web)", "dependson", "did you mean `dependsOn`?"),
        ("name typo", release(&[svc("web", "")], &[rule("nightly", ", nam: report")]), "tasks[0] (nightly)", "nam", "did you mean `name`?"),
        ("name a number", services(&[svc("web", ", name: 7")]), "services[0] (prod/web)", "name", "expected a string, found the number 7"),
        ("name empty", services(&[svc("web", ", name: ''")]), "services[0] (prod/web)", "name", "must not be empty"),
        ("name with a space", services(&[svc("web", ", name: 'the web'")]), "services[0] (prod/web)", "name", "`the web` contains whitespace"),
        ("name taken", services(&[svc("web", ", name: app"), svc("api", ", name: app")]), "services[1] (prod/api)", "name", "`app` is already the name of services[0] (prod/web): each item's name must be unique in the release"),
        ("name of another item", release(&[svc("web", "")], &[rule("nightly", ", name: prod/web")]), "tasks[0] (nightly)", "name", "`prod/web` is already the name of services[0] (prod/web)"),
        ("labels after merged entries", services(&[svc("web", ""), svc("web", ""), svc("api", ", dependsOn: [prod/api]")]), "services[2] (prod/api)", "dependsOn", "this item itself"),
        ("one service, two dependsOn", services(&[svc("web", ", dependsOn: [prod/db]"), svc("web", ", dependsOn: [prod/api]"), svc("db", ""), svc("api", "")]), "services[1] (prod/web)", "dependsOn", "is [prod/api] here but [prod/db] in services[0] (prod/web): entries for one service are merged into one item, so their settings must agree"),
        ("one service, two names", services(&[svc("web", ", name: a"), svc("web", ", name: b")]), "services[1] (prod/web)", "name", "is `b` here but `a` in services[0] (prod/web)"),
        ("one rule, two dependsOn", release(&[svc("web", ""), svc("db", "")], &[rule("nightly", ", dependsOn: [prod/web]"), rule("nightly", ", dependsOn: [prod/db]")]), "tasks[1] (nightly)", "dependsOn", "is [prod/db] here but [prod/web] in tasks[0] (nightly): entries for one rule are merged"),
        ("more than 20 waves", format!("tasks:\n{}", chain.concat()), "", "dependsOn", "dependsOn makes 21 waves, more than the 20 a release may have; the longest chain is t20 → t19"),
        ("deadlines above 3 h", services(&[svc("a", ", timeoutSeconds: 7200"), svc("b", ", timeoutSeconds: 3601, dependsOn: [prod/a]")]), "", "dependsOn", "the waves may wait 10,801 s in all, above the 10,800 s (3 h) a release may wait: each wave waits up to its longest timeoutSeconds (wave 1: 7,200 s for prod/a; wave 2: 3,601 s for prod/b)"),
    ];
    for (case, yaml, item, field, fragment) in cases {
        let found = problems(&yaml);
        let hit = found.iter().any(|p| {
            p.file == FILE && p.item == item && p.field == field && p.message.contains(fragment)
        });
        assert!(
            hit,
            "{case}: wanted [{item}] `{field}`: {fragment}\n got: {found:#?}"
        );
    }
}

#[test]
fn depends_on_problems_come_with_every_other_problem() {
    // A bad image, an unknown name, a cycle: all at once. `prod/db` has problems of its own, so
    // naming it is not an unknown name.
    let yaml = format!(
        "services:\n{}{}{}{}",
        svc("web", ", dependsOn: [prod/db, prod/cache]"),
        "  - {service: db, clusterName: prod, serviceName: db, image: r/db}\n",
        svc("a", ", dependsOn: [prod/b]"),
        svc("b", ", dependsOn: [prod/a]"),
    );
    let found = problems(&yaml);
    let places: Vec<(&str, &str)> = found
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            ("services[1] (prod/db)", "image"),
            ("services[0] (prod/web)", "dependsOn"),
            ("services[2] (prod/a)", "dependsOn"),
        ],
        "{found:#?}"
    );
    assert!(found[1].message.contains("`prod/cache` is not the name"));
    assert!(found[2].message.contains("cycle: prod/a → prod/b → prod/a"));
}

#[test]
fn depends_on_renders_waves_and_round_trips() {
    let parse = |yaml: &str| manifest::parse(FILE, yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"));
    // Both forms: the sample format in flow style, the richer one in block style.
    let yaml = "services:\n  - name: db\n    clusterName: prod\n    serviceName: db\n    containers: {db: r/db:2}\n  - service: web\n    clusterName: prod\n    serviceName: web\n    image: r/web:2\n    dependsOn:\n      - db\n  - {service: api, clusterName: prod, serviceName: api, image: r/api:2, dependsOn: [db]}\ntasks:\n  - {service: report, ruleName: nightly, image: r/report:2, dependsOn: [prod/web, prod/api]}\n  - {service: report, ruleName: hourly, eventBusName: ops, image: r/report:2}\n";
    let input = parse(yaml);
    assert_eq!(input.services[0].name.as_deref(), Some("db"));
    assert_eq!(input.services[1].depends_on, ["db"]);
    assert_eq!(input.tasks[0].depends_on, ["prod/web", "prod/api"]);
    assert_eq!(
        input.waves,
        [
            vec!["db".to_owned(), "ops/hourly".to_owned()],
            vec!["prod/web".to_owned(), "prod/api".to_owned()],
            vec!["nightly".to_owned()],
        ]
    );
    let rendered = manifest::render(&input);
    for key in [
        "\"name\": \"db\"",
        "\"dependsOn\": [\n        \"db\"\n      ]",
        "\"waves\": [",
    ] {
        assert!(rendered.contains(key), "{key} in {rendered}");
    }
    let back: ReleaseInput = serde_json::from_str(&rendered).unwrap();
    assert_eq!(back, input);
    assert_eq!(manifest::check_input(&back), []);

    // Given alike in two entries of one item, or in one of them, dependsOn and name apply to it.
    let merged = parse(&format!(
        "services:\n{}{}{}{}",
        svc("web", ", dependsOn: [prod/db, prod/api]"),
        svc("web", ", name: web, dependsOn: [prod/api, prod/db]"),
        svc("db", ""),
        svc("api", "")
    ));
    assert_eq!(merged.services.len(), 3);
    assert_eq!(merged.services[0].name.as_deref(), Some("web"));
    assert_eq!(merged.services[0].depends_on, ["prod/db", "prod/api"]);

    // Without dependsOn the input is what it always was: no `waves`, the same derived id.
    let plain = parse(&format!("services:\n{}{}", svc("web", ""), svc("db", "")));
    assert!(plain.waves.is_empty());
    assert!(!manifest::render(&plain).contains("waves"));
    assert!(!manifest::render(&plain).contains("dependsOn"));

    // A hand-edited input is compiled again: its waves must be the compiled ones, its graph sound.
    let mut hand = back.clone();
    hand.waves.swap(0, 1);
    let found = manifest::check_input(&hand);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].item.as_str(), found[0].field.as_str()),
        ("", "waves")
    );
    assert!(
        found[0].message.contains(
            "is not what the items' dependsOn make: wave 1 is [prod/web, prod/api] here, but \
             [db, ops/hourly] by dependsOn"
        ),
        "{found:#?}"
    );
    hand = back.clone();
    hand.waves.pop();
    let found = manifest::check_input(&hand);
    assert!(
        found[0]
            .message
            .contains("it lists 2 waves, but dependsOn makes 3"),
        "{found:#?}"
    );
    // No waves given: nothing to compare (plan-release compiles them anyway).
    hand.waves.clear();
    assert_eq!(manifest::check_input(&hand), []);
    hand.services[0].depends_on = vec!["nightly".into()];
    let found = manifest::check_input(&hand);
    let places: Vec<(&str, &str)> = found
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str()))
        .collect();
    // Two cycles, each named once, on their first item.
    assert_eq!(
        places,
        [
            ("services[0] (prod/db)", "dependsOn"),
            ("services[0] (prod/db)", "dependsOn")
        ],
        "{found:#?}"
    );
    assert_eq!(
        found[0].message,
        "dependsOn forms a cycle: db → nightly → prod/web → db"
    );
    assert_eq!(
        found[1].message,
        "dependsOn forms a cycle: db → nightly → prod/api → db"
    );
}
