// Faults on purpose (issue 12's standing suite): D1, R2 and the queue consumer fail, stall or
// trap part-way through a use case (shell::faults, enabled by E2E_FAULTS=on), and afterwards the
// ledger, the rows and the objects still agree (invariants.mjs).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf, sha256 } from "./pdf.mjs";
import { inkShare } from "./png.mjs";

let w, api;
before(async () => {
  w = await startWorker({ vars: { E2E_FAULTS: "on" }, retryDelay: 1 });
  api = w.api;
});
after(() => w.close());

const sweep = async () => (await w.mf.getWorker()).scheduled({ cron: "*/15 * * * *" });

async function uploaded(s, bytes = makePdf()) {
  const up = await api.post("/v1/uploads", { filename: "f.pdf", size: bytes.length, mime: "application/pdf", sha256: sha256(bytes) }, s.access);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const put = await w.mf.dispatchFetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
  assert.equal(put.status, 200);
  return { up: up.body, bytes };
}

describe("creating a score", () => {
  test("a create that looks for duplicates after a racing create won leaves the new score's file alone", async () => {
    const s = await api.signup("straddle@example.com");
    const { up, bytes } = await uploaded(s);
    // The first request reads the open upload, then its duplicate check stalls; the second
    // creates the score meanwhile. The stalled one then finds that score: its release of the
    // (now consumed) upload must change nothing and delete nothing.
    await w.fault("d1.first", "content_hash = ?2", { action: "none", delayMs: 400 });
    const slow = api.post("/v1/scores", { upload_id: up.upload_id, title: "Slow" }, s.access);
    await new Promise((r) => setTimeout(r, 100));
    const fast = await api.post("/v1/scores", { upload_id: up.upload_id, title: "Fast" }, s.access);
    assert.equal(fast.status, 201, JSON.stringify(fast.body));
    const late = await slow;
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.equal(late.body.error.code, "UPLOAD_CONSUMED");
    assert.equal(late.body.score_id, fast.body.score.id);
    const object = await (await w.bucket()).get(`u/${s.user.id}/s/${up.upload_id}.pdf`);
    assert.ok(object, "the score's PDF was deleted");
    assert.equal(Buffer.from(await object.arrayBuffer()).compare(bytes), 0);
    await invariants(w);
  });

  test("R2 failing during the object check changes nothing; a retry succeeds", async () => {
    const s = await api.signup("r2-head@example.com");
    const { up } = await uploaded(s);
    await w.fault("r2.head", up.upload_id);
    const failed = await api.post("/v1/scores", { upload_id: up.upload_id, title: "x" }, s.access);
    assertEnvelope(assert, failed, 502, "STORAGE_FAILURE");
    await invariants(w);
    const retried = await api.post("/v1/scores", { upload_id: up.upload_id, title: "x" }, s.access);
    assert.equal(retried.status, 201);
    await invariants(w);
  });

  test("the create batch failing leaves the reservation open and the ledger exact", async () => {
    const s = await api.signup("d1-batch@example.com");
    const { up, bytes } = await uploaded(s);
    await w.fault("d1.batch", "insert into scores");
    const failed = await api.post("/v1/scores", { upload_id: up.upload_id, title: "x" }, s.access);
    assertEnvelope(assert, failed, 500, "INTERNAL");
    assert.deepEqual((await api.get("/v1/me/usage", s.access)).body.reserved_bytes, bytes.length);
    await invariants(w);
    assert.equal((await api.post("/v1/scores", { upload_id: up.upload_id, title: "x" }, s.access)).status, 201);
    await invariants(w);
  });
});

describe("uploading bytes", () => {
  test("R2 failing while the bytes stream in stores nothing and keeps the reservation for a retry", async () => {
    const s = await api.signup("r2-put@example.com");
    const bytes = makePdf();
    const up = (await api.post("/v1/uploads", { filename: "f.pdf", size: bytes.length, mime: "application/pdf", sha256: sha256(bytes) }, s.access)).body;
    await w.fault("r2.put", up.upload_id);
    const failed = await w.mf.dispatchFetch(up.url, { method: "PUT", headers: up.headers, body: bytes });
    assert.equal(failed.status, 502);
    assert.equal((await failed.json()).error.code, "STORAGE_FAILURE");
    assert.equal(await (await w.bucket()).head(`u/${s.user.id}/s/${up.upload_id}.pdf`), null);
    await invariants(w);
    const retried = await w.mf.dispatchFetch(up.url, { method: "PUT", headers: up.headers, body: bytes });
    assert.equal(retried.status, 200);
    assert.equal((await api.post("/v1/scores", { upload_id: up.upload_id, title: "x" }, s.access)).status, 201);
    await invariants(w);
  });
});

describe("deleting a score", () => {
  test("R2 failing during delete_file keeps the deletion in the outbox until a retry removes the file", async () => {
    const s = await api.signup("r2-delete@example.com");
    const { up } = await uploaded(s);
    const score = (await api.post("/v1/scores", { upload_id: up.upload_id, title: "x" }, s.access)).body.score;
    const key = `u/${s.user.id}/s/${up.upload_id}.pdf`;
    await w.fault("r2.delete", key, { times: 10 });
    assert.equal((await api.raw("DELETE", `/v1/scores/${score.id}`, { token: s.access })).status, 204);
    assert.equal((await api.raw("DELETE", `/v1/trash/${score.id}`, { token: s.access })).status, 204);
    assert.equal((await api.get("/v1/me/usage", s.access)).body.used_bytes, 0);
    const db = await w.db();
    await eventually(async () => (await db.prepare("select attempts from task_runs where id like 'delete_file:%' and detail is not null").first()) ?? (await db.prepare("select 1 from e2e_faults where op = 'r2.delete' and remaining < 10").first()));
    assert.ok(await db.prepare("select 1 from deletions where object_key = ?").bind(key).first(), "the outbox lost the deletion");
    await db.prepare("update e2e_faults set remaining = 0").run();
    // The sweep re-enqueues it once its URL has expired and the retry delay passed.
    await db.prepare("update deletions set requested_at = '2000-01-01T00:00:00.000Z', not_before = null where object_key = ?").bind(key).run();
    await sweep();
    await eventually(async () => !(await (await w.bucket()).head(key)));
    await eventually(async () => !(await db.prepare("select 1 from deletions where object_key = ?").bind(key).first()));
    await invariants(w, { objects: true });
  });
});

describe("the queue consumer", () => {
  const run = async (id) => (await w.db()).prepare("select state, detail, attempts, failures, crashes, started_at from task_runs where id = ?").bind(id).first();

  test("a message that traps the isolate is given up after two crashes and takes no batch-mate along", async () => {
    await w.fault("queue.run", "ping:crash-1", { times: 10, action: "trap" });
    const q = await w.queue();
    await q.sendBatch(["mate-1", "crash-1", "mate-2", "mate-3"].map((id) => ({ body: { task: "ping", id } })));
    const given = await eventually(async () => {
      const r = await run("ping:crash-1");
      return r?.state === "failed" ? r : null;
    }, { timeoutMs: 40000 });
    assert.match(given.detail, /stopped the worker repeatedly/);
    assert.equal(given.started_at, null);
    for (const id of ["mate-1", "mate-2", "mate-3"]) {
      const r = await eventually(async () => ((await run(`ping:${id}`))?.state === "ok" ? run(`ping:${id}`) : null), { timeoutMs: 20000 });
      assert.equal(r.failures, 0);
    }
    const dead = await (await w.db()).prepare("select count(*) as n from task_runs where state = 'dead'").first();
    assert.equal(dead.n, 0, "a batch-mate went to the dead-letter queue");
    assert.equal((await api.get("/health")).status, 200, "the Worker serves again");
  });

  test("deferring near the CPU limit is not an attempt", async () => {
    await w.fault("queue.defer", "ping:deferred-1", { times: 2, action: "defer" });
    await (await w.queue()).send({ task: "ping", id: "deferred-1" });
    const r = await eventually(async () => ((await run("ping:deferred-1"))?.state === "ok" ? run("ping:deferred-1") : null), { timeoutMs: 30000 });
    assert.deepEqual([r.attempts, r.failures, r.crashes], [1, 0, 0]);
    const left = await (await w.db()).prepare("select remaining from e2e_faults where pattern = 'ping:deferred-1'").first();
    assert.equal(left.remaining, 0, "it was deferred twice first");
  });

  test("a task given up after its fifth transient error is recorded failed, never left pending", async () => {
    const s = await api.signup("flaky-storage@example.com");
    const score = await api.settled((await api.uploadScore(s.access, makePdf())).id, s.access);
    // Every read of this score's PDF fails: pdf_info and thumbnail end failed, not pending.
    await w.fault("r2.get", `/s/`, { times: 1000 });
    const db = await w.db();
    await db.prepare("update scores set pdf_info_state = 'pending', thumbnail_state = 'pending' where id = ?").bind(score.id).run();
    // Four failures already counted (the back-off between them is tested natively): the next is
    // the fifth.
    await db.prepare("update task_runs set failures = 4 where id in (?, ?)").bind(`pdf_info:${score.id}`, `thumbnail:${score.id}`).run();
    await (await w.queue()).sendBatch([{ body: { task: "pdf_info", score_id: score.id } }, { body: { task: "thumbnail", score_id: score.id } }]);
    const settled = await eventually(async () => {
      const r = (await api.get(`/v1/scores/${score.id}`, s.access)).body.score.processing;
      return r.pdf_info.state === "failed" && r.thumbnail.state === "failed" ? r : null;
    }, { timeoutMs: 20000 });
    await db.prepare("update e2e_faults set remaining = 0").run();
    assert.match(settled.pdf_info.reason, /failed repeatedly/);
    const rec = await run(`pdf_info:${score.id}`);
    assert.deepEqual([rec.failures, rec.crashes], [0, 0], "given up: the counters start again for an explicit re-run");
  });

  test("a worker killed after storing a thumbnail but before recording it finishes on redelivery", async () => {
    const s = await api.signup("killed-mid-task@example.com");
    await w.fault("d1.run", "thumbnail_key = ?2", { times: 1, action: "trap" });
    const score = await api.uploadScore(s.access, makePdf());
    const done = await api.settled(score.id, s.access);
    assert.equal(done.processing.thumbnail.state, "ok");
    const trap = await (await w.db()).prepare("select remaining from e2e_faults where pattern = 'thumbnail_key = ?2'").first();
    assert.equal(trap.remaining, 0, "the first run was killed");
    const r = await run(`thumbnail:${score.id}`);
    assert.deepEqual([r.state, r.crashes, r.started_at], ["ok", 0, null], "finished: the counts start again");
    await invariants(w, { objects: true });
  });

  test("a task delivered three times leaves the same rows and objects as once", async () => {
    const s = await api.signup("thrice@example.com");
    const score = await api.settled((await api.uploadScore(s.access, makePdf({ pages: 2 }))).id, s.access);
    const before = (await api.get(`/v1/scores/${score.id}`, s.access)).body.score;
    const q = await w.queue();
    for (let i = 0; i < 3; i++) {
      await q.sendBatch([{ body: { task: "pdf_info", score_id: score.id } }, { body: { task: "thumbnail", score_id: score.id } }]);
    }
    await eventually(async () => (await run(`thumbnail:${score.id}`)).attempts >= 4);
    const after = (await api.get(`/v1/scores/${score.id}`, s.access)).body.score;
    delete before.thumbnail_url, delete after.thumbnail_url;
    assert.deepEqual(after, before);
    const objects = (await (await w.bucket()).list({ prefix: `u/${s.user.id}/` })).objects.map((o) => o.key);
    assert.equal(objects.length, 2, JSON.stringify(objects));
    await invariants(w, { objects: true });
  });
});

describe("the renderer's fonts", () => {
  test("a batch whose fonts cannot be fetched is retried, and its thumbnail then shows its text", async () => {
    // A worker of its own: the fonts are installed once per isolate, and this file's other tests
    // have rendered in the shared one already.
    const fresh = await startWorker({ vars: { E2E_FAULTS: "on" }, retryDelay: 1 });
    try {
      await fresh.fault("assets.fetch", "FoxitSans.pfb", { times: 2 });
      const s = await fresh.api.signup("fonts@example.com");
      const created = await fresh.api.uploadScore(s.access, makePdf({ title: "Fonts Fetched Later" }));
      const score = await fresh.api.settled(created.id, s.access);
      assert.deepEqual(score.processing.thumbnail, { state: "ok" });
      const png = Buffer.from(await (await fresh.mf.dispatchFetch(score.thumbnail_url)).arrayBuffer());
      assert.ok(inkShare(png) > 0.001, "the title is drawn");
      const left = await (await fresh.shard(0)).prepare("select remaining from e2e_faults where op = 'assets.fetch'").first();
      assert.equal(left.remaining, 0, "both planned failures were met");
      assert.ok(fresh.logs.some((l) => l.includes("no standard fonts")), "the failure was logged");
    } finally {
      await fresh.close();
    }
  });
});
