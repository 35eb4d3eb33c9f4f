// Starts the built Worker like `wrangler dev --local`, but with the devtools inspector OFF and no
// build step (same approach as the peers' common/start-worker.cjs, so figures are comparable).
// usage: node bench/start-worker.cjs PORT PERSIST_DIR
const path = require("node:path");
const root = path.resolve(__dirname, "..");
const [port, persist] = process.argv.slice(2);
const { unstable_startWorker } = require(path.join(root, "node_modules/wrangler"));

(async () => {
  const worker = await unstable_startWorker({
    config: path.join(root, "wrangler.toml"),
    // wrangler still runs wrangler.toml's build command (scripts/build.sh) while resolving the
    // entry point; it returns at once when build/ is up to date (common.sh builds first).
    // One benchmark user sends thousands of requests a second from one address: lift the
    // per-user ceiling, the per-IP auth limit and the upload-URL limit (all still run, so their cost is measured).
    bindings: {
      USER_LIMITER: { type: "ratelimit", namespace_id: "1001", simple: { limit: 1e9, period: 60 } },
      // BENCH_LINK_LIMITS=keep leaves the public-link limits of wrangler.toml (bench/attack.sh);
      // otherwise the benchmark may call a link as fast as it can.
      ...(process.env.BENCH_LINK_LIMITS === "keep" ? {} : {
        LINK_IP_LIMITER: { type: "ratelimit", namespace_id: "1002", simple: { limit: 1e9, period: 60 } },
        LINK_LIMITER: { type: "ratelimit", namespace_id: "1003", simple: { limit: 1e9, period: 60 } },
      }),
      RATE_AUTH_PER_IP: { type: "plain_text", value: "1000000000/60" },
      // The write phase asks for 300 upload URLs in seconds, over the 120-a-minute default.
      RATE_UPLOAD_URLS: { type: "plain_text", value: "1000000000/60" },
      // bench/export.sh loads a library larger than the default quota when asked to.
      ...(process.env.BENCH_QUOTA_BYTES ? { DEFAULT_QUOTA_BYTES: { type: "plain_text", value: process.env.BENCH_QUOTA_BYTES } } : {}),
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
  const stop = async () => { await worker.dispose(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})().catch((e) => { console.error(e); process.exit(1); });
