//! The clean-up of old revisions as tables: which revisions go, which stay and why, and what the
//! bounded execution output keeps of it.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_ecs::types::{Deployment, Service, Tag, TaskSet};
use aws_sdk_eventbridge::types::{EcsParameters, Target};
use release_core::contract::{
    CleanupReport, ItemKind, ItemOutcome, KeepReason, KeptRevision, ReleaseOutcome, ReleaseReport,
    ReportItem,
};
use release_core::decide::cleanup::{counted, judge, triage, InUse, Protected, Usage};
use release_core::decide::report::bounded;
use release_core::decide::taskdef::{PREVIOUS_TAG, RELEASE_TAG};

fn td(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

fn service(name: &str, current: &str, deployments: &[(&str, &str)]) -> Service {
    let mut s = Service::builder()
        .service_name(name)
        .status("ACTIVE")
        .task_definition(current);
    for (status, td) in deployments {
        s = s.deployments(
            Deployment::builder()
                .status(*status)
                .task_definition(*td)
                .build(),
        );
    }
    s.build()
}

fn target(id: &str, task_definition: Option<&str>) -> Target {
    let t = Target::builder()
        .id(id)
        .arn("arn:aws:ecs:us-east-1:123456789012:cluster/prod");
    let t = match task_definition {
        Some(td) => t.ecs_parameters(
            EcsParameters::builder()
                .task_definition_arn(td)
                .build()
                .unwrap(),
        ),
        None => t,
    };
    t.build().unwrap()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// shared:8 … shared:1, newest first.
fn revisions() -> Vec<String> {
    (1..=8).rev().map(|r| td("shared", r)).collect()
}

fn usage() -> Usage {
    let mut in_use = InUse::default();
    // other's current task definition is shared:6, a deployment still drains shared:4.
    in_use.services(
        "prod",
        &[service(
            "other",
            &td("shared", 6),
            &[("PRIMARY", &td("shared", 6)), ("ACTIVE", &td("shared", 4))],
        )],
    );
    in_use.rule_targets("default", "nightly", &[target("report", Some("shared:3"))]);
    Usage {
        in_use,
        gaps: Vec::new(),
    }
}

fn kept(revision: u32, reason: KeepReason, detail: Option<&str>) -> KeptRevision {
    KeptRevision {
        task_definition: td("shared", revision),
        reason,
        detail: detail.map(str::to_owned),
    }
}

#[test]
fn which_revisions_stay_and_why() {
    let protected: Protected = [(
        "shared:5".to_owned(),
        (KeepReason::ReferencedByRelease, None),
    )]
    .into();
    let gap = "ListServices prod: AccessDeniedException: not allowed";
    let plain = usage();
    let with_gap = Usage {
        gaps: vec![gap.to_owned()],
        ..usage()
    };
    use KeepReason::*;
    // keep, usage → what stays (revision, reason, detail), candidates oldest first
    let cases: Vec<(usize, &Usage, Vec<KeptRevision>, Vec<u32>)> = vec![
        (
            2,
            &plain,
            vec![
                kept(8, Newest, Some("newest 2")),
                kept(7, Newest, Some("newest 2")),
                kept(6, InUseByService, Some("prod/other")),
                kept(5, ReferencedByRelease, None),
                kept(4, InUseByService, Some("prod/other")),
                kept(3, InUseByRuleTarget, Some("default/nightly target report")),
            ],
            vec![1, 2],
        ),
        (
            1,
            &with_gap,
            vec![
                kept(8, Newest, Some("newest 1")),
                kept(7, Unverified, Some(gap)),
                kept(6, InUseByService, Some("prod/other")),
                kept(5, ReferencedByRelease, None),
                kept(4, InUseByService, Some("prod/other")),
                kept(3, InUseByRuleTarget, Some("default/nightly target report")),
                kept(2, Unverified, Some(gap)),
                kept(1, Unverified, Some(gap)),
            ],
            vec![],
        ),
        (
            7,
            &plain,
            (2..=8)
                .rev()
                .map(|r| kept(r, Newest, Some("newest 7")))
                .collect(),
            vec![1],
        ),
        (
            20,
            &plain,
            (1..=8)
                .rev()
                .map(|r| kept(r, Newest, Some("newest 20")))
                .collect(),
            vec![],
        ),
    ];
    for (keep, usage, want_kept, want_candidates) in cases {
        let got = triage(&revisions(), keep, &protected, usage);
        assert_eq!(got.kept, want_kept, "keep {keep}");
        let want: Vec<String> = want_candidates
            .into_iter()
            .map(|r| td("shared", r))
            .collect();
        assert_eq!(got.candidates, want, "keep {keep}");
    }
}

#[test]
fn every_revision_a_service_runs_counts_the_first_user_names_it() {
    let mut in_use = InUse::default();
    let with_task_set = {
        let mut s = service("blue-green", "bg:3", &[]);
        s.task_sets = Some(vec![TaskSet::builder().task_definition("bg:2").build()]);
        s
    };
    in_use.services(
        "prod",
        &[
            service(
                "api",
                &td("api", 4),
                &[("PRIMARY", &td("api", 4)), ("ACTIVE", &td("api", 3))],
            ),
            service("api-copy", "api:3", &[]),
            with_task_set,
        ],
    );
    in_use.rule_targets(
        "ops",
        "hourly",
        &[target("lambda", None), target("job", Some(&td("job", 9)))],
    );
    let cases = [
        ("api:4", Some((KeepReason::InUseByService, "prod/api"))),
        (
            td("api", 3).as_str(),
            Some((KeepReason::InUseByService, "prod/api")),
        ),
        ("api:2", None),
        (
            "bg:3",
            Some((KeepReason::InUseByService, "prod/blue-green")),
        ),
        (
            "bg:2",
            Some((KeepReason::InUseByService, "prod/blue-green")),
        ),
        (
            "job:9",
            Some((KeepReason::InUseByRuleTarget, "ops/hourly target job")),
        ),
        ("job:8", None),
    ]
    .map(|(td, want)| (td.to_owned(), want));
    for (td, want) in cases {
        assert_eq!(in_use.get(&td), want, "{td}");
    }
}

#[test]
fn only_what_convoy_registered_goes() {
    let arn = td("shared", 1);
    let ours = [
        tag("team", "a"),
        tag(RELEASE_TAG, "r-7"),
        tag(PREVIOUS_TAG, "shared:0"),
    ];
    let someone_elses = [tag("team", "a"), tag(PREVIOUS_TAG, "shared:0")];
    type Described<'a> = Result<&'a [Tag], String>;
    let cases: [(Described, Option<KeptRevision>); 4] = [
        (Ok(&ours), None),
        (
            Ok(&someone_elses),
            Some(kept(1, KeepReason::NotTaggedByConvoy, None)),
        ),
        (Ok(&[]), Some(kept(1, KeepReason::NotTaggedByConvoy, None))),
        (
            Err("DescribeTaskDefinition shared:1: Throttled".into()),
            Some(kept(
                1,
                KeepReason::Unverified,
                Some("DescribeTaskDefinition shared:1: Throttled"),
            )),
        ),
    ];
    for (described, want) in cases {
        let label = format!("{described:?}");
        assert_eq!(judge(&arn, described), want, "{label}");
    }
}

fn succeeded(items: usize, cleanup: CleanupReport) -> ReleaseReport {
    ReleaseReport {
        release_id: "r1".into(),
        outcome: ReleaseOutcome::Succeeded,
        items: (0..items)
            .map(|i| ReportItem {
                id: format!("prod/service-{i:04}"),
                kind: ItemKind::Service,
                outcome: ItemOutcome::Deployed,
                previous_task_definition: td(&format!("service-{i:04}"), 41),
                new_task_definition: Some(td(&format!("service-{i:04}"), 42)),
                final_task_definition: td(&format!("service-{i:04}"), 42),
                reason: None,
                stopped_reasons: Vec::new(),
                wave: 0,
            })
            .collect(),
        problems: Vec::new(),
        omitted_items: 0,
        full_report: None,
        cleanup: Some(cleanup),
        auto_scaling: None,
    }
}

fn cleanup(families: u32) -> CleanupReport {
    counted(CleanupReport {
        deregistered: (0..families.min(20))
            .map(|f| td(&format!("f{f}"), 1))
            .collect(),
        kept: (0..families)
            .flat_map(|f| {
                (2..=6).map(move |r| KeptRevision {
                    task_definition: td(&format!("service-{f:04}"), r),
                    reason: KeepReason::Newest,
                    detail: Some("newest 5".into()),
                })
            })
            .collect(),
        deferred: 3,
        problems: (0..10)
            .map(|p| format!("ListTaskDefinitions f{p}: Throttled"))
            .collect(),
        ..CleanupReport::default()
    })
}

#[test]
fn a_small_clean_up_is_whole_in_the_output() {
    let full = succeeded(5, cleanup(5));
    let out = bounded(full.clone(), "s3://records/r/report.json".into(), 24_000);
    assert_eq!(out.cleanup, full.cleanup);
    assert_eq!(out.items, full.items);
}

#[test]
fn a_large_clean_up_keeps_its_counts_and_every_item_it_can() {
    let full = succeeded(40, cleanup(300));
    assert!(serde_json::to_vec(&full).unwrap().len() > 24_000);
    let out = bounded(full.clone(), "s3://records/r/report.json".into(), 24_000);
    assert!(serde_json::to_vec(&out).unwrap().len() <= 24_000);
    assert_eq!(out.items, full.items, "the lists go before any item");
    let c = out.cleanup.unwrap();
    assert!(c.lists_omitted);
    assert!(c.deregistered.is_empty() && c.kept.is_empty() && c.failed.is_empty());
    assert_eq!(
        (c.deregistered_count, c.kept_count, c.deferred),
        (20, 1500, 3)
    );
    assert_eq!(c.problems.len(), 3);

    // With the lists gone, items are cut as before; the counts stay.
    let huge = succeeded(1000, cleanup(300));
    let out = bounded(huge, "s3://records/r/report.json".into(), 24_000);
    assert!(serde_json::to_vec(&out).unwrap().len() <= 24_000);
    assert!(out.omitted_items > 0);
    assert_eq!(out.cleanup.unwrap().kept_count, 1500);
}
