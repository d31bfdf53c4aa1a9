//! `schedules:` (EventBridge Scheduler schedules whose target runs an ECS task): each table case is a
//! small manifest and exactly what it renders to, or exactly the problems it produces (file, item,
//! field, message).

use std::collections::BTreeMap;

use release_core::contract::{Images, ReleaseInput, ScheduleTarget, DEFAULT_SCHEDULE_GROUP};
use release_core::decide::manifest;

const FILE: &str = "deployment.yaml";

type Placed = Vec<(&'static str, &'static str, &'static str)>;

fn owned(want: Placed) -> Vec<(String, String, String)> {
    want.into_iter()
        .map(|(i, f, m)| (i.to_owned(), f.to_owned(), m.to_owned()))
        .collect()
}

/// A valid schedule entry in the sample format, with `extra` fields.
fn schedule(name: &str, extra: &str) -> String {
    format!("  - {{scheduleName: {name}, service: report, image: r/report:2{extra}}}\n")
}

/// `prod/<name>` in the sample format, with `extra` fields.
fn svc(name: &str, extra: &str) -> String {
    format!("  - {{service: {name}, clusterName: prod, serviceName: {name}, image: r/{name}:2{extra}}}\n")
}

fn schedules(entries: &[String]) -> String {
    format!("schedules:\n{}", entries.concat())
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

/// The schedule `nightly-report` of the default group as the minimal entry renders.
fn nightly() -> ScheduleTarget {
    ScheduleTarget {
        name: None,
        depends_on: Vec::new(),
        schedule: "nightly-report".into(),
        group: DEFAULT_SCHEDULE_GROUP.into(),
        images: Images::Default {
            preferred: "report".into(),
            image: "r/report:2".into(),
        },
    }
}

fn containers(pairs: &[(&str, &str)]) -> Images {
    Images::Containers(
        pairs
            .iter()
            .map(|(c, i)| ((*c).to_owned(), (*i).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    )
}

#[test]
fn a_valid_schedule_renders_to_its_schedule_target() {
    // (case, manifest, the schedule it renders to)
    let cases: Vec<(&str, String, ScheduleTarget)> = vec![
        (
            "the sample's image form, the default group",
            schedules(&[schedule("nightly-report", "")]),
            nightly(),
        ),
        (
            "containers, a group, a name, dependsOn, block style",
            "services:
  - {service: api, clusterName: prod, serviceName: api, image: r/api:2}
schedules:
  - scheduleName: nightly-report
    groupName: reports
    containers:
      report: r/report:2
      log-router: r/fluent-bit:3
    name: nightly
    dependsOn: [prod/api]
"
            .into(),
            ScheduleTarget {
                name: Some("nightly".into()),
                depends_on: vec!["prod/api".into()],
                group: "reports".into(),
                images: containers(&[("report", "r/report:2"), ("log-router", "r/fluent-bit:3")]),
                ..nightly()
            },
        ),
        (
            "the default group given",
            schedules(&[schedule("nightly-report", ", groupName: default")]),
            nightly(),
        ),
        (
            "names of 64 characters",
            schedules(&[schedule(
                &"s".repeat(64),
                &format!(", groupName: {}", "g".repeat(64)),
            )]),
            ScheduleTarget {
                schedule: "s".repeat(64),
                group: "g".repeat(64),
                ..nightly()
            },
        ),
    ];
    for (case, yaml, want) in cases {
        let input = parse(&yaml);
        assert_eq!(input.schedules, [want], "{case}");
        assert_eq!(manifest::check_input(&input), [], "{case}");
        // The rendered input reads back as itself.
        let back: ReleaseInput = serde_json::from_str(&manifest::render(&input)).expect(case);
        assert_eq!(back, input, "{case}");
    }
}

#[test]
fn a_release_of_schedules_only_is_a_release() {
    let input = parse(&schedules(&[schedule("nightly-report", "")]));
    assert!(input.services.is_empty() && input.tasks.is_empty() && input.jobs.is_empty());
    assert_eq!(input.schedules, [nightly()]);
    assert!(input.release.id.starts_with("r-"), "{}", input.release.id);
    let rendered = manifest::render(&input);
    assert!(rendered.contains("\"schedules\": ["), "{rendered}");
    // No schedules: the key is left out, as before schedules existed.
    let plain = parse(&format!("services:\n{}", svc("web", "")));
    assert!(!manifest::render(&plain).contains("schedules"));
    // An empty `schedules:` is no release, and the message names schedules.
    let empty = vec![(
        "",
        "services",
        "the release is empty: give at least one item under `services:`, `tasks:`, `schedules:` \
         or `jobs:`",
    )];
    assert_eq!(problems("schedules: []\n"), owned(empty.clone()));
    assert_eq!(problems("schedules:\njobs: []\n"), owned(empty));
}

#[test]
fn every_problem_names_its_schedule_and_field() {
    let n = "schedules[0] (nightly-report)";
    let long = "s".repeat(65);
    let long_yaml = schedules(&[schedule(&long, "")]);
    let long_label = format!("schedules[0] ({long})");
    let long_message = format!(
        "`{long}` is not a valid EventBridge Scheduler schedule name (1 to 64 letters, digits, \
         `.`, `-` or `_`)"
    );
    assert_eq!(
        problems(&long_yaml),
        [(long_label, "scheduleName".to_owned(), long_message)]
    );
    // (case, manifest, exactly its problems: item, field, message)
    let cases: Vec<(&str, String, Placed)> = vec![
        (
            "no scheduleName",
            "schedules:\n  - {service: report, image: r/report:2}\n".into(),
            vec![("schedules[0]", "scheduleName", "is required")],
        ),
        (
            "a scheduleName with a space",
            schedules(&[schedule("'nightly report'", "")]),
            vec![("schedules[0] (nightly report)", "scheduleName", "`nightly report` is not a valid EventBridge Scheduler schedule name (1 to 64 letters, digits, `.`, `-` or `_`)")],
        ),
        (
            "an empty scheduleName",
            schedules(&[schedule("''", "")]),
            vec![("schedules[0] ()", "scheduleName", "must not be empty")],
        ),
        (
            "a scheduleName that is a number",
            schedules(&[schedule("7", "")]),
            vec![("schedules[0]", "scheduleName", "expected a string, found the number 7 (quote it: \"7\")")],
        ),
        (
            "a schedule ARN",
            schedules(&[schedule("'arn:aws:scheduler:eu-west-1:123456789012:schedule/reports/nightly-report'", "")]),
            vec![("schedules[0] (arn:aws:scheduler:eu-west-1:123456789012:schedule/reports/nightly-report)", "scheduleName", "`arn:aws:scheduler:eu-west-1:123456789012:schedule/reports/nightly-report` is an ARN: give the schedule's name (`nightly-report`) here and its group (`reports`) in `groupName` (a release changes schedules of its own account and region)")],
        ),
        (
            "a bad group",
            schedules(&[schedule("nightly-report", ", groupName: 'ops/reports'")]),
            vec![("schedules[0] (ops/reports/nightly-report)", "groupName", "`ops/reports` is not a valid schedule group name (1 to 64 letters, digits, `.`, `-` or `_`)")],
        ),
        (
            "a group that is not a string",
            schedules(&[schedule("nightly-report", ", groupName: [reports]")]),
            vec![(n, "groupName", "expected a string, found a list")],
        ),
        (
            "a misspelled key",
            schedules(&[schedule("nightly-report", ", groupname: reports")]),
            vec![(n, "groupname", "unknown field `groupname` (did you mean `groupName`?)")],
        ),
        (
            "a rule's key",
            schedules(&[schedule("nightly-report", ", eventBusName: ops")]),
            vec![(n, "eventBusName", "unknown field `eventBusName` (expected one of: scheduleName, groupName, service, image, containers, name, dependsOn)")],
        ),
        (
            "no image",
            "schedules:\n  - {scheduleName: nightly-report, service: report}\n".into(),
            vec![(n, "image", "is required (or `containers` to set several containers)")],
        ),
        (
            "image without service",
            "schedules:\n  - {scheduleName: nightly-report, image: r/report:2}\n".into(),
            vec![(n, "service", "is required with `image`: it names the container that gets the image")],
        ),
        (
            "both image and containers",
            schedules(&[schedule("nightly-report", ", containers: {report: r/report:3}")]),
            vec![(n, "containers", "give either `image` (with `service`) or `containers`, not both")],
        ),
        (
            "an image with :latest",
            schedules(&[schedule("nightly-report", "").replace("r/report:2", "r/report:latest")]),
            vec![(n, "image", "`r/report:latest` uses the `latest` tag: pin a version (or set `settings.allowLatest: true`)")],
        ),
        (
            "a bad container name",
            "schedules:\n  - {scheduleName: nightly-report, containers: {'a.b': r/report:2}}\n".into(),
            vec![(n, "containers.a.b", "`a.b` is not a valid container name (up to 255 letters, digits, `-` or `_`)")],
        ),
        (
            "dependsOn a string",
            format!("services:\n{}{}", svc("api", ""), schedules(&[schedule("nightly-report", ", dependsOn: prod/api")])),
            vec![(n, "dependsOn", "expected a list of item names, found a string (write `dependsOn: [prod/api]`)")],
        ),
        (
            "dependsOn an unknown name",
            format!("services:\n{}{}", svc("api", ""), schedules(&[schedule("nightly-report", ", dependsOn: [prod/ap]")])),
            vec![(n, "dependsOn", "`prod/ap` is not the name of any item of this release (did you mean `prod/api`?)")],
        ),
        (
            "a name that is not a string",
            schedules(&[schedule("nightly-report", ", name: [nightly]")]),
            vec![(n, "name", "expected a string, found a list")],
        ),
        (
            "schedules not a list",
            "schedules: {scheduleName: nightly-report}\n".into(),
            vec![("", "schedules", "expected a list, found a mapping")],
        ),
        (
            "an entry not a mapping",
            "schedules:\n  - nightly-report\n".into(),
            vec![("schedules[0]", "", "expected a mapping, found a string")],
        ),
    ];
    for (case, yaml, want) in cases {
        assert_eq!(problems(&yaml), owned(want), "{case}");
    }
}

#[test]
fn every_problem_is_reported_at_once_and_changes_nothing() {
    let yaml = format!(
        "services:\n{}{}",
        svc("api", ""),
        schedules(&[
            "  - {service: report, image: r/report:2}\n".into(),
            schedule("nightly-report", ", groupName: 'a b', dependsOn: [prod/ap]"),
            schedule("weekly", ", imag: r/report:3"),
        ])
    );
    assert_eq!(
        problems(&yaml),
        owned(vec![
            ("schedules[0]", "scheduleName", "is required"),
            ("schedules[1] (a b/nightly-report)", "groupName", "`a b` is not a valid schedule group name (1 to 64 letters, digits, `.`, `-` or `_`)"),
            ("schedules[2] (weekly)", "imag", "unknown field `imag` (did you mean `image`?)"),
            // An entry with a bad group is still its schedule: its dependsOn is checked too.
            ("schedules[1] (a b/nightly-report)", "dependsOn", "`prod/ap` is not the name of any item of this release (did you mean `prod/api`?)"),
        ])
    );
}

#[test]
fn entries_naming_one_schedule_are_one_item() {
    // The sample lists a rule once per container; a schedule's entries merge the same way.
    let input = parse(&schedules(&[
        schedule("nightly-report", ", groupName: reports, dependsOn: [prod/api]"),
        "  - {scheduleName: nightly-report, groupName: reports, service: log-router, image: r/fluent-bit:3}\n".into(),
        schedule("nightly-report", ""),
    ]).replace("schedules:\n", &format!("services:\n{}schedules:\n", svc("api", ""))));
    assert_eq!(
        input.schedules,
        [
            ScheduleTarget {
                group: "reports".into(),
                depends_on: vec!["prod/api".into()],
                images: containers(&[("report", "r/report:2"), ("log-router", "r/fluent-bit:3")]),
                ..nightly()
            },
            // Another group: another schedule.
            nightly(),
        ]
    );
    assert_eq!(
        input.waves,
        [
            vec!["prod/api", "nightly-report"],
            vec!["reports/nightly-report"]
        ]
    );
    assert_eq!(manifest::check_input(&input), []);

    let r = "schedules[1] (reports/nightly-report)";
    // (case, manifest, exactly its problems)
    let cases: Vec<(&str, String, Placed)> = vec![
        (
            "one container, two images",
            schedules(&[
                schedule("nightly-report", ", groupName: reports"),
                schedule("nightly-report", ", groupName: reports").replace("r/report:2", "r/report:3"),
            ]),
            vec![(r, "image", "container `report` gets `r/report:3` here but `r/report:2` in schedules[0] (reports/nightly-report): entries for one schedule are merged into one item, and a container takes one image per release")],
        ),
        (
            "two names",
            schedules(&[
                schedule("nightly-report", ", groupName: reports, name: a"),
                schedule("nightly-report", ", groupName: reports, name: b"),
            ]),
            vec![(r, "name", "is `b` here but `a` in schedules[0] (reports/nightly-report): entries for one schedule are merged into one item, so their settings must agree")],
        ),
        (
            "two dependsOn",
            format!(
                "services:\n{}{}{}",
                svc("api", ""),
                svc("db", ""),
                schedules(&[
                    schedule("nightly-report", ", groupName: reports, dependsOn: [prod/api]"),
                    schedule("nightly-report", ", groupName: reports, dependsOn: [prod/db]"),
                ])
            ),
            vec![(r, "dependsOn", "is [prod/db] here but [prod/api] in schedules[0] (reports/nightly-report): entries for one schedule are merged into one item, so their settings must agree")],
        ),
    ];
    for (case, yaml, want) in cases {
        assert_eq!(problems(&yaml), owned(want), "{case}");
    }
}

#[test]
fn schedules_take_their_place_in_the_waves() {
    // (case, manifest, its waves)
    let cases: Vec<(&str, String, Vec<Vec<&str>>)> = vec![
        (
            "a schedule after a service",
            format!("services:\n{}{}", svc("api", ""), schedules(&[schedule("nightly-report", ", dependsOn: [prod/api]")])),
            vec![vec!["prod/api"], vec!["nightly-report"]],
        ),
        (
            "a service after a schedule off the default group, by its default name",
            format!("services:\n{}{}", svc("api", ", dependsOn: [reports/nightly-report]"), schedules(&[schedule("nightly-report", ", groupName: reports")])),
            vec![vec!["reports/nightly-report"], vec!["prod/api"]],
        ),
        (
            "a named schedule",
            format!("services:\n{}{}", svc("api", ", dependsOn: [nightly]"), schedules(&[schedule("nightly-report", ", groupName: reports, name: nightly")])),
            vec![vec!["nightly"], vec!["prod/api"]],
        ),
        (
            "a task, a schedule and a job in order",
            format!(
                "tasks:\n  - {{service: app, ruleName: hourly, image: r/app:2}}\n{}jobs:\n  - {{name: migrate, clusterName: prod, taskDefinition: app-migrate, service: app, image: r/app:2, dependsOn: [nightly-report]}}\n",
                schedules(&[schedule("nightly-report", ", dependsOn: [hourly]")])
            ),
            vec![vec!["hourly"], vec!["nightly-report"], vec!["migrate"]],
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
fn depends_on_problems_through_schedules() {
    // (case, manifest, exactly its problems)
    let cases: Vec<(&str, String, Placed)> = vec![
        (
            "a schedule on itself",
            schedules(&[schedule("nightly-report", ", dependsOn: [nightly-report]")]),
            vec![("schedules[0] (nightly-report)", "dependsOn", "names `nightly-report`, this item itself: an item cannot depend on itself")],
        ),
        (
            "a cycle through a schedule and a service",
            format!("services:\n{}{}", svc("api", ", dependsOn: [reports/nightly-report]"), schedules(&[schedule("nightly-report", ", groupName: reports, dependsOn: [prod/api]")])),
            vec![("services[0] (prod/api)", "dependsOn", "dependsOn forms a cycle: prod/api → reports/nightly-report → prod/api")],
        ),
        (
            "a cycle of a task, a schedule and a job",
            format!(
                "tasks:\n  - {{service: app, ruleName: hourly, image: r/app:2, dependsOn: [migrate]}}\n{}jobs:\n  - {{name: migrate, clusterName: prod, taskDefinition: app-migrate, service: app, image: r/app:2, dependsOn: [nightly-report]}}\n",
                schedules(&[schedule("nightly-report", ", dependsOn: [hourly]")])
            ),
            vec![("tasks[0] (hourly)", "dependsOn", "dependsOn forms a cycle: hourly → migrate → nightly-report → hourly")],
        ),
        (
            "a schedule with problems of its own is still a name",
            format!(
                "services:\n{}{}",
                svc("api", ", dependsOn: [reports/nightly-report]"),
                schedules(&["  - {scheduleName: nightly-report, groupName: reports, service: report}\n".into()])
            ),
            vec![("schedules[0] (reports/nightly-report)", "image", "is required (or `containers` to set several containers)")],
        ),
        (
            "a schedule's name taken by a service",
            format!("services:\n{}{}", svc("api", ", name: nightly"), schedules(&[schedule("nightly-report", ", name: nightly")])),
            vec![("schedules[0] (nightly-report)", "name", "`nightly` is already the name of services[0] (prod/api): each item's name must be unique in the release")],
        ),
    ];
    for (case, yaml, want) in cases {
        assert_eq!(problems(&yaml), owned(want), "{case}");
    }
}

#[test]
fn a_rendered_input_s_schedules_are_checked_with_the_manifest_s_rules() {
    let valid = parse(&format!(
        "services:\n{}{}",
        svc("api", ""),
        schedules(&[schedule("nightly-report", ", groupName: reports")])
    ));
    assert_eq!(manifest::check_input(&valid), []);
    type Edit = Box<dyn Fn(&mut ReleaseInput)>;
    // (case, edit, exactly its problems)
    let cases: Vec<(&str, Edit, Placed)> = vec![
        (
            "a bad schedule name",
            Box::new(|i| i.schedules[0].schedule = "nightly report".into()),
            vec![
                ("schedules[0] (reports/nightly report)", "schedule", "`nightly report` is not a valid EventBridge Scheduler schedule name (1 to 64 letters, digits, `.`, `-` or `_`)"),
            ],
        ),
        (
            "a bad group",
            Box::new(|i| i.schedules[0].group = String::new()),
            vec![("schedules[0] (/nightly-report)", "group", "`` is not a valid schedule group name (1 to 64 letters, digits, `.`, `-` or `_`)")],
        ),
        (
            "a bad image",
            Box::new(|i| {
                i.schedules[0].images = Images::Default {
                    preferred: "report".into(),
                    image: "r/report:latest".into(),
                }
            }),
            vec![("schedules[0] (reports/nightly-report)", "images.default.image", "`r/report:latest` uses the `latest` tag: pin a version (or set `settings.allowLatest: true`)")],
        ),
        (
            "a schedule listed twice",
            Box::new(|i| {
                let again = i.schedules[0].clone();
                i.schedules.push(again);
            }),
            vec![("schedules[1] (reports/nightly-report)", "schedule", "duplicates schedules[0]: each schedule may appear once per release (to change several containers, use `containers:`)")],
        ),
        (
            "schedules only",
            Box::new(|i| i.services.clear()),
            vec![],
        ),
        (
            "nothing at all",
            Box::new(|i| {
                i.services.clear();
                i.schedules.clear();
            }),
            vec![("", "services", "the release is empty: give at least one item under `services:`, `tasks:`, `schedules:` or `jobs:`")],
        ),
    ];
    for (case, edit, want) in cases {
        let mut input = valid.clone();
        edit(&mut input);
        let found: Vec<(String, String, String)> = manifest::check_input(&input)
            .into_iter()
            .map(|p| (p.item, p.field, p.message))
            .collect();
        assert_eq!(found, owned(want), "{case}");
    }
}

#[test]
fn the_documented_example_is_a_release() {
    // docs/manifest.md § Schedule entries, with the service it depends on.
    let input = parse(
        "services:
  - {service: api, clusterName: prod, serviceName: api, image: r/api:2}
schedules:
  - scheduleName: nightly-report
    groupName: reports                  # leave it out for the `default` group
    service: report                     # the container that gets `image`
    image: 111111111111.dkr.ecr.eu-west-1.amazonaws.com/report:2.4.0
    dependsOn: [prod/api]
",
    );
    assert_eq!(
        input.schedules,
        [ScheduleTarget {
            depends_on: vec!["prod/api".into()],
            group: "reports".into(),
            images: Images::Default {
                preferred: "report".into(),
                image: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/report:2.4.0".into(),
            },
            ..nightly()
        }]
    );
    assert_eq!(
        input.waves,
        [vec!["prod/api"], vec!["reports/nightly-report"]]
    );
}
