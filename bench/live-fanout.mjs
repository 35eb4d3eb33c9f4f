// Drives bench/live.sh: node bench/live-fanout.mjs BASE TOKEN "10 50 200" GOTOS WORKERD_PIDS
// (TOKEN is an admin's: the room's own figures come from GET /v1/admin/live/{id}).
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const [base, token, ns, gotosArg, pidsArg = ""] = process.argv.slice(2);
const GOTOS = Number(gotosArg);
const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
const api = async (method, path, body) => {
  const res = await fetch(base + path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
};
const wsUrl = (url) => {
  const u = new URL(url);
  u.host = new URL(base).host;
  return u.toString();
};
const open = (url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(wsUrl(url));
  ws.on("open", () => resolve(ws));
  ws.on("error", reject);
});
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const scores = (await api("GET", "/v1/scores?limit=2")).scores;

async function setlistWithRoom() {
  const id = (await api("POST", "/v1/setlists", { name: "Bench" })).setlist.id;
  const setlist = (await api("POST", `/v1/setlists/${id}/items`, { score_id: scores[0].id })).setlist;
  const link = (await api("POST", `/v1/setlists/${id}/links`, {})).link;
  return { id, item: setlist.items[0].id, link };
}

async function followers(link, n) {
  const out = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, n - i) }, async () => {
      const t = await fetch(`${base}/v1/shared/${link.token}/live/ticket`, { method: "POST" }).then((r) => r.json());
      return open(t.url);
    }));
    out.push(...batch);
  }
  return out;
}

console.log(`## fan-out (one leader, N guests, ${GOTOS} gotos each; loopback)`);
for (const n of ns.split(" ").map(Number)) {
  const { id, item, link } = await setlistWithRoom();
  const leader = await open((await api("POST", `/v1/setlists/${id}/live/ticket`)).url);
  const socks = await followers(link, n);
  const lat = [];
  let pending = 0;
  let done;
  let sentAt = 0;
  for (const s of socks) {
    s.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (f.type !== "state" || f.page === undefined || f.page === null) return;
      lat.push(performance.now() - sentAt);
      if (--pending === 0) done();
    });
  }
  leader.send(JSON.stringify({ type: "lead" }));
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  for (let g = 1; g <= GOTOS; g++) {
    pending = n;
    const all = new Promise((r) => (done = r));
    sentAt = performance.now();
    leader.send(JSON.stringify({ type: "goto", item_id: item, page: g }));
    await all;
    await new Promise((r) => setTimeout(r, 55)); // stay under the leader's 20 frames a second
  }
  const elapsed = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  console.log(
    `N=${String(n).padStart(3)}  p50 ${pct(lat, 50).toFixed(1)} ms  p99 ${pct(lat, 99).toFixed(1)} ms  ` +
      `max ${lat[lat.length - 1].toFixed(1)} ms  delivered ${(lat.length / elapsed).toFixed(0)} frames/s (${lat.length} frames)`,
  );
  for (const s of [leader, ...socks]) s.close();
  await new Promise((r) => setTimeout(r, 500));
}

console.log("## cost of the notice on a REST write (PATCH /v1/setlists/{id}, p50 of 1 000 each, interleaved)");
// Without: a setlist whose room was never opened (no ticket issued), so its writes send no
// notice. With: a room of 10 guests, each of whom hears every write. The two kinds of write
// alternate (ABBA), one at a time, so both see the same machine; the room's work for a write
// runs after its response (wait_until) and shares the runtime's thread with the next write.
const quiet = await setlistWithRoom();
const busy = await setlistWithRoom();
const listeners = await followers(busy.link, 10);
let heard = 0;
for (const s of listeners) s.on("message", (d) => { if (JSON.parse(d.toString()).type === "setlist_changed") heard++; });
const timed = async (id, i) => {
  const t = performance.now();
  await api("PATCH", `/v1/setlists/${id}`, { venue: `Stage ${i}` });
  return performance.now() - t;
};
for (let i = 0; i < 100; i++) await timed(i % 2 ? busy.id : quiet.id, i); // warm-up
const without = [], withRoom = [];
for (let i = 0; i < 1000; i++) {
  const order = i % 2 ? [busy, quiet] : [quiet, busy];
  for (const s of order) (s === quiet ? without : withRoom).push(await timed(s.id, i));
}
without.sort((x, y) => x - y);
withRoom.sort((x, y) => x - y);
await new Promise((r) => setTimeout(r, 500));
console.log(
  `no notice (room never opened) p50 ${pct(without, 50).toFixed(2)} ms p90 ${pct(without, 90).toFixed(2)}   ` +
    `notice to a room of 10 p50 ${pct(withRoom, 50).toFixed(2)} ms p90 ${pct(withRoom, 90).toFixed(2)}   ` +
    `ratio of p50 ${(pct(withRoom, 50) / pct(without, 50)).toFixed(3)}   (${heard} notices heard of ${10 * 1050})`,
);
for (const s of listeners) s.close();
await new Promise((r) => setTimeout(r, 500));

console.log("## an idle room of 200 sockets: workerd's memory, and pings answered without waking it");
const rss = () => pidsArg.split(",").filter(Boolean).reduce((sum, pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return sum + (m ? Number(m[1]) : 0);
}, 0);
{
  // A first room of 200, closed again, so that the runtime's own growth (code, caches, the
  // tickets' requests) is behind us; then the second room's sockets are what grows.
  const warm = await setlistWithRoom();
  for (const s of await followers(warm.link, 200)) s.close();
  await new Promise((r) => setTimeout(r, 3000));
  const idle = await setlistWithRoom();
  const opener = await open((await api("POST", `/v1/setlists/${idle.id}/live/ticket`)).url);
  await new Promise((r) => setTimeout(r, 2000));
  const before = rss();
  const socks = await followers(idle.link, 199);
  await new Promise((r) => setTimeout(r, 5000)); // idle
  const after = rss();
  const figures = async () => (await api("GET", `/v1/admin/live/${idle.id}`)).room;
  const f0 = await figures();
  let pongs = 0;
  const all = [opener, ...socks];
  for (const s of all) s.on("message", (d) => { if (d.toString() === '{"type":"pong"}') pongs++; });
  for (let round = 0; round < 5; round++) for (const s of all) s.send('{"type":"ping"}');
  while (pongs < all.length * 5) await new Promise((r) => setTimeout(r, 20));
  const f1 = await figures();
  console.log(
    `sockets ${f1.sockets}  workerd RSS ${(before / 1024).toFixed(1)} → ${(after / 1024).toFixed(1)} MiB ` +
      `(+${((after - before) / 1024).toFixed(1)} MiB, ${((after - before) / all.length).toFixed(1)} KiB a socket, tickets' requests included)`,
  );
  console.log(
    `pings ${all.length * 5} sent, ${pongs} pongs; frames the room's handlers ran: ${f0.frames_handled} before, ${f1.frames_handled} after ` +
      `(woke ${f0.woke_at === f1.woke_at ? "once, not again" : "again"})`,
  );
  for (const s of all) s.close();
}
process.exit(0);

