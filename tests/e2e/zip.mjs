// A ZIP writer for the import's tests (and bench/import.mjs): stored entries, byte by byte, each
// field open to damage — compression and encryption flags, CRCs and sizes, names an export never
// writes, local headers that point at another entry's bytes (the overlap trick), data
// descriptors. Well-formed output reads back with Info-ZIP and Python's zipfile.
import { createHash } from "node:crypto";

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the ZIP polynomial) of `bytes`. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/**
 * The archive of `entries`: `{name, data, method?, flags?, crc?, cdSize?, pointsAt?, descriptor?}`
 * (`crc`, `cdSize`: what the central directory claims; `pointsAt`: the index of the entry whose
 * local header this one's directory record names; `descriptor`: sizes and CRC after the data).
 */
export function zip(entries) {
  const parts = [];
  let at = 0;
  const push = (buf) => { parts.push(buf); at += buf.length; };
  const offsets = [];
  const crcs = entries.map((e) => crc32(e.data));
  entries.forEach((e, i) => {
    offsets.push(at);
    const name = Buffer.from(e.name, "utf8");
    const flags = (e.flags ?? 0) | (e.descriptor ? 8 : 0) | 0x800;
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(flags, 6);
    h.writeUInt16LE(e.method ?? 0, 8);
    h.writeUInt16LE(0, 10);
    h.writeUInt16LE(0x21, 12);
    h.writeUInt32LE(e.descriptor ? 0 : crcs[i], 14);
    h.writeUInt32LE(e.descriptor ? 0 : e.data.length, 18);
    h.writeUInt32LE(e.descriptor ? 0 : e.data.length, 22);
    h.writeUInt16LE(name.length, 26);
    h.writeUInt16LE(0, 28);
    push(h);
    push(name);
    push(Buffer.from(e.data));
    if (e.descriptor) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crcs[i], 4);
      d.writeUInt32LE(e.data.length, 8);
      d.writeUInt32LE(e.data.length, 12);
      push(d);
    }
  });
  const cdAt = at;
  entries.forEach((e, i) => {
    const name = Buffer.from(e.name, "utf8");
    const flags = (e.flags ?? 0) | (e.descriptor ? 8 : 0) | 0x800;
    const size = e.cdSize ?? e.data.length;
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(e.method ?? 0, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE(0x21, 14);
    c.writeUInt32LE(e.crc ?? crcs[i], 16);
    c.writeUInt32LE(size, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(0, 30);
    c.writeUInt16LE(0, 32);
    c.writeUInt16LE(0, 34);
    c.writeUInt16LE(0, 36);
    c.writeUInt32LE(0, 38);
    c.writeUInt32LE(offsets[e.pointsAt ?? i], 42);
    push(c);
    push(name);
  });
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(entries.length, 0xffff), 10);
  end.writeUInt32LE(at - cdAt, 12);
  end.writeUInt32LE(cdAt, 16);
  push(end);
  return Buffer.concat(parts);
}

/**
 * An exported library as the export writes it: `scores` is a list of
 * `{id, title, pdf, parts?, bookmarks?, annotations?, settings?}` (parts: `{id, name, pdf}` or
 * `{id, name, pages: [first, last]}`), `setlists` of `{id, name, items: [{id, score_id,
 * bookmark_id?, notes?}]}`. Returns `{manifest, entries, files}`.
 */
export function library({ scores, setlists = [] }) {
  const files = [];
  const file = (name, pdf) => { files.push({ name, data: pdf }); return { file: name, sha256: sha256(pdf), size_bytes: pdf.length }; };
  const manifest = {
    format: 1, generator: "scoremate", exported_at: "2026-12-01T00:00:00Z",
    scores: scores.map((s) => ({
      id: s.id, ...file(`files/${s.title}--${s.id}.pdf`, s.pdf), title: s.title, composer: s.composer ?? null,
      arranger: null, instrumentation: null, key: null, notes: null, tags: s.tags ?? [], rating: null,
      difficulty: null, duration: null, pages: s.pages ?? null, created_at: "2026-01-01T00:00:00Z",
      updated_at: "2026-01-01T00:00:00Z",
      parts: (s.parts ?? []).map((p) => p.pdf
        ? { id: p.id, name: p.name, source: "upload", first_page: null, last_page: null, ...file(`files/parts/${p.name}--${s.id}--${p.id}.pdf`, p.pdf) }
        : { id: p.id, name: p.name, source: "pages", first_page: p.pages[0], last_page: p.pages[1], file: null, sha256: null, size_bytes: null }),
      bookmarks: (s.bookmarks ?? []).map((b) => ({ id: b.id, title: b.title, composer: null, key: null, tags: [], first_page: b.pages[0], last_page: b.pages[1] })),
      annotations: s.annotations ?? [],
      settings: s.settings ?? [],
    })),
    setlists: setlists.map((l) => ({
      id: l.id, name: l.name, description: null, event_date: null, venue: null, notes: null,
      created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z",
      items: l.items.map((it, n) => ({ id: it.id, position: n + 1, score_id: it.score_id, bookmark_id: it.bookmark_id ?? null, notes: it.notes ?? null })),
    })),
  };
  const entries = () => [
    { name: "manifest.json", data: Buffer.from(JSON.stringify(manifest)) },
    ...files.map((f) => ({ ...f })),
    { name: "index.csv", data: Buffer.from("file,title,composer,first_page,last_page,key,tags\r\n") },
  ];
  return { manifest, entries, files };
}
