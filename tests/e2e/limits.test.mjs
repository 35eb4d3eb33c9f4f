// Rate limits and CORS in workerd (SPEC §6): each D1-counted limit set small through vars, the
// per-user ceiling through the Rate Limiting binding, and CORS preflights and responses.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";

let w, api;
before(async () => {
  w = await startWorker({
    vars: {
      RATE_AUTH_PER_IP: "4/60",
      RATE_LOGIN_FAILURES: "3/900",
      RATE_UPLOAD_URLS: "2/60",
      RATE_REFRESH_PER_FAMILY: "2/60",
      CORS_ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000",
    },
    ratelimits: { USER_LIMITER: { simple: { limit: 8, period: 60 } } },
  });
  api = w.api;
});
after(() => w.close());

let ipSeq = 0;
/** A fresh client address, so each test starts with an empty per-IP window. */
const fromIp = () => ({ "cf-connecting-ip": `203.0.113.${++ipSeq}` });
const post = (path, body, headers = fromIp(), token) =>
  api.raw("POST", path, {
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

function assertLimited(res) {
  assertEnvelope(assert, res, 429, "RATE_LIMITED");
  const retry = Number(res.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 900, `Retry-After ${res.headers.get("retry-after")}`);
}

async function account(name) {
  const email = `${name}@limits.example`;
  const ip = fromIp();
  assert.equal((await post("/v1/auth/register", { email, password: "Str0ng-pass-word", display_name: "P" }, ip)).status, 201);
  const login = await post("/v1/auth/login", { email, password: "Str0ng-pass-word" }, ip);
  assert.equal(login.status, 200);
  return { email, ...login.body };
}

describe("rate limits counted in D1", () => {
  test("register, login and refresh share one per-IP window; other addresses are unaffected", async () => {
    const ip = fromIp();
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await post("/v1/auth/login", { email: `ip${i}@limits.example`, password: "wrong-pass-word-1" }, ip)).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
    assertLimited(await post("/v1/auth/register", { email: "late@limits.example", password: "Str0ng-pass-word", display_name: "P" }, ip));
    assertLimited(await post("/v1/auth/refresh", { refresh: "x.y.z" }, ip));
    assert.equal((await post("/v1/auth/register", { email: "other-ip@limits.example", password: "Str0ng-pass-word", display_name: "P" })).status, 201);
  });

  test("failed logins per email: known and unknown emails alike, and the right password waits too", async () => {
    const { email } = await account("victim");
    for (const target of [email, "nobody-here@limits.example"]) {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await post("/v1/auth/login", { email: target, password: "guess-number-" + i })).status);
      assert.deepEqual(statuses, [401, 401, 401], target);
      assertLimited(await post("/v1/auth/login", { email: target, password: "Str0ng-pass-word" }));
    }
    // Case and spacing do not make a new counter.
    assertLimited(await post("/v1/auth/login", { email: ` ${email.toUpperCase()} `, password: "Str0ng-pass-word" }));
    const rows = await (await w.db()).prepare("select bucket from rate_windows where bucket like 'login-failures:%'").all();
    assert.ok(rows.results.every((r) => !r.bucket.includes("@")), "no email stored in counters");
    // Another account still logs in.
    await account("bystander");
  });

  test("upload URLs per user", async () => {
    const [a, b] = [await account("uploader"), await account("neighbour")];
    const body = (i) => ({ filename: "f.pdf", size: 100, mime: "application/pdf", sha256: createHash("sha256").update(`pdf ${i}`).digest("hex") });
    assert.equal((await api.post("/v1/uploads", body(1), a.access)).status, 201);
    assert.equal((await api.post("/v1/uploads", body(2), a.access)).status, 201);
    assertLimited(await api.post("/v1/uploads", body(3), a.access));
    assert.equal((await api.post("/v1/uploads", body(4), b.access)).status, 201);
  });

  test("refreshes per session", async () => {
    const a = await account("refresher");
    let refresh = a.refresh;
    for (let i = 0; i < 2; i++) {
      const res = await post("/v1/auth/refresh", { refresh });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      refresh = res.body.refresh;
    }
    assertLimited(await post("/v1/auth/refresh", { refresh }));
    // A second session of the same user has its own window.
    const again = await post("/v1/auth/login", { email: a.email, password: "Str0ng-pass-word" });
    assert.equal((await post("/v1/auth/refresh", { refresh: again.body.refresh })).status, 200);
  });
});

describe("the per-user ceiling (Rate Limiting binding)", () => {
  test("every authenticated route counts; over the ceiling → 429 for that user only", async () => {
    const [a, b] = [await account("busy"), await account("calm")];
    const statuses = [];
    for (let i = 0; i < 9; i++) statuses.push((await api.get(i % 2 ? "/v1/me" : "/v1/scores", a.access)).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 429]);
    const limited = await api.get("/v1/me", a.access);
    assertLimited(limited);
    assert.equal(limited.headers.get("retry-after"), "60");
    assert.equal((await api.get("/v1/me", b.access)).status, 200);
    assert.equal((await api.get("/health")).status, 200, "public routes are not per-user");
  });
});

describe("CORS", () => {
  const preflight = (path, origin, method, extra = {}) =>
    api.raw("OPTIONS", path, { headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization, content-type", ...extra } });

  test("a preflight from an allowed origin lists the path's methods and our headers", async () => {
    const res = await preflight("/v1/scores", "https://app.example.com", "POST");
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.equal(res.headers.get("access-control-allow-methods"), res.headers.get("allow"));
    assert.deepEqual(res.headers.get("allow").split(", ").sort(), ["GET", "HEAD", "OPTIONS", "POST"]);
    assert.match(res.headers.get("access-control-allow-headers"), /authorization/);
    assert.match(res.headers.get("access-control-allow-headers"), /content-type/);
    assert.equal(res.headers.get("access-control-max-age"), "600");
    assert.equal(res.headers.get("access-control-allow-credentials"), null);
    assert.match(res.headers.get("vary"), /Origin/);
    assert.equal(res.headers.get("x-frame-options"), "DENY");
  });

  test("other origins, unsupported methods and unknown paths get no CORS grant", async () => {
    for (const res of [
      await preflight("/v1/scores", "https://evil.example.com", "POST"),
      await preflight("/v1/scores", "https://app.example.com", "DELETE"),
      await preflight("/v1/nowhere", "https://app.example.com", "GET"),
    ]) {
      assert.equal(res.headers.get("access-control-allow-origin"), null, JSON.stringify([...res.headers]));
    }
    assert.equal((await preflight("/v1/nowhere", "https://app.example.com", "GET")).status, 404);
  });

  test("responses, errors included, carry the grant for allowed origins only; never *", async () => {
    const a = await account("browser");
    const withOrigin = (origin) => ({ headers: { origin }, token: a.access });
    const ok = await api.raw("GET", "/v1/me", withOrigin("http://localhost:3000"));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), "http://localhost:3000");
    assert.match(ok.headers.get("access-control-expose-headers"), /retry-after/);
    const err = await api.raw("GET", "/v1/scores/sco_nope", withOrigin("https://app.example.com"));
    assert.equal(err.status, 404);
    assert.equal(err.headers.get("access-control-allow-origin"), "https://app.example.com");
    const evil = await api.raw("GET", "/v1/me", withOrigin("https://evil.example.com"));
    assert.equal(evil.status, 200, "CORS is the browser's rule; the API still answers");
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
    assert.match(evil.headers.get("vary"), /Origin/);
    for (const res of [ok, err, evil]) assert.notEqual(res.headers.get("access-control-allow-origin"), "*");
  });

  test("a wildcard setting is refused as a misconfiguration, loudly", async () => {
    const bad = await startWorker({ vars: { CORS_ALLOWED_ORIGINS: "*" } });
    try {
      const res = await bad.api.post("/v1/auth/login", { email: "a@b.example", password: "x" });
      assertEnvelope(assert, res, 500, "SERVER_MISCONFIGURED");
    } finally {
      await bad.close();
    }
  });
});
