// Hostile PDFs through the built Worker (issue 12's standing suite): decompression bombs in every
// place a page can hide one, lying images, loops, deep nesting, absurd page counts and sizes,
// uploaded as scores and asked for as page images by the owner and through a public link. Every
// one ends with a reason (processing never stays pending), page images of them answer 422 with a
// reason that is remembered, and the Worker keeps serving.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, startWorker } from "./harness.mjs";
import { all } from "./hostile.mjs";
import { invariants } from "./invariants.mjs";

let w, api, s, link, setlist;
const scores = {};

before(async () => {
  w = await startWorker({ ratelimits: { USER_LIMITER: { simple: { limit: 100000, period: 60 } } }, vars: { RATE_UPLOAD_URLS: "off" } });
  api = w.api;
  s = await api.signup("hostile@example.com");
  setlist = (await api.post("/v1/setlists", { name: "Hostile" }, s.access)).body.setlist.id;
  link = (await api.post(`/v1/setlists/${setlist}/links`, {}, s.access)).body.link;
  for (const [name, make] of Object.entries(all)) {
    scores[name] = await api.uploadScore(s.access, make(), { title: name });
  }
});
after(() => w.close());

test("processing of every hostile file ends with a reason or a result, never pending", async () => {
  for (const [name, score] of Object.entries(scores)) {
    const done = await api.settled(score.id, s.access);
    for (const task of ["pdf_info", "thumbnail"]) {
      const p = done.processing[task];
      assert.ok(["ok", "failed"].includes(p.state), `${name} ${task}: ${JSON.stringify(p)}`);
      if (p.state === "failed") assert.ok(p.reason && p.reason.length > 3, `${name} ${task} failed without a reason`);
    }
    // A bomb never gets a thumbnail.
    if (name.endsWith("Bomb")) assert.equal(done.processing.thumbnail.state, "failed", `${name} rendered`);
  }
  assert.equal((await api.get("/health")).status, 200);
});

test("page images of hostile files answer a remembered reason, to the owner and through a public link", async () => {
  const items = {};
  for (const [name, score] of Object.entries(scores)) {
    const added = await api.post(`/v1/setlists/${setlist}/items`, { score_id: score.id }, s.access);
    items[name] = added.body.setlist.items.at(-1).id;
  }
  for (const [name, score] of Object.entries(scores)) {
    const paths = [`/v1/scores/${score.id}/download-url?page=1`, `/v1/shared/${link.token}/items/${items[name]}/download-url?page=1`];
    const answers = [];
    for (const path of paths) {
      const res = await eventually(async () => {
        const r = await api.get(path, path.startsWith("/v1/scores") ? s.access : undefined);
        return r.status === 202 ? null : r;
      }, { timeoutMs: 30000 });
      assert.ok([200, 422].includes(res.status), `${name} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      if (name.endsWith("Bomb")) assert.equal(res.status, 422, `${name}: a bomb rendered`);
      answers.push(res.status === 422 ? res.body.error.fields.page : "rendered");
    }
    assert.equal(answers[0], answers[1], `${name}: the same answer both ways`);
  }
  // One render task per file and page, whatever was asked.
  const runs = await (await w.db()).prepare("select id, attempts from task_runs where id like 'render_page:%' and attempts > 1").all();
  assert.deepEqual(runs.results, []);
  assert.equal((await api.get("/health")).status, 200);
  await invariants(w);
});
