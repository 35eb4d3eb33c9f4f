// Library exports (SPEC §11) through the built Worker: a library of a few scores — tags, a pages
// part and an uploaded part, a bookmark, annotations, performance settings, two setlists — is
// written by the queue into one ZIP through an R2 multipart upload; the download URL serves it,
// `unzip -t` and Python's zipfile read every entry, each PDF hashes to the bytes uploaded, and the
// manifest says what the API says. Another user's export is 404, an anonymous caller 401. A part
// upload that fails is retried into a complete archive with nothing left open. Every answer is
// held to the OpenAPI document by the harness.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, other;
before(async () => {
  w = await startWorker({ vars: { E2E_FAULTS: "on" } });
  api = w.api;
  [owner, other] = await Promise.all(["export-owner", "export-other"].map((n) => api.signup(`${n}@example.com`)));
});
after(() => w?.close());

const dir = mkdtempSync(join(tmpdir(), "scoremate-export-"));
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The export once it is done or failed. */
async function ended(id, who) {
  return eventually(async () => {
    const r = await api.get(`/v1/exports/${id}`, who.access);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return ["done", "failed"].includes(r.body.export.state) ? r.body.export : null;
  }, { timeoutMs: 40000 });
}

/** The archive at `url`, saved; Python's reading of every entry: name → {sha256, size, stored}. */
async function download(url, name) {
  const res = await w.mf.dispatchFetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/zip");
  const file = join(dir, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  execFileSync("unzip", ["-tq", file]);
  const script = "import sys, json, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({i.filename: {'sha256': hashlib.sha256(z.read(i)).hexdigest(), 'size': i.file_size, 'stored': i.compress_type == 0} for i in z.infolist()}))\n";
  const entries = JSON.parse(execFileSync("python3", ["-c", script, file], { encoding: "utf8" }));
  const read = (entry) => execFileSync("unzip", ["-p", file, entry]);
  return { file, entries, names: Object.keys(entries), read };
}

async function upload(token, bytes) {
  const up = (await api.post("/v1/uploads", { filename: "p.pdf", size: bytes.length, mime: "application/pdf", sha256: sha(bytes) }, token)).body;
  assert.equal((await w.mf.dispatchFetch(up.url, { method: "PUT", headers: up.headers, body: bytes })).status, 200);
  return up.upload_id;
}

test("a library of scores, parts, bookmarks, annotations and setlists exports to a ZIP the API agrees with", async () => {
  const t = owner.access;
  const pdfs = {
    autumn: makePdf({ pages: 2, title: "Autumn Leaves" }),
    chart: makePdf({ pages: 4, title: "Big Band Chart" }),
    songbook: makePdf({ pages: 12, title: "Real Book" }),
    trumpet: makePdf({ pages: 2, title: "Trumpet 1 part" }),
  };
  const settled = async (pdf, fields) => api.settled((await api.uploadScore(t, pdf, fields)).id, t);
  const autumn = await settled(pdfs.autumn, { title: "Autumn Leaves", composer: "Kosma", tags: ["jazz", "ballad"] });
  const chart = await settled(pdfs.chart, { title: "Big Band Chart" });
  const songbook = await settled(pdfs.songbook, { title: "Real Book" });
  assert.equal((await api.post(`/v1/scores/${chart.id}/parts`, { name: "Trumpet 1", upload_id: await upload(t, pdfs.trumpet) }, t)).status, 201);
  assert.equal((await api.post(`/v1/scores/${chart.id}/parts`, { name: "Bass", pages: { first: 3, last: 4 } }, t)).status, 201);
  const bm = (await api.post(`/v1/scores/${songbook.id}/bookmarks`, { title: "Solar", first_page: 5, last_page: 6, key: "Cm" }, t)).body.bookmark;
  assert.equal((await api.put(`/v1/scores/${autumn.id}/annotations/pencil`, { data: { strokes: [1, 2] }, shared: true }, t)).status, 201);
  assert.equal((await api.put(`/v1/scores/${autumn.id}/settings`, { bpm: 92 }, t)).status, 200);
  const gig = (await api.post("/v1/setlists", { name: "Friday gig", venue: "Blue Note" }, t)).body.setlist.id;
  for (const item of [{ score_id: autumn.id }, { bookmark_id: bm.id }, { score_id: chart.id }]) {
    assert.equal((await api.post(`/v1/setlists/${gig}/items`, item, t)).status, 201);
  }
  const rehearsal = (await api.post("/v1/setlists", { name: "Rehearsal" }, t)).body.setlist.id;
  assert.equal((await api.post(`/v1/setlists/${rehearsal}/items`, { score_id: songbook.id }, t)).status, 201);

  const asked = await api.post("/v1/exports", undefined, t);
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  assert.equal(asked.body.export.state, "pending");
  const id = asked.body.export.id;
  // One at a time: asking again while it is pending or running answers the same export.
  const again = await api.post("/v1/exports", undefined, t);
  assert.equal(again.status, 202);
  assert.equal(again.body.export.id, id);

  // Another user's export does not exist for them; an anonymous caller is not let in.
  assert.equal((await api.get(`/v1/exports/${id}`, other.access)).status, 404);
  assert.equal((await api.get(`/v1/exports/${id}`)).status, 401);
  assert.equal((await api.post("/v1/exports")).status, 401);
  assert.deepEqual((await api.get("/v1/exports", other.access)).body, { exports: [] });

  const done = await ended(id, owner);
  assert.equal(done.state, "done", JSON.stringify(done));
  assert.ok(Date.parse(done.expires_at) > Date.now() + 6.9 * 24 * 3600 * 1000, "kept for 7 days");
  assert.equal((await api.get("/v1/exports", t)).body.exports[0].id, id);
  const zip = await download(done.url, "library.zip");
  assert.deepEqual(zip.names.slice(0, 2), ["manifest.json", "index.csv"]);
  assert.equal(zip.names.length, 2 + 4);
  assert.ok(Object.values(zip.entries).every((e) => e.stored), "stored, not recompressed");
  const sizeOnDisk = execFileSync("stat", ["-c", "%s", zip.file], { encoding: "utf8" }).trim();
  assert.equal(String(done.size_bytes), sizeOnDisk);

  const manifest = JSON.parse(zip.read("manifest.json"));
  assert.equal(manifest.format, 1);
  assert.equal(manifest.scores.length, 3);
  for (const [key, s] of [["autumn", autumn], ["chart", chart], ["songbook", songbook]]) {
    const m = manifest.scores.find((x) => x.id === s.id);
    const api_ = (await api.get(`/v1/scores/${s.id}`, t)).body.score;
    for (const field of ["title", "composer", "tags", "content_hash", "size_bytes", "pages", "key"]) {
      const mine = field === "content_hash" ? m.sha256 : m[field];
      assert.deepEqual(mine, api_[field], `${key}.${field}`);
    }
    assert.equal(zip.entries[m.file].sha256, sha(pdfs[key]), `${key}: the PDF as uploaded`);
  }
  const chartM = manifest.scores.find((x) => x.id === chart.id);
  const apiParts = (await api.get(`/v1/scores/${chart.id}/parts`, t)).body.parts;
  assert.deepEqual(chartM.parts.map((p) => [p.id, p.name]).sort(), apiParts.map((p) => [p.id, p.name]).sort());
  const trumpet = chartM.parts.find((p) => p.source === "upload");
  assert.equal(trumpet.sha256, sha(pdfs.trumpet));
  assert.equal(zip.entries[trumpet.file].sha256, sha(pdfs.trumpet), "the uploaded part's PDF");
  assert.deepEqual(chartM.parts.find((p) => p.source === "pages"), { id: chartM.parts.find((p) => p.source === "pages").id, name: "Bass", source: "pages", first_page: 3, last_page: 4, file: null, sha256: null, size_bytes: null });
  const songM = manifest.scores.find((x) => x.id === songbook.id);
  assert.deepEqual(songM.bookmarks, [{ id: bm.id, title: "Solar", composer: bm.composer ?? null, key: "Cm", tags: [], first_page: 5, last_page: 6 }]);
  const autumnM = manifest.scores.find((x) => x.id === autumn.id);
  const layers = (await api.get(`/v1/scores/${autumn.id}/annotations`, t)).body.annotations;
  assert.deepEqual(autumnM.annotations, layers.map((l) => ({ layer: l.layer, item_id: null, shared: l.shared, data: l.data })));
  assert.deepEqual(autumnM.settings, [{ item_id: null, data: (await api.get(`/v1/scores/${autumn.id}/settings`, t)).body.settings }]);
  for (const setlist of [gig, rehearsal]) {
    const view = (await api.get(`/v1/setlists/${setlist}`, t)).body.setlist;
    const m = manifest.setlists.find((l) => l.id === setlist);
    assert.equal(m.name, view.name);
    assert.equal(m.venue, view.venue ?? null);
    assert.deepEqual(m.items.map((i) => [i.id, i.position, i.score_id]), view.items.map((i) => [i.id, i.position, i.score_id]));
  }
  assert.equal(manifest.setlists.find((l) => l.id === gig).items[1].bookmark_id, bm.id);

  const csv = zip.read("index.csv").toString("utf8").trimEnd().split("\r\n");
  assert.equal(csv[0], "file,title,composer,first_page,last_page,key,tags");
  assert.equal(csv.length, 1 + 3 + 1, "a line per score and per bookmark");
  assert.ok(csv.includes(`${autumnM.file},Autumn Leaves,Kosma,1,2,,ballad;jazz`), csv.join("\n"));
  assert.ok(csv.includes(`${songM.file},Solar,,5,6,Cm,`), csv.join("\n"));
  // Exports are not counted in the quota.
  const usage = (await api.get("/v1/me/usage", t)).body;
  const stored = Object.values(pdfs).reduce((n, b) => n + b.length, 0);
  assert.ok(usage.used_bytes < stored + 1024 * 1024, JSON.stringify(usage));
});

test("a part upload that fails is retried into one complete archive, nothing left open", async () => {
  const t = other.access;
  const pdf = makePdf({ pages: 3, title: "Retried" });
  await api.settled((await api.uploadScore(t, pdf, { title: "Retried" })).id, t);
  await w.fault("r2.multipart_part", `/exports/`);
  const id = (await api.post("/v1/exports", undefined, t)).body.export.id;
  const done = await ended(id, other);
  assert.equal(done.state, "done", JSON.stringify(done));
  const zip = await download(done.url, "retried.zip");
  assert.equal(Object.values(zip.entries).filter((e) => e.sha256 === sha(pdf)).length, 1);
  const db = await w.db();
  const row = await db.prepare("select attempt, upload_id, parts from exports where id = ?").bind(id).first();
  assert.deepEqual(row, { attempt: 2, upload_id: null, parts: 1 }, "the second delivery wrote it");
  assert.equal((await db.prepare("select count(*) as n from multipart_aborts").first()).n, 0, "the first upload was aborted");
});
