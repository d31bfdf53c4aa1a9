//! finish-release: observe what every changed item runs, build the report, and after a success clean
//! up old revisions ([`crate::decide::cleanup`] decides which). Clean-up never touches a revision
//! the release references or anything in the release's clusters and event buses uses, deregisters
//! only what convoy registered, and never fails the release.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use futures::stream::{self, StreamExt};

use crate::aws::locks::LockStore;
use crate::aws::{EcsApi, EventsApi, ObjectStore, ScalingApi};
use crate::contract::{
    count, CleanupReport, FinishInput, ItemOutcome, Plan, Records, ReleaseOutcome, ReleaseRecords,
    ReleaseReport, ServiceItem, TaskDefRef, RELEASE_FINISHED,
};
use crate::decide::cleanup::{
    counted, judge, protected_by_release, triage, LedgerProtected, Protected, Usage,
    DESCRIBE_CONCURRENCY, MAX_DEREGISTRATIONS, MAX_DESCRIBES,
};
use crate::decide::ledger::{changed_families, PROTECT_DAYS};
use crate::decide::release_event::{finished, Timing};
use crate::decide::report::{bounded, build, cut_reason, Observed, OUTPUT_BUDGET};
use crate::decide::rollback::target_item_id;
use crate::records::{RecordStore, REPORT};
use crate::steps::release_events::{self, announce};
use crate::steps::{ledger, lock, scaling};
use crate::Error;

/// What the release's clusters and event buses use now. Listing stops at the first gap: with one,
/// nothing outside the newest and the protected revisions is deregistered anyway.
pub async fn usage(ecs: &impl EcsApi, events: &impl EventsApi, input: &ReleaseRecords) -> Usage {
    let mut usage = Usage::default();
    let clusters: BTreeSet<&str> = input
        .plan
        .services
        .iter()
        .map(|s| s.cluster.as_str())
        .collect();
    for cluster in clusters {
        let arns = match ecs.list_services(cluster).await {
            Ok(arns) => arns,
            Err(e) => {
                usage.gaps.push(cut_reason(&e.to_string()));
                return usage;
            }
        };
        match ecs.describe_services(cluster, &arns).await {
            Ok(found) => {
                usage.in_use.services(cluster, &found.items);
                // MISSING: deleted since it was listed, so it runs nothing.
                if let Some(f) = found
                    .failures
                    .iter()
                    .find(|f| f.reason() != Some("MISSING"))
                {
                    usage.gaps.push(cut_reason(&format!(
                        "DescribeServices {cluster}: {} {}",
                        f.arn().unwrap_or_default(),
                        f.reason().unwrap_or("failed")
                    )));
                    return usage;
                }
            }
            Err(e) => {
                usage.gaps.push(cut_reason(&e.to_string()));
                return usage;
            }
        }
    }
    // The default bus always: scheduled rules live there whether or not this release has any.
    let buses: BTreeSet<&str> = std::iter::once("default")
        .chain(input.plan.tasks.iter().map(|r| r.event_bus.as_str()))
        .collect();
    for bus in buses {
        let rules = match events.list_rules(bus).await {
            Ok(rules) => rules,
            Err(e) => {
                usage.gaps.push(cut_reason(&e.to_string()));
                return usage;
            }
        };
        let mut listed = stream::iter(rules.iter())
            .map(|rule| async move { (rule, events.list_targets(bus, rule).await) })
            .buffer_unordered(LIST_TARGETS_CONCURRENCY);
        while let Some((rule, targets)) = listed.next().await {
            match targets {
                Ok(targets) => usage.in_use.rule_targets(bus, rule, &targets),
                // Deleted since it was listed: it runs nothing.
                Err(Error::RuleNotFound(_)) => {}
                Err(e) => {
                    usage.gaps.push(cut_reason(&e.to_string()));
                    return usage;
                }
            }
        }
    }
    usage
}

/// ListTargetsByRule calls in flight at once while the clean-up reads the buses' rules.
const LIST_TARGETS_CONCURRENCY: usize = 4;

/// After a success with `keepRevisions` above 0, deregisters the old revisions of each family the
/// release changed that [`crate::decide::cleanup`] lets go, and says what it did with every
/// other one. Nothing here fails the release: what cannot be listed or described is kept.
pub async fn cleanup(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
    report: &ReleaseReport,
    protected: &Protected,
    ledger_gaps: &[String],
) -> Option<CleanupReport> {
    let keep = input.plan.settings.keep_revisions as usize;
    if keep == 0 || report.outcome != ReleaseOutcome::Succeeded {
        return None;
    }
    let families: BTreeSet<&str> = report
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Deployed)
        .filter_map(|i| i.new_task_definition.as_deref())
        .map(|td| TaskDefRef::new(td).family())
        .collect();
    if families.is_empty() {
        return None;
    }
    let mut usage = usage(ecs, events, input).await;
    usage.gaps.extend(ledger_gaps.iter().cloned());
    let mut out = CleanupReport {
        problems: usage.gaps.clone(),
        ..CleanupReport::default()
    };
    let mut candidates = Vec::new();
    for family in families {
        match ecs.list_task_definition_revisions(family).await {
            Ok(revisions) => {
                let triage = triage(&revisions, keep, protected, &usage);
                out.kept.extend(triage.kept);
                candidates.extend(triage.candidates);
            }
            Err(e) => out.problems.push(cut_reason(&e.to_string())),
        }
    }

    let mut candidates = candidates.into_iter();
    let mut described = 0;
    while out.deregistered.len() < MAX_DEREGISTRATIONS && described < MAX_DESCRIBES {
        let room = DESCRIBE_CONCURRENCY.min(MAX_DESCRIBES - described);
        let chunk: Vec<String> = candidates.by_ref().take(room).collect();
        if chunk.is_empty() {
            break;
        }
        described += chunk.len();
        let judged = join_all(chunk.iter().map(|td| async move {
            let tags = ecs.describe_task_definition(td).await;
            judge(
                td,
                tags.as_ref()
                    .map(|(_, t)| t.as_slice())
                    .map_err(|e| cut_reason(&e.to_string())),
            )
        }))
        .await;
        for (td, verdict) in chunk.into_iter().zip(judged) {
            match verdict {
                Some(kept) => out.kept.push(kept),
                None if out.deregistered.len() >= MAX_DEREGISTRATIONS => out.deferred += 1,
                None => match ecs.deregister_task_definition(&td).await {
                    Ok(()) => out.deregistered.push(td),
                    Err(e) => {
                        tracing::warn!(task_definition = %td, error = %e, "could not deregister");
                        out.failed.push(cut_reason(&format!("{td}: {e}")));
                    }
                },
            }
        }
    }
    out.deferred = out.deferred.saturating_add(count(candidates));
    for problem in &out.problems {
        tracing::warn!(problem = %problem, "clean-up keeps what it could not check");
    }
    let out = counted(out);
    tracing::info!(
        deregistered = out.deregistered_count,
        kept = out.kept_count,
        failed = out.failed_count,
        deferred = out.deferred,
        "old revisions cleaned up"
    );
    Some(out)
}

/// Looks up what every changed item runs now. Best effort: what cannot be observed is inferred by
/// [`build`] instead, and the failure is logged.
pub async fn observe(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Observed {
    let mut observed = Observed::new();
    let mut by_cluster: BTreeMap<&str, Vec<&ServiceItem>> = BTreeMap::new();
    for s in input.plan.services.iter().filter(|s| !s.noop) {
        by_cluster.entry(s.cluster.as_str()).or_default().push(s);
    }
    for (cluster, items) in by_cluster {
        let names: Vec<String> = items.iter().map(|i| i.service.clone()).collect();
        match ecs.describe_services(cluster, &names).await {
            Ok(found) => {
                for item in items {
                    let td = found
                        .items
                        .iter()
                        .find(|s| s.service_name.as_deref() == Some(item.service.as_str()))
                        .and_then(|s| s.task_definition.clone());
                    if let Some(td) = td {
                        observed.insert(item.id.clone(), td);
                    }
                }
            }
            Err(e) => tracing::warn!(cluster, error = %e, "could not observe services"),
        }
    }
    for rule in input.plan.tasks.iter().filter(|r| !r.noop) {
        match events.list_targets(&rule.event_bus, &rule.rule).await {
            Ok(targets) => {
                for t in targets {
                    if let Some(ecs) = t.ecs_parameters {
                        observed.insert(target_item_id(&rule.id, &t.id), ecs.task_definition_arn);
                    }
                }
            }
            Err(e) => tracing::warn!(rule = %rule.id, error = %e, "could not observe rule targets"),
        }
    }
    observed
}

/// finish-release: observe, report, and clean up after a success.
pub async fn finish(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
) -> Result<ReleaseReport, Error> {
    finish_keeping(ecs, events, input, &LedgerProtected::default()).await
}

/// [`finish`], the clean-up also keeping what the release ledger protects (the previous revisions
/// of recent releases: [`ledger::recent_revisions`]) and keeping everything it is unsure of when
/// the ledger could not be listed.
pub async fn finish_keeping(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    input: &ReleaseRecords,
    ledger: &LedgerProtected,
) -> Result<ReleaseReport, Error> {
    let observed = observe(ecs, events, input).await;
    let mut report = build(input, &observed);
    let mut protected = protected_by_release(input);
    for (key, why) in &ledger.protected {
        protected.entry(key.clone()).or_insert_with(|| why.clone());
    }
    report.cleanup = cleanup(ecs, events, input, &report, &protected, &ledger.gaps).await;
    Ok(report)
}

/// finish-release: reads the execution's records, reports (and cleans up), writes the full report,
/// and returns it [`bounded`] to [`OUTPUT_BUDGET`].
///
/// Then rewrites the release ledger's entries with the outcome and the revisions (best effort),
/// and gives back the release's locks: the release is over whatever its outcome, and the report
/// that says where every item stands is written first.
pub async fn finish_release(
    ecs: &impl EcsApi,
    events: &impl EventsApi,
    scaling: &impl ScalingApi,
    store: &RecordStore<impl ObjectStore>,
    locks: &impl LockStore,
    input: &FinishInput,
    event_bus: Option<&str>,
) -> Result<ReleaseReport, Error> {
    let records = store
        .release_records(&input.records, &input.failures)
        .await?;
    let now = ledger::now_millis();
    let recent = if records.plan.settings.keep_revisions > 0 {
        let families = changed_families(&records.plan);
        ledger::recent_revisions(
            store.objects(),
            &input.records.bucket,
            families,
            now,
            PROTECT_DAYS,
        )
        .await
    } else {
        LedgerProtected::default()
    };
    let mut report = finish_keeping(ecs, events, &records, &recent).await?;
    // The rollback has settled (or none ran): the held services may scale again.
    scaling::restore_for_report(scaling, store, &input.records, &records.plan, &mut report).await;
    store.write(&input.records, REPORT, &report).await?;
    let finished = Finished {
        plan: &records.plan,
        records: &input.records,
        execution_arn: &input.execution_arn,
        timing: release_events::timing(input.started_at.as_deref()),
    };
    announce_finished(events, event_bus, store, &finished, &mut report).await?;
    ledger::record_or_warn(
        store.objects(),
        &input.records,
        &input.execution_arn,
        &records.plan,
        Some(&report),
        now,
    )
    .await;
    let owner = lock::Owner {
        release_id: input.release_id.clone(),
        execution_arn: input.execution_arn.clone(),
    };
    lock::release(locks, &input.records.bucket, &owner, &records.plan).await;
    Ok(bounded(report, input.records.uri(REPORT), OUTPUT_BUDGET))
}

/// A release that planned, at its end.
pub struct Finished<'a> {
    pub plan: &'a Plan,
    pub records: &'a Records,
    pub execution_arn: &'a str,
    pub timing: Timing,
}

/// Puts the "Convoy Release Finished" event of a release whose report is written (the event points
/// to it). An event that cannot be put is a problem of the report, written again; the release's
/// outcome stays what it was.
pub async fn announce_finished(
    events: &impl EventsApi,
    event_bus: Option<&str>,
    store: &RecordStore<impl ObjectStore>,
    release: &Finished<'_>,
    report: &mut ReleaseReport,
) -> Result<(), Error> {
    let full_report = Some(release.records.uri(REPORT));
    let detail = finished(
        release.plan,
        report,
        release.execution_arn,
        full_report,
        release.timing,
    );
    if let Err(problem) = announce(events, event_bus, RELEASE_FINISHED, &detail).await {
        report.problems.push(problem);
        store.write(release.records, REPORT, &*report).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_ecs::types::DeploymentControllerType;
    use serde_json::json;

    use super::*;
    use crate::aws::fake::{ecs_target, tag, FakeEcs, FakeEvents};
    use crate::contract::KeepReason;
    use crate::decide::taskdef::RELEASE_TAG;

    /// `web` in `prod` released from `web:<n-1>` to `web:<n>`, keeping `keep`.
    fn released(previous: &str, new: &str, keep: u32) -> ReleaseRecords {
        let deployment = json!({
            "id": "prod/web", "cluster": "prod", "service": "web",
            "previousTaskDefinition": previous, "newTaskDefinition": new,
            "deploymentId": "ecs-svc/1", "deadline": 0,
        });
        let mut verdict = deployment.clone();
        verdict["outcome"] = json!("Succeeded");
        serde_json::from_value(json!({
            "plan": {
                "release": {"id": "r1", "source": "deployment.yaml"},
                "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                             "keepRevisions": keep},
                "services": [{
                    "id": "prod/web", "cluster": "prod", "service": "web",
                    "previousTaskDefinition": previous, "images": {}, "noop": false,
                    "timeoutSeconds": 600, "newTaskDefinition": new,
                }],
                "tasks": [], "changedServices": 1, "changedTasks": 0,
            },
            "results": [{"id": "prod/web", "deployment": deployment}],
            "stability": {"items": [verdict], "pending": 0, "failed": 0},
        }))
        .expect("records")
    }

    /// `old` unused revisions of `web` convoy registered, then web's previous and new ones.
    fn fleet(old: usize) -> (FakeEcs, ReleaseRecords) {
        let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
        let ours = [tag(RELEASE_TAG, "r0")];
        for _ in 0..old {
            ecs.definition("web", &[("app", "web:1")], &ours);
        }
        let previous = ecs.definition("web", &[("app", "web:1")], &ours);
        let new = ecs.definition("web", &[("app", "web:2")], &ours);
        let ecs = ecs.service("prod", "web", &new, "ACTIVE", DeploymentControllerType::Ecs);
        let records = released(&previous, &new, 1);
        (ecs, records)
    }

    async fn run(ecs: &FakeEcs, events: &FakeEvents, records: &ReleaseRecords) -> CleanupReport {
        finish(ecs, events, records)
            .await
            .expect("finish")
            .cleanup
            .expect("a clean-up")
    }

    #[tokio::test]
    async fn describes_only_candidates_and_stops_at_the_deregistration_limit() {
        let (ecs, records) = fleet(30);
        let events = FakeEvents::default();
        let cleanup = run(&ecs, &events, &records).await;
        assert_eq!(cleanup.deregistered_count as usize, MAX_DEREGISTRATIONS);
        assert_eq!(cleanup.deferred, 10);
        // The newest and the previous were never candidates; 4 rounds of 5 filled the limit.
        assert_eq!(ecs.calls("DescribeTaskDefinition"), 20);
        // Oldest first.
        assert!(cleanup.deregistered[0].ends_with("web:1"), "{cleanup:?}");
        assert_eq!(
            (ecs.calls("ListServices"), events.calls("ListRules")),
            (1, 1)
        );
    }

    #[tokio::test]
    async fn a_revision_that_cannot_be_described_stays() {
        let (ecs, records) = fleet(2);
        ecs.refuse("DescribeTaskDefinition");
        let cleanup = run(&ecs, &FakeEvents::default(), &records).await;
        assert_eq!(cleanup.deregistered_count, 0);
        assert_eq!(ecs.calls("DeregisterTaskDefinition"), 0);
        let unverified: Vec<_> = cleanup
            .kept
            .iter()
            .filter(|k| k.reason == KeepReason::Unverified)
            .collect();
        assert_eq!(unverified.len(), 2, "{cleanup:?}");
    }

    #[tokio::test]
    async fn an_events_api_that_cannot_list_rules_keeps_everything() {
        // A rule on the default bus uses web:1; listing the bus's rules is refused.
        let (ecs, records) = fleet(2);
        let events = FakeEvents::default().rule(
            "default",
            "nightly",
            vec![ecs_target(
                "t",
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
            )],
        );
        events.refuse("ListRules");
        let cleanup = run(&ecs, &events, &records).await;
        assert_eq!(ecs.calls("DeregisterTaskDefinition"), 0);
        assert_eq!(
            ecs.calls("DescribeTaskDefinition"),
            0,
            "nothing is a candidate"
        );
        assert_eq!(cleanup.problems.len(), 1, "{cleanup:?}");
    }

    #[tokio::test]
    async fn a_previous_revision_of_a_recent_release_stays_naming_it() {
        // web:1 and web:2 are old and unused; a recent release recorded web:1 as its previous.
        let (ecs, records) = fleet(2);
        let ledger = LedgerProtected {
            protected: [(
                "web:1".to_owned(),
                (
                    KeepReason::PreviousOfRecentRelease,
                    Some("release r-0".to_owned()),
                ),
            )]
            .into(),
            gaps: Vec::new(),
        };
        let report = finish_keeping(&ecs, &FakeEvents::default(), &records, &ledger)
            .await
            .expect("finish");
        let cleanup = report.cleanup.expect("a clean-up");
        assert_eq!(cleanup.deregistered.len(), 1, "{cleanup:?}");
        assert!(cleanup.deregistered[0].ends_with("web:2"), "{cleanup:?}");
        let kept = cleanup
            .kept
            .iter()
            .find(|k| k.task_definition.ends_with("web:1"))
            .expect("web:1 kept");
        assert_eq!(
            (kept.reason, kept.detail.as_deref()),
            (KeepReason::PreviousOfRecentRelease, Some("release r-0"))
        );
    }

    #[tokio::test]
    async fn a_ledger_that_cannot_be_listed_keeps_everything() {
        let (ecs, records) = fleet(2);
        let ledger = LedgerProtected {
            protected: Protected::new(),
            gaps: vec!["release ledger of web: access denied".to_owned()],
        };
        let report = finish_keeping(&ecs, &FakeEvents::default(), &records, &ledger)
            .await
            .expect("finish");
        let cleanup = report.cleanup.expect("a clean-up");
        assert_eq!(ecs.calls("DeregisterTaskDefinition"), 0);
        assert_eq!(cleanup.problems, ledger.gaps);
        assert!(
            cleanup
                .kept
                .iter()
                .filter(|k| k.reason == KeepReason::Unverified)
                .count()
                == 2,
            "{cleanup:?}"
        );
    }

    mod release_event {
        use super::*;
        use crate::aws::fake::MemoryStore;
        use crate::aws::fake_scaling::FakeScaling;
        use crate::aws::locks::fake::MemoryLocks;
        use crate::contract::{examples, StepFailures};

        const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:convoy-release:e-1";

        /// A release of one service that already runs its image, planned and recorded.
        async fn recorded() -> (FakeEcs, RecordStore<MemoryStore>, FinishInput) {
            let ecs = FakeEcs::default().cluster("prod", "ACTIVE");
            let web = ecs.definition("web", &[("app", "web:1")], &[]);
            let ecs = ecs.service("prod", "web", &web, "ACTIVE", DeploymentControllerType::Ecs);
            let mut item =
                examples::service_item("prod", "web", &web, examples::app_image("web:1"));
            item.noop = true;
            let plan = examples::plan(vec![item], Vec::new());
            let store = RecordStore::new(MemoryStore::default());
            let records = Records::for_execution("records", "r", "e-1");
            store.write_plan(&records, plan).await.expect("plan");
            let input = FinishInput {
                release_id: "r".into(),
                execution_arn: ARN.into(),
                started_at: Some("2020-01-01T00:00:00Z".into()),
                records,
                failures: StepFailures::default(),
            };
            (ecs, store, input)
        }

        /// finish-release of [`recorded`] putting its events on bus `releases` through `events`.
        async fn finished(
            events: &FakeEvents,
        ) -> (ReleaseReport, RecordStore<MemoryStore>, FinishInput) {
            let (ecs, store, input) = recorded().await;
            let locks = MemoryLocks::default();
            let report = finish_release(
                &ecs,
                events,
                &FakeScaling::default(),
                &store,
                &locks,
                &input,
                Some("releases"),
            )
            .await
            .expect("finished: an event never fails the release");
            (report, store, input)
        }

        #[tokio::test]
        async fn the_finished_event_points_to_the_written_report() {
            let events = FakeEvents::default();
            let (report, _, input) = finished(&events).await;
            assert_eq!(report.outcome, ReleaseOutcome::Succeeded);
            let put = events.events_put();
            assert_eq!(put.len(), 1, "{put:?}");
            assert_eq!(
                (put[0].detail_type.as_str(), put[0].event_bus.as_str()),
                (RELEASE_FINISHED, "releases")
            );
            let detail: serde_json::Value = serde_json::from_str(&put[0].detail).expect("json");
            assert_eq!(detail["outcome"], "SUCCEEDED");
            assert_eq!(detail["counts"]["Unchanged"], 1);
            assert_eq!(
                detail["fullReport"].as_str(),
                Some(input.records.uri(REPORT).as_str())
            );
            assert!(detail["durationSeconds"].as_u64().is_some(), "{detail}");
            assert!(report.problems.is_empty(), "{:?}", report.problems);
        }

        #[tokio::test]
        async fn an_event_that_cannot_be_put_is_a_problem_of_the_report_not_of_the_release() {
            let events = FakeEvents::default();
            events.refuse("PutEvents");
            let (report, store, input) = finished(&events).await;
            assert_eq!(report.outcome, ReleaseOutcome::Succeeded);
            assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
            assert!(report.problems[0].contains("Convoy Release Finished"));
            let written: ReleaseReport = store
                .read(&input.records, REPORT)
                .await
                .expect("read")
                .expect("written");
            assert_eq!(written.problems, report.problems, "report.json says so too");
        }

        #[tokio::test]
        async fn no_bus_no_event() {
            let (ecs, store, input) = recorded().await;
            let events = FakeEvents::default();
            finish_release(
                &ecs,
                &events,
                &FakeScaling::default(),
                &store,
                &MemoryLocks::default(),
                &input,
                None,
            )
            .await
            .expect("finished");
            assert_eq!(events.calls("PutEvents"), 0);
        }
    }

    #[tokio::test]
    async fn keep_revisions_0_cleans_nothing() {
        let (ecs, mut records) = fleet(2);
        records.plan.settings.keep_revisions = 0;
        let report = finish(&ecs, &FakeEvents::default(), &records)
            .await
            .expect("finish");
        assert_eq!(report.cleanup, None);
        assert_eq!(ecs.calls("ListServices"), 0);
    }
}
