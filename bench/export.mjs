// Times a library export against a running Worker: N PDFs of SIZE_MIB MiB each (a one-page PDF
// carrying an unreferenced stream of random bytes, so every file is valid, starts with %PDF- and
// has its own sha256), uploaded through the upload flow and processed; then POST /v1/exports,
// polled until done, workerd's resident memory sampled meanwhile and the wasm heap's high mark
// read from the Worker's log; the archive downloaded and read back (unzip -t, Python's zipfile
// and each PDF's sha256); then `zip -0 -q` of the same files on disk, in the same run.
// usage: node bench/export.mjs BASE_URL [N=100] [SIZE_MIB=10] [WORKERD_PIDS] [WORKER_LOG] [DIR]
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const [base, nArg = "100", sizeArg = "10", pids = "", log = "", parent = tmpdir()] = process.argv.slice(2);
const N = Number(nArg), SIZE = Number(sizeArg) * 1024 * 1024, PART = 5 * 1024 * 1024;
/** fetch, tried again (up to 3 times) when the connection drops: a pooled keep-alive
 * connection the local server closed as a request went out, under the load of the queue. */
async function fetchAgain(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      if (attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
const json = (method, path, body, token) =>
  fetchAgain(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }));
const status = (key) => pids.split(",").filter(Boolean).reduce((sum, pid) => {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return sum + (m ? Number(m[1]) : 0);
}, 0);
/** The largest wasm heap the Worker has logged so far (MiB; queue.rs logs each new high). */
const wasmHigh = () => {
  if (!log) return 0;
  const marks = [...readFileSync(log, "utf8").matchAll(/"wasm_memory_mib":(\d+)/g)].map((m) => Number(m[1]));
  return marks.length ? Math.max(...marks) : 0;
};
const mib = (b) => (b / 1048576).toFixed(1);
const sha = (b) => createHash("sha256").update(b).digest("hex");

/** A valid one-page PDF of exactly `size` bytes: its page, and a stream of random bytes no page uses. */
function bigPdf(i, size) {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ].map((s) => Buffer.from(s, "latin1"));
  const text = `BT /F1 24 Tf 72 720 Td (Piece ${i}) Tj ET`;
  objects.push(Buffer.from(`<< /Length ${text.length} >>\nstream\n${text}\nendstream`, "latin1"));
  const render = (padLen) => {
    const body = [Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "latin1")];
    let at = body[0].length;
    const offsets = [];
    const all = [...objects, Buffer.concat([Buffer.from(`<< /Length ${padLen} >>\nstream\n`, "latin1"), randomBytes(padLen), Buffer.from("\nendstream", "latin1")])];
    all.forEach((o, k) => {
      offsets.push(at);
      const chunk = Buffer.concat([Buffer.from(`${k + 1} 0 obj\n`, "latin1"), o, Buffer.from("\nendobj\n", "latin1")]);
      body.push(chunk);
      at += chunk.length;
    });
    const xref = `xref\n0 ${all.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}trailer\n<< /Size ${all.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`;
    body.push(Buffer.from(xref, "latin1"));
    return Buffer.concat(body);
  };
  const probe = render(0).length;
  // The pad's length changes the digits of /Length and of the offsets after it: settle it.
  let pad = size - probe;
  for (;;) {
    const out = render(pad);
    if (out.length === size) return out;
    pad += size - out.length;
  }
}

process.on("exit", (code) => {
  // On a failure, what the Worker said last.
  if (code !== 0 && log) console.error(readFileSync(log, "utf8").split("\n").slice(-40).join("\n"));
});

const email = `bench-export-${Date.now()}@example.test`;
const password = "Bench-pass-word-1";
await json("POST", "/v1/auth/register", { email, password, display_name: "Bench" });
const token = (await json("POST", "/v1/auth/login", { email, password })).body.access;

const dir = mkdtempSync(join(parent, "export-bench-"));
const files = join(dir, "files");
execFileSync("mkdir", ["-p", files]);
const hashes = new Set();
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const bytes = bigPdf(i, SIZE);
  const sha256 = sha(bytes);
  hashes.add(sha256);
  writeFileSync(join(files, `piece-${String(i).padStart(3, "0")}.pdf`), bytes);
  const up = await json("POST", "/v1/uploads", { filename: `p${i}.pdf`, size: bytes.length, mime: "application/pdf", sha256 }, token);
  if (up.status !== 201) throw new Error(`upload ${i}: ${up.status} ${JSON.stringify(up.body)}`);
  const put = await fetchAgain(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
  if (put.status !== 200) throw new Error(`put ${i}: ${put.status} ${await put.text()}`);
  const score = await json("POST", "/v1/scores", { upload_id: up.body.upload_id, title: `Piece ${i}` }, token);
  // 409: a retried request whose first try had created the score.
  if (score.status !== 201 && score.status !== 409) throw new Error(`score ${i}: ${score.status} ${JSON.stringify(score.body)}`);
}
// Processing done (pdf_info, thumbnail), so the export runs on a quiet queue.
for (;;) {
  const page = (await json("GET", "/v1/scores?limit=100", undefined, token)).body.scores;
  if (!page.some((s) => s.processing.pdf_info.state === "pending" || s.processing.thumbnail.state === "pending")) break;
  await new Promise((r) => setTimeout(r, 250));
}
const loaded = performance.now() - t0;

const wasmBefore = wasmHigh();
const rssBefore = status("VmRSS");
let peak = rssBefore;
const sampler = setInterval(() => { peak = Math.max(peak, status("VmRSS")); }, 10);
const t1 = performance.now();
const asked = await json("POST", "/v1/exports", undefined, token);
if (asked.status !== 202) throw new Error(`export: ${asked.status} ${JSON.stringify(asked.body)}`);
let ex;
for (;;) {
  ex = (await json("GET", `/v1/exports/${asked.body.export.id}`, undefined, token)).body.export;
  if (ex.state === "done" || ex.state === "failed") break;
  await new Promise((r) => setTimeout(r, 50));
}
const ours = performance.now() - t1;
clearInterval(sampler);
if (ex.state !== "done") throw new Error(`export failed: ${ex.reason}`);
const wasmAfter = wasmHigh();

const zip = join(dir, "export.zip");
const res = await fetch(ex.url);
await pipeline(Readable.fromWeb(res.body), createWriteStream(zip));
if (statSync(zip).size !== ex.size_bytes) throw new Error(`downloaded ${statSync(zip).size} of ${ex.size_bytes} bytes`);
execFileSync("unzip", ["-tq", zip]);
const listing = execFileSync("python3", ["-c", "import sys, zipfile, hashlib\nz = zipfile.ZipFile(sys.argv[1])\nfor i in z.infolist():\n    if i.filename.startswith('files/'):\n        h = hashlib.sha256()\n        with z.open(i) as f:\n            for b in iter(lambda: f.read(1 << 20), b''):\n                h.update(b)\n        print(h.hexdigest())\n", zip], { encoding: "utf8", maxBuffer: 1 << 24 }).trim().split("\n");
if (listing.length !== N || !listing.every((h) => hashes.has(h))) throw new Error("the archive's PDFs are not the ones uploaded");
rmSync(zip);

const zipTimes = [];
for (let r = 0; r < 3; r++) {
  const out = join(dir, "zip0.zip");
  const t = performance.now();
  execFileSync("zip", ["-0", "-q", "-r", out, "files"], { cwd: dir });
  zipTimes.push(performance.now() - t);
  rmSync(out);
}
zipTimes.sort((a, b) => a - b);
rmSync(dir, { recursive: true, force: true });

const parts = Math.ceil(ex.size_bytes / PART);
const rows = [
  ["library", `${N} × ${mib(SIZE)} MiB PDFs = ${mib(N * SIZE)} MiB (loaded and processed in ${(loaded / 1000).toFixed(0)} s)`],
  ["export: POST → done", `${(ours / 1000).toFixed(1)} s (${(N * SIZE / 1048576 / (ours / 1000)).toFixed(0)} MiB/s; queue delivery included: up to 1 s of batch wait locally)`],
  ["workerd RSS during the export", `peak +${mib((peak - rssBefore) * 1024)} MiB over ${mib(rssBefore * 1024)} MiB before`],
  ["wasm heap high mark", `${wasmBefore} MiB before the export, ${wasmAfter} MiB after`],
  ["multipart parts", `${parts} (5 MiB each but the last)`],
  ["archive", `${ex.size_bytes} bytes (${mib(ex.size_bytes)} MiB); unzip -t and every PDF's sha256 checked`],
  ["zip -0 -q, same files on disk", `median of 3: ${(zipTimes[1] / 1000).toFixed(1)} s`],
  ["ratio ours / zip -0", `${(ours / zipTimes[1]).toFixed(1)}`],
];
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
