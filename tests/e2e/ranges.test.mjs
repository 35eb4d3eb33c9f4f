// Files above WHOLE_FILE_MAX_BYTES (lowered to 1 KiB here, so every upload takes that path):
// pdf_info reads the structure by R2 range reads in workerd, the thumbnail refuses with a reason.
// Also: a dead-lettered task marks the score failed, and the sweep re-enqueues or gives up on
// processing that never finished.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, s;
before(async () => {
  w = await startWorker({ vars: { WHOLE_FILE_MAX_BYTES: "1024" } });
  api = w.api;
  s = await api.signup("ranges@example.com");
});
after(() => w.close());

const fixture = (name) => readFileSync(join(ROOT, "tests/fixtures", name));
const processed = async (bytes) => api.settled((await api.uploadScore(s.access, bytes)).id, s.access);

test("pdf_info reads a file above the whole-file limit by range reads", async () => {
  const score = await processed(makePdf({ pages: 6, title: "Ranged Sonata", author: "R. Reader" }));
  assert.deepEqual(score.processing.pdf_info, { state: "ok" });
  assert.equal(score.pages, 6);
  assert.equal(score.suggestions.title, "Ranged Sonata");
  assert.equal(score.suggestions.composer, "R. Reader");
  assert.deepEqual(score.processing.thumbnail, { state: "failed", reason: "file too large to render (over 1 KiB)" });
  assert.equal(score.thumbnail_url, null);
});

test("object streams, linearized and empty-password files are read by ranges too", async () => {
  for (const name of ["objstm.pdf", "linearized.pdf", "enc-empty-aes256.pdf", "enc-empty-rc4.pdf"]) {
    const score = await processed(fixture(name));
    assert.deepEqual(score.processing.pdf_info, { state: "ok" }, name);
    assert.equal(score.pages, 3, name);
    assert.equal(score.suggestions.title, "Fixture Sonata", name);
  }
});

test("a password and a broken cross-reference fail with their reasons", async () => {
  const locked = await processed(fixture("enc-password.pdf"));
  assert.deepEqual(locked.processing.pdf_info, { state: "failed", reason: "encrypted with a password" });
  const good = makePdf({ pages: 2 });
  const text = good.toString("latin1");
  const broken = Buffer.from(text.replace(/startxref\n\d+/, "startxref\n99999999"), "latin1");
  const damaged = await processed(broken);
  assert.equal(damaged.processing.pdf_info.state, "failed");
  assert.match(damaged.processing.pdf_info.reason, /^damaged file: /);
});

test("a dead-lettered processing task marks the score failed and is recorded for admins", async () => {
  const score = await processed(makePdf({ pages: 1 }));
  const db = await w.db();
  await db.prepare("update scores set thumbnail_state = 'pending', thumbnail_reason = null where id = ?").bind(score.id).run();
  await (await w.deadLetters()).send({ task: "thumbnail", score_id: score.id });
  const after = await eventually(async () => {
    const res = await api.get(`/v1/scores/${score.id}`, s.access);
    return res.body.score.processing.thumbnail.state === "failed" ? res.body.score : null;
  });
  assert.match(after.processing.thumbnail.reason, /^processing failed repeatedly/);
  const dead = await db.prepare("select count(*) as n from task_runs where state = 'dead' and detail like ?").bind(`%${score.id}%`).first();
  assert.equal(dead.n, 1);
});

test("the sweep re-enqueues processing that never finished, and gives up after a day", async () => {
  const lost = await processed(makePdf({ pages: 2 }));
  const ancient = await processed(makePdf({ pages: 2 }));
  const db = await w.db();
  const hoursAgo = (h) => new Date(Date.now() - h * 3600_000).toISOString();
  await db.prepare("update scores set pdf_info_state = 'pending', pages = null, created_at = ? where id = ?").bind(hoursAgo(1), lost.id).run();
  await db.prepare("update scores set pdf_info_state = 'pending', created_at = ? where id = ?").bind(hoursAgo(48), ancient.id).run();
  await w.mf.getWorker().then((worker) => worker.scheduled({ cron: "*/15 * * * *" }));
  const redone = await api.settled(lost.id, s.access);
  assert.deepEqual(redone.processing.pdf_info, { state: "ok" });
  assert.equal(redone.pages, 2);
  const gone = (await api.get(`/v1/scores/${ancient.id}`, s.access)).body.score;
  assert.deepEqual(gone.processing.pdf_info, { state: "failed", reason: "processing did not finish" });
});
