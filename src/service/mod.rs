//! Use cases: each a function of the ports ([`crate::ports`]), its parsed input, the caller's
//! ids and the time, returning a typed result or the [`ApiError`] to answer. Policy (who may do
//! what), retries and the order of writes live here; the SQL is built by `store`, the rules by
//! `domain`. No `worker` import: every use case runs natively in the tests, over SQLite and an
//! in-memory object store.

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod annotations;
pub mod bookmarks;
pub mod books;
pub mod exports;
pub mod imports;
pub mod library;
pub mod limits;
pub mod live;
pub mod parts;
pub mod platform;
pub mod presets;
pub mod processing;
pub mod setlists;
pub mod trash;

use crate::config::Config;
use crate::domain::ids::{new_id, ID_RANDOM_BYTES};
use crate::domain::time::Millis;
use crate::error::{ApiError, ApiResult};
use crate::ports::{Blobs, Ports};

/// What a use case runs with: the ports, the settings, the time of the request, and the origin
/// Worker-mode blob URLs point at.
pub struct Cx<'a, P> {
    pub ports: &'a P,
    pub config: &'a Config,
    pub now: Millis,
    /// `PUBLIC_BASE_URL`, or the request's own origin (empty off a request: queue, cron).
    pub base_url: &'a str,
}

impl<P: Ports> Cx<'_, P> {
    pub fn db(&self) -> &P::Db {
        self.ports.db()
    }

    pub fn blobs(&self) -> &P::Blobs {
        self.ports.blobs()
    }

    pub fn tasks(&self) -> &P::Tasks {
        self.ports.tasks()
    }

    /// A fresh id with `prefix` (`usr`, `sco`, …).
    ///
    /// # Errors
    /// 500 without randomness.
    pub fn id(&self, prefix: &str) -> ApiResult<String> {
        let mut bytes = [0u8; ID_RANDOM_BYTES];
        self.ports.random(&mut bytes)?;
        if let Some(v) = self.ports.vshard() {
            crate::domain::shard::stamp(v, &mut bytes);
        }
        Ok(new_id(prefix, &bytes))
    }

    /// The first database: where account rows are decided (`domain::shard`).
    pub fn directory(&self) -> &P::Db {
        self.ports.dbs().first().unwrap_or_else(|| self.ports.db())
    }

    /// The time of the request as stored (RFC 3339 UTC, milliseconds).
    pub fn now_text(&self) -> String {
        self.now.rfc3339()
    }
}

/// A stored object read by ranges (a PDF inspected in place, an archive read entry by entry); a
/// missing object is the file's fault (permanent), a storage error transient.
pub(crate) struct Stored<'a, B> {
    pub blobs: &'a B,
    pub key: &'a str,
}

/// Why a range of a [`Stored`] object could not be read.
pub(crate) enum StoredRead {
    Missing,
    Storage(ApiError),
}

impl<B: Blobs> Stored<'_, B> {
    async fn range(&self, start: u64, len: u64) -> Result<Vec<u8>, StoredRead> {
        self.blobs
            .read(self.key, Some((start, len)))
            .await
            .map_err(StoredRead::Storage)?
            .ok_or(StoredRead::Missing)
    }
}

impl<B: Blobs> crate::media::pdf_ranges::RangeSource for Stored<'_, B> {
    type Error = StoredRead;
    async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, StoredRead> {
        self.range(start, len).await
    }
}

impl<B: Blobs> crate::archive::read::Source for Stored<'_, B> {
    type Error = StoredRead;
    async fn read(&self, start: u64, len: u64) -> Result<Vec<u8>, StoredRead> {
        self.range(start, len).await
    }
}
