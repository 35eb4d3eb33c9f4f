// The malformed-input battery (issue 12's standing suite): every operation of the served OpenAPI
// documents that takes a JSON body or query parameters gets wrong types, missing and extra
// fields, huge strings and arrays, deep nesting, invalid UTF-8, NUL bytes and unknown enum
// values. Whatever it is sent, the Worker never answers 5xx, and every error is the envelope.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, admin, ids;

before(async () => {
  w = await startWorker({ ratelimits: { USER_LIMITER: { simple: { limit: 100000, period: 60 } } }, vars: { RATE_UPLOAD_URLS: "off", RATE_LOGIN_FAILURES: "off" } });
  api = w.api;
  owner = await api.signup("malformed-owner@example.com");
  admin = await api.signup("malformed-admin@example.com");
  await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(admin.user.id).run();
  const score = await api.uploadScore(owner.access, makePdf({ pages: 2 }));
  const setlist = (await api.post("/v1/setlists", { name: "Battery" }, owner.access)).body.setlist.id;
  const item = (await api.post(`/v1/setlists/${setlist}/items`, { score_id: score.id }, owner.access)).body.setlist.items[0].id;
  const link = (await api.post(`/v1/setlists/${setlist}/links`, {}, owner.access)).body.link;
  const comment = (await api.post(`/v1/setlists/${setlist}/items/${item}/comments`, { body: "c" }, owner.access)).body.comment.id;
  const member = await api.signup("malformed-member@example.com");
  await api.post(`/v1/setlists/${setlist}/members`, { email: member.user.email, role: "viewer" }, owner.access);
  const preset = (await api.post("/v1/presets", { kind: "genre", name: "Battery" }, owner.access)).body.preset.id;
  ids = { id: null, item_id: item, comment_id: comment, link_id: link.id, user_id: member.user.id, token: link.token, file: "init.js", preset, score: score.id, setlist, admin_user: member.user.id };
});
after(() => w.close());

/** A concrete path for a template, with ids that exist, so validation (not 404) is reached. */
function concrete(template) {
  const first = template.startsWith("/v1/setlists/") ? ids.setlist
    : template.startsWith("/v1/presets/") ? ids.preset
    : template.startsWith("/v1/admin/users/") ? ids.admin_user
    : template.startsWith("/v1/admin/tasks/") ? `thumbnail:${ids.score}`
    : ids.score;
  return template.replace("{id}", first).replace(/\{(\w+)\}/g, (_, name) => ids[name] ?? "x");
}

const deep = (n) => "[".repeat(n) + "]".repeat(n);
const VALUES = [null, true, 0, -1, 1e308, "", "x".repeat(100_000), "\u0000", "nul\u0000byte", [], Array(10_000).fill(1), {}, { nested: { deeper: [1, { x: null }] } }, "zzz-unknown"];

/** Bodies to send to an operation whose body schema is `schema` (resolved). */
function bodies(schema) {
  const props = Object.keys(schema?.properties ?? {});
  const out = ["[]", "\"text\"", "123", "null", "{}", "{\"unexpected_field\": 1}", deep(2000), `{"a": ${deep(500)}}`, "{\"a\": \"\\ud800\"}", "{\"title\": \"x\", \"title\": 5}"];
  for (const p of props) {
    for (const v of VALUES) out.push(JSON.stringify({ [p]: v }));
    out.push(JSON.stringify(Object.fromEntries(props.map((q) => [q, q === p ? "zzz-unknown" : 1]))));
  }
  return out;
}

function resolve(doc, schema) {
  const ref = schema?.$ref;
  return ref ? doc.components.schemas[ref.split("/").pop()] : schema;
}

async function call(method, path, { body, raw, token }) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await w.mf.dispatchFetch(`http://localhost${path}`, { method, headers, body: raw ?? body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", text };
}

function judge(failures, label, res) {
  if (res.status >= 500) failures.push(`${label}: ${res.status} ${res.text.slice(0, 160)}`);
  else if (res.status >= 400) {
    let body;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = null;
    }
    if (!res.type.includes("application/json") || !/^E\d{3}$/.test(body?.error?.id ?? "")) failures.push(`${label}: ${res.status} without the envelope: ${res.text.slice(0, 120)}`);
  }
}

test("no body or query, however malformed, gets a 5xx or an answer outside the envelope", async () => {
  const docs = [
    { doc: (await api.get("/openapi.json")).body, token: owner.access },
    { doc: (await api.get("/v1/admin/openapi.json", admin.access)).body, token: admin.access },
  ];
  const failures = [];
  let calls = 0;
  for (const { doc, token } of docs) {
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) {
        const method = m.toUpperCase();
        // Never end the sessions the battery runs on.
        if (template === "/v1/auth/logout_all") continue;
        const path = concrete(template);
        const schema = resolve(doc, op.requestBody?.content?.["application/json"]?.schema);
        if (schema) {
          for (const body of bodies(schema)) {
            judge(failures, `${method} ${template} ${body.slice(0, 60)}`, await call(method, path, { body, token }));
            calls++;
          }
          const invalidUtf8 = Buffer.concat([Buffer.from("{\"title\": \""), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from("\"}")]);
          judge(failures, `${method} ${template} invalid UTF-8`, await call(method, path, { raw: invalidUtf8, token }));
          calls++;
        }
        const query = (op.parameters ?? []).filter((p) => p.in === "query");
        if (query.length) {
          for (const p of query) {
            for (const v of ["", "-1", "0", "99999999999999999999", "1.5", "true", "%00", "%FF%FE", "x".repeat(8000), "zzz-unknown"]) {
              const q = `${p.name}=${v}`;
              judge(failures, `${method} ${template}?${q.slice(0, 60)}`, await call(method, `${path}?${q}`, { token }));
              calls++;
            }
            judge(failures, `${method} ${template} repeated ${p.name}`, await call(method, `${path}?${p.name}=1&${p.name}=2`, { token }));
          }
          judge(failures, `${method} ${template} unknown parameter`, await call(method, `${path}?no_such_parameter=1`, { token }));
          calls += query.length + 1;
        }
      }
    }
  }
  assert.ok(calls > 1000, `only ${calls} calls`);
  assert.deepEqual(failures, []);
  assert.equal((await api.get("/v1/me", owner.access)).status, 200, "the Worker still serves");
});
