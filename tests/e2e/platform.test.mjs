// The request pipeline: error envelope for every kind of bad request, auth on every private
// route, security headers, health, and the queue consumer and cron sweep.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, devVars, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, session;
before(async () => {
  w = await startWorker();
  api = w.api;
  session = await api.signup("platform@example.com");
});
after(() => w.close());

const b64 = (x) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");
function mint(payload, { secret = devVars().JWT_SECRET, alg = "HS256" } = {}) {
  const head = b64({ alg, typ: "JWT" });
  const body = b64(payload);
  const sig = alg === "none" ? "" : createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}
const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url"));

describe("health", () => {
  test("says ok without a token, and the version and D1's state to an admin", async () => {
    const res = await api.get("/health");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: "ok" });
    const admin = await api.signup("health-details@example.com");
    await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(admin.user.id).run();
    const details = await api.get("/health", admin.access);
    assert.equal(details.body.status, "ok");
    assert.equal(details.body.d1, "ok");
    assert.match(details.body.version, /^\d+\.\d+\.\d+/);
  });
});

describe("malformed requests get the envelope", () => {
  test("unknown route → 404", async () => {
    assertEnvelope(assert, await api.get("/v1/nothing-here"), 404, "NOT_FOUND");
    assertEnvelope(assert, await api.get("/"), 404, "NOT_FOUND");
  });

  test("wrong method → 405 with Allow", async () => {
    const res = await api.json("DELETE", "/v1/me", undefined, session.access);
    assertEnvelope(assert, res, 405, "METHOD_NOT_ALLOWED");
    assert.match(res.headers.get("allow"), /GET, PATCH/);
  });

  test("malformed JSON → 400", async () => {
    const res = await api.raw("POST", "/v1/auth/login", { body: '{"email": "a@', headers: { "content-type": "application/json" } });
    assertEnvelope(assert, res, 400, "BAD_REQUEST");
  });

  test("a JSON value that is not an object → 422", async () => {
    const res = await api.raw("POST", "/v1/auth/login", { body: "[1,2,3]", headers: { "content-type": "application/json" } });
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
  });

  test("a body that is not application/json → 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
      const headers = type ? { "content-type": type } : {};
      const res = await api.raw("POST", "/v1/auth/login", { body: "email=a&password=b", headers });
      assertEnvelope(assert, res, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
  });

  test("a body over 1 MiB → 413, declared or streamed", async () => {
    const big = JSON.stringify({ email: "x".repeat(1024 * 1024 + 10) });
    const res = await api.raw("POST", "/v1/auth/login", { body: big, headers: { "content-type": "application/json" } });
    assertEnvelope(assert, res, 413, "PAYLOAD_TOO_LARGE");
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 3; i++) c.enqueue(new TextEncoder().encode("x".repeat(512 * 1024)));
        c.close();
      },
    });
    const streamed = await api.raw("POST", "/v1/auth/login", { body: chunks, headers: { "content-type": "application/json" } });
    assertEnvelope(assert, streamed, 413, "PAYLOAD_TOO_LARGE");
  });

  test("body-less calls need no content type", async () => {
    assert.equal((await api.raw("POST", "/v1/auth/logout_all", { token: (await api.signup("nobody-type@example.com")).access })).status, 204);
  });
});

describe("only register, login, refresh and health are open", () => {
  const privateRoutes = [
    ["GET", "/v1/me"],
    ["PATCH", "/v1/me"],
    ["POST", "/v1/me/password"],
    ["GET", "/v1/me/usage"],
    ["POST", "/v1/auth/logout"],
    ["POST", "/v1/auth/logout_all"],
    ["GET", "/v1/me/stats"],
    ["GET", "/v1/favorites"],
    ["GET", "/v1/history"],
    ["PUT", `/v1/scores/sco_${"0".repeat(32)}/favorite`],
    ["POST", `/v1/scores/sco_${"0".repeat(32)}/opened`],
    ["GET", `/v1/scores/sco_${"0".repeat(32)}/versions`],
    ["GET", "/v1/setlists"],
    ["POST", "/v1/setlists"],
    ["GET", `/v1/setlists/set_${"0".repeat(32)}`],
    ["POST", `/v1/setlists/set_${"0".repeat(32)}/items`],
    ["POST", `/v1/setlists/set_${"0".repeat(32)}/links`],
  ];
  const badTokens = () => {
    const c = claimsOf(session.access);
    const now = Math.floor(Date.now() / 1000);
    return {
      none: undefined,
      garbage: "not.a.token",
      tampered: session.access.slice(0, -4) + (session.access.endsWith("AAAA") ? "BBBB" : "AAAA"),
      "alg none": mint({ ...c }, { alg: "none" }),
      "wrong key": mint({ ...c }, { secret: "some-other-secret-that-is-long-enough-0123" }),
      expired: mint({ ...c, iat: now - 3600, exp: now - 60 }),
      "not yet valid": mint({ ...c, iat: now, nbf: now + 3600, exp: now + 7200 }),
      "refresh as access": session.refresh,
      "unknown session": mint({ ...c, sid: "ses_00000000000000000000000000000000" }),
    };
  };
  for (const [method, path] of privateRoutes) {
    test(`${method} ${path} answers 401 E002 without a valid access token`, async () => {
      for (const [name, token] of Object.entries(badTokens())) {
        const res = await api.json(method, path, method === "GET" ? undefined : {}, token);
        assert.equal(res.status, 401, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.id, "E002", name);
      }
    });
  }

  test("a well-signed token forged for another user id with a real session is refused", async () => {
    const other = await api.signup("victim@example.com");
    const forged = mint({ ...claimsOf(session.access), sub: other.user.id });
    assertEnvelope(assert, await api.get("/v1/me", forged), 401, "INVALID_TOKEN");
  });
});

describe("security headers", () => {
  test("are on successes and errors alike", async () => {
    for (const res of [await api.get("/health"), await api.get("/nope"), await api.get("/v1/me")]) {
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      assert.match(res.headers.get("strict-transport-security"), /max-age=\d+/);
      assert.match(res.headers.get("content-security-policy"), /default-src 'none'/);
    }
  });
});

describe("logs", () => {
  test("one JSON line per request, with no tokens or passwords", async () => {
    const s = await api.signup("logs@example.com", "Very-secret-pass-9");
    await api.get("/v1/me", s.access);
    await api.post("/v1/auth/refresh", { refresh: s.refresh });
    const text = w.logs.join("");
    assert.ok(!text.includes("Very-secret-pass-9"), "password in logs");
    assert.ok(!text.includes(s.access) && !text.includes(s.refresh), "token in logs");
    const lines = text.split("\n").filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
    const me = lines.find((l) => l.route === "/v1/me" && l.user_id === s.user.id);
    assert.ok(me, "no log line for GET /v1/me");
    assert.equal(me.status, 200);
    assert.equal(typeof me.duration_ms, "number");
  });

  test("tasks log one line each; presigned URLs, signatures, hashes and link tokens never appear", async () => {
    const s = await api.signup("logs2@example.com", "Another-secret-pass-7");
    const score = await api.uploadScore(s.access, makePdf({ title: "Logged" }));
    await api.settled(score.id, s.access);
    const dl = (await api.get(`/v1/scores/${score.id}/download-url`, s.access)).body.url;
    const setlist = (await api.post("/v1/setlists", { name: "Logged gig" }, s.access)).body.setlist;
    const link = (await api.post(`/v1/setlists/${setlist.id}/links`, {}, s.access)).body.link;
    assert.equal((await api.get(`/v1/shared/${link.token}`)).status, 200);
    const row = await (await w.db()).prepare("select password_hash from users where id = ?").bind(s.user.id).first();
    const text = w.logs.join("");
    const secrets = {
      password: "Another-secret-pass-7",
      hash: row.password_hash,
      access: s.access,
      refresh: s.refresh,
      "download url": dl,
      "blob token": new URL(dl).pathname.split("/").pop(),
      "link token": link.token,
    };
    for (const [name, secret] of Object.entries(secrets)) assert.ok(!text.includes(secret), `${name} in logs`);
    const lines = text.split("\n").flatMap((l) => {
      try {
        return l.includes("{") ? [JSON.parse(l.slice(l.indexOf("{")))] : [];
      } catch {
        return [];
      }
    });
    const shared = lines.find((l) => l.msg === "request" && l.route === "/v1/shared/{token}");
    assert.ok(shared, "the route template is logged, not the path with its token");
    const tasks = lines.filter((l) => l.msg === "task");
    for (const name of ["pdf_info", "thumbnail"]) {
      const t = tasks.find((l) => l.task === name && l.outcome === "ack");
      assert.ok(t, `no task line for ${name}`);
      assert.equal(typeof t.duration_ms, "number");
    }
  });
});

describe("queue and cron", () => {
  test("a ping message goes through the queue consumer and is recorded", async () => {
    const id = `t${Date.now()}`;
    await (await w.queue()).send({ task: "ping", id });
    const row = await eventually(async () =>
      (await w.db()).prepare("select * from task_runs where id = ?").bind(`ping:${id}`).first(),
    );
    assert.equal(row.state, "ok");
    assert.equal(row.task, "ping");
  });

  test("redelivering the same ping updates one row (idempotent)", async () => {
    const id = `dup${Date.now()}`;
    const q = await w.queue();
    await q.send({ task: "ping", id });
    await q.send({ task: "ping", id });
    const row = await eventually(async () => {
      const r = await (await w.db()).prepare("select * from task_runs where id = ?").bind(`ping:${id}`).first();
      return r && r.attempts === 2 ? r : null;
    });
    const count = await (await w.db()).prepare("select count(*) as n from task_runs where id = ?").bind(`ping:${id}`).first();
    assert.equal(count.n, 1);
    assert.equal(row.state, "ok");
  });

  test("a message that is not a task is recorded as failed and acked, not retried", async () => {
    await (await w.queue()).send({ task: "self_destruct" });
    const row = await eventually(async () =>
      (await w.db()).prepare("select * from task_runs where task = 'unknown'").first(),
    );
    assert.equal(row.state, "failed");
    assert.match(row.detail, /self_destruct|unknown variant/);
    await new Promise((r) => setTimeout(r, 1500));
    const again = await (await w.db()).prepare("select attempts from task_runs where id = ?").bind(row.id).first();
    assert.equal(again.attempts, 1);
  });

  test("the cron sweep purges expired refresh tokens and dead sessions", async () => {
    const s = await api.signup("sweep@example.com");
    const db = await w.db();
    await db.prepare("update refresh_tokens set expires_at = '2000-01-01T00:00:00.000Z' where user_id = ?").bind(s.user.id).run();
    await db.prepare("update sessions set expires_at = '2000-01-01T00:00:00.000Z' where user_id = ?").bind(s.user.id).run();
    const worker = await w.mf.getWorker();
    const result = await worker.scheduled({ cron: "*/15 * * * *" });
    assert.equal(result.outcome, "ok");
    const left = await db.prepare("select (select count(*) from refresh_tokens where user_id = ?1) + (select count(*) from sessions where user_id = ?1) as n").bind(s.user.id).first();
    assert.equal(left.n, 0);
  });
});

describe("configuration", () => {
  test("a missing or short JWT secret refuses auth with a 500 envelope, not a panic", async () => {
    for (const secret of [undefined, "too-short"]) {
      const bad = await startWorker({ vars: { JWT_SECRET: secret } });
      try {
        const health = await bad.api.get("/health");
        assert.deepEqual(health.body, { status: "degraded" });
        // The operator reads why in the logs (no admin can sign in without the secret).
        assert.match(bad.logs.join(""), /JWT_SECRET/);
        assertEnvelope(assert, await bad.api.post("/v1/auth/login", { email: "a@example.com", password: "Str0ng-pass-word" }), 500, "SERVER_MISCONFIGURED");
        assertEnvelope(assert, await bad.api.get("/v1/me", "x.y.z"), 500, "SERVER_MISCONFIGURED");
        assert.ok(!bad.logs.join("").includes("panicked"), "the Worker panicked");
      } finally {
        await bad.close();
      }
    }
  });
});
