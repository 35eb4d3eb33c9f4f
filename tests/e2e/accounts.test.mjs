// Accounts and sessions (SPEC §1) through the built Worker in workerd.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";

let w, api;
before(async () => {
  w = await startWorker();
  api = w.api;
});
after(() => w.close());

describe("register", () => {
  test("creates a user with a normalised email, the user role and the default quota", async () => {
    const res = await api.register("  Ana.Lopez@Example.COM ", "Str0ng-pass-word", " Ana ");
    assert.equal(res.status, 201);
    assert.equal(res.body.user.email, "ana.lopez@example.com");
    assert.equal(res.body.user.display_name, "Ana");
    assert.equal(res.body.user.role, "user");
    assert.match(res.body.user.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(res.body.user.password_hash, undefined);
    const login = await api.post("/v1/auth/login", { email: "ana.lopez@example.com", password: "Str0ng-pass-word" });
    const usage = await api.get("/v1/me/usage", login.body.access);
    assert.deepEqual(usage.body, { quota_bytes: 1073741824, used_bytes: 0, reserved_bytes: 0 });
  });

  test("a duplicate email (after normalisation) is 409", async () => {
    await api.register("dup@example.com");
    assertEnvelope(assert, await api.register("DUP@example.com "), 409, "EMAIL_TAKEN");
  });

  test("stores a memory-hard hash, never the password", async () => {
    await api.register("hash@example.com", "Another-pass-123");
    const row = await (await w.db()).prepare("select password_hash from users where email = ?").bind("hash@example.com").first();
    assert.match(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(!row.password_hash.includes("Another-pass-123"));
  });

  const badPasswords = [
    ["short1A", "at least 10"],
    ["alllowercaseletters", "two kinds"],
    ["1234567890123", "two kinds"],
    ["rules@example.com", "email"],
  ];
  for (const [password, why] of badPasswords) {
    test(`password ${JSON.stringify(password)} is refused (${why})`, async () => {
      const res = await api.register("rules@example.com", password);
      assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
      assert.match(res.body.error.fields.password, new RegExp(why));
    });
  }

  test("reports every bad field at once, including wrong types and unknown fields", async () => {
    const res = await api.post("/v1/auth/register", { email: 42, display_name: "", admin: true });
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
    assert.deepEqual(Object.keys(res.body.error.fields).sort(), ["admin", "display_name", "email", "password"]);
    assert.equal(res.body.error.fields.email, "must be a string");
    assert.equal(res.body.error.fields.password, "is required");
  });

  test("an invalid email is 422", async () => {
    const res = await api.register("not-an-email");
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
    assert.ok(res.body.error.fields.email);
  });
});

describe("login", () => {
  test("returns access and refresh tokens with their expiry", async () => {
    await api.register("login@example.com");
    const res = await api.post("/v1/auth/login", { email: "LOGIN@example.com", password: "Str0ng-pass-word" });
    assert.equal(res.status, 200);
    for (const k of ["access", "refresh", "access_expires_at", "refresh_expires_at"]) assert.ok(res.body[k], k);
    const accessTtl = Date.parse(res.body.access_expires_at) - Date.now();
    assert.ok(accessTtl > 14 * 60e3 && accessTtl <= 15 * 60e3, `access ttl ${accessTtl}`);
    const refreshTtl = Date.parse(res.body.refresh_expires_at) - Date.now();
    assert.ok(refreshTtl > 13.9 * 86400e3 && refreshTtl <= 14 * 86400e3, `refresh ttl ${refreshTtl}`);
  });

  test("wrong password and unknown email are indistinguishable", async () => {
    await api.register("known@example.com");
    const wrong = await api.post("/v1/auth/login", { email: "known@example.com", password: "Wrong-pass-word1" });
    const unknown = await api.post("/v1/auth/login", { email: "nobody@example.com", password: "Wrong-pass-word1" });
    assertEnvelope(assert, wrong, 401, "INVALID_CREDENTIALS");
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.body.error.id, "E002");
  });

  test("unknown emails cost a password verification too (timing)", async () => {
    await api.register("timing@example.com");
    const time = async (email) => {
      const t0 = performance.now();
      await api.post("/v1/auth/login", { email, password: "Wrong-pass-word1" });
      return performance.now() - t0;
    };
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const known = [], unknown = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time("timing@example.com"));
      unknown.push(await time(`ghost${i}@example.com`));
    }
    const ratio = median(unknown) / median(known);
    // Without the dummy hash an unknown email answers ~10x faster; allow scheduling noise.
    assert.ok(ratio > 0.6 && ratio < 1.6, `unknown/known login time ratio ${ratio.toFixed(2)}`);
  });

  test("missing fields are 422", async () => {
    assertEnvelope(assert, await api.post("/v1/auth/login", {}), 422, "VALIDATION_FAILED");
  });
});

describe("sessions", () => {
  test("register → login → me → refresh rotates → reuse revokes the family → logout kills the token", async () => {
    const s = await api.signup("flow@example.com");
    const me = await api.get("/v1/me", s.access);
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, "flow@example.com");

    // Rotation: the victim refreshes, getting a new pair.
    const r1 = await api.post("/v1/auth/refresh", { refresh: s.refresh });
    assert.equal(r1.status, 200);
    assert.notEqual(r1.body.refresh, s.refresh);
    assert.equal((await api.get("/v1/me", r1.body.access)).status, 200);

    // A thief replays the spent token: refused, and the family is revoked.
    const thief = await api.post("/v1/auth/refresh", { refresh: s.refresh });
    assertEnvelope(assert, thief, 401, "INVALID_TOKEN");
    // The victim's current refresh token and access token are dead too.
    assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: r1.body.refresh }), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.get("/v1/me", r1.body.access), 401, "INVALID_TOKEN");

    // A new login works; logout kills its refresh token and its access token.
    const s2 = await api.post("/v1/auth/login", { email: "flow@example.com", password: s.password });
    const out = await api.post("/v1/auth/logout", { refresh: s2.body.refresh }, s2.body.access);
    assert.equal(out.status, 204);
    assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: s2.body.refresh }), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.get("/v1/me", s2.body.access), 401, "INVALID_TOKEN");
  });

  test("two racing refreshes with the same token: at most one wins and the family dies", async () => {
    const s = await api.signup("race@example.com");
    const [a, b] = await Promise.all([
      api.post("/v1/auth/refresh", { refresh: s.refresh }),
      api.post("/v1/auth/refresh", { refresh: s.refresh }),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.ok(statuses[1] === 401, `statuses ${statuses}`);
    const winner = [a, b].find((r) => r.status === 200);
    if (winner) {
      // The loser's presentation was a reuse: the winner's new token is revoked as well.
      assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: winner.body.refresh }), 401, "INVALID_TOKEN");
    }
  });

  test("an access token is not a refresh token, and a refresh token is not an access token", async () => {
    const s = await api.signup("types@example.com");
    assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: s.access }), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.get("/v1/me", s.refresh), 401, "INVALID_TOKEN");
  });

  test("logout with another user's refresh token is refused and revokes nothing", async () => {
    const a = await api.signup("owner-a@example.com");
    const b = await api.signup("owner-b@example.com");
    assertEnvelope(assert, await api.post("/v1/auth/logout", { refresh: b.refresh }, a.access), 401, "INVALID_TOKEN");
    assert.equal((await api.post("/v1/auth/refresh", { refresh: b.refresh })).status, 200);
  });

  test("logout_all ends every session of the user, and only theirs", async () => {
    const s1 = await api.signup("all@example.com");
    const s2 = (await api.post("/v1/auth/login", { email: "all@example.com", password: s1.password })).body;
    const other = await api.signup("bystander@example.com");
    assert.equal((await api.post("/v1/auth/logout_all", undefined, s1.access)).status, 204);
    for (const t of [s1.access, s2.access]) assertEnvelope(assert, await api.get("/v1/me", t), 401, "INVALID_TOKEN");
    for (const t of [s1.refresh, s2.refresh]) {
      assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: t }), 401, "INVALID_TOKEN");
    }
    assert.equal((await api.get("/v1/me", other.access)).status, 200);
  });

  test("a password change keeps the current session and kills the others", async () => {
    const mine = await api.signup("pw@example.com");
    const other = (await api.post("/v1/auth/login", { email: "pw@example.com", password: mine.password })).body;
    const res = await api.post("/v1/me/password", { current_password: mine.password, new_password: "Brand-new-pass-1" }, mine.access);
    assert.equal(res.status, 204);
    assert.equal((await api.get("/v1/me", mine.access)).status, 200);
    assert.equal((await api.post("/v1/auth/refresh", { refresh: mine.refresh })).status, 200);
    assertEnvelope(assert, await api.get("/v1/me", other.access), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: other.refresh }), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.post("/v1/auth/login", { email: "pw@example.com", password: mine.password }), 401, "INVALID_CREDENTIALS");
    assert.equal((await api.post("/v1/auth/login", { email: "pw@example.com", password: "Brand-new-pass-1" })).status, 200);
  });

  test("a password change needs the right current password and a valid new one", async () => {
    const s = await api.signup("pw2@example.com");
    let res = await api.post("/v1/me/password", { current_password: "Wrong-pass-word1", new_password: "Brand-new-pass-1" }, s.access);
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
    assert.equal(res.body.error.fields.current_password, "is incorrect");
    res = await api.post("/v1/me/password", { current_password: s.password, new_password: "short" }, s.access);
    assert.ok(res.body.error.fields.new_password);
    res = await api.post("/v1/me/password", { current_password: s.password, new_password: s.password }, s.access);
    assert.match(res.body.error.fields.new_password, /differ/);
  });

  test("a disabled account cannot log in and its tokens stop working at once", async () => {
    const s = await api.signup("disabled@example.com");
    await (await w.db()).prepare("update users set disabled_at = ? where email = ?").bind(new Date().toISOString(), "disabled@example.com").run();
    assertEnvelope(assert, await api.get("/v1/me", s.access), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.post("/v1/auth/refresh", { refresh: s.refresh }), 401, "INVALID_TOKEN");
    assertEnvelope(assert, await api.post("/v1/auth/login", { email: "disabled@example.com", password: s.password }), 403, "FORBIDDEN");
  });
});

describe("profile", () => {
  test("PATCH /v1/me updates display name and preferences and keeps the rest", async () => {
    const s = await api.signup("profile@example.com");
    let res = await api.patch("/v1/me", { display_name: "  Maestro ", preferences: { theme: "dark", page_turn: "pedal" } }, s.access);
    assert.equal(res.status, 200);
    assert.equal(res.body.user.display_name, "Maestro");
    assert.deepEqual(res.body.user.preferences, { theme: "dark", page_turn: "pedal" });
    res = await api.patch("/v1/me", { preferences: { theme: "light" } }, s.access);
    assert.equal(res.body.user.display_name, "Maestro");
    assert.deepEqual((await api.get("/v1/me", s.access)).body.user.preferences, { theme: "light" });
  });

  test("PATCH /v1/me refuses bad values and fields it does not own", async () => {
    const s = await api.signup("profile2@example.com");
    const res = await api.patch("/v1/me", { display_name: "", preferences: [1], role: "admin", email: "x@example.com" }, s.access);
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
    assert.deepEqual(Object.keys(res.body.error.fields).sort(), ["display_name", "email", "preferences", "role"]);
    assert.equal((await api.get("/v1/me", s.access)).body.user.role, "user");
  });
});
