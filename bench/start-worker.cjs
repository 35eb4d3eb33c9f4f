// Starts both built Worker scripts (the API and the queue consumer, README "Two Worker scripts")
// in one workerd over one local state, as `wrangler dev -c wrangler.toml -c
// wrangler.consumer.toml` does, with no devtools inspector and no build step (common.sh builds
// first). Through Miniflare directly, as the e2e harness (tests/e2e/harness.mjs, whose options
// it reuses): wrangler's `unstable_startWorker` takes one config only. Before the split this
// went through `unstable_startWorker`, which puts its proxy in front: compare figures within
// one run only.
// usage: node bench/start-worker.cjs PORT PERSIST_DIR
const path = require("node:path");
const readline = require("node:readline");
// BENCH_ROOT: another built checkout to start (bench/shards.sh BEFORE=…); this one's by default.
const root = process.env.BENCH_ROOT ? path.resolve(process.env.BENCH_ROOT) : path.resolve(__dirname, "..");
const [port, persist] = process.argv.slice(2);
// One D1 database unless BENCH_SHARDS=2 (bench/shards.sh): the harness spreads its tests over two.
process.env.E2E_SHARDS = process.env.BENCH_SHARDS === "2" ? "2" : "1";

// BENCH_VIA=wrangler starts the API script alone through wrangler's `unstable_startWorker`, exactly
// as ../shared/peers/common/start-worker.cjs starts the peers (wrangler's proxy in front, the
// inspector off), so that the list can be timed beside them on equal terms (bench/peers.sh). It
// serves every HTTP route; nothing consumes the queue.
async function viaWrangler() {
  const { unstable_startWorker } = require(path.join(root, "node_modules/wrangler"));
  // The benchmark built the script already (common.sh): wrangler.toml without its [build] table
  // (wrangler runs that step before every start, and it may wait for another checkout's build in
  // the shared target directory), next to the original so its relative paths hold.
  const fs = require("node:fs");
  const config = path.join(root, ".wrangler-bench.toml");
  const toml = fs.readFileSync(path.join(root, "wrangler.toml"), "utf8");
  fs.writeFileSync(config, toml.replace(/^\[build\]\n(?:(?!\[).*\n)*/m, ""));
  const worker = await unstable_startWorker({
    config,
    bindings: {
      USER_LIMITER: { type: "ratelimit", namespace_id: "1001", simple: { limit: 1e9, period: 60 } },
      RATE_AUTH_PER_IP: { type: "plain_text", value: "1000000000/60" },
      // bench/phases.sh: the phases a bench-phases build leaves out (src/shell/phases.rs).
      BENCH_SKIP: { type: "plain_text", value: process.env.BENCH_SKIP ?? "" },
      // bench/shards.sh: users spread over two databases (src/domain/shard.rs), the second
      // migrated and loaded by the script under the harness's id for it.
      ...(process.env.BENCH_SHARDS === "2" ? {
        D1_SHARDS: { type: "plain_text", value: "DB,DB_1" },
        DB_1: { type: "d1", database_id: "e2e-shard-db_1", database_name: "e2e-shard-db_1" },
      } : {}),
    },
    dev: {
      remote: false,
      inspector: false,
      server: { hostname: "127.0.0.1", port: Number(port) },
      persist,
      logLevel: process.env.BENCH_LOG ?? "warn",
    },
  });
  await worker.ready;
  const stop = async () => { await worker.dispose(); fs.rmSync(config, { force: true }); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

(async () => {
  if (process.env.BENCH_VIA === "wrangler") return viaWrangler();
  const { Miniflare } = await import(path.join(root, "node_modules/miniflare/dist/src/index.js"));
  const { bothScripts, persistOptions } = await import(path.join(root, "tests/e2e/harness.mjs"));
  const workers = bothScripts({
    // One benchmark user sends thousands of requests a second from one address: lift the
    // per-user ceiling, the per-IP auth limit and the upload-URL limit (all still run, so their
    // cost is measured).
    ratelimits: {
      USER_LIMITER: { simple: { limit: 1e9, period: 60 } },
      // BENCH_LINK_LIMITS=keep leaves the public-link limits of wrangler.toml (bench/attack.sh);
      // otherwise the benchmark may call a link as fast as it can.
      ...(process.env.BENCH_LINK_LIMITS === "keep" ? {} : {
        LINK_IP_LIMITER: { simple: { limit: 1e9, period: 60 } },
        LINK_LIMITER: { simple: { limit: 1e9, period: 60 } },
      }),
    },
    vars: {
      RATE_AUTH_PER_IP: "1000000000/60",
      // The write phase asks for 300 upload URLs in seconds, over the 120-a-minute default.
      RATE_UPLOAD_URLS: "1000000000/60",
      // bench/export.sh loads a library larger than the default quota when asked to.
      ...(process.env.BENCH_QUOTA_BYTES ? { DEFAULT_QUOTA_BYTES: process.env.BENCH_QUOTA_BYTES } : {}),
    },
  });
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: Number(port),
    workers,
    ...persistOptions(persist),
    // BENCH_LOG=info shows all the Worker's own log lines; by default its info lines are dropped
    // and the rest kept, as wrangler's logLevel "warn" did before the split: bench/attack.sh and
    // bench/export.mjs read the wasm memory high mark from a warning (src/shell/queue.rs).
    ...(process.env.BENCH_LOG === "info" ? {} : {
      handleRuntimeStdio(stdout, stderr) {
        for (const [input, output] of [[stdout, process.stdout], [stderr, process.stderr]]) {
          readline.createInterface({ input, crlfDelay: Infinity }).on("line", (line) => {
            if (!/"level":"(info|debug)"/.test(line)) output.write(`${line}\n`);
          });
        }
      },
    }),
  });
  await mf.ready;
  const stop = async () => { await mf.dispose(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})().catch((e) => { console.error(e); process.exit(1); });
