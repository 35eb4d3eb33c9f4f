// The trash (SPEC §11) through the built Worker: DELETE of a score moves it to the trash — out
// of lists and search, its setlist items kept in place as `trashed` (title to the owner only),
// its bytes still counted; a restore brings it back in every setlist; a live duplicate makes a
// restore 409; a purge releases exactly its bytes and removes its object; emptying the trash
// and the sweep's purge after TRASH_RETENTION_DAYS do the same. Every answer is held to the
// OpenAPI document by the harness.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertEnvelope, eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, viewer;
before(async () => {
  w = await startWorker();
  api = w.api;
  [owner, viewer] = await Promise.all(["trash-owner", "trash-viewer"].map((n) => api.signup(`${n}@example.com`)));
});
after(() => w?.close());

const usage = async (who) => (await api.get("/v1/me/usage", who.access)).body.used_bytes;

/** A setlist of the owner's with the viewer as a member and `scores` as items, in order. */
async function setlist(scores) {
  const id = (await api.post("/v1/setlists", { name: "Trash gig" }, owner.access)).body.setlist.id;
  assert.equal((await api.post(`/v1/setlists/${id}/members`, { email: viewer.user.email, role: "viewer" }, owner.access)).status, 201);
  for (const s of scores) assert.equal((await api.post(`/v1/setlists/${id}/items`, { score_id: s.id }, owner.access)).status, 201);
  return id;
}

test("delete → trash → restore: the setlist shows the item again where it was", async () => {
  const scores = [];
  for (const t of ["Alpha", "Bravo", "Charlie"]) scores.push(await api.uploadScore(owner.access, makePdf({ title: t }), { title: t }));
  const id = await setlist(scores);
  const bravo = scores[1];
  const part = (await api.post(`/v1/scores/${bravo.id}/parts`, { name: "Horn", pages: { first: 1, last: 1 } }, owner.access)).body.part;
  const used = await usage(owner);
  assert.equal((await api.raw("DELETE", `/v1/scores/${bravo.id}`, { token: owner.access })).status, 204);
  assert.equal(await usage(owner), used, "a trashed score's bytes still count");
  assertEnvelope(assert, await api.get(`/v1/scores/${bravo.id}`, owner.access), 404, "NOT_FOUND");
  assertEnvelope(assert, await api.get(`/v1/scores/${bravo.id}/parts`, owner.access), 404, "NOT_FOUND");
  const listed = (await api.get("/v1/scores?limit=100", owner.access)).body.scores.map((s) => s.id);
  assert.ok(!listed.includes(bravo.id) && listed.includes(scores[0].id));
  assert.deepEqual((await api.get("/v1/scores?query=Bravo", owner.access)).body.scores, []);
  const trash = (await api.get("/v1/trash", owner.access)).body;
  assert.deepEqual(trash.trash.map((t) => t.score.id), [bravo.id]);
  assert.equal(trash.trash[0].trashed_at, trash.trash[0].score.trashed_at);
  assert.deepEqual((await api.get("/v1/trash", viewer.access)).body.trash, []);
  // The member sees a placeholder; the owner its title; nobody a URL.
  const seen = (await api.get(`/v1/setlists/${id}`, viewer.access)).body.setlist;
  assert.deepEqual(seen.items.map((i) => [i.position, i.trashed, i.title ?? null]), [[1, false, "Alpha"], [2, true, null], [3, false, "Charlie"]]);
  assert.deepEqual(Object.keys(seen.items[1]).sort(), ["id", "position", "trashed"]);
  const item = seen.items[1].id;
  assertEnvelope(assert, await api.get(`/v1/setlists/${id}/items/${item}/download-url`, viewer.access), 404, "NOT_FOUND");
  const owners = (await api.get(`/v1/setlists/${id}`, owner.access)).body.setlist;
  assert.deepEqual(owners.items[1], { id: item, position: 2, trashed: true, score_id: bravo.id, title: "Bravo" });
  assert.equal(owners.history[0].kind, "score_trashed");
  // Back: in place, with its part, its file downloadable again.
  const restored = await api.post(`/v1/trash/${bravo.id}/restore`, undefined, owner.access);
  assert.equal(restored.status, 200);
  assert.equal(restored.body.score.trashed_at, null);
  const again = (await api.get(`/v1/setlists/${id}`, viewer.access)).body.setlist;
  assert.deepEqual(again.items.map((i) => [i.id, i.position, i.title]), [[seen.items[0].id, 1, "Alpha"], [item, 2, "Bravo"], [seen.items[2].id, 3, "Charlie"]]);
  assert.equal(again.history[0].kind, "score_restored");
  assert.equal((await api.get(`/v1/setlists/${id}/items/${item}/download-url`, viewer.access)).status, 200);
  assert.equal((await api.get(`/v1/scores/${bravo.id}/parts`, owner.access)).body.parts[0].id, part.id);
  assert.deepEqual((await api.get("/v1/trash", owner.access)).body.trash, []);
  assertEnvelope(assert, await api.post(`/v1/trash/${bravo.id}/restore`, undefined, owner.access), 404, "NOT_FOUND");
  await invariants(w);
});

test("a restore is refused with 409 while a live score has the same file", async () => {
  const bytes = makePdf({ title: "Twin" });
  const first = await api.uploadScore(owner.access, bytes, { title: "Twin" });
  assert.equal((await api.raw("DELETE", `/v1/scores/${first.id}`, { token: owner.access })).status, 204);
  const second = await api.uploadScore(owner.access, bytes, { title: "Twin again" });
  const refused = await api.post(`/v1/trash/${first.id}/restore`, undefined, owner.access);
  assertEnvelope(assert, refused, 409, "DUPLICATE_SCORE");
  assert.equal(refused.body.score_id, second.id);
  await invariants(w);
});

test("purge releases exactly the score's bytes and removes its object; others' ids are 404", async () => {
  const s = await api.signup("trash-purge@example.com");
  const keep = await api.uploadScore(s.access, makePdf({ title: "Keep" }), { title: "Keep" });
  const gone = await api.uploadScore(s.access, makePdf({ title: "Gone", pages: 3 }), { title: "Gone" });
  const before = await usage(s);
  assertEnvelope(assert, await api.json("DELETE", `/v1/trash/${gone.id}`, undefined, s.access), 404, "NOT_FOUND");
  assert.equal((await api.raw("DELETE", `/v1/scores/${gone.id}`, { token: s.access })).status, 204);
  assertEnvelope(assert, await api.json("DELETE", `/v1/trash/${gone.id}`, undefined, owner.access), 404, "NOT_FOUND");
  assertEnvelope(assert, await api.post(`/v1/trash/${gone.id}/restore`, undefined, owner.access), 404, "NOT_FOUND");
  const db = await w.db();
  const { object_key: key } = await db.prepare("select object_key from scores where id = ?").bind(gone.id).first();
  const bucket = await w.bucket();
  assert.ok(await bucket.head(key), "the trash keeps the file");
  assert.equal((await api.raw("DELETE", `/v1/trash/${gone.id}`, { token: s.access })).status, 204);
  assert.equal(await usage(s), before - gone.size_bytes, "released exactly");
  await eventually(async () => !(await bucket.head(key)));
  assert.equal((await api.get(`/v1/scores/${keep.id}`, s.access)).status, 200);
  await invariants(w, { objects: true });
});

test("emptying the trash purges the caller's trashed scores only", async () => {
  const s = await api.signup("trash-empty@example.com");
  const mine = [];
  for (const t of ["E1", "E2", "E3"]) mine.push(await api.uploadScore(s.access, makePdf({ title: t }), { title: t }));
  const theirs = await api.uploadScore(owner.access, makePdf({ title: "Owner's" }), { title: "Owner's" });
  assert.equal((await api.raw("DELETE", `/v1/scores/${theirs.id}`, { token: owner.access })).status, 204);
  for (const m of mine.slice(0, 2)) assert.equal((await api.raw("DELETE", `/v1/scores/${m.id}`, { token: s.access })).status, 204);
  const emptied = await api.json("DELETE", "/v1/trash", undefined, s.access);
  assert.equal(emptied.status, 200);
  assert.deepEqual(emptied.body, { purged: 2, more: false });
  assert.equal(await usage(s), mine[2].size_bytes);
  assert.deepEqual((await api.get("/v1/trash", s.access)).body.trash, []);
  assert.ok((await api.get("/v1/trash", owner.access)).body.trash.some((t) => t.score.id === theirs.id));
  await invariants(w);
});

test("the sweep purges what was trashed longer ago than TRASH_RETENTION_DAYS", async () => {
  const s = await api.signup("trash-sweep@example.com");
  const old = await api.uploadScore(s.access, makePdf({ title: "Old" }), { title: "Old" });
  const young = await api.uploadScore(s.access, makePdf({ title: "Young" }), { title: "Young" });
  for (const x of [old, young]) assert.equal((await api.raw("DELETE", `/v1/scores/${x.id}`, { token: s.access })).status, 204);
  const db = await w.db();
  await db.prepare("update scores set trashed_at = '2000-01-01T00:00:00.000Z' where id = ?").bind(old.id).run();
  await (await w.mf.getWorker()).scheduled({ cron: "*/15 * * * *" });
  await eventually(async () => (await api.get("/v1/trash", s.access)).body.trash.length === 1);
  assert.equal((await api.get("/v1/trash", s.access)).body.trash[0].score.id, young.id);
  assert.equal(await usage(s), young.size_bytes);
  await invariants(w);
});
