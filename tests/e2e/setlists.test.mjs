// A band in workerd: an owner, an editor, a viewer, an outsider and anonymous callers against
// every setlist route; public links (live, revoked, expired, forged); concurrent reorders; a
// deleted score leaving its setlists.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertEnvelope, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, editor, viewer, outsider, extra, scores, setlist;
const ROLES = ["owner", "editor", "viewer", "outsider", "anonymous"];
const token = (role) => ({ owner, editor, viewer, outsider, anonymous: null })[role]?.access;

before(async () => {
  w = await startWorker();
  api = w.api;
  [owner, editor, viewer, outsider, extra] = await Promise.all(
    ["owner", "editor", "viewer", "outsider", "extra"].map((r) => api.signup(`${r}@band.example`)),
  );
  scores = [];
  for (const title of ["Autumn Leaves", "Blue Bossa", "Caravan"]) {
    scores.push(await api.uploadScore(owner.access, makePdf({ title }), { title }));
  }
  setlist = await newSetlist("Friday at the Blue Note");
});
after(() => w.close());

async function newSetlist(name) {
  const res = await api.post("/v1/setlists", { name, venue: "Blue Note", event_date: "2026-12-04" }, owner.access);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.setlist.id;
  for (const [who, role] of [[editor, "editor"], [viewer, "viewer"]]) {
    const m = await api.post(`/v1/setlists/${id}/members`, { email: who.user.email, role }, owner.access);
    assert.equal(m.status, 201, JSON.stringify(m.body));
  }
  for (const s of [scores[0], scores[1], scores[0]]) {
    assert.equal((await api.post(`/v1/setlists/${id}/items`, { score_id: s.id }, owner.access)).status, 201);
  }
  return id;
}

const current = async (id = setlist) => (await api.get(`/v1/setlists/${id}`, owner.access)).body.setlist;
const positions = (s) => s.items.map((i) => i.position);
const addItem = async (id = setlist) => {
  const s = (await api.post(`/v1/setlists/${id}/items`, { score_id: scores[2].id }, owner.access)).body.setlist;
  return s.items.at(-1).id;
};

/** One route, tried by every role; `prepare(role)` returns [method, path, body] (and may set up state as the owner). */
const matrix = [
  ["read the setlist", async () => ["GET", `/v1/setlists/${setlist}`], [200, 200, 200, 404, 401]],
  ["edit its details", async () => ["PATCH", `/v1/setlists/${setlist}`, { notes: "bring the capo" }], [200, 403, 403, 404, 401]],
  ["add an item", async () => ["POST", `/v1/setlists/${setlist}/items`, { score_id: scores[1].id, position: 1 }], [201, 201, 403, 404, 401]],
  ["replace the order", async () => {
    const s = await current();
    return ["POST", `/v1/setlists/${setlist}/items`, { order: s.items.map((i) => i.id).reverse(), version: s.version }];
  }, [200, 200, 403, 404, 401]],
  ["annotate an item", async () => {
    const s = await current();
    return ["PATCH", `/v1/setlists/${setlist}/items/${s.items[0].id}`, { notes: "capo 2, skip the bridge" }];
  }, [200, 200, 403, 404, 401]],
  ["remove an item", async () => ["DELETE", `/v1/setlists/${setlist}/items/${await addItem()}`], [204, 204, 403, 404, 401]],
  ["get an item's PDF", async () => ["GET", `/v1/setlists/${setlist}/items/${(await current()).items[0].id}/download-url`], [200, 200, 200, 404, 401]],
  ["read item comments", async () => ["GET", `/v1/setlists/${setlist}/items/${(await current()).items[0].id}/comments`], [200, 200, 200, 404, 401]],
  ["comment on an item", async () => ["POST", `/v1/setlists/${setlist}/items/${(await current()).items[0].id}/comments`, { body: "count-in is 4 bars" }], [201, 201, 201, 404, 401]],
  ["delete the editor's comment", async () => {
    const item = (await current()).items[0].id;
    const c = await api.post(`/v1/setlists/${setlist}/items/${item}/comments`, { body: "mine" }, editor.access);
    return ["DELETE", `/v1/setlists/${setlist}/items/${item}/comments/${c.body.comment.id}`];
  }, [204, 204, 403, 404, 401]],
  ["add a member", async () => ["POST", `/v1/setlists/${setlist}/members`, { email: extra.user.email, role: "viewer" }], [201, 403, 403, 404, 401]],
  ["remove another member", async () => {
    await api.post(`/v1/setlists/${setlist}/members`, { email: extra.user.email, role: "viewer" }, owner.access);
    return ["DELETE", `/v1/setlists/${setlist}/members/${extra.user.id}`];
  }, [204, 403, 403, 404, 401]],
  ["create a public link", async () => ["POST", `/v1/setlists/${setlist}/links`, {}], [201, 403, 403, 404, 401]],
  ["list public links", async () => ["GET", `/v1/setlists/${setlist}/links`], [200, 403, 403, 404, 401]],
  ["revoke a public link", async () => {
    const l = await api.post(`/v1/setlists/${setlist}/links`, {}, owner.access);
    return ["DELETE", `/v1/setlists/${setlist}/links/${l.body.link.id}`];
  }, [204, 403, 403, 404, 401]],
  ["delete the setlist", async () => ["DELETE", `/v1/setlists/${await newSetlist("throwaway")}`], [204, 403, 403, 404, 401]],
];

describe("every route × every role", () => {
  for (const [name, prepare, expected] of matrix) {
    test(name, async () => {
      for (const [i, role] of ROLES.entries()) {
        const [method, path, body] = await prepare(role);
        const res = await api.json(method, path, body, token(role));
        assert.equal(res.status, expected[i], `${role}: ${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status >= 400) assertEnvelope(assert, res, expected[i], res.body.error.code);
        if (role === "outsider") {
          // Byte-identical to a setlist that does not exist: nothing to learn.
          const ghost = path.replace(/set_[0-9a-f]{32}/, "set_" + "0".repeat(32));
          const other = await api.json(method, ghost, body, token(role));
          assert.equal(other.status, 404, ghost);
          assert.deepEqual(res.body, other.body, `${name}: outsider learns nothing`);
        }
      }
    });
  }
});

describe("what members see", () => {
  test("members find the setlist under shared=true, with their role; outsiders do not", async () => {
    for (const [who, role] of [[editor, "editor"], [viewer, "viewer"]]) {
      const res = await api.get("/v1/setlists?shared=true", who.access);
      assert.equal(res.status, 200);
      assert.equal(res.body.setlists.find((s) => s.id === setlist)?.role, role);
    }
    assert.ok(!(await api.get("/v1/setlists?shared=true", outsider.access)).body.setlists.some((s) => s.id === setlist));
    assert.ok((await api.get("/v1/setlists", owner.access)).body.setlists.some((s) => s.id === setlist && s.role === "owner"));
    assert.ok(!(await api.get("/v1/setlists", editor.access)).body.setlists.some((s) => s.id === setlist), "not the editor's own");
  });

  test("items carry the score's title, composer, pages, thumbnail and state; scores stay the owner's", async () => {
    const s = (await api.get(`/v1/setlists/${setlist}`, viewer.access)).body.setlist;
    assert.equal(s.role, "viewer");
    const item = s.items.find((i) => i.score_id === scores[0].id);
    assert.equal(item.title, "Autumn Leaves");
    assert.ok("pages" in item && "thumbnail_url" in item && item.processing.pdf_info.state);
    assert.deepEqual(positions(s), s.items.map((_, i) => i + 1));
    assert.ok(s.members.some((m) => m.user_id === viewer.user.id && m.role === "viewer"));
    assert.equal((await api.get(`/v1/scores/${scores[0].id}`, viewer.access)).status, 404);
    const url = (await api.get(`/v1/setlists/${setlist}/items/${item.id}/download-url`, viewer.access)).body.url;
    const pdf = await w.mf.dispatchFetch(url);
    assert.equal(pdf.status, 200);
    assert.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString(), "%PDF-");
  });

  test("an editor can only add the owner's scores", async () => {
    const mine = await api.uploadScore(editor.access, makePdf({ title: "Editor's own" }));
    const res = await api.post(`/v1/setlists/${setlist}/items`, { score_id: mine.id }, editor.access);
    assertEnvelope(assert, res, 422, "VALIDATION_FAILED");
    assert.ok(res.body.error.fields.score_id);
  });

  test("a member may leave; then the setlist is gone for them", async () => {
    const id = await newSetlist("leaving");
    assert.equal((await api.json("DELETE", `/v1/setlists/${id}/members/${viewer.user.id}`, undefined, viewer.access)).status, 204);
    assert.equal((await api.get(`/v1/setlists/${id}`, viewer.access)).status, 404);
  });

  test("bad input: unknown email, bad role, bad ids, bad versions, stale order", async () => {
    assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/members`, { email: "nobody@band.example", role: "viewer" }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/members`, { email: owner.user.email, role: "viewer" }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/members`, { email: extra.user.email, role: "owner" }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.post("/v1/setlists", { name: 7 }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.post("/v1/setlists", { name: "x", event_date: "next friday" }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.get("/v1/setlists/not-an-id", owner.access), 404, "NOT_FOUND");
    const s = await current();
    const ids = s.items.map((i) => i.id);
    for (const order of [ids.slice(1), [...ids, ids[0]], [...ids.slice(1), "itm_" + "0".repeat(32)]]) {
      assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/items`, { order, version: s.version }, owner.access), 422, "VALIDATION_FAILED");
    }
    const stale = await api.post(`/v1/setlists/${setlist}/items`, { order: ids, version: s.version - 1 }, owner.access);
    assertEnvelope(assert, stale, 409, "VERSION_CONFLICT");
    assert.equal(stale.body.version, s.version);
    assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/items`, { order: ids }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/items`, { score_id: scores[0].id, position: 0 }, owner.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.patch(`/v1/setlists/${setlist}`, { name: "x", version: s.version - 1 }, owner.access), 409, "VERSION_CONFLICT");
  });
});

describe("concurrent reorders", () => {
  test("two clients reorder from the same version: one wins, the other gets 409, the order stays whole", async () => {
    for (let round = 0; round < 5; round++) {
      const s = await current();
      const ids = s.items.map((i) => i.id);
      const a = [...ids].reverse();
      const b = [...ids.slice(1), ids[0]];
      const [ra, rb] = await Promise.all([
        api.post(`/v1/setlists/${setlist}/items`, { order: a, version: s.version }, owner.access),
        api.post(`/v1/setlists/${setlist}/items`, { order: b, version: s.version }, editor.access),
      ]);
      const statuses = [ra.status, rb.status].sort();
      assert.deepEqual(statuses, [200, 409], JSON.stringify([ra.body, rb.body]));
      const after = await current();
      const winner = ra.status === 200 ? a : b;
      assert.deepEqual(after.items.map((i) => i.id), winner);
      assert.deepEqual(positions(after), ids.map((_, i) => i + 1));
      assert.equal(after.version, s.version + 1);
    }
  });

  test("concurrent adds without a version all land, densely", async () => {
    const before = await current();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        api.post(`/v1/setlists/${setlist}/items`, { score_id: scores[i % 3].id }, i % 2 ? editor.access : owner.access)),
    );
    for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
    const after = await current();
    assert.equal(after.items.length, before.items.length + 6);
    assert.deepEqual(positions(after), after.items.map((_, i) => i + 1));
  });
});

describe("public links", () => {
  test("a live link shows the setlist read-only, without members, with download URLs", async () => {
    const link = (await api.post(`/v1/setlists/${setlist}/links`, {}, owner.access)).body.link;
    assert.match(link.url, new RegExp(`/v1/shared/${link.token.replace(/[.]/g, "\\.")}$`));
    const res = await api.get(`/v1/shared/${link.token}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.setlist.id, setlist);
    assert.equal(res.body.setlist.role, "link");
    assert.equal(res.body.setlist.members, undefined);
    const item = res.body.setlist.items[0];
    const dl = await api.get(`/v1/shared/${link.token}/items/${item.id}/download-url`);
    assert.equal(dl.status, 200);
    assert.equal((await w.mf.dispatchFetch(dl.body.url)).status, 200);
    assert.equal((await api.get(`/v1/shared/${link.token}/items/itm_${"0".repeat(32)}/download-url`)).status, 404);
    const listed = (await api.get(`/v1/setlists/${setlist}/links`, owner.access)).body.links;
    assert.ok(listed.some((l) => l.id === link.id && l.token === link.token && l.active));
  });

  test("revoked, expired and forged links answer 404 like a link that never existed", async () => {
    const make = async (body = {}) => (await api.post(`/v1/setlists/${setlist}/links`, body, owner.access)).body.link;
    const revoked = await make();
    assert.equal((await api.json("DELETE", `/v1/setlists/${setlist}/links/${revoked.id}`, undefined, owner.access)).status, 204);
    const expired = await make({ expires_at: new Date(Date.now() + 3600_000).toISOString() });
    await (await w.db()).prepare("update setlist_links set expires_at = ? where id = ?").bind(new Date(Date.now() - 1000).toISOString(), expired.id).run();
    const forged = revoked.token.slice(0, -2) + (revoked.token.endsWith("AA") ? "BB" : "AA");
    const bodies = [];
    for (const t of [revoked.token, expired.token, forged, "nonsense"]) {
      const res = await api.get(`/v1/shared/${t}`);
      assertEnvelope(assert, res, 404, "NOT_FOUND");
      bodies.push(JSON.stringify(res.body));
      assert.equal((await api.get(`/v1/shared/${t}/items/itm_${"0".repeat(32)}/download-url`)).status, 404);
    }
    assert.equal(new Set(bodies).size, 1);
    assertEnvelope(assert, await api.post(`/v1/setlists/${setlist}/links`, { expires_at: "2001-01-01T00:00:00Z" }, owner.access), 422, "VALIDATION_FAILED");
  });
});

describe("comments", () => {
  test("newest first; the owner deletes any, authors their own", async () => {
    const item = (await current()).items[0].id;
    const base = `/v1/setlists/${setlist}/items/${item}/comments`;
    const first = (await api.post(base, { body: "first" }, viewer.access)).body.comment;
    const second = (await api.post(base, { body: "second" }, editor.access)).body.comment;
    const list = (await api.get(base, viewer.access)).body.comments;
    assert.deepEqual(list.slice(0, 2).map((c) => c.body), ["second", "first"]);
    assert.equal(list[0].author.display_name, "Player");
    assertEnvelope(assert, await api.json("DELETE", `${base}/${second.id}`, undefined, viewer.access), 403, "FORBIDDEN");
    assert.equal((await api.json("DELETE", `${base}/${first.id}`, undefined, viewer.access)).status, 204);
    assert.equal((await api.json("DELETE", `${base}/${second.id}`, undefined, owner.access)).status, 204);
    assertEnvelope(assert, await api.post(base, { body: "" }, viewer.access), 422, "VALIDATION_FAILED");
    assertEnvelope(assert, await api.post(base, { body: "x".repeat(2001) }, viewer.access), 422, "VALIDATION_FAILED");
  });
});

describe("a deleted score", () => {
  test("leaves every setlist, closes the gaps and says so in the history", async () => {
    const victim = await api.uploadScore(owner.access, makePdf({ title: "Doomed Ballad" }), { title: "Doomed Ballad" });
    const id = await newSetlist("with a doomed ballad");
    await api.post(`/v1/setlists/${id}/items`, { score_id: victim.id, position: 2 }, owner.access);
    await api.post(`/v1/setlists/${id}/items`, { score_id: victim.id }, owner.access);
    const before = await current(id);
    assert.equal((await api.json("DELETE", `/v1/scores/${victim.id}`, undefined, owner.access)).status, 204);
    // In the trash: the items stay in place, shown to members without title or URLs.
    const trashed = (await api.get(`/v1/setlists/${id}`, editor.access)).body.setlist;
    assert.equal(trashed.items.length, before.items.length);
    const hidden = trashed.items.filter((i) => i.trashed);
    assert.equal(hidden.length, 2);
    assert.ok(hidden.every((i) => Object.keys(i).sort().join() === "id,position,trashed"), JSON.stringify(hidden));
    assert.equal(trashed.version, before.version + 1);
    assert.equal(trashed.history[0].kind, "score_trashed");
    const owners = (await api.get(`/v1/setlists/${id}`, owner.access)).body.setlist;
    assert.ok(owners.items.filter((i) => i.trashed).every((i) => i.title === "Doomed Ballad" && i.score_id === victim.id));
    // Purged: the items leave, the gaps close.
    assert.equal((await api.json("DELETE", `/v1/trash/${victim.id}`, undefined, owner.access)).status, 204);
    const after = (await api.get(`/v1/setlists/${id}`, editor.access)).body.setlist;
    assert.equal(after.items.length, before.items.length - 2);
    assert.ok(!after.items.some((i) => i.score_id === victim.id));
    assert.deepEqual(positions(after), after.items.map((_, i) => i + 1));
    assert.equal(after.version, before.version + 2);
    assert.equal(after.history[0].kind, "score_deleted");
    assert.equal(after.history[0].detail.title, "Doomed Ballad");
  });
});
