// Races (issue 12's standing suite): many writers at once on one score, one quota, one refresh
// token and one setlist, with the ledger and row invariants (invariants.mjs) checked after each.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf, sha256 } from "./pdf.mjs";

let w, api;
before(async () => {
  w = await startWorker({ vars: { RATE_UPLOAD_URLS: "off", RATE_REFRESH_PER_FAMILY: "off" }, ratelimits: { USER_LIMITER: { simple: { limit: 100000, period: 60 } } } });
  api = w.api;
});
after(() => w.close());

const all = (n, fn) => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

test("deleting, editing and favoriting one score at once: one delete wins, the rest see it gone", async () => {
  const s = await api.signup("race-delete@example.com");
  const score = await api.uploadScore(s.access, makePdf());
  const results = await all(30, (i) =>
    i % 3 === 0 ? api.raw("DELETE", `/v1/scores/${score.id}`, { token: s.access })
      : i % 3 === 1 ? api.patch(`/v1/scores/${score.id}`, { title: `T${i}` }, s.access)
        : api.raw("PUT", `/v1/scores/${score.id}/favorite`, { token: s.access }));
  const deletes = results.filter((_, i) => i % 3 === 0).map((r) => r.status);
  assert.equal(deletes.filter((x) => x === 204).length, 1, JSON.stringify(deletes));
  assert.ok(results.every((r) => [200, 204, 404].includes(r.status)), JSON.stringify(results.map((r) => r.status)));
  const size = (await api.get("/v1/me/usage", s.access)).body.used_bytes;
  assert.ok(size > 0, "a trashed score's bytes still count");
  // Purges racing restores: the score ends either live (and counted) or purged (and released).
  const raced = await all(20, (i) => i % 2 === 0 ? api.raw("DELETE", `/v1/trash/${score.id}`, { token: s.access })
    : api.raw("POST", `/v1/trash/${score.id}/restore`, { token: s.access }));
  assert.ok(raced.every((r) => [200, 204, 404].includes(r.status)), JSON.stringify(raced.map((r) => r.status)));
  const live = (await api.get(`/v1/scores/${score.id}`, s.access)).status === 200;
  const purged = raced.filter((_, i) => i % 2 === 0).filter((r) => r.status === 204).length;
  assert.ok(purged <= 1 && live === (purged === 0), JSON.stringify(raced.map((r) => r.status)));
  assert.equal((await api.get("/v1/me/usage", s.access)).body.used_bytes, live ? size : 0);
  await invariants(w);
});

test("reservations at the quota edge: exactly as many as fit; then creates racing the sweep", async () => {
  // Twenty different files of one size (a PDF may carry trailing whitespace after %%EOF).
  const raw = Array.from({ length: 20 }, () => makePdf());
  const size = Math.max(...raw.map((b) => b.length)) + 8;
  const files = raw.map((b) => Buffer.concat([b, Buffer.alloc(size - b.length, 0x20)]));
  const edge = await startWorker({ vars: { DEFAULT_QUOTA_BYTES: String(size * 10), RATE_UPLOAD_URLS: "off" } });
  try {
    const a = edge.api;
    const s = await a.signup("quota-edge@example.com");
    const ups = await all(20, (i) => a.post("/v1/uploads", { filename: "a.pdf", size, mime: "application/pdf", sha256: sha256(files[i]) }, s.access));
    const ok = ups.map((u, i) => ({ u, i })).filter(({ u }) => u.status === 201);
    assert.equal(ok.length, 10, JSON.stringify(ups.map((u) => u.status)));
    assert.ok(ups.filter((u) => u.status !== 201).every((u) => u.status === 413 && u.body.error.code === "QUOTA_EXCEEDED"));
    assert.deepEqual((await a.get("/v1/me/usage", s.access)).body, { quota_bytes: size * 10, used_bytes: 0, reserved_bytes: size * 10 });
    for (const { u, i } of ok) await edge.mf.dispatchFetch(u.body.url, { method: "PUT", headers: u.body.headers, body: files[i] });
    // The uploads stop being consumable in 300 ms; creates start now, the sweep in 350 ms.
    const db = await edge.db();
    await db.prepare("update uploads set consumable_until = ? where user_id = ?").bind(new Date(Date.now() + 300).toISOString(), s.user.id).run();
    const worker = await edge.mf.getWorker();
    const creates = ok.map(({ u }, k) => new Promise((r) => setTimeout(r, k * 60)).then(() => a.post("/v1/scores", { upload_id: u.body.upload_id, title: "edge" }, s.access)));
    const sweep = new Promise((r) => setTimeout(r, 350)).then(() => worker.scheduled({ cron: "*/15 * * * *" }));
    const results = await Promise.all(creates);
    await sweep;
    assert.ok(results.every((r) => r.status === 201 || (r.status === 409 && r.body.error.code === "UPLOAD_EXPIRED")), JSON.stringify(results.map((r) => r.status)));
    await eventually(async () => (await a.get("/v1/me/usage", s.access)).body.reserved_bytes === 0);
    const used = (await a.get("/v1/me/usage", s.access)).body.used_bytes;
    assert.equal(used, size * results.filter((r) => r.status === 201).length);
    await invariants(edge, { objects: true });
  } finally {
    await edge.close();
  }
});

test("one refresh token spent by 10 clients at once: at most one new session token, family revoked on reuse", async () => {
  const s = await api.signup("race-refresh@example.com");
  const results = await all(10, () => api.post("/v1/auth/refresh", { refresh: s.refresh }));
  const wins = results.filter((r) => r.status === 200);
  assert.ok(wins.length <= 1, JSON.stringify(results.map((r) => r.status)));
  assert.ok(results.every((r) => [200, 401].includes(r.status)));
  const db = await w.db();
  const live = await db.prepare("select count(*) as n from refresh_tokens r join sessions x on x.id = r.session_id where r.user_id = ? and r.used_at is null and x.revoked_at is null").bind(s.user.id).first();
  assert.equal(live.n, 0, "a reused token revokes the whole family: no successor may stay usable");
});

test("racing setlist writes keep positions dense and every change versioned", async () => {
  const s = await api.signup("race-setlist@example.com");
  const scores = await all(3, () => api.uploadScore(s.access, makePdf()));
  const id = (await api.post("/v1/setlists", { name: "Race" }, s.access)).body.setlist.id;
  for (const sc of scores) await api.post(`/v1/setlists/${id}/items`, { score_id: sc.id }, s.access);
  const v0 = (await api.get(`/v1/setlists/${id}`, s.access)).body.setlist;
  const results = await all(24, async (i) => {
    const current = (await api.get(`/v1/setlists/${id}`, s.access)).body.setlist;
    switch (i % 4) {
      case 0: return api.post(`/v1/setlists/${id}/items`, { score_id: scores[i % 3].id, position: 1 }, s.access);
      case 1: return current.items[0] ? api.patch(`/v1/setlists/${id}/items/${current.items[0].id}`, { position: 3 }, s.access) : { status: 404 };
      case 2: return current.items.at(-1) ? api.raw("DELETE", `/v1/setlists/${id}/items/${current.items.at(-1).id}`, { token: s.access }) : { status: 404 };
      default: return api.post(`/v1/setlists/${id}/items`, { order: current.items.map((x) => x.id).reverse(), version: current.version }, s.access);
    }
  });
  assert.ok(results.every((r) => [200, 201, 204, 404, 409, 422].includes(r.status)), JSON.stringify(results.map((r) => r.status)));
  const after = (await api.get(`/v1/setlists/${id}`, s.access)).body.setlist;
  assert.deepEqual(after.items.map((x) => x.position), after.items.map((_, i) => i + 1));
  const changes = results.filter((r) => r.status >= 200 && r.status < 300).length;
  assert.equal(after.version, v0.version + changes, "every successful write is one version, and only those");
  await invariants(w);
});
