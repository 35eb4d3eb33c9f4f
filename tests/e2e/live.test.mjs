// Live setlists (SPEC §9) in workerd: the built Worker's Durable Object rooms over real
// WebSockets on loopback — tickets (single use, forged, plain GET), a leader and followers, role
// rules, REST writes reaching every socket, revocations closing sockets, resume from the log,
// bad and flooding frames, and the room's state surviving a restart of the runtime.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { createHmac } from "node:crypto";
import { devVars, eventually, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

let w, api, owner, editor, viewer, outsider, scores;

before(async () => {
  w = await startWorker();
  api = w.api;
  [owner, editor, viewer, outsider] = await Promise.all(
    ["owner", "editor", "viewer", "outsider"].map((r) => api.signup(`${r}@live.example`)),
  );
  scores = [];
  for (const title of ["Autumn Leaves", "Blue Bossa"]) {
    scores.push(await api.uploadScore(owner.access, makePdf({ title }), { title }));
  }
});
after(() => w?.close());

/** A setlist with the editor and viewer as members and two items: { id, items }. */
async function band(name = "Gig") {
  const res = await api.post("/v1/setlists", { name }, owner.access);
  assert.equal(res.status, 201);
  const id = res.body.setlist.id;
  for (const [who, role] of [[editor, "editor"], [viewer, "viewer"]]) {
    assert.equal((await api.post(`/v1/setlists/${id}/members`, { email: who.user.email, role }, owner.access)).status, 201);
  }
  let items;
  for (const s of scores) {
    const r = await api.post(`/v1/setlists/${id}/items`, { score_id: s.id }, owner.access);
    assert.equal(r.status, 201);
    items = r.body.setlist.items.map((i) => i.id);
  }
  return { id, items };
}

async function ticket(setlist, who) {
  const r = await api.post(`/v1/setlists/${setlist}/live/ticket`, undefined, who.access);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** The ticket's socket URL on the Worker's real loopback port. */
function socketUrl(t, since) {
  const u = new URL(t.url);
  const base = new URL(w.url);
  u.protocol = "ws:";
  u.host = base.host;
  if (since !== undefined) u.searchParams.set("since", String(since));
  return u.toString();
}

/** A socket that buffers frames: `next(pred)` waits for the first matching one. */
class Client {
  constructor(ws) {
    this.ws = ws;
    this.frames = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => ws.on("close", (code) => resolve(code)));
    // When the room's close frame arrived (the socket turns CLOSING at once; "close" itself
    // waits for the local runtime to end the connection, which takes seconds more).
    this.closing = new Promise((resolve) => {
      const poll = setInterval(() => {
        if (ws.readyState >= WebSocket.CLOSING) {
          clearInterval(poll);
          resolve(Date.now());
          // The close frame (and its code) is in: end the connection here rather than wait
          // seconds for the local runtime to, so "close" fires now with the room's code.
          const ended = setInterval(() => {
            if (ws._closeFrameReceived || ws.readyState === WebSocket.CLOSED) {
              clearInterval(ended);
              ws.terminate();
            }
          }, 20);
          ended.unref();
        }
      }, 20);
      poll.unref();
    });
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => !w(f));
    });
  }
  static open(t, since) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl(t, since));
      const c = new Client(ws);
      ws.on("open", () => resolve(c));
      ws.on("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.on("error", reject);
    });
  }
  static async join(setlist, who, since) {
    const c = await Client.open(await ticket(setlist, who), since);
    c.hello = await c.next((f) => f.type === "hello");
    return c;
  }
  send(frame) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }
  /** The first frame (already received or coming) that matches, after index `from`. */
  next(pred, { from = 0, timeoutMs = 5000 } = {}) {
    const seen = this.frames.slice(from).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.waiters.push((f) => {
        if (!pred(f)) return false;
        clearTimeout(timer);
        resolve(f);
        return true;
      });
    });
  }
  close() {
    this.ws.close();
    return this.closed;
  }
}

describe("tickets", () => {
  test("members get a single-use ticket; outsiders and anonymous callers do not", { timeout: 30000 }, async () => {
    const { id } = await band();
    const t = await ticket(id, viewer);
    assert.match(t.url, /^ws:\/\/.+\/v1\/live\/.+$/);
    assert.ok(Date.parse(t.expires_at) > Date.now());
    assert.equal((await api.post(`/v1/setlists/${id}/live/ticket`, undefined, outsider.access)).status, 404);
    assert.equal((await api.post(`/v1/setlists/${id}/live/ticket`, undefined)).status, 401);
    const c = await Client.open(t);
    await c.next((f) => f.type === "hello" && f.role === "viewer");
    await assert.rejects(Client.open(t), (e) => e.status === 404, "a spent ticket");
    await c.close();
  });

  test("a plain GET is 426 and does not spend the ticket; a forged one is 404", { timeout: 30000 }, async () => {
    const { id } = await band();
    const t = await ticket(id, editor);
    const plain = await api.get(new URL(t.url).pathname);
    assert.equal(plain.status, 426);
    assert.equal(plain.body.error.code, "UPGRADE_REQUIRED");
    const bad = await api.get(`${new URL(t.url).pathname}?since=soon`);
    assert.equal(bad.status, 422);
    assert.ok(bad.body.error.fields.since);
    const c = await Client.open(t);
    await c.next((f) => f.type === "hello");
    await c.close();
    const forged = { url: t.url.replace(/.$/, (ch) => (ch === "A" ? "B" : "A")) };
    await assert.rejects(Client.open(forged), (e) => e.status === 404);
    assert.equal((await api.get("/v1/live/not-a-ticket")).status, 404);
  });

  test("an expired ticket, genuinely signed, is 404 and no upgrade", { timeout: 30000 }, async () => {
    const { id } = await band();
    // Signed as the Worker signs (base64url JSON "." base64url HMAC, with the ticket purpose's
    // key derived from the secret), so only the expiry differs from a ticket the Worker issued.
    const key = createHmac("sha256", devVars().JWT_SECRET).update("scoremate/live-ticket/v1").digest();
    const mint = (expires) => {
      const body = Buffer.from(JSON.stringify({ i: `tkt_${"0".repeat(31)}${expires % 10}`, s: id, b: { u: viewer.user.id }, e: expires })).toString("base64url");
      const token = `${body}.${createHmac("sha256", key).update(body).digest("base64url")}`;
      return { url: new URL(`/v1/live/${token}`, w.url).toString() };
    };
    const fresh = await Client.open(mint(Date.now() + 30000));
    await fresh.next((f) => f.type === "hello" && f.role === "viewer");
    await fresh.close();
    await assert.rejects(Client.open(mint(Date.now() - 1)), (e) => e.status === 404, "expired");
  });

  test("a public link gives guests a ticket; a revoked link gives none", { timeout: 30000 }, async () => {
    const { id } = await band();
    const link = (await api.post(`/v1/setlists/${id}/links`, {}, owner.access)).body.link;
    const r = await api.post(`/v1/shared/${link.token}/live/ticket`);
    assert.equal(r.status, 201);
    const guest = await Client.open(r.body);
    const hello = await guest.next((f) => f.type === "hello");
    assert.equal(hello.role, "guest");
    assert.equal((await api.raw("DELETE", `/v1/setlists/${id}/links/${link.id}`, { token: owner.access })).status, 204);
    assert.equal(await guest.closed, 4403, "a revoked link closes its guests' sockets");
    assert.equal((await api.post(`/v1/shared/${link.token}/live/ticket`)).status, 404);
  });
});

describe("expiring links", () => {
  // The room's alarm wakes it at the link's expiry.
  test("a link's guests are closed with 4403 when it expires", { timeout: 30000 }, async () => {
    const { id } = await band();
    const expires_at = new Date(Date.now() + 3000).toISOString();
    const link = (await api.post(`/v1/setlists/${id}/links`, { expires_at }, owner.access)).body.link;
    const guest = await Client.open((await api.post(`/v1/shared/${link.token}/live/ticket`)).body);
    await guest.next((f) => f.type === "hello");
    const closingAt = await guest.closing;
    assert.ok(closingAt - Date.parse(expires_at) < 1000, `closed ${closingAt - Date.parse(expires_at)} ms after the expiry`);
    assert.equal(await guest.closed, 4403);
  });
});

describe("a band following its leader", () => {
  test("the leader's goto reaches every follower; followers cannot lead or move", { timeout: 30000 }, async () => {
    const { id, items } = await band();
    const lead = await Client.join(id, editor);
    const a = await Client.join(id, viewer);
    const b = await Client.join(id, owner);
    assert.ok(b.hello.online.length >= 3, JSON.stringify(b.hello.online));
    lead.send({ type: "lead" });
    await a.next((f) => f.type === "state" && f.leader === editor.user.id);
    lead.send({ type: "goto", item_id: items[1], page: 3 });
    for (const c of [a, b, lead]) {
      const s = await c.next((f) => f.type === "state" && f.item_id === items[1]);
      assert.equal(s.page, 3);
      assert.equal(s.by, editor.user.id);
    }
    const mark = a.frames.length;
    a.send({ type: "goto", item_id: items[0], page: 1 });
    assert.equal((await a.next((f) => f.type === "error", { from: mark })).code, "NOT_LEADER");
    a.send({ type: "lead" });
    assert.equal((await a.next((f) => f.type === "error" && f.code === "FORBIDDEN", { from: mark })).code, "FORBIDDEN");
    lead.send({ type: "goto", item_id: "itm_notinthesetlist", page: 1 });
    assert.equal((await lead.next((f) => f.type === "error")).code, "BAD_MESSAGE");
    // The owner takes the lead over; the old leader no longer moves the band.
    b.send({ type: "lead" });
    await a.next((f) => f.type === "state" && f.leader === owner.user.id);
    const m2 = lead.frames.length;
    lead.send({ type: "goto", item_id: items[0], page: 1 });
    assert.equal((await lead.next((f) => f.type === "error", { from: m2 })).code, "NOT_LEADER");
    await Promise.all([lead.close(), a.close(), b.close()]);
  });

  test("a REST reorder reaches every socket with the new version", { timeout: 30000 }, async () => {
    const { id, items } = await band();
    const sockets = await Promise.all([owner, editor, viewer].map((u) => Client.join(id, u)));
    const res = await api.post(`/v1/setlists/${id}/items`, { order: [...items].reverse(), version: sockets[0].hello.state.version }, owner.access);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const c of sockets) {
      const f = await c.next((x) => x.type === "setlist_changed");
      assert.equal(f.what, "items");
      assert.equal(f.version, res.body.setlist.version);
    }
    await api.patch(`/v1/setlists/${id}`, { venue: "Main stage" }, owner.access);
    await sockets[2].next((x) => x.type === "setlist_changed" && x.what === "details");
    await Promise.all(sockets.map((c) => c.close()));
  });

  test("a part added to, renamed in or removed from a score in the setlist tells the room", { timeout: 30000 }, async () => {
    const { id } = await band();
    const v = await Client.join(id, viewer);
    const changes = () => v.frames.filter((f) => f.type === "setlist_changed" && f.what === "items").length;
    const made = await api.post(`/v1/scores/${scores[0].id}/parts`, { name: "Trumpet 1", pages: { first: 1, last: 1 } }, owner.access);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await v.next((f) => f.type === "setlist_changed" && f.what === "items");
    const part = made.body.part.id;
    assert.equal((await api.patch(`/v1/scores/${scores[0].id}/parts/${part}`, { name: "Trumpet 2" }, owner.access)).status, 200);
    await eventually(() => changes() === 2);
    assert.equal((await api.json("DELETE", `/v1/scores/${scores[0].id}/parts/${part}`, undefined, owner.access)).status, 204);
    await eventually(() => changes() === 3);
    await v.close();
  });

  test("trashing a score that is in the setlist tells the room and a goto to its item is refused; a restore tells it again", { timeout: 30000 }, async () => {
    const { id } = await band();
    const gone = await api.uploadScore(owner.access, makePdf({ title: "Gone" }), { title: "Gone" });
    const added = await api.post(`/v1/setlists/${id}/items`, { score_id: gone.id }, owner.access);
    const item = added.body.setlist.items.find((i) => i.score_id === gone.id).id;
    const lead = await Client.join(id, owner);
    lead.send({ type: "lead" });
    lead.send({ type: "goto", item_id: item, page: 2 });
    await lead.next((f) => f.type === "state" && f.item_id === item);
    assert.equal((await api.raw("DELETE", `/v1/scores/${gone.id}`, { token: owner.access })).status, 204);
    const changed = await lead.next((f) => f.type === "setlist_changed");
    assert.equal(changed.what, "items");
    assert.equal(changed.version, (await api.get(`/v1/setlists/${id}`, owner.access)).body.setlist.version);
    await lead.next((f) => f.type === "state" && f.item_id === null, { from: lead.frames.indexOf(changed) });
    const mark = lead.frames.length;
    lead.send({ type: "goto", item_id: item, page: 1 });
    assert.equal((await lead.next((f) => f.type === "error", { from: mark })).code, "BAD_MESSAGE");
    // Restored from the trash: the room hears it and the item can be played again.
    const back = lead.frames.length;
    assert.equal((await api.raw("POST", `/v1/trash/${gone.id}/restore`, { token: owner.access })).status, 200);
    assert.equal((await lead.next((f) => f.type === "setlist_changed", { from: back })).what, "items");
    lead.send({ type: "goto", item_id: item, page: 1 });
    await lead.next((f) => f.type === "state" && f.item_id === item, { from: back });
    await lead.close();
  });

  test("removing a member closes their sockets with 4403; deleting the setlist closes all with 4404", { timeout: 30000 }, async () => {
    const { id } = await band();
    const v = await Client.join(id, viewer);
    const o = await Client.join(id, owner);
    assert.equal((await api.raw("DELETE", `/v1/setlists/${id}/members/${viewer.user.id}`, { token: owner.access })).status, 204);
    assert.equal(await v.closed, 4403);
    await o.next((f) => f.type === "presence" && !f.online.some((p) => p.user_id === viewer.user.id));
    const e = await Client.join(id, editor);
    assert.equal((await api.raw("DELETE", `/v1/setlists/${id}`, { token: owner.access })).status, 204);
    assert.deepEqual(await Promise.all([o.closed, e.closed]), [4404, 4404]);
  });

  test("disabling an owner closes every socket of their rooms; disabling a member closes theirs", { timeout: 30000 }, async () => {
    const [boss, player, admin] = await Promise.all(["boss", "player", "live-admin"].map((r) => api.signup(`${r}@live.example`)));
    await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(admin.user.id).run();
    const mine = (await api.post("/v1/setlists", { name: "Boss's gig" }, boss.access)).body.setlist.id;
    assert.equal((await api.post(`/v1/setlists/${mine}/members`, { email: player.user.email, role: "viewer" }, boss.access)).status, 201);
    const { id: theirs } = await band();
    assert.equal((await api.post(`/v1/setlists/${theirs}/members`, { email: player.user.email, role: "viewer" }, owner.access)).status, 201);
    const [b, p1, p2, o] = await Promise.all([Client.join(mine, boss), Client.join(mine, player), Client.join(theirs, player), Client.join(theirs, owner)]);
    assert.equal((await api.patch(`/v1/admin/users/${player.user.id}`, { disabled: true }, admin.access)).status, 200);
    assert.deepEqual(await Promise.all([p1.closed, p2.closed]), [4403, 4403]);
    assert.equal((await api.patch(`/v1/admin/users/${boss.user.id}`, { disabled: true }, admin.access)).status, 200);
    assert.equal(await b.closed, 4403);
    o.send({ type: "lead" });
    await o.next((f) => f.type === "state" && f.leader === owner.user.id);
    await o.close();
  });

  test("pings are answered without waking the room's handlers (admin room figures)", { timeout: 30000 }, async () => {
    const admin = await api.signup("live-admin-2@live.example");
    await (await w.db()).prepare("update users set role = 'admin' where id = ?").bind(admin.user.id).run();
    const { id } = await band();
    assert.equal((await api.get(`/v1/admin/live/${id}`, admin.access)).status, 404, "a room never opened");
    assert.equal((await api.get(`/v1/admin/live/${id}`, owner.access)).status, 404, "admins only");
    const c = await Client.join(id, viewer);
    const figures = async () => {
      const r = await api.get(`/v1/admin/live/${id}`, admin.access);
      assert.equal(r.status, 200);
      return r.body.room;
    };
    const before = await figures();
    assert.equal(before.sockets, 1);
    const mark = c.frames.length;
    for (let i = 0; i < 200; i++) c.send('{"type":"ping"}');
    await eventually(() => c.frames.slice(mark).filter((f) => f.type === "pong").length === 200);
    const after = await figures();
    assert.equal(after.frames_handled, before.frames_handled, "200 pings, no handler run");
    assert.equal(after.woke_at, before.woke_at);
    // The same ping spelt differently is not the auto-response's: the handler answers it.
    for (let i = 0; i < 3; i++) c.send('{ "type": "ping" }');
    await eventually(() => c.frames.slice(mark).filter((f) => f.type === "pong").length === 203);
    assert.equal((await figures()).frames_handled, before.frames_handled + 3);
    await c.close();
  });

  test("a reconnect with ?since= replays exactly the missed events", { timeout: 30000 }, async () => {
    const { id, items } = await band();
    const lead = await Client.join(id, owner);
    lead.send({ type: "lead" });
    const first = await lead.next((f) => f.type === "state");
    const follower = await Client.join(id, viewer);
    const seen = follower.hello.seq;
    await follower.close();
    const mark = lead.frames.length;
    for (const page of [1, 2, 3]) lead.send({ type: "goto", item_id: items[0], page });
    await lead.next((f) => f.type === "state" && f.page === 3, { from: mark });
    const back = await Client.join(id, viewer, seen);
    const replayed = await back.next((f) => f.type === "state" && f.page === 3);
    const events = back.frames.filter((f) => f.type !== "hello" && f.seq <= back.hello.seq);
    assert.deepEqual(
      events.map((f) => f.seq),
      Array.from({ length: back.hello.seq - seen }, (_, i) => seen + 1 + i),
      "every event after since, once, in order",
    );
    assert.ok(replayed.seq > first.seq);
    await Promise.all([lead.close(), back.close()]);
  });
});

describe("bad frames", () => {
  test("non-JSON, unknown and oversize frames are BAD_MESSAGE; a flood is RATE_LIMITED, then closed", { timeout: 30000 }, async () => {
    const { id } = await band();
    const c = await Client.join(id, editor);
    for (const bad of ["not json", JSON.stringify({ type: "dance" }), JSON.stringify({ type: "ping", pad: "x".repeat(5000) })]) {
      const mark = c.frames.length;
      c.send(bad);
      assert.equal((await c.next((f) => f.type === "error", { from: mark })).code, "BAD_MESSAGE");
    }
    const flood = await Client.join(id, viewer);
    for (let i = 0; i < 60; i++) flood.send({ type: "release" });
    await flood.next((f) => f.type === "error" && f.code === "RATE_LIMITED");
    assert.equal(await flood.closed, 4429);
    // Pings are answered (by the runtime's auto-response).
    c.send({ type: "ping" });
    await c.next((f) => f.type === "pong");
    await c.close();
  });
});

describe("persistence", () => {
  test("the room's state survives a restart of the runtime", { timeout: 30000 }, async () => {
    const { id, items } = await band("Persisted");
    const lead = await Client.join(id, owner);
    lead.send({ type: "lead" });
    lead.send({ type: "goto", item_id: items[1], page: 7 });
    await lead.next((f) => f.type === "state" && f.page === 7);
    await lead.close();
    const state = w.state;
    await w.close({ keep: true });
    w = await startWorker({ state });
    api = w.api;
    const back = await Client.join(id, viewer);
    assert.equal(back.hello.state.item_id, items[1]);
    assert.equal(back.hello.state.page, 7);
    assert.ok(back.hello.seq >= 3);
    await back.close();
  });
});
