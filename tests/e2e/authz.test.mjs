// The authorization matrix (issue 12's standing suite): every route of the route table — read
// from the served OpenAPI documents (public, and the admin one), which a native test keeps equal
// to the table — tried by every kind of caller, with the expected status of each cell written
// below as data. A route without a row, or a row without a route, fails the test.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { devVars, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";
import { library, zip } from "./zip.mjs";

const WHO = ["owner", "editor", "viewer", "other", "anonymous", "link", "admin", "disabled", "expired", "revoked"];

// Expected statuses, one per caller in WHO's order.
const OPEN = (s) => Array(10).fill(s); // no credential needed: everyone gets the same
const SELF = (s) => [s, s, s, s, 401, 401, s, 401, 401, 401]; // any signed-in user, on their own data
const OWNED = (s) => [s, 404, 404, 404, 401, 401, 404, 401, 401, 401]; // the owner's score or preset
const ADMIN = (s) => [404, 404, 404, 404, 404, 404, s, 404, 404, 404]; // admins; others see no route
const SETLIST = (read, edit = read) => ({
  read: [read, read, read, 404, 401, 401, 404, 401, 401, 401],
  edit: [edit, edit, 403, 404, 401, 401, 404, 401, 401, 401],
  own: [edit, 403, 403, 404, 401, 401, 404, 401, 401, 401],
});
const LINK = (s) => [404, 404, 404, 404, 404, s, 404, 404, 404, 404]; // the link's holder only

let w, api, ctx;
let layers = 0;
/** A fresh annotation layer name. */
const layer = () => `layer-${++layers}`;

/**
 * One row per route: `expect` (statuses in WHO's order) and `request(who)` building the call.
 * Destructive calls make their own throwaway target, so every cell starts from the same state.
 */
const MATRIX = {
  "GET /health": { expect: OPEN(200), request: () => ({}) },
  "GET /openapi.json": { expect: OPEN(200), request: () => ({}) },
  "GET /docs": { expect: OPEN(200), request: () => ({}) },
  "GET /docs/{file}": { expect: OPEN(200), request: () => ({ path: "/docs/init.js" }) },
  "POST /v1/auth/register": { expect: OPEN(201), request: () => ({ body: { email: fresh("reg"), password: "Str0ng-pass-word", display_name: "N" } }) },
  "POST /v1/auth/login": { expect: OPEN(200), request: () => ({ body: { email: ctx.spare.user.email, password: ctx.spare.password } }) },
  "POST /v1/auth/refresh": { expect: OPEN(200), request: async () => ({ body: { refresh: (await api.signup(fresh("rf"))).refresh } }) },
  "POST /v1/auth/logout": { expect: SELF(204), request: async (who) => {
    const s = await standIn(who);
    return { body: { refresh: s?.refresh ?? ctx.owner.refresh }, token: s?.access ?? ctx.tokens[who] };
  } },
  "POST /v1/auth/logout_all": { expect: SELF(204), request: async (who) => ({ token: (await standIn(who))?.access ?? ctx.tokens[who] }) },
  "GET /v1/me": { expect: SELF(200), request: () => ({}) },
  "PATCH /v1/me": { expect: SELF(200), request: () => ({ body: { display_name: "Renamed" } }) },
  "POST /v1/me/password": { expect: SELF(204), request: async (who) => {
    const s = await standIn(who);
    return { body: { current_password: s?.password ?? "Str0ng-pass-word", new_password: "N3w-pass-word!" }, token: s?.access ?? ctx.tokens[who] };
  } },
  "GET /v1/me/usage": { expect: SELF(200), request: () => ({}) },
  "GET /v1/me/stats": { expect: SELF(200), request: () => ({}) },
  "POST /v1/uploads": { expect: SELF(201), request: () => { const b = makePdf(); return { body: { filename: "a.pdf", size: b.length, mime: "application/pdf", sha256: sha256(b) } }; } },
  "PUT /v1/blobs/{token}": { expect: OPEN(200), request: async () => {
    const b = makePdf();
    const up = (await api.post("/v1/uploads", { filename: "a.pdf", size: b.length, mime: "application/pdf", sha256: sha256(b) }, ctx.spare.access)).body;
    return { path: new URL(up.url).pathname, raw: b, headers: up.headers };
  } },
  "GET /v1/blobs/{token}": { expect: OPEN(200), request: async () => ({ path: new URL((await api.get(`/v1/scores/${ctx.score.id}/download-url`, ctx.owner.access)).body.url).pathname }) },
  "POST /v1/scores": { expect: SELF(201), request: async (who) => ({ body: { upload_id: await uploaded(who), title: "T" } }) },
  "GET /v1/scores": { expect: SELF(200), request: () => ({}) },
  "GET /v1/scores/{id}": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}` }) },
  "PATCH /v1/scores/{id}": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}`, body: { notes: "n" } }) },
  "DELETE /v1/scores/{id}": { expect: OWNED(204), request: async () => ({ path: `/v1/scores/${(await api.uploadScore(ctx.owner.access, makePdf())).id}` }) },
  "GET /v1/trash": { expect: SELF(200), request: () => ({}) },
  "DELETE /v1/trash": { expect: SELF(200), request: () => ({}) },
  "POST /v1/trash/{id}/restore": { expect: OWNED(200), request: async () => ({ path: `/v1/trash/${await trashed()}/restore` }) },
  "DELETE /v1/trash/{id}": { expect: OWNED(204), request: async () => ({ path: `/v1/trash/${await trashed()}` }) },
  "GET /v1/scores/{id}/download-url": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/download-url` }) },
  "PUT /v1/scores/{id}/favorite": { expect: OWNED(204), request: () => ({ path: `/v1/scores/${ctx.score.id}/favorite` }) },
  "DELETE /v1/scores/{id}/favorite": { expect: OWNED(204), request: () => ({ path: `/v1/scores/${ctx.score.id}/favorite` }) },
  "GET /v1/favorites": { expect: SELF(200), request: () => ({}) },
  "POST /v1/scores/{id}/opened": { expect: OWNED(204), request: () => ({ path: `/v1/scores/${ctx.score.id}/opened` }) },
  "GET /v1/history": { expect: SELF(200), request: () => ({}) },
  "GET /v1/scores/{id}/versions": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/versions` }) },
  "GET /v1/scores/{id}/versions/compare": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/versions/compare?from=0&to=1` }) },
  "GET /v1/scores/{id}/annotations": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/annotations` }) },
  "PUT /v1/scores/{id}/annotations/{layer}": { expect: OWNED(201), request: () => ({ path: `/v1/scores/${ctx.score.id}/annotations/${layer()}`, body: { data: { 1: [] } } }) },
  "DELETE /v1/scores/{id}/annotations/{layer}": { expect: OWNED(204), request: async () => {
    const name = layer();
    assert.equal((await api.put(`/v1/scores/${ctx.score.id}/annotations/${name}`, { data: {} }, ctx.owner.access)).status, 201);
    return { path: `/v1/scores/${ctx.score.id}/annotations/${name}` };
  } },
  "GET /v1/scores/{id}/settings": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/settings` }) },
  "PUT /v1/scores/{id}/settings": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/settings`, body: { bpm: 100 } }) },
  "GET /v1/setlists/{id}/items/{item_id}/annotations": { expect: SETLIST(200).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/annotations` }) },
  "PUT /v1/setlists/{id}/items/{item_id}/annotations/{layer}": { expect: SETLIST(201).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/annotations/${layer()}`, body: { data: {} } }) },
  // Each caller deletes a layer of their own where they can keep one.
  "DELETE /v1/setlists/{id}/items/{item_id}/annotations/{layer}": { expect: SETLIST(204).read, request: async (who) => {
    const author = ["editor", "viewer"].includes(who) ? ctx[who] : ctx.owner;
    const name = layer();
    assert.equal((await api.put(`/v1/setlists/${ctx.setlist}/items/${ctx.item}/annotations/${name}`, { data: {} }, author.access)).status, 201);
    return { path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/annotations/${name}` };
  } },
  "GET /v1/setlists/{id}/items/{item_id}/settings": { expect: SETLIST(200).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/settings` }) },
  "PUT /v1/setlists/{id}/items/{item_id}/settings": { expect: SETLIST(200).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/settings`, body: { half_page_turn: true } }) },
  "POST /v1/scores/{id}/parts": { expect: OWNED(201), request: () => ({ path: `/v1/scores/${ctx.score.id}/parts`, body: { name: fresh("part"), pages: { first: 1, last: 1 } } }) },
  "GET /v1/scores/{id}/parts": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/parts` }) },
  "PATCH /v1/scores/{id}/parts/{part_id}": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/parts/${ctx.part}`, body: { name: fresh("renamed") } }) },
  "DELETE /v1/scores/{id}/parts/{part_id}": { expect: OWNED(204), request: async () => ({ path: `/v1/scores/${ctx.score.id}/parts/${(await api.post(`/v1/scores/${ctx.score.id}/parts`, { name: fresh("gone"), pages: { first: 1, last: 2 } }, ctx.owner.access)).body.part.id}` }) },
  "GET /v1/scores/{id}/parts/{part_id}/download-url": { expect: OWNED(200), request: () => ({ path: `/v1/scores/${ctx.score.id}/parts/${ctx.part}/download-url` }) },
  "POST /v1/scores/{id}/bookmarks": { expect: OWNED(201), request: () => ({ path: `/v1/scores/${ctx.score.id}/bookmarks`, body: { title: "Intro", first_page: 1, last_page: 2 } }) },
  "POST /v1/scores/{id}/bookmarks/import": { expect: OWNED(201), request: () => ({ path: `/v1/scores/${ctx.score.id}/bookmarks/import`, body: { csv: "title,first,last\nA,1,1\n\"B, too\",2,2\n" } }) },
  "GET /v1/bookmarks": { expect: SELF(200), request: () => ({ path: "/v1/bookmarks?query=intro" }) },
  "GET /v1/bookmarks/{id}": { expect: OWNED(200), request: () => ({ path: `/v1/bookmarks/${ctx.bookmark}` }) },
  "PATCH /v1/bookmarks/{id}": { expect: OWNED(200), request: () => ({ path: `/v1/bookmarks/${ctx.bookmark}`, body: { composer: "Anon" } }) },
  "DELETE /v1/bookmarks/{id}": { expect: OWNED(204), request: async () => ({ path: `/v1/bookmarks/${(await api.post(`/v1/scores/${ctx.score.id}/bookmarks`, { title: "Gone", first_page: 1, last_page: 1 }, ctx.owner.access)).body.bookmark.id}` }) },
  "GET /v1/bookmarks/{id}/download-url": { expect: OWNED(200), request: () => ({ path: `/v1/bookmarks/${ctx.bookmark}/download-url` }) },
  "GET /v1/presets": { expect: SELF(200), request: () => ({}) },
  "POST /v1/presets": { expect: SELF(201), request: () => ({ body: { kind: "genre", name: fresh("genre") } }) },
  "DELETE /v1/presets/{id}": { expect: OWNED(204), request: async () => ({ path: `/v1/presets/${(await api.post("/v1/presets", { kind: "genre", name: fresh("g") }, ctx.owner.access)).body.preset.id}` }) },
  "GET /v1/setlists": { expect: SELF(200), request: () => ({}) },
  "POST /v1/setlists": { expect: SELF(201), request: () => ({ body: { name: "New" } }) },
  "GET /v1/setlists/{id}": { expect: SETLIST(200).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}` }) },
  "PATCH /v1/setlists/{id}": { expect: SETLIST(200).own, request: () => ({ path: `/v1/setlists/${ctx.setlist}`, body: { notes: "n" } }) },
  "DELETE /v1/setlists/{id}": { expect: SETLIST(204).own, request: async () => ({ path: `/v1/setlists/${(await band()).id}` }) },
  "POST /v1/setlists/{id}/items": { expect: SETLIST(201).edit, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items`, body: { score_id: ctx.score.id } }) },
  "PATCH /v1/setlists/{id}/items/{item_id}": { expect: SETLIST(200).edit, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}`, body: { notes: "capo 2" } }) },
  "DELETE /v1/setlists/{id}/items/{item_id}": { expect: SETLIST(204).edit, request: async () => {
    const b = await band();
    return { path: `/v1/setlists/${b.id}/items/${b.item}` };
  } },
  "POST /v1/setlists/{id}/book": { expect: SETLIST(202).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/book` }) },
  // The full scores' book (nobody in the matrix plays a part), asked for by the owner first.
  "GET /v1/setlists/{id}/book": { expect: SETLIST(200).read, request: async () => {
    assert.equal((await api.post(`/v1/setlists/${ctx.setlist}/book`, undefined, ctx.owner.access)).status, 202);
    return { path: `/v1/setlists/${ctx.setlist}/book` };
  } },
  // Each caller asks for an export of their own library (a second ask answers the pending one).
  "POST /v1/exports": { expect: SELF(202), request: () => ({}) },
  "GET /v1/exports": { expect: SELF(200), request: () => ({}) },
  // The owner's export, asked for by the owner.
  "GET /v1/exports/{id}": { expect: OWNED(200), request: async () => {
    ctx.export ??= (await api.post("/v1/exports", undefined, ctx.owner.access)).body.export.id;
    return { path: `/v1/exports/${ctx.export}` };
  } },
  // Each caller's own archive (an empty library), a dry run: over at once, so the next cell of
  // the same caller is not refused as a second import running.
  "POST /v1/imports": { expect: SELF(202), request: async (who) => ({ body: { upload_id: await archive(who), dry_run: true } }) },
  "GET /v1/imports/{id}": { expect: OWNED(200), request: () => ({ path: `/v1/imports/${ctx.import}` }) },
  "GET /v1/setlists/{id}/items/{item_id}/download-url": { expect: SETLIST(200).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/download-url` }) },
  "GET /v1/setlists/{id}/items/{item_id}/comments": { expect: SETLIST(200).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/comments` }) },
  "POST /v1/setlists/{id}/items/{item_id}/comments": { expect: SETLIST(201).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/comments`, body: { body: "nice" } }) },
  // Each caller deletes a comment of their own where they can write one (the owner may delete any).
  "DELETE /v1/setlists/{id}/items/{item_id}/comments/{comment_id}": { expect: SETLIST(204).read, request: async (who) => {
    const author = ["editor", "viewer"].includes(who) ? ctx[who] : ctx.owner;
    const c = (await api.post(`/v1/setlists/${ctx.setlist}/items/${ctx.item}/comments`, { body: "x" }, author.access)).body.comment;
    return { path: `/v1/setlists/${ctx.setlist}/items/${ctx.item}/comments/${c.id}` };
  } },
  "POST /v1/setlists/{id}/members": { expect: SETLIST(201).own, request: async () => ({ path: `/v1/setlists/${ctx.setlist}/members`, body: { email: (await api.signup(fresh("m"))).user.email, role: "viewer" } }) },
  // Removing another member: the owner only (a member leaving is tested in setlists.test.mjs).
  "DELETE /v1/setlists/{id}/members/{user_id}": { expect: SETLIST(204).own, request: async () => {
    const b = await band();
    return { path: `/v1/setlists/${b.id}/members/${b.spare}` };
  } },
  // Another member's part or role: the owner only (a member choosing their own part is tested in
  // parts.test.mjs).
  "PATCH /v1/setlists/{id}/members/{user_id}": { expect: SETLIST(200).own, request: () => ({ path: `/v1/setlists/${ctx.setlist}/members/${ctx.member}`, body: { part: "Tuba" } }) },
  "POST /v1/setlists/{id}/links": { expect: SETLIST(201).own, request: () => ({ path: `/v1/setlists/${ctx.setlist}/links`, body: {} }) },
  "GET /v1/setlists/{id}/links": { expect: SETLIST(200).own, request: () => ({ path: `/v1/setlists/${ctx.setlist}/links` }) },
  "DELETE /v1/setlists/{id}/links/{link_id}": { expect: SETLIST(204).own, request: async () => {
    const b = await band();
    return { path: `/v1/setlists/${b.id}/links/${b.link.id}` };
  } },
  "GET /v1/shared/{token}": { expect: LINK(200), request: (who) => ({ path: `/v1/shared/${who === "link" ? ctx.link.token : ctx.revokedLink}` }) },
  "GET /v1/shared/{token}/items/{item_id}/download-url": { expect: LINK(200), request: (who) => ({ path: `/v1/shared/${who === "link" ? ctx.link.token : ctx.revokedLink}/items/${ctx.item}/download-url` }) },
  "POST /v1/setlists/{id}/live/ticket": { expect: SETLIST(201).read, request: () => ({ path: `/v1/setlists/${ctx.setlist}/live/ticket` }) },
  "POST /v1/shared/{token}/live/ticket": { expect: LINK(201), request: (who) => ({ path: `/v1/shared/${who === "link" ? ctx.link.token : ctx.revokedLink}/live/ticket` }) },
  // A valid ticket on a plain GET: 426 for anyone holding it (the ticket is the credential).
  "GET /v1/live/{ticket}": { expect: OPEN(426), request: async () => {
    const t = (await api.post(`/v1/setlists/${ctx.setlist}/live/ticket`, undefined, ctx.owner.access)).body;
    return { path: new URL(t.url).pathname };
  } },
  "GET /v1/admin/users": { expect: ADMIN(200), request: () => ({}) },
  "PATCH /v1/admin/users/{id}": { expect: ADMIN(200), request: async () => ({ path: `/v1/admin/users/${(await api.signup(fresh("adm"))).user.id}`, body: { quota_bytes: 12345 } }) },
  "GET /v1/admin/stats": { expect: ADMIN(200), request: () => ({}) },
  "GET /v1/admin/live/{id}": { expect: ADMIN(200), request: async () => {
    assert.equal((await api.post(`/v1/setlists/${ctx.setlist}/live/ticket`, undefined, ctx.owner.access)).status, 201);
    return { path: `/v1/admin/live/${ctx.setlist}` };
  } },
  "GET /v1/admin/tasks": { expect: ADMIN(200), request: () => ({}) },
  "POST /v1/admin/tasks/{id}/retry": { expect: ADMIN(202), request: async () => {
    const s = await api.uploadScore(ctx.owner.access, makePdf());
    await (await w.db()).prepare("update scores set thumbnail_state = 'failed', thumbnail_reason = 'x' where id = ?").bind(s.id).run();
    return { path: `/v1/admin/tasks/thumbnail:${s.id}/retry` };
  } },
  "GET /v1/admin/openapi.json": { expect: ADMIN(200), request: () => ({}) },
};

let counter = 0;
const fresh = (prefix) => `${prefix}-${++counter}-${Date.now()}@matrix.example`;
const sha256 = (b) => createHash("sha256").update(b).digest("hex");

const SIGNED_IN = ["owner", "editor", "viewer", "other", "admin"];

/**
 * For calls that end sessions or change the password, a signed-in caller is played by a fresh
 * account of the same standing (their own sessions must survive for the next cells); callers
 * without a valid session get `null` and use their usual (invalid) token.
 */
async function standIn(who) {
  if (!SIGNED_IN.includes(who)) return null;
  const s = await api.signup(fresh(who));
  if (who === "admin") await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(s.user.id).run();
  return s;
}

/** A score of the owner's, freshly moved to the trash: its id. */
async function trashed() {
  const id = (await api.uploadScore(ctx.owner.access, makePdf())).id;
  assert.equal((await api.raw("DELETE", `/v1/scores/${id}`, { token: ctx.owner.access })).status, 204);
  return id;
}

/** An upload of `who`'s (stored), for creating a score. */
async function uploaded(who) {
  const s = SIGNED_IN.includes(who) ? ctx[who] : ctx.owner;
  const b = makePdf();
  const up = (await api.post("/v1/uploads", { filename: "a.pdf", size: b.length, mime: "application/pdf", sha256: sha256(b) }, s.access)).body;
  await w.mf.dispatchFetch(up.url, { method: "PUT", headers: up.headers, body: b });
  return up.upload_id;
}

/** An archive upload of `who`'s (stored), for an import. */
async function archive(who) {
  const s = SIGNED_IN.includes(who) ? ctx[who] : ctx.owner;
  const b = zip(library({ scores: [] }).entries());
  const up = (await api.post("/v1/uploads", { filename: "a.zip", size: b.length, mime: "application/zip", sha256: sha256(b) }, s.access)).body;
  await w.mf.dispatchFetch(up.url, { method: "PUT", headers: up.headers, body: b });
  // The caller's earlier import (a cell of another row) has ended: one runs at a time.
  await eventually(async () => (await (await w.db()).prepare("select count(*) as n from imports where user_id = ? and state in ('pending', 'running')").bind(s.user.id).first()).n === 0);
  return up.upload_id;
}

/** A setlist of the owner with the editor and viewer as members, one item and one link. */
async function band() {
  const id = (await api.post("/v1/setlists", { name: "Band" }, ctx.owner.access)).body.setlist.id;
  const spare = await api.signup(fresh("member"));
  for (const [s, role] of [[ctx.editor, "editor"], [ctx.viewer, "viewer"], [spare, "viewer"]]) {
    await api.post(`/v1/setlists/${id}/members`, { email: s.user.email, role }, ctx.owner.access);
  }
  const set = (await api.post(`/v1/setlists/${id}/items`, { score_id: ctx.score.id }, ctx.owner.access)).body.setlist;
  const link = (await api.post(`/v1/setlists/${id}/links`, {}, ctx.owner.access)).body.link;
  return { id, item: set.items[0].id, link, spare: spare.user.id };
}

function expired(token) {
  const [head, body] = token.split(".");
  const claims = JSON.parse(Buffer.from(body, "base64url"));
  claims.iat -= 7200;
  claims.exp = claims.iat + 900;
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  const sig = createHmac("sha256", devVars().JWT_SECRET).update(`${head}.${payload}`).digest("base64url");
  return `${head}.${payload}.${sig}`;
}

before(async () => {
  w = await startWorker({ ratelimits: { USER_LIMITER: { simple: { limit: 100000, period: 60 } } }, vars: { RATE_UPLOAD_URLS: "off" } });
  api = w.api;
  ctx = {};
  for (const who of ["owner", "editor", "viewer", "other", "admin", "spare", "disabled", "expired", "revoked"]) {
    ctx[who] = await api.signup(`${who}@matrix.example`);
  }
  const db = await w.db();
  await db.prepare("update users set role = 'admin' where id = ?").bind(ctx.admin.user.id).run();
  ctx.score = await api.settled((await api.uploadScore(ctx.owner.access, makePdf({ pages: 2 }))).id, ctx.owner.access);
  await api.patch(`/v1/scores/${ctx.score.id}`, { title: "Edited" }, ctx.owner.access);
  ctx.bookmark = (await api.post(`/v1/scores/${ctx.score.id}/bookmarks`, { title: "Verse", first_page: 1, last_page: 2 }, ctx.owner.access)).body.bookmark.id;
  const b = await band();
  ctx.setlist = b.id;
  ctx.item = b.item;
  ctx.link = b.link;
  ctx.member = b.spare;
  ctx.part = (await api.post(`/v1/scores/${ctx.score.id}/parts`, { name: "Horn", pages: { first: 1, last: 2 } }, ctx.owner.access)).body.part.id;
  const asked = (await api.post("/v1/imports", { upload_id: await archive("owner"), dry_run: true }, ctx.owner.access)).body.import;
  ctx.import = asked.id;
  const revoked = (await api.post(`/v1/setlists/${b.id}/links`, {}, ctx.owner.access)).body.link;
  await api.raw("DELETE", `/v1/setlists/${b.id}/links/${revoked.id}`, { token: ctx.owner.access });
  ctx.revokedLink = revoked.token;
  // A disabled account's token, an expired token and the token of a session that is gone.
  await db.prepare("update users set disabled_at = ? where id = ?").bind(new Date().toISOString(), ctx.disabled.user.id).run();
  await api.post("/v1/auth/logout_all", undefined, ctx.revoked.access);
  await db.prepare("delete from sessions where user_id = ?").bind(ctx.revoked.user.id).run();
  ctx.tokens = {
    owner: ctx.owner.access, editor: ctx.editor.access, viewer: ctx.viewer.access, other: ctx.other.access,
    anonymous: null, link: null, admin: ctx.admin.access, disabled: ctx.disabled.access,
    expired: expired(ctx.expired.access), revoked: ctx.revoked.access,
  };
});
after(() => w.close());

test("every route has a row, and every row a route", async () => {
  const pub = (await api.get("/openapi.json")).body;
  const adm = (await api.get("/v1/admin/openapi.json", ctx.admin.access)).body;
  const routes = [pub, adm].flatMap((d) => Object.entries(d.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`)));
  assert.deepEqual(routes.filter((r) => !MATRIX[r]), [], "routes without a row in the matrix");
  assert.deepEqual(Object.keys(MATRIX).filter((r) => !routes.includes(r)), [], "rows without a route");
});

test("every cell answers its expected status, errors in the envelope", async () => {
  const wrong = [];
  for (const [route, row] of Object.entries(MATRIX)) {
    const [method, template] = route.split(" ");
    assert.equal(row.expect.length, WHO.length, route);
    for (const [i, who] of WHO.entries()) {
      const built = await row.request(who);
      const token = "token" in built ? built.token : ctx.tokens[who];
      const path = built.path ?? template;
      let res;
      if (built.raw) {
        const r = await w.mf.dispatchFetch(`http://localhost${path}`, { method, headers: built.headers, body: built.raw });
        res = { status: r.status, body: await r.text() };
      } else if (method === "GET" && path.startsWith("/v1/blobs/")) {
        const r = await w.mf.dispatchFetch(`http://localhost${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
        res = { status: r.status, body: await r.arrayBuffer() };
      } else {
        res = await api.json(method, path, built.body, token ?? undefined);
      }
      if (res.status !== row.expect[i]) wrong.push(`${route} as ${who}: ${res.status} (expected ${row.expect[i]}) ${typeof res.body === "object" ? JSON.stringify(res.body).slice(0, 120) : ""}`);
      else if (res.status >= 400) {
        if (typeof res.body !== "object" || !/^E\d{3}$/.test(res.body?.error?.id ?? "")) wrong.push(`${route} as ${who}: ${res.status} without the envelope`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});
