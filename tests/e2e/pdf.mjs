// Minimal, valid PDF files for tests: N pages of text, an Info dictionary, a correct xref.
import { createHash, randomBytes } from "node:crypto";

/** Builds a PDF. `nonce` makes the bytes (and hash) unique. */
export function makePdf({ pages = 1, title = "Test Score", author = "Tester", keywords = "", nonce = randomBytes(8).toString("hex"), pageBytes = 0 } = {}) {
  const objects = [];
  const add = (body) => { objects.push(body); return objects.length; };
  const catalog = add(null);
  const pagesObj = add(null);
  const font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  const kids = [];
  for (let i = 0; i < pages; i++) {
    // `pageBytes` pads each page's content with drawing a reader must parse (a scanned page's
    // weight, for benchmarks) without changing what the page shows.
    const pad = pageBytes > 0 ? "q Q\n".repeat(Math.ceil(pageBytes / 4)) : "";
    const text = `${pad}BT /F1 24 Tf 72 720 Td (${title} - page ${i + 1} - ${nonce}) Tj ET`;
    const content = add(`<< /Length ${text.length} >>\nstream\n${text}\nendstream`);
    kids.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${content} 0 R >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(" ")}] /Count ${pages} >>`;
  const esc = (s) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const info = add(`<< /Title (${esc(title)}) /Author (${esc(author)}) /Keywords (${esc(keywords)}) /Producer (ScoreMate tests) >>`);
  let out = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R /Info ${info} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

export const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
