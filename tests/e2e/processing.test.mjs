// Background processing through the real queue consumer: pdf_info on good, damaged and
// encrypted PDFs; suggestions never overwrite what the user typed; redelivery is idempotent.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";
import { inkShare } from "./png.mjs";

let w, api, s;
before(async () => {
  w = await startWorker();
  api = w.api;
  s = await api.signup("processing@example.com");
});
after(() => w.close());

const upload = (bytes, fields) => api.uploadScore(s.access, bytes, fields);
const settled = (id) => api.settled(id, s.access);
const fixture = (name) => readFileSync(join(ROOT, "tests/fixtures", name));
const run = async (id) => (await w.db()).prepare("select state, attempts, detail from task_runs where id = ?").bind(`pdf_info:${id}`).first();

test("pdf_info stores pages, sizes, metadata and forScore suggestions without touching user fields", async () => {
  const bytes = makePdf({ pages: 4, title: "Arabesque No. 1", author: "Claude Debussy", keywords: "recital, impressionist; rating:4 keysf:4 keymi:0" });
  const created = await upload(bytes, { composer: "Debussy (typed)" });
  const score = await settled(created.id);
  assert.deepEqual(score.processing.pdf_info, { state: "ok" });
  assert.equal(score.pages, 4);
  assert.equal(score.pdf_meta.title, "Arabesque No. 1");
  assert.equal(score.pdf_meta.producer, "ScoreMate tests");
  assert.equal(score.pdf_meta.encrypted, false);
  assert.equal(score.pdf_meta.page_sizes.length, 4);
  assert.deepEqual(score.pdf_meta.page_sizes[0], { width: 595, height: 842, rotate: 0 });
  assert.deepEqual(score.suggestions, { title: "Arabesque No. 1", composer: "Claude Debussy", tags: ["recital", "impressionist"], rating: 4, key: "E major" });
  assert.equal(score.title, "Typed by me");
  assert.equal(score.composer, "Debussy (typed)");
  assert.equal(score.updated_at, created.updated_at, "processing is not a user edit");
});

test("the thumbnail is rendered, stored under the score's prefix and served by a short-lived URL", async () => {
  const bytes = makePdf({ pages: 2, title: "Thumbnail Etude" });
  const score = await settled((await upload(bytes)).id);
  assert.deepEqual(score.processing.thumbnail, { state: "ok" });
  assert.match(score.thumbnail_url, /\/v1\/blobs\//);
  const res = await w.mf.dispatchFetch(score.thumbnail_url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "image/png");
  const png = Buffer.from(await res.arrayBuffer());
  assert.equal(png.subarray(1, 4).toString(), "PNG");
  assert.equal(png.readUInt32BE(16), 320, "width");
  assert.ok(png.readUInt32BE(20) > 320, "portrait");
  // Its only ink is the title, in Helvetica that the PDF does not embed: drawn with the standard
  // fonts the consumer installs from its assets (src/media/fonts.rs), blank without them.
  const ink = inkShare(png);
  assert.ok(ink > 0.001 && ink < 0.05, `ink ${ink}`);
  // In the list too.
  const listed = (await api.get("/v1/scores?limit=100", s.access)).body.scores.find((x) => x.id === score.id);
  assert.match(listed.thumbnail_url, /\/v1\/blobs\//);
  // Deleting the score removes the PDF and the thumbnail.
  const keys = await (await w.bucket()).list({ prefix: `u/${s.user.id}/s/` });
  const row = await (await w.db()).prepare("select thumbnail_key, object_key from scores where id = ?").bind(score.id).first();
  const thumbKey = keys.objects.map((o) => o.key).find((k) => k === row.thumbnail_key);
  assert.ok(thumbKey);
  assert.equal((await api.json("DELETE", `/v1/scores/${score.id}`, undefined, s.access)).status, 204);
  assert.equal((await api.json("DELETE", `/v1/trash/${score.id}`, undefined, s.access)).status, 204);
  await eventually(async () => {
    const left = await (await w.bucket()).list({ prefix: row.object_key.replace(/\.pdf$/, "") });
    return left.objects.length === 0;
  });
});

test("a damaged PDF ends failed with a reason and is acked, not retried", async () => {
  const bytes = Buffer.from("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\nnonsense nonsense\n%%EOF\n");
  const score = await settled((await upload(bytes)).id);
  assert.equal(score.processing.pdf_info.state, "failed");
  assert.match(score.processing.pdf_info.reason, /^damaged file: /);
  assert.equal(score.processing.thumbnail.state, "failed");
  assert.equal(score.thumbnail_url, null);
  await new Promise((r) => setTimeout(r, 1500));
  const row = await run(score.id);
  assert.deepEqual([row.state, row.attempts], ["failed", 1]);
});

test("a password-protected PDF fails as such; an empty-password one is read", async () => {
  const locked = await settled((await upload(fixture("enc-password.pdf"))).id);
  assert.deepEqual(locked.processing.pdf_info, { state: "failed", reason: "encrypted with a password" });
  assert.deepEqual(locked.processing.thumbnail, { state: "failed", reason: "encrypted with a password" });
  const open = await settled((await upload(fixture("enc-empty-aes256.pdf"))).id);
  assert.equal(open.processing.pdf_info.state, "ok");
  assert.equal(open.pages, 3);
  assert.equal(open.pdf_meta.encrypted, true);
  assert.deepEqual(open.processing.thumbnail, { state: "ok" });
});

test("redelivering pdf_info leaves exactly the same row", async () => {
  const score = await settled((await upload(fixture("rotated.pdf"))).id);
  assert.deepEqual(score.pdf_meta.page_sizes.map((p) => p.rotate), [0, 90, 0]);
  const q = await w.queue();
  await q.send({ task: "pdf_info", score_id: score.id });
  await q.send({ task: "pdf_info", score_id: score.id });
  await eventually(async () => (await run(score.id))?.attempts === 3);
  const again = (await api.get(`/v1/scores/${score.id}`, s.access)).body.score;
  // thumbnail_url is presigned afresh on every read (its expiry moves); everything else is equal.
  assert.ok(again.thumbnail_url && score.thumbnail_url);
  delete again.thumbnail_url, delete score.thumbnail_url;
  assert.deepEqual(again, score);
});

test("pdf_info for a deleted score is acked without error", async () => {
  await (await w.queue()).send({ task: "pdf_info", score_id: "sco_" + "f".repeat(32) });
  const row = await eventually(async () =>
    (await w.db()).prepare("select state, detail from task_runs where id = ?").bind(`pdf_info:sco_${"f".repeat(32)}`).first());
  assert.deepEqual(row, { state: "ok", detail: "score no longer exists" });
});

test("download-url?page=N answers 202 while the queue renders that page once, then 200; deletion removes it", async () => {
  const created = await upload(makePdf({ pages: 3, title: "Paged" }));
  const score = await settled(created.id);
  const pending = await api.get(`/v1/scores/${score.id}/download-url?page=2`, s.access);
  assert.equal(pending.status, 202, JSON.stringify(pending.body));
  assert.deepEqual(pending.body, { state: "pending" });
  assert.ok(Number(pending.headers.get("retry-after")) >= 1);
  const first = await eventually(async () => {
    const res = await api.get(`/v1/scores/${score.id}/download-url?page=2`, s.access);
    return res.status === 202 ? null : res;
  });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const image = await w.mf.dispatchFetch(first.body.url);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get("content-type"), "image/png");
  const png = Buffer.from(await image.arrayBuffer());
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.equal(png.readUInt32BE(16), 1240, "reading width");
  const bucket = await w.bucket();
  const prefix = (await bucket.list()).objects.map((o) => o.key).filter((k) => k.endsWith("/page-2-1240.png"));
  assert.equal(prefix.length, 1);
  const stored = await bucket.head(prefix[0]);
  // A second request serves the stored render (same object, not rewritten).
  const again = await api.get(`/v1/scores/${score.id}/download-url?page=2`, s.access);
  assert.equal(again.status, 200);
  assert.equal((await bucket.head(prefix[0])).uploaded.getTime(), stored.uploaded.getTime());
  const beyond = await api.get(`/v1/scores/${score.id}/download-url?page=4`, s.access);
  assert.equal(beyond.status, 422);
  assert.equal(beyond.body.error.fields.page, "the score has 3 pages");
  const other = await api.signup("pages-outsider@example.com");
  assert.equal((await api.get(`/v1/scores/${score.id}/download-url?page=1`, other.access)).status, 404);
  assert.equal((await api.json("DELETE", `/v1/scores/${score.id}`, undefined, s.access)).status, 204);
  assert.equal((await api.json("DELETE", `/v1/trash/${score.id}`, undefined, s.access)).status, 204);
  await eventually(async () => (await bucket.head(prefix[0])) === null);
});
