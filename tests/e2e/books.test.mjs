// Setlist books (SPEC §11) through the built Worker: a five-item setlist — three scores, one
// bookmark of a songbook, one score with a part the member plays — is merged by the queue into
// one PDF per reader; poppler counts its pages and qpdf reads its outline titles. A change makes
// the book stale and the next request makes the new version. Every answer is held to the OpenAPI
// document by the harness.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, member;
before(async () => {
  w = await startWorker();
  api = w.api;
  [owner, member] = await Promise.all(["book-owner", "book-player"].map((n) => api.signup(`${n}@example.com`)));
});
after(() => w?.close());

const dir = mkdtempSync(join(tmpdir(), "scoremate-book-"));
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The PDF at `url`: its page count (poppler) and outline titles (qpdf). */
async function inspect(url, name) {
  const res = await w.mf.dispatchFetch(url);
  assert.equal(res.status, 200);
  const file = join(dir, name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync("pdfinfo", [file], { encoding: "utf8" }))[1]);
  const outline = JSON.parse(execFileSync("qpdf", ["--json", "--json-key=outlines", file], { encoding: "utf8" }));
  return { pages, titles: outline.outlines.map((o) => o.title) };
}

async function made(setlist, who) {
  return eventually(async () => {
    const r = await api.get(`/v1/setlists/${setlist}/book`, who.access);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.book.state === "ok" || r.body.book.state === "failed" ? r.body.book : null;
  }, { timeoutMs: 30000 });
}

test("a five-item book with a bookmark and a part: pages and outline checked by poppler and qpdf", async () => {
  const t = owner.access;
  const settled = async (pdf, title) => api.settled((await api.uploadScore(t, pdf, { title })).id, t);
  const autumn = await settled(makePdf({ pages: 2, title: "Autumn Leaves" }), "Autumn Leaves");
  const bossa = await settled(makePdf({ pages: 3, title: "Blue Bossa" }), "Blue Bossa");
  const chart = await settled(makePdf({ pages: 4, title: "Big Band Chart" }), "Big Band Chart");
  const coda = await settled(makePdf({ pages: 1, title: "Coda" }), "Coda");
  const songbook = await settled(makePdf({ pages: 40, title: "Real Book" }), "Real Book");
  const bm = await api.post(`/v1/scores/${songbook.id}/bookmarks`, { title: "Solar", first_page: 10, last_page: 12 }, t);
  assert.equal(bm.status, 201, JSON.stringify(bm.body));
  // The chart's trumpet part: a PDF of its own, through the upload flow.
  const partPdf = makePdf({ pages: 2, title: "Trumpet 1 part" });
  const up = (await api.post("/v1/uploads", { filename: "tp.pdf", size: partPdf.length, mime: "application/pdf", sha256: sha(partPdf) }, t)).body;
  assert.equal((await w.mf.dispatchFetch(up.url, { method: "PUT", headers: up.headers, body: partPdf })).status, 200);
  assert.equal((await api.post(`/v1/scores/${chart.id}/parts`, { name: "Trumpet 1", upload_id: up.upload_id }, t)).status, 201);

  const setlist = (await api.post("/v1/setlists", { name: "Friday gig" }, t)).body.setlist.id;
  for (const item of [{ score_id: autumn.id }, { bookmark_id: bm.body.bookmark.id }, { score_id: chart.id }, { score_id: bossa.id }, { score_id: coda.id }]) {
    assert.equal((await api.post(`/v1/setlists/${setlist}/items`, item, t)).status, 201);
  }
  assert.equal((await api.post(`/v1/setlists/${setlist}/members`, { email: member.user.email, role: "viewer" }, t)).status, 201);
  assert.equal((await api.patch(`/v1/setlists/${setlist}/members/${member.user.id}`, { part: "trumpet 1" }, member.access)).status, 200);

  assert.equal((await api.get(`/v1/setlists/${setlist}/book`, t)).status, 404, "none asked for yet");
  const asked = await api.post(`/v1/setlists/${setlist}/book`, undefined, t);
  assert.equal(asked.status, 202);
  assert.equal(asked.body.book.stale, false);
  const full = await made(setlist, owner);
  assert.equal(full.state, "ok", JSON.stringify(full));
  assert.equal(full.pages, 2 + 3 + 4 + 3 + 1);
  const fullPdf = await inspect(full.url, "full.pdf");
  assert.deepEqual(fullPdf, { pages: 13, titles: ["Autumn Leaves", "Solar", "Big Band Chart", "Blue Bossa", "Coda"] });

  // The trumpet player's book: their part in place of the chart.
  assert.equal((await api.post(`/v1/setlists/${setlist}/book`, undefined, member.access)).status, 202);
  const theirs = await made(setlist, member);
  assert.deepEqual(await inspect(theirs.url, "trumpet.pdf"), {
    pages: 2 + 3 + 2 + 3 + 1,
    titles: ["Autumn Leaves", "Solar", "Big Band Chart — Trumpet 1", "Blue Bossa", "Coda"],
  });

  // A change makes the owner's book stale; asking again makes the new version.
  await api.patch(`/v1/setlists/${setlist}`, { venue: "Main stage" }, t);
  const stale = (await api.get(`/v1/setlists/${setlist}/book`, t)).body.book;
  assert.equal(stale.stale, true);
  const again = (await api.post(`/v1/setlists/${setlist}/book`, undefined, t)).body.book;
  assert.ok(again.version > full.version);
  assert.equal((await made(setlist, owner)).stale, false);
  // Outsiders learn nothing.
  const outsider = await api.signup("book-outsider@example.com");
  assert.equal((await api.post(`/v1/setlists/${setlist}/book`, undefined, outsider.access)).status, 404);
});
