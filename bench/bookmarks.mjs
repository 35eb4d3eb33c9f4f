// Times POST /v1/scores/{id}/bookmarks/import of an N-line CSV index (one request each) against
// a running Worker: registers a user, uploads a generated 300-page songbook, waits for its page
// count, then imports the index RUNS times, each into a fresh songbook (so every run inserts N).
// usage: node bench/bookmarks.mjs BASE_URL [N=2000] [RUNS=5]
import { createHash } from "node:crypto";
import { makePdf } from "../tests/e2e/pdf.mjs";

const [base, n = "2000", runs = "5"] = process.argv.slice(2);
const N = Number(n), RUNS = Number(runs);
const json = (method, path, body, token) =>
  fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }));

const email = `bench-bookmarks-${Date.now()}@example.test`;
const password = "Bench-pass-word-1";
await json("POST", "/v1/auth/register", { email, password, display_name: "Bench" });
const token = (await json("POST", "/v1/auth/login", { email, password })).body.access;

async function songbook(i) {
  const bytes = makePdf({ pages: 300, title: `Songbook ${i}` });
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const up = (await json("POST", "/v1/uploads", { filename: "book.pdf", size: bytes.length, mime: "application/pdf", sha256 }, token)).body;
  await fetch(up.url, { method: "PUT", headers: up.headers, body: bytes }).then((r) => r.arrayBuffer());
  const score = (await json("POST", "/v1/scores", { upload_id: up.upload_id, title: `Songbook ${i}` }, token)).body.score;
  for (let t = 0; t < 300; t++) {
    const s = (await json("GET", `/v1/scores/${score.id}`, undefined, token)).body.score;
    if (s.pages) return s.id;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("pdf_info never finished");
}

const lines = ["title,first_page,last_page,composer,key"];
for (let i = 0; i < N; i++) lines.push(`"Tune ${i}, take ${i % 3}",${(i % 299) + 1},${(i % 299) + 2},"Composer ${i % 40}",Bb`);
const csv = lines.join("\r\n") + "\r\n";

const times = [];
for (let r = 0; r < RUNS; r++) {
  const id = await songbook(r);
  const t0 = performance.now();
  const res = await json("POST", `/v1/scores/${id}/bookmarks/import`, { csv }, token);
  times.push(performance.now() - t0);
  if (res.status !== 201 || res.body.created !== N) throw new Error(`import: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
}
times.sort((a, b) => a - b);
const chunks = Math.ceil(N / 500); // store::bookmarks::IMPORT_CHUNK
console.log(`CSV index of ${N} lines (${(csv.length / 1024).toFixed(0)} KiB), ${RUNS} imports, each into a fresh songbook`);
console.log(`time per import: median ${times[Math.floor(RUNS / 2)].toFixed(1)} ms, min ${times[0].toFixed(1)} ms, max ${times[RUNS - 1].toFixed(1)} ms`);
console.log(`D1 statements per import: ${1 + chunks} by the use case (1 songbook read; 1 batch of ${chunks} inserts, rows in one JSON parameter each) + 1 session check by the shell = ${2 + chunks}, in 3 round trips`);
