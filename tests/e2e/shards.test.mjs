// Users spread over two D1 databases (README "Past one database", src/domain/shard.rs), checked
// in the databases themselves: an owner and a member whose ids put them in different
// databases share a setlist, follow it live and annotate it, and every row is where the
// routing says (accounts in both, sessions and libraries in their owner's only); an admin
// change reaches both copies. The rest of the suite runs every other flow over the same two
// databases with users wherever their random ids put them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { SHARDS, eventually, startWorker } from "./harness.mjs";
import { invariants } from "./invariants.mjs";
import { makePdf } from "./pdf.mjs";

/** The database of an id: its virtual shard (first byte of the random part), 00–7f and 80–ff. */
const home = (id) => (parseInt(id.slice(id.indexOf("_") + 1, id.indexOf("_") + 3), 16) < 128 ? 0 : 1);
const count = async (db, sql, ...args) => (await db.prepare(sql).bind(...args).first()).n;

let w, api, owner, member, dbs, setlist, score, item;

before(async () => {
  if (SHARDS.length < 2 || process.env.E2E_HOME === "1") return;
  w = await startWorker();
  api = w.api;
  dbs = await Promise.all(SHARDS.map((_, i) => w.shard(i)));
  const people = [];
  for (let n = 0; n < 40 && !(people.some((p) => home(p.user.id) === 0) && people.some((p) => home(p.user.id) === 1)); n++) {
    people.push(await api.signup(`shard${n}@example.com`));
  }
  owner = people.find((p) => home(p.user.id) === 0);
  member = people.find((p) => home(p.user.id) === 1);
  score = await api.uploadScore(owner.access, makePdf({ title: "Spread", pages: 2 }), { title: "Spread" });
  const made = await api.post("/v1/setlists", { name: "Across" }, owner.access);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  setlist = made.body.setlist.id;
  assert.equal((await api.post(`/v1/setlists/${setlist}/members`, { email: member.user.email, role: "editor" }, owner.access)).status, 201);
  const added = await api.post(`/v1/setlists/${setlist}/items`, { score_id: score.id }, member.access);
  assert.equal(added.status, 201, JSON.stringify(added.body));
  item = added.body.setlist?.items?.at(-1)?.id;
  assert.ok(item, JSON.stringify(added.body));
});
after(() => w?.close());

describe("two databases", { skip: (SHARDS.length < 2 && "E2E_SHARDS=1") || (process.env.E2E_HOME === "1" && "E2E_HOME=1: every user in one database") }, () => {
  test("every id made for a library carries its owner's database, and its rows are only there", async () => {
    for (const id of [score.id, setlist, item]) assert.equal(home(id), 0, id);
    assert.equal(await count(dbs[0], "select count(*) n from scores where id = ?", score.id), 1);
    assert.equal(await count(dbs[1], "select count(*) n from scores where id = ?", score.id), 0);
    assert.equal(await count(dbs[1], "select count(*) n from setlists where id = ?", setlist), 0);
    assert.equal(await count(dbs[0], "select count(*) n from setlist_members where user_id = ?", member.user.id), 1);
  });

  test("accounts are in both databases, sessions only in their user's", async () => {
    for (const who of [owner, member]) {
      for (const db of dbs) assert.equal(await count(db, "select count(*) n from users where id = ?", who.user.id), 1);
      const mine = home(who.user.id);
      assert.ok((await count(dbs[mine], "select count(*) n from sessions where user_id = ?", who.user.id)) >= 1);
      assert.equal(await count(dbs[1 - mine], "select count(*) n from sessions where user_id = ?", who.user.id), 0);
    }
  });

  test("the member finds, reads and annotates the setlist in the owner's database", async () => {
    const shared = await api.get("/v1/setlists?shared=true", member.access);
    assert.deepEqual(shared.body.setlists.map((s) => s.id), [setlist]);
    assert.equal(shared.body.setlists[0].role, "editor");
    assert.deepEqual((await api.get("/v1/setlists", member.access)).body.setlists, []);
    const view = await api.get(`/v1/setlists/${setlist}`, member.access);
    assert.equal(view.status, 200, JSON.stringify(view.body));
    const before = (await api.get("/v1/me/usage", member.access)).body.used_bytes;
    const put = await api.put(`/v1/setlists/${setlist}/items/${item}/annotations/pencil`, { data: { ink: "x".repeat(1000) } }, member.access);
    assert.equal(put.status, 201, JSON.stringify(put.body));
    assert.equal((await api.get("/v1/me/usage", member.access)).body.used_bytes, before + put.body.annotation.bytes);
    assert.equal(await count(dbs[0], "select count(*) n from annotations where user_id = ?", member.user.id), 1);
    const stats = await api.get("/v1/me/stats", member.access);
    assert.equal(stats.body.stats.setlists_shared_with_me, 1);
    await invariants(w);
  });

  test("the member follows the owner's room live", async () => {
    const ticket = await api.post(`/v1/setlists/${setlist}/live/ticket`, undefined, member.access);
    assert.equal(ticket.status, 201, JSON.stringify(ticket.body));
    const url = new URL(ticket.body.url);
    url.protocol = "ws:";
    url.host = new URL(w.url).host;
    const first = await new Promise((resolve, reject) => {
      const ws = new WebSocket(url.toString());
      ws.on("message", (data) => {
        resolve(JSON.parse(data.toString()));
        ws.close();
      });
      ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on("error", reject);
    });
    assert.equal(typeof first.type, "string", JSON.stringify(first));
  });

  test("a dead letter for a library in the second database marks its score failed there, and an admin re-runs it", async () => {
    const mine = await api.settled((await api.uploadScore(member.access, makePdf({ pages: 1 }))).id, member.access);
    assert.equal(home(mine.id), 1, mine.id);
    await dbs[1].prepare("update scores set thumbnail_state = 'pending', thumbnail_reason = null where id = ?").bind(mine.id).run();
    await (await w.deadLetters()).send({ task: "thumbnail", score_id: mine.id });
    await eventually(async () => (await api.get(`/v1/scores/${mine.id}`, member.access)).body.score.processing.thumbnail.state === "failed");
    // Recorded in the first database, where its id (no owner in it) routes the re-run.
    const dead = await dbs[0].prepare("select id from task_runs where state = 'dead' and detail like ?").bind(`%${mine.id}%`).first();
    assert.ok(dead, "the dead letter is recorded in the first database");
    await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(owner.user.id).run();
    const redo = await api.post(`/v1/admin/tasks/${encodeURIComponent(dead.id)}/retry`, {}, owner.access);
    assert.equal(redo.status, 202, JSON.stringify(redo.body));
    await eventually(async () => (await api.get(`/v1/scores/${mine.id}`, member.access)).body.score.processing.thumbnail.state === "ok");
  });

  test("an admin's change reaches both copies and ends the member's sessions", async () => {
    await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(owner.user.id).run();
    const off = await api.patch(`/v1/admin/users/${member.user.id}`, { disabled: true }, owner.access);
    assert.equal(off.status, 200, JSON.stringify(off.body));
    for (const db of dbs) {
      assert.equal(await count(db, "select count(*) n from users where id = ? and disabled_at is not null", member.user.id), 1);
    }
    assert.equal((await api.get("/v1/me", member.access)).status, 401);
    const listed = await api.get(`/v1/admin/users?q=${encodeURIComponent(member.user.email)}`, owner.access);
    assert.deepEqual(listed.body.users.map((u) => u.id), [member.user.id]);
  });
});

test("E2E_HOME=1 puts every new account in the second database", { skip: (process.env.E2E_HOME !== "1" || SHARDS.length < 2) && "not E2E_HOME=1" }, async () => {
  const only = await startWorker();
  try {
    for (let n = 0; n < 4; n++) {
      const { user } = await only.api.signup(`home${n}@example.com`);
      assert.equal(home(user.id), 1, user.id);
    }
  } finally {
    await only.close();
  }
});
