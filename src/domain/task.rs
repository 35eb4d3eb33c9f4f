//! Background tasks carried by the Queue: their wire format, what each outcome means, and the
//! consumer's rules for retrying and giving up.
//!
//! Messages are JSON objects tagged by `task`. A message that does not parse can never succeed, so
//! the consumer records it and acks it instead of retrying it forever.

use serde::Serialize;

/// Written by serde (`{"task": "pdf_info", "score_id": …}`), read by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    /// A liveness probe: the consumer records that it ran. Used by tests and operators to see
    /// the queue round trip work.
    Ping { id: String },
    /// Page count, sizes, Info metadata, encryption → the score row.
    PdfInfo { score_id: String },
    /// First page rendered to a small image in R2.
    Thumbnail { score_id: String },
    /// Removes an object and everything derived from it.
    DeleteFile { key: String },
    /// Page `page` (1-based) of a score rendered `width` pixels wide for reading, requested by a
    /// `download-url?page=N` (single-flight: one message per page and width).
    RenderPage {
        score_id: String,
        page: u32,
        width: u32,
    },
    /// `pdf_info` of a part uploaded as its own PDF (its page count → the part row).
    PartInfo { part_id: String },
    /// `thumbnail` of a part uploaded as its own PDF.
    PartThumbnail { part_id: String },
    /// `render_page` of a part uploaded as its own PDF (its page `page`, `width` pixels wide).
    PartRenderPage {
        part_id: String,
        page: u32,
        width: u32,
    },
    /// The pages of bookmark `bookmark_id` copied into a PDF of their own, requested by a
    /// `download-url?extract=true` (single-flight: one message per bookmark).
    ExtractBookmark { bookmark_id: String },
    /// The book of setlist `setlist_id` for part `part_key` (`""`: the full scores), at the
    /// version its row asks for (single-flight: one message per setlist, part and version).
    SetlistBook {
        setlist_id: String,
        part_key: String,
    },
    /// The library export `export_id`: one ZIP written to R2 by a multipart upload (a delivery
    /// takes the export over from any earlier one and starts the archive again).
    Export { export_id: String },
    /// The library import `import_id` (SPEC §11): its archive read, planned, copied and
    /// committed (or failed) at once; a redelivery resumes what an earlier delivery staged.
    Import { import_id: String },
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ping { .. } => "ping",
            Self::PdfInfo { .. } => "pdf_info",
            Self::Thumbnail { .. } => "thumbnail",
            Self::DeleteFile { .. } => "delete_file",
            Self::RenderPage { .. } => "render_page",
            Self::PartInfo { .. } => "part_info",
            Self::PartThumbnail { .. } => "part_thumbnail",
            Self::PartRenderPage { .. } => "part_render_page",
            Self::ExtractBookmark { .. } => "extract_bookmark",
            Self::SetlistBook { .. } => "setlist_book",
            Self::Export { .. } => "export",
            Self::Import { .. } => "import",
        }
    }

    /// The key under which the task's outcome is recorded; redelivery hits the same row.
    pub fn record_id(&self) -> String {
        match self {
            Self::Ping { id } => format!("ping:{id}"),
            Self::PdfInfo { score_id } => format!("pdf_info:{score_id}"),
            Self::Thumbnail { score_id } => format!("thumbnail:{score_id}"),
            Self::DeleteFile { key } => format!("delete_file:{key}"),
            Self::RenderPage {
                score_id,
                page,
                width,
            } => format!("render_page:{score_id}:{page}:{width}"),
            Self::PartInfo { part_id } => format!("part_info:{part_id}"),
            Self::PartThumbnail { part_id } => format!("part_thumbnail:{part_id}"),
            Self::PartRenderPage {
                part_id,
                page,
                width,
            } => format!("part_render_page:{part_id}:{page}:{width}"),
            Self::ExtractBookmark { bookmark_id } => format!("extract_bookmark:{bookmark_id}"),
            Self::SetlistBook {
                setlist_id,
                part_key,
            } => format!("setlist_book:{setlist_id}:{part_key}"),
            Self::Export { export_id } => format!("export:{export_id}"),
            Self::Import { import_id } => format!("import:{import_id}"),
        }
    }
}

/// The id whose owner's database holds the record `record` ([`Task::record_id`]): the
/// record's subject, up to its page and width, or the owner a file's key names.
pub fn record_owner_key(record: &str) -> Option<&str> {
    let (_, subject) = record.split_once(':')?;
    match subject.strip_prefix("u/") {
        Some(key) => key.split('/').next(),
        None => subject.split(':').next(),
    }
}

/// Reason recorded on a score whose task was dead-lettered (every delivery failed or was cut
/// off by the runtime's CPU or memory limit).
pub const GAVE_UP: &str = "processing failed repeatedly (time or memory limit, or storage errors)";
/// Reason recorded on a score whose task was still pending after [`ABANDON_AFTER_SECONDS`].
pub const NEVER_FINISHED: &str = "processing did not finish";
/// A score pending this long is re-enqueued by the sweep (its message may have been lost)...
pub const REQUEUE_AFTER_SECONDS: i64 = 30 * 60;
/// ...and this long, given up.
pub const ABANDON_AFTER_SECONDS: i64 = 24 * 3600;

/// The database (of `databases`) where a message is handled: its task's owner's, for dead
/// letters too, since a dead letter marks the owner's score failed; the first for a ping or a
/// message that holds no task.
pub fn database_of_message(task: &Result<Task, String>, databases: usize) -> usize {
    task.as_ref()
        .ok()
        .and_then(Task::owner_key)
        .map_or(0, |key| crate::domain::shard::database_of(key, databases))
}

impl Task {
    /// The id whose owner's database holds this task's rows (`domain::shard`): the record it
    /// works on, or for a file the owner its key names (`u/{user}/…`); none for a ping.
    pub fn owner_key(&self) -> Option<&str> {
        match self {
            Self::Ping { .. } => None,
            Self::DeleteFile { key } => key.split('/').nth(1),
            Self::PdfInfo { score_id }
            | Self::Thumbnail { score_id }
            | Self::RenderPage { score_id, .. } => Some(score_id),
            Self::PartInfo { part_id }
            | Self::PartThumbnail { part_id }
            | Self::PartRenderPage { part_id, .. } => Some(part_id),
            Self::ExtractBookmark { bookmark_id } => Some(bookmark_id),
            Self::SetlistBook { setlist_id, .. } => Some(setlist_id),
            Self::Export { export_id } => Some(export_id),
            Self::Import { import_id } => Some(import_id),
        }
    }

    /// Whether the task draws a page (a thumbnail or a page image), and so needs the renderer's
    /// standard fonts (`media::fonts`).
    pub fn renders(&self) -> bool {
        matches!(
            self,
            Self::Thumbnail { .. }
                | Self::RenderPage { .. }
                | Self::PartThumbnail { .. }
                | Self::PartRenderPage { .. }
        )
    }

    /// The score whose processing state this task sets, if any.
    pub fn score_id(&self) -> Option<&str> {
        match self {
            Self::PdfInfo { score_id } | Self::Thumbnail { score_id } => Some(score_id),
            Self::Ping { .. }
            | Self::DeleteFile { .. }
            | Self::RenderPage { .. }
            | Self::PartInfo { .. }
            | Self::PartThumbnail { .. }
            | Self::PartRenderPage { .. }
            | Self::ExtractBookmark { .. }
            | Self::SetlistBook { .. }
            | Self::Export { .. }
            | Self::Import { .. } => None,
        }
    }
}

/// A task that failed for a transient reason (storage or database errors) is retried this many
/// times in all, then given up: counted by the consumer itself in `task_runs.failures`, not by
/// the queue's delivery count, which also counts deferrals and batch-mates of a crash.
pub const MAX_FAILURES: i64 = 5;
/// A task whose run stopped the isolate (out of memory, over the CPU limit, a trap) this many
/// times is given up: it would take every batch it is in down with it.
pub const MAX_CRASHES: i64 = 2;
/// Reason recorded when [`MAX_CRASHES`] is reached.
pub const CRASHED: &str =
    "processing stopped the worker repeatedly (memory or time limit); not retried";
/// Reason recorded when [`MAX_FAILURES`] is reached.
pub const FAILED_REPEATEDLY: &str = "processing failed repeatedly (storage errors); not retried";
/// Seconds before a deferred message (its batch ran near the CPU limit) is delivered again.
pub const DEFER_SECONDS: u32 = 2;

/// What the consumer does with a message before running it, from what the task's record says
/// of earlier deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Run it in batch order.
    Run,
    /// An earlier delivery stopped the isolate while running it: run it after every other
    /// message of the batch has been acked, so another crash takes nothing else with it.
    RunLast,
    /// It crashed the isolate [`MAX_CRASHES`] times: record the failure and ack it.
    GiveUp,
}

/// `crashes` counts earlier deliveries that started the task and never finished it.
pub fn start(crashes: i64) -> Start {
    match crashes {
        c if c >= MAX_CRASHES => Start::GiveUp,
        0 => Start::Run,
        _ => Start::RunLast,
    }
}

/// What to do after a transient error, the `failures`-th (counting this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterError {
    /// Deliver it again after this many seconds (10, 20, 40, … — a storage outage passes).
    RetryIn(u32),
    /// Record the failure and ack it.
    GiveUp,
}

pub fn after_error(failures: i64) -> AfterError {
    if failures >= MAX_FAILURES {
        AfterError::GiveUp
    } else {
        let exponent = u32::try_from(failures.clamp(1, 6) - 1).unwrap_or(0);
        AfterError::RetryIn(10 * 2_u32.pow(exponent))
    }
}

/// Parses a message body: the wire format [`Task`] serializes to, read by hand because serde's
/// reader for an internally tagged enum cost the consumer 13 KB gzip (docs/benchmarks.md).
/// Unknown tasks and fields, missing fields and wrong types are refused, as serde refused them.
///
/// # Errors
/// Why the body is not a task (recorded on the poison-message row).
pub fn parse(body: &serde_json::Value) -> Result<Task, String> {
    use serde_json::Value;
    let fields = body
        .as_object()
        .ok_or_else(|| format!("invalid type: {body}, expected a task object"))?;
    let name = match fields.get("task") {
        Some(Value::String(name)) => name.as_str(),
        Some(other) => return Err(format!("invalid type: {other}, expected a task name")),
        None => return Err("missing field `task`".into()),
    };
    let wanted: &[&str] = match name {
        "ping" => &["id"],
        "pdf_info" | "thumbnail" => &["score_id"],
        "delete_file" => &["key"],
        "render_page" => &["score_id", "page", "width"],
        "part_info" | "part_thumbnail" => &["part_id"],
        "part_render_page" => &["part_id", "page", "width"],
        "extract_bookmark" => &["bookmark_id"],
        "setlist_book" => &["setlist_id", "part_key"],
        "export" => &["export_id"],
        "import" => &["import_id"],
        other => return Err(format!("unknown variant `{other}`")),
    };
    if let Some(extra) = fields
        .keys()
        .find(|k| *k != "task" && !wanted.contains(&k.as_str()))
    {
        return Err(format!("unknown field `{extra}`"));
    }
    let text = |field: &str| match fields.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "invalid type: {other}, expected a string for `{field}`"
        )),
        None => Err(format!("missing field `{field}`")),
    };
    let number = |field: &str| match fields.get(field) {
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("invalid value: {v}, expected a u32 for `{field}`")),
        None => Err(format!("missing field `{field}`")),
    };
    Ok(match name {
        "ping" => Task::Ping { id: text("id")? },
        "pdf_info" => Task::PdfInfo {
            score_id: text("score_id")?,
        },
        "thumbnail" => Task::Thumbnail {
            score_id: text("score_id")?,
        },
        "delete_file" => Task::DeleteFile { key: text("key")? },
        "render_page" => Task::RenderPage {
            score_id: text("score_id")?,
            page: number("page")?,
            width: number("width")?,
        },
        "part_info" => Task::PartInfo {
            part_id: text("part_id")?,
        },
        "part_thumbnail" => Task::PartThumbnail {
            part_id: text("part_id")?,
        },
        "part_render_page" => Task::PartRenderPage {
            part_id: text("part_id")?,
            page: number("page")?,
            width: number("width")?,
        },
        "extract_bookmark" => Task::ExtractBookmark {
            bookmark_id: text("bookmark_id")?,
        },
        "setlist_book" => Task::SetlistBook {
            setlist_id: text("setlist_id")?,
            part_key: text("part_key")?,
        },
        "export" => Task::Export {
            export_id: text("export_id")?,
        },
        _ => Task::Import {
            import_id: text("import_id")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::domain::shard::vshard;

    #[test]
    fn a_task_and_its_record_route_to_their_owners_database() {
        let tasks = [
            Task::Thumbnail {
                score_id: "sco_ab01".into(),
            },
            Task::RenderPage {
                score_id: "sco_ab01".into(),
                page: 2,
                width: 800,
            },
            Task::PartRenderPage {
                part_id: "prt_ab02".into(),
                page: 1,
                width: 400,
            },
            Task::DeleteFile {
                key: "u/usr_ab03/sco_x.pdf".into(),
            },
            Task::SetlistBook {
                setlist_id: "set_ab04".into(),
                part_key: "violin".into(),
            },
            Task::Import {
                import_id: "imp_ab05".into(),
            },
        ];
        for task in &tasks {
            assert_eq!(task.owner_key().and_then(vshard), Some(0xab), "{task:?}");
            let record = task.record_id();
            assert_eq!(
                record_owner_key(&record).and_then(vshard),
                Some(0xab),
                "{record}"
            );
        }
        assert_eq!(Task::Ping { id: "x".into() }.owner_key(), None);
        assert_eq!(record_owner_key("nonsense"), None);
    }

    #[test]
    fn a_message_is_handled_in_its_owners_database_and_one_without_an_owner_in_the_first() {
        let thumbnail = |id: &str| {
            Ok(Task::Thumbnail {
                score_id: id.into(),
            })
        };
        assert_eq!(database_of_message(&thumbnail("sco_ff01"), 2), 1);
        assert_eq!(database_of_message(&thumbnail("sco_0001"), 2), 0);
        assert_eq!(database_of_message(&thumbnail("sco_ff01"), 1), 0);
        assert_eq!(
            database_of_message(&Ok(Task::Ping { id: "p".into() }), 2),
            0
        );
        assert_eq!(database_of_message(&Err("unknown task".into()), 2), 0);
    }

    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn ping_round_trips_as_tagged_json() {
        let task = Task::Ping { id: "abc".into() };
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(wire, json!({"task": "ping", "id": "abc"}));
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn a_task_that_crashed_once_runs_last_and_twice_is_given_up() {
        assert_eq!(start(0), Start::Run);
        assert_eq!(start(1), Start::RunLast);
        assert_eq!(start(MAX_CRASHES), Start::GiveUp);
        assert_eq!(start(MAX_CRASHES + 3), Start::GiveUp);
    }

    #[test]
    fn transient_errors_back_off_then_give_up() {
        assert_eq!(after_error(1), AfterError::RetryIn(10));
        assert_eq!(after_error(2), AfterError::RetryIn(20));
        assert_eq!(after_error(4), AfterError::RetryIn(80));
        assert_eq!(after_error(MAX_FAILURES), AfterError::GiveUp);
    }

    #[test]
    fn a_render_is_recorded_per_page_and_width() {
        let task = Task::RenderPage {
            score_id: "sco_1".into(),
            page: 3,
            width: 1240,
        };
        assert_eq!(task.record_id(), "render_page:sco_1:3:1240");
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(
            wire,
            json!({"task": "render_page", "score_id": "sco_1", "page": 3, "width": 1240})
        );
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn a_parts_render_is_recorded_per_part_page_and_width() {
        let task = Task::PartRenderPage {
            part_id: "prt_1".into(),
            page: 2,
            width: 1240,
        };
        assert_eq!(task.record_id(), "part_render_page:prt_1:2:1240");
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(
            wire,
            json!({"task": "part_render_page", "part_id": "prt_1", "page": 2, "width": 1240})
        );
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn an_extraction_is_recorded_per_bookmark() {
        let task = Task::ExtractBookmark {
            bookmark_id: "bmk_1".into(),
        };
        assert_eq!(task.record_id(), "extract_bookmark:bmk_1");
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(
            wire,
            json!({"task": "extract_bookmark", "bookmark_id": "bmk_1"})
        );
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn an_export_is_recorded_per_export() {
        let task = Task::Export {
            export_id: "exp_1".into(),
        };
        assert_eq!(task.record_id(), "export:exp_1");
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(wire, json!({"task": "export", "export_id": "exp_1"}));
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn an_import_is_recorded_per_import() {
        let task = Task::Import {
            import_id: "imp_1".into(),
        };
        assert_eq!(task.record_id(), "import:imp_1");
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(wire, json!({"task": "import", "import_id": "imp_1"}));
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn unknown_or_malformed_messages_are_refused_with_a_reason() {
        let refused = |v: Value| parse(&v).unwrap_err();
        assert_eq!(
            refused(json!({"task": "explode"})),
            "unknown variant `explode`"
        );
        assert_eq!(refused(json!({"task": "ping"})), "missing field `id`");
        assert_eq!(refused(json!({"id": "a"})), "missing field `task`");
        assert!(refused(json!("ping")).starts_with("invalid type"));
        assert!(refused(json!({"task": 3})).starts_with("invalid type"));
        assert_eq!(
            refused(json!({"task": "ping", "id": "a", "extra": 1})),
            "unknown field `extra`"
        );
        assert!(refused(json!({"task": "thumbnail", "score_id": 7})).starts_with("invalid type"));
        for page in [json!(-1), json!(1.5), json!("2"), json!(5_000_000_000_u64)] {
            let body = json!({"task": "render_page", "score_id": "s", "page": page, "width": 8});
            assert!(refused(body).starts_with("invalid value"), "{page}");
        }
    }

    #[test]
    fn every_task_reads_back_what_it_writes() {
        let id = || "x_1".to_owned();
        let every = [
            Task::Ping { id: id() },
            Task::PdfInfo { score_id: id() },
            Task::Thumbnail { score_id: id() },
            Task::DeleteFile { key: id() },
            Task::RenderPage {
                score_id: id(),
                page: u32::MAX,
                width: 1,
            },
            Task::PartInfo { part_id: id() },
            Task::PartThumbnail { part_id: id() },
            Task::PartRenderPage {
                part_id: id(),
                page: 2,
                width: 3,
            },
            Task::ExtractBookmark { bookmark_id: id() },
            Task::SetlistBook {
                setlist_id: id(),
                part_key: String::new(),
            },
            Task::Export { export_id: id() },
            Task::Import { import_id: id() },
        ];
        for task in every {
            let wire = serde_json::to_value(&task).unwrap();
            assert_eq!(wire["task"], task.name(), "{wire}");
            assert_eq!(parse(&wire), Ok(task), "{wire}");
        }
    }
}
