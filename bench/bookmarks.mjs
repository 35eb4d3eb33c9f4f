// Times POST /v1/scores/{id}/bookmarks/import of an N-line CSV index (one request each) against
// a running Worker: registers a user, uploads a generated 300-page songbook, waits for its page
// count, then imports the index RUNS times, each into a fresh songbook (so every run inserts N).
// Then a page-range extraction in workerd: pages 120–129 of a 300-page songbook of about 20 MB
// (`?extract=true`, made by the queue with lopdf), time from the request to the answer with the
// URL and workerd's resident memory around it, against `qpdf --empty --pages` on the same file.
// usage: node bench/bookmarks.mjs BASE_URL [N=2000] [RUNS=5] [WORKERD_PIDS]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePdf } from "../tests/e2e/pdf.mjs";
import { client, rss as memory } from "./client.mjs";

const [base, n = "2000", runs = "5", pids = ""] = process.argv.slice(2);
const N = Number(n), RUNS = Number(runs);
const json = client(base);

const email = `bench-bookmarks-${Date.now()}@example.test`;
const password = "Bench-pass-word-1";
await json("POST", "/v1/auth/register", { email, password, display_name: "Bench" });
const token = (await json("POST", "/v1/auth/login", { email, password })).body.access;

async function songbook(i, pageBytes = 0) {
  const bytes = makePdf({ pages: 300, title: `Songbook ${i}`, pageBytes });
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const up = (await json("POST", "/v1/uploads", { filename: "book.pdf", size: bytes.length, mime: "application/pdf", sha256 }, token)).body;
  await fetch(up.url, { method: "PUT", headers: up.headers, body: bytes }).then((r) => r.arrayBuffer());
  const score = (await json("POST", "/v1/scores", { upload_id: up.upload_id, title: `Songbook ${i}` }, token)).body.score;
  for (let t = 0; t < 300; t++) {
    const s = (await json("GET", `/v1/scores/${score.id}`, undefined, token)).body.score;
    if (s.pages) return { id: s.id, bytes };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("pdf_info never finished");
}

const lines = ["title,first_page,last_page,composer,key"];
for (let i = 0; i < N; i++) lines.push(`"Tune ${i}, take ${i % 3}",${(i % 299) + 1},${(i % 299) + 2},"Composer ${i % 40}",Bb`);
const csv = lines.join("\r\n") + "\r\n";

const times = [];
for (let r = 0; r < RUNS; r++) {
  const { id } = await songbook(r);
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

console.log("## page-range extraction: pages 120-129 of a 300-page songbook");
const rss = () => memory(pids);
const hwm = () => pids.split(",").filter(Boolean).reduce((sum, pid) => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return sum + (m ? Number(m[1]) : 0);
}, 0);
const book = await songbook("extract", 64 * 1024);
const dir = mkdtempSync(join(tmpdir(), "scoremate-extract-"));
writeFileSync(join(dir, "book.pdf"), book.bytes);
const extractTimes = [];
let peak = 0;
let before = 0;
for (let r = 0; r < 3; r++) {
  const bm = (await json("POST", `/v1/scores/${book.id}/bookmarks`, { title: `Ten pages ${r}`, first_page: 120, last_page: 129 }, token)).body.bookmark;
  before = rss();
  let sampled = before;
  const sampler = setInterval(() => { sampled = Math.max(sampled, rss()); }, 5);
  const t0 = performance.now();
  for (;;) {
    const res = await json("GET", `/v1/bookmarks/${bm.id}/download-url?extract=true`, undefined, token);
    if (res.status === 200) {
      extractTimes.push(performance.now() - t0);
      if (r === 0) {
        const out = Buffer.from(await (await fetch(res.body.url)).arrayBuffer());
        writeFileSync(join(dir, "ours.pdf"), out);
      }
      break;
    }
    if (res.status !== 202) throw new Error(`extract: ${res.status} ${JSON.stringify(res.body)}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
  clearInterval(sampler);
  peak = Math.max(peak, sampled - before);
}
extractTimes.sort((a, b) => a - b);
const pagesOf = (f) => /Pages:\s+(\d+)/.exec(execFileSync("pdfinfo", [f], { encoding: "utf8" }))[1];
const qpdfTimes = [];
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  execFileSync("qpdf", ["--empty", "--pages", join(dir, "book.pdf"), "120-129", "--", join(dir, "qpdf.pdf")]);
  qpdfTimes.push(performance.now() - t0);
}
qpdfTimes.sort((a, b) => a - b);
console.log(
  `songbook ${(book.bytes.length / 1048576).toFixed(1)} MiB; ours: request → URL median ${extractTimes[1].toFixed(0)} ms ` +
    `(queue delivery included; min ${extractTimes[0].toFixed(0)}, max ${extractTimes[2].toFixed(0)}), ${pagesOf(join(dir, "ours.pdf"))} pages, ` +
    `workerd RSS +${(peak / 1024).toFixed(1)} MiB at most over ${(before / 1024).toFixed(0)} MiB (sampled every 5 ms; high-water mark ${(hwm() / 1024).toFixed(0)} MiB)`,
);
console.log(`qpdf --empty --pages (a process on the same file): median ${qpdfTimes[1].toFixed(0)} ms, ${pagesOf(join(dir, "qpdf.pdf"))} pages; ratio ours/qpdf ${(extractTimes[1] / qpdfTimes[1]).toFixed(2)}`);
