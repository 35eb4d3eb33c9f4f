//! Minimal valid PDFs for tests: `pages` pages of text with a correct cross-reference table,
//! made unique by `nonce` (the tests/e2e/pdf.mjs of the native tests).

#![allow(
    dead_code,
    reason = "each test binary uses its own subset of the helpers"
)]

/// A PDF of `pages` pages; `nonce` makes its bytes (and hash) unique.
pub fn pdf(pages: usize, nonce: &str) -> Vec<u8> {
    let mut objects: Vec<String> = vec![String::new(), String::new()];
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into());
    let mut kids = Vec::new();
    for i in 0..pages {
        let text = format!("BT /F1 24 Tf 72 720 Td (page {} {nonce}) Tj ET", i + 1);
        objects.push(format!(
            "<< /Length {} >>\nstream\n{text}\nendstream",
            text.len()
        ));
        let content = objects.len();
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>"
        ));
        kids.push(format!("{} 0 R", objects.len()));
    }
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>".into();
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    );
    let mut out = String::from("%PDF-1.7\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for o in offsets {
        out.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// A PDF's outline, top level, in order: each entry's title (UTF-16 with its byte-order mark, or
/// bytes as UTF-8) and the 1-based page its destination opens.
pub fn outline(bytes: &[u8]) -> Vec<(String, usize)> {
    use lopdf::{Document, Object};
    let doc = Document::load_mem(bytes).unwrap();
    let pages: Vec<_> = doc.get_pages().into_values().collect();
    let root = doc
        .catalog()
        .unwrap()
        .get(b"Outlines")
        .unwrap()
        .as_reference()
        .unwrap();
    let mut at = doc
        .get_dictionary(root)
        .unwrap()
        .get(b"First")
        .unwrap()
        .as_reference()
        .ok();
    let mut out = Vec::new();
    while let Some(id) = at {
        let entry = doc.get_dictionary(id).unwrap();
        let title = match entry.get(b"Title").unwrap() {
            Object::String(b, _) if b.starts_with(&[0xFE, 0xFF]) => String::from_utf16(
                &b[2..]
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            Object::String(b, _) => String::from_utf8(b.clone()).unwrap(),
            other => panic!("title {other:?}"),
        };
        let dest = entry.get(b"Dest").unwrap().as_array().unwrap()[0]
            .as_reference()
            .unwrap();
        out.push((title, pages.iter().position(|p| *p == dest).unwrap() + 1));
        at = entry.get(b"Next").and_then(Object::as_reference).ok();
    }
    out
}

/// Saves `doc` as a one-page PDF: `page` becomes the only kid of the page tree `pages` (an id
/// reserved for it, which `page` names as its parent), under a new catalog. Shared by the
/// lopdf-built fixtures (scanned_pages, hostile_pdfs, examples/bench_scanned).
pub fn save_one_page(
    doc: &mut lopdf::Document,
    pages: lopdf::ObjectId,
    page: lopdf::ObjectId,
) -> Vec<u8> {
    use lopdf::{dictionary, Object};
    doc.objects.insert(
        pages,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}
