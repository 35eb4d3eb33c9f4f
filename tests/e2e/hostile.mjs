// Hostile PDFs for end-to-end tests, mirroring the generators of tests/hostile_pdfs.rs: each
// function returns a Buffer holding a complete PDF (objects 1..n, a correct cross-reference
// table, /Root 1 0 R). Bombs are built without ever holding their inflated size: a MiB of zeros
// is deflated once with a sync flush, and that fragment is repeated.
import { deflateRawSync, deflateSync, constants } from "node:zlib";

const MIB = 1024 * 1024;

/** Assembles a PDF from object bodies (strings or Buffers); object i + 1 is bodies[i]. */
export function build(bodies) {
  const parts = [Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "latin1")];
  let length = parts[0].length;
  const offsets = [];
  bodies.forEach((body, i) => {
    offsets.push(length);
    const chunk = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`, "latin1"),
      Buffer.isBuffer(body) ? body : Buffer.from(body, "latin1"),
      Buffer.from("\nendobj\n", "latin1"),
    ]);
    parts.push(chunk);
    length += chunk.length;
  });
  let xref = `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) xref += `${String(o).padStart(10, "0")} 00000 n \n`;
  xref += `trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  parts.push(Buffer.from(xref, "latin1"));
  return Buffer.concat(parts);
}

/** A stream object body; `dict` is the inside of its dictionary (without /Length). */
export function stream(dict, data) {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, "latin1");
  return Buffer.concat([
    Buffer.from(`<< ${dict} /Length ${bytes.length} >>\nstream\n`, "latin1"),
    bytes,
    Buffer.from("\nendstream", "latin1"),
  ]);
}

/** zlib data inflating to `mb` MiB of zeros. */
export function deflatedZeros(mb) {
  const fragment = deflateRawSync(Buffer.alloc(MIB), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  const last = deflateRawSync(Buffer.alloc(0));
  // Adler-32 of n zero bytes: a = 1, b = n mod 65521.
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((((mb * MIB) % 65521) << 16) | 1) >>> 0);
  return Buffer.concat([Buffer.from([0x78, 0xda]), ...Array(mb).fill(fragment), last, adler]);
}

const catalog = "<< /Type /Catalog /Pages 2 0 R >>";
const pages = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
const page = (extra = "") => `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R ${extra} >>`;

/** Page content that inflates to `mb` MiB (default 300). */
export function contentBomb(mb = 300) {
  return build([catalog, pages, page(), stream("/Filter /FlateDecode", deflatedZeros(mb))]);
}

/** The bomb as a Form XObject the page draws. */
export function formBomb(mb = 300) {
  return build([
    catalog, pages, page("/Resources << /XObject << /X1 5 0 R >> >>"), stream("", "q /X1 Do Q"),
    stream("/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Filter /FlateDecode", deflatedZeros(mb)),
  ]);
}

/** The bomb as the glyph procedure of a Type 3 font the page shows. */
export function type3Bomb(mb = 300) {
  return build([
    catalog, pages, page("/Resources << /Font << /F1 5 0 R >> >>"), stream("", "BT /F1 12 Tf 10 10 Td (a) Tj ET"),
    "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1 0 0 1 0 0] /CharProcs << /a 6 0 R >> " +
      "/Encoding << /Type /Encoding /Differences [97 /a] >> /FirstChar 97 /LastChar 97 /Widths [1] >>",
    stream("/Filter /FlateDecode", deflatedZeros(mb)),
  ]);
}

/** The bomb as a tiling pattern the page fills with. */
export function patternBomb(mb = 300) {
  return build([
    catalog, pages, page("/Resources << /Pattern << /P1 5 0 R >> >>"), stream("", "/Pattern cs /P1 scn 0 0 100 100 re f"),
    stream("/Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 10 10] /XStep 10 /YStep 10 " +
      "/Resources << >> /Filter /FlateDecode", deflatedZeros(mb)),
  ]);
}

/** Content under two Flate layers: about a kilobyte that inflates to a third of a megabyte, which inflates to `mb` MiB. */
export function doubleFlateBomb(mb = 300) {
  return build([catalog, pages, page(), stream("/Filter [/FlateDecode /FlateDecode]", deflateSync(deflatedZeros(mb), { level: 9 }))]);
}

/** The bomb behind a stored block whose length check fails: zlib and lopdf give up, hayro's lenient inflater does not. */
export function lenientFlateBomb(mb = 300) {
  const z = deflatedZeros(mb);
  const data = Buffer.concat([Buffer.from([0x78, 0x9c, 0x00, 3, 0, 0, 0, 0x61, 0x62, 0x63]), z.subarray(2, z.length - 4)]);
  return build([catalog, pages, page(), stream("/Filter /FlateDecode", data)]);
}

/** An object stream that inflates to `mb` MiB (decoded by any reader that loads the file). */
export function objStmBomb(mb = 300) {
  return build([catalog, pages, page(), stream("", "0 0 m 10 10 l S"),
    stream("/Type /ObjStm /N 1 /First 0 /Filter /FlateDecode", deflatedZeros(mb))]);
}

/** An image declared 100000×100000 with a kilobyte of data. */
export function hugeImage() {
  return build([
    catalog, pages, page("/Resources << /XObject << /Im1 5 0 R >> >>"), stream("", "q 100 0 0 100 0 0 cm /Im1 Do Q"),
    stream("/Type /XObject /Subtype /Image /Width 100000 /Height 100000 /ColorSpace /DeviceGray /BitsPerComponent 8 " +
      "/Filter /FlateDecode", deflateSync(Buffer.alloc(1000))),
  ]);
}

/** A baseline JPEG header: one grey component, one-bit Huffman codes, a few bytes of scan. */
export function jpegHeader(width, height) {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, height >> 8, height & 255, width >> 8, width & 255, 0x01, 0x01, 0x11, 0x00]);
  const dht = (cls) => Buffer.from([0xff, 0xc4, 0x00, 0x14, cls, 1, ...Array(15).fill(0), 0]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x00]), Buffer.alloc(64, 1), sof, dht(0x00), dht(0x10),
    Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]), Buffer.alloc(64), Buffer.from([0xff, 0xd9]),
  ]);
}

/** A 100×100 image whose JPEG frame header says 60000×60000. */
export function jpegBomb() {
  return build([
    catalog, pages, page("/Resources << /XObject << /Im1 5 0 R >> >>"), stream("", "q 100 0 0 100 0 0 cm /Im1 Do Q"),
    stream("/Type /XObject /Subtype /Image /Width 100 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode",
      jpegHeader(60000, 60000)),
  ]);
}

/** Two forms that draw each other (twice each). */
export function formCycle() {
  const form = (other, id) => stream(`/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /${other} ${id} 0 R >> >>`,
    `/${other} Do /${other} Do`);
  return build([catalog, pages, page("/Resources << /XObject << /A 5 0 R >> >>"), stream("", "/A Do"), form("B", 6), form("A", 5)]);
}

/** 100 000 nested arrays in the content and a resources object nested 100 000 dictionaries deep. */
export function deepNesting(n = 100000) {
  const content = `0 0 m 100 100 l S ${"[".repeat(n)}${"]".repeat(n)} pop`;
  return build([catalog, pages, page("/Resources 5 0 R"), stream("", content), `<< /Deep ${"<< /A ".repeat(n)}${">> ".repeat(n)}>>`]);
}

/** A page-tree node whose kids lead back to the root and to itself. */
export function pageTreeLoop() {
  return build([
    catalog, "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>", stream("", "0 0 m 100 100 l S"),
    "<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 5 0 R 3 0 R] /Count 2 >>",
  ]);
}

/** A page, then a /Pages node claiming 10^9 pages (holding one). */
export function hugeCount() {
  return build([
    catalog, "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 1000000000 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>", stream("", "0 0 m 100 100 l S"),
    "<< /Type /Pages /Parent 2 0 R /Kids [6 0 R] /Count 1000000000 >>",
    "<< /Type /Page /Parent 5 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
  ]);
}

/** A page of 10^9 × 10^9 points. */
export function hugeMediaBox() {
  return build([catalog, pages, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1e9 1e9] /Contents 4 0 R >>".replace("1e9 1e9", "1000000000 1000000000"),
    stream("", "0 0 m 100 100 l S")]);
}

/** Every generator by name, for suites that upload them all. */
export const all = {
  contentBomb, formBomb, type3Bomb, patternBomb, doubleFlateBomb, lenientFlateBomb, objStmBomb, hugeImage, jpegBomb,
  formCycle, deepNesting, pageTreeLoop, hugeCount, hugeMediaBox,
};
