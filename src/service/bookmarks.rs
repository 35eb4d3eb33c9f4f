//! Songbook bookmarks' use cases (SPEC §10): create one or import a CSV index into a songbook,
//! read, edit, delete and search them, and their download URLs — the songbook's PDF with the
//! page range, or (`?extract=true`) a PDF of just those pages, made once by the queue.

use serde_json::{Map, Value};

use crate::api::views;
use crate::domain::bookmark::{
    check_csv_size, check_pages, parse_index, BookmarkFields, LineError, BOOKMARK_FIELDS,
    LIST_LIMIT_MAX, PER_SCORE_MAX, SCORE_FILTER_MAX_CHARS,
};
use crate::domain::fields::Fields;
use crate::domain::ids;
use crate::domain::score;
use crate::domain::task::Task;
use crate::error::{ApiError, ApiResult};
use crate::ports::{changed, Db, Ports, Tasks};
use crate::storage::{keys, presign};
use crate::store::bookmarks::{
    self as q, BookmarkRow, ExtractRow, NewBookmark, SongbookRow, IMPORT_CHUNK,
};
use crate::store::processing::Of;
use crate::store::search;

use super::activity::{page_query, position};
use super::library::{file_url, Download, StoredFile};
use super::{limits, Cx};

fn well_formed<'a>(prefix: &str, id: &'a str) -> ApiResult<&'a str> {
    if ids::is_well_formed(prefix, id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound)
    }
}

async fn songbook<P: Ports>(cx: &Cx<'_, P>, user: &str, score_id: &str) -> ApiResult<SongbookRow> {
    let score_id = well_formed("sco", score_id)?;
    cx.db()
        .first::<SongbookRow>(q::songbook(score_id, user))
        .await?
        .ok_or(ApiError::NotFound)
}

async fn load<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<BookmarkRow> {
    let id = well_formed("bmk", id)?;
    cx.db()
        .first::<BookmarkRow>(q::bookmark(id, user))
        .await?
        .ok_or(ApiError::NotFound)
}

fn full() -> ApiError {
    ApiError::field(
        "first_page",
        format!("a songbook holds at most {PER_SCORE_MAX} bookmarks"),
    )
}

/// `POST /v1/scores/{id}/bookmarks`: the new bookmark's JSON.
///
/// # Errors
/// 422 per field (pages beyond the songbook's known page count included, or a full songbook);
/// 404 for a score that is not the caller's.
pub async fn create<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score_id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, BOOKMARK_FIELDS);
    let fields = BookmarkFields::parse(&mut f, true);
    f.finish()?;
    let book = songbook(cx, user, score_id).await?;
    let (first, last) = (
        fields.first_page.unwrap_or_default(),
        fields.last_page.unwrap_or_default(),
    );
    check_pages(first, last, book.pages).map_err(|(name, m)| ApiError::field(name, m))?;
    if usize::try_from(book.bookmarks).unwrap_or(0) >= PER_SCORE_MAX {
        return Err(full());
    }
    let id = cx.id("bmk")?;
    let outcomes = cx
        .db()
        .batch(
            q::insert(&NewBookmark {
                id: &id,
                owner: user,
                score_id: &book.id,
                fields: &fields,
                now: &cx.now_text(),
            })
            .into(),
        )
        .await?;
    if !changed(&outcomes, 0) {
        // Deleted, or filled by a racing import, between the read and the batch.
        return match songbook(cx, user, score_id).await {
            Ok(_) => Err(full()),
            Err(e) => Err(e),
        };
    }
    Ok(load(cx, user, &id).await?.json)
}

/// What an import did: `created` bookmarks, the `errors` of the lines left out, and the D1
/// statements it took (the benchmark's figure; not on the wire).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub errors: Vec<LineError>,
    pub statements: usize,
}

/// `POST /v1/scores/{id}/bookmarks/import` `{csv}`: every valid line becomes a bookmark, every
/// bad one is reported with its line. One read, then one atomic batch of
/// ⌈valid lines / [`IMPORT_CHUNK`]⌉ inserts (each with its rows in one JSON parameter): a
/// 2 000-line index takes 5 statements in 2 round trips.
///
/// # Errors
/// 422 for a missing or oversized `csv`, or more bookmarks than the songbook may hold; 404 for
/// a score that is not the caller's.
pub async fn import<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    score_id: &str,
    body: Map<String, Value>,
) -> ApiResult<Imported> {
    let mut f = Fields::new(body, &["csv"]);
    let csv = f.string("csv");
    let csv = f.parse("csv", csv, |s| check_csv_size(s).map(|()| s.to_owned()));
    f.finish()?;
    let csv = csv.ok_or_else(|| ApiError::field("csv", "is required"))?;
    let book = songbook(cx, user, score_id).await?;
    let index = parse_index(&csv, book.pages);
    let room = PER_SCORE_MAX.saturating_sub(usize::try_from(book.bookmarks).unwrap_or(0));
    if index.entries.len() > room {
        return Err(ApiError::field(
            "csv",
            format!(
                "{} bookmarks would exceed the songbook's {PER_SCORE_MAX} (it holds {})",
                index.entries.len(),
                book.bookmarks
            ),
        ));
    }
    let now = cx.now_text();
    let mut stmts = Vec::new();
    for chunk in index.entries.chunks(IMPORT_CHUNK) {
        let ids = chunk
            .iter()
            .map(|_| cx.id("bmk"))
            .collect::<ApiResult<Vec<_>>>()?;
        stmts.push(q::import_chunk(&book.id, user, chunk, &ids, &now));
    }
    let statements = 1 + stmts.len();
    let created = if stmts.is_empty() {
        0
    } else {
        let outcomes = cx.db().batch(stmts).await?;
        if outcomes.iter().any(|o| !o.changed()) {
            // The songbook was deleted, or filled by a racing write, meanwhile; a batch is all
            // or nothing, so at most the chunks that still fitted went in. Say so plainly.
            return Err(ApiError::conflict(
                "SONGBOOK_CHANGED",
                "the songbook changed during the import; list its bookmarks and try again",
            ));
        }
        index.entries.len()
    };
    Ok(Imported {
        created,
        errors: index.errors,
        statements,
    })
}

/// `GET /v1/bookmarks/{id}`: JSON text.
///
/// # Errors
/// 404 for a bookmark that is not the caller's.
pub async fn get<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<String> {
    Ok(load(cx, user, id).await?.json)
}

/// `PATCH /v1/bookmarks/{id}`: absent keeps, `null` clears, `tags` replaces; a changed page
/// range forgets the extracted PDF (its object is deleted). JSON text.
///
/// # Errors
/// 422 per field (the merged range is checked against the songbook); 404.
pub async fn patch<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    body: Map<String, Value>,
) -> ApiResult<String> {
    let mut f = Fields::new(body, BOOKMARK_FIELDS);
    let fields = BookmarkFields::parse(&mut f, false);
    f.finish()?;
    let current = load(cx, user, id).await?;
    let range = (
        fields.first_page.unwrap_or(current.first_page),
        fields.last_page.unwrap_or(current.last_page),
    );
    let book = songbook(cx, user, &current.score_id).await?;
    check_pages(range.0, range.1, book.pages).map_err(|(name, m)| ApiError::field(name, m))?;
    let now = cx.now_text();
    let moved = range != (current.first_page, current.last_page);
    let mut stmts = q::patch(&current.id, user, &fields, range, &now);
    let stale = current.extract_key.as_deref().filter(|_| moved);
    if let Some(key) = stale {
        stmts.push(q::discard(key, &now));
    }
    let outcomes = cx.db().batch(stmts).await?;
    if !changed(&outcomes, 0) {
        return Err(ApiError::NotFound);
    }
    if let Some(key) = stale {
        // The outbox holds it until the task (or the sweep) deletes it.
        let _ = cx
            .tasks()
            .send(vec![Task::DeleteFile {
                key: key.to_owned(),
            }])
            .await;
    }
    get(cx, user, id).await
}

/// `DELETE /v1/bookmarks/{id}`: its setlist items go (with a history event); its extracted PDF
/// through the outbox.
///
/// # Errors
/// 404.
pub async fn delete<P: Ports>(cx: &Cx<'_, P>, user: &str, id: &str) -> ApiResult<()> {
    let current = load(cx, user, id).await?;
    let outcomes = cx
        .db()
        .batch(q::delete(&current.id, user, &cx.now_text()).into())
        .await?;
    if !changed(&outcomes, 2) {
        return Err(ApiError::NotFound);
    }
    if let Some(key) = current.extract_key {
        let _ = cx.tasks().send(vec![Task::DeleteFile { key }]).await;
    }
    Ok(())
}

/// `GET /v1/bookmarks?query=&tag=&score_id=&limit=&cursor=`: the caller's bookmarks by title,
/// `{bookmarks, next_cursor}` as JSON text.
///
/// # Errors
/// 422 for a bad parameter or cursor.
pub async fn list<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    query: &[(String, String)],
) -> ApiResult<String> {
    let mut f = Fields::new(Map::new(), &[]);
    let (mut terms, mut tags, mut score_id) = (Vec::new(), Vec::<String>::new(), None);
    let mut tag_count = 0;
    let (limit, cursor) = page_query(query, LIST_LIMIT_MAX, &mut f, |name, v, f| {
        match name {
            "query" if v.chars().count() > search::MAX_QUERY_CHARS => f.error(
                "query",
                format!("must be at most {} characters", search::MAX_QUERY_CHARS),
            ),
            "query" => terms = search::terms(v),
            "tag" => {
                tag_count += 1;
                match score::tag(v) {
                    Ok(t) if !tags.contains(&t) => tags.push(t),
                    Ok(_) => {}
                    Err(m) => f.error("tag", m),
                }
            }
            "score_id" if v.chars().count() > SCORE_FILTER_MAX_CHARS => f.error(
                "score_id",
                format!("must be at most {SCORE_FILTER_MAX_CHARS} characters"),
            ),
            "score_id" => score_id = Some(v.to_owned()),
            _ => return false,
        }
        true
    });
    if tag_count > search::MAX_TAG_FILTERS {
        f.error("tag", format!("at most {} tags", search::MAX_TAG_FILTERS));
    }
    let scope = format!("{terms:?}|{tags:?}|{score_id:?}");
    let pager =
        crate::store::paging::Pager::new(cx.config.cursor_key()?, "bookmarks", &scope, limit);
    let after: Option<(String, String)> = position(&pager, cursor.as_deref(), &mut f);
    f.finish()?;
    let rows = cx
        .db()
        .all::<BookmarkRow>(q::list(
            user,
            &terms,
            &tags,
            score_id.as_deref(),
            after.as_ref().map(|(t, i)| (t.as_str(), i.as_str())),
            pager.fetch(),
        ))
        .await?;
    let (rows, next) = pager.page(rows, |r| {
        (r.title.clone().unwrap_or_default(), r.id.clone())
    });
    Ok(format!(
        "{{\"bookmarks\":{},\"next_cursor\":{}}}",
        views::json_array(rows.iter().map(|r| r.json.as_str())),
        Value::from(next)
    ))
}

/// `?extract=` and `?page=` of a bookmark's (or a bookmark item's) download URL.
///
/// # Errors
/// 422 for an unknown parameter, a bad value, or both together.
pub fn download_params(query: &[(String, String)]) -> ApiResult<(Option<usize>, bool)> {
    let mut f = Fields::new(Map::new(), &[]);
    let (mut page, mut extract) = (None, false);
    for (k, v) in query {
        match (k.as_str(), v.as_str()) {
            ("extract", "true") => extract = true,
            ("extract", "false") => extract = false,
            ("extract", _) => f.error("extract", "must be true or false"),
            ("page", v) => match v.parse::<usize>() {
                Ok(n) if n >= 1 => page = Some(n),
                _ => f.error("page", "must be a page number (1, 2, …)"),
            },
            (other, _) => f.error(other, "unknown parameter"),
        }
    }
    if extract && page.is_some() {
        f.error("page", "not with extract=true");
    }
    f.finish().map(|()| (page, extract))
}

/// The songbook's URL (or one of its page images) with the bookmark's range.
///
/// # Errors
/// As [`file_url`].
pub async fn range_url<P: Ports>(
    cx: &Cx<'_, P>,
    file: &StoredFile<'_>,
    page: Option<usize>,
    range: (i64, i64),
) -> ApiResult<Download> {
    Ok(match file_url(cx, file, page).await? {
        Download::Ready { url, expires_at } => Download::Pages {
            url,
            expires_at,
            first_page: range.0,
            last_page: range.1,
        },
        other => other,
    })
}

/// The URL of bookmark `id`'s extracted PDF, or where its making stands. The request never
/// extracts: the first one inserts the pending state and sends the one message (single flight);
/// a failure is remembered and answered 422 with its reason; a songbook whose derived objects
/// fill their budget gets no more. `owner`: the caller must own it (`None`: a setlist already
/// checked the reader).
///
/// # Errors
/// 422 on `extract` (a failure, the budget, a songbook too large or unreadable); 429 past the
/// owner's render limit; 404.
pub async fn extract_url<P: Ports>(
    cx: &Cx<'_, P>,
    id: &str,
    owner: Option<&str>,
) -> ApiResult<Download> {
    let floor = cx.config.derived_min_bytes;
    let read = || async {
        cx.db()
            .first::<ExtractRow>(q::extract_job(id, owner, floor))
            .await?
            .ok_or(ApiError::NotFound)
    };
    let mut job = read().await?;
    if job.state.is_none() {
        if job.pdf_info_state == "failed" {
            return Err(ApiError::field(
                "extract",
                format!(
                    "the songbook cannot be read: {}",
                    job.pdf_info_reason
                        .as_deref()
                        .unwrap_or("inspection failed")
                ),
            ));
        }
        let limit = cx.config.whole_file_max_bytes;
        if job.size_bytes > limit {
            return Err(ApiError::field(
                "extract",
                format!(
                    "pages of files over {} are not extracted",
                    crate::domain::human_bytes(limit)
                ),
            ));
        }
        if job.full != 0 {
            return Err(ApiError::field(
                "extract",
                "the derived files of this songbook fill its storage budget",
            ));
        }
        // Queue work the owner's library pays for, whoever asks: counted with page renders.
        let owner_id = keys::owner_of(&job.object_key);
        let renders = limits::window(cx, "renders", owner_id, cx.config.rate_renders);
        limits::hit(cx, &[renders]).await?;
        if cx
            .db()
            .run(q::request_extract(id, floor, &cx.now_text()))
            .await?
            > 0
        {
            // The row stays pending; the sweep sends the message again if this one is lost.
            let _ = cx
                .tasks()
                .send(vec![Task::ExtractBookmark {
                    bookmark_id: id.to_owned(),
                }])
                .await;
            return Ok(Download::Pending);
        }
        job = read().await?;
    }
    match job.state.as_deref() {
        Some("ok") => {
            let key = job
                .extract_key
                .ok_or_else(|| ApiError::internal("extract ok without a key"))?;
            let p = presign::download(
                &cx.config.presign,
                cx.config.blob_key()?,
                cx.base_url,
                &key,
                score::PDF_MIME,
                cx.now,
                cx.config.download_url_ttl_seconds,
            );
            Ok(Download::Pages {
                url: p.url,
                expires_at: p.expires_at.rfc3339(),
                first_page: job.first_page,
                last_page: job.last_page,
            })
        }
        Some("failed") => Err(ApiError::field(
            "extract",
            job.reason
                .unwrap_or_else(|| "the pages cannot be extracted".into()),
        )),
        Some("running") => Ok(Download::Running),
        Some(_) => Ok(Download::Pending),
        None => Err(ApiError::field(
            "extract",
            "the derived files of this songbook fill its storage budget",
        )),
    }
}

/// `GET /v1/bookmarks/{id}/download-url?extract=&page=`: the owner's songbook with the range,
/// or the extracted PDF.
///
/// # Errors
/// 422 for bad parameters or as [`extract_url`]; 404.
pub async fn download_url<P: Ports>(
    cx: &Cx<'_, P>,
    user: &str,
    id: &str,
    query: &[(String, String)],
) -> ApiResult<Download> {
    let params = download_params(query);
    let id = well_formed("bmk", id)?;
    let job = cx
        .db()
        .first::<ExtractRow>(q::extract_job(id, Some(user), cx.config.derived_min_bytes))
        .await?
        .ok_or(ApiError::NotFound)?;
    let (page, extract) = params?;
    if extract {
        return extract_url(cx, id, Some(user)).await;
    }
    let file = StoredFile {
        of: Of::Score,
        id: &job.score_id,
        inspection: (&job.pdf_info_state, job.pdf_info_reason.as_deref()),
        object_key: &job.object_key,
        pages: job.pages,
        size_bytes: job.size_bytes,
    };
    range_url(cx, &file, page, (job.first_page, job.last_page)).await
}
