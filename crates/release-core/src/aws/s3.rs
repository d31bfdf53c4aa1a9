//! `ObjectStore` over `aws_sdk_s3::Client`, and an in-memory store for tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use aws_sdk_s3::primitives::ByteStream;

use super::{sdk_error, ObjectStore};
use crate::Error;

impl ObjectStore for aws_sdk_s3::Client {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match self.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| Error::AwsUnavailable {
                        message: format!("GetObject s3://{bucket}/{key}: body cut short: {e}"),
                        source: Some(Box::new(e)),
                    })?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(err) => Err(sdk_error(&format!("GetObject s3://{bucket}/{key}"), err)),
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), Error> {
        self.put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| sdk_error(&format!("PutObject s3://{bucket}/{key}"), err))?;
        Ok(())
    }
}

/// Objects in memory, keyed by `(bucket, key)`; counts calls so tests can prove what was read.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    gets: Mutex<u32>,
}

impl MemoryStore {
    /// Every key of a bucket, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let objects = self.objects.lock().expect("store lock");
        objects
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let objects = self.objects.lock().expect("store lock");
        objects.get(&(bucket.to_owned(), key.to_owned())).cloned()
    }

    pub fn gets(&self) -> u32 {
        *self.gets.lock().expect("store lock")
    }
}

impl ObjectStore for MemoryStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        *self.gets.lock().expect("store lock") += 1;
        Ok(self.object(bucket, key))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), Error> {
        let mut objects = self.objects.lock().expect("store lock");
        objects.insert((bucket.to_owned(), key.to_owned()), body);
        Ok(())
    }
}
