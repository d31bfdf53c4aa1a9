//! `ObjectStore` over `aws_sdk_s3::Client`.

use aws_sdk_s3::primitives::ByteStream;

use super::locks::LockStore;
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
                        message: format!("GetObject s3://{bucket}/{key}: body cut short"),
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

    async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, Error> {
        LockStore::list(self, bucket, prefix).await
    }
}
