use super::*;
use crate::contract::examples::{app_image, plan, service_item};
use crate::contract::{
    Images, JobItem, JobLaunchSettings, JobTarget, ReleaseMeta, RuleItem, RuleTarget, ScheduleItem,
    ScheduleTarget, ServiceTarget, Settings,
};

fn image() -> Images {
    Images::Default {
        preferred: "app".into(),
        image: "r/app:1".into(),
    }
}

/// A service `cluster/service` depending on `deps`, with the default deadline.
fn svc(id: &str, deps: &[&str]) -> ServiceTarget {
    let (cluster, service) = id.rsplit_once('/').expect("cluster/service");
    ServiceTarget {
        name: None,
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        cluster: cluster.into(),
        service: service.into(),
        images: image(),
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        deployment_strategy: None,
        code_deploy: None,
        timeout_seconds: 900,
        suspend_auto_scaling: None,
    }
}

fn named(mut s: ServiceTarget, name: &str) -> ServiceTarget {
    s.name = Some(name.into());
    s
}

fn timeout(mut s: ServiceTarget, seconds: u32) -> ServiceTarget {
    s.timeout_seconds = seconds;
    s
}

/// A task on `bus/rule` (or `rule` on the default bus) depending on `deps`.
fn task(id: &str, deps: &[&str]) -> RuleTarget {
    let (bus, rule) = id.split_once('/').unwrap_or(("default", id));
    RuleTarget {
        name: None,
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        rule: rule.into(),
        event_bus: bus.into(),
        images: image(),
    }
}

/// A job `name` of cluster `prod` depending on `deps`, with `seconds` to run.
fn job(name: &str, deps: &[&str], seconds: u32) -> JobTarget {
    JobTarget {
        name: name.into(),
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        cluster: "prod".into(),
        task_definition: "app".into(),
        images: image(),
        overrides: Default::default(),
        launch: JobLaunchSettings::default(),
        timeout_seconds: seconds,
    }
}

fn with_jobs(mut input: ReleaseInput, jobs: Vec<JobTarget>) -> ReleaseInput {
    input.jobs = jobs;
    input
}

fn release(services: Vec<ServiceTarget>, tasks: Vec<RuleTarget>) -> ReleaseInput {
    ReleaseInput {
        release: ReleaseMeta {
            id: "r".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        services,
        tasks,
        schedules: Vec::new(),
        jobs: Vec::new(),
        waves: Vec::new(),
    }
}

fn waves(names: &[&[&str]]) -> Vec<Vec<String>> {
    names
        .iter()
        .map(|w| w.iter().map(|n| (*n).to_owned()).collect())
        .collect()
}

/// `n` tasks `t0`…, each depending on the one before.
fn task_chain(n: usize) -> Vec<RuleTarget> {
    (0..n)
        .map(|i| {
            let before = format!("t{}", i.wrapping_sub(1));
            let deps: Vec<&str> = if i == 0 { vec![] } else { vec![&before] };
            task(&format!("t{i}"), &deps)
        })
        .collect()
}

/// `n` services `prod/s0`… of `seconds` each, each depending on the one before.
fn service_chain(n: usize, seconds: u32) -> Vec<ServiceTarget> {
    (0..n)
        .map(|i| {
            let before = format!("prod/s{}", i.wrapping_sub(1));
            let deps: Vec<&str> = if i == 0 { vec![] } else { vec![&before] };
            timeout(svc(&format!("prod/s{i}"), &deps), seconds)
        })
        .collect()
}

#[test]
fn names_are_the_name_else_cluster_service_else_the_rule() {
    let input = release(
        vec![
            svc("prod/web", &[]),
            named(svc("prod/api", &[]), "api"),
            svc("arn:aws:ecs:eu-west-1:123456789012:cluster/prod/db", &[]),
        ],
        vec![task("nightly", &[]), task("ops/report", &[])],
    );
    let names: Vec<(ItemKind, usize, String, bool)> = items(&input)
        .into_iter()
        .map(|i| (i.kind, i.index, i.name, i.named))
        .collect();
    assert_eq!(
        names,
        [
            (ItemKind::Service, 0, "prod/web".into(), false),
            (ItemKind::Service, 1, "api".into(), true),
            (ItemKind::Service, 2, "prod/db".into(), false),
            (ItemKind::Task, 0, "nightly".into(), false),
            (ItemKind::Task, 1, "ops/report".into(), false),
        ]
    );
    assert_eq!(
        task_name(
            "arn:aws:events:eu-west-1:123456789012:event-bus/default",
            "n"
        ),
        "n"
    );
}

#[test]
fn waves_are_the_topological_levels_in_release_order() {
    // (case, release, waves)
    let cases: Vec<(&str, ReleaseInput, Vec<Vec<String>>)> = vec![
        (
            "no dependsOn: one wave",
            release(
                vec![svc("prod/web", &[]), svc("prod/api", &[])],
                vec![task("nightly", &[])],
            ),
            waves(&[&["prod/web", "prod/api", "nightly"]]),
        ),
        (
            "a chain, listed backwards",
            release(
                vec![
                    svc("prod/web", &["prod/api"]),
                    svc("prod/api", &["prod/db"]),
                    svc("prod/db", &[]),
                ],
                vec![],
            ),
            waves(&[&["prod/db"], &["prod/api"], &["prod/web"]]),
        ),
        (
            "a diamond",
            release(
                vec![
                    svc("prod/top", &["prod/left", "prod/right"]),
                    svc("prod/left", &["prod/base"]),
                    svc("prod/right", &["prod/base"]),
                    svc("prod/base", &[]),
                ],
                vec![],
            ),
            waves(&[&["prod/base"], &["prod/left", "prod/right"], &["prod/top"]]),
        ),
        (
            "one after the last of its dependencies",
            release(
                vec![
                    svc("prod/a", &[]),
                    svc("prod/b", &["prod/a"]),
                    svc("prod/c", &["prod/a", "prod/b"]),
                ],
                vec![],
            ),
            waves(&[&["prod/a"], &["prod/b"], &["prod/c"]]),
        ),
        (
            "a service after a task",
            release(
                vec![svc("prod/web", &["migrate"])],
                vec![task("migrate", &[])],
            ),
            waves(&[&["migrate"], &["prod/web"]]),
        ),
        (
            "a task after a service",
            release(
                vec![svc("prod/web", &[])],
                vec![task("ops/nightly", &["prod/web"])],
            ),
            waves(&[&["prod/web"], &["ops/nightly"]]),
        ),
        (
            "by name",
            release(
                vec![
                    named(svc("prod/web", &["db"]), "web"),
                    named(svc("prod/db", &[]), "db"),
                ],
                vec![task("nightly", &["web"])],
            ),
            waves(&[&["db"], &["web"], &["nightly"]]),
        ),
        (
            "a service by ARN is named by name",
            release(
                vec![
                    svc(
                        "arn:aws:ecs:eu-west-1:123456789012:cluster/prod/web",
                        &["prod/db"],
                    ),
                    svc("prod/db", &[]),
                ],
                vec![],
            ),
            waves(&[&["prod/db"], &["prod/web"]]),
        ),
        (
            "twenty waves",
            release(vec![], task_chain(20)),
            (0..20).map(|i| vec![format!("t{i}")]).collect(),
        ),
        (
            "deadlines adding up to 10,800 s",
            release(service_chain(12, 900), vec![]),
            (0..12).map(|i| vec![format!("prod/s{i}")]).collect(),
        ),
    ];
    for (case, input, want) in cases {
        assert_eq!(compile(&input), Ok(want), "{case}");
    }
}

#[test]
fn every_problem_is_reported_with_its_item_and_field() {
    // (case, release, [(item, field, message fragment)]): exactly these problems, in this order.
    type Want = Vec<(&'static str, &'static str, &'static str)>;
    let mut dense: Vec<ServiceTarget> = Vec::new();
    let all: Vec<String> = (0..6).map(|i| format!("prod/d{i}")).collect();
    for me in &all {
        let others: Vec<&str> = all
            .iter()
            .filter(|o| *o != me)
            .map(String::as_str)
            .collect();
        dense.push(svc(me, &others));
    }
    let cases: Vec<(&str, ReleaseInput, Want)> = vec![
        (
            "a cycle of one: itself",
            release(vec![svc("prod/api", &["prod/api"])], vec![]),
            vec![("services[0] (prod/api)", "dependsOn", "names `prod/api`, this item itself: an item cannot depend on itself")],
        ),
        (
            "itself, by its name",
            release(vec![named(svc("prod/api", &["api"]), "api")], vec![]),
            vec![("services[0] (prod/api)", "dependsOn", "names `api`, this item itself")],
        ),
        (
            "a cycle of two",
            release(vec![named(svc("prod/api", &["web"]), "api"), named(svc("prod/web", &["api"]), "web")], vec![]),
            vec![("services[0] (prod/api)", "dependsOn", "dependsOn forms a cycle: api → web → api")],
        ),
        (
            "a cycle of three, through a task",
            release(vec![svc("prod/a", &["nightly"]), svc("prod/b", &["prod/a"])], vec![task("nightly", &["prod/b"])]),
            vec![("services[0] (prod/a)", "dependsOn", "dependsOn forms a cycle: prod/a → nightly → prod/b → prod/a")],
        ),
        (
            "two cycles sharing an item, each once on its first item",
            release(vec![svc("prod/a", &["prod/b"]), svc("prod/b", &["prod/a", "prod/c"]), svc("prod/c", &["prod/b"])], vec![]),
            vec![
                ("services[0] (prod/a)", "dependsOn", "cycle: prod/a → prod/b → prod/a"),
                ("services[1] (prod/b)", "dependsOn", "cycle: prod/b → prod/c → prod/b"),
            ],
        ),
        (
            "two separate cycles, and the rest still in waves",
            release(vec![svc("prod/a", &["prod/b"]), svc("prod/b", &["prod/a"]), svc("prod/ok", &["prod/a"])], vec![task("x", &["y"]), task("y", &["x"])]),
            vec![
                ("services[0] (prod/a)", "dependsOn", "cycle: prod/a → prod/b → prod/a"),
                ("tasks[0] (x)", "dependsOn", "cycle: x → y → x"),
            ],
        ),
        (
            "a dense group: the first cycles, then that there are more",
            release(dense, vec![]),
            vec![
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d3 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d3 → prod/d4 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d3 → prod/d4 → prod/d5 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d3 → prod/d5 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d3 → prod/d5 → prod/d4 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d4 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d4 → prod/d3 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "cycle: prod/d0 → prod/d1 → prod/d2 → prod/d4 → prod/d3 → prod/d5 → prod/d0"),
                ("services[0] (prod/d0)", "dependsOn", "dependsOn forms more cycles than are named here, among these 6 items: prod/d0, prod/d1, prod/d2, prod/d3, prod/d4, prod/d5"),
            ],
        ),
        (
            "an unknown name, a close one suggested",
            release(vec![svc("prod/web", &["prod/dbb"]), svc("prod/db", &[])], vec![]),
            vec![("services[0] (prod/web)", "dependsOn", "`prod/dbb` is not the name of any item of this release (did you mean `prod/db`?)")],
        ),
        (
            "a service by its service name only",
            release(vec![svc("prod/web", &["database"]), svc("prod/database", &[])], vec![]),
            vec![("services[0] (prod/web)", "dependsOn", "`database` is not the name of any item of this release (did you mean `prod/database`?)")],
        ),
        (
            "an unknown name, nothing close",
            release(vec![svc("prod/web", &["migrations"])], vec![task("nightly", &[])]),
            vec![("services[0] (prod/web)", "dependsOn", "`migrations` is not the name of any item of this release: an item is named by its `name:`, else `cluster/service` for a service and the rule's name for a task (`bus/rule` off the default bus)")],
        ),
        (
            "every unknown name",
            release(vec![svc("prod/web", &["a", "b"])], vec![task("nightly", &["c"])]),
            vec![
                ("services[0] (prod/web)", "dependsOn", "`a` is not the name"),
                ("services[0] (prod/web)", "dependsOn", "`b` is not the name"),
                ("tasks[0] (nightly)", "dependsOn", "`c` is not the name"),
            ],
        ),
        (
            "a task by its rule only, off the default bus",
            release(vec![svc("prod/web", &["nightly"])], vec![task("ops/nightly", &[])]),
            vec![("services[0] (prod/web)", "dependsOn", "(did you mean `ops/nightly`?)")],
        ),
        (
            "a named item by its default name",
            release(vec![svc("prod/web", &["prod/db"]), named(svc("prod/db", &[]), "db")], vec![]),
            vec![("services[0] (prod/web)", "dependsOn", "`prod/db` is not the name of any item")],
        ),
        (
            "a dependency listed twice",
            release(vec![svc("prod/web", &["prod/db", "prod/db", "prod/db"]), svc("prod/db", &[])], vec![]),
            vec![("services[0] (prod/web)", "dependsOn", "names `prod/db` twice: list each dependency once")],
        ),
        (
            "a name given twice",
            release(vec![named(svc("prod/web", &[]), "app"), named(svc("prod/api", &[]), "app")], vec![]),
            vec![("services[1] (prod/api)", "name", "`app` is already the name of services[0] (prod/web): each item's name must be unique in the release")],
        ),
        (
            "a name that is another item's default name",
            release(vec![named(svc("prod/api", &[]), "prod/web"), svc("prod/web", &[])], vec![]),
            vec![("services[0] (prod/api)", "name", "`prod/web` is already the name of services[1] (prod/web)")],
        ),
        (
            "a task named like a service",
            release(vec![named(svc("prod/web", &[]), "web")], vec![RuleTarget { name: Some("web".into()), ..task("nightly", &[]) }]),
            vec![("tasks[0] (nightly)", "name", "`web` is already the name of services[0] (prod/web)")],
        ),
        (
            "a name with a space",
            release(vec![named(svc("prod/web", &[]), "the web")], vec![]),
            vec![("services[0] (prod/web)", "name", "`the web` contains whitespace")],
        ),
        (
            "an empty name",
            release(vec![named(svc("prod/web", &[]), "")], vec![]),
            vec![("services[0] (prod/web)", "name", "must not be empty")],
        ),
        (
            "a service and a rule sharing a default name, named in dependsOn",
            release(vec![svc("ops/nightly", &[]), svc("prod/web", &["ops/nightly"])], vec![task("ops/nightly", &[])]),
            vec![("services[1] (prod/web)", "dependsOn", "`ops/nightly` is the name of services[0] (ops/nightly) and tasks[0] (ops/nightly): give one of them a `name:` and depend on that")],
        ),
        (
            "more than 20 waves",
            release(vec![], task_chain(21)),
            vec![("", "dependsOn", "dependsOn makes 21 waves, more than the 20 a release may have; the longest chain is t20 → t19 → t18")],
        ),
        (
            "deadlines adding up to more than 10,800 s",
            release(
                vec![svc("prod/a", &[]), timeout(svc("prod/b", &[]), 3600), svc("prod/c", &["prod/a"]), timeout(svc("prod/d", &["prod/c"]), 10_000)],
                vec![task("t", &["prod/d"])],
            ),
            vec![("", "dependsOn", "the waves may wait 14,500 s in all, above the 10,800 s (3 h) a release may wait: each wave waits up to its longest timeoutSeconds (wave 1: 3,600 s for prod/b; wave 2: 900 s for prod/c; wave 3: 10,000 s for prod/d; wave 4: 0 s); lower timeoutSeconds or make fewer waves")],
        ),
        (
            "everything at once",
            release(
                vec![named(svc("prod/a", &["b", "nope"]), "a"), named(svc("prod/b", &["a"]), "b"), named(svc("prod/c", &["b", "b"]), "a")],
                vec![],
            ),
            vec![
                ("services[2] (prod/c)", "name", "`a` is already the name of services[0] (prod/a)"),
                ("services[0] (prod/a)", "dependsOn", "`nope` is not the name"),
                ("services[2] (prod/c)", "dependsOn", "names `b` twice"),
                ("services[0] (prod/a)", "dependsOn", "cycle: a → b → a"),
            ],
        ),
    ];
    for (case, input, want) in cases {
        let found = compile(&input).expect_err(case);
        let places: Vec<(&str, &str)> = found.iter().map(|p| (p.item.as_str(), p.field)).collect();
        let want_places: Vec<(&str, &str)> = want.iter().map(|(i, f, _)| (*i, *f)).collect();
        assert_eq!(places, want_places, "{case}: {found:#?}");
        for (problem, (_, _, fragment)) in found.iter().zip(&want) {
            assert!(
                problem.message.contains(fragment),
                "{case}: {fragment}\n got: {problem:#?}"
            );
        }
    }
}

#[test]
fn a_chain_of_thousands_compiles_without_recursion() {
    // 10,000 items in one chain: no stack overflow, then too many waves.
    let found = compile(&release(vec![], task_chain(10_000))).expect_err("too many waves");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.starts_with("dependsOn makes 10000 waves"),
        "{found:#?}"
    );
    // A cycle through all of them: one cycle, on the first.
    let mut tasks = task_chain(10_000);
    tasks[0].depends_on = vec!["t9999".into()];
    let found = compile(&release(vec![], tasks)).expect_err("a cycle");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].item, "tasks[0] (t0)");
    assert!(
        found[0]
            .message
            .starts_with("dependsOn forms a cycle: t0 → t9999 → t9998"),
        "{found:#?}"
    );
}

#[test]
fn dropped_waves_keep_the_order_of_the_others() {
    // (changes per compiled wave, numbers)
    let cases: [(&[bool], &[u32]); 6] = [
        (&[], &[]),
        (&[true], &[0]),
        (&[false], &[0]),
        (&[true, false, true], &[0, 0, 1]),
        (&[false, true, true], &[0, 0, 1]),
        (
            &[false, true, false, false, true, true],
            &[0, 0, 0, 0, 1, 2],
        ),
    ];
    for (changes, want) in cases {
        assert_eq!(renumber(changes), want, "{changes:?}");
    }
}

fn rule_item(rule: &str, noop: bool) -> RuleItem {
    RuleItem {
        id: format!("default/{rule}"),
        wave: 0,
        rule: rule.into(),
        event_bus: "default".into(),
        targets: Vec::new(),
        noop,
    }
}

fn unchanged(mut item: crate::contract::ServiceItem) -> crate::contract::ServiceItem {
    item.noop = true;
    item
}

#[test]
fn plan_items_get_their_waves_without_the_unchanged_ones() {
    let item = |s: &str| service_item("prod", s, "arn:td/x:1", app_image("r/x:2"));
    // db ← migrate ← api ← web, nightly after db.
    let input = release(
        vec![
            svc("prod/web", &["prod/api"]),
            svc("prod/api", &["migrate"]),
            svc("prod/db", &[]),
        ],
        vec![task("migrate", &["prod/db"]), task("nightly", &["prod/db"])],
    );
    // (case, noop of web, api, db, migrate, nightly, waves of web, api, db, migrate, nightly)
    let cases: [(&str, [bool; 5], [u32; 5]); 5] = [
        ("everything changes", [false; 5], [3, 2, 0, 1, 1]),
        (
            "the first wave is unchanged",
            [false, false, true, false, false],
            [2, 1, 0, 0, 0],
        ),
        (
            "a middle wave is unchanged",
            [false, true, false, false, false],
            [2, 1, 0, 1, 1],
        ),
        (
            "only the last wave changes",
            [false, true, true, true, true],
            [0, 0, 0, 0, 0],
        ),
        ("nothing changes", [true; 5], [0, 0, 0, 0, 0]),
    ];
    for (case, noop, want) in cases {
        let with = |i: crate::contract::ServiceItem, n: bool| if n { unchanged(i) } else { i };
        let mut planned = plan(
            vec![
                with(item("web"), noop[0]),
                with(item("api"), noop[1]),
                with(item("db"), noop[2]),
            ],
            vec![rule_item("migrate", noop[3]), rule_item("nightly", noop[4])],
        );
        number_plan_waves(&mut planned, &input);
        let got: Vec<u32> = planned
            .services
            .iter()
            .map(|s| s.wave)
            .chain(planned.tasks.iter().map(|t| t.wave))
            .collect();
        assert_eq!(got, want, "{case}");
    }

    // Without dependsOn, every item is in wave 0, and an input compile refuses is left alone.
    let mut planned = plan(
        vec![item("web"), item("api")],
        vec![rule_item("nightly", false)],
    );
    number_plan_waves(
        &mut planned,
        &release(
            vec![svc("prod/web", &[]), svc("prod/api", &[])],
            vec![task("nightly", &[])],
        ),
    );
    assert!(planned.services.iter().all(|s| s.wave == 0) && planned.tasks[0].wave == 0);
    planned.services[1].wave = 7;
    number_plan_waves(
        &mut planned,
        &release(
            vec![svc("prod/web", &["prod/web"]), svc("prod/api", &[])],
            vec![],
        ),
    );
    assert_eq!(planned.services[1].wave, 7);
}

#[test]
fn jobs_are_items_named_by_their_name_after_services_and_tasks() {
    let input = with_jobs(
        release(
            vec![svc("prod/web", &["migrate"])],
            vec![task("nightly", &[])],
        ),
        vec![job("migrate", &[], 1800), job("seed", &["migrate"], 60)],
    );
    let found: Vec<(ItemKind, usize, String, bool, Vec<String>, u32)> = items(&input)
        .into_iter()
        .map(|i| {
            let deps = i.depends_on.to_vec();
            (i.kind, i.index, i.name, i.named, deps, i.timeout_seconds)
        })
        .collect();
    let to = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        found,
        [
            (
                ItemKind::Service,
                0,
                "prod/web".into(),
                false,
                to(&["migrate"]),
                900
            ),
            (ItemKind::Task, 0, "nightly".into(), false, to(&[]), 0),
            (ItemKind::Job, 0, "migrate".into(), true, to(&[]), 1800),
            (ItemKind::Job, 1, "seed".into(), true, to(&["migrate"]), 60),
        ]
    );
    assert_eq!(label(&input, ItemKind::Job, 1), "jobs[1] (seed)");
}

#[test]
fn jobs_take_their_wave_like_any_item() {
    // (case, release, waves)
    let cases: Vec<(&str, ReleaseInput, Vec<Vec<String>>)> = vec![
        (
            "a migration, then the api, then web and worker",
            with_jobs(
                release(
                    vec![
                        svc("prod/web", &["prod/api"]),
                        svc("prod/worker", &["prod/api"]),
                        svc("prod/api", &["migrate"]),
                    ],
                    vec![],
                ),
                vec![job("migrate", &[], 900)],
            ),
            waves(&[&["migrate"], &["prod/api"], &["prod/web", "prod/worker"]]),
        ),
        (
            "a job after a service",
            with_jobs(
                release(vec![svc("prod/db", &[])], vec![]),
                vec![job("seed", &["prod/db"], 900)],
            ),
            waves(&[&["prod/db"], &["seed"]]),
        ),
        (
            "a job after a job, a task after it, in release order within a wave",
            with_jobs(
                release(vec![svc("prod/web", &[])], vec![task("nightly", &["seed"])]),
                vec![job("seed", &["migrate"], 900), job("migrate", &[], 900)],
            ),
            waves(&[&["prod/web", "migrate"], &["seed"], &["nightly"]]),
        ),
        (
            "jobs alone, no dependsOn",
            with_jobs(
                release(vec![], vec![]),
                vec![job("a", &[], 900), job("b", &[], 900)],
            ),
            waves(&[&["a", "b"]]),
        ),
        (
            "a job's deadline counts: 7,200 + 3,600 s is within 3 h",
            with_jobs(
                release(vec![timeout(svc("prod/api", &["migrate"]), 3600)], vec![]),
                vec![job("migrate", &[], 7200)],
            ),
            waves(&[&["migrate"], &["prod/api"]]),
        ),
    ];
    for (case, input, want) in cases {
        assert_eq!(compile(&input), Ok(want), "{case}");
    }
}

#[test]
fn problems_through_jobs_name_their_item_and_field() {
    // (case, release, exactly these problems: item, field, message)
    type Want = Vec<(&'static str, &'static str, &'static str)>;
    let cases: Vec<(&str, ReleaseInput, Want)> = vec![
        (
            "a cycle of one: a job on itself",
            with_jobs(release(vec![], vec![]), vec![job("migrate", &["migrate"], 900)]),
            vec![("jobs[0] (migrate)", "dependsOn", "names `migrate`, this item itself: an item cannot depend on itself")],
        ),
        (
            "a cycle of two: a service and a job",
            with_jobs(release(vec![svc("prod/api", &["migrate"])], vec![]), vec![job("migrate", &["prod/api"], 900)]),
            vec![("services[0] (prod/api)", "dependsOn", "dependsOn forms a cycle: prod/api → migrate → prod/api")],
        ),
        (
            "a cycle of three: a job, a task, a job",
            with_jobs(release(vec![], vec![task("nightly", &["seed"])]), vec![job("migrate", &["nightly"], 900), job("seed", &["migrate"], 900)]),
            vec![("tasks[0] (nightly)", "dependsOn", "dependsOn forms a cycle: nightly → seed → migrate → nightly")],
        ),
        (
            "an unknown name, a job suggested",
            with_jobs(release(vec![svc("prod/api", &["migrat"])], vec![]), vec![job("migrate", &[], 900)]),
            vec![("services[0] (prod/api)", "dependsOn", "`migrat` is not the name of any item of this release (did you mean `migrate`?)")],
        ),
        (
            "a job's name is checked by the manifest's rule for job names",
            with_jobs(release(vec![], vec![]), vec![job("prod/migrate", &[], 900)]),
            vec![("jobs[0] (prod/migrate)", "name", "`prod/migrate` is not a valid job name (1 to 255 letters, digits, `-` or `_`)")],
        ),
        (
            "a job named as a service",
            with_jobs(release(vec![named(svc("prod/web", &[]), "migrate")], vec![]), vec![job("migrate", &[], 900)]),
            vec![("jobs[0] (migrate)", "name", "`migrate` is already the name of services[0] (prod/web): each item's name must be unique in the release")],
        ),
        (
            "a job named as a rule is by default",
            with_jobs(release(vec![], vec![task("nightly", &[])]), vec![job("nightly", &[], 900)]),
            vec![("jobs[0] (nightly)", "name", "`nightly` is already the name of tasks[0] (nightly): each item's name must be unique in the release")],
        ),
        (
            "two jobs of one name",
            with_jobs(release(vec![], vec![]), vec![job("migrate", &[], 900), job("migrate", &[], 900)]),
            vec![("jobs[1] (migrate)", "name", "`migrate` is already the name of jobs[0] (migrate): each item's name must be unique in the release")],
        ),
        (
            "a job's deadline counts in its wave",
            with_jobs(release(vec![timeout(svc("prod/api", &["migrate"]), 3600)], vec![]), vec![job("migrate", &[], 7201)]),
            vec![("", "dependsOn", "the waves may wait 10,801 s in all, above the 10,800 s (3 h) a release may wait: each wave waits up to its longest timeoutSeconds (wave 1: 7,201 s for migrate; wave 2: 3,600 s for prod/api); lower timeoutSeconds or make fewer waves")],
        ),
    ];
    for (case, input, want) in cases {
        let found = match compile(&input) {
            Ok(_) => Vec::new(),
            Err(found) => found,
        };
        let found: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|p| (p.item.as_str(), p.field, p.message.as_str()))
            .collect();
        assert_eq!(found, want, "{case}");
    }
}

fn job_item(name: &str) -> JobItem {
    JobItem {
        id: format!("prod/{name}"),
        wave: 0,
        cluster: "prod".into(),
        name: name.into(),
        previous_task_definition: "arn:td/app:1".into(),
        images: app_image("r/app:2"),
        essential_containers: vec!["app".into()],
        overrides: Default::default(),
        launch: Default::default(),
        timeout_seconds: 900,
        new_task_definition: None,
    }
}

#[test]
fn plan_jobs_get_their_waves_and_always_count_as_changes() {
    let item = |s: &str| service_item("prod", s, "arn:td/x:1", app_image("r/x:2"));
    // migrate ← api ← web; the job's cluster given by ARN is matched by name.
    let mut migrate = job("migrate", &[], 900);
    migrate.cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod".into();
    let input = with_jobs(
        release(
            vec![
                svc("prod/web", &["prod/api"]),
                svc("prod/api", &["migrate"]),
            ],
            vec![],
        ),
        vec![migrate],
    );
    // (case, noop of web and api, waves of web, api, migrate)
    let cases: [(&str, [bool; 2], [u32; 3]); 3] = [
        ("everything changes", [false, false], [2, 1, 0]),
        ("the api is unchanged", [false, true], [1, 0, 0]),
        ("only the job runs", [true, true], [0, 0, 0]),
    ];
    for (case, noop, want) in cases {
        let with = |i: crate::contract::ServiceItem, n: bool| if n { unchanged(i) } else { i };
        let mut planned = plan(
            vec![with(item("web"), noop[0]), with(item("api"), noop[1])],
            vec![],
        );
        planned.jobs = vec![job_item("migrate")];
        number_plan_waves(&mut planned, &input);
        let got = [
            planned.services[0].wave,
            planned.services[1].wave,
            planned.jobs[0].wave,
        ];
        assert_eq!(got, want, "{case}");
    }
}

/// A schedule `group/schedule` (or `schedule` in the default group) depending on `deps`.
fn sched(id: &str, deps: &[&str]) -> ScheduleTarget {
    let (group, schedule) = id.split_once('/').unwrap_or(("default", id));
    ScheduleTarget {
        name: None,
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        schedule: schedule.into(),
        group: group.into(),
        images: image(),
    }
}

fn with_schedules(mut input: ReleaseInput, schedules: Vec<ScheduleTarget>) -> ReleaseInput {
    input.schedules = schedules;
    input
}

#[test]
fn schedules_are_items_after_tasks_and_before_jobs() {
    let mut reports = sched("reports/nightly", &["prod/web"]);
    reports.name = Some("report".into());
    let input = with_jobs(
        with_schedules(
            release(vec![svc("prod/web", &[])], vec![task("hourly", &[])]),
            vec![sched("nightly", &[]), sched("reports/weekly", &[]), reports],
        ),
        vec![job("migrate", &[], 900)],
    );
    let found: Vec<(ItemKind, usize, String, bool, u32)> = items(&input)
        .into_iter()
        .map(|i| (i.kind, i.index, i.name, i.named, i.timeout_seconds))
        .collect();
    assert_eq!(
        found,
        [
            (ItemKind::Service, 0, "prod/web".into(), false, 900),
            (ItemKind::Task, 0, "hourly".into(), false, 0),
            (ItemKind::Schedule, 0, "nightly".into(), false, 0),
            (ItemKind::Schedule, 1, "reports/weekly".into(), false, 0),
            (ItemKind::Schedule, 2, "report".into(), true, 0),
            (ItemKind::Job, 0, "migrate".into(), true, 900),
        ]
    );
    assert_eq!(schedule_name("default", "nightly"), "nightly");
    assert_eq!(schedule_name("reports", "nightly"), "reports/nightly");
    assert_eq!(
        label(&input, ItemKind::Schedule, 0),
        "schedules[0] (nightly)"
    );
    assert_eq!(
        label(&input, ItemKind::Schedule, 2),
        "schedules[2] (reports/nightly)"
    );
}

#[test]
fn schedules_take_their_wave_like_any_item() {
    // (case, release, waves)
    let cases: Vec<(&str, ReleaseInput, Vec<Vec<String>>)> = vec![
        (
            "no dependsOn: one wave, schedules after tasks, before jobs",
            with_jobs(
                with_schedules(
                    release(vec![svc("prod/web", &[])], vec![task("hourly", &[])]),
                    vec![sched("reports/nightly", &[])],
                ),
                vec![job("migrate", &[], 900)],
            ),
            waves(&[&["prod/web", "hourly", "reports/nightly", "migrate"]]),
        ),
        (
            "a schedule after a service, a service after a schedule",
            with_schedules(
                release(
                    vec![svc("prod/web", &["nightly"]), svc("prod/api", &[])],
                    vec![],
                ),
                vec![sched("nightly", &["prod/api"])],
            ),
            waves(&[&["prod/api"], &["nightly"], &["prod/web"]]),
        ),
        (
            "schedules alone",
            with_schedules(
                release(vec![], vec![]),
                vec![sched("a", &[]), sched("ops/b", &["a"])],
            ),
            waves(&[&["a"], &["ops/b"]]),
        ),
        (
            "a schedule waits 0 s: 10,800 s of services in two waves around it is within 3 h",
            with_schedules(
                release(
                    vec![
                        timeout(svc("prod/api", &[]), 3600),
                        timeout(svc("prod/web", &["nightly"]), 7200),
                    ],
                    vec![],
                ),
                vec![sched("nightly", &["prod/api"])],
            ),
            waves(&[&["prod/api"], &["nightly"], &["prod/web"]]),
        ),
    ];
    for (case, input, want) in cases {
        assert_eq!(compile(&input), Ok(want), "{case}");
    }
}

#[test]
fn problems_through_schedules_name_their_item_and_field() {
    // (case, release, exactly these problems: item, field, message)
    type Want = Vec<(&'static str, &'static str, &'static str)>;
    let cases: Vec<(&str, ReleaseInput, Want)> = vec![
        (
            "a schedule on itself",
            with_schedules(release(vec![], vec![]), vec![sched("ops/nightly", &["ops/nightly"])]),
            vec![("schedules[0] (ops/nightly)", "dependsOn", "names `ops/nightly`, this item itself: an item cannot depend on itself")],
        ),
        (
            "a cycle through a schedule, a service and a task",
            with_schedules(release(vec![svc("prod/api", &["hourly"])], vec![task("hourly", &["nightly"])]), vec![sched("nightly", &["prod/api"])]),
            vec![("services[0] (prod/api)", "dependsOn", "dependsOn forms a cycle: prod/api → hourly → nightly → prod/api")],
        ),
        (
            "an unknown name, a schedule suggested",
            with_schedules(release(vec![svc("prod/api", &["ops/nightli"])], vec![]), vec![sched("ops/nightly", &[])]),
            vec![("services[0] (prod/api)", "dependsOn", "`ops/nightli` is not the name of any item of this release (did you mean `ops/nightly`?)")],
        ),
        (
            "a schedule and a rule of one default name",
            with_schedules(release(vec![svc("prod/api", &["nightly"])], vec![task("nightly", &[])]), vec![sched("nightly", &[])]),
            vec![("services[0] (prod/api)", "dependsOn", "`nightly` is the name of tasks[0] (nightly) and schedules[0] (nightly): give one of them a `name:` and depend on that")],
        ),
        (
            "a schedule named as a service",
            with_schedules(release(vec![named(svc("prod/web", &[]), "report")], vec![]), vec![{
                let mut s = sched("nightly", &[]);
                s.name = Some("report".into());
                s
            }]),
            vec![("schedules[0] (nightly)", "name", "`report` is already the name of services[0] (prod/web): each item's name must be unique in the release")],
        ),
    ];
    for (case, input, want) in cases {
        let found = match compile(&input) {
            Ok(_) => Vec::new(),
            Err(found) => found,
        };
        let found: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|p| (p.item.as_str(), p.field, p.message.as_str()))
            .collect();
        assert_eq!(found, want, "{case}");
    }
}

fn schedule_item(id: &str, noop: bool) -> ScheduleItem {
    let (group, schedule) = id.split_once('/').expect("group/schedule");
    ScheduleItem {
        id: id.into(),
        wave: 0,
        group: group.into(),
        schedule: schedule.into(),
        previous_task_definition: "arn:td/report:1".into(),
        images: app_image("r/report:2"),
        noop,
        new_task_definition: None,
    }
}

#[test]
fn plan_schedules_get_their_waves_without_the_unchanged_ones() {
    let item = |s: &str| service_item("prod", s, "arn:td/x:1", app_image("r/x:2"));
    // api ← nightly (default group) ← web; reports/weekly after api.
    let input = with_schedules(
        release(
            vec![svc("prod/web", &["nightly"]), svc("prod/api", &[])],
            vec![],
        ),
        vec![
            sched("nightly", &["prod/api"]),
            sched("reports/weekly", &["prod/api"]),
        ],
    );
    // (case, noop of web, api, nightly, weekly; waves of web, api, nightly, weekly)
    let cases: [(&str, [bool; 4], [u32; 4]); 4] = [
        ("everything changes", [false; 4], [2, 0, 1, 1]),
        (
            "the schedules are unchanged: their wave is dropped",
            [false, false, true, true],
            [1, 0, 0, 0],
        ),
        (
            "one schedule changes: its wave is kept",
            [false, false, true, false],
            [2, 0, 1, 1],
        ),
        ("nothing changes", [true; 4], [0, 0, 0, 0]),
    ];
    for (case, noop, want) in cases {
        let with = |i: crate::contract::ServiceItem, n: bool| if n { unchanged(i) } else { i };
        let mut planned = plan(
            vec![with(item("web"), noop[0]), with(item("api"), noop[1])],
            vec![],
        );
        planned.schedules = vec![
            schedule_item("default/nightly", noop[2]),
            schedule_item("reports/weekly", noop[3]),
        ];
        number_plan_waves(&mut planned, &input);
        let got = [
            planned.services[0].wave,
            planned.services[1].wave,
            planned.schedules[0].wave,
            planned.schedules[1].wave,
        ];
        assert_eq!(got, want, "{case}");
    }
}
