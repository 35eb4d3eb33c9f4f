// Times a library import against a running Worker: an archive of N PDFs of MIB MiB each (each a
// valid one-page PDF whose bulk is an unreferenced stream of random bytes: distinct sha256, cheap
// to process), written by Python's zipfile (stored entries, ZIP64 as needed) with a manifest of
// N scores and one setlist of them all; uploaded through the upload flow (PUT streamed from
// disk), then POST /v1/imports polled until done: the wall time from the POST to done, workerd's
// resident memory around it, and the D1 statements the import ran (its row's count).
// usage: node bench/import.mjs BASE_URL [N=100] [MIB=10] WORKDIR STATE [WORKERD_PIDS]
import { execFileSync } from "node:child_process";
import { createReadStream, statSync } from "node:fs";
import { join } from "node:path";
import { client, rss as memory } from "./client.mjs";

const [base, nArg = "100", mibArg = "10", work, state, pids = ""] = process.argv.slice(2);
const N = Number(nArg), MIB = Number(mibArg);
const json = client(base);
const rss = () => memory(pids);
// Local D1 through wrangler; retried while the Worker holds the database (processing runs on).
const d1 = async (sql) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(execFileSync("wrangler", ["d1", "execute", "DB", "--local", "--persist-to", state, "--json", "--command", sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }))[0].results;
    } catch (e) {
      if (attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
};

const GENERATE = String.raw`
import sys, os, zipfile, hashlib, json
out, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def pdf(bulk):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            b"<< /Length 18 >>\nstream\n0 0 m 595 842 l S\nendstream",
            b"<< /Length %d >>\nstream\n" % len(bulk) + bulk + b"\nendstream"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)
scores, total = [], 0
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
    for i in range(n):
        data = pdf(os.urandom(mib * 1024 * 1024 - 512))
        name = "files/Piece %d--s%d.pdf" % (i, i)
        z.writestr(name, data)
        total += len(data)
        scores.append({"id": "s%d" % i, "file": name, "sha256": hashlib.sha256(data).hexdigest(),
            "size_bytes": len(data), "title": "Piece %d" % i, "composer": None, "arranger": None,
            "instrumentation": None, "key": None, "notes": None, "tags": ["bench"], "rating": None,
            "difficulty": None, "duration": None, "pages": 1, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "parts": [], "bookmarks": [], "annotations": [],
            "settings": []})
    items = [{"id": "i%d" % i, "position": i + 1, "score_id": "s%d" % i, "bookmark_id": None, "notes": None} for i in range(n)]
    manifest = {"format": 1, "generator": "scoremate", "exported_at": "2026-12-01T00:00:00Z", "scores": scores,
        "setlists": [{"id": "l1", "name": "Everything", "description": None, "event_date": None, "venue": None,
            "notes": None, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "items": items}]}
    z.writestr("manifest.json", json.dumps(manifest))
    z.writestr("index.csv", "file,title,composer,first_page,last_page,key,tags\r\n")
h = hashlib.sha256()
with open(out, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
print(json.dumps({"sha256": h.hexdigest(), "files_bytes": total}))
`;

const file = join(work, "library.zip");
let t = performance.now();
const made = JSON.parse(execFileSync("python3", ["-c", GENERATE, file, String(N), String(MIB)], { encoding: "utf8" }));
const size = statSync(file).size;
console.log(`archive: ${N} PDFs × ${MIB} MiB, ${(size / 1048576).toFixed(1)} MiB (Python zipfile, stored), made in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const email = `bench-import-${Date.now()}@example.test`;
const password = "Bench-pass-word-1";
const reg = await json("POST", "/v1/auth/register", { email, password, display_name: "Bench" });
const token = (await json("POST", "/v1/auth/login", { email, password })).body.access;
await d1(`update users set quota_bytes = ${4 * size} where id = '${reg.body.user.id}'`);

t = performance.now();
const up = await json("POST", "/v1/uploads", { filename: "library.zip", size, mime: "application/zip", sha256: made.sha256 }, token);
if (up.status !== 201) throw new Error(`upload url: ${up.status} ${JSON.stringify(up.body)}`);
const put = await fetch(up.body.url, { method: "PUT", headers: up.body.headers, body: createReadStream(file), duplex: "half" });
if (put.status !== 200) throw new Error(`put: ${put.status} ${await put.text()}`);
console.log(`upload (PUT through the Worker into R2): ${((performance.now() - t) / 1000).toFixed(1)} s`);

const before = rss();
let peak = before;
const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
t = performance.now();
const asked = await json("POST", "/v1/imports", { upload_id: up.body.upload_id }, token);
if (asked.status !== 202) throw new Error(`import: ${asked.status} ${JSON.stringify(asked.body)}`);
let imp;
for (;;) {
  imp = (await json("GET", `/v1/imports/${asked.body.import.id}`, undefined, token)).body.import;
  if (imp.state === "done" || imp.state === "failed") break;
  await new Promise((r) => setTimeout(r, 50));
}
const wall = performance.now() - t;
clearInterval(sampler);
if (imp.state !== "done") throw new Error(`import failed: ${imp.reason}`);
const usage = (await json("GET", "/v1/me/usage", undefined, token)).body;
const mibs = made.files_bytes / 1048576;
console.log(`import: POST → done ${(wall / 1000).toFixed(1)} s (queue delivery included: up to 1 s of batch wait locally), ${(mibs / (wall / 1000)).toFixed(0)} MiB/s; ${imp.report.scores_created} scores, ${imp.report.setlists_created} setlist`);
console.log(`quota: used ${usage.used_bytes} bytes (files ${made.files_bytes}), reserved ${usage.reserved_bytes}`);
console.log(`workerd RSS +${((peak - before) / 1024).toFixed(1)} MiB at most over ${(before / 1024).toFixed(0)} MiB`);
const [row] = await d1(`select statements from imports where id = '${imp.id}'`);
console.log(`D1 statements run by the import: ${row.statements}`);
