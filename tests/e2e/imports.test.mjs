// Library imports (SPEC §11) through the built Worker: an archive made as the export makes it
// (tests/e2e/zip.mjs) is uploaded through the upload flow, imported as a dry run (nothing
// written) and then for real; the library, setlist (items in order), bookmarks and parts are
// there through the public API, the quota grew by exactly the files' (and layers') bytes, and
// processing runs; imported again, nothing is new. A battery of hostile and damaged archives each
// fails with its reason and writes nothing; another user's import is 404. Every answer is held to
// the OpenAPI document by the harness.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf } from "./pdf.mjs";
import { library, sha256, zip } from "./zip.mjs";

let w, api, owner;
before(async () => {
  w = await startWorker({ vars: { RATE_UPLOAD_URLS: "off" } });
  api = w.api;
  owner = await api.signup("importer@example.com");
});
after(() => w?.close());

/** The archive uploaded through the upload flow: its upload id (the PUT's status checked). */
async function upload(token, bytes, { status = 200 } = {}) {
  const up = await api.post("/v1/uploads", { filename: "library.zip", size: bytes.length, mime: "application/zip", sha256: sha256(bytes) }, token);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  assert.equal(up.body.headers["content-type"], "application/zip");
  const put = await w.mf.dispatchFetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
  assert.equal(put.status, status, await put.text());
  return up.body.upload_id;
}

/** POST /v1/imports, then polled until it ends: the import. */
async function imported(token, uploadId, dryRun = false) {
  const asked = await api.post("/v1/imports", { upload_id: uploadId, ...(dryRun ? { dry_run: true } : {}) }, token);
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  assert.equal(asked.body.import.state, "pending");
  assert.equal(asked.body.import.dry_run, dryRun);
  return eventually(async () => {
    const r = await api.get(`/v1/imports/${asked.body.import.id}`, token);
    assert.equal(r.status, 200);
    return ["done", "failed"].includes(r.body.import.state) ? r.body.import : null;
  }, { timeoutMs: 60000 });
}

const usage = async (token) => (await api.get("/v1/me/usage", token)).body;

/** The caller's objects in R2 (PDFs, derived images, archives). */
async function objects(userId) {
  const listed = await (await w.bucket()).list({ prefix: `u/${userId}/`, limit: 1000 });
  return listed.objects.map((o) => o.key);
}

const pdfs = {
  autumn: makePdf({ pages: 2, title: "Autumn Leaves" }),
  bossa: makePdf({ pages: 3, title: "Blue Bossa" }),
  realbook: makePdf({ pages: 12, title: "Real Book" }),
  trumpet: makePdf({ pages: 1, title: "Autumn Leaves, trumpet" }),
};

const lib = () => library({
  scores: [
    {
      id: "s1", title: "Autumn Leaves", pdf: pdfs.autumn, composer: "Kosma", tags: ["Jazz"],
      parts: [{ id: "p1", name: "Trumpet", pdf: pdfs.trumpet }, { id: "p2", name: "Bass", pages: [2, 2] }],
      annotations: [{ layer: "pencil", item_id: null, shared: true, data: { "1": { strokes: [[1, 2]] } } }],
      settings: [{ item_id: null, data: { bpm: 132 } }],
    },
    { id: "s2", title: "Blue Bossa", pdf: pdfs.bossa },
    { id: "s3", title: "Real Book", pdf: pdfs.realbook, bookmarks: [{ id: "b1", title: "Solar", pages: [3, 4] }, { id: "b2", title: "Nardis", pages: [10, 12] }] },
  ],
  setlists: [{ id: "l1", name: "Friday gig", items: [
    { id: "i1", score_id: "s2" },
    { id: "i2", score_id: "s3", bookmark_id: "b1", notes: "take it slow" },
    { id: "i3", score_id: "s1" },
  ] }],
});

test("an exported library: a dry run writes nothing, the import brings everything, a second import nothing", async () => {
  const t = owner.access;
  const archive = zip(lib().entries());
  const uploadId = await upload(t, archive);
  assert.deepEqual(await usage(t), { quota_bytes: 1073741824, used_bytes: 0, reserved_bytes: archive.length });
  // An archive is no score.
  const notScore = await api.post("/v1/scores", { upload_id: uploadId, title: "zip" }, t);
  assert.equal(notScore.status, 422);
  assert.ok(notScore.body.error.fields.upload_id);

  const report = { scores_created: 3, scores_skipped_duplicate: 0, setlists_created: 1, bookmarks_created: 2, errors: [] };
  const dry = await imported(t, uploadId, true);
  assert.equal(dry.state, "done", JSON.stringify(dry));
  assert.deepEqual(dry.report, report);
  assert.equal((await api.get("/v1/scores", t)).body.scores.length, 0, "a dry run writes nothing");
  assert.equal((await api.get("/v1/setlists", t)).body.setlists.length, 0);
  assert.deepEqual((await usage(t)).reserved_bytes, archive.length, "the archive stays for the import");

  const done = await imported(t, uploadId);
  assert.equal(done.state, "done", JSON.stringify(done));
  assert.deepEqual(done.report, report);

  // The library through the public API.
  const scores = (await api.get("/v1/scores?ordering=title", t)).body.scores;
  assert.deepEqual(scores.map((s) => s.title), ["Autumn Leaves", "Blue Bossa", "Real Book"]);
  const byTitle = Object.fromEntries(scores.map((s) => [s.title, s]));
  assert.equal(byTitle["Autumn Leaves"].composer, "Kosma");
  assert.deepEqual(byTitle["Autumn Leaves"].tags, ["jazz"]);
  // The list shows summaries (decision 136); the file's hash is on the full score.
  const bossa = (await api.get(`/v1/scores/${byTitle["Blue Bossa"].id}`, t)).body.score;
  assert.equal(bossa.content_hash, sha256(pdfs.bossa));
  const parts = (await api.get(`/v1/scores/${byTitle["Autumn Leaves"].id}/parts`, t)).body.parts;
  assert.deepEqual(parts.map((p) => [p.name, p.source]), [["Bass", "pages"], ["Trumpet", "upload"]]);
  const bookmarks = (await api.get("/v1/bookmarks", t)).body.bookmarks;
  assert.deepEqual(bookmarks.map((b) => b.title).sort(), ["Nardis", "Solar"]);
  const setlists = (await api.get("/v1/setlists", t)).body.setlists;
  assert.equal(setlists.length, 1);
  const setlist = (await api.get(`/v1/setlists/${setlists[0].id}`, t)).body.setlist;
  assert.equal(setlist.name, "Friday gig");
  assert.deepEqual(setlist.items.map((i) => [i.position, i.title, i.notes ?? null]), [[1, "Blue Bossa", null], [2, "Solar", "take it slow"], [3, "Autumn Leaves", null]]);
  assert.equal(setlist.items[1].bookmark.title, "Solar");
  const layers = (await api.get(`/v1/scores/${byTitle["Autumn Leaves"].id}/annotations`, t)).body;
  assert.equal(JSON.stringify(layers).includes("pencil"), true);
  assert.equal((await api.get(`/v1/scores/${byTitle["Autumn Leaves"].id}/settings`, t)).body.settings.bpm, 132);

  // The quota grew by exactly the files' bytes (and the layer's); the archive is gone.
  const fileBytes = Object.values(pdfs).reduce((n, b) => n + b.length, 0);
  const db = await w.db();
  const layerBytes = (await db.prepare("select coalesce(sum(bytes), 0) as n from annotations where user_id = ?").bind(owner.user.id).first()).n;
  assert.deepEqual(await usage(t), { quota_bytes: 1073741824, used_bytes: fileBytes + layerBytes, reserved_bytes: 0 });
  assert.ok(!(await objects(owner.user.id)).some((k) => k.endsWith(".zip")), "the archive is deleted");

  // Processing runs on what was imported: pages and thumbnails.
  for (const s of scores) {
    const settled = await api.settled(s.id, t);
    assert.equal(settled.processing.pdf_info.state, "ok");
  }
  assert.equal((await api.get(`/v1/scores/${byTitle["Real Book"].id}`, t)).body.score.pages, 12);
  const trumpet = await eventually(async () => {
    const p = (await api.get(`/v1/scores/${byTitle["Autumn Leaves"].id}/parts`, t)).body.parts.find((x) => x.name === "Trumpet");
    return p.processing.pdf_info.state === "ok" ? p : null;
  });
  assert.equal(trumpet.page_count, 1);

  // Imported again: nothing is new.
  const before = { scores: scores.length, usage: await usage(t), objects: (await objects(owner.user.id)).length };
  const again = await imported(t, await upload(t, archive));
  assert.equal(again.state, "done");
  assert.deepEqual(again.report, { scores_created: 0, scores_skipped_duplicate: 3, setlists_created: 0, bookmarks_created: 0, errors: [] });
  assert.equal((await api.get("/v1/scores", t)).body.scores.length, before.scores);
  assert.equal((await api.get("/v1/setlists", t)).body.setlists.length, 1);
  assert.equal((await api.get("/v1/bookmarks", t)).body.bookmarks.length, 2);
  assert.deepEqual(await usage(t), before.usage);
  await eventually(async () => (await objects(owner.user.id)).length === before.objects);
  await invariants(w);
});

test("another user's import and upload are 404; one import at a time", async () => {
  const other = await api.signup("someone-else@example.com");
  const archive = zip(library({ scores: [] }).entries());
  const mine = await upload(owner.access, archive);
  assert.equal((await api.post("/v1/imports", { upload_id: mine }, other.access)).status, 404);
  const asked = await api.post("/v1/imports", { upload_id: mine, dry_run: true }, owner.access);
  assert.equal(asked.status, 202);
  const id = asked.body.import.id;
  assert.equal((await api.get(`/v1/imports/${id}`, other.access)).status, 404);
  assert.equal((await api.get("/v1/imports/imp_00000000000000000000000000000000", owner.access)).status, 404);
  // A second while the first may still run: 409 naming it, or (if it ended) accepted.
  const second = await api.post("/v1/imports", { upload_id: await upload(owner.access, archive), dry_run: true }, owner.access);
  if (second.status === 409) {
    assert.equal(second.body.error.code, "IMPORT_RUNNING");
    assert.equal(second.body.import_id, id);
  } else {
    assert.equal(second.status, 202);
  }
  await eventually(async () => (await api.get(`/v1/imports/${id}`, owner.access)).body.import.state === "done");
  // Bad bodies.
  assert.equal((await api.post("/v1/imports", { upload_id: mine, dry_run: "yes" }, owner.access)).status, 422);
  assert.equal((await api.post("/v1/imports", {}, owner.access)).status, 422);
  // A PDF upload is no archive.
  const pdf = makePdf();
  const up = (await api.post("/v1/uploads", { filename: "a.pdf", size: pdf.length, mime: "application/pdf", sha256: sha256(pdf) }, owner.access)).body;
  assert.equal((await api.post("/v1/imports", { upload_id: up.upload_id }, owner.access)).status, 422);
});

test("hostile and damaged archives each fail with their reason and write nothing", async () => {
  const base = () => lib();
  const named = (entries, part) => entries.find((e) => e.name.includes(part));
  const cases = [
    ["not a ZIP past its first bytes", () => Buffer.concat([Buffer.from("PK\x03\x04"), Buffer.alloc(200, 7)]), "not a ZIP archive"],
    ["truncated", () => { const z = zip(base().entries()); return z.subarray(0, z.length - 60); }, "not a ZIP archive"],
    ["../x.pdf", () => zip([...base().entries(), { name: "../x.pdf", data: pdfs.bossa }]), "unsafe entry name"],
    ["/abs.pdf", () => zip([...base().entries(), { name: "/abs.pdf", data: pdfs.bossa }]), "unsafe entry name"],
    ["files/..\\x.pdf", () => zip([...base().entries(), { name: "files/..\\x.pdf", data: pdfs.bossa }]), "unsafe entry name"],
    ["C:x", () => zip([...base().entries(), { name: "C:x", data: pdfs.bossa }]), "unsafe entry name"],
    ["duplicate names", () => { const e = base().entries(); return zip([...e, { ...named(e, "Blue"), name: named(e, "Blue").name.toUpperCase().replace("FILES/", "files/") }]); }, "appears twice"],
    ["a deflated entry", () => { const e = base().entries(); named(e, "Blue").method = 8; return zip(e); }, "compressed (method 8, deflate)"],
    ["an encrypted entry", () => { const e = base().entries(); named(e, "Blue").flags = 1; return zip(e); }, "is encrypted"],
    ["a file missing", () => zip(base().entries().filter((e) => !e.name.includes("Blue"))), "is missing from the archive"],
    ["a file of another size", () => { const e = base().entries(); const b = named(e, "Blue"); b.data = Buffer.concat([b.data, Buffer.from("\n%x")]); return zip(e); }, "in the manifest"],
    ["a file whose sha256 differs", () => { const e = base().entries(); const b = named(e, "Blue"); b.data = Buffer.from(b.data); b.data[b.data.length - 3] ^= 0x20; return zip(e); }, "its sha256 is not the manifest's"],
    ["a file that is not a PDF", () => {
      const l = base();
      const gif = Buffer.from("GIF89a pretending to be a score");
      l.manifest.scores[1].sha256 = sha256(gif);
      l.manifest.scores[1].size_bytes = gif.length;
      const e = l.entries();
      named(e, "Blue").data = gif;
      return zip(e);
    }, "is not a PDF"],
    ["a CRC mismatch", () => { const e = base().entries(); Object.assign(named(e, "Blue"), { crc: 0xdeadbeef, descriptor: true }); return zip(e); }, "CRC-32 mismatch"],
    ["an oversized manifest", () => { const e = base().entries(); e[0].data = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20); return zip(e); }, "at most 16777216"],
    ["over 10 000 entries", () => zip([...base().entries(), ...Array.from({ length: 10000 }, (_, i) => ({ name: `junk/${i}`, data: Buffer.alloc(0) }))]), "entries; at most 10000"],
    ["an unknown manifest format", () => { const l = base(); l.manifest.format = 2; return zip(l.entries()); }, "manifest format 2 is not supported"],
    ["a dangling reference", () => { const l = base(); l.manifest.setlists[0].items[0].score_id = "s9"; return zip(l.entries()); }, "refers to a score not in the manifest"],
    ["overlapping entries", () => { const e = base().entries(); const i = e.findIndex((x) => x.name.includes("Autumn")); named(e, "Blue").pointsAt = i; return zip(e); }, "overlaps"],
  ];
  for (const [what, make, why] of cases) {
    const victim = await api.signup(`victim-${cases.findIndex((c) => c[0] === what)}@example.com`);
    const out = await imported(victim.access, await upload(victim.access, make()));
    assert.equal(out.state, "failed", `${what}: ${JSON.stringify(out)}`);
    assert.ok(out.reason.includes(why), `${what}: ${out.reason} should say ${why}`);
    assert.equal((await api.get("/v1/scores", victim.access)).body.scores.length, 0, what);
    assert.equal((await api.get("/v1/setlists", victim.access)).body.setlists.length, 0, what);
    assert.equal((await api.get("/v1/bookmarks", victim.access)).body.bookmarks.length, 0, what);
    assert.deepEqual(await usage(victim.access), { quota_bytes: 1073741824, used_bytes: 0, reserved_bytes: 0 }, what);
    await eventually(async () => (await objects(victim.user.id)).length === 0, { timeoutMs: 5000 })
      .catch(async () => assert.fail(`${what}: objects left: ${await objects(victim.user.id)}`));
  }

  // Over the quota (lowered after the upload, as an admin may): failed before anything is written.
  const full = await api.signup("full@example.com");
  const uploadId = await upload(full.access, zip(base().entries()));
  const db = await w.db();
  await db.prepare("update users set quota_bytes = 1000 where id = ?").bind(full.user.id).run();
  const out = await imported(full.access, uploadId);
  assert.equal(out.state, "failed");
  assert.match(out.reason, /^quota exceeded: the import needs/);
  assert.deepEqual(await usage(full.access), { quota_bytes: 1000, used_bytes: 0, reserved_bytes: 0 });
  assert.deepEqual(await objects(full.user.id), []);

  // Bytes that are not a ZIP at all are refused on the way in.
  const junk = await api.signup("junk@example.com");
  await upload(junk.access, Buffer.from("%PDF-1.7 this is no archive"), { status: 415 });
  await invariants(w);
});
