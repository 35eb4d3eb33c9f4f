// The attacker of bench/attack.sh: a user who uploads hostile PDFs (decompression bombs and
// friends, tests/e2e/hostile.mjs) and shares them through a public link, then, until killed,
// keeps uploading new bombs and hammers the link's routes (the setlist and its items' page
// images) from many client addresses. Prints what it sent and what came back on SIGTERM.
//   node bench/attack.mjs BASE_URL READY_FILE [CONCURRENCY]
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { all } from "../tests/e2e/hostile.mjs";
import { makePdf } from "../tests/e2e/pdf.mjs";

const [base, readyFile, concurrency = "8"] = process.argv.slice(2);
// ATTACK=links (public-link routes only), uploads (hostile uploads only) or both (default).
const mix = process.env.ATTACK ?? "both";
// BENIGN=1 uploads ordinary PDFs instead (to tell the cost of uploading from that of bombs).
const benign = process.env.BENIGN === "1";
const password = "Attack-pass-word-1";
const email = `attacker-${Date.now()}@example.test`;
const counts = {};
const count = (k) => (counts[k] = (counts[k] ?? 0) + 1);

async function call(method, path, { body, token, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h["content-type"] = "application/json";
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

async function upload(token, bytes, title) {
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const up = await call("POST", "/v1/uploads", { token, body: { filename: "x.pdf", size: bytes.length, mime: "application/pdf", sha256 } });
  if (up.status !== 201) return null;
  const put = await fetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
  await put.arrayBuffer();
  const created = await call("POST", "/v1/scores", { token, body: { upload_id: up.body.upload_id, title } });
  return created.status === 201 ? created.body.score.id : null;
}

await call("POST", "/v1/auth/register", { body: { email, password, display_name: "Attacker" } });
const token = (await call("POST", "/v1/auth/login", { body: { email, password } })).body.access;
const setlist = (await call("POST", "/v1/setlists", { token, body: { name: "Bait" } })).body.setlist.id;
const items = [];
for (const [name, make] of Object.entries(all)) {
  const id = await upload(token, make(), name);
  if (!id) continue;
  const s = await call("POST", `/v1/setlists/${setlist}/items`, { token, body: { score_id: id } });
  items.push(s.body.setlist.items.at(-1).id);
}
const link = (await call("POST", `/v1/setlists/${setlist}/links`, { token, body: {} })).body.link.token;
writeFileSync(readyFile, `${JSON.stringify({ items: items.length, link, item: items[0] })}\n`);

// Paused until SIGUSR1; SIGUSR2 pauses again (bench/attack.sh alternates calm and attack
// windows in one run); SIGTERM prints what was sent while firing and what came back.
let stop = false;
let firing = false;
let firedFor = 0;
let since = 0;
process.on("SIGUSR1", () => {
  firing = true;
  since = Date.now();
});
process.on("SIGUSR2", () => {
  if (firing) firedFor += Date.now() - since;
  firing = false;
});
process.on("SIGTERM", () => {
  stop = true;
  if (firing) firedFor += Date.now() - since;
  console.log(JSON.stringify({ seconds: Math.round(firedFor / 100) / 10, answers: counts }));
  process.exit(0);
});

let n = 0;
const makers = Object.values(all);

/** One attack request of the given kind (0: a fresh hostile upload and its page image). */
async function strike(kind, k) {
  n++;
  const ip = `203.0.${k % 250}.${n % 250}`;
  try {
    if (kind === 0) {
      // A fresh file each time: new bytes, new processing, new page renders to ask for.
      const body = benign ? makePdf({ pages: 2 }) : makers[n % makers.length]();
      const bytes = Buffer.concat([body, Buffer.from(`\n%${n}-${Date.now()}\n`)]);
      const id = await upload(token, bytes, `bomb ${n}`);
      count(id ? "upload:created" : "upload:refused");
      if (id) count((await call("GET", `/v1/scores/${id}/download-url?page=${1 + (n % 3)}`, { token })).status);
    } else if (kind < 4) {
      count((await call("GET", `/v1/shared/${link}`, { headers: { "cf-connecting-ip": ip } })).status);
    } else {
      const item = items[n % items.length];
      const r = await call("GET", `/v1/shared/${link}/items/${item}/download-url?page=${1 + (n % 5)}`, { headers: { "cf-connecting-ip": ip } });
      count(r.status);
    }
  } catch (e) {
    count(`error:${e.cause?.code ?? e.message}`);
  }
}

if (process.env.FLOOD === "1") {
  // Closed loop: `concurrency` attackers, each sending its next request as soon as the last
  // one is answered (a volumetric flood; its share of the CPU follows its share of connections).
  const loop = async (k) => {
    while (!stop) {
      if (!firing) await new Promise((r) => setTimeout(r, 50));
      else await strike(mix === "uploads" ? 0 : mix === "links" ? 1 + (n % 9) : n % 10, k);
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, (_, k) => loop(k)));
} else {
  // Open loop at fixed rates, at and beyond every limit: hostile uploads at UPLOAD_RATE per
  // second (the account's upload-URL limit is 2/s) and public-link requests at LINK_RATE per
  // second (five times the per-link limit of 10/s), from rotating addresses.
  const uploadRate = Number(process.env.UPLOAD_RATE ?? 2);
  const linkRate = Number(process.env.LINK_RATE ?? 50);
  let inflight = 0;
  const fire = (kind) => {
    if (!firing) return;
    if (inflight >= 64) return count("skipped");
    inflight++;
    strike(kind, n).finally(() => inflight--);
  };
  if (mix !== "links" && uploadRate > 0) setInterval(() => fire(0), 1000 / uploadRate);
  if (mix !== "uploads" && linkRate > 0) setInterval(() => fire(1 + (n % 9)), 1000 / linkRate);
}
