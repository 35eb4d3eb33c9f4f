// Admin API in workerd (SPEC §6): invisible (404) to everyone but admins, user search and
// changes (a disabled user's tokens stop at once), the overview, failed tasks and their re-run.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, admin, ann, bob;
before(async () => {
  w = await startWorker();
  api = w.api;
  [admin, ann, bob] = await Promise.all(["root@admin.example", "ann@admin.example", "bob_50%@admin.example"].map((e) => api.signup(e)));
  await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(admin.user.id).run();
});
after(() => w.close());

const ROUTES = [
  ["GET", "/v1/admin/users"],
  ["PATCH", "/v1/admin/users/USER", { quota_bytes: 1 }],
  ["GET", "/v1/admin/stats"],
  ["GET", "/v1/admin/tasks"],
  ["POST", "/v1/admin/tasks/pdf_info:sco_x/retry", {}],
];

describe("visibility", () => {
  test("every admin route answers non-admins exactly like a path that does not exist", async () => {
    const absent = await api.get("/v1/no-such-thing", ann.access);
    assertEnvelope(assert, absent, 404, "NOT_FOUND");
    for (const [method, path, body] of ROUTES) {
      const p = path.replace("USER", bob.user.id);
      for (const token of [ann.access, undefined, "not.a.token"]) {
        const res = await api.json(method, p, body, token);
        assert.equal(res.status, 404, `${method} ${p}`);
        assert.deepEqual(res.body, absent.body);
      }
      // Wrong methods and malformed bodies do not give the path away either.
      assert.equal((await api.json("DELETE", p, undefined, ann.access)).status, 404);
      if (method !== "GET") {
        const raw = await api.raw(method, p, { body: "{not json", headers: { "content-type": "application/json" }, token: ann.access });
        assert.equal(raw.status, 404);
      }
    }
    assert.equal((await api.json("OPTIONS", "/v1/admin/users", undefined, ann.access)).status, 404);
  });

  test("the admin reaches every route", async () => {
    assert.equal((await api.get("/v1/admin/users", admin.access)).status, 200);
    assert.equal((await api.get("/v1/admin/stats", admin.access)).status, 200);
    assert.equal((await api.get("/v1/admin/tasks", admin.access)).status, 200);
  });
});

describe("users", () => {
  test("search is literal and paginates by email; no password hashes", async () => {
    const all = (await api.get("/v1/admin/users", admin.access)).body;
    assert.ok(all.users.length >= 3);
    assert.ok(all.users.every((u) => !("password_hash" in u)));
    const pct = (await api.get(`/v1/admin/users?q=${encodeURIComponent("_50%")}`, admin.access)).body.users;
    assert.deepEqual(pct.map((u) => u.email), ["bob_50%@admin.example"]);
    assert.deepEqual((await api.get(`/v1/admin/users?q=${encodeURIComponent("b_b")}`, admin.access)).body.users, []);
    const first = (await api.get("/v1/admin/users?limit=1", admin.access)).body;
    assert.equal(first.users.length, 1);
    assert.equal(typeof first.next_cursor, "string");
    const second = (await api.get(`/v1/admin/users?limit=1&cursor=${encodeURIComponent(first.next_cursor)}`, admin.access)).body;
    assert.ok(second.users[0].email > first.users[0].email);
    // A cursor serves only the search it was made for.
    const other = await api.get(`/v1/admin/users?q=bob&limit=1&cursor=${encodeURIComponent(first.next_cursor)}`, admin.access);
    assertEnvelope(assert, other, 422, "VALIDATION_FAILED");
    assert.ok(other.body.error.fields.cursor);
    assertEnvelope(assert, await api.get("/v1/admin/users?after=ann%40admin.example", admin.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.get("/v1/admin/users?limit=0", admin.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.get("/v1/admin/users?sort=x", admin.access), 422, "VALIDATION_FAILED");
  });

  test("quota and role changes apply; bad values are 422; unknown users 404", async () => {
    const res = await api.patch(`/v1/admin/users/${ann.user.id}`, { quota_bytes: 2048 }, admin.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.user.quota_bytes, 2048);
    assert.equal((await api.get("/v1/me/usage", ann.access)).body.quota_bytes, 2048);
    const up = await api.post("/v1/uploads", { filename: "f.pdf", size: 4096, mime: "application/pdf", sha256: "a".repeat(64) }, ann.access);
    assertEnvelope(assert, up, 413, "QUOTA_EXCEEDED");
    assertEnvelope(assert, await api.patch(`/v1/admin/users/${ann.user.id}`, { quota_bytes: -5, role: "god", disabled: "no" }, admin.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.patch(`/v1/admin/users/${ann.user.id}`, {}, admin.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.patch(`/v1/admin/users/usr_${"0".repeat(32)}`, { quota_bytes: 1 }, admin.access), 404, "NOT_FOUND");
    const promoted = await api.patch(`/v1/admin/users/${bob.user.id}`, { role: "admin" }, admin.access);
    assert.equal(promoted.body.user.role, "admin");
    assert.equal((await api.get("/v1/admin/stats", bob.access)).status, 200, "the new admin is one at once");
    await api.patch(`/v1/admin/users/${bob.user.id}`, { role: "user" }, admin.access);
    assert.equal((await api.get("/v1/admin/stats", bob.access)).status, 404);
  });

  test("disabling stops the user's tokens at once; enabling lets them log in again", async () => {
    const victim = await api.signup("victim@admin.example");
    assert.equal((await api.get("/v1/me", victim.access)).status, 200);
    const res = await api.patch(`/v1/admin/users/${victim.user.id}`, { disabled: true }, admin.access);
    assert.equal(res.body.user.disabled, true);
    assertEnvelope(assert, await api.get("/v1/me", victim.access), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.get("/v1/scores", victim.access), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: victim.refresh }), 401, "INVALID_TOKEN");
    assert.equal((await api.post("/v1/auth/login", { email: victim.user.email, password: victim.password })).status, 403);
    await api.patch(`/v1/admin/users/${victim.user.id}`, { disabled: false }, admin.access);
    assert.equal((await api.post("/v1/auth/login", { email: victim.user.email, password: victim.password })).status, 200);
  });

  test("admins cannot disable or demote themselves", async () => {
    const res = await api.patch(`/v1/admin/users/${admin.user.id}`, { disabled: true, role: "user" }, admin.access);
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
    assert.ok(res.body.error.fields.disabled && res.body.error.fields.role);
  });
});

describe("overview and tasks", () => {
  test("stats count users, scores and failures; failed tasks re-run; dead letters too", async () => {
    const before = (await api.get("/v1/admin/stats", admin.access)).body.stats;
    const good = await api.uploadScore(bob.access, makePdf({ pages: 2 }));
    const broken = Buffer.from("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\nnonsense\n%%EOF\n");
    const bad = await api.uploadScore(bob.access, broken);
    await api.settled(good.id, bob.access);
    await api.settled(bad.id, bob.access);
    const stats = (await api.get("/v1/admin/stats", admin.access)).body.stats;
    assert.equal(stats.scores, before.scores + 2);
    assert.equal(stats.pages, before.pages + 2);
    assert.equal(stats.processing_failed, before.processing_failed + 2, "pdf_info and thumbnail");
    assert.ok(stats.users >= 4 && stats.bytes > before.bytes);
    const tasks = (await api.get("/v1/admin/tasks", admin.access)).body.tasks;
    const failed = tasks.find((t) => t.id === `pdf_info:${bad.id}`);
    assert.match(failed.reason, /^damaged file: /);
    assert.equal(failed.user_id, bob.user.id);

    // Re-run: back to pending, through the queue, and failed again for the same reason.
    const retry = await api.post(`/v1/admin/tasks/${encodeURIComponent(failed.id)}/retry`, {}, admin.access);
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    const again = await api.settled(bad.id, bob.access);
    assert.match(again.processing.pdf_info.reason, /^damaged file: /);
    const run = await (await w.db()).prepare("select attempts from task_runs where id = ?").bind(`pdf_info:${bad.id}`).first();
    assert.ok(run.attempts >= 2, "the task ran again");
    assertEnvelope(assert, await api.post(`/v1/admin/tasks/thumbnail:${good.id}/retry`, {}, admin.access), 404, "NOT_FOUND");
    assertEnvelope(assert, await api.post("/v1/admin/tasks/nonsense/retry", {}, admin.access), 404, "NOT_FOUND");

    // A dead-lettered thumbnail: recorded, counted, re-run from the admin API, then ok.
    await (await w.db()).prepare("update scores set thumbnail_state = 'pending' where id = ?").bind(good.id).run();
    await (await w.deadLetters()).send({ task: "thumbnail", score_id: good.id });
    const dead = await eventually(async () =>
      (await api.get("/v1/admin/tasks", admin.access)).body.tasks.find((t) => t.task === "dead_letter" && t.message.score_id === good.id));
    assert.equal((await api.get("/v1/admin/stats", admin.access)).body.stats.dead_letters, before.dead_letters + 1);
    const redo = await api.post(`/v1/admin/tasks/${encodeURIComponent(dead.id)}/retry`, {}, admin.access);
    assert.equal(redo.status, 202, JSON.stringify(redo.body));
    const fixed = await eventually(async () => {
      const s = (await api.get(`/v1/scores/${good.id}`, bob.access)).body.score;
      return s.processing.thumbnail.state === "ok" ? s : null;
    });
    assert.ok(fixed.thumbnail_url);
    assert.equal((await api.get("/v1/admin/stats", admin.access)).body.stats.dead_letters, before.dead_letters);
    assertEnvelope(assert, await api.post(`/v1/admin/tasks/${encodeURIComponent(dead.id)}/retry`, {}, admin.access), 404, "NOT_FOUND");
  });
});
