// Closed-loop load driver for write endpoints (wrk cannot chain PUT + POST per request).
// usage: node bench/drive.mjs BASE_URL EMAIL PASSWORD [N=300] [CONCURRENCY=10]
// Measures POST /v1/uploads req/s, then (after PUTting every file) POST /v1/scores req/s.
import { createHash, randomBytes } from "node:crypto";
import { client } from "./client.mjs";

const [base, email, password, n = "300", conc = "10"] = process.argv.slice(2);
const N = Number(n), C = Number(conc);
const json = client(base);

const login = await json("POST", "/v1/auth/login", { email, password });
if (login.status !== 200) throw new Error(`login ${login.status}`);
const token = login.body.access;
const pdf = (i) => Buffer.from(`%PDF-1.4\n% bench ${i} ${randomBytes(8).toString("hex")}\n%%EOF\n`);

async function phase(name, count, fn) {
  let next = 0, ok = 0;
  const lat = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      if (await fn(i)) ok++;
      lat.push(performance.now() - t);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const p99 = lat[Math.floor(lat.length * 0.99)] ?? 0;
  console.log(`${name.padEnd(18)} ${(count / secs).toFixed(1).padStart(8)} req/s  p99 ${p99.toFixed(1)} ms  ok ${ok}/${count}`);
  return ok;
}

const files = Array.from({ length: N }, (_, i) => pdf(i));
const uploads = [];
await phase("POST /v1/uploads", N, async (i) => {
  const b = files[i];
  const r = await json("POST", "/v1/uploads", { filename: `${i}.pdf`, size: b.length, mime: "application/pdf", sha256: createHash("sha256").update(b).digest("hex") }, token);
  uploads[i] = r.body;
  return r.status === 201;
});
await phase("PUT /v1/blobs", N, async (i) => {
  const up = uploads[i];
  const r = await fetch(up.url, { method: "PUT", headers: up.headers, body: files[i] });
  await r.arrayBuffer();
  return r.status === 200;
});
await phase("POST /v1/scores", N, async (i) => {
  const r = await json("POST", "/v1/scores", { upload_id: uploads[i].upload_id, title: `Bench ${i}`, tags: ["bench", "load"] }, token);
  return r.status === 201;
});
