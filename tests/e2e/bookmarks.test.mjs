// Songbook bookmarks (SPEC §10) through the built Worker: a generated 300-page songbook, a
// 200-line CSV index imported (quotes, commas, a BOM, CRLF, bad lines reported), searched, two
// bookmarks in a setlist, one extracted to a PDF whose pages poppler counts, and a 2 000-line
// index in one request. Every answer is held to the OpenAPI document by the harness.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { assertEnvelope, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, book, dir;
before(async () => {
  w = await startWorker();
  api = w.api;
  dir = mkdtempSync(join(tmpdir(), "scoremate-bookmarks-"));
  owner = await api.signup("songbook@example.com");
  book = await api.settled((await api.uploadScore(owner.access, makePdf({ pages: 300, title: "Real Book" }))).id, owner.access);
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await w.close();
});

const COMPOSERS = ["Ellington", "Monk", "Parker", "Davis", "Coltrane"];

/** A forScore-style index of `n` pieces, 1 to 3 pages each, with quoted titles and composers. */
function index(n, { start = 1 } = {}) {
  const lines = ["\ufeffTitle,First page,Last page,Composer,Key"];
  let page = start;
  for (let i = 0; i < n; i++) {
    const len = (i % 3) + 1;
    const title = i % 10 === 0 ? `"Tune ${i}, ""the"" ${i % 7 === 0 ? "blues" : "ballad"}"` : `Tune ${i}`;
    lines.push(`${title},${page},${page + len - 1},"${COMPOSERS[i % 5]}, Jr.",${["C", "F", "Bb", "Eb"][i % 4]}`);
    page = (page + len - 1) % 297 + 1;
  }
  return lines.join("\r\n") + "\r\n";
}

/** pdfinfo's fields of `bytes`. */
function pdfinfo(bytes, name) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const out = execFileSync("pdfinfo", [file], { encoding: "utf8" });
  return Object.fromEntries(out.split("\n").filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

async function download(url) {
  const res = await w.mf.dispatchFetch(url);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

test("a songbook's 200-line index is imported, searched, played in a setlist and extracted", async () => {
  assert.equal(book.pages, 300);
  const csv = index(200) + "Broken,ten,11\r\n\r\nPast the end,299,301\r\n";
  const imported = await api.post(`/v1/scores/${book.id}/bookmarks/import`, { csv }, owner.access);
  assert.equal(imported.status, 201, JSON.stringify(imported.body));
  assert.equal(imported.body.created, 200);
  assert.deepEqual(imported.body.errors.map((e) => e.line), [202, 204]);
  assert.match(imported.body.errors[1].message, /300 pages/);

  // Full-text over titles and composers, the caller's only.
  const blues = await api.get("/v1/bookmarks?query=blues&limit=100", owner.access);
  assert.equal(blues.status, 200);
  assert.ok(blues.body.bookmarks.length > 0);
  assert.ok(blues.body.bookmarks.every((b) => b.title.includes("blues") && b.score_id === book.id));
  const byComposer = await api.get("/v1/bookmarks?query=ellingt&limit=100", owner.access);
  assert.equal(byComposer.body.bookmarks.length, 40);
  assert.ok(byComposer.body.bookmarks.every((b) => b.composer === "Ellington, Jr."));
  const stranger = await api.signup("stranger-bm@example.com");
  assert.deepEqual((await api.get("/v1/bookmarks?query=blues", stranger.access)).body.bookmarks, []);
  assertEnvelope(assert, await api.get(`/v1/bookmarks/${blues.body.bookmarks[0].id}`, stranger.access), 404, "NOT_FOUND");
  // Every page of the list, in title order, 200 in all.
  let all = [], cursor = null;
  do {
    const page = await api.get(`/v1/bookmarks?score_id=${book.id}&limit=100${cursor ? `&cursor=${cursor}` : ""}`, owner.access);
    all = all.concat(page.body.bookmarks);
    cursor = page.body.next_cursor;
  } while (cursor);
  assert.equal(all.length, 200);

  // Two of them in a setlist.
  const [first, second] = blues.body.bookmarks;
  const set = (await api.post("/v1/setlists", { name: "Jam" }, owner.access)).body.setlist;
  for (const b of [first, second]) {
    const added = await api.post(`/v1/setlists/${set.id}/items`, { bookmark_id: b.id }, owner.access);
    assert.equal(added.status, 201, JSON.stringify(added.body));
  }
  assertEnvelope(assert, await api.post(`/v1/setlists/${set.id}/items`, { bookmark_id: first.id, score_id: book.id }, owner.access), 422, "VALIDATION_FAILED");
  const view = (await api.get(`/v1/setlists/${set.id}`, owner.access)).body.setlist;
  assert.deepEqual(view.items.map((i) => i.bookmark), [first, second].map((b) => ({ id: b.id, title: b.title, first_page: b.first_page, last_page: b.last_page })));
  assert.ok(view.items.every((i) => i.score_id === book.id));

  // The item's URL: the songbook with the range, or the pages extracted by the queue.
  const item = view.items[1];
  const plain = await api.get(`/v1/setlists/${set.id}/items/${item.id}/download-url`, owner.access);
  assert.equal(plain.status, 200);
  assert.deepEqual([plain.body.first_page, plain.body.last_page], [second.first_page, second.last_page]);
  assert.equal(pdfinfo(await download(plain.body.url), "whole.pdf").Pages, "300");
  const asked = await api.get(`/v1/setlists/${set.id}/items/${item.id}/download-url?extract=true`, owner.access);
  assert.equal(asked.status, 202);
  assert.ok(["pending", "running"].includes(asked.body.state));
  assert.equal(asked.headers.get("retry-after"), "2");
  const made = await eventually(async () => {
    const r = await api.get(`/v1/setlists/${set.id}/items/${item.id}/download-url?extract=true`, owner.access);
    return r.status === 200 ? r.body : null;
  }, { timeoutMs: 30000 });
  const info = pdfinfo(await download(made.url), "piece.pdf");
  assert.equal(info.Pages, String(second.last_page - second.first_page + 1));
  assert.match(info["Page size"], /^595 x 842 pts/);
  // Made once: the bookmark says so, and the songbook's derived budget counts it.
  const shown = (await api.get(`/v1/bookmarks/${second.id}`, owner.access)).body.bookmark;
  assert.deepEqual(shown.extract, { state: "ok" });
  const db = await w.db();
  const row = await db.prepare("select extract_bytes from bookmarks where id = ?").bind(second.id).first();
  assert.ok(row.extract_bytes > 0);
  const runs = await db.prepare("select count(*) as n from task_runs where id = ?").bind(`extract_bookmark:${second.id}`).first();
  assert.equal(runs.n, 1);
  // A bad parameter is a 422 on its name.
  assertEnvelope(assert, await api.get(`/v1/bookmarks/${second.id}/download-url?extract=maybe`, owner.access), 422, "VALIDATION_FAILED");

  // Deleting a bookmark takes its item out, with a history event; deleting the songbook the rest.
  assert.equal((await api.raw("DELETE", `/v1/bookmarks/${first.id}`, { token: owner.access })).status, 204);
  let after1 = (await api.get(`/v1/setlists/${set.id}`, owner.access)).body.setlist;
  assert.deepEqual(after1.items.map((i) => [i.position, i.bookmark.id]), [[1, second.id]]);
  assert.equal(after1.history[0].kind, "bookmark_deleted");
  assert.equal((await api.raw("DELETE", `/v1/scores/${book.id}`, { token: owner.access })).status, 204);
  after1 = (await api.get(`/v1/setlists/${set.id}`, owner.access)).body.setlist;
  assert.deepEqual(after1.items.map((i) => [i.position, i.trashed]), [[1, true]], "in the trash: still in place");
  assert.deepEqual((await api.get("/v1/bookmarks", owner.access)).body.bookmarks, []);
  assert.equal((await api.raw("DELETE", `/v1/trash/${book.id}`, { token: owner.access })).status, 204);
  after1 = (await api.get(`/v1/setlists/${set.id}`, owner.access)).body.setlist;
  assert.deepEqual(after1.items, []);
  assert.equal(after1.history[0].kind, "score_deleted");
  assert.deepEqual((await api.get("/v1/bookmarks", owner.access)).body.bookmarks, []);
});

test("a 2 000-line index imports in one request; bad bodies and pages are refused per field", async () => {
  const s = await api.signup("index2000@example.com");
  const songbook = await api.settled((await api.uploadScore(s.access, makePdf({ pages: 300 }))).id, s.access);
  const started = Date.now();
  const res = await api.post(`/v1/scores/${songbook.id}/bookmarks/import`, { csv: index(2000) }, s.access);
  const ms = Date.now() - started;
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.deepEqual(res.body, { created: 2000, errors: [] });
  assert.ok(ms < 10000, `${ms} ms`);
  const db = await w.db();
  assert.equal((await db.prepare("select count(*) as n from bookmarks where score_id = ?").bind(songbook.id).first()).n, 2000);

  assertEnvelope(assert, await api.post(`/v1/scores/${songbook.id}/bookmarks`, { title: "Too far", first_page: 299, last_page: 301 }, s.access), 422, "VALIDATION_FAILED");
  const bad = await api.post(`/v1/scores/${songbook.id}/bookmarks`, { title: "", first_page: 3, last_page: 2 }, s.access);
  assertEnvelope(assert, bad, 422, "VALIDATION_FAILED");
  assert.deepEqual(Object.keys(bad.body.error.fields).sort(), ["title"]);
  assertEnvelope(assert, await api.post(`/v1/scores/${songbook.id}/bookmarks/import`, { csv: "a,1,1\n".repeat(5001) }, s.access), 422, "VALIDATION_FAILED");
  const ok = await api.post(`/v1/scores/${songbook.id}/bookmarks`, { title: "Coda", first_page: 300, last_page: 300, tags: ["Ending"] }, s.access);
  assert.equal(ok.status, 201);
  const moved = await api.patch(`/v1/bookmarks/${ok.body.bookmark.id}`, { first_page: 301 }, s.access);
  assertEnvelope(assert, moved, 422, "VALIDATION_FAILED");
  assert.deepEqual((await api.get("/v1/bookmarks?tag=ending", s.access)).body.bookmarks.map((b) => b.title), ["Coda"]);
});
