//! The ports the use cases (`service`) talk through: the database, object storage, the task
//! queue and the source of ids. The shell implements them over D1, R2 and Queues; the tests over
//! SQLite (the real migrations), an in-memory object store with injectable failures, and a
//! recording queue. Traits with `async fn` and no `Send` bound: a Worker is single-threaded.

use serde::de::DeserializeOwned;

use crate::domain::task::Task;
use crate::error::{ApiError, ApiResult};
use crate::store::Stmt;

/// What one statement of a batch did: the rows it returned and whether it changed any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Rows changed. D1 counts the work of triggers too (the full-text index), so only "none
    /// or some" is meaningful.
    pub changes: usize,
    pub rows: Vec<serde_json::Value>,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        self.changes > 0
    }

    /// The rows as `T`.
    ///
    /// # Errors
    /// 500 when a row does not have `T`'s shape.
    pub fn rows<T: DeserializeOwned>(&self) -> ApiResult<Vec<T>> {
        self.rows
            .iter()
            .map(|r| {
                serde_json::from_value(r.clone())
                    .map_err(|e| ApiError::internal(format!("row shape: {e}")))
            })
            .collect()
    }

    /// The first row as `T`, if any.
    ///
    /// # Errors
    /// 500 when it does not have `T`'s shape.
    pub fn first<T: DeserializeOwned>(&self) -> ApiResult<Option<T>> {
        self.rows
            .first()
            .map(|r| {
                serde_json::from_value(r.clone())
                    .map_err(|e| ApiError::internal(format!("row shape: {e}")))
            })
            .transpose()
    }
}

/// Whether statement `i` of a batch changed any row.
pub fn changed(outcomes: &[Outcome], i: usize) -> bool {
    outcomes.get(i).is_some_and(Outcome::changed)
}

/// The database (D1 in the Worker). Statements run one at a time; a batch runs atomically in one
/// round trip. Failures are 500 with their cause.
#[expect(
    async_fn_in_trait,
    reason = "a Worker is single-threaded: no Send bound is wanted"
)]
pub trait Db {
    async fn first<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Option<T>>;
    async fn all<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Vec<T>>;
    /// Runs a write; how many rows it changed.
    async fn run(&self, stmt: Stmt) -> ApiResult<usize>;
    /// Runs statements atomically (all or nothing) and returns each one's outcome.
    async fn batch(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<Outcome>>;

    /// [`Db::batch`] for reads whose statements all return rows of one shape (the setlist
    /// view): each statement's rows as `T`. D1 reads them straight into `T`, without the
    /// detour through a JSON value per row that costs the hot view about a tenth of its speed.
    ///
    /// # Errors
    /// 500 on a database failure or a row without `T`'s shape.
    async fn batch_rows<T: DeserializeOwned>(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<Vec<T>>> {
        self.batch(stmts)
            .await?
            .into_iter()
            .map(|o| {
                o.rows
                    .into_iter()
                    .map(|r| {
                        serde_json::from_value(r)
                            .map_err(|e| ApiError::internal(format!("row shape: {e}")))
                    })
                    .collect()
            })
            .collect()
    }
}

/// What a HEAD tells about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// The SHA-256 the store verified on the way in, when it was given one.
    pub sha256: Option<Vec<u8>>,
    pub etag: String,
}

/// What a copy saw of the bytes it copied (checked by the caller after the copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Bytes copied.
    pub size: u64,
    pub sha256: Vec<u8>,
    pub crc32: u32,
    /// The first bytes (at most [`COPIED_HEAD`]): the file's magic number.
    pub head: Vec<u8>,
}

/// How many of the first bytes a copy keeps.
pub const COPIED_HEAD: usize = 8;

impl Copied {
    /// What `bytes` are, as a copy of them reports.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self {
            size: bytes.len() as u64,
            sha256: Sha256::digest(bytes).to_vec(),
            crc32: crc32fast::hash(bytes),
            head: bytes.iter().take(COPIED_HEAD).copied().collect(),
        }
    }
}

/// Object storage (R2 in the Worker). Failures are 502 (`ApiError::Storage`).
#[expect(
    async_fn_in_trait,
    reason = "a Worker is single-threaded: no Send bound is wanted"
)]
pub trait Blobs {
    async fn head(&self, key: &str) -> ApiResult<Option<ObjectInfo>>;
    /// The object's bytes, or `len` bytes from `offset`; `None` when it does not exist.
    async fn read(&self, key: &str, range: Option<(u64, u64)>) -> ApiResult<Option<Vec<u8>>>;
    /// SHA-256 of the whole object, computed while streaming it (for objects stored without a
    /// checksum).
    async fn sha256(&self, key: &str) -> ApiResult<Option<Vec<u8>>>;
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> ApiResult<()>;
    /// Deleting a missing key succeeds (idempotent).
    async fn delete(&self, key: &str) -> ApiResult<()>;
    /// Deletes every object under `prefix`; how many there were.
    async fn delete_prefix(&self, prefix: &str) -> ApiResult<usize>;
    /// Starts a multipart upload to `key`: its upload id. Parts are numbered from 1; every part
    /// but the last must be the same size, at least 5 MiB (R2's rule).
    async fn multipart_start(&self, key: &str, content_type: &str) -> ApiResult<String>;
    /// Uploads part `number` of upload `upload_id` to `key`: its etag.
    async fn multipart_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> ApiResult<String>;
    /// Completes the upload from `parts` (`(number, etag)` in order): the object exists from now.
    async fn multipart_complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<(u16, String)>,
    ) -> ApiResult<()>;
    /// Aborts the upload, dropping its parts. Aborting one that is gone (aborted or completed
    /// already) succeeds (idempotent).
    async fn multipart_abort(&self, key: &str, upload_id: &str) -> ApiResult<()>;

    /// Copies `len` bytes at `offset` of `from` into the new object `to` and tells what they
    /// were; `None` when `from` does not exist. The R2 adapter streams them (the Worker holds one
    /// chunk at a time); this default reads them whole, which the tests' store and small
    /// objects are fine with.
    async fn copy_range(
        &self,
        from: &str,
        (offset, len): (u64, u64),
        to: &str,
        content_type: &str,
    ) -> ApiResult<Option<Copied>> {
        let Some(bytes) = self.read(from, Some((offset, len))).await? else {
            return Ok(None);
        };
        let copied = Copied::of(&bytes);
        self.put(to, bytes, content_type).await?;
        Ok(Some(copied))
    }
}

/// The task queue (a Queue producer in the Worker). Failures are 502.
#[expect(
    async_fn_in_trait,
    reason = "a Worker is single-threaded: no Send bound is wanted"
)]
pub trait Tasks {
    async fn send(&self, tasks: Vec<Task>) -> ApiResult<()>;
}

/// Everything a use case reaches the world through, plus fresh randomness (passed in, never
/// read inside the core).
pub trait Ports {
    type Db: Db;
    type Blobs: Blobs;
    type Tasks: Tasks;
    fn db(&self) -> &Self::Db;
    fn blobs(&self) -> &Self::Blobs;
    fn tasks(&self) -> &Self::Tasks;
    /// Fills `out` with cryptographically secure random bytes.
    ///
    /// # Errors
    /// 500 if the platform has none (a Worker always has).
    fn random(&self, out: &mut [u8]) -> ApiResult<()>;

    /// The database holding the rows of the owner of `id` (an id carries its owner's virtual
    /// shard, `domain::shard`). Sharded, a use case reaches past the request's database only
    /// for another user's rows (a member's session, a user's own copy of their account).
    fn db_of(&self, _id: &str) -> &Self::Db {
        self.db()
    }

    /// Every database, the first deciding (`domain::shard`): for what spans users (account
    /// rows, what is shared with a user, admin lists, the sweep).
    fn dbs(&self) -> &[Self::Db] {
        std::slice::from_ref(self.db())
    }

    /// The virtual shard the ids made by this request take: its owner's (`None`: random).
    fn vshard(&self) -> Option<u8> {
        None
    }
}
