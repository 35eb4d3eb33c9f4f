// A library leaves and comes back (SPEC §11) through the built Worker: a library of 20 scores
// with tags, parts (page ranges and uploaded PDFs), bookmarks, annotation layers, settings and
// 3 setlists is exported by the queue to one ZIP; the ZIP passes `unzip -t` and Python's
// zipfile, its PDFs are the originals byte for byte (sha256) and its manifest validates against
// the committed JSON Schema; uploaded into a fresh account and imported, it makes the same
// library — the second account's own export has the same manifest field by field, ids aside —
// and importing it again creates nothing. Every answer is held to the OpenAPI document.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, alice, bob;
before(async () => {
  w = await startWorker();
  api = w.api;
  [alice, bob] = await Promise.all(["trip-alice", "trip-bob"].map((n) => api.signup(`${n}@example.com`)));
});
after(() => w?.close());

const dir = mkdtempSync(join(tmpdir(), "scoremate-trip-"));
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");
const slow = { timeoutMs: 60000, intervalMs: 250 };

/** Uploads `bytes` (any MIME) through the upload flow: the upload id. */
async function upload(who, bytes, mime, filename) {
  const up = await api.post("/v1/uploads", { filename, size: bytes.length, mime, sha256: sha(bytes) }, who.access);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const put = await w.mf.dispatchFetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
  assert.equal(put.status, 200, await put.text());
  return up.body.upload_id;
}

/** Alice's library: 20 scores, parts, bookmarks, layers, settings, 3 setlists. The PDFs by id. */
async function library(who) {
  const files = new Map();
  const scores = [];
  for (let i = 0; i < 20; i++) {
    const bytes = makePdf({ title: `Piece ${i}`, pages: 1 + (i % 4) });
    const s = await api.uploadScore(who.access, bytes, {
      title: `Piece ${i}`, composer: i % 2 ? "Ellington" : null, key: ["C", "Bb", "F#m"][i % 3],
      tags: i % 5 === 0 ? ["gig", "ballad"] : ["gig"], rating: 1 + (i % 5), notes: i === 3 ? "D.S. al coda, \"tacet\" 2x" : null,
    });
    files.set(s.id, bytes);
    scores.push(s);
  }
  for (const s of scores) await api.settled(s.id, who.access);
  // Parts: a page range on score 1, an uploaded PDF on score 2.
  assert.equal((await api.post(`/v1/scores/${scores[1].id}/parts`, { name: "Bass", pages: { first: 1, last: 2 } }, who.access)).status, 201);
  const partPdf = makePdf({ title: "Trumpet part", pages: 2 });
  const partUpload = await upload(who, partPdf, "application/pdf", "trumpet.pdf");
  const part = await api.post(`/v1/scores/${scores[2].id}/parts`, { name: "Trumpet", upload_id: partUpload }, who.access);
  assert.equal(part.status, 201, JSON.stringify(part.body));
  files.set(part.body.part.id, partPdf);
  // Bookmarks on the 4-page score 3.
  const marks = [];
  for (const [title, first, last] of [["Intro", 1, 1], ["Bridge, part 2", 2, 3]]) {
    const b = await api.post(`/v1/scores/${scores[3].id}/bookmarks`, { title, first_page: first, last_page: last, tags: ["cue"] }, who.access);
    assert.equal(b.status, 201, JSON.stringify(b.body));
    marks.push(b.body.bookmark);
  }
  // Layers and settings.
  assert.equal((await api.put(`/v1/scores/${scores[0].id}/annotations/pencil`, { data: { strokes: [[0.1, 0.2, 0.3]] }, shared: true }, who.access)).status, 201);
  assert.equal((await api.put(`/v1/scores/${scores[0].id}/settings`, { bpm: 96, half_page_turn: true }, who.access)).status, 200);
  // Three setlists; one item plays a bookmark; one item has its own layer and settings.
  const setlists = [];
  for (const [name, picks] of [["Friday", [0, 1, 2]], ["Saturday", [3, 4]], ["Wedding", [5, 6, 7, 0]]]) {
    const id = (await api.post("/v1/setlists", { name, venue: `${name} hall` }, who.access)).body.setlist.id;
    for (const p of picks) assert.equal((await api.post(`/v1/setlists/${id}/items`, { score_id: scores[p].id, notes: `take ${p}` }, who.access)).status, 201);
    setlists.push(id);
  }
  const withMark = await api.post(`/v1/setlists/${setlists[1]}/items`, { bookmark_id: marks[1].id }, who.access);
  assert.equal(withMark.status, 201, JSON.stringify(withMark.body));
  const item = withMark.body.setlist.items.at(-1).id;
  assert.equal((await api.put(`/v1/setlists/${setlists[1]}/items/${item}/annotations/cues`, { data: { marks: [1] } }, who.access)).status, 201);
  assert.equal((await api.put(`/v1/setlists/${setlists[1]}/items/${item}/settings`, { bpm: 120 }, who.access)).status, 200);
  // A trashed score is not part of the library.
  const trashed = await api.uploadScore(who.access, makePdf({ title: "Binned" }), { title: "Binned" });
  assert.equal((await api.raw("DELETE", `/v1/scores/${trashed.id}`, { token: who.access })).status, 204);
  return files;
}

/** Exports `who`'s library: the finished export and the ZIP on disk. */
async function exportOf(who, name) {
  const started = await api.post("/v1/exports", undefined, who.access);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  assert.equal(started.body.export.state, "pending");
  const done = await eventually(async () => {
    const r = await api.get(`/v1/exports/${started.body.export.id}`, who.access);
    assert.notEqual(r.body.export.state, "failed", JSON.stringify(r.body));
    return r.body.export.state === "done" ? r.body.export : null;
  }, slow);
  assert.ok(done.url && done.expires_at && done.size_bytes > 0, JSON.stringify(done));
  const res = await w.mf.dispatchFetch(done.url);
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(bytes.length, done.size_bytes);
  const file = join(dir, `${name}.zip`);
  writeFileSync(file, bytes);
  return { export: done, file, bytes };
}

/** `unzip -t`, then Python's zipfile: the manifest, the index and each entry's sha256. */
function read(file) {
  execFileSync("unzip", ["-t", "-qq", file]);
  const out = execFileSync("python3", ["-c", `
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print(json.dumps({
  "manifest": json.loads(z.read("manifest.json")),
  "index": z.read("index.csv").decode("utf-8"),
  "hashes": {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if i.filename.startswith("files/")},
  "methods": sorted({i.compress_type for i in z.infolist()}),
}))`, file], { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

/** The manifest with every account-specific id replaced by what it stands for. */
function normalized(m) {
  const scoreKey = new Map(m.scores.map((s) => [s.id, s.sha256]));
  const itemKey = new Map();
  for (const l of m.setlists) for (const i of l.items) itemKey.set(i.id, `${l.name}#${i.position}`);
  const markKey = new Map();
  for (const s of m.scores) for (const b of s.bookmarks) markKey.set(b.id, `${s.sha256}:${b.title}`);
  const drop = (o, keys) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
  const byKey = (a, key) => [...a].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  return {
    format: m.format,
    scores: byKey(m.scores, (s) => s.sha256).map((s) => ({
      ...drop(s, ["id", "file", "created_at", "updated_at", "parts", "bookmarks", "annotations", "settings"]),
      parts: byKey(s.parts.map((p) => drop(p, ["id", "file"])), (p) => p.name),
      bookmarks: byKey(s.bookmarks.map((b) => drop(b, ["id"])), (b) => b.title),
      annotations: byKey(s.annotations.map((a) => ({ ...a, item_id: a.item_id && itemKey.get(a.item_id) })), (a) => `${a.layer}@${a.item_id}`),
      settings: byKey(s.settings.map((x) => ({ ...x, item_id: x.item_id && itemKey.get(x.item_id) })), (x) => `${x.item_id}`),
    })),
    setlists: byKey(m.setlists, (l) => l.name).map((l) => ({
      ...drop(l, ["id", "created_at", "updated_at", "items"]),
      items: l.items.map((i) => ({ ...drop(i, ["id", "score_id", "bookmark_id"]), score: scoreKey.get(i.score_id), bookmark: i.bookmark_id && markKey.get(i.bookmark_id) })),
    })),
  };
}

test("export → import into a fresh account → the same library; again → nothing new", { timeout: 240000 }, async () => {
  const files = await library(alice);
  const first = await exportOf(alice, "alice");
  const a = read(first.file);
  assert.deepEqual(a.methods, [0], "every entry stored");
  // The manifest: format 1, valid against the committed schema, the live library only.
  assert.equal(a.manifest.format, 1);
  execFileSync("python3", ["-c", `
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))`,
  writeJson("alice-manifest.json", a.manifest), join(ROOT, "docs/export-manifest.schema.json")]);
  assert.equal(a.manifest.scores.length, 20);
  assert.equal(a.manifest.setlists.length, 3);
  assert.ok(!a.manifest.scores.some((s) => s.title === "Binned"));
  // Every PDF is the original byte for byte.
  for (const s of a.manifest.scores) {
    assert.equal(a.hashes[s.file], sha(files.get(s.id)), s.file);
    for (const p of s.parts.filter((p) => p.file)) assert.equal(a.hashes[p.file], sha(files.get(p.id)), p.file);
  }
  // index.csv: a header and a line per score and per bookmark.
  const lines = a.index.trimEnd().split("\r\n");
  assert.equal(lines[0], "file,title,composer,first_page,last_page,key,tags");
  assert.equal(lines.length, 1 + 20 + 2);
  assert.ok(lines.some((l) => l.includes("\"Bridge, part 2\",,2,3,")), a.index);

  // Into Bob's empty account: a dry run first, then the import.
  const zip = await upload(bob, first.bytes, "application/zip", "library.zip");
  const usedBefore = (await api.get("/v1/me/usage", bob.access)).body.used_bytes;
  const dry = await runImport(bob, zip, true);
  assert.equal(dry.report.scores_created, 20);
  assert.equal((await api.get("/v1/scores", bob.access)).body.scores.length, 0, "a dry run writes nothing");
  const zip2 = await upload(bob, first.bytes, "application/zip", "library.zip");
  const done = await runImport(bob, zip2, false);
  assert.deepEqual(
    [done.report.scores_created, done.report.scores_skipped_duplicate, done.report.setlists_created, done.report.bookmarks_created, done.report.errors],
    [20, 0, 3, 2, []],
  );
  const fileBytes = [...files.values()].reduce((n, b) => n + b.length, 0);
  assert.equal((await api.get("/v1/me/usage", bob.access)).body.used_bytes - usedBefore >= fileBytes, true);
  // Re-processed: every score gets its page count again.
  const bobs = (await api.get("/v1/scores?limit=100", bob.access)).body.scores;
  assert.equal(bobs.length, 20);
  for (const s of bobs) await api.settled(s.id, bob.access);
  // Bob's own export says the same, field by field.
  const second = read((await exportOf(bob, "bob")).file);
  assert.deepEqual(normalized(second.manifest), normalized(a.manifest));
  assert.deepEqual(Object.values(second.hashes).sort(), Object.values(a.hashes).sort());

  // The same archive again: nothing new.
  const zip3 = await upload(bob, first.bytes, "application/zip", "library.zip");
  const again = await runImport(bob, zip3, false);
  assert.deepEqual([again.report.scores_created, again.report.scores_skipped_duplicate, again.report.setlists_created, again.report.bookmarks_created], [0, 20, 0, 0]);
  assert.equal((await api.get("/v1/scores?limit=100", bob.access)).body.scores.length, 20);
  assert.equal((await api.get("/v1/setlists", bob.access)).body.setlists.length, 3);
  await invariants(w);
});

function writeJson(name, value) {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

/** Starts an import of `uploadId` and waits for it to end: the import (done). */
async function runImport(who, uploadId, dryRun) {
  const started = await api.post("/v1/imports", { upload_id: uploadId, dry_run: dryRun }, who.access);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return eventually(async () => {
    const r = await api.get(`/v1/imports/${started.body.import.id}`, who.access);
    assert.notEqual(r.body.import.state, "failed", JSON.stringify(r.body));
    return r.body.import.state === "done" ? r.body.import : null;
  }, slow);
}

