//! Background tasks carried by the Queue: their wire format and what each outcome means.
//!
//! Messages are JSON objects tagged by `task`. A message that does not parse can never succeed, so
//! the consumer records it and acks it instead of retrying it forever.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case", deny_unknown_fields)]
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
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ping { .. } => "ping",
            Self::PdfInfo { .. } => "pdf_info",
            Self::Thumbnail { .. } => "thumbnail",
            Self::DeleteFile { .. } => "delete_file",
        }
    }

    /// The key under which the task's outcome is recorded; redelivery hits the same row.
    pub fn record_id(&self) -> String {
        match self {
            Self::Ping { id } => format!("ping:{id}"),
            Self::PdfInfo { score_id } => format!("pdf_info:{score_id}"),
            Self::Thumbnail { score_id } => format!("thumbnail:{score_id}"),
            Self::DeleteFile { key } => format!("delete_file:{key}"),
        }
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

impl Task {
    /// The score whose processing state this task sets, if any.
    pub fn score_id(&self) -> Option<&str> {
        match self {
            Self::PdfInfo { score_id } | Self::Thumbnail { score_id } => Some(score_id),
            Self::Ping { .. } | Self::DeleteFile { .. } => None,
        }
    }
}

/// Parses a message body.
///
/// # Errors
/// Why the body is not a task (recorded on the poison-message row).
pub fn parse(body: &serde_json::Value) -> Result<Task, String> {
    serde_json::from_value(body.clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ping_round_trips_as_tagged_json() {
        let task = Task::Ping { id: "abc".into() };
        let wire = serde_json::to_value(&task).unwrap();
        assert_eq!(wire, json!({"task": "ping", "id": "abc"}));
        assert_eq!(parse(&wire), Ok(task));
    }

    #[test]
    fn unknown_or_malformed_messages_are_refused_with_a_reason() {
        assert!(parse(&json!({"task": "explode"})).is_err());
        assert!(parse(&json!({"task": "ping"})).is_err());
        assert!(parse(&json!("ping")).is_err());
        assert!(parse(&json!({"task": "ping", "id": "a", "extra": 1})).is_err());
    }
}
