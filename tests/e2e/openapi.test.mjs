// The OpenAPI document served by the Worker: open without a token, valid OpenAPI 3.1 by a standard
// validator, and in agreement with what the Worker answers (the native test compares it with the
// route table both ways).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { startWorker } from "./harness.mjs";

let w, api;
before(async () => {
  w = await startWorker();
  api = w.api;
});
after(() => w.close());

test("/openapi.json is served without a token and validates as OpenAPI 3.1", async () => {
  const res = await api.get("/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /application\/json/);
  assert.equal(res.body.openapi, "3.1.0");
  const validated = await SwaggerParser.validate(structuredClone(res.body));
  assert.ok(Object.values(validated.paths).flatMap((p) => Object.keys(p)).length > 50, "every operation");
});

test("every documented operation is routed: unknown paths 404, documented ones never 405", async () => {
  const doc = (await api.get("/openapi.json")).body;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      const concrete = path.replace(/\{[^}]+\}/g, "x");
      const res = await api.raw(method.toUpperCase(), concrete, method === "get" ? {} : { body: "{}", headers: { "content-type": "application/json" } });
      assert.notEqual(res.status, 405, `${method} ${path}`);
      if (item[method].security === undefined && !path.startsWith("/v1/admin/")) {
        assert.equal(res.status, 401, `${method} ${path} needs a token`);
      }
    }
  }
});

test("admin routes are described to admins only, in a document of their own", async () => {
  const pub = (await api.get("/openapi.json")).body;
  assert.deepEqual(Object.keys(pub.paths).filter((p) => p.startsWith("/v1/admin/")), []);
  const user = await api.signup("openapi-user@example.com");
  assert.equal((await api.get("/v1/admin/openapi.json")).status, 404);
  assert.equal((await api.get("/v1/admin/openapi.json", user.access)).status, 404);
  const admin = await api.signup("openapi-admin@example.com");
  await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(admin.user.id).run();
  const res = await api.get("/v1/admin/openapi.json", admin.access);
  assert.equal(res.status, 200);
  await SwaggerParser.validate(structuredClone(res.body));
  const paths = Object.keys(res.body.paths);
  assert.ok(paths.length >= 5 && paths.every((p) => p.startsWith("/v1/admin/")), paths.join(" "));
});
