// Annotation layers and performance settings (SPEC §10) in workerd: two devices of one user
// racing on a layer, private and shared layers across a band, the layers' bytes in the quota
// (and back on delete), settings patched and bounded, and what a score's deletion takes along.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, alice, bob, score, setlist, item;

before(async () => {
  w = await startWorker();
  api = w.api;
  [owner, alice, bob] = await Promise.all(["leader", "alice", "bob"].map((n) => api.signup(`${n}@ann.example`)));
  score = await api.settled((await api.uploadScore(owner.access, makePdf({ pages: 3, title: "Chart" }), { title: "Chart" })).id, owner.access);
  setlist = (await api.post("/v1/setlists", { name: "Gig" }, owner.access)).body.setlist.id;
  for (const m of [alice, bob]) {
    assert.equal((await api.post(`/v1/setlists/${setlist}/members`, { email: m.user.email, role: "viewer" }, owner.access)).status, 201);
  }
  item = (await api.post(`/v1/setlists/${setlist}/items`, { score_id: score.id }, owner.access)).body.setlist.items[0].id;
});
after(() => w?.close());

const onScore = (layer = "") => `/v1/scores/${score.id}/annotations${layer && `/${layer}`}`;
const onItem = (layer = "") => `/v1/setlists/${setlist}/items/${item}/annotations${layer && `/${layer}`}`;
const layers = async (path, who) => {
  const r = await api.get(path, who.access);
  assert.equal(r.status, 200);
  return r.body.annotations.map((a) => `${a.layer}${a.mine ? "*" : ""}`);
};
const used = async (who) => (await api.get("/v1/me/usage", who.access)).body.used_bytes;

describe("layers", () => {
  test("two devices of one user racing a write: one 200, one 409 with the winner, no lost layer", async () => {
    const created = await api.put(onScore("ink"), { data: { 1: [[0, 0, 5, 5]] } }, owner.access);
    assert.equal(created.status, 201);
    assert.equal(created.body.annotation.version, 1);
    for (let round = 1; round <= 5; round++) {
      const [a, b] = await Promise.all(
        ["phone", "tablet"].map((d) => api.put(onScore("ink"), { data: { device: d, round }, version: round }, owner.access)),
      );
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 409], `round ${round}`);
      const [won, lost] = a.status === 200 ? [a, b] : [b, a];
      assertEnvelope(assert, lost, 409, "VERSION_CONFLICT");
      assert.deepEqual(lost.body.annotation.data, won.body.annotation.data, "the 409 shows the layer that won");
      assert.equal(won.body.annotation.version, round + 1);
    }
    const all = (await api.get(onScore(), owner.access)).body.annotations;
    assert.equal(all.length, 1);
    assert.equal(all[0].version, 6);
    await invariants(w);
  });

  test("a member's private layer is invisible to the owner and the others; a shared layer reaches members until they leave", async () => {
    assert.equal((await api.put(onScore("cues"), { data: { 2: ["cresc."] }, shared: true }, owner.access)).status, 201);
    assert.equal((await api.put(onScore("private"), { data: {} }, owner.access)).status, 201);
    assert.equal((await api.put(onItem("fingering"), { data: { 1: ["3-1"] } }, alice.access)).status, 201);
    assert.deepEqual(await layers(onItem(), alice), ["cues", "fingering*"]);
    assert.deepEqual(await layers(onItem(), bob), ["cues"]);
    assert.ok(!(await layers(onItem(), owner)).includes("fingering"));
    assert.ok(!(await layers(onScore(), owner)).includes("fingering"));
    // Members neither write on the owner's score nor share an item layer.
    assert.equal((await api.put(onScore("mine"), { data: {} }, alice.access)).status, 404);
    const shared = await api.put(onItem("loud"), { data: {}, shared: true }, alice.access);
    assertEnvelope(assert, shared, 422, "VALIDATION_FAILED");
    // Bob leaves the band: the shared layer is gone for him, and so are his own item layers.
    assert.equal((await api.put(onItem("bob-notes"), { data: { x: "y".repeat(100) } }, bob.access)).status, 201);
    assert.ok((await used(bob)) > 0);
    assert.equal((await api.json("DELETE", `/v1/setlists/${setlist}/members/${bob.user.id}`, undefined, owner.access)).status, 204);
    assert.equal((await api.get(onItem(), bob.access)).status, 404);
    assert.equal(await used(bob), 0, "his item layers went with his membership");
    await invariants(w);
  });

  test("layer bytes count against the author's quota, exactly, and come back on delete", async () => {
    const before = await used(alice);
    const big = { data: { ink: "x".repeat(100_000) } };
    const put = await api.put(onItem("heavy"), big, alice.access);
    assert.equal(put.status, 201);
    assert.equal(await used(alice), before + put.body.annotation.bytes);
    assert.equal(put.body.annotation.bytes, JSON.stringify(big.data).length);
    const db = await w.db();
    await db.prepare("update users set quota_bytes = used_bytes + 10 where id = ?").bind(alice.user.id).run();
    const over = await api.put(onItem("more"), { data: { a: "0123456789" } }, alice.access);
    assertEnvelope(assert, over, 413, "QUOTA_EXCEEDED");
    const huge = await api.put(onItem("huge"), { data: { a: "x".repeat(600 * 1024) } }, alice.access);
    assert.equal(huge.status, 413);
    assert.equal((await api.json("DELETE", onItem("heavy"), undefined, alice.access)).status, 204);
    assert.equal(await used(alice), before);
    assert.equal((await api.json("DELETE", onItem("heavy"), undefined, alice.access)).status, 404);
    await db.prepare("update users set quota_bytes = 1073741824 where id = ?").bind(alice.user.id).run();
    await invariants(w);
  });

  test("bad names, bodies and other users' ids", async () => {
    assertEnvelope(assert, await api.put(onScore("Bad_Name"), { data: {} }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.put(onScore("ok"), { data: [1] }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.put(onScore("ok"), { data: {}, version: "1" }, owner.access), 422, "VALIDATION_FAILED");
    assert.equal((await api.get(`/v1/scores/sco_${"0".repeat(32)}/annotations`, owner.access)).status, 404);
    assert.equal((await api.get(onScore(), alice.access)).status, 404);
    assert.equal((await api.get(`/v1/setlists/${setlist}/items/itm_${"0".repeat(32)}/annotations`, alice.access)).status, 404);
  });
});

describe("settings", () => {
  test("a patch keeps absent keys, null clears, crops merge per page; pages within the count", async () => {
    const path = `/v1/scores/${score.id}/settings`;
    assert.deepEqual((await api.get(path, owner.access)).body, { settings: {} });
    await api.put(path, { bpm: 120, half_page_turn: true, crop: { 1: { left: 0.1, top: 0, right: 0.1, bottom: 0 } } }, owner.access);
    const r = await api.put(path, { bpm: null, crop: { 2: { left: 0, top: 0.05, right: 0, bottom: 0.05 } }, links: [{ from_page: 3, to_page: 1 }] }, owner.access);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.settings, {
      half_page_turn: true,
      crop: { 1: { left: 0.1, top: 0, right: 0.1, bottom: 0 }, 2: { left: 0, top: 0.05, right: 0, bottom: 0.05 } },
      links: [{ from_page: 3, to_page: 1 }],
    });
    assertEnvelope(assert, await api.put(path, { last_page: 4 }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.put(path, { zoom: 2 }, owner.access), 422, "VALIDATION_FAILED");
    // An item's settings are the member's own.
    const itemPath = `/v1/setlists/${setlist}/items/${item}/settings`;
    assert.equal((await api.put(itemPath, { last_page: 2 }, alice.access)).status, 200);
    assert.deepEqual((await api.get(itemPath, alice.access)).body.settings, { last_page: 2 });
    assert.deepEqual((await api.get(itemPath, owner.access)).body.settings, {});
    assert.equal((await api.get(itemPath, bob.access)).status, 404, "bob left the band");
  });
});

describe("deleting the score", () => {
  test("takes every layer and setting along and gives the bytes back", async () => {
    const s = await api.uploadScore(owner.access, makePdf({ title: "Short-lived" }), { title: "Short-lived" });
    assert.equal((await api.put(`/v1/scores/${s.id}/annotations/ink`, { data: { a: "b".repeat(5000) } }, owner.access)).status, 201);
    assert.equal((await api.put(`/v1/scores/${s.id}/settings`, { bpm: 90 }, owner.access)).status, 200);
    assert.equal((await api.json("DELETE", `/v1/scores/${s.id}`, undefined, owner.access)).status, 204);
    const db = await w.db();
    const kept = await db.prepare("select count(*) as n from annotations where score_id = ?1").bind(s.id).first();
    assert.equal(kept.n, 1, "the trash keeps the layers until the purge");
    assert.equal((await api.json("DELETE", `/v1/trash/${s.id}`, undefined, owner.access)).status, 204);
    const left = await db.prepare("select (select count(*) from annotations where score_id = ?1) + (select count(*) from performance_settings where score_id = ?1) as n").bind(s.id).first();
    assert.equal(left.n, 0);
    await invariants(w);
  });
});
