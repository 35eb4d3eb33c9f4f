// Cold start of a built Worker script (issue 17 goal 6): a fresh workerd per repetition, so
// every first request meets a fresh isolate. For each build folder (index.js + index_bg.wasm)
// it times `ready` (workerd up, the script's modules compiled and evaluated: what an isolate pays
// before its first event), the first GET /health on that isolate, and a second one (warm), and
// prints the medians. Folders take turns within each repetition, so a busy machine slows them
// alike; compare them within one run only.
// A LABEL=- entry is a one-line JavaScript Worker: workerd's own start, the floor under every
// figure.
// usage: node bench/startup.mjs N LABEL=DIR [LABEL=DIR ...]
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import { parse as parseToml } from "smol-toml";

const ROOT = resolve(import.meta.dirname, "..");
const config = parseToml(readFileSync(join(ROOT, "wrangler.toml"), "utf8"));
const [n, ...builds] = process.argv.slice(2);
const secrets = Object.fromEntries(
  readFileSync(join(ROOT, ".dev.vars"), "utf8")
    .split("\n")
    .map((l) => l.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/))
    .filter(Boolean)
    .map((m) => [m[1], m[2]]),
);

const FLOOR = 'export default { fetch: () => new Response("ok") };';

async function once(dir) {
  const t0 = performance.now();
  const mf = new Miniflare({
    modules: true,
    ...(dir === "-"
      ? { script: FLOOR }
      : {
          modulesRoot: dir,
          scriptPath: join(dir, "index.js"),
          modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
        }),
    compatibilityDate: config.compatibility_date,
    bindings: { ...config.vars, ...secrets },
    d1Databases: { DB: "startup" },
    r2Buckets: { FILES: "startup" },
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
  });
  await mf.ready;
  const t1 = performance.now();
  // A script without a fetch handler (the queue consumer; worker-build's shim defines each
  // handler on its entry class) is timed to `ready` only.
  if (dir !== "-" && !/prototype\.fetch=function/.test(readFileSync(join(dir, "index.js"), "utf8"))) {
    await mf.dispose();
    return { ready: t1 - t0, first: NaN, warm: NaN };
  }
  const get = async () => {
    const res = await mf.dispatchFetch("http://localhost/health");
    await res.arrayBuffer();
    return res.status;
  };
  const status = await get();
  const t2 = performance.now();
  await get();
  const t3 = performance.now();
  await mf.dispose();
  if (status >= 500 && status !== 503) throw new Error(`${dir}: /health ${status}`);
  return { ready: t1 - t0, first: t2 - t1, warm: t3 - t2 };
}

const median = (xs) => (xs.some(Number.isNaN) ? NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const runs = Object.fromEntries(builds.map((b) => [b, []]));
for (let i = 0; i < Number(n); i++) {
  for (const b of builds) {
    const dir = b.split("=")[1];
    runs[b].push(await once(dir === "-" ? dir : resolve(ROOT, dir)));
  }
}
console.log("build\tready ms\tfirst /health ms\tready+first ms\twarm /health ms");
for (const b of builds) {
  const r = runs[b];
  const fmt = (x) => (Number.isNaN(x) ? "-" : x.toFixed(0));
  const f = (k) => fmt(median(r.map((x) => x[k])));
  const total = fmt(median(r.map((x) => x.ready + x.first)));
  console.log(`${b.split("=")[0]}\t${f("ready")}\t${f("first")}\t${total}\t${f("warm")}`);
}
