//! Conditional writes (the release locks) and execution status, with their SDK adapters.
//!
//! S3 answers a lost compare-and-swap with 412 PreconditionFailed, or 409 ConditionalRequestConflict
//! while another conditional write to the key is in flight: both mean "someone else got there".

use std::future::Future;

use aws_sdk_s3::primitives::ByteStream;

use super::sdk_error;
use crate::Error;

/// An object with the entity tag it was read at: what a compare-and-swap compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub body: Vec<u8>,
    pub etag: String,
}

/// Objects written only when they are what the writer last saw.
pub trait LockStore: Send + Sync {
    /// `Ok(None)` when the key does not exist.
    fn read(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Versioned>, Error>> + Send;

    /// Creates the key if it does not exist (`If-None-Match: *`). `Ok(false)`: it exists.
    fn create(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Replaces the key if it is still at `etag` (`If-Match`). `Ok(false)`: it changed or is gone.
    fn replace(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Deletes the key if it is still at `etag`. `Ok(false)`: it changed; a key already gone is
    /// `Ok(true)` (nothing left to delete).
    fn delete(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> impl Future<Output = Result<bool, Error>> + Send;

    /// Every key under `prefix` (the adapter follows continuation tokens).
    fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, Error>> + Send;
}

/// Step Functions executions, as far as locks need them.
pub trait Executions: Send + Sync {
    /// Whether the execution is RUNNING; one that does not exist is not.
    fn is_running(&self, execution_arn: &str) -> impl Future<Output = Result<bool, Error>> + Send;
}

/// The input an execution was started with: for an execution status event that did not carry it
/// (EventBridge leaves out an input that does not fit the event).
pub trait ExecutionInputs: Send + Sync {
    /// `Ok(None)` when the execution does not exist or has no input.
    fn input(
        &self,
        execution_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;
}

/// The HTTP status of a failed S3 call, when S3 answered.
fn status<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// 412 or 409: the condition did not hold (or another conditional write won).
fn lost<E>(err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> bool {
    matches!(status(err), Some(412 | 409))
}

impl LockStore for aws_sdk_s3::Client {
    async fn read(&self, bucket: &str, key: &str) -> Result<Option<Versioned>, Error> {
        let context = || format!("GetObject s3://{bucket}/{key}");
        match self.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let etag = out.e_tag.clone().unwrap_or_default();
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| Error::AwsUnavailable {
                        message: format!("{}: body cut short", context()),
                        source: Some(Box::new(e)),
                    })?;
                Ok(Some(Versioned {
                    body: body.into_bytes().to_vec(),
                    etag,
                }))
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(sdk_error(&context(), err)),
        }
    }

    async fn create(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<bool, Error> {
        let sent = self
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(err) if lost(&err) => Ok(false),
            Err(err) => Err(sdk_error(
                &format!("PutObject s3://{bucket}/{key} (create)"),
                err,
            )),
        }
    }

    async fn replace(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        body: Vec<u8>,
    ) -> Result<bool, Error> {
        let sent = self
            .put_object()
            .bucket(bucket)
            .key(key)
            .if_match(etag)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            // 404: the key went away since it was read; whoever deleted it changed it.
            Err(err) if lost(&err) || status(&err) == Some(404) => Ok(false),
            Err(err) => Err(sdk_error(
                &format!("PutObject s3://{bucket}/{key} (replace)"),
                err,
            )),
        }
    }

    async fn delete(&self, bucket: &str, key: &str, etag: &str) -> Result<bool, Error> {
        let sent = self
            .delete_object()
            .bucket(bucket)
            .key(key)
            .if_match(etag)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(err) if status(&err) == Some(404) => Ok(true),
            Err(err) if lost(&err) => Ok(false),
            Err(err) => Err(sdk_error(&format!("DeleteObject s3://{bucket}/{key}"), err)),
        }
    }

    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
        let pages = self
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| sdk_error(&format!("ListObjectsV2 s3://{bucket}/{prefix}"), e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.contents.unwrap_or_default())
            .filter_map(|o| o.key)
            .collect())
    }
}

impl Executions for aws_sdk_sfn::Client {
    async fn is_running(&self, execution_arn: &str) -> Result<bool, Error> {
        match self
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.status == aws_sdk_sfn::types::ExecutionStatus::Running),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                Ok(false)
            }
            Err(err) => Err(sdk_error(
                &format!("DescribeExecution {execution_arn}"),
                err,
            )),
        }
    }
}

impl ExecutionInputs for aws_sdk_sfn::Client {
    async fn input(&self, execution_arn: &str) -> Result<Option<String>, Error> {
        match self
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.input),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_does_not_exist()) =>
            {
                Ok(None)
            }
            Err(err) => Err(sdk_error(
                &format!("DescribeExecution {execution_arn}"),
                err,
            )),
        }
    }
}

/// In-memory locks and executions for tests; never in a Lambda.
#[cfg(any(test, feature = "test-util"))]
pub mod fake {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Mutex;

    use super::{Executions, LockStore, Versioned};
    use crate::Error;

    /// `(bucket, key)` → (body, version).
    type Objects = BTreeMap<(String, String), (Vec<u8>, u64)>;

    /// Keys with a version counter as their entity tag.
    #[derive(Debug, Default)]
    pub struct MemoryLocks {
        objects: Mutex<Objects>,
        versions: Mutex<u64>,
    }

    impl MemoryLocks {
        fn next(&self) -> u64 {
            let mut v = self.versions.lock().expect("versions");
            *v += 1;
            *v
        }

        pub fn keys(&self) -> Vec<String> {
            let objects = self.objects.lock().expect("objects");
            objects.keys().map(|(_, k)| k.clone()).collect()
        }
    }

    impl LockStore for MemoryLocks {
        async fn read(&self, bucket: &str, key: &str) -> Result<Option<Versioned>, Error> {
            let objects = self.objects.lock().expect("objects");
            Ok(objects
                .get(&(bucket.to_owned(), key.to_owned()))
                .map(|(body, v)| Versioned {
                    body: body.clone(),
                    etag: v.to_string(),
                }))
        }

        async fn create(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<bool, Error> {
            let version = self.next();
            let mut objects = self.objects.lock().expect("objects");
            let k = (bucket.to_owned(), key.to_owned());
            if objects.contains_key(&k) {
                return Ok(false);
            }
            objects.insert(k, (body, version));
            Ok(true)
        }

        async fn replace(
            &self,
            bucket: &str,
            key: &str,
            etag: &str,
            body: Vec<u8>,
        ) -> Result<bool, Error> {
            let version = self.next();
            let mut objects = self.objects.lock().expect("objects");
            match objects.get_mut(&(bucket.to_owned(), key.to_owned())) {
                Some(current) if current.1.to_string() == etag => {
                    *current = (body, version);
                    Ok(true)
                }
                _ => Ok(false),
            }
        }

        async fn delete(&self, bucket: &str, key: &str, etag: &str) -> Result<bool, Error> {
            let mut objects = self.objects.lock().expect("objects");
            let k = (bucket.to_owned(), key.to_owned());
            match objects.get(&k) {
                None => Ok(true),
                Some((_, v)) if v.to_string() == etag => {
                    objects.remove(&k);
                    Ok(true)
                }
                Some(_) => Ok(false),
            }
        }

        async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
            let objects = self.objects.lock().expect("objects");
            Ok(objects
                .keys()
                .filter(|(b, k)| b == bucket && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect())
        }
    }

    /// The executions that are RUNNING; every other ARN is not.
    #[derive(Debug, Default)]
    pub struct RunningExecutions(pub Mutex<BTreeSet<String>>);

    impl RunningExecutions {
        pub fn start(&self, arn: &str) {
            self.0.lock().expect("executions").insert(arn.to_owned());
        }

        pub fn stop(&self, arn: &str) {
            self.0.lock().expect("executions").remove(arn);
        }
    }

    impl Executions for RunningExecutions {
        async fn is_running(&self, execution_arn: &str) -> Result<bool, Error> {
            Ok(self.0.lock().expect("executions").contains(execution_arn))
        }
    }
}
