// Parts and who plays what (SPEC §10) through the built Worker: a band of three, each assigned a
// different part of one score — two uploaded as PDFs of their own (through the upload flow,
// counted in the quota and processed), one a page range of the score — downloads three different
// PDFs for the same setlist item. Deleting the score deletes its parts and their files, with the
// quota exact. Every answer is held to the OpenAPI document by the harness.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { assertEnvelope, eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner;
before(async () => {
  w = await startWorker();
  api = w.api;
  owner = await api.signup("bandleader@example.com");
});
after(async () => {
  await w.close();
});

const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Reserves and PUTs `bytes`: the upload id. */
async function upload(token, bytes) {
  const up = await api.post("/v1/uploads", { filename: "part.pdf", size: bytes.length, mime: "application/pdf", sha256: sha(bytes) }, token);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const put = await w.mf.dispatchFetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
  assert.equal(put.status, 200);
  return up.body.upload_id;
}

async function fetched(url) {
  const res = await w.mf.dispatchFetch(url);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** The part once its processing is no longer pending. */
function settledPart(scoreId, partId, token) {
  return eventually(async () => {
    const res = await api.get(`/v1/scores/${scoreId}/parts`, token);
    const part = res.body.parts.find((p) => p.id === partId);
    const p = part.processing;
    return p.pdf_info.state !== "pending" && p.thumbnail.state !== "pending" ? part : null;
  });
}

test("a band of three with parts assigned downloads three different PDFs for the same item", async () => {
  const t = owner.access;
  const score = await api.settled((await api.uploadScore(t, makePdf({ pages: 6, title: "Big Band Chart" }))).id, t);
  assert.equal(score.pages, 6);
  const before = (await api.get("/v1/me/usage", t)).body;

  const trumpetPdf = makePdf({ pages: 2, title: "Trumpet 1 part" });
  const saxPdf = makePdf({ pages: 3, title: "Alto Sax part" });
  const trumpet = await api.post(`/v1/scores/${score.id}/parts`, { name: "Trumpet 1", upload_id: await upload(t, trumpetPdf) }, t);
  assert.equal(trumpet.status, 201, JSON.stringify(trumpet.body));
  assert.equal(trumpet.body.part.source, "upload");
  assert.equal(trumpet.body.part.pages, null);
  const sax = await api.post(`/v1/scores/${score.id}/parts`, { name: "Alto Sax", upload_id: await upload(t, saxPdf) }, t);
  assert.equal(sax.status, 201, JSON.stringify(sax.body));
  const bass = await api.post(`/v1/scores/${score.id}/parts`, { name: "Bass", pages: { first: 5, last: 6 } }, t);
  assert.equal(bass.status, 201, JSON.stringify(bass.body));
  assert.deepEqual(bass.body.part.pages, { first: 5, last: 6 });
  assert.equal(bass.body.part.page_count, 2);

  // Refusals: a name taken in any case, a range past the score, an upload already consumed.
  assertEnvelope(assert, await api.post(`/v1/scores/${score.id}/parts`, { name: "BASS", pages: { first: 1, last: 1 } }, t), 409, "PART_EXISTS");
  assertEnvelope(assert, await api.post(`/v1/scores/${score.id}/parts`, { name: "Drums", pages: { first: 6, last: 7 } }, t), 422, "VALIDATION_FAILED");

  // Uploaded parts are counted in the quota and processed like scores.
  const after = (await api.get("/v1/me/usage", t)).body;
  assert.equal(after.used_bytes, before.used_bytes + trumpetPdf.length + saxPdf.length);
  assert.equal(after.reserved_bytes, 0);
  const processed = await settledPart(score.id, trumpet.body.part.id, t);
  assert.equal(processed.page_count, 2);
  assert.equal(processed.processing.pdf_info.state, "ok");
  assert.equal(processed.processing.thumbnail.state, "ok");
  assert.equal(typeof processed.thumbnail_url, "string");
  await settledPart(score.id, sax.body.part.id, t);

  // A setlist with the score and three members, each playing a different part.
  const setlist = (await api.post("/v1/setlists", { name: "Friday gig" }, t)).body.setlist;
  const added = await api.post(`/v1/setlists/${setlist.id}/items`, { score_id: score.id }, t);
  assert.equal(added.status, 201);
  const item = added.body.setlist.items[0];
  const players = {};
  for (const [email, part, by] of [["tpt@example.com", "trumpet 1", "owner"], ["sax@example.com", "ALTO SAX", "self"], ["bass@example.com", "Bass", "owner"]]) {
    const m = await api.signup(email);
    assert.equal((await api.post(`/v1/setlists/${setlist.id}/members`, { email, role: "viewer" }, t)).status, 201);
    const who = by === "owner" ? t : m.access;
    const patched = await api.patch(`/v1/setlists/${setlist.id}/members/${m.user.id}`, { part }, who);
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.member.part, part);
    players[email] = m;
  }
  // A member may not change their own role, nor anyone else's part.
  const tpt = players["tpt@example.com"];
  assert.equal((await api.patch(`/v1/setlists/${setlist.id}/members/${tpt.user.id}`, { role: "editor" }, tpt.access)).status, 403);
  assert.equal((await api.patch(`/v1/setlists/${setlist.id}/members/${players["sax@example.com"].user.id}`, { part: "Drums" }, tpt.access)).status, 403);

  // Each member's view shows their part; each downloads a different PDF for the same item.
  const expected = {
    "tpt@example.com": { id: trumpet.body.part.id, bytes: sha(trumpetPdf) },
    "sax@example.com": { id: sax.body.part.id, bytes: sha(saxPdf) },
    "bass@example.com": { id: bass.body.part.id },
  };
  const hashes = new Set();
  for (const [email, m] of Object.entries(players)) {
    const view = await api.get(`/v1/setlists/${setlist.id}`, m.access);
    assert.equal(view.status, 200);
    assert.equal(view.body.setlist.items[0].part.id, expected[email].id, email);
    const link = await api.get(`/v1/setlists/${setlist.id}/items/${item.id}/download-url`, m.access);
    assert.equal(link.status, 200, JSON.stringify(link.body));
    const bytes = await fetched(link.body.url);
    hashes.add(sha(bytes));
    if (expected[email].bytes) {
      assert.equal(sha(bytes), expected[email].bytes, email);
      assert.equal(link.body.first_page, undefined);
    } else {
      // A pages part: the score's file with the range.
      assert.deepEqual([link.body.first_page, link.body.last_page], [5, 6]);
    }
  }
  assert.equal(hashes.size, 3, "three different PDFs");
  // ?part=full gives anyone the score; ?part={id} any part; the owner plays no part.
  const full = await api.get(`/v1/setlists/${setlist.id}/items/${item.id}/download-url?part=full`, tpt.access);
  assert.equal(full.status, 200);
  assert.equal(full.body.first_page, undefined);
  const chosen = await api.get(`/v1/setlists/${setlist.id}/items/${item.id}/download-url?part=${sax.body.part.id}`, tpt.access);
  assert.equal(sha(await fetched(chosen.body.url)), sha(saxPdf));
  const ownerView = await api.get(`/v1/setlists/${setlist.id}`, t);
  assert.equal(ownerView.body.setlist.items[0].part, null);
  assert.equal(ownerView.body.setlist.members.find((m) => m.user_id === tpt.user.id).part, "trumpet 1");

  // The owner's own part download: a page of a pages part is a page of its range.
  const own = await api.get(`/v1/scores/${score.id}/parts/${trumpet.body.part.id}/download-url`, t);
  assert.equal(sha(await fetched(own.body.url)), sha(trumpetPdf));

  // Deleting the score deletes its parts and their files; the quota is exact.
  assert.equal((await api.delete(`/v1/scores/${score.id}`, t)).status, 204);
  assert.equal((await api.delete(`/v1/trash/${score.id}`, t)).status, 204);
  assert.equal((await api.get(`/v1/scores/${score.id}/parts`, t)).status, 404);
  const gone = (await api.get("/v1/me/usage", t)).body;
  assert.equal(gone.used_bytes, before.used_bytes - score.size_bytes);
  await invariants(w);
});

test("an uploaded part's pages are rendered by the queue like a score's, for the owner and for the member who plays it", async () => {
  const t = owner.access;
  const score = await api.settled((await api.uploadScore(t, makePdf({ pages: 4, title: "Paged Chart" }))).id, t);
  const uploadId = await upload(t, makePdf({ pages: 2, title: "Paged Horn part" }));
  const created = await api.post(`/v1/scores/${score.id}/parts`, { name: "Horn", upload_id: uploadId }, t);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const part = await settledPart(score.id, created.body.part.id, t);
  assert.equal(part.page_count, 2);

  // The owner: 202 while the queue renders page 1 once, then 200 with a PNG under the part's prefix.
  const pageUrl = (n) => `/v1/scores/${score.id}/parts/${part.id}/download-url?page=${n}`;
  const pending = await api.get(pageUrl(1), t);
  assert.equal(pending.status, 202, JSON.stringify(pending.body));
  assert.deepEqual(pending.body, { state: "pending" });
  assert.ok(Number(pending.headers.get("retry-after")) >= 1);
  const ready = await eventually(async () => {
    const res = await api.get(pageUrl(1), t);
    return res.status === 202 ? null : res;
  });
  assert.equal(ready.status, 200, JSON.stringify(ready.body));
  assert.equal(typeof ready.body.expires_at, "string");
  const image = await w.mf.dispatchFetch(ready.body.url);
  assert.equal(image.status, 200);
  assert.equal(image.headers.get("content-type"), "image/png");
  const png = Buffer.from(await image.arrayBuffer());
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const bucket = await w.bucket();
  const key = `u/${owner.user.id}/s/${uploadId}/page-1-1240.png`;
  assert.ok(await bucket.head(key), "stored under the part's own prefix");
  const beyond = await api.get(pageUrl(3), t);
  assertEnvelope(assert, beyond, 422, "VALIDATION_FAILED");
  assert.equal(beyond.body.error.fields.page, "the part has 2 pages");

  // A member assigned the part reaches its pages through the item download.
  const setlist = (await api.post("/v1/setlists", { name: "Paged gig" }, t)).body.setlist;
  const item = (await api.post(`/v1/setlists/${setlist.id}/items`, { score_id: score.id }, t)).body.setlist.items[0];
  const horn = await api.signup("horn-pages@example.com");
  assert.equal((await api.post(`/v1/setlists/${setlist.id}/members`, { email: "horn-pages@example.com", role: "viewer" }, t)).status, 201);
  assert.equal((await api.patch(`/v1/setlists/${setlist.id}/members/${horn.user.id}`, { part: "horn" }, t)).status, 200);
  const itemPage = (n) => `/v1/setlists/${setlist.id}/items/${item.id}/download-url?page=${n}`;
  assert.equal((await api.get(itemPage(1), horn.access)).status, 200, "the owner's render serves the member");
  assert.equal((await api.get(itemPage(2), horn.access)).status, 202);
  const second = await eventually(async () => {
    const res = await api.get(itemPage(2), horn.access);
    return res.status === 202 ? null : res;
  });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  const page2 = await w.mf.dispatchFetch(second.body.url);
  assert.equal(page2.headers.get("content-type"), "image/png");
  assert.ok(await bucket.head(`u/${owner.user.id}/s/${uploadId}/page-2-1240.png`));

  // Deleting the part deletes its page images.
  assert.equal((await api.delete(`/v1/scores/${score.id}/parts/${part.id}`, t)).status, 204);
  await eventually(async () => (await bucket.head(key)) === null);
  await invariants(w);
});
