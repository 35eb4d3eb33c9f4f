// Regression tests for the outside review's findings (issue 12): each test here failed before its
// fix. Races run many requests at once against one workerd isolate and check the ledger after.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { ROOT, assertEnvelope, eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf, sha256 } from "./pdf.mjs";

let w, api;
before(async () => {
  w = await startWorker({ vars: { SCORE_VERSIONS_MAX: "20" } });
  api = w.api;
});
after(() => w.close());

const db = async () => w.db();

async function makeAdmin(s) {
  await (await db()).prepare("update users set role = 'admin' where id = ?").bind(s.user.id).run();
}

describe("uploads and scores", () => {
  test("another user's refused PATCH with tags or DELETE leaves the owner's tag filter intact", async () => {
    // Found while moving the statements into the core (issue 13): the tag statements named only
    // the score id, so a 404 PATCH replaced, and a 404 DELETE removed, the owner's tag index.
    const owner = await api.signup("tags-owner@example.com");
    const other = await api.signup("tags-other@example.com");
    const score = await api.uploadScore(owner.access, makePdf({ nonce: "tags-owner" }), { tags: ["gig"] });
    const byTag = async (tag) => (await api.get(`/v1/scores?tag=${tag}`, owner.access)).body.scores.map((s) => s.id);
    assert.deepEqual(await byTag("gig"), [score.id]);
    const patch = await api.patch(`/v1/scores/${score.id}`, { tags: ["planted"] }, other.access);
    assert.equal(patch.status, 404);
    const del = await api.json("DELETE", `/v1/scores/${score.id}`, undefined, other.access);
    assert.equal(del.status, 404);
    assert.deepEqual(await byTag("gig"), [score.id]);
    assert.deepEqual(await byTag("planted"), []);
  });

  test("30 concurrent creates of one upload make exactly one score whose file stays downloadable", async () => {
    const s = await api.signup("race-create@example.com");
    const bytes = makePdf({ pages: 2 });
    const up = await api.post("/v1/uploads", { filename: "a.pdf", size: bytes.length, mime: "application/pdf", sha256: sha256(bytes) }, s.access);
    assert.equal(up.status, 201);
    const put = await w.mf.dispatchFetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
    assert.equal(put.status, 200);
    // Staggered, so that some requests read the upload before the winner commits and look for
    // duplicates after it (the window in which a loser used to delete the winner's file).
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        new Promise((r) => setTimeout(r, (i * 7) % 11)).then(() => api.post("/v1/scores", { upload_id: up.body.upload_id, title: `Take ${i}` }, s.access)),
      ),
    );
    const created = results.filter((r) => r.status === 201);
    console.log(JSON.stringify(results.map((r) => r.body.error?.code ?? r.status)));
    assert.equal(created.length, 1, JSON.stringify(results.map((r) => [r.status, r.body.error?.code])));
    for (const r of results.filter((r) => r.status !== 201)) {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.ok(["UPLOAD_CONSUMED", "DUPLICATE_SCORE"].includes(r.body.error.code), r.body.error.code);
      assert.equal(r.body.score_id, created[0].body.score.id);
    }
    const score = created[0].body.score;
    const dl = await api.get(`/v1/scores/${score.id}/download-url`, s.access);
    assert.equal(dl.status, 200);
    const file = await w.mf.dispatchFetch(dl.body.url);
    assert.equal(file.status, 200);
    assert.equal(Buffer.from(await file.arrayBuffer()).compare(bytes), 0);
    const usage = (await api.get("/v1/me/usage", s.access)).body;
    assert.deepEqual(usage, { quota_bytes: usage.quota_bytes, used_bytes: bytes.length, reserved_bytes: 0 });
    await invariants(w);
  });

  test("a non-PDF mime type is E004 415, not 422", async () => {
    const s = await api.signup("mime415@example.com");
    const res = await api.post("/v1/uploads", { filename: "a.png", size: 10, mime: "image/png", sha256: "ab".repeat(32) }, s.access);
    assertEnvelope(assert, res, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert.equal(res.body.error.id, "E004");
  });
});

/**
 * One request on a connection of its own: a server that answers before reading a large body
 * may close that connection, which would break the next request sharing it.
 */
function freshRequest(method, path, { headers = {}, body, token } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers, "content-length": Buffer.byteLength(body ?? "") };
    if (token) h.authorization = `Bearer ${token}`;
    const req = http.request(new URL(path, w.url), { method, headers: h, agent: false }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: new Headers(res.headers), body: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("objects written through a URL that outlived its upload", () => {
  let s3w;
  before(async () => {
    // S3 mode: clients PUT straight to storage, so the Worker cannot refuse a late PUT; the
    // test plays the client's PUT by writing into the bucket as R2 would.
    s3w = await startWorker({
      vars: {
        PRESIGN_MODE: "s3", S3_ENDPOINT: "http://127.0.0.1:9", S3_BUCKET: "scoremate-files",
        S3_ACCESS_KEY_ID: "AKIDEXAMPLE", S3_SECRET_ACCESS_KEY: "secret", UPLOAD_URL_TTL_SECONDS: "10", UPLOAD_GRACE_SECONDS: "0",
      },
    });
  });
  after(() => s3w.close());

  test("are deleted by the sweep once the URL has expired (released upload, deleted score)", async () => {
    const a = s3w.api;
    const s = await a.signup("late-put@example.com");
    const bytes = makePdf(), other = makePdf();
    const ask = async (b) => (await a.post("/v1/uploads", { filename: "a.pdf", size: b.length, mime: "application/pdf", sha256: sha256(b) }, s.access)).body;
    const [u1, u2, u3] = [await ask(bytes), await ask(bytes), await ask(other)];
    const key = (u) => `u/${s.user.id}/s/${u.upload_id}.pdf`;
    const bucket = await s3w.bucket();
    await bucket.put(key(u1), new Uint8Array(bytes));
    await bucket.put(key(u3), new Uint8Array(other));
    assert.equal((await a.post("/v1/scores", { upload_id: u1.upload_id, title: "Kept" }, s.access)).status, 201);
    // u2 holds the same file: released as a duplicate while its URL still works.
    assertEnvelope(assert, await a.post("/v1/scores", { upload_id: u2.upload_id, title: "Dupe" }, s.access), 409, "DUPLICATE_SCORE");
    const gone = (await a.post("/v1/scores", { upload_id: u3.upload_id, title: "Gone" }, s.access)).body.score;
    assert.equal((await a.raw("DELETE", `/v1/scores/${gone.id}`, { token: s.access })).status, 204);
    assert.equal((await a.raw("DELETE", `/v1/trash/${gone.id}`, { token: s.access })).status, 204);
    await new Promise((r) => setTimeout(r, 1500)); // the delete_file task runs
    // The late PUTs land after the release and after the deletion.
    await bucket.put(key(u2), new Uint8Array(bytes));
    await bucket.put(key(u3), new Uint8Array(other));
    const db = await s3w.db();
    for (const u of [u2, u3]) {
      const row = await db.prepare("select not_before from deletions where object_key = ?").bind(key(u)).first();
      assert.ok(row, `no deletion waits for ${key(u)}`);
      assert.equal(row.not_before, u.expires_at);
    }
    const wait = Date.parse(u3.expires_at) - Date.now() + 200;
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    await (await s3w.mf.getWorker()).scheduled({ cron: "*/15 * * * *" });
    await eventually(async () => !(await bucket.head(key(u2))) && !(await bucket.head(key(u3))));
    assert.ok(await bucket.head(key(u1)), "the score's own file stays");
    await eventually(async () => (await db.prepare("select count(*) as n from deletions").first()).n === 0);
    await invariants(s3w, { objects: true });
  });
});

describe("authentication comes before the body", () => {
  const cases = [
    ["malformed JSON", { "content-type": "application/json" }, "{not json"],
    ["not JSON", { "content-type": "text/plain" }, "hello"],
    // Just over the limit: the client must finish sending before the early 401 arrives.
    ["over 1 MiB", { "content-type": "application/json" }, JSON.stringify({ title: "x".repeat(1024 * 1024) })],
  ];
  for (const [what, headers, body] of cases) {
    test(`a ${what} body without a token is 401`, async () => {
      for (const [method, path] of [["POST", "/v1/scores"], ["PATCH", "/v1/me"], ["POST", "/v1/setlists"], ["POST", "/v1/auth/logout"]]) {
        const res = await freshRequest(method, path, { headers, body });
        assertEnvelope(assert, res, 401, "INVALID_TOKEN");
      }
      const forged = await freshRequest("POST", "/v1/scores", { headers, body, token: "e30.e30.forged" });
      assertEnvelope(assert, forged, 401, "INVALID_TOKEN");
    });
  }
});

describe("unknown methods", () => {
  test("a method the route table does not list is 405 with Allow, never served as GET", async () => {
    const s = await api.signup("query-method@example.com");
    const known = await api.raw("DELETE", "/v1/me", { token: s.access });
    assert.equal(known.status, 405);
    for (const method of ["QUERY", "PROPFIND", "SEARCH", "PURGE"]) {
      const res = await api.raw(method, "/v1/me", { token: s.access });
      assertEnvelope(assert, res, 405, "METHOD_NOT_ALLOWED");
      assert.equal(res.headers.get("allow"), known.headers.get("allow"));
      assert.equal(res.body.user, undefined);
    }
    // Names that are no HTTP method at all are refused by the runtime itself (501).
    const foo = await api.raw("FOO", "/v1/me", { token: s.access });
    assert.ok([405, 501].includes(foo.status), String(foo.status));
    assert.doesNotMatch(JSON.stringify(foo.body), /query-method@/);
  });
});

describe("login and password guessing", () => {
  test("40 parallel wrong passwords get at most 10 answers of 401; the rest are 429", async () => {
    await api.signup("parallel-guess@example.com");
    const results = await Promise.all(
      Array.from({ length: 40 }, () => api.post("/v1/auth/login", { email: "parallel-guess@example.com", password: "Wrong-pass-123" })),
    );
    const statuses = results.map((r) => r.status);
    assert.ok(statuses.filter((s) => s === 401).length <= 10, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s !== 401 && s !== 429).length, 0, JSON.stringify(statuses));
    const right = await api.post("/v1/auth/login", { email: "parallel-guess@example.com", password: "Str0ng-pass-word" });
    assertEnvelope(assert, right, 429, "RATE_LIMITED");
  });

  test("a successful login gives its counted attempt back", async () => {
    await api.signup("giveback@example.com");
    for (let i = 0; i < 9; i++) {
      assert.equal((await api.post("/v1/auth/login", { email: "giveback@example.com", password: "Wrong-pass-123" })).status, 401);
    }
    for (let i = 0; i < 3; i++) {
      assert.equal((await api.post("/v1/auth/login", { email: "giveback@example.com", password: "Str0ng-pass-word" })).status, 200);
    }
    assert.equal((await api.post("/v1/auth/login", { email: "giveback@example.com", password: "Wrong-pass-123" })).status, 401);
    assert.equal((await api.post("/v1/auth/login", { email: "giveback@example.com", password: "Wrong-pass-123" })).status, 429);
  });

  test("guessing current_password with a stolen access token hits the same failure window", async () => {
    const s = await api.signup("pw-guess@example.com");
    const guesses = await Promise.all(
      Array.from({ length: 15 }, (_, i) => api.post("/v1/me/password", { current_password: `Guess-number-${i}`, new_password: "An0ther-pass-word" }, s.access)),
    );
    const statuses = guesses.map((g) => g.status);
    assert.ok(statuses.filter((x) => x === 422).length <= 10, JSON.stringify(statuses));
    assert.ok(statuses.filter((x) => x === 429).length >= 5, JSON.stringify(statuses));
    const right = await api.post("/v1/me/password", { current_password: "Str0ng-pass-word", new_password: "An0ther-pass-word" }, s.access);
    assertEnvelope(assert, right, 429, "RATE_LIMITED");
    const login = await api.post("/v1/auth/login", { email: "pw-guess@example.com", password: "Str0ng-pass-word" });
    assertEnvelope(assert, login, 429, "RATE_LIMITED");
  });
});

describe("setlists", () => {
  let owner, viewer, setlistId, link;
  before(async () => {
    owner = await api.signup("disabled-owner@example.com");
    viewer = await api.signup("disabled-viewer@example.com");
    const created = await api.post("/v1/setlists", { name: "Gig" }, owner.access);
    setlistId = created.body.setlist.id;
    await api.post(`/v1/setlists/${setlistId}/members`, { email: viewer.user.email, role: "viewer" }, owner.access);
    link = (await api.post(`/v1/setlists/${setlistId}/links`, {}, owner.access)).body.link;
  });

  test("members see each other's display names; only the owner sees emails", async () => {
    const other = await api.signup("disabled-other@example.com");
    await api.post(`/v1/setlists/${setlistId}/members`, { email: other.user.email, role: "editor" }, owner.access);
    const asViewer = (await api.get(`/v1/setlists/${setlistId}`, viewer.access)).body.setlist;
    assert.equal(asViewer.members.length, 2);
    for (const m of asViewer.members) {
      assert.equal(m.email, undefined, JSON.stringify(m));
      assert.equal(typeof m.display_name, "string");
    }
    const asOwner = (await api.get(`/v1/setlists/${setlistId}`, owner.access)).body.setlist;
    assert.deepEqual(asOwner.members.map((m) => m.email).sort(), [other.user.email, viewer.user.email].sort());
    await api.raw("DELETE", `/v1/setlists/${setlistId}/members/${other.user.id}`, { token: owner.access });
  });

  test("a disabled owner's setlists are no longer reachable by members or links", async () => {
    assert.equal((await api.get(`/v1/setlists/${setlistId}`, viewer.access)).status, 200);
    assert.equal((await api.get(`/v1/shared/${link.token}`)).status, 200);
    await (await db()).prepare("update users set disabled_at = ? where id = ?").bind(new Date().toISOString(), owner.user.id).run();
    assertEnvelope(assert, await api.get(`/v1/setlists/${setlistId}`, viewer.access), 404, "NOT_FOUND");
    assertEnvelope(assert, await api.get(`/v1/shared/${link.token}`), 404, "NOT_FOUND");
    const shared = (await api.get("/v1/setlists?shared=true", viewer.access)).body.setlists;
    assert.equal(shared.filter((s) => s.id === setlistId).length, 0);
    await (await db()).prepare("update users set disabled_at = null where id = ?").bind(owner.user.id).run();
    assert.equal((await api.get(`/v1/setlists/${setlistId}`, viewer.access)).status, 200);
  });

  test("concurrent unversioned adds cannot push a setlist past 500 items", async () => {
    const s = await api.signup("item-limit@example.com");
    const score = await api.uploadScore(s.access, makePdf());
    const id = (await api.post("/v1/setlists", { name: "Long" }, s.access)).body.setlist.id;
    // 495 items straight into D1 (the API would take minutes), then 20 adds at once.
    const d = await db();
    const now = new Date().toISOString();
    const stmts = [];
    for (let i = 1; i <= 495; i++) {
      stmts.push(d.prepare("insert into setlist_items (id, setlist_id, score_id, position, added_by, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)")
        .bind(`itm_${i.toString(16).padStart(32, "0")}`, id, score.id, i, s.user.id, now, now));
    }
    await d.batch(stmts);
    const results = await Promise.all(Array.from({ length: 20 }, () => api.post(`/v1/setlists/${id}/items`, { score_id: score.id }, s.access)));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((x) => x === 201).length, 5, JSON.stringify(statuses));
    for (const r of results.filter((r) => r.status !== 201)) assertEnvelope(assert, r, 422, "VALIDATION_FAILED");
    const count = await d.prepare("select count(*) as n from setlist_items where setlist_id = ?").bind(id).first();
    assert.equal(count.n, 500);
    const positions = (await d.prepare("select position from setlist_items where setlist_id = ? order by position").bind(id).all()).results.map((r) => r.position);
    assert.deepEqual(positions, Array.from({ length: 500 }, (_, i) => i + 1));
  });
});

describe("score versions", () => {
  test("history is cursor-paged and bounded per score (oldest pruned)", async () => {
    const s = await api.signup("versions-paged@example.com");
    const score = await api.uploadScore(s.access, makePdf(), { title: "v0" });
    for (let i = 1; i <= 30; i++) {
      assert.equal((await api.patch(`/v1/scores/${score.id}`, { title: `v${i}` }, s.access)).status, 200);
    }
    const seen = [];
    let cursor = null;
    do {
      const q = cursor ? `?limit=7&cursor=${cursor}` : "?limit=7";
      const page = await api.get(`/v1/scores/${score.id}/versions${q}`, s.access);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.ok(page.body.versions.length <= 7);
      seen.push(...page.body.versions.map((v) => v.version));
      cursor = page.body.next_cursor;
    } while (cursor);
    // SCORE_VERSIONS_MAX = 20: versions 11..30 remain; version 0 (as created) went with version 1.
    assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i + 11));
    const compare = await api.get(`/v1/scores/${score.id}/versions/compare?from=11&to=30`, s.access);
    assert.equal(compare.status, 200);
    assert.deepEqual(compare.body.changes, [{ field: "title", from: "v11", to: "v30" }]);
    const pruned = await api.get(`/v1/scores/${score.id}/versions/compare?from=2&to=30`, s.access);
    assertEnvelope(assert, pruned, 422, "VALIDATION_FAILED");
    const rows = await (await db()).prepare("select count(*) as n from score_versions where score_id = ?").bind(score.id).first();
    assert.equal(rows.n, 20);
  });
});

describe("admin search", () => {
  test("a q longer than D1's 50-byte LIKE pattern limit matches literally", async () => {
    const admin = await api.signup("search-admin@example.com");
    await makeAdmin(admin);
    const long = `a-very-long-address-${"x".repeat(40)}@example.com`;
    await api.signup(long);
    const res = await api.get(`/v1/admin/users?q=${encodeURIComponent(long.slice(0, 60))}`, admin.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.users.map((u) => u.email), [long]);
    const tooLong = await api.get(`/v1/admin/users?q=${"y".repeat(400)}`, admin.access);
    assertEnvelope(assert, tooLong, 422, "VALIDATION_FAILED");
  });
});

describe("platform", () => {
  test("/health tells anonymous callers only ok or degraded; admins get the details", async () => {
    const anon = await api.get("/health");
    assert.equal(anon.status, 200);
    assert.deepEqual(anon.body, { status: "ok" });
    const admin = await api.signup("health-admin@example.com");
    await makeAdmin(admin);
    const detailed = await api.get("/health", admin.access);
    assert.equal(detailed.body.status, "ok");
    assert.equal(detailed.body.d1, "ok");
    assert.ok(Array.isArray(detailed.body.problems));
    const user = await api.signup("health-user@example.com");
    assert.deepEqual((await api.get("/health", user.access)).body, { status: "ok" });
  });

  test("a misconfigured Worker says degraded publicly and why only to admins", async () => {
    const short = await startWorker({ vars: { JWT_SECRET: "too-short" } });
    try {
      const res = await short.api.get("/health");
      assert.deepEqual(res.body, { status: "degraded" });
      assert.doesNotMatch(JSON.stringify(res.body), /JWT|secret|bytes/i);
    } finally {
      await short.close();
    }
  });

  test("the platform's invocation logs, which record URLs with tokens, are off", () => {
    const config = parseToml(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
    assert.equal(config.observability?.logs?.invocation_logs, false);
  });
});

describe("page images", () => {
  const pageUrl = (id, n) => `/v1/scores/${id}/download-url?page=${n}`;
  const settledScore = async (a, s, pages = 3) => {
    const score = await a.uploadScore(s.access, makePdf({ pages }));
    return a.settled(score.id, s.access);
  };

  test("20 concurrent requests for one page render it once; the rest wait for that render", async () => {
    const s = await api.signup("single-flight@example.com");
    const score = await settledScore(api, s);
    const first = await Promise.all(Array.from({ length: 20 }, () => api.get(pageUrl(score.id, 3), s.access)));
    for (const r of first) assert.ok([200, 202].includes(r.status), JSON.stringify(r.body));
    await eventually(async () => (await api.get(pageUrl(score.id, 3), s.access)).status === 200);
    const d = await db();
    const runs = await d.prepare("select attempts from task_runs where id = ?").bind(`render_page:${score.id}:3:1240`).first();
    assert.equal(runs.attempts, 1, "rendered more than once");
    const rows = await d.prepare("select state, bytes from page_renders where score_id = ?").bind(score.id).all();
    assert.equal(rows.results.length, 1);
    assert.equal(rows.results[0].state, "ok");
    assert.ok(rows.results[0].bytes > 0);
  });

  test("a page the score lacks is 422 at once; a request for a deleted score renders nothing", async () => {
    const s = await api.signup("pages-gone@example.com");
    const score = await settledScore(api, s, 2);
    assertEnvelope(assert, await api.get(pageUrl(score.id, 3), s.access), 422, "VALIDATION_FAILED");
    // Asked for, then deleted before the queue renders it: no image may outlive the score.
    assert.equal((await api.get(pageUrl(score.id, 1), s.access)).status, 202);
    assert.equal((await api.raw("DELETE", `/v1/scores/${score.id}`, { token: s.access })).status, 204);
    assert.equal((await api.raw("DELETE", `/v1/trash/${score.id}`, { token: s.access })).status, 204);
    await new Promise((r) => setTimeout(r, 2500));
    const left = (await (await w.bucket()).list({ prefix: `u/${s.user.id}/` })).objects.map((o) => o.key);
    assert.deepEqual(left, []);
  });
});

describe("derived images are capped per score", () => {
  let cw;
  before(async () => {
    cw = await startWorker({ vars: { DERIVED_MIN_BYTES: "0" } });
  });
  after(() => cw.close());

  test("past twice the PDF's size a page image is refused with a reason, and nothing is stored", async () => {
    const s = await cw.api.signup("budget@example.com");
    const created = await cw.api.uploadScore(s.access, makePdf({ pages: 4 }));
    const score = await cw.api.settled(created.id, s.access);
    const answer = await eventually(async () => {
      const res = await cw.api.get(`/v1/scores/${score.id}/download-url?page=2`, s.access);
      return res.status === 202 ? null : res;
    });
    assertEnvelope(assert, answer, 422, "VALIDATION_FAILED");
    assert.match(answer.body.error.fields.page, /storage budget/);
    const images = (await (await cw.bucket()).list({ prefix: `u/${s.user.id}/` })).objects.filter((o) => o.key.includes("/page-"));
    assert.deepEqual(images, []);
    // Remembered: asking again answers the same without another render.
    assertEnvelope(assert, await cw.api.get(`/v1/scores/${score.id}/download-url?page=2`, s.access), 422, "VALIDATION_FAILED");
    const runs = await (await cw.db()).prepare("select count(*) as n from task_runs where id like 'render_page:%'").first();
    assert.ok(runs.n <= 1);
  });
});

describe("public-link routes are rate limited", () => {
  let lw;
  before(async () => {
    lw = await startWorker({ ratelimits: { LINK_IP_LIMITER: { simple: { limit: 5, period: 60 } }, LINK_LIMITER: { simple: { limit: 8, period: 60 } } } });
  });
  after(() => lw.close());

  test("per client address, forged links included, and per link", async () => {
    const s = await lw.api.signup("link-limit@example.com");
    const id = (await lw.api.post("/v1/setlists", { name: "Open" }, s.access)).body.setlist.id;
    const link = (await lw.api.post(`/v1/setlists/${id}/links`, {}, s.access)).body.link;
    const from = (ip) => ({ headers: { "cf-connecting-ip": ip } });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await lw.api.raw("GET", `/v1/shared/${link.token}`, from("198.51.100.1"))).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const forged = await lw.api.raw("GET", `/v1/shared/AAAA${link.token.slice(4)}`, from("198.51.100.1"));
    assertEnvelope(assert, forged, 429, "RATE_LIMITED");
    // Other addresses share the link's own limit: 8 per minute, 5 counted already (a request
    // refused for its address is not counted for the link).
    const more = [];
    for (let i = 0; i < 4; i++) more.push((await lw.api.raw("GET", `/v1/shared/${link.token}`, from(`203.0.113.${i}`))).status);
    assert.deepEqual(more, [200, 200, 200, 429]);
    assert.ok(Number((await lw.api.raw("GET", `/v1/shared/${link.token}`, from("203.0.113.99"))).headers.get("retry-after")) > 0);
  });
});
