//! The ports of `scoremate::ports` for native tests: the database is real SQLite with the real
//! migrations (D1's limits included), object storage an in-memory map whose calls can be made to
//! fail, and the queue a recorder. Use cases run on them exactly as in the Worker.

#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use rusqlite::types::{Value as Sqlite, ValueRef};
use rusqlite::Connection;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use scoremate::config::Config;
use scoremate::domain::task::Task;
use scoremate::domain::time::Millis;
use scoremate::error::{ApiError, ApiResult};
use scoremate::ports::{Blobs, Db, ObjectInfo, Outcome, Ports};
use scoremate::service::Cx;
use scoremate::store::{SqlValue, Stmt};

/// Runs a future of the ports to completion: none of them ever waits (SQLite and the fakes are
/// synchronous), so polling once more is all it takes.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// SQLite as the `Db` port (D1 is SQLite): statements bound and run as the D1 adapter does,
/// rows turned into JSON objects and deserialized, a batch in one transaction (all or nothing).
pub struct SqliteDb {
    pub conn: Connection,
    /// `(pattern, remaining)`: the next statements (or batches) whose SQL contains `pattern`
    /// fail, as a D1 error would.
    fail: RefCell<Vec<(String, usize)>>,
}

fn bind(args: &[SqlValue]) -> Vec<Sqlite> {
    args.iter()
        .map(|a| match a {
            SqlValue::Text(s) => Sqlite::Text(s.clone()),
            SqlValue::Int(i) => Sqlite::Integer(*i),
            SqlValue::Null => Sqlite::Null,
        })
        .collect()
}

fn db_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("sqlite: {e}"))
}

impl SqliteDb {
    pub fn new(conn: Connection) -> Self {
        Self {
            conn,
            fail: RefCell::new(Vec::new()),
        }
    }

    /// The next `times` statements or batches whose SQL contains `pattern` fail.
    pub fn fail_next(&self, pattern: &str, times: usize) {
        self.fail.borrow_mut().push((pattern.to_owned(), times));
    }

    fn planned_failure(&self, sql: &str) -> ApiResult<()> {
        let mut plan = self.fail.borrow_mut();
        if let Some(entry) = plan
            .iter_mut()
            .find(|(p, n)| *n > 0 && sql.contains(p.as_str()))
        {
            entry.1 -= 1;
            return Err(db_err("injected failure"));
        }
        Ok(())
    }

    fn rows(&self, stmt: &Stmt) -> ApiResult<(Vec<Value>, usize)> {
        let mut prepared = self.conn.prepare(&stmt.sql).map_err(db_err)?;
        let names: Vec<String> = prepared
            .column_names()
            .iter()
            .map(|n| (*n).to_owned())
            .collect();
        let mut rows = prepared
            .query(rusqlite::params_from_iter(bind(&stmt.args)))
            .map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            let mut obj = Map::new();
            for (i, name) in names.iter().enumerate() {
                let v = match row.get_ref(i).map_err(db_err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(f) => Value::from(f),
                    ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::from(b.to_vec()),
                };
                obj.insert(name.clone(), v);
            }
            out.push(Value::Object(obj));
        }
        drop(rows);
        let changes = if names.is_empty() || stmt.sql.to_ascii_lowercase().contains("returning") {
            usize::try_from(self.conn.changes()).unwrap_or(0)
        } else {
            0
        };
        Ok((out, changes))
    }

    fn typed<T: DeserializeOwned>(rows: Vec<Value>) -> ApiResult<Vec<T>> {
        rows.into_iter()
            .map(|r| serde_json::from_value(r).map_err(db_err))
            .collect()
    }
}

impl Db for SqliteDb {
    async fn first<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Option<T>> {
        self.planned_failure(&stmt.sql)?;
        let (rows, _) = self.rows(&stmt)?;
        Ok(Self::typed(rows)?.into_iter().next())
    }

    async fn all<T: DeserializeOwned>(&self, stmt: Stmt) -> ApiResult<Vec<T>> {
        self.planned_failure(&stmt.sql)?;
        Self::typed(self.rows(&stmt)?.0)
    }

    async fn run(&self, stmt: Stmt) -> ApiResult<usize> {
        self.planned_failure(&stmt.sql)?;
        Ok(self.rows(&stmt)?.1)
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> ApiResult<Vec<Outcome>> {
        let texts: Vec<&str> = stmts.iter().map(|s| s.sql.as_ref()).collect();
        self.planned_failure(&texts.join("\n"))?;
        let tx = self.conn.unchecked_transaction().map_err(db_err)?;
        let mut outcomes = Vec::with_capacity(stmts.len());
        for stmt in &stmts {
            // An error drops `tx`: the whole batch rolls back, as a failed D1 batch does.
            let (rows, changes) = self.rows(stmt)?;
            outcomes.push(Outcome { changes, rows });
        }
        tx.commit().map_err(db_err)?;
        Ok(outcomes)
    }
}

/// Where a multipart upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadState {
    Open,
    Completed,
    Aborted,
}

/// A multipart upload as the store keeps it: its key, the parts uploaded so far, its state.
#[derive(Debug, Clone)]
pub struct Multipart {
    pub key: String,
    pub parts: BTreeMap<u16, Vec<u8>>,
    pub state: UploadState,
}

/// An object store in memory. `checksums` decides whether a HEAD reports the SHA-256 (R2 does
/// for objects stored with one); `fail_next` makes the next calls of an operation fail.
/// Multipart uploads are kept by upload id (`uploads`) with their parts, and assembled on
/// completion under R2's rules (parts 1…n, all but the last of one size of at least 5 MiB, the
/// last no larger).
#[derive(Default)]
pub struct MemBlobs {
    pub objects: RefCell<BTreeMap<String, Vec<u8>>>,
    pub checksums: Cell<bool>,
    pub uploads: RefCell<BTreeMap<String, Multipart>>,
    fail: RefCell<Vec<(String, String, usize)>>,
}

impl MemBlobs {
    /// The ids of the multipart uploads in `state`.
    pub fn uploads_in(&self, state: UploadState) -> Vec<String> {
        self.uploads
            .borrow()
            .iter()
            .filter(|(_, u)| u.state == state)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The next `times` calls of `op` (`head`, `read`, `put`, `delete`, `multipart_start`,
    /// `multipart_part`, `multipart_complete`, `multipart_abort`) on a key containing `pattern`
    /// fail, as a storage outage would. A part's subject is `{key} part {number}`, so a pattern
    /// such as `"part 3"` fails that part.
    pub fn fail_next(&self, op: &str, pattern: &str, times: usize) {
        self.fail
            .borrow_mut()
            .push((op.to_owned(), pattern.to_owned(), times));
    }

    fn planned(&self, op: &str, key: &str) -> ApiResult<()> {
        let mut plan = self.fail.borrow_mut();
        if let Some(entry) = plan
            .iter_mut()
            .find(|(o, p, n)| *n > 0 && o == op && key.contains(p.as_str()))
        {
            entry.2 -= 1;
            return Err(ApiError::Storage(format!("injected {op} failure")));
        }
        Ok(())
    }

    /// Stores `bytes` as a client's PUT would.
    pub fn store(&self, key: &str, bytes: &[u8]) {
        self.objects
            .borrow_mut()
            .insert(key.to_owned(), bytes.to_vec());
    }

    pub fn keys(&self) -> Vec<String> {
        self.objects.borrow().keys().cloned().collect()
    }

    pub fn has(&self, key: &str) -> bool {
        self.objects.borrow().contains_key(key)
    }
}

impl Blobs for MemBlobs {
    async fn head(&self, key: &str) -> ApiResult<Option<ObjectInfo>> {
        self.planned("head", key)?;
        Ok(self.objects.borrow().get(key).map(|b| ObjectInfo {
            size: b.len() as u64,
            sha256: self.checksums.get().then(|| Sha256::digest(b).to_vec()),
            etag: format!("{:x}", b.len()),
        }))
    }

    async fn read(&self, key: &str, range: Option<(u64, u64)>) -> ApiResult<Option<Vec<u8>>> {
        self.planned("read", key)?;
        Ok(self.objects.borrow().get(key).map(|b| match range {
            None => b.clone(),
            Some((offset, len)) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let end = start
                    .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                    .min(b.len());
                b[start..end].to_vec()
            }
        }))
    }

    async fn sha256(&self, key: &str) -> ApiResult<Option<Vec<u8>>> {
        self.planned("read", key)?;
        Ok(self
            .objects
            .borrow()
            .get(key)
            .map(|b| Sha256::digest(b).to_vec()))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> ApiResult<()> {
        self.planned("put", key)?;
        self.objects.borrow_mut().insert(key.to_owned(), bytes);
        Ok(())
    }

    async fn delete(&self, key: &str) -> ApiResult<()> {
        self.planned("delete", key)?;
        self.objects.borrow_mut().remove(key);
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> ApiResult<usize> {
        self.planned("delete", prefix)?;
        let mut objects = self.objects.borrow_mut();
        let gone: Vec<String> = objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        for k in &gone {
            objects.remove(k);
        }
        Ok(gone.len())
    }

    async fn multipart_start(&self, key: &str, _content_type: &str) -> ApiResult<String> {
        self.planned("multipart_start", key)?;
        let mut uploads = self.uploads.borrow_mut();
        let id = format!("mpu-{}", uploads.len() + 1);
        uploads.insert(
            id.clone(),
            Multipart {
                key: key.to_owned(),
                parts: BTreeMap::new(),
                state: UploadState::Open,
            },
        );
        Ok(id)
    }

    async fn multipart_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u16,
        bytes: Vec<u8>,
    ) -> ApiResult<String> {
        self.planned("multipart_part", &format!("{key} part {number}"))?;
        let mut uploads = self.uploads.borrow_mut();
        let upload = uploads
            .get_mut(upload_id)
            .filter(|u| u.key == key && u.state == UploadState::Open)
            .ok_or_else(|| ApiError::Storage("NoSuchUpload".into()))?;
        let etag = scoremate::domain::hex(&Sha256::digest(&bytes)[..16]);
        upload.parts.insert(number, bytes);
        Ok(etag)
    }

    async fn multipart_complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<(u16, String)>,
    ) -> ApiResult<()> {
        self.planned("multipart_complete", key)?;
        let mut uploads = self.uploads.borrow_mut();
        let upload = uploads
            .get_mut(upload_id)
            .filter(|u| u.key == key && u.state == UploadState::Open)
            .ok_or_else(|| ApiError::Storage("NoSuchUpload".into()))?;
        let refused = |why: &str| Err(ApiError::Storage(format!("complete refused: {why}")));
        let mut body = Vec::new();
        let mut size = None;
        for (i, (number, etag)) in parts.iter().enumerate() {
            if usize::from(*number) != i + 1 {
                return refused("parts must be numbered 1, 2, 3, …");
            }
            let Some(bytes) = upload.parts.get(number) else {
                return refused("a part was never uploaded");
            };
            if *etag != scoremate::domain::hex(&Sha256::digest(bytes)[..16]) {
                return refused("an etag does not match");
            }
            let last = i + 1 == parts.len();
            match size {
                None if !last && bytes.len() < scoremate::archive::PART_BYTES => {
                    return refused("a part but the last is under 5 MiB")
                }
                Some(s) if (last && bytes.len() > s) || (!last && bytes.len() != s) => {
                    return refused("parts but the last must be of one size, the last no larger")
                }
                None => size = Some(bytes.len()),
                Some(_) => {}
            }
            body.extend_from_slice(bytes);
        }
        upload.state = UploadState::Completed;
        upload.parts.clear();
        self.objects.borrow_mut().insert(key.to_owned(), body);
        Ok(())
    }

    async fn multipart_abort(&self, key: &str, upload_id: &str) -> ApiResult<()> {
        self.planned("multipart_abort", key)?;
        if let Some(upload) = self.uploads.borrow_mut().get_mut(upload_id) {
            if upload.state == UploadState::Open {
                upload.state = UploadState::Aborted;
                upload.parts.clear();
            }
        }
        Ok(())
    }
}

/// A queue that records what was sent (and can be made to refuse).
#[derive(Default)]
pub struct RecordingTasks {
    pub sent: RefCell<Vec<Task>>,
    pub refuse: Cell<bool>,
}

impl RecordingTasks {
    /// Takes what was sent so far.
    pub fn drain(&self) -> Vec<Task> {
        std::mem::take(&mut self.sent.borrow_mut())
    }
}

impl scoremate::ports::Tasks for RecordingTasks {
    async fn send(&self, tasks: Vec<Task>) -> ApiResult<()> {
        if self.refuse.get() {
            return Err(ApiError::Storage("queue refused".into()));
        }
        self.sent.borrow_mut().extend(tasks);
        Ok(())
    }
}

/// The test ports: SQLite with the real migrations, an in-memory store, a recording queue and
/// deterministic randomness.
pub struct TestPorts {
    pub db: SqliteDb,
    pub blobs: MemBlobs,
    pub tasks: RecordingTasks,
    counter: Cell<u64>,
}

impl Ports for TestPorts {
    type Db = SqliteDb;
    type Blobs = MemBlobs;
    type Tasks = RecordingTasks;

    fn db(&self) -> &SqliteDb {
        &self.db
    }

    fn blobs(&self) -> &MemBlobs {
        &self.blobs
    }

    fn tasks(&self) -> &RecordingTasks {
        &self.tasks
    }

    fn random(&self, out: &mut [u8]) -> ApiResult<()> {
        counted_random(&self.counter, out)
    }
}

/// Deterministic "randomness": the SHA-256 of a counter that advances on every call.
///
/// # Errors
/// Never; a `Result` to fit [`Ports::random`].
pub fn counted_random(counter: &Cell<u64>, out: &mut [u8]) -> ApiResult<()> {
    let n = counter.get() + 1;
    counter.set(n);
    let seed = Sha256::digest(n.to_le_bytes());
    for (i, b) in out.iter_mut().enumerate() {
        *b = seed[i % seed.len()];
    }
    Ok(())
}

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";

/// A world to run use cases in: the ports, the settings (test secret plus `vars`), and a clock
/// the test moves.
pub struct World {
    pub ports: TestPorts,
    pub config: Config,
    pub now: Cell<Millis>,
}

impl World {
    pub fn new() -> Self {
        Self::with(&[])
    }

    /// With settings beyond the defaults (`("DEFAULT_QUOTA_BYTES", "1000")`, …).
    pub fn with(vars: &[(&str, &str)]) -> Self {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let config = Config::from_lookup(|name| {
            if name == "JWT_SECRET" {
                return Some(SECRET.to_owned());
            }
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .expect("test settings");
        Self {
            ports: TestPorts {
                db: SqliteDb::new(super::migrated()),
                blobs: MemBlobs::default(),
                tasks: RecordingTasks::default(),
                counter: Cell::new(0),
            },
            config,
            now: Cell::new(Millis(1_780_000_000_000)),
        }
    }

    /// The context of a request now.
    pub fn cx(&self) -> Cx<'_, TestPorts> {
        Cx {
            ports: &self.ports,
            config: &self.config,
            now: self.now.get(),
            base_url: "https://scoremate.test",
        }
    }

    /// Moves the clock by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.now.set(self.now.get().plus_seconds(seconds));
    }

    pub fn db(&self) -> &Connection {
        &self.ports.db.conn
    }

    /// Runs every queued task through the consumer's code (and the tasks they queue), recording
    /// each outcome as the consumer does: which ran.
    pub fn run_tasks(&self) -> Vec<Task> {
        let mut ran = Vec::new();
        loop {
            let tasks = self.ports.tasks.drain();
            if tasks.is_empty() {
                return ran;
            }
            for task in tasks {
                let outcome =
                    block_on(scoremate::service::processing::run(&self.cx(), &task, "m1"));
                block_on(scoremate::service::processing::finish(
                    &self.cx(),
                    &task,
                    outcome,
                    "m1",
                ));
                ran.push(task);
            }
        }
    }

    /// A score of `user` with the PDF `bytes`, made by the whole upload flow (its processing
    /// tasks drained): its id.
    pub fn score(&self, user: &str, bytes: &[u8], title: &str) -> String {
        let object = |v: Value| v.as_object().cloned().unwrap_or_default();
        let up = block_on(scoremate::service::library::create_upload(
            &self.cx(),
            user,
            object(serde_json::json!({
                "filename": "a.pdf", "size": bytes.len(), "mime": "application/pdf",
                "sha256": scoremate::domain::hex(&Sha256::digest(bytes)),
            })),
        ))
        .unwrap();
        self.ports
            .blobs
            .store(&format!("u/{user}/s/{}.pdf", up.upload_id), bytes);
        let text = block_on(scoremate::service::library::create_score(
            &self.cx(),
            user,
            object(serde_json::json!({"upload_id": up.upload_id, "title": title})),
        ))
        .unwrap();
        self.ports.tasks.drain();
        serde_json::from_str::<Value>(&text).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// [`World::score`] with its `pdf_info` run (its page count known, so parts and bookmarks
    /// may use it).
    pub fn processed_score(&self, user: &str, bytes: &[u8], title: &str) -> String {
        let id = self.score(user, bytes, title);
        let task = Task::PdfInfo {
            score_id: id.clone(),
        };
        block_on(scoremate::service::processing::run(&self.cx(), &task, "m")).unwrap();
        id
    }

    /// A part `name` of `score` uploaded as the PDF `bytes` through the upload flow, its
    /// processing run.
    pub fn uploaded_part(&self, user: &str, score: &str, name: &str, bytes: &[u8]) {
        let object = |v: Value| v.as_object().cloned().unwrap_or_default();
        let up = block_on(scoremate::service::library::create_upload(
            &self.cx(),
            user,
            object(serde_json::json!({
                "filename": "part.pdf", "size": bytes.len(), "mime": "application/pdf",
                "sha256": scoremate::domain::hex(&Sha256::digest(bytes)),
            })),
        ))
        .unwrap();
        self.ports
            .blobs
            .store(&format!("u/{user}/s/{}.pdf", up.upload_id), bytes);
        block_on(scoremate::service::parts::create_part(
            &self.cx(),
            user,
            score,
            object(serde_json::json!({"name": name, "upload_id": up.upload_id})),
        ))
        .unwrap();
        self.run_tasks();
    }

    /// A setlist `name` of `owner` with `members` (`(email, role)`) and one item playing `score`:
    /// `(setlist, item)`.
    pub fn setlist(
        &self,
        owner: &str,
        name: &str,
        members: &[(&str, &str)],
        score: &str,
    ) -> (String, String) {
        use scoremate::service::setlists::{self, Posted};
        let object = |v: Value| v.as_object().cloned().unwrap_or_default();
        let created: Value = serde_json::from_str(
            &block_on(setlists::create(
                &self.cx(),
                owner,
                object(serde_json::json!({"name": name})),
            ))
            .unwrap(),
        )
        .unwrap();
        let setlist = created["id"].as_str().unwrap().to_owned();
        for (email, role) in members {
            block_on(setlists::add_member(
                &self.cx(),
                owner,
                &setlist,
                object(serde_json::json!({"email": email, "role": role})),
            ))
            .unwrap();
        }
        let Posted::Added(view) = block_on(setlists::post_items(
            &self.cx(),
            owner,
            &setlist,
            object(serde_json::json!({"score_id": score})),
        ))
        .unwrap() else {
            panic!("an add");
        };
        let view: Value = serde_json::from_str(&view).unwrap();
        let item = view["items"][0]["id"].as_str().unwrap().to_owned();
        (setlist, item)
    }

    /// A registered user with `quota` bytes: its id.
    pub fn user(&self, email: &str, quota: i64) -> String {
        let id = format!(
            "usr_{}",
            &scoremate::domain::hex(&Sha256::digest(email.as_bytes()))[..32]
        );
        self.db()
            .execute(
                "insert into users (id, email, password_hash, display_name, quota_bytes, created_at, updated_at) \
                 values (?1, ?2, 'x', 'U', ?3, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
                rusqlite::params![id, email, quota],
            )
            .unwrap();
        id
    }

    /// The ledger must equal what the rows say: used = live scores, reserved = open uploads.
    pub fn assert_ledger(&self) {
        let mut q = self
            .db()
            .prepare(
                "select u.id, u.used_bytes, u.reserved_bytes, \
                   coalesce((select sum(size_bytes) from scores s where s.user_id = u.id), 0) \
                   + coalesce((select sum(size_bytes) from score_parts t where t.user_id = u.id), 0) \
                   + coalesce((select sum(bytes) from annotations a where a.user_id = u.id), 0), \
                   coalesce((select sum(size_bytes) from uploads p where p.user_id = u.id and p.state in ('reserved', 'stored')), 0) \
                 from users u",
            )
            .unwrap();
        let rows: Vec<(String, i64, i64, i64, i64)> = q
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (id, used, reserved, live, open) in rows {
            assert_eq!(used, live, "used_bytes of {id}");
            assert_eq!(reserved, open, "reserved_bytes of {id}");
        }
    }

    /// A query's first column as i64 (counts in assertions).
    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// What `DELETE /v1/scores/{id}` did before the trash: the score goes to the trash and is purged
/// at once (its rows, objects and bytes gone).
pub async fn delete_for_good<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<()> {
    scoremate::service::trash::trash_score(cx, user, id).await?;
    scoremate::service::trash::purge_one(cx, user, id).await
}
