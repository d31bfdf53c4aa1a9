//! `jobs:` (one-off tasks, typically migrations): each table case is a small manifest and exactly
//! what it renders to, or exactly the problems it produces (file, item, field, message).

use std::collections::BTreeMap;

use release_core::contract::{
    AwsVpcSettings, CapacityProviderShare, ContainerOverride, Images, JobLaunchSettings, JobTarget,
    ReleaseInput,
};
use release_core::decide::manifest;
use release_core::decide::manifest::arn::Home;

const FILE: &str = "deployment.yaml";

/// The problems a case must produce, exactly: item, field, message.
type Want<'a> = Vec<(&'a str, &'a str, String)>;
type Placed = Vec<(&'static str, &'static str, &'static str)>;

fn owned<M: Into<String>>(want: Vec<(&str, &str, M)>) -> Vec<(String, String, String)> {
    want.into_iter()
        .map(|(i, f, m)| (i.to_owned(), f.to_owned(), m.into()))
        .collect()
}

/// A valid job in the sample format, with `extra` fields.
fn job(name: &str, extra: &str) -> String {
    format!(
        "  - {{name: {name}, clusterName: prod, taskDefinition: app-migrate, service: app, \
         image: r/app:2{extra}}}\n"
    )
}

/// `prod/<name>` in the sample format, with `extra` fields.
fn svc(name: &str, extra: &str) -> String {
    format!("  - {{service: {name}, clusterName: prod, serviceName: {name}, image: r/{name}:2{extra}}}\n")
}

fn jobs(entries: &[String]) -> String {
    format!("jobs:\n{}", entries.concat())
}

fn parse(yaml: &str) -> ReleaseInput {
    manifest::parse(FILE, yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"))
}

/// Every problem as `(item, field, message)`, after checking each names the file.
fn problems(yaml: &str) -> Vec<(String, String, String)> {
    let found = match manifest::validate(FILE, yaml) {
        Ok(input) => panic!("expected problems, got a valid release: {input:?}"),
        Err(found) => found,
    };
    found
        .into_iter()
        .map(|p| {
            assert_eq!(p.file, FILE, "{p}");
            (p.item, p.field, p.message)
        })
        .collect()
}

/// The job `migrate` of cluster `prod` as the minimal entry renders.
fn migrate() -> JobTarget {
    JobTarget {
        name: "migrate".into(),
        depends_on: Vec::new(),
        cluster: "prod".into(),
        task_definition: "app-migrate".into(),
        images: Images::Default {
            preferred: "app".into(),
            image: "r/app:2".into(),
        },
        overrides: BTreeMap::new(),
        launch: JobLaunchSettings::default(),
        timeout_seconds: manifest::DEFAULT_TIMEOUT_SECONDS,
    }
}

#[test]
fn a_valid_job_renders_to_its_job_target() {
    let overrides = BTreeMap::from([
        (
            "app".to_owned(),
            ContainerOverride {
                command: Some(vec!["bin/rails".into(), "db:migrate".into()]),
                environment: BTreeMap::from([
                    ("RAILS_ENV".to_owned(), "production".to_owned()),
                    ("RETRIES".to_owned(), "3".to_owned()),
                    ("EMPTY".to_owned(), String::new()),
                ]),
            },
        ),
        (
            "log-router".to_owned(),
            ContainerOverride {
                command: None,
                environment: BTreeMap::from([("LEVEL".to_owned(), "debug".to_owned())]),
            },
        ),
    ]);
    // (case, manifest, the job it renders to)
    let cases: Vec<(&str, String, JobTarget)> = vec![
        ("the sample's image form, defaults", jobs(&[job("migrate", "")]), migrate()),
        (
            "containers, cluster alias, timeout",
            "jobs:\n  - {name: migrate, cluster: prod, taskDefinition: app-migrate, containers: {app: r/app:2, log-router: r/fluent-bit:3}, timeoutSeconds: 1800}\n".into(),
            JobTarget {
                images: Images::Containers(BTreeMap::from([
                    ("app".to_owned(), "r/app:2".to_owned()),
                    ("log-router".to_owned(), "r/fluent-bit:3".to_owned()),
                ])),
                timeout_seconds: 1800,
                ..migrate()
            },
        ),
        (
            "overrides, networkFrom, capacity providers, block style",
            "jobs:
  - name: migrate
    clusterName: prod
    taskDefinition: app-migrate
    image: r/app:2
    service: app
    overrides:
      app:
        command: [bin/rails, 'db:migrate']
        environment: {RAILS_ENV: production, RETRIES: '3', EMPTY: ''}
      log-router:
        environment:
          LEVEL: debug
    networkFrom: prod/api
    capacityProviderStrategy:
      - {capacityProvider: FARGATE_SPOT, weight: 3, base: 1}
      - {capacityProvider: FARGATE}
    platformVersion: LATEST
"
            .into(),
            JobTarget {
                overrides: overrides.clone(),
                launch: JobLaunchSettings {
                    network_from: Some("prod/api".into()),
                    capacity_provider_strategy: vec![
                        CapacityProviderShare {
                            capacity_provider: "FARGATE_SPOT".into(),
                            weight: 3,
                            base: 1,
                        },
                        CapacityProviderShare {
                            capacity_provider: "FARGATE".into(),
                            weight: 0,
                            base: 0,
                        },
                    ],
                    platform_version: Some("LATEST".into()),
                    ..JobLaunchSettings::default()
                },
                ..migrate()
            },
        ),
        (
            "networkConfiguration and a launch type",
            jobs(&[job(
                "migrate",
                ", networkConfiguration: {subnets: [subnet-1, subnet-2], securityGroups: [sg-1], assignPublicIp: true}, launchType: FARGATE",
            )]),
            JobTarget {
                launch: JobLaunchSettings {
                    network_configuration: Some(AwsVpcSettings {
                        subnets: vec!["subnet-1".into(), "subnet-2".into()],
                        security_groups: vec!["sg-1".into()],
                        assign_public_ip: true,
                    }),
                    launch_type: Some("FARGATE".into()),
                    ..JobLaunchSettings::default()
                },
                ..migrate()
            },
        ),
        (
            "subnets only: no security groups, no public IP",
            jobs(&[job("migrate", ", networkConfiguration: {subnets: [subnet-1]}, launchType: EC2")]),
            JobTarget {
                launch: JobLaunchSettings {
                    network_configuration: Some(AwsVpcSettings {
                        subnets: vec!["subnet-1".into()],
                        security_groups: Vec::new(),
                        assign_public_ip: false,
                    }),
                    launch_type: Some("EC2".into()),
                    ..JobLaunchSettings::default()
                },
                ..migrate()
            },
        ),
        (
            "a cluster ARN, kept as written until planned",
            "jobs:\n  - {name: migrate, clusterName: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod', taskDefinition: app-migrate, service: app, image: r/app:2}\n".into(),
            JobTarget {
                cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/prod".into(),
                ..migrate()
            },
        ),
        (
            "bounds: timeout 60, weight 1000, base 100000",
            jobs(&[job("migrate", ", timeoutSeconds: 60, capacityProviderStrategy: [{capacityProvider: cp, weight: 1000, base: 100000}]")]),
            JobTarget {
                timeout_seconds: 60,
                launch: JobLaunchSettings {
                    capacity_provider_strategy: vec![CapacityProviderShare {
                        capacity_provider: "cp".into(),
                        weight: 1000,
                        base: 100_000,
                    }],
                    ..JobLaunchSettings::default()
                },
                ..migrate()
            },
        ),
    ];
    for (case, yaml, want) in cases {
        let input = parse(&yaml);
        assert_eq!(input.jobs, [want], "{case}");
        // What render prints reads back to the same release, and passes plan-release's checks.
        let back: ReleaseInput = serde_json::from_str(&manifest::render(&input)).unwrap();
        assert_eq!(back, input, "{case}");
        assert_eq!(manifest::check_input(&back), [], "{case}");
    }
}

#[test]
fn a_job_only_manifest_is_a_release() {
    let input = parse(&jobs(&[job("migrate", "")]));
    assert!(input.services.is_empty() && input.tasks.is_empty());
    assert_eq!(input.jobs, [migrate()]);
    assert!(input.waves.is_empty());
    let rendered = manifest::render(&input);
    assert!(
        rendered.contains(
            "\"jobs\": [\n    {\n      \"name\": \"migrate\",\n      \"cluster\": \"prod\",\n      \"taskDefinition\": \"app-migrate\","
        ),
        "{rendered}"
    );
    // No jobs: the key is left out, as before jobs existed.
    let plain = parse(&format!("services:\n{}", svc("web", "")));
    assert!(!manifest::render(&plain).contains("jobs"));
    // An empty `jobs:` is no release, and the message names jobs.
    let empty = [(
        String::new(),
        "services".to_owned(),
        "the release is empty: give at least one item under `services:`, `tasks:`, `schedules:` or `jobs:`"
            .to_owned(),
    )];
    assert_eq!(problems("jobs: []\n"), empty);
    assert_eq!(problems("jobs:\nservices: []\n"), empty);
}

#[test]
fn each_job_problem_names_its_item_and_field() {
    let m = "jobs[0] (migrate)";
    let runs = "convoy runs a clone of its newest ACTIVE revision";
    let long_name = "n".repeat(256);
    let long_item = format!("jobs[0] ({long_name})");
    // (case, manifest, exactly its problems: item, field, message)
    let cases: Vec<(&str, String, Want)> = vec![
        ("jobs not a list", "jobs: {name: migrate}\n".into(), vec![("", "jobs", "expected a list, found a mapping".into())]),
        ("job not a mapping", "jobs: [migrate]\n".into(), vec![("jobs[0]", "", "expected a mapping, found a string".into())]),
        ("missing name", "jobs:\n  - {clusterName: prod, taskDefinition: app-migrate, service: app, image: r/app:2}\n".into(), vec![("jobs[0]", "name", "is required".into())]),
        ("name with a space", jobs(&[job("'db migrate'", "")]), vec![("jobs[0] (db migrate)", "name", "`db migrate` is not a valid job name (1 to 255 letters, digits, `-` or `_`)".into())]),
        ("name with a slash", jobs(&[job("prod/migrate", "")]), vec![("jobs[0] (prod/migrate)", "name", "`prod/migrate` is not a valid job name (1 to 255 letters, digits, `-` or `_`)".into())]),
        ("name of 256", jobs(&[job(&long_name, "")]), vec![(&long_item, "name", format!("`{long_name}` is not a valid job name (1 to 255 letters, digits, `-` or `_`)"))]),
        ("name a number", jobs(&[job("7", "")]), vec![("jobs[0]", "name", "expected a string, found the number 7 (quote it: \"7\")".into())]),
        ("missing cluster", "jobs:\n  - {name: migrate, taskDefinition: app-migrate, service: app, image: r/app:2}\n".into(), vec![(m, "clusterName", "is required".into())]),
        ("both cluster spellings", jobs(&[job("migrate", ", cluster: prod")]), vec![(m, "cluster", "`cluster` and `clusterName` mean the same; give only one".into())]),
        ("cluster not an ARN", "jobs:\n  - {name: migrate, cluster: 'arn:aws:ecs:eu-west-1:123456789012:service/prod', taskDefinition: app-migrate, service: app, image: r/app:2}\n".into(), vec![(m, "cluster", "`arn:aws:ecs:eu-west-1:123456789012:service/prod` is not a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)".into())]),
        ("missing taskDefinition", "jobs:\n  - {name: migrate, clusterName: prod, service: app, image: r/app:2}\n".into(), vec![(m, "taskDefinition", "is required".into())]),
        ("taskDefinition typo", "jobs:\n  - {name: migrate, clusterName: prod, taskDefinitoin: app-migrate, service: app, image: r/app:2}\n".into(), vec![(m, "taskDefinitoin", "unknown field `taskDefinitoin` (did you mean `taskDefinition`?)".into())]),
        ("a revision", jobs(&[job("migrate", "").replace("app-migrate", "'app-migrate:12'")]), vec![(m, "taskDefinition", format!("`app-migrate:12` names a revision: name the family (`app-migrate`); {runs}"))]),
        ("an ARN", jobs(&[job("migrate", "").replace("app-migrate", "'arn:aws:ecs:eu-west-1:123456789012:task-definition/app-migrate:12'")]), vec![(m, "taskDefinition", format!("`arn:aws:ecs:eu-west-1:123456789012:task-definition/app-migrate:12` is an ARN: name the family (`app-migrate`); {runs}"))]),
        ("a family with a dot", jobs(&[job("migrate", "").replace("app-migrate", "app.migrate")]), vec![(m, "taskDefinition", "`app.migrate` is not a task definition family (1 to 255 letters, digits, `-` or `_`)".into())]),
        ("missing image", "jobs:\n  - {name: migrate, clusterName: prod, taskDefinition: app-migrate}\n".into(), vec![(m, "image", "is required (or `containers` to set several containers)".into())]),
        ("image without service", "jobs:\n  - {name: migrate, clusterName: prod, taskDefinition: app-migrate, image: r/app:2}\n".into(), vec![(m, "service", "is required with `image`: it names the container that gets the image".into())]),
        ("image latest", jobs(&[job("migrate", "").replace("r/app:2", "'r/app:latest'")]), vec![(m, "image", "`r/app:latest` uses the `latest` tag: pin a version (or set `settings.allowLatest: true`)".into())]),
        ("unknown key", jobs(&[job("migrate", ", desiredCount: 1")]), vec![(m, "desiredCount", "unknown field `desiredCount` (expected one of: name, clusterName, cluster, taskDefinition, image, service, containers, overrides, networkFrom, networkConfiguration, launchType, capacityProviderStrategy, platformVersion, timeoutSeconds, dependsOn)".into())]),
        ("unknown key, suggested", jobs(&[job("migrate", ", networkFrm: prod/api")]), vec![(m, "networkFrm", "unknown field `networkFrm` (did you mean `networkFrom`?)".into())]),
        ("overrides not a mapping", jobs(&[job("migrate", ", overrides: [app]")]), vec![(m, "overrides", "expected a mapping, found a list".into())]),
        ("override not a mapping", jobs(&[job("migrate", ", overrides: {app: migrate}")]), vec![(m, "overrides.app", "expected a mapping with `command` and/or `environment`, found a string".into())]),
        ("override of a bad container name", jobs(&[job("migrate", ", overrides: {'app.1': {command: [x]}}")]), vec![(m, "overrides.app.1", "`app.1` is not a valid container name (up to 255 letters, digits, `-` or `_`)".into())]),
        ("command a string", jobs(&[job("migrate", ", overrides: {app: {command: 'bin/rails db:migrate'}}")]), vec![(m, "overrides.app.command", "expected a list of strings, found a string (write `command: [bin/rails, db:migrate]`)".into())]),
        ("command a mapping", jobs(&[job("migrate", ", overrides: {app: {command: {run: x}}}")]), vec![(m, "overrides.app.command", "expected a list of strings, found a mapping".into())]),
        ("command with a number", jobs(&[job("migrate", ", overrides: {app: {command: [sleep, 5]}}")]), vec![(m, "overrides.app.command", "entry 2: expected a string, found the number 5 (quote it: \"5\")".into())]),
        ("command empty", jobs(&[job("migrate", ", overrides: {app: {command: []}}")]), vec![(m, "overrides.app.command", "must not be empty: leave `command` out to run the definition's".into())]),
        ("environment a number", jobs(&[job("migrate", ", overrides: {app: {environment: {RETRIES: 3}}}")]), vec![(m, "overrides.app.environment.RETRIES", "expected a string, found the number 3 (quote it: \"3\")".into())]),
        ("environment a bool", jobs(&[job("migrate", ", overrides: {app: {environment: {DRY_RUN: true}}}")]), vec![(m, "overrides.app.environment.DRY_RUN", "expected a string, found true (quote it: \"true\")".into())]),
        ("environment null", jobs(&[job("migrate", ", overrides: {app: {environment: {TOKEN: ~}}}")]), vec![(m, "overrides.app.environment.TOKEN", "expected a string, found nothing (write '' for an empty value)".into())]),
        ("environment a list", jobs(&[job("migrate", ", overrides: {app: {environment: [A=1]}}")]), vec![(m, "overrides.app.environment", "expected a mapping, found a list".into())]),
        ("environment name with a space", jobs(&[job("migrate", ", overrides: {app: {environment: {'A B': x}}}")]), vec![(m, "overrides.app.environment", "`A B` is not an environment variable name (not empty, no `=` or whitespace)".into())]),
        ("override unknown key", jobs(&[job("migrate", ", overrides: {app: {comand: [x]}}")]), vec![(m, "overrides.app.comand", "unknown field `comand` (did you mean `command`?)".into())]),
        ("override unknown key, no suggestion", jobs(&[job("migrate", ", overrides: {app: {cpu: 256}}")]), vec![(m, "overrides.app.cpu", "unknown field `cpu` (expected one of: command, environment)".into())]),
        ("networkFrom a service only", jobs(&[job("migrate", ", networkFrom: api")]), vec![(m, "networkFrom", "`api` is not `cluster/service`: name the service whose network configuration the job's task gets, by its cluster's and its own name (`prod/api`)".into())]),
        ("networkFrom three parts", jobs(&[job("migrate", ", networkFrom: prod/api/x")]), vec![(m, "networkFrom", "`prod/api/x` is not `cluster/service`: name the service whose network configuration the job's task gets, by its cluster's and its own name (`prod/api`)".into())]),
        ("networkFrom a service ARN", jobs(&[job("migrate", ", networkFrom: 'arn:aws:ecs:eu-west-1:123456789012:service/prod/api'")]), vec![(m, "networkFrom", "`arn:aws:ecs:eu-west-1:123456789012:service/prod/api` is not `cluster/service`: name the service whose network configuration the job's task gets, by its cluster's and its own name (`prod/api`)".into())]),
        ("both networks", jobs(&[job("migrate", ", networkFrom: prod/api, networkConfiguration: {subnets: [subnet-1]}")]), vec![(m, "networkConfiguration", "give either `networkFrom` (a service's network configuration) or `networkConfiguration`, not both".into())]),
        ("subnets missing", jobs(&[job("migrate", ", networkConfiguration: {securityGroups: [sg-1]}")]), vec![(m, "networkConfiguration.subnets", "is required: the subnets the task runs in".into())]),
        ("subnets empty", jobs(&[job("migrate", ", networkConfiguration: {subnets: []}")]), vec![(m, "networkConfiguration.subnets", "must name at least one subnet".into())]),
        ("subnets a string", jobs(&[job("migrate", ", networkConfiguration: {subnets: subnet-1}")]), vec![(m, "networkConfiguration.subnets", "expected a list of strings, found a string (write `subnets: [subnet-1]`)".into())]),
        ("a subnet empty", jobs(&[job("migrate", ", networkConfiguration: {subnets: [subnet-1, '']}")]), vec![(m, "networkConfiguration.subnets", "entry 2: must not be empty".into())]),
        ("assignPublicIp ENABLED", jobs(&[job("migrate", ", networkConfiguration: {subnets: [s], assignPublicIp: ENABLED}")]), vec![(m, "networkConfiguration.assignPublicIp", "expected true or false, found a string".into())]),
        ("network unknown key", jobs(&[job("migrate", ", networkConfiguration: {subnet: [s]}")]), vec![(m, "networkConfiguration.subnet", "unknown field `subnet` (did you mean `subnets`?)".into())]),
        ("launchType lowercase", jobs(&[job("migrate", ", launchType: fargate")]), vec![(m, "launchType", "must be one of FARGATE, EC2, EXTERNAL; got `fargate`".into())]),
        ("launchType and strategy", jobs(&[job("migrate", ", launchType: FARGATE, capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 1}]")]), vec![(m, "capacityProviderStrategy", "give either `launchType` or `capacityProviderStrategy`, not both: ECS refuses a task with both".into())]),
        ("strategy empty", jobs(&[job("migrate", ", capacityProviderStrategy: []")]), vec![(m, "capacityProviderStrategy", "must name at least one capacity provider (or leave it out)".into())]),
        ("strategy a string", jobs(&[job("migrate", ", capacityProviderStrategy: FARGATE")]), vec![(m, "capacityProviderStrategy", "expected a list of `{capacityProvider, weight, base}`, found a string".into())]),
        ("strategy entry a string", jobs(&[job("migrate", ", capacityProviderStrategy: [FARGATE]")]), vec![(m, "capacityProviderStrategy", "entry 1: expected a mapping `{capacityProvider, weight, base}`, found a string".into())]),
        ("provider missing", jobs(&[job("migrate", ", capacityProviderStrategy: [{weight: 1}]")]), vec![(m, "capacityProviderStrategy[0].capacityProvider", "is required".into())]),
        ("weight 1001", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, weight: 1001}]")]), vec![(m, "capacityProviderStrategy[0].weight", "must be between 0 and 1000, got 1001".into())]),
        ("weight negative", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, weight: -1}]")]), vec![(m, "capacityProviderStrategy[0].weight", "must be between 0 and 1000, got -1".into())]),
        ("base 100001", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, weight: 1}, {capacityProvider: B, base: 100001}]")]), vec![(m, "capacityProviderStrategy[1].base", "must be between 0 and 100000, got 100001".into())]),
        ("weight a string", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, weight: '1'}]")]), vec![(m, "capacityProviderStrategy[0].weight", "expected a whole number, found a string".into())]),
        ("strategy unknown key", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, wieght: 1}]")]), vec![(m, "capacityProviderStrategy[0].wieght", "unknown field `wieght` (did you mean `weight`?)".into())]),
        ("a provider twice", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, weight: 1}, {capacityProvider: A, weight: 2}]")]), vec![(m, "capacityProviderStrategy[1].capacityProvider", "`A` is already capacityProviderStrategy[0]: name each capacity provider once".into())]),
        ("two bases", jobs(&[job("migrate", ", capacityProviderStrategy: [{capacityProvider: A, base: 1}, {capacityProvider: B, weight: 1, base: 2}]")]), vec![(m, "capacityProviderStrategy[1].base", "capacityProviderStrategy[0] has a base already: ECS takes a base on one capacity provider of a strategy only".into())]),
        ("platformVersion a number", jobs(&[job("migrate", ", platformVersion: 1.4")]), vec![(m, "platformVersion", "expected a string, found the number 1.4 (quote it: \"1.4\")".into())]),
        ("timeout 59", jobs(&[job("migrate", ", timeoutSeconds: 59")]), vec![(m, "timeoutSeconds", "must be between 60 and 10800, got 59".into())]),
        ("timeout 10801", jobs(&[job("migrate", ", timeoutSeconds: 10801")]), vec![(m, "timeoutSeconds", "must be between 60 and 10800, got 10801".into())]),
        ("dependsOn a string", jobs(&[job("migrate", ", dependsOn: prod/db")]), vec![(m, "dependsOn", "expected a list of item names, found a string (write `dependsOn: [prod/db]`)".into())]),
        ("the same job twice", jobs(&[job("migrate", ""), job("other", ""), job("migrate", ", timeoutSeconds: 120")]), vec![("jobs[2] (migrate)", "name", "duplicates jobs[0]: each job may appear once per release (jobs are not merged; to run it twice, give the second a `name` of its own)".into())]),
        ("the same job twice, once by cluster ARN", jobs(&[job("migrate", ""), job("migrate", "").replace("clusterName: prod", "clusterName: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod'")]), vec![("jobs[1] (migrate)", "name", "duplicates jobs[0]: each job may appear once per release (jobs are not merged; to run it twice, give the second a `name` of its own)".into())]),
        ("one name in two clusters", jobs(&[job("migrate", ""), job("migrate", "").replace("clusterName: prod", "clusterName: staging")]), vec![("jobs[1] (migrate)", "name", "`migrate` is already the name of jobs[0] (migrate): each item's name must be unique in the release".into())]),
        ("a job named like a service", format!("services:\n{}{}", svc("web", ", name: migrate"), jobs(&[job("migrate", "")])), vec![("jobs[0] (migrate)", "name", "`migrate` is already the name of services[0] (prod/web): each item's name must be unique in the release".into())]),
        ("a job named as a service's default name", format!("tasks:\n  - {{service: app, ruleName: nightly, image: r/app:2}}\n{}", jobs(&[job("nightly", "")])), vec![("jobs[0] (nightly)", "name", "`nightly` is already the name of tasks[0] (nightly): each item's name must be unique in the release".into())]),
    ];
    for (case, yaml, want) in cases {
        let found = problems(&yaml);
        assert_eq!(found, owned(want), "{case}");
    }
}

#[test]
fn every_problem_of_a_job_is_reported_at_once() {
    let yaml = "jobs:\n  - {name: migrate, clusterName: prod, taskDefinition: 'app:3', image: R/app, service: app, overrides: {app: {command: x, environment: {N: 1}}}, networkFrom: api, networkConfiguration: {subnets: []}, launchType: SPOT, capacityProviderStrategy: [{capacityProvider: A, weight: 2000}], timeoutSeconds: 5}\n";
    let places: Vec<(String, String)> = problems(yaml)
        .into_iter()
        .map(|(item, field, _)| (item, field))
        .collect();
    let m = "jobs[0] (migrate)".to_owned();
    let want = [
        "taskDefinition",
        "image",
        "overrides.app.command",
        "overrides.app.environment.N",
        "networkFrom",
        "networkConfiguration",
        "networkConfiguration.subnets",
        "launchType",
        "capacityProviderStrategy",
        "capacityProviderStrategy[0].weight",
        "timeoutSeconds",
    ];
    let want: Vec<(String, String)> = want.iter().map(|f| (m.clone(), (*f).to_owned())).collect();
    assert_eq!(places, want);
}

#[test]
fn jobs_take_their_place_in_the_waves() {
    // (case, manifest, waves)
    let cases: Vec<(&str, String, Vec<Vec<&str>>)> = vec![
        (
            "the migration, then the api, then web and worker",
            format!(
                "services:\n{}{}{}{}",
                svc("web", ", dependsOn: [prod/api]"),
                svc("worker", ", dependsOn: [prod/api]"),
                svc("api", ", dependsOn: [migrate]"),
                jobs(&[job("migrate", "")])
            ),
            vec![vec!["migrate"], vec!["prod/api"], vec!["prod/web", "prod/worker"]],
        ),
        (
            "a job after a service",
            format!("services:\n{}{}", svc("db", ""), jobs(&[job("seed", ", dependsOn: [prod/db]")])),
            vec![vec!["prod/db"], vec!["seed"]],
        ),
        (
            "a job after a job, a task after both",
            format!(
                "tasks:\n  - {{service: app, ruleName: nightly, image: r/app:2, dependsOn: [seed]}}\n{}",
                jobs(&[job("seed", ", dependsOn: [migrate]"), job("migrate", "")])
            ),
            vec![vec!["migrate"], vec!["seed"], vec!["nightly"]],
        ),
        (
            "no dependsOn: one wave, no `waves`",
            format!("services:\n{}{}", svc("web", ""), jobs(&[job("migrate", "")])),
            vec![],
        ),
    ];
    for (case, yaml, want) in cases {
        let input = parse(&yaml);
        let want: Vec<Vec<String>> = want
            .iter()
            .map(|w| w.iter().map(|n| (*n).to_owned()).collect())
            .collect();
        assert_eq!(input.waves, want, "{case}");
        assert_eq!(manifest::check_input(&input), [], "{case}");
    }
}

#[test]
fn depends_on_problems_through_jobs() {
    // (case, manifest, exactly its problems: item, field, message)
    let cases: Vec<(&str, String, Placed)> = vec![
        (
            "a cycle of one: a job on itself",
            jobs(&[job("migrate", ", dependsOn: [migrate]")]),
            vec![("jobs[0] (migrate)", "dependsOn", "names `migrate`, this item itself: an item cannot depend on itself")],
        ),
        (
            "a cycle of two: a service and a job",
            format!("services:\n{}{}", svc("api", ", dependsOn: [migrate]"), jobs(&[job("migrate", ", dependsOn: [prod/api]")])),
            vec![("services[0] (prod/api)", "dependsOn", "dependsOn forms a cycle: prod/api → migrate → prod/api")],
        ),
        (
            "a cycle of three: two jobs and a task",
            format!(
                "tasks:\n  - {{service: app, ruleName: nightly, image: r/app:2, dependsOn: [seed]}}\n{}",
                jobs(&[job("migrate", ", dependsOn: [nightly]"), job("seed", ", dependsOn: [migrate]")])
            ),
            vec![("tasks[0] (nightly)", "dependsOn", "dependsOn forms a cycle: nightly → seed → migrate → nightly")],
        ),
        (
            "an unknown name, a job suggested",
            format!("services:\n{}{}", svc("api", ", dependsOn: [migrat]"), jobs(&[job("migrate", "")])),
            vec![("services[0] (prod/api)", "dependsOn", "`migrat` is not the name of any item of this release (did you mean `migrate`?)")],
        ),
        (
            "a job naming an unknown item",
            format!("services:\n{}{}", svc("api", ""), jobs(&[job("migrate", ", dependsOn: [prod/ap]")])),
            vec![("jobs[0] (migrate)", "dependsOn", "`prod/ap` is not the name of any item of this release (did you mean `prod/api`?)")],
        ),
        (
            "a job with problems of its own is still a name",
            format!("services:\n{}{}", svc("api", ", dependsOn: [migrate]"), jobs(&[job("migrate", ", timeoutSeconds: 1")])),
            vec![("jobs[0] (migrate)", "timeoutSeconds", "must be between 60 and 10800, got 1")],
        ),
        (
            "a job's deadline counts in its wave",
            format!("services:\n{}{}", svc("api", ", timeoutSeconds: 3600, dependsOn: [migrate]"), jobs(&[job("migrate", ", timeoutSeconds: 7201")])),
            vec![("", "dependsOn", "the waves may wait 10,801 s in all, above the 10,800 s (3 h) a release may wait: each wave waits up to its longest timeoutSeconds (wave 1: 7,201 s for migrate; wave 2: 3,600 s for prod/api); lower timeoutSeconds or make fewer waves")],
        ),
    ];
    for (case, yaml, want) in cases {
        let found = problems(&yaml);
        assert_eq!(found, owned(want), "{case}");
    }
}

#[test]
fn a_rendered_input_s_jobs_are_checked_with_the_manifest_s_rules() {
    let valid = parse(&format!(
        "services:\n{}{}",
        svc("api", ", dependsOn: [migrate]"),
        jobs(&[job("migrate", ", networkFrom: prod/api")])
    ));
    assert_eq!(manifest::check_input(&valid), []);
    let m = "jobs[0] (migrate)";
    type Edit = Box<dyn Fn(&mut JobTarget)>;
    // (case, edit of the job, exactly its problems: item, field, message)
    let cases: Vec<(&str, Edit, Placed)> = vec![
        ("a bad name", Box::new(|j| { j.name = "db migrate".into(); }), vec![
            ("jobs[0] (db migrate)", "name", "`db migrate` is not a valid job name (1 to 255 letters, digits, `-` or `_`)"),
            ("services[0] (prod/api)", "dependsOn", "`migrate` is not the name of any item of this release: an item is named by its `name:`, else `cluster/service` for a service and the rule's name for a task (`bus/rule` off the default bus)"),
        ]),
        ("an empty cluster", Box::new(|j| { j.cluster = String::new(); }), vec![(m, "cluster", "must not be empty")]),
        ("a revision", Box::new(|j| { j.task_definition = "app-migrate:3".into(); }), vec![(m, "taskDefinition", "`app-migrate:3` names a revision: name the family (`app-migrate`); convoy runs a clone of its newest ACTIVE revision")]),
        ("a timeout of 0", Box::new(|j| { j.timeout_seconds = 0; }), vec![(m, "timeoutSeconds", "must be between 60 and 10800, got 0")]),
        ("both networks", Box::new(|j| { j.launch.network_configuration = Some(AwsVpcSettings { subnets: vec!["s".into()], ..AwsVpcSettings::default() }); }), vec![(m, "networkConfiguration", "give either `networkFrom` (a service's network configuration) or `networkConfiguration`, not both")]),
        ("no subnets", Box::new(|j| { j.launch.network_from = None; j.launch.network_configuration = Some(AwsVpcSettings::default()); }), vec![(m, "networkConfiguration.subnets", "must name at least one subnet")]),
        ("networkFrom not cluster/service", Box::new(|j| { j.launch.network_from = Some("api".into()); }), vec![(m, "networkFrom", "`api` is not `cluster/service`: name the service whose network configuration the job's task gets, by its cluster's and its own name (`prod/api`)")]),
        ("launch type and strategy", Box::new(|j| {
            j.launch.launch_type = Some("FARGATE".into());
            j.launch.capacity_provider_strategy = vec![CapacityProviderShare { capacity_provider: "A".into(), weight: 1, base: 0 }];
        }), vec![(m, "capacityProviderStrategy", "give either `launchType` or `capacityProviderStrategy`, not both: ECS refuses a task with both")]),
        ("an unknown launch type", Box::new(|j| { j.launch.launch_type = Some("SPOT".into()); }), vec![(m, "launchType", "must be one of FARGATE, EC2, EXTERNAL; got `SPOT`")]),
        ("capacity bounds, a provider twice, two bases", Box::new(|j| {
            j.launch.capacity_provider_strategy = vec![
                CapacityProviderShare { capacity_provider: "A".into(), weight: 1001, base: 1 },
                CapacityProviderShare { capacity_provider: "A".into(), weight: 1, base: 100_001 },
            ];
        }), vec![
            (m, "capacityProviderStrategy[0].weight", "must be between 0 and 1000, got 1001"),
            (m, "capacityProviderStrategy[1].base", "must be between 0 and 100000, got 100001"),
            (m, "capacityProviderStrategy[1].capacityProvider", "`A` is already capacityProviderStrategy[0]: name each capacity provider once"),
            (m, "capacityProviderStrategy[1].base", "capacityProviderStrategy[0] has a base already: ECS takes a base on one capacity provider of a strategy only"),
        ]),
        ("overrides", Box::new(|j| {
            j.overrides.insert("app.1".into(), ContainerOverride { command: Some(Vec::new()), environment: BTreeMap::from([("A B".into(), "x".into())]) });
        }), vec![
            (m, "overrides.app.1", "`app.1` is not a valid container name (up to 255 letters, digits, `-` or `_`)"),
            (m, "overrides.app.1.command", "must not be empty: leave `command` out to run the definition's"),
            (m, "overrides.app.1.environment", "`A B` is not an environment variable name (not empty, no `=` or whitespace)"),
        ]),
        ("an image without a tag", Box::new(|j| { j.images = Images::Default { preferred: "app".into(), image: "r/app".into() }; }), vec![(m, "images.default.image", "`r/app` has no tag or digest: pin a version such as `r/app:1.2.3` (or set `settings.allowLatest: true`)")]),
        ("listed twice", Box::new(|_| {}), vec![("jobs[1] (migrate)", "name", "duplicates jobs[0]: each job may appear once per release (jobs are not merged; to run it twice, give the second a `name` of its own)")]),
    ];
    for (case, edit, want) in cases {
        let mut input = valid.clone();
        edit(&mut input.jobs[0]);
        if case == "listed twice" {
            input.jobs.push(input.jobs[0].clone());
        }
        let found: Vec<(String, String, String)> = manifest::check_input(&input)
            .into_iter()
            .map(|p| (p.item, p.field, p.message))
            .collect();
        assert_eq!(found, owned(want), "{case}");
    }
    // A job-only input is a release.
    let mut only = valid.clone();
    only.services.clear();
    only.waves.clear();
    only.jobs[0].launch.network_from = None;
    assert_eq!(manifest::check_input(&only), []);
}

#[test]
fn planning_names_a_job_s_cluster_by_name_and_refuses_another_account() {
    let input = parse(&jobs(&[job("migrate", "").replace(
        "clusterName: prod",
        "clusterName: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod'",
    )]));
    let home = |account: &str| Home {
        region: Some("eu-west-1".into()),
        account: Some(account.into()),
    };
    let normalized = manifest::normalized(input.clone(), &home("123456789012")).unwrap();
    assert_eq!(normalized.jobs[0].cluster, "prod");
    let refused = manifest::normalized(input, &home("210987654321")).unwrap_err();
    let places: Vec<(&str, &str, &str)> = refused
        .iter()
        .map(|p| (p.item.as_str(), p.field.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        places,
        [(
            "jobs[0] (migrate)",
            "cluster",
            "`arn:aws:ecs:eu-west-1:123456789012:cluster/prod` is in account 123456789012 (the \
             release runs in 210987654321): convoy releases the services of its own account and \
             region only"
        )]
    );
}

#[test]
fn the_migration_fixture_runs_its_job_first() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/manifests/jobs/deployment.yaml");
    let text = std::fs::read_to_string(&path).expect("the fixture");
    let input = parse(&text);
    let image = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/app:3.1.0";
    assert_eq!(
        input.jobs,
        [JobTarget {
            images: Images::Default {
                preferred: "app".into(),
                image: image.into(),
            },
            overrides: BTreeMap::from([(
                "app".to_owned(),
                ContainerOverride {
                    command: Some(vec!["bin/rails".into(), "db:migrate".into()]),
                    environment: BTreeMap::from([(
                        "RAILS_ENV".to_owned(),
                        "production".to_owned()
                    )]),
                },
            )]),
            launch: JobLaunchSettings {
                network_from: Some("prod/api".into()),
                ..JobLaunchSettings::default()
            },
            timeout_seconds: 1800,
            ..migrate()
        }]
    );
    assert_eq!(
        input.waves,
        [
            vec!["migrate".to_owned()],
            vec!["api".to_owned()],
            vec!["prod/web".to_owned(), "prod/worker".to_owned()],
        ]
    );
    let rendered = manifest::render(&input);
    assert!(
        rendered.contains(
            "\"waves\": [\n    [\n      \"migrate\"\n    ],\n    [\n      \"api\"\n    ],"
        ),
        "{rendered}"
    );
    assert_eq!(manifest::check_input(&input), []);
}
