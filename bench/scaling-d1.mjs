// Times the statements of `examples/scaling.rs` through local D1 (Miniflare's workerd, the
// engine `wrangler dev` runs): the SQLite file that example made is put in place of a local D1
// database, and a Worker sends each statement through its D1 binding `runs` times in a row and
// reports the mean time per call (the clock moves at each I/O), so the hop from Node is not in
// it. `select 1` gives the floor: the Worker → D1 hop and D1's own handling.
// usage: node bench/scaling-d1.mjs OUT.db   (after `cargo run --release --example scaling -- OUT.db`)
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { Miniflare } from "miniflare";

const db = process.argv[2];
if (!db) throw new Error("usage: node bench/scaling-d1.mjs OUT.db");
const queries = JSON.parse(readFileSync(`${db}.queries.json`, "utf8"));
const persist = mkdtempSync(join(tmpdir(), "scoremate-scaling-d1-"));
const WORKER = `export default {
  async fetch(req, env) {
    const { sql, args, runs } = await req.json();
    const stmt = () => env.DB.prepare(sql).bind(...args).all();
    for (let i = 0; i < 3; i++) await stmt();
    const t = Date.now();
    for (let i = 0; i < runs; i++) await stmt();
    return Response.json({ ms: (Date.now() - t) / runs });
  },
};`;
const start = () => new Miniflare({ modules: true, script: WORKER, d1Databases: { DB: "scaling" }, d1Persist: persist });

try {
  // A local database to take the place of.
  let mf = start();
  await (await mf.getD1Database("DB")).prepare("select 1").all();
  await mf.dispose();
  const dir = join(persist, "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  for (const f of readdirSync(dir)) if (f.startsWith(file)) rmSync(join(dir, f));
  copyFileSync(db, join(dir, file));
  execFileSync("sqlite3", [join(dir, file), "pragma wal_checkpoint(truncate); create table if not exists _cf_METADATA (key integer primary key, value blob);"]);

  mf = start();
  // The best of three rounds of `runs` calls: the machine is shared, a round can be slowed.
  const time = async (sql, args, runs) => {
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const res = await mf.dispatchFetch("http://localhost/", { method: "POST", body: JSON.stringify({ sql, args, runs }) });
      best = Math.min(best, (await res.json()).ms);
    }
    return best;
  };
  const floor = await time("select 1", [], 500);
  console.log("| statement | local D1 ms per call | minus `select 1` |");
  console.log("|---|---|---|");
  console.log(`| select 1 (the floor) | ${floor.toFixed(3)} | 0 |`);
  for (const q of queries) {
    const slow = q.name.includes("query=");
    const ms = await time(q.sql, q.args, slow ? 20 : 500);
    console.log(`| ${q.name} | ${ms.toFixed(3)} | ${(ms - floor).toFixed(3)} |`);
  }
  await mf.dispose();
} finally {
  rmSync(persist, { recursive: true, force: true });
}
