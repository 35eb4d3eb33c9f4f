// Times a setlist book against a running Worker: 20 items of 10 pages each (generated PDFs of
// about 0.6 MiB), POST /v1/setlists/{id}/book, polled until made; workerd's resident memory
// around it; then `qpdf --empty --pages …` merging the same 20 files on disk, in the same run.
// usage: node bench/books.mjs BASE_URL [ITEMS=20] [PAGES=10] [WORKERD_PIDS]
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makePdf } from "../tests/e2e/pdf.mjs";
import { client, rss as memory } from "./client.mjs";

const [base, itemsArg = "20", pagesArg = "10", pids = ""] = process.argv.slice(2);
const ITEMS = Number(itemsArg), PAGES = Number(pagesArg);
const json = client(base);
const rss = () => memory(pids);

const email = `bench-books-${Date.now()}@example.test`;
const password = "Bench-pass-word-1";
await json("POST", "/v1/auth/register", { email, password, display_name: "Bench" });
const token = (await json("POST", "/v1/auth/login", { email, password })).body.access;

const dir = mkdtempSync(join(tmpdir(), "scoremate-books-"));
const files = [];
const setlist = (await json("POST", "/v1/setlists", { name: "Bench book" }, token)).body.setlist.id;
for (let i = 0; i < ITEMS; i++) {
  const bytes = makePdf({ pages: PAGES, title: `Piece ${i}`, pageBytes: 64 * 1024 });
  const file = join(dir, `piece-${i}.pdf`);
  writeFileSync(file, bytes);
  files.push(file);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const up = (await json("POST", "/v1/uploads", { filename: `p${i}.pdf`, size: bytes.length, mime: "application/pdf", sha256 }, token)).body;
  await fetch(up.url, { method: "PUT", headers: up.headers, body: bytes }).then((r) => r.arrayBuffer());
  const score = (await json("POST", "/v1/scores", { upload_id: up.upload_id, title: `Piece ${i}` }, token)).body.score;
  const add = await json("POST", `/v1/setlists/${setlist}/items`, { score_id: score.id }, token);
  if (add.status !== 201) throw new Error(`item: ${add.status} ${JSON.stringify(add.body)}`);
}
const inputMiB = files.reduce((n, f) => n + readFileSync(f).length, 0) / 1048576;

const before = rss();
let peak = before;
const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 5);
const t0 = performance.now();
const asked = await json("POST", `/v1/setlists/${setlist}/book`, undefined, token);
if (asked.status !== 202) throw new Error(`book: ${asked.status} ${JSON.stringify(asked.body)}`);
let book;
for (;;) {
  book = (await json("GET", `/v1/setlists/${setlist}/book`, undefined, token)).body.book;
  if (book.state === "ok" || book.state === "failed") break;
  await new Promise((r) => setTimeout(r, 10));
}
const ours = performance.now() - t0;
clearInterval(sampler);
if (book.state !== "ok") throw new Error(`book failed: ${book.reason}`);
const out = join(dir, "book.pdf");
writeFileSync(out, Buffer.from(await (await fetch(book.url)).arrayBuffer()));
const pagesOf = (f) => Number(/Pages:\s+(\d+)/.exec(execFileSync("pdfinfo", [f], { encoding: "utf8" }))[1]);

const qpdfTimes = [];
for (let r = 0; r < 3; r++) {
  const t = performance.now();
  execFileSync("qpdf", ["--empty", "--pages", ...files, "--", join(dir, "qpdf.pdf")]);
  qpdfTimes.push(performance.now() - t);
}
qpdfTimes.sort((a, b) => a - b);
console.log(`${ITEMS} items × ${PAGES} pages, ${inputMiB.toFixed(1)} MiB of PDFs`);
console.log(
  `ours: request → made ${ours.toFixed(0)} ms (queue delivery included: up to 1 s of batch wait locally), ` +
    `${pagesOf(out)} pages; workerd RSS +${((peak - before) / 1024).toFixed(1)} MiB at most over ${(before / 1024).toFixed(0)} MiB`,
);
console.log(`qpdf --empty --pages (a process, same files): median ${qpdfTimes[1].toFixed(0)} ms, ${pagesOf(join(dir, "qpdf.pdf"))} pages; ratio ours/qpdf ${(ours / qpdfTimes[1]).toFixed(1)}`);
