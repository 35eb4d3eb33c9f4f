// D1 read replicas through the built Worker (README "Read replicas"): every request runs in one
// D1 session; a write's answer carries `x-d1-bookmark`, a read sent with it sees the write, every
// answer to a read carries one too, a malformed one is ignored (the read goes to the primary,
// never a 400 or a 500), and browsers may send and read the header. Locally there is one copy
// of the database, so this proves the plumbing; `api::replicas` tests the decisions natively.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

const HEADER = "x-d1-bookmark";
/** A bookmark as D1 writes them (lower-case hex groups joined by dashes). */
const BOOKMARK = /^[0-9a-f]+(-[0-9a-f]+)*$/;

let w, api, ann;
before(async () => {
  w = await startWorker();
  api = w.api;
  ann = await api.signup("sessions-ann@example.com");
});
after(() => w?.close());

const bookmarkOf = (res) => {
  const b = res.headers.get(HEADER);
  assert.match(b ?? "", BOOKMARK, `${res.status} answered bookmark ${b}`);
  return b;
};

/** `GET path` as `who`, sending `bookmark`. */
const read = (path, who, bookmark) =>
  api.raw("GET", path, { token: who?.access, headers: bookmark === undefined ? {} : { [HEADER]: bookmark } });

test("a write answers a bookmark, and a read sent with it sees the write and answers a later one", async () => {
  const renamed = await api.patch("/v1/me", { display_name: "Ann Replica" }, ann.access);
  assert.equal(renamed.status, 200);
  const written = bookmarkOf(renamed);
  const me = await read("/v1/me", ann, written);
  assert.equal(me.status, 200);
  assert.equal(me.body.user.display_name, "Ann Replica");
  assert.ok(bookmarkOf(me) >= written, "a session's bookmark never goes back");

  const created = await api.post("/v1/setlists", { name: "Replica gig" }, ann.access);
  assert.equal(created.status, 201);
  const after = bookmarkOf(created);
  assert.ok(after > written, "a later write, a later bookmark");
  const list = await read("/v1/setlists", ann, after);
  assert.equal(list.status, 200);
  assert.ok(list.body.setlists.some((s) => s.id === created.body.setlist.id), JSON.stringify(list.body));
  bookmarkOf(list);
});

test("every answer to a read carries a bookmark, errors and public routes included", async () => {
  for (const [path, who, status] of [
    ["/v1/scores", ann, 200],
    ["/v1/scores?query=nothing", ann, 200],
    ["/v1/me/usage", ann, 200],
    ["/health", undefined, 200],
    ["/v1/scores/sco_nope", ann, 404],
  ]) {
    const res = await read(path, who);
    assert.equal(res.status, status, `${path}: ${JSON.stringify(res.body)}`);
    bookmarkOf(res);
  }
  // A GET that writes (a download URL may ask for a render) starts on the primary: a bookmark too.
  const bytes = makePdf({ title: "Replica", pages: 1 });
  const score = await api.uploadScore(ann.access, bytes, { title: "Replica" });
  const url = await read(`/v1/scores/${score.id}/download-url`, ann);
  assert.equal(url.status, 200, JSON.stringify(url.body));
  bookmarkOf(url);
  const listed = await read("/v1/scores", ann, bookmarkOf(url));
  assert.ok(listed.body.scores.some((s) => s.id === score.id));
});

test("a malformed bookmark is ignored: the read is answered from the primary, never 400 or 500", async () => {
  const renamed = await api.patch("/v1/me", { display_name: "Ann Primary" }, ann.access);
  const written = bookmarkOf(renamed);
  for (const bad of ["first-unconstrained", "first-primary", "not a bookmark", "ZZ-00", "00--00", "a".repeat(129), `${written};x`]) {
    const me = await read("/v1/me", ann, bad);
    assert.equal(me.status, 200, `${bad}: ${JSON.stringify(me.body)}`);
    assert.equal(me.body.user.display_name, "Ann Primary", bad);
    const answered = bookmarkOf(me);
    assert.notEqual(answered, bad);
    assert.ok(answered >= written, `${bad}: ${answered} < ${written}`);
  }
  const list = await read("/v1/scores", ann, "garbage!");
  assert.equal(list.status, 200);
  bookmarkOf(list);
  // An empty header is no bookmark (clients that store `getBookmark() ?? ""` send one).
  const empty = await read("/v1/me", ann, "");
  assert.equal(empty.status, 200);
  bookmarkOf(empty);
});

test("a request that reaches no database echoes the client's bookmark, and none when it sent none", async () => {
  const b = bookmarkOf(await read("/v1/me", ann));
  assert.equal((await read("/openapi.json", undefined, b)).headers.get(HEADER), b);
  assert.equal((await read("/openapi.json")).headers.get(HEADER), null);
  assert.equal((await read("/openapi.json", undefined, "junk!")).headers.get(HEADER), null);
});

test("a revoked session is 401 with or without a bookmark (confirmed on the primary)", async () => {
  const bob = await api.signup("sessions-bob@example.com");
  const out = await api.post("/v1/auth/logout", { refresh: bob.refresh }, bob.access);
  assert.equal(out.status, 204, JSON.stringify(out.body));
  const b = bookmarkOf(out);
  for (const path of ["/v1/me", "/v1/scores"]) {
    for (const bookmark of [undefined, b]) {
      const res = await read(path, bob, bookmark);
      assertEnvelope(assert, res, 401, "INVALID_TOKEN");
      bookmarkOf(res);
    }
  }
});

test("browsers may send the header and read it", async () => {
  const origin = "http://localhost:3000";
  const pre = await api.raw("OPTIONS", "/v1/scores", {
    headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": `authorization, ${HEADER}` },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), origin);
  assert.match(pre.headers.get("access-control-allow-headers"), new RegExp(HEADER));
  const res = await api.raw("GET", "/v1/scores", { token: ann.access, headers: { origin } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("access-control-expose-headers"), new RegExp(HEADER));
  bookmarkOf(res);
});

test("the OpenAPI document describes the header on requests and answers", async () => {
  const doc = (await api.get("/openapi.json")).body;
  assert.equal(doc.components.parameters.Bookmark.name, HEADER);
  assert.equal(doc.components.parameters.Bookmark.in, "header");
  const list = doc.paths["/v1/scores"].get;
  assert.ok(list.parameters.some((p) => p.$ref === "#/components/parameters/Bookmark"));
  assert.equal(list.responses["200"].headers[HEADER].$ref, "#/components/headers/Bookmark");
});
