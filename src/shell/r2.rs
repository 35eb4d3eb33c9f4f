//! R2 adapter for the `FILES` bucket: every failure becomes [`ApiError::Storage`] (502) with its
//! cause, except checksum mismatches, which are the client's (E004).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use worker::{Bucket, Delay, Env, FixedLengthStream, HttpMetadata, Object, Range};

use crate::error::{ApiError, ApiResult};
use crate::ports::{Copied, COPIED_HEAD};

pub struct Files(Bucket);

pub use crate::ports::ObjectInfo;

fn storage(context: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Storage(format!("R2 {context}: {e}"))
}

/// A planned fault (tests only) before an R2 call on `key`.
async fn fault(op: &str, key: &str) -> ApiResult<()> {
    super::faults::check(op, key, || storage(op, "injected fault")).await
}

impl Files {
    pub fn new(env: &Env) -> ApiResult<Self> {
        env.bucket("FILES")
            .map(Self)
            .map_err(|e| ApiError::Misconfigured(format!("R2 binding FILES: {e}")))
    }

    pub async fn head(&self, key: &str) -> ApiResult<Option<ObjectInfo>> {
        fault("r2.head", key).await?;
        let object = self.0.head(key).await.map_err(|e| storage("head", e))?;
        Ok(object.map(|o| ObjectInfo {
            size: o.size(),
            sha256: o.checksum().sha256,
            etag: o.http_etag(),
        }))
    }

    /// Streams `body` into `key`; R2 verifies `sha256` and refuses the object if it differs.
    ///
    /// # Errors
    /// E004 when the body does not match the hash, 502 for other storage failures.
    pub async fn put_verified(
        &self,
        key: &str,
        body: worker::web_sys::ReadableStream,
        content_type: &str,
        sha256: Vec<u8>,
        metadata: HashMap<String, String>,
    ) -> ApiResult<()> {
        fault("r2.put", key).await?;
        let result = self
            .0
            .put(key, body)
            .http_metadata(HttpMetadata {
                content_type: Some(content_type.to_owned()),
                ..HttpMetadata::default()
            })
            .custom_metadata(metadata)
            .sha256(sha256)
            .execute()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = e.to_string();
                let lower = text.to_ascii_lowercase();
                if lower.contains("checksum")
                    || lower.contains("digest")
                    || lower.contains("sha-256")
                    || lower.contains("10037")
                {
                    Err(ApiError::ContentMismatch(
                        "the body does not match the declared sha256".into(),
                    ))
                } else if lower.contains("length") || lower.contains("size") {
                    Err(ApiError::ContentMismatch(
                        "the body does not match the declared size".into(),
                    ))
                } else {
                    Err(storage("put", text))
                }
            }
        }
    }

    /// Stores a small derived object (thumbnails).
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> ApiResult<()> {
        fault("r2.put", key).await?;
        self.0
            .put(key, bytes)
            .http_metadata(HttpMetadata {
                content_type: Some(content_type.to_owned()),
                ..HttpMetadata::default()
            })
            .execute()
            .await
            .map(|_| ())
            .map_err(|e| storage("put", e))
    }

    /// The first `len` bytes of an object (empty when it is shorter or missing).
    pub async fn prefix(&self, key: &str, len: u64) -> ApiResult<Vec<u8>> {
        fault("r2.get", key).await?;
        let object = self
            .0
            .get(key)
            .range(Range::Prefix { length: len })
            .execute()
            .await
            .map_err(|e| storage("get", e))?;
        match object.as_ref().and_then(Object::body) {
            Some(body) => body.bytes().await.map_err(|e| storage("read", e)),
            None => Ok(Vec::new()),
        }
    }

    /// SHA-256 of a whole object, streamed (for objects stored without a checksum).
    pub async fn sha256_of(&self, key: &str) -> ApiResult<Option<Vec<u8>>> {
        fault("r2.get", key).await?;
        let Some(object) = self
            .0
            .get(key)
            .execute()
            .await
            .map_err(|e| storage("get", e))?
        else {
            return Ok(None);
        };
        let Some(body) = object.body() else {
            return Ok(None);
        };
        let mut stream = body.stream().map_err(|e| storage("stream", e))?;
        let mut hasher = Sha256::new();
        while let Some(chunk) = stream.next().await {
            hasher.update(chunk.map_err(|e| storage("read", e))?);
        }
        Ok(Some(hasher.finalize().to_vec()))
    }

    /// An object (or a part of it) with its body, for serving.
    pub async fn get(&self, key: &str, range: Option<Range>) -> ApiResult<Option<Object>> {
        fault("r2.get", key).await?;
        let mut get = self.0.get(key);
        if let Some(r) = range {
            get = get.range(r);
        }
        get.execute().await.map_err(|e| storage("get", e))
    }

    /// Deletes one object; deleting a missing key succeeds (idempotent).
    pub async fn delete(&self, key: &str) -> ApiResult<()> {
        fault("r2.delete", key).await?;
        self.0.delete(key).await.map_err(|e| storage("delete", e))
    }

    /// Deletes every object under `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> ApiResult<usize> {
        fault("r2.delete", prefix).await?;
        let mut deleted = 0;
        loop {
            let listed = self
                .0
                .list()
                .prefix(prefix)
                .limit(1000)
                .execute()
                .await
                .map_err(|e| storage("list", e))?;
            let keys: Vec<String> = listed.objects().iter().map(Object::key).collect();
            if keys.is_empty() {
                return Ok(deleted);
            }
            deleted += keys.len();
            self.0
                .delete_multiple(keys)
                .await
                .map_err(|e| storage("delete", e))?;
            if !listed.truncated() {
                return Ok(deleted);
            }
        }
    }
}

/// Whether an R2 error says the multipart upload is gone (aborted or completed already).
fn no_such_upload(e: &worker::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    text.contains("nosuchupload") || text.contains("does not exist") || text.contains("10024")
}

impl Files {
    /// The multipart upload `upload_id` to `key`, as the binding resumes it.
    fn upload(&self, key: &str, upload_id: &str) -> ApiResult<worker::MultipartUpload> {
        self.0
            .resume_multipart_upload(key, upload_id)
            .map_err(|e| storage("resume multipart upload", e))
    }
}

/// What a streamed copy has seen so far.
#[derive(Default)]
struct Seen {
    sha256: Sha256,
    crc32: crc32fast::Hasher,
    size: u64,
    head: Vec<u8>,
    /// Bytes since the copy last yielded to the event loop.
    since_yield: u64,
}

/// A streamed copy yields to the event loop after this many bytes.
const YIELD_BYTES: u64 = 1024 * 1024;

impl Seen {
    /// Takes in `chunk`; whether it is time to yield.
    fn take(&mut self, chunk: &[u8]) -> bool {
        self.sha256.update(chunk);
        self.crc32.update(chunk);
        self.size += chunk.len() as u64;
        let room = COPIED_HEAD.saturating_sub(self.head.len());
        self.head.extend(chunk.iter().take(room));
        self.since_yield += chunk.len() as u64;
        if self.since_yield >= YIELD_BYTES {
            self.since_yield = 0;
            true
        } else {
            false
        }
    }
}

impl crate::ports::Blobs for Files {
    async fn head(&self, key: &str) -> ApiResult<Option<ObjectInfo>> {
        Files::head(self, key).await
    }

    async fn read(&self, key: &str, range: Option<(u64, u64)>) -> ApiResult<Option<Vec<u8>>> {
        let range = range.map(|(offset, length)| Range::OffsetWithLength { offset, length });
        let Some(object) = Files::get(self, key, range).await? else {
            return Ok(None);
        };
        match object.body() {
            Some(body) => body.bytes().await.map(Some).map_err(|e| storage("read", e)),
            None => Ok(Some(Vec::new())),
        }
    }

    async fn sha256(&self, key: &str) -> ApiResult<Option<Vec<u8>>> {
        self.sha256_of(key).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> ApiResult<()> {
        self.put_bytes(key, bytes, content_type).await
    }

    async fn delete(&self, key: &str) -> ApiResult<()> {
        Files::delete(self, key).await
    }

    async fn delete_prefix(&self, prefix: &str) -> ApiResult<usize> {
        Files::delete_prefix(self, prefix).await
    }

    // Multipart uploads (the library export): thin calls on the binding, a fault point each.
    async fn multipart_start(&self, key: &str, content_type: &str) -> ApiResult<String> {
        fault("r2.multipart_start", key).await?;
        let upload = self
            .0
            .create_multipart_upload(key)
            .http_metadata(HttpMetadata {
                content_type: Some(content_type.to_owned()),
                ..HttpMetadata::default()
            })
            .execute()
            .await
            .map_err(|e| storage("create multipart upload", e))?;
        Ok(upload.upload_id().await)
    }

    async fn multipart_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> ApiResult<String> {
        fault("r2.multipart_part", key).await?;
        let part = self
            .upload(key, upload_id)?
            .upload_part(number, bytes)
            .await
            .map_err(|e| storage("upload part", e))?;
        Ok(part.etag())
    }

    async fn multipart_complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<(u16, String)>,
    ) -> ApiResult<()> {
        fault("r2.multipart_complete", key).await?;
        let parts = parts
            .into_iter()
            .map(|(number, etag)| worker::UploadedPart::new(number, etag));
        self.upload(key, upload_id)?
            .complete(parts)
            .await
            .map(drop)
            .map_err(|e| storage("complete multipart upload", e))
    }

    async fn multipart_abort(&self, key: &str, upload_id: &str) -> ApiResult<()> {
        fault("r2.multipart_abort", key).await?;
        match self.upload(key, upload_id)?.abort().await {
            Ok(()) => Ok(()),
            Err(e) if no_such_upload(&e) => Ok(()),
            Err(e) => Err(storage("abort multipart upload", e)),
        }
    }

    /// Streams the range into the new object: R2's body stream of the range goes straight
    /// into the put (a fixed-length stream), hashed and checked on its way through, so the
    /// Worker holds one chunk at a time whatever the file's size.
    async fn copy_range(
        &self,
        from: &str,
        (offset, len): (u64, u64),
        to: &str,
        content_type: &str,
    ) -> ApiResult<Option<Copied>> {
        let Some(object) = self
            .get(
                from,
                Some(Range::OffsetWithLength {
                    offset,
                    length: len,
                }),
            )
            .await?
        else {
            return Ok(None);
        };
        let Some(body) = object.body() else {
            return Ok(None);
        };
        let seen = Rc::new(RefCell::new(Seen::default()));
        let tap = Rc::clone(&seen);
        let stream = body
            .stream()
            .map_err(|e| storage("stream", e))?
            .and_then(move |chunk| {
                let due = tap.borrow_mut().take(&chunk);
                async move {
                    // A stream whose chunks are all at hand resolves in microtasks only: yield
                    // to the event loop now and then, so the isolate serves its other requests
                    // while a large file goes through.
                    if due {
                        Delay::from(Duration::ZERO).await;
                    }
                    Ok(chunk)
                }
            });
        fault("r2.put", to).await?;
        self.0
            .put(to, FixedLengthStream::wrap(stream, len))
            .http_metadata(HttpMetadata {
                content_type: Some(content_type.to_owned()),
                ..HttpMetadata::default()
            })
            .execute()
            .await
            .map_err(|e| storage("put", e))?;
        let seen = seen.replace(Seen::default());
        Ok(Some(Copied {
            size: seen.size,
            sha256: seen.sha256.finalize().to_vec(),
            crc32: seen.crc32.finalize(),
            head: seen.head,
        }))
    }
}
