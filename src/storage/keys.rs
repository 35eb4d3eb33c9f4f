//! Object keys. Built by the server only, from ids it issued: never from client strings.

use crate::domain::ids;

/// `u/{user_id}/s/{upload_id}.pdf`.
pub fn score_pdf(user_id: &str, upload_id: &str) -> String {
    debug_assert!(ids::is_well_formed("usr", user_id) && ids::is_well_formed("upl", upload_id));
    format!("u/{user_id}/s/{upload_id}.pdf")
}

/// `u/{user_id}/imports/{upload_id}.zip`: an archive uploaded to be imported (outside any
/// score's prefix; deleted when its import ends).
pub fn import_archive(user_id: &str, upload_id: &str) -> String {
    debug_assert!(ids::is_well_formed("usr", user_id) && ids::is_well_formed("upl", upload_id));
    format!("u/{user_id}/imports/{upload_id}.zip")
}

/// The user id in a key built by [`score_pdf`] or [`import_archive`] (`u/{user_id}/…`).
pub fn owner_of(key: &str) -> &str {
    key.split('/').nth(1).unwrap_or_default()
}

/// Prefix of every object derived from one PDF (thumbnails, page renders).
pub fn derived_prefix(pdf_key: &str) -> String {
    format!("{}/", pdf_key.trim_end_matches(".pdf"))
}

/// The first-page thumbnail of a PDF.
pub fn thumbnail(pdf_key: &str) -> String {
    format!("{}thumb-320.png", derived_prefix(pdf_key))
}

/// Page `number` (1-based) rendered `width` pixels wide for reading (`download-url?page=N`),
/// made by the queue on first request.
pub fn page_image(pdf_key: &str, number: u32, width: u32) -> String {
    format!("{}page-{number}-{width}.png", derived_prefix(pdf_key))
}

/// The book of a setlist for a part (`""`: the full scores) at a version: under the owner's
/// prefix, outside any score's, since it draws on many. The part is hashed (a name may hold any
/// character).
pub fn setlist_book(owner: &str, setlist: &str, part_key: &str, version: i64) -> String {
    let part = if part_key.is_empty() {
        "full".to_owned()
    } else {
        use sha2::{Digest, Sha256};
        crate::domain::hex(&Sha256::digest(part_key.as_bytes())[..8])
    };
    format!("u/{owner}/books/{setlist}/{part}-v{version}.pdf")
}

/// The archive of library export `export_id` of `owner`: under the owner's prefix, outside any
/// score's (it draws on them all).
pub fn export_zip(owner: &str, export_id: &str) -> String {
    debug_assert!(ids::is_well_formed("usr", owner) && ids::is_well_formed("exp", export_id));
    format!("u/{owner}/exports/{export_id}.zip")
}

/// The PDF of pages `first..=last` of a songbook, extracted for bookmark `bookmark_id`: under
/// the songbook's derived prefix, so it goes with the songbook.
pub fn bookmark_pdf(pdf_key: &str, bookmark_id: &str, first: i64, last: i64) -> String {
    format!(
        "{}bookmark-{bookmark_id}-{first}-{last}.pdf",
        derived_prefix(pdf_key)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_built_from_ids() {
        let u = format!("usr_{}", "a".repeat(32));
        let up = format!("upl_{}", "b".repeat(32));
        let key = score_pdf(&u, &up);
        assert_eq!(key, format!("u/{u}/s/{up}.pdf"));
        assert_eq!(derived_prefix(&key), format!("u/{u}/s/{up}/"));
        assert_eq!(owner_of(&key), u);
        let zip = import_archive(&u, &up);
        assert_eq!(zip, format!("u/{u}/imports/{up}.zip"));
        assert_eq!(owner_of(&zip), u);
        assert_eq!(thumbnail(&key), format!("u/{u}/s/{up}/thumb-320.png"));
        assert_eq!(
            page_image(&key, 7, 1240),
            format!("u/{u}/s/{up}/page-7-1240.png")
        );
        assert_eq!(
            bookmark_pdf(&key, "bmk_1", 3, 5),
            format!("u/{u}/s/{up}/bookmark-bmk_1-3-5.pdf")
        );
    }
}
