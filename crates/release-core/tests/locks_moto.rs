//! The lock store over S3's conditional writes and the execution check over Step Functions, on
//! moto: what the release locks rely on, call by call, then a whole acquire / refuse / take over.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use release_core::aws::locks::{Executions, LockStore};
use release_core::contract::{Plan, PlanItemKind};
use release_core::steps::lock::{acquire, force_unlock, list, release, Owner};

#[tokio::test]
async fn conditional_writes_hold_on_s3() {
    const BUCKET: &str = "convoy-locks-conditional";
    let s3 = convoy_testkit::moto().bucket(BUCKET).await;
    let key = "locks/service/c/conditional.json";
    assert!(s3.create(BUCKET, key, b"{\"a\":1}".to_vec()).await.unwrap());
    assert!(
        !s3.create(BUCKET, key, b"{\"a\":2}".to_vec()).await.unwrap(),
        "exists"
    );
    let first = LockStore::read(&s3, BUCKET, key).await.unwrap().unwrap();
    assert_eq!(first.body, b"{\"a\":1}");
    assert!(!s3
        .replace(BUCKET, key, "\"not-the-etag\"", b"{}".to_vec())
        .await
        .unwrap());
    assert!(s3
        .replace(BUCKET, key, &first.etag, b"{\"a\":3}".to_vec())
        .await
        .unwrap());
    // The old entity tag no longer matches: neither a second swap nor a delete goes through.
    assert!(!s3
        .replace(BUCKET, key, &first.etag, b"{}".to_vec())
        .await
        .unwrap());
    assert!(!s3.delete(BUCKET, key, &first.etag).await.unwrap());
    let now = LockStore::read(&s3, BUCKET, key).await.unwrap().unwrap();
    assert!(s3.delete(BUCKET, key, &now.etag).await.unwrap());
    assert_eq!(LockStore::read(&s3, BUCKET, key).await.unwrap(), None);
    assert!(
        s3.delete(BUCKET, key, &now.etag).await.unwrap(),
        "already gone"
    );
    assert!(LockStore::list(&s3, BUCKET, "locks/service/c/")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn an_execution_that_does_not_exist_is_not_running() {
    let sfn = aws_sdk_sfn::Client::new(&convoy_testkit::moto().sdk_config().await);
    let arn = "arn:aws:states:us-east-1:123456789012:execution:nothing:gone";
    assert!(!sfn.is_running(arn).await.unwrap());
}

fn plan(id: &str) -> Plan {
    serde_json::from_value(serde_json::json!({
        "release": {"id": "r", "source": "deployment.yaml"},
        "settings": {"rollback": "all", "maxConcurrency": 10, "pollIntervalSeconds": 5,
                     "keepRevisions": 0},
        "services": [{"id": id, "cluster": "c", "service": id.rsplit('/').next().unwrap(),
                      "previousTaskDefinition": "web:1", "images": {}, "noop": false,
                      "timeoutSeconds": 600}],
        "tasks": [],
        "changedServices": 1,
        "changedTasks": 0
    }))
    .unwrap()
}

#[tokio::test]
async fn locks_on_s3_refuse_a_running_holder_and_take_over_a_finished_one() {
    const BUCKET: &str = "convoy-locks-takeover";
    let moto = convoy_testkit::moto();
    let s3 = moto.bucket(BUCKET).await;
    let sfn = aws_sdk_sfn::Client::new(&moto.sdk_config().await);
    // Execution ARNs moto does not know are not running: every holder below is stale for sfn.
    let gone = Owner {
        release_id: "r-old".into(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:r-old".into(),
    };
    let next = Owner {
        release_id: "r-new".into(),
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:r-new".into(),
    };
    let p = plan("c/locked");
    acquire(&s3, &sfn, BUCKET, &gone, &p, 1).await.unwrap();
    acquire(&s3, &sfn, BUCKET, &next, &p, 2).await.unwrap();
    let held: Vec<_> = list(&s3, BUCKET)
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.lock.item == "service:c/locked")
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].lock.release_id, "r-new",
        "the stale lock was taken over"
    );
    // The old execution's give-back leaves the new holder's lock alone.
    release(&s3, BUCKET, &gone, &p).await;
    let removed = force_unlock(&s3, BUCKET, PlanItemKind::Service, "c/locked")
        .await
        .unwrap();
    assert_eq!(removed.map(|l| l.release_id).as_deref(), Some("r-new"));
}
