// Presets in workerd: built-in instrumentations and genres seeded by a migration, users' own,
// and scores filtered by a preset.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, ann, bob;
before(async () => {
  w = await startWorker();
  api = w.api;
  [ann, bob] = await Promise.all(["ann@presets.example", "bob@presets.example"].map((e) => api.signup(e)));
});
after(() => w.close());

test("built-in instrumentation presets and genres are there for everyone", async () => {
  const presets = (await api.get("/v1/presets", ann.access)).body.presets;
  const names = presets.filter((p) => p.builtin).map((p) => p.name);
  for (const n of ["Solo piano", "SATB choir", "String quartet", "Brass quintet", "Big band", "Jazz", "Classical"]) {
    assert.ok(names.includes(n), n);
  }
  const quartet = presets.find((p) => p.id === "pre_string_quartet");
  assert.deepEqual(quartet.parts, ["violin 1", "violin 2", "viola", "cello"]);
  const genres = (await api.get("/v1/presets?kind=genre", ann.access)).body.presets;
  assert.ok(genres.length >= 10 && genres.every((p) => p.kind === "genre"));
  assertEnvelope(assert, await api.get("/v1/presets?kind=mood", ann.access), 422, "VALIDATION_FAILED");
  assertEnvelope(assert, await api.get("/v1/presets"), 401, "INVALID_TOKEN");
});

test("users add their own; names are unique per kind among built-ins and their own", async () => {
  const res = await api.post("/v1/presets", { kind: "instrumentation", name: "Flute choir", parts: ["flute 1", "flute 2", "alto flute"] }, ann.access);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.preset.builtin, false);
  assert.deepEqual(res.body.preset.parts, ["flute 1", "flute 2", "alto flute"]);
  assertEnvelope(assert, await api.post("/v1/presets", { kind: "instrumentation", name: "FLUTE CHOIR" }, ann.access), 409, "PRESET_EXISTS");
  assertEnvelope(assert, await api.post("/v1/presets", { kind: "genre", name: "jazz" }, ann.access), 409, "PRESET_EXISTS");
  assert.equal((await api.post("/v1/presets", { kind: "genre", name: "Flute choir" }, ann.access)).status, 201, "other kind");
  assert.equal((await api.post("/v1/presets", { kind: "instrumentation", name: "Flute choir" }, bob.access)).status, 201, "other user");
  assertEnvelope(assert, await api.post("/v1/presets", { kind: "genre", name: "x", parts: ["a"] }, ann.access), 422, "VALIDATION_FAILED");
  assertEnvelope(assert, await api.post("/v1/presets", { kind: "instrumentation", name: 5 }, ann.access), 422, "VALIDATION_FAILED");
  const bobs = (await api.get("/v1/presets", bob.access)).body.presets;
  assert.ok(!bobs.some((p) => p.id === res.body.preset.id), "not visible to others");
  assertEnvelope(assert, await api.json("DELETE", `/v1/presets/${res.body.preset.id}`, undefined, bob.access), 404, "NOT_FOUND");
  assertEnvelope(assert, await api.json("DELETE", "/v1/presets/pre_big_band", undefined, ann.access), 403, "FORBIDDEN");
  assert.equal((await api.json("DELETE", `/v1/presets/${res.body.preset.id}`, undefined, ann.access)).status, 204);
  assertEnvelope(assert, await api.json("DELETE", `/v1/presets/${res.body.preset.id}`, undefined, ann.access), 404, "NOT_FOUND");
});

test("scores are filtered by a preset: instrumentation, or the genre as a tag", async () => {
  const quartet = await api.uploadScore(ann.access, makePdf(), { title: "Death and the Maiden", instrumentation: "string quartet" });
  const tune = await api.uploadScore(ann.access, makePdf(), { title: "So What", tags: ["jazz"] });
  const ids = async (preset) => (await api.get(`/v1/scores?preset=${preset}`, ann.access)).body.scores.map((s) => s.id);
  assert.deepEqual(await ids("pre_string_quartet"), [quartet.id]);
  assert.deepEqual(await ids("pre_genre_jazz"), [tune.id]);
  assert.deepEqual(await ids("pre_big_band"), []);
  const own = (await api.post("/v1/presets", { kind: "instrumentation", name: "String Quartet (mine)" }, ann.access)).body.preset;
  await api.patch(`/v1/scores/${quartet.id}`, { instrumentation: "string quartet (MINE)" }, ann.access);
  assert.deepEqual(await ids(own.id), [quartet.id]);
  const bobsOwn = (await api.post("/v1/presets", { kind: "genre", name: "Modal" }, bob.access)).body.preset;
  assert.deepEqual(await ids(bobsOwn.id), [], "another user's preset matches nothing");
});
