//! plan-release against moto with a release started by reference: `convoy deploy` writes it to
//! `inputs/<release id>/<sha256>.json` ([`release_ref::stage`]) and plan-release plans it exactly as
//! the same release handed inline; a reference that is missing, in another bucket, changed since it
//! was written, or holds a bad release is refused naming the field, and nothing is written.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use aws_sdk_s3::primitives::ByteStream;
use convoy_testkit::seed;
use release_core::aws::fake_scheduler::FakeScheduler;
use release_core::aws::locks::LockStore;
use release_core::contract::{Plan, PlanRequest, Records, ReleaseInput, ReleaseSource};
use release_core::decide::manifest;
use release_core::decide::release_ref::{
    self as by_reference, goes_by_reference, key, INPUTS_PREFIX,
};
use release_core::records::{RecordStore, PLAN};
use release_core::steps::plan_release::{plan_release, PlanContext};
use release_core::steps::{parse_input, release_ref};
use release_core::Error;
use serde_json::{json, Value};

const BUCKET: &str = "release-ref-records";

fn release(id: &str, cluster: &str, description: &str) -> ReleaseInput {
    serde_json::from_value(json!({
        "release": {"id": id, "description": description, "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5, "keepRevisions": 0},
        "services": [{"cluster": cluster, "service": "web",
                      "images": {"containers": {"app": "registry.example.com/web:v2"}},
                      "timeoutSeconds": 600}],
    }))
    .unwrap()
}

fn request(release: Value, execution: &str) -> PlanRequest {
    parse_input(json!({
        "release": release,
        "executionName": execution,
        "executionArn": format!("arn:aws:states:us-east-1:123456789012:execution:convoy-release:{execution}"),
    }))
    .unwrap()
}

#[tokio::test]
async fn a_release_started_by_reference_is_planned_as_the_same_release_inline() {
    let moto = convoy_testkit::moto();
    let conf = moto.sdk_config().await;
    let ecs = aws_sdk_ecs::Client::new(&conf);
    let events = aws_sdk_eventbridge::Client::new(&conf);
    let codedeploy = aws_sdk_codedeploy::Client::new(&conf);
    let sfn = aws_sdk_sfn::Client::new(&conf);
    let scaling = aws_sdk_applicationautoscaling::Client::new(&conf);
    let s3 = moto.bucket(BUCKET).await;
    moto.bucket("release-ref-elsewhere").await;
    let store = RecordStore::new(s3.clone());
    let context = || PlanContext {
        store: &store,
        locks: store.objects(),
        executions: &sfn,
        bucket: Some(BUCKET),
        passable_roles: None,
        rates: Default::default(),
        event_bus: None,
        scaling: &scaling,
    };
    let cluster = "release-ref-prod";
    seed::cluster(&ecs, cluster).await;
    let web = seed::fargate_task_definition(
        &ecs,
        "release-ref-web",
        &[("app", "registry.example.com/web:v1")],
    )
    .await;
    seed::fargate_service(&ecs, cluster, "web", &web, 1).await;

    // Inline, then the same release by reference (40 KiB of description: above the threshold).
    let description = "d".repeat(40 * 1024);
    let inline = release("rr-inline", cluster, &description);
    let planned = plan_release(
        &ecs,
        &events,
        &codedeploy,
        &FakeScheduler::default(),
        context(),
        request(serde_json::to_value(&inline).unwrap(), "e-inline"),
    )
    .await
    .unwrap();
    let inline_plan: Plan = store.read(&planned.records, PLAN).await.unwrap().unwrap();

    let large = release("rr-large", cluster, &description);
    let rendered = manifest::render(&large);
    assert!(goes_by_reference(&rendered));
    let reference = release_ref::stage(&s3, BUCKET, "rr-large", &rendered)
        .await
        .unwrap();
    let object_key = key("rr-large", &rendered);
    assert_eq!(reference.release_ref, format!("s3://{BUCKET}/{object_key}"));
    assert!(object_key.starts_with(&format!("{INPUTS_PREFIX}rr-large/")));
    // Writing it again changes nothing: content-addressed.
    let again = release_ref::stage(&s3, BUCKET, "rr-large", &rendered)
        .await
        .unwrap();
    assert_eq!(again, reference);
    let input = serde_json::to_value(&reference).unwrap();
    assert!(input.to_string().len() < 512, "{input}");
    let planned = plan_release(
        &ecs,
        &events,
        &codedeploy,
        &FakeScheduler::default(),
        context(),
        request(input, "e-ref"),
    )
    .await
    .unwrap();
    assert_eq!(planned.release_id, "rr-large");
    assert_eq!((planned.waves, planned.changed), (1, 1));
    let by_ref_plan: Plan = store.read(&planned.records, PLAN).await.unwrap().unwrap();
    assert_eq!(by_ref_plan.release.description, Some(description.clone()));
    assert_eq!(
        by_ref_plan.services, inline_plan.services,
        "the same plan as inline"
    );
    assert_eq!(by_ref_plan.settings, inline_plan.settings);

    // Refusals: each names its field, none writes a plan or takes a lock.
    let refuse = |id: &'static str, input: Value| {
        let store = &store;
        let s3 = &s3;
        let ecs = &ecs;
        let events = &events;
        let codedeploy = &codedeploy;
        let sfn = &sfn;
        let scaling = &scaling;
        async move {
            let locks_before = s3.list(BUCKET, "locks/").await.unwrap();
            let err = plan_release(
                ecs,
                events,
                codedeploy,
                &FakeScheduler::default(),
                PlanContext {
                    store,
                    locks: store.objects(),
                    executions: sfn,
                    bucket: Some(BUCKET),
                    passable_roles: None,
                    rates: Default::default(),
                    event_bus: None,
                    scaling,
                },
                request(input, &format!("e-{id}")),
            )
            .await
            .unwrap_err();
            let records = Records::for_execution(BUCKET, id, &format!("e-{id}"));
            let nothing: Option<Plan> = store.read(&records, PLAN).await.unwrap();
            assert!(nothing.is_none(), "{id}: no plan written");
            assert_eq!(
                s3.list(BUCKET, "locks/").await.unwrap(),
                locks_before,
                "{id}: no lock taken"
            );
            err
        }
    };
    let named = |err: &Error, name: &str, fragments: &[&str]| {
        assert_eq!(err.name(), name, "{err}");
        let said = err.to_string();
        for fragment in fragments {
            assert!(said.contains(fragment), "missing {fragment:?} in:\n{said}");
        }
    };

    // Missing: never written (or expired).
    let missing = by_reference::reference("rr-missing", BUCKET, &key("rr-missing", "{}"));
    let err = refuse("rr-missing", serde_json::to_value(&missing).unwrap()).await;
    named(
        &err,
        "StepInputInvalid",
        &[
            "execution input: field `releaseRef`",
            &format!("`{}` does not exist", missing.release_ref),
        ],
    );

    // Another bucket, even one the function could read.
    let elsewhere = release_ref::stage(&s3, "release-ref-elsewhere", "rr-large", &rendered)
        .await
        .unwrap();
    let err = refuse("rr-large", serde_json::to_value(&elsewhere).unwrap()).await;
    named(
        &err,
        "StepInputInvalid",
        &[
            "field `releaseRef`",
            "is in bucket `release-ref-elsewhere`",
            &format!("only from its own records bucket, s3://{BUCKET}/inputs/"),
        ],
    );

    // Changed after it was written: the body no longer hashes to its key.
    let tampered = release("rr-tampered", cluster, "before");
    let tampered_text = manifest::render(&tampered);
    let reference = release_ref::stage(&s3, BUCKET, "rr-tampered", &tampered_text)
        .await
        .unwrap();
    let changed = tampered_text.replace("before", "after!");
    put(&s3, &key("rr-tampered", &tampered_text), &changed).await;
    let err = refuse("rr-tampered", serde_json::to_value(&reference).unwrap()).await;
    named(
        &err,
        "StepInputInvalid",
        &["field `releaseRef`", "changed after it was written"],
    );

    // A release that does not fit the type: refused as inline is, naming the reference as the file.
    let mut odd = serde_json::to_value(release("rr-odd", cluster, "odd")).unwrap();
    odd["services"][0]["colour"] = json!("red");
    let odd_text = serde_json::to_string_pretty(&odd).unwrap();
    let reference = release_ref::stage(&s3, BUCKET, "rr-odd", &odd_text)
        .await
        .unwrap();
    let err = refuse("rr-odd", serde_json::to_value(&reference).unwrap()).await;
    named(
        &err,
        "StepInputInvalid",
        &[
            &format!("releaseRef {}: ReleaseInput", reference.release_ref),
            "field `services[0].colour`: unknown field `colour`",
        ],
    );

    // A release that fits the type but not the rules: every problem at once, as inline.
    let mut bad = release("rr-bad", cluster, "bad");
    bad.settings.max_concurrency = 0;
    bad.services[0].timeout_seconds = 0;
    let bad_text = manifest::render(&bad);
    let reference = release_ref::stage(&s3, BUCKET, "rr-bad", &bad_text)
        .await
        .unwrap();
    let err = refuse("rr-bad", serde_json::to_value(&reference).unwrap()).await;
    named(
        &err,
        "ManifestInvalid",
        &[
            "2 problems",
            &format!(
                "deployment.yaml (releaseRef {}): field `settings.maxConcurrency`",
                reference.release_ref
            ),
            "field `timeoutSeconds`",
        ],
    );

    // The input's id is not the one the key and the body carry.
    let mut wrong_id = serde_json::to_value(
        release_ref::stage(&s3, BUCKET, "rr-large", &rendered)
            .await
            .unwrap(),
    )
    .unwrap();
    wrong_id["release"]["id"] = json!("rr-other");
    let err = refuse("rr-other", wrong_id).await;
    named(
        &err,
        "StepInputInvalid",
        &["field `release.id`: `rr-other` is not the release"],
    );

    // An inline release is still one: the form is decided by `releaseRef` alone.
    assert!(matches!(
        request(serde_json::to_value(&inline).unwrap(), "e").release,
        ReleaseSource::Inline(_)
    ));
}

async fn put(s3: &aws_sdk_s3::Client, key: &str, body: &str) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap();
}
