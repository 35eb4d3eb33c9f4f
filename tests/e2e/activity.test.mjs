// Favorites, open history, score versions and statistics in workerd, including other users' ids
// and bad parameters.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, me, other, scores, theirs;
before(async () => {
  w = await startWorker();
  api = w.api;
  me = await api.signup("activity@example.com");
  other = await api.signup("activity-other@example.com");
  scores = [];
  for (const title of ["Clair de Lune", "Gymnopédie No. 1", "Prelude in E minor"]) {
    scores.push(await api.uploadScore(me.access, makePdf({ title }), { title }));
  }
  theirs = await api.uploadScore(other.access, makePdf({ title: "Not yours" }));
});
after(() => w.close());

const put = (path, token) => api.json("PUT", path, undefined, token);
const del = (path, token) => api.json("DELETE", path, undefined, token);

test("favorites are idempotent, newest first, paginated, and only of one's own scores", async () => {
  for (const s of [scores[0], scores[1], scores[0]]) assert.equal((await put(`/v1/scores/${s.id}/favorite`, me.access)).status, 204);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal((await put(`/v1/scores/${scores[2].id}/favorite`, me.access)).status, 204);
  const page1 = await api.get("/v1/favorites?limit=2", me.access);
  assert.equal(page1.status, 200);
  assert.equal(page1.body.favorites.length, 2);
  assert.equal(page1.body.favorites[0].score.id, scores[2].id, "newest first");
  assert.ok(page1.body.favorites[0].favorited_at);
  assert.ok(page1.body.next_cursor);
  const page2 = await api.get(`/v1/favorites?limit=2&cursor=${page1.body.next_cursor}`, me.access);
  const all = [...page1.body.favorites, ...page2.body.favorites].map((f) => f.score.id);
  assert.deepEqual([...all].sort(), scores.map((s) => s.id).sort());
  assert.equal(page2.body.next_cursor, null);
  assert.equal((await del(`/v1/scores/${scores[1].id}/favorite`, me.access)).status, 204);
  assert.equal((await del(`/v1/scores/${scores[1].id}/favorite`, me.access)).status, 204, "idempotent");
  assert.equal((await api.get("/v1/favorites", me.access)).body.favorites.length, 2);
  assertEnvelope(assert, await put(`/v1/scores/${theirs.id}/favorite`, me.access), 404, "NOT_FOUND");
  assertEnvelope(assert, await del(`/v1/scores/${theirs.id}/favorite`, me.access), 404, "NOT_FOUND");
  assertEnvelope(assert, await api.get("/v1/favorites?limit=0", me.access), 422, "VALIDATION_FAILED");
  assertEnvelope(assert, await api.get("/v1/favorites?cursor=forged", me.access), 422, "VALIDATION_FAILED");
  assert.equal((await api.get("/v1/favorites", other.access)).body.favorites.length, 0);
  assertEnvelope(assert, await api.get("/v1/favorites"), 401, "INVALID_TOKEN");
});

test("opens are recorded and listed newest first, paginated", async () => {
  for (const s of [scores[0], scores[1], scores[0], scores[2], scores[0]]) {
    assert.equal((await api.post(`/v1/scores/${s.id}/opened`, undefined, me.access)).status, 204);
  }
  const first = await api.get("/v1/history?limit=3", me.access);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.history.map((h) => h.score.id), [scores[0].id, scores[2].id, scores[0].id]);
  assert.ok(first.body.history[0].opened_at);
  const rest = await api.get(`/v1/history?limit=3&cursor=${first.body.next_cursor}`, me.access);
  assert.deepEqual(rest.body.history.map((h) => h.score.id), [scores[1].id, scores[0].id]);
  assert.equal(rest.body.next_cursor, null);
  assertEnvelope(assert, await api.post(`/v1/scores/${theirs.id}/opened`, undefined, me.access), 404, "NOT_FOUND");
  const favCursor = (await api.get("/v1/favorites?limit=1", me.access)).body.next_cursor;
  assertEnvelope(assert, await api.get(`/v1/history?cursor=${favCursor}`, me.access), 422, "VALIDATION_FAILED");
});

test("every PATCH is a version; any two versions compare field by field", async () => {
  const id = scores[1].id;
  const edits = [{ key: "D major" }, { title: "Gymnopédie No. 1 (arr.)", tags: ["Recital"] }, { key: null }, { title: "Gymnopédie No. 1" }];
  for (const e of edits) assert.equal((await api.patch(`/v1/scores/${id}`, e, me.access)).status, 200);
  assert.equal((await api.patch(`/v1/scores/${id}`, { title: "Gymnopédie No. 1" }, me.access)).status, 200, "a no-op");
  const res = await api.get(`/v1/scores/${id}/versions`, me.access);
  assert.equal(res.status, 200);
  const versions = res.body.versions;
  assert.deepEqual(versions.map((v) => v.version), [0, 1, 2, 3, 4]);
  assert.deepEqual(versions[1].changes, [{ field: "key", from: null, to: "D major" }]);
  assert.deepEqual(versions[2].changes.map((c) => c.field), ["tags", "title"]);
  assert.equal(versions[2].user_id, me.user.id);
  assert.ok(versions[2].created_at);
  const cmp = async (from, to) => (await api.get(`/v1/scores/${id}/versions/compare?from=${from}&to=${to}`, me.access));
  assert.deepEqual((await cmp(0, 4)).body.changes, [{ field: "tags", from: [], to: ["recital"] }], "key and title came back");
  assert.deepEqual((await cmp(1, 3)).body.changes.map((c) => c.field), ["key", "tags", "title"]);
  assert.deepEqual((await cmp(2, 2)).body.changes, []);
  assertEnvelope(assert, await cmp(0, 9), 422, "VALIDATION_FAILED");
  assertEnvelope(assert, await api.get(`/v1/scores/${id}/versions/compare?from=1`, me.access), 422, "VALIDATION_FAILED");
  assertEnvelope(assert, await api.get(`/v1/scores/${id}/versions/compare?from=x&to=1`, me.access), 422, "VALIDATION_FAILED");
  assertEnvelope(assert, await api.get(`/v1/scores/${id}/versions`, other.access), 404, "NOT_FOUND");
  assertEnvelope(assert, await api.get(`/v1/scores/${id}/versions/compare?from=0&to=1`, other.access), 404, "NOT_FOUND");
});

test("stats count scores, pages, bytes, setlists and the most opened scores of the last 30 days", async () => {
  const created = await api.post("/v1/setlists", { name: "Recital" }, me.access);
  await api.post(`/v1/setlists/${created.body.setlist.id}/members`, { email: other.user.email, role: "viewer" }, me.access);
  const settled = await Promise.all(scores.map((s) => api.settled(s.id, me.access)));
  const res = await api.get("/v1/me/stats", me.access);
  assert.equal(res.status, 200);
  const s = res.body.stats;
  assert.equal(s.scores, 3);
  assert.equal(s.pages, settled.reduce((n, x) => n + x.pages, 0));
  assert.equal(s.bytes, settled.reduce((n, x) => n + x.size_bytes, 0));
  assert.equal(s.setlists, 1);
  assert.equal(s.setlists_shared_by_me, 1);
  assert.equal(s.top_opened[0].score_id, scores[0].id);
  assert.equal(s.top_opened[0].opens, 3);
  assert.ok(s.top_opened.length <= 10);
  assert.equal((await api.get("/v1/me/stats", other.access)).body.stats.setlists_shared_with_me, 1);
});
