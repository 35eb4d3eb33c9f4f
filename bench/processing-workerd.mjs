// Issue 4 benchmark (workerd part): pdf_info and thumbnail time per file inside workerd, with the
// built wasm Worker, real local R2/D1 and the real queue consumer (Miniflare, as the e2e tests).
// Each file is uploaded once, then each task is redelivered N times (tasks are idempotent); the
// times are the consumer's own `duration_ms` log field (Date in workerd advances at I/O, and
// every task ends with a D1 write after its CPU work, so it includes that work).
//   node bench/processing-workerd.mjs N FILE...
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { eventually, startWorker } from "../tests/e2e/harness.mjs";

const [n, ...files] = process.argv.slice(2);
const N = Number(n) || 5;
const w = await startWorker();
const tasks = () =>
  w.logs.join("").split("\n").filter((l) => l.includes('"msg":"task"')).map((l) => JSON.parse(l.slice(l.indexOf("{"))));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(["file", "bytes", "pages", "pdf_info_ms", "thumbnail_ms", "thumbnail"].join("\t"));
try {
  for (const [i, file] of files.entries()) {
    const bytes = readFileSync(file);
    const s = await w.api.signup(`bench-${i}@example.com`);
    const score = await w.api.settled((await w.api.uploadScore(s.access, bytes)).id, s.access);
    const times = {};
    for (const task of ["pdf_info", "thumbnail"]) {
      const before = tasks().filter((t) => t.task === task).length;
      const q = await w.queue();
      for (let k = 0; k < N; k++) await q.send({ task, score_id: score.id });
      const done = await eventually(() => {
        const seen = tasks().filter((t) => t.task === task).slice(before);
        return seen.length >= N ? seen : null;
      }, { timeoutMs: 600_000 });
      times[task] = median(done.map((t) => t.duration_ms));
    }
    const thumb = score.processing.thumbnail.state === "ok" ? "ok" : score.processing.thumbnail.reason;
    console.log([basename(file), bytes.length, score.pages, times.pdf_info, times.thumbnail, thumb].join("\t"));
  }
} finally {
  await w.close();
}
